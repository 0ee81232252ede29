import { describe, expect, it } from '@jest/globals';
import { bounceBrake, brakeMessage } from '../../functions/core/bounce-brake.js';

/** The floor turned off: the rate rule alone. */
const NO_FLOOR = 0;

describe('bounceBrake: the rate', () => {
  it('is off when nothing was sent', () => {
    expect(bounceBrake({ sent: 0, bounced: 0 }, 5, 100, 10)).toEqual({ over: false, ratePercent: 0, sent: 0, bounced: 0, sameDayBounced: 0 });
  });

  it('is off below the minimum sample, however bad the rate, when the floor is off', () => {
    expect(bounceBrake({ sent: 3, bounced: 1 }, 5, 100, NO_FLOOR).over).toBe(false);
    expect(bounceBrake({ sent: 99, bounced: 99 }, 5, 100, NO_FLOOR).over).toBe(false);
  });

  it('holds at the minimum sample when the rate is over the threshold', () => {
    expect(bounceBrake({ sent: 100, bounced: 6 }, 5, 100, NO_FLOOR)).toMatchObject({ over: true, reason: 'rate' });
  });

  it('does not hold at exactly the threshold', () => {
    const decision = bounceBrake({ sent: 200, bounced: 10 }, 5, 100, 10);
    expect(decision.ratePercent).toBe(5);
    expect(decision.over).toBe(false);
    expect(decision.reason).toBeUndefined();
  });

  it('holds just over the threshold', () => {
    expect(bounceBrake({ sent: 200, bounced: 11 }, 5, 100, NO_FLOOR).over).toBe(true);
  });

  it('honours a fractional threshold', () => {
    expect(bounceBrake({ sent: 1000, bounced: 6 }, 0.5, 100, NO_FLOOR).over).toBe(true);
    expect(bounceBrake({ sent: 1000, bounced: 5 }, 0.5, 100, NO_FLOOR).over).toBe(false);
  });

  it('with a minimum of 0 still needs something sent', () => {
    expect(bounceBrake({ sent: 0, bounced: 2 }, 5, 0, NO_FLOOR).over).toBe(false);
    expect(bounceBrake({ sent: 1, bounced: 1 }, 5, 0, NO_FLOOR).over).toBe(true);
  });

  it('treats negative counts as zero', () => {
    expect(bounceBrake({ sent: -5, bounced: -1 }, 5, 0, 10)).toMatchObject({ over: false, sent: 0, bounced: 0 });
  });
});

describe('bounceBrake: the floor below the minimum sample', () => {
  it('holds once today\'s hard bounces reach the floor', () => {
    expect(bounceBrake({ sent: 40, bounced: 10 }, 5, 100, 10)).toEqual({ over: true, reason: 'floor', ratePercent: 25, sent: 40, bounced: 10, sameDayBounced: 10 });
  });

  it('does not hold one bounce short of the floor', () => {
    expect(bounceBrake({ sent: 99, bounced: 9 }, 5, 100, 10).over).toBe(false);
  });

  it("counts only the bounces of today's sends: late bounces of yesterday's mail after midnight do not hold it", () => {
    expect(bounceBrake({ sent: 0, bounced: 12, sameDayBounced: 0 }, 5, 100, 10).over).toBe(false);
    expect(bounceBrake({ sent: 40, bounced: 30, sameDayBounced: 9 }, 5, 100, 10).over).toBe(false);
    expect(bounceBrake({ sent: 40, bounced: 30, sameDayBounced: 10 }, 5, 100, 10)).toMatchObject({ over: true, reason: 'floor', sameDayBounced: 10 });
    // Counts without the split (an older caller) count every bounce.
    expect(bounceBrake({ sent: 0, bounced: 12 }, 5, 100, 10)).toMatchObject({ over: true, reason: 'floor' });
  });

  it('is off with 0', () => {
    expect(bounceBrake({ sent: 50, bounced: 50 }, 5, 100, 0).over).toBe(false);
  });

  it('no longer applies once the day has the minimum sample: the rate is in charge', () => {
    expect(bounceBrake({ sent: 100, bounced: 5 }, 5, 100, 3).over).toBe(false);
    expect(bounceBrake({ sent: 300, bounced: 15 }, 5, 100, 10).over).toBe(false);
    expect(bounceBrake({ sent: 300, bounced: 16 }, 5, 100, 10)).toMatchObject({ over: true, reason: 'rate' });
  });
});

describe('brakeMessage', () => {
  const settings = { thresholdPercent: 5, minimumSends: 100, maxHardBounces: 10 };

  it('explains the rate and how sending resumes', () => {
    const decision = bounceBrake({ sent: 400, bounced: 30 }, 5, 100, 10);
    expect(brakeMessage(decision, settings)).toBe(
      "Today's bounce rate is 7.50% (30 hard bounces in 400 sends), over the 5% threshold; sending resumes on the next UTC day, or raise the threshold: sesmailengine install --yes --parameter BounceRateThreshold=<percent>.",
    );
  });

  it('explains the floor and how sending resumes', () => {
    const decision = bounceBrake({ sent: 20, bounced: 10 }, 5, 100, 10);
    expect(brakeMessage(decision, settings)).toBe(
      "Today's 20 sends have 10 hard bounces: the limit of 10 hard bounces (BounceBrakeMaxHardBounces) holds while fewer than 100 were sent today; sending resumes on the next UTC day, or raise the limit (0 turns it off): sesmailengine install --yes --parameter BounceBrakeMaxHardBounces=<n>.",
    );
  });
});
