import { describe, expect, it } from '@jest/globals';
import { deferralDelaySeconds, deferralsOf, grantedTokens, MAX_DEFERRAL_SECONDS, msToNextSecond, rateInForce, tokensPerSecond } from '../../functions/core/send-pacing.js';
import { classifySesError } from '../../functions/core/ses-errors.js';
import { SesQuota } from '../../src/local/ses-quota.js';

describe('rateInForce', () => {
  it.each([
    [14, 0, 14],
    [14, 5, 5],
    [14, 50, 14],
    [undefined, 0, undefined],
    [-1, 0, undefined],
    [-1, 8, 8],
    [0.5, 0, 0.5],
  ])('account %p, cap %p → %p', (account, cap, expected) => {
    expect(rateInForce(account, cap)).toBe(expected);
  });
});

describe('grantedTokens', () => {
  it('grants all of a reservation that fits', () => expect(grantedTokens(10, 10, 14)).toBe(10));
  it('grants the part below the limit', () => expect(grantedTokens(20, 10, 14)).toBe(4));
  it('grants nothing when the second was full before', () => expect(grantedTokens(24, 10, 14)).toBe(0));
  it('keeps whole sends per second, at least one', () => {
    expect(tokensPerSecond(0.5)).toBe(1);
    expect(tokensPerSecond(14.9)).toBe(14);
  });
});

describe('deferralDelaySeconds', () => {
  it('waits the longest SQS delay for the daily quota', () => expect(deferralDelaySeconds('daily-quota', 0)).toBe(MAX_DEFERRAL_SECONDS));
  it('backs off exponentially with full jitter, capped at 900 s', () => {
    expect(deferralDelaySeconds('rate', 0, () => 0.999)).toBe(1);
    expect(deferralDelaySeconds('rate', 3, () => 0.999)).toBe(8);
    expect(deferralDelaySeconds('rate', 3, () => 0)).toBe(1);
    expect(deferralDelaySeconds('rate', 40, () => 0.999)).toBe(MAX_DEFERRAL_SECONDS);
    expect(deferralDelaySeconds('pacing', 40, () => 0.999)).toBe(30);
  });
  it('reads a missing or bad deferral count as 0', () => {
    expect(deferralsOf(undefined)).toBe(0);
    expect(deferralsOf('x')).toBe(0);
    expect(deferralsOf('3')).toBe(3);
  });
  it('waits until the next whole second, plus jitter', () => {
    expect(msToNextSecond(10_250, 100, () => 0)).toBe(750);
    expect(msToNextSecond(10_250, 100, () => 0.5)).toBe(800);
  });
});

describe('SES throttling answers', () => {
  it('tells the daily quota from the send rate by SES message', () => {
    const error = (message: string) => Object.assign(new Error(message), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
    expect(classifySesError(error('Maximum sending rate exceeded.'))).toMatchObject({ kind: 'throttled', daily: false });
    expect(classifySesError(error('Daily message quota exceeded.'))).toMatchObject({ kind: 'throttled', daily: true });
  });
});

describe('the SES stand-in quota', () => {
  it('accepts at most the rate in each calendar second, with SES v2 answer', () => {
    let now = 5_000;
    const quota = new SesQuota({ maxSendRate: 2 }, () => now);
    expect(quota.admit()).toBeUndefined();
    expect(quota.admit()).toBeUndefined();
    expect(quota.admit()).toEqual({ statusCode: 429, errorType: 'TooManyRequestsException', message: 'Maximum sending rate exceeded.' });
    now = 6_000;
    expect(quota.admit()).toBeUndefined();
    expect(quota.refusals).toEqual({ rate: 1, daily: 0 });
  });

  it('refuses past the 24-hour quota until the oldest sends leave the window, and GetAccount reports it', () => {
    let now = 0;
    const quota = new SesQuota({ max24HourSend: 2 }, () => now);
    quota.admit();
    now = 60_000;
    quota.admit();
    expect(quota.admit()?.message).toBe('Daily message quota exceeded.');
    expect(quota.account()).toMatchObject({ SendQuota: { Max24HourSend: 2, MaxSendRate: -1, SentLast24Hours: 2 } });
    now = 86_400_000;
    expect(quota.admit()).toBeUndefined();
  });

  it('reports no limit as -1 and accepts everything by default', () => {
    const quota = new SesQuota();
    for (let i = 0; i < 1000; i++) expect(quota.admit()).toBeUndefined();
    expect(quota.account()).toMatchObject({ SendQuota: { Max24HourSend: -1, MaxSendRate: -1, SentLast24Hours: 1000 } });
  });
});
