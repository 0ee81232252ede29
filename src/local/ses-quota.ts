/**
 * The SES account's sending quota in local mode (`--ses-max-send-rate`,
 * `--ses-max-24-hour-send`): the SES stand-in refuses a SendEmail above either limit with the
 * answer SES v2 gives (429 TooManyRequestsException, "Maximum sending rate exceeded." or
 * "Daily message quota exceeded."), and answers GetAccount with the quota and the sends of
 * the last 24 hours. The rate counts accepted sends per calendar second, the window the
 * engine's pacing reserves in. Without limits every send is accepted, and GetAccount reports
 * -1 (no limit) for both, as SES does for an unlimited quota.
 */

export interface SesQuotaOptions {
  /** Sends per second; undefined = no limit. */
  maxSendRate?: number;
  /** Sends per rolling 24 hours; undefined = no limit. */
  max24HourSend?: number;
}

export type QuotaRefusal = { statusCode: 429; errorType: 'TooManyRequestsException'; message: string };

const DAY_SECONDS = 86_400;

export const MAX_SEND_RATE_EXCEEDED = 'Maximum sending rate exceeded.';
export const DAILY_QUOTA_EXCEEDED = 'Daily message quota exceeded.';

export class SesQuota {
  /** Accepted sends per epoch second, oldest first (at most a day of seconds). */
  private readonly seconds: { second: number; count: number }[] = [];
  private last24Hours = 0;
  /** Refusals so far, for benchmarks. */
  refusals = { rate: 0, daily: 0 };
  accepted = 0;

  constructor(
    readonly options: SesQuotaOptions = {},
    private readonly clock: () => number = Date.now,
  ) {}

  get limited(): boolean {
    return this.options.maxSendRate !== undefined || this.options.max24HourSend !== undefined;
  }

  /** Counts a send when the quota allows it; returns SES's refusal otherwise. */
  admit(): QuotaRefusal | undefined {
    const second = Math.floor(this.clock() / 1000);
    this.forgetBefore(second - DAY_SECONDS + 1);
    const max24 = this.options.max24HourSend;
    if (max24 !== undefined && this.last24Hours >= max24) {
      this.refusals.daily++;
      return { statusCode: 429, errorType: 'TooManyRequestsException', message: DAILY_QUOTA_EXCEEDED };
    }
    let current = this.seconds[this.seconds.length - 1];
    if (!current || current.second !== second) {
      current = { second, count: 0 };
      this.seconds.push(current);
    }
    const rate = this.options.maxSendRate;
    if (rate !== undefined && current.count >= Math.max(1, Math.floor(rate))) {
      this.refusals.rate++;
      return { statusCode: 429, errorType: 'TooManyRequestsException', message: MAX_SEND_RATE_EXCEEDED };
    }
    current.count++;
    this.last24Hours++;
    this.accepted++;
    return undefined;
  }

  /** SES v2 GetAccount's answer. */
  account(): Record<string, unknown> {
    this.forgetBefore(Math.floor(this.clock() / 1000) - DAY_SECONDS + 1);
    return {
      DedicatedIpAutoWarmupEnabled: false,
      EnforcementStatus: 'HEALTHY',
      ProductionAccessEnabled: true,
      SendingEnabled: true,
      SendQuota: {
        Max24HourSend: this.options.max24HourSend ?? -1,
        MaxSendRate: this.options.maxSendRate ?? -1,
        SentLast24Hours: this.last24Hours,
      },
    };
  }

  private forgetBefore(second: number): void {
    while (this.seconds.length > 0 && this.seconds[0]!.second < second) {
      this.last24Hours -= this.seconds.shift()!.count;
    }
  }
}
