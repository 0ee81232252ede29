/**
 * Step 3 of sending: the bounce-rate brake. Today's hard bounces over today's sends, in
 * percent; the brake holds only when the rate is strictly over the threshold and at least
 * `minimumSends` were sent today, so one bounce among the first few sends cannot stop the
 * engine. Soft bounces do not count (they are retried, not a reputation signal by themselves).
 */

export interface BrakeCounts {
  /** Emails accepted by SES today (UTC). */
  sent: number;
  /** Hard bounces today (UTC); soft bounces are counted apart and ignored here. */
  bounced: number;
}

export interface BrakeDecision {
  over: boolean;
  /** Bounce rate in percent (0 when nothing was sent). */
  ratePercent: number;
  sent: number;
  bounced: number;
}

export function bounceBrake(counts: BrakeCounts, thresholdPercent: number, minimumSends: number): BrakeDecision {
  const sent = Math.max(0, counts.sent);
  const bounced = Math.max(0, counts.bounced);
  const ratePercent = sent === 0 ? 0 : (bounced / sent) * 100;
  const over = sent > 0 && sent >= minimumSends && ratePercent > thresholdPercent;
  return { over, ratePercent, sent, bounced };
}

export function brakeMessage(decision: BrakeDecision, thresholdPercent: number): string {
  return (
    `Today's bounce rate is ${decision.ratePercent.toFixed(2)}% (${decision.bounced} hard bounces in ${decision.sent} sends), ` +
    `over the ${thresholdPercent}% threshold; sending resumes on the next UTC day.`
  );
}
