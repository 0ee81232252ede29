/**
 * Step 3 of sending: the bounce-rate brake, two rules over today's (UTC) counts.
 *
 * - The rate: today's hard bounces over today's sends, in percent. It holds when the rate is
 *   strictly over the threshold and at least `minimumSends` were sent today, so one bounce
 *   among the first few sends cannot stop the engine.
 * - The floor: below that sample, it holds once the hard bounces of mail sent today reach
 *   `maxHardBounces` (0 turns the floor off), so a small sender's first bad list does not
 *   go out whole while the sample fills up. Only bounces of mail sent the same UTC day
 *   count: a busy sender's late bounces of yesterday's mail arrive after midnight, before
 *   today's sample is there, and must not stop today's sending.
 *
 * Soft bounces do not count (they are retried, not a reputation signal by themselves).
 */

export interface BrakeCounts {
  /** Emails accepted by SES today (UTC). */
  sent: number;
  /** Hard bounces today (UTC); soft bounces are counted apart and ignored here. */
  bounced: number;
  /** Of those, the bounces of mail sent today (the floor's count); absent: all of them. */
  sameDayBounced?: number;
}

/** Which rule held: the rate over the threshold, or the absolute floor below the minimum sample. */
export type BrakeReason = 'rate' | 'floor';

export interface BrakeDecision {
  over: boolean;
  /** Set when `over`. */
  reason?: BrakeReason;
  /** Bounce rate in percent (0 when nothing was sent). */
  ratePercent: number;
  sent: number;
  bounced: number;
  /** Hard bounces of mail sent today, what the floor counts. */
  sameDayBounced: number;
}

export interface BrakeSettings {
  /** Percent (BounceRateThreshold). */
  thresholdPercent: number;
  /** BounceRateMinimumSends. */
  minimumSends: number;
  /** BounceBrakeMaxHardBounces; 0 turns the floor off. */
  maxHardBounces: number;
}

export function bounceBrake(counts: BrakeCounts, thresholdPercent: number, minimumSends: number, maxHardBounces: number): BrakeDecision {
  const sent = Math.max(0, counts.sent);
  const bounced = Math.max(0, counts.bounced);
  const sameDayBounced = Math.min(bounced, Math.max(0, counts.sameDayBounced ?? bounced));
  const ratePercent = sent === 0 ? 0 : (bounced / sent) * 100;
  const figures = { ratePercent, sent, bounced, sameDayBounced };
  if (sent > 0 && sent >= minimumSends && ratePercent > thresholdPercent) return { over: true, reason: 'rate', ...figures };
  if (maxHardBounces > 0 && sent < minimumSends && sameDayBounced >= maxHardBounces) return { over: true, reason: 'floor', ...figures };
  return { over: false, ...figures };
}

/** Why the brake holds and how sending resumes (the BRK001 message). */
export function brakeMessage(decision: BrakeDecision, settings: BrakeSettings): string {
  const counts = `${decision.bounced} hard bounces in ${decision.sent} sends`;
  if (decision.reason === 'floor') {
    return (
      `Today's ${decision.sent} sends have ${decision.sameDayBounced} hard bounces: the limit of ${settings.maxHardBounces} hard bounces (BounceBrakeMaxHardBounces) holds while fewer than ${settings.minimumSends} were sent today; ` +
      `sending resumes on the next UTC day, or raise the limit (0 turns it off): sesmailengine install --yes --parameter BounceBrakeMaxHardBounces=<n>.`
    );
  }
  return (
    `Today's bounce rate is ${decision.ratePercent.toFixed(2)}% (${counts}), over the ${settings.thresholdPercent}% threshold; ` +
    `sending resumes on the next UTC day, or raise the threshold: sesmailengine install --yes --parameter BounceRateThreshold=<percent>.`
  );
}

/** What holds the brake, in a few words: "7.50% of 400 sends bounced, over 5%" or the floor's figures. */
export function brakeReasonText(decision: BrakeDecision, settings: BrakeSettings): string {
  if (decision.reason === 'floor') {
    return `${decision.sameDayBounced} hard bounces among today's ${decision.sent} sends, at the limit of ${settings.maxHardBounces} that holds below ${settings.minimumSends} sends`;
  }
  return `${decision.ratePercent.toFixed(2)}% of ${decision.sent} sends bounced, over ${settings.thresholdPercent}%`;
}

/** Why the brake is off though the rate may look high: the sample is not there yet (and what holds until it is). */
export function brakeOffText(decision: BrakeDecision, settings: BrakeSettings): string {
  if (decision.over || decision.sent >= settings.minimumSends) return 'off';
  return settings.maxHardBounces > 0
    ? `off (the rate acts after ${settings.minimumSends} sends; until then ${settings.maxHardBounces} hard bounces hold it)`
    : `off (the rate acts after ${settings.minimumSends} sends)`;
}
