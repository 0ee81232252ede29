import { bounceBrake } from '../../functions/core/bounce-brake.js';
import type { EngineSettings } from './target.js';

/**
 * Today's bounce and complaint rates against the two limits that matter: the engine's own
 * brake (the target's BounceRateThreshold and BounceRateMinimumSends; hard bounces only) and
 * the rates at which SES reviews an account and puts it at risk (AWS's published
 * thresholds, reached over a representative volume, not one day). Pure.
 */

/** SES's review thresholds, in percent of sent mail. */
export const SES_RATE_LIMITS = {
  bounce: { review: 5, atRisk: 10 },
  complaint: { review: 0.1, atRisk: 0.5 },
} as const;

export type SesLevel = 'healthy' | 'review' | 'at-risk';

export interface RateHealth {
  /** Percent of today's sent, 2 decimals. */
  ratePercent: number;
  count: number;
  sent: number;
  ses: { level: SesLevel; reviewPercent: number; atRiskPercent: number };
}

export interface SendingHealth {
  date: string;
  bounce: RateHealth & {
    brake: { thresholdPercent: number; minimumSends: number; maxHardBounces: number; on: boolean; reason?: 'rate' | 'floor'; armed: boolean };
  };
  complaint: RateHealth;
}

export function sesLevel(ratePercent: number, limits: { review: number; atRisk: number }): SesLevel {
  if (ratePercent >= limits.atRisk) return 'at-risk';
  if (ratePercent >= limits.review) return 'review';
  return 'healthy';
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function rate(count: number, sent: number, limits: { review: number; atRisk: number }): RateHealth {
  const ratePercent = sent > 0 ? round2((Math.max(0, count) / sent) * 100) : 0;
  return { ratePercent, count: Math.max(0, count), sent, ses: { level: sesLevel(ratePercent, limits), reviewPercent: limits.review, atRiskPercent: limits.atRisk } };
}

export function sendingHealth(
  date: string,
  counts: { sent: number; bounced: number; complained: number; sameDayBounced?: number },
  settings: Pick<EngineSettings, 'bounceRateThreshold' | 'bounceRateMinimumSends' | 'bounceBrakeMaxHardBounces'>,
): SendingHealth {
  const sent = Math.max(0, counts.sent);
  const brake = bounceBrake(counts, settings.bounceRateThreshold, settings.bounceRateMinimumSends, settings.bounceBrakeMaxHardBounces);
  return {
    date,
    bounce: {
      ...rate(counts.bounced, sent, SES_RATE_LIMITS.bounce),
      brake: {
        thresholdPercent: settings.bounceRateThreshold,
        minimumSends: settings.bounceRateMinimumSends,
        maxHardBounces: settings.bounceBrakeMaxHardBounces,
        on: brake.over,
        ...(brake.reason ? { reason: brake.reason } : {}),
        // Below the minimum the rate cannot act, whatever it is; the hard-bounce floor (when above 0) holds until then.
        armed: sent >= settings.bounceRateMinimumSends,
      },
    },
    complaint: rate(counts.complained, sent, SES_RATE_LIMITS.complaint),
  };
}
