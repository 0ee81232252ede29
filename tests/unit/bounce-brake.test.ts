import { describe, expect, it } from '@jest/globals';
import { bounceBrake, brakeMessage } from '../../functions/core/bounce-brake.js';

describe('bounceBrake', () => {
  it('is off when nothing was sent', () => {
    expect(bounceBrake({ sent: 0, bounced: 0 }, 5, 100)).toEqual({ over: false, ratePercent: 0, sent: 0, bounced: 0 });
  });

  it('is off below the minimum sample, however bad the rate', () => {
    expect(bounceBrake({ sent: 3, bounced: 1 }, 5, 100).over).toBe(false);
    expect(bounceBrake({ sent: 99, bounced: 99 }, 5, 100).over).toBe(false);
  });

  it('holds at the minimum sample when the rate is over the threshold', () => {
    expect(bounceBrake({ sent: 100, bounced: 6 }, 5, 100).over).toBe(true);
  });

  it('does not hold at exactly the threshold', () => {
    const decision = bounceBrake({ sent: 200, bounced: 10 }, 5, 100);
    expect(decision.ratePercent).toBe(5);
    expect(decision.over).toBe(false);
  });

  it('holds just over the threshold', () => {
    expect(bounceBrake({ sent: 200, bounced: 11 }, 5, 100).over).toBe(true);
  });

  it('honours a fractional threshold', () => {
    expect(bounceBrake({ sent: 1000, bounced: 6 }, 0.5, 100).over).toBe(true);
    expect(bounceBrake({ sent: 1000, bounced: 5 }, 0.5, 100).over).toBe(false);
  });

  it('with a minimum of 0 still needs something sent', () => {
    expect(bounceBrake({ sent: 0, bounced: 2 }, 5, 0).over).toBe(false);
    expect(bounceBrake({ sent: 1, bounced: 1 }, 5, 0).over).toBe(true);
  });

  it('treats negative counts as zero', () => {
    expect(bounceBrake({ sent: -5, bounced: -1 }, 5, 0)).toMatchObject({ over: false, sent: 0, bounced: 0 });
  });

  it('explains itself', () => {
    const decision = bounceBrake({ sent: 400, bounced: 30 }, 5, 100);
    expect(brakeMessage(decision, 5)).toBe(
      "Today's bounce rate is 7.50% (30 hard bounces in 400 sends), over the 5% threshold; sending resumes on the next UTC day.",
    );
  });
});
