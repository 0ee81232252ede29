import { describe, expect, it } from '@jest/globals';
import { SES_RATE_LIMITS, sendingHealth, sesLevel } from '../../../src/ops/sending-health.js';
import { quotaView } from '../../../src/ops/account-health.js';

/** Today's rates against the engine's brake and SES's review thresholds, and the quota view. */

const settings = { bounceRateThreshold: 5, bounceRateMinimumSends: 100, bounceBrakeMaxHardBounces: 10 };

describe('sesLevel', () => {
  it.each([
    [0, 'healthy'],
    [4.99, 'healthy'],
    [5, 'review'],
    [9.99, 'review'],
    [10, 'at-risk'],
    [50, 'at-risk'],
  ])('puts a bounce rate of %s%% at %s', (rate, level) => {
    expect(sesLevel(rate, SES_RATE_LIMITS.bounce)).toBe(level);
  });

  it.each([
    [0.09, 'healthy'],
    [0.1, 'review'],
    [0.49, 'review'],
    [0.5, 'at-risk'],
  ])('puts a complaint rate of %s%% at %s', (rate, level) => {
    expect(sesLevel(rate, SES_RATE_LIMITS.complaint)).toBe(level);
  });
});

describe('sendingHealth', () => {
  it('is healthy with nothing sent, and the brake is not armed', () => {
    const health = sendingHealth('2026-12-04', { sent: 0, bounced: 0, complained: 0 }, settings);

    expect(health.bounce).toMatchObject({ ratePercent: 0, count: 0, sent: 0, ses: { level: 'healthy' }, brake: { on: false, armed: false, thresholdPercent: 5, minimumSends: 100 } });
    expect(health.complaint).toMatchObject({ ratePercent: 0, ses: { level: 'healthy', reviewPercent: 0.1, atRiskPercent: 0.5 } });
  });

  it('shows a high rate below the minimum sends without putting the brake on', () => {
    const health = sendingHealth('2026-12-04', { sent: 5, bounced: 1, complained: 1 }, settings);

    expect(health.bounce).toMatchObject({ ratePercent: 20, ses: { level: 'at-risk' }, brake: { on: false, armed: false } });
    expect(health.complaint).toMatchObject({ ratePercent: 20, ses: { level: 'at-risk' } });
  });

  it('puts the brake on only strictly over the threshold once armed', () => {
    expect(sendingHealth('d', { sent: 200, bounced: 10, complained: 0 }, settings).bounce.brake).toMatchObject({ on: false, armed: true });
    expect(sendingHealth('d', { sent: 200, bounced: 11, complained: 0 }, settings).bounce).toMatchObject({ ratePercent: 5.5, ses: { level: 'review' }, brake: { on: true } });
  });

  it('holds below the minimum sample once the hard bounces reach the floor, and says so', () => {
    expect(sendingHealth('d', { sent: 40, bounced: 9, complained: 0 }, settings).bounce.brake).toMatchObject({ on: false, armed: false, maxHardBounces: 10 });
    expect(sendingHealth('d', { sent: 40, bounced: 10, complained: 0 }, settings).bounce.brake).toMatchObject({ on: true, reason: 'floor', armed: false });
    expect(sendingHealth('d', { sent: 40, bounced: 10, complained: 0 }, { ...settings, bounceBrakeMaxHardBounces: 0 }).bounce.brake).toMatchObject({ on: false });
  });

  it('rounds to two decimals and uses the target\'s own threshold', () => {
    const health = sendingHealth('d', { sent: 3000, bounced: 40, complained: 4 }, { bounceRateThreshold: 1, bounceRateMinimumSends: 10, bounceBrakeMaxHardBounces: 10 });

    expect(health.bounce.ratePercent).toBe(1.33);
    expect(health.bounce.brake).toMatchObject({ on: true, thresholdPercent: 1 });
    expect(health.complaint).toMatchObject({ ratePercent: 0.13, ses: { level: 'review' } });
  });
});

describe('quotaView', () => {
  it('paces to the account rate and reports the share of the daily quota used', () => {
    expect(quotaView({ productionAccess: true, sendingEnabled: true, maxSendRate: 14, max24HourSend: 50_000, sentLast24Hours: 12_500 }, undefined)).toMatchObject({
      pacedRate: 14,
      quotaUsedPercent: 25,
      pacing: "14/s, the account's maximum send rate",
    });
  });

  it("takes the stack's MaxSendRate when it is lower, and reports no limit as such", () => {
    expect(quotaView({ productionAccess: true, sendingEnabled: true, maxSendRate: 14 }, 5)).toMatchObject({ pacedRate: 5, pacing: expect.stringContaining('MaxSendRate') });
    const unlimited = quotaView({ productionAccess: true, sendingEnabled: true, maxSendRate: -1, max24HourSend: -1, sentLast24Hours: 3 }, 0);
    expect(unlimited.pacedRate).toBeNull();
    expect(unlimited.quotaUsedPercent).toBeUndefined();
  });
});
