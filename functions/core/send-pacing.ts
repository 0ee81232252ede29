/**
 * Pacing the engine's sends to the SES account's quota (SPEC §4, "Pacing to the SES quota"),
 * as plain decisions over plain numbers; functions/lib/send-rate.ts does the I/O.
 *
 * - The rate in force is the account's MaxSendRate (SES GetAccount), capped lower by the
 *   stack's MaxSendRate parameter when set; SES reports a rate of -1 (or none) for no limit.
 * - Every container reserves tokens for the current second on one shared counter item
 *   (`pace#<epoch second>`), one write per reservation: the write adds what it asks for while
 *   the second is not full, and the new total tells how much of it fitted.
 * - A send SES throttles anyway, or one the pacing cannot fit in this invocation, is deferred:
 *   put back on the send queue with a delay and a deferral count, and the original deleted,
 *   so it never counts toward the send queue's maxReceiveCount and never reaches its DLQ.
 */

/** rate: SES throttled the send; pacing: no room under the rate within the batch's wait budget; daily-quota: SES's 24-hour quota is used up. */
export type DeferralReason = 'rate' | 'pacing' | 'daily-quota';

/** SQS's largest DelaySeconds. */
export const MAX_DEFERRAL_SECONDS = 900;
/**
 * A request the pacing could not fit comes back within this many seconds at most: it waited
 * its turn already, and the queue behind it is what the rate drains; a longer delay would
 * only leave the rate unused.
 */
export const MAX_PACING_DELAY_SECONDS = 30;
/** The message attribute counting how often a request was deferred. */
export const DEFERRALS_ATTRIBUTE = 'sesmailengine-deferrals';

/** The sends per second in force: the account's rate, or the cap when it is lower; undefined for no limit. */
export function rateInForce(accountRate: number | undefined, cap: number): number | undefined {
  const account = accountRate !== undefined && Number.isFinite(accountRate) && accountRate > 0 ? accountRate : undefined;
  const capped = Number.isFinite(cap) && cap > 0 ? cap : undefined;
  if (account === undefined) return capped;
  if (capped === undefined) return account;
  return Math.min(account, capped);
}

/** Whole sends per second (SES allows fractional rates; a second's bucket holds at least one). */
export function tokensPerSecond(rate: number): number {
  return Math.max(1, Math.floor(rate));
}

/**
 * How many of `asked` tokens a reservation got, given the second's total after it added
 * them (`usedAfter`) and the second's `limit`. Several writers may overshoot the total
 * together; each keeps only what fitted below the limit before its own addition.
 */
export function grantedTokens(usedAfter: number, asked: number, limit: number): number {
  const before = usedAfter - asked;
  return Math.max(0, Math.min(asked, limit - before));
}

/**
 * The delay before a deferred request comes back: the daily quota waits the longest delay
 * SQS allows; a throttled send backs off exponentially (1, 2, 4 … s, at most 900), one the
 * pacing could not fit likewise but at most MAX_PACING_DELAY_SECONDS; both with full jitter,
 * so deferred requests spread out instead of returning together.
 */
export function deferralDelaySeconds(reason: DeferralReason, deferrals: number, random: () => number = Math.random): number {
  if (reason === 'daily-quota') return MAX_DEFERRAL_SECONDS;
  const cap = reason === 'pacing' ? MAX_PACING_DELAY_SECONDS : MAX_DEFERRAL_SECONDS;
  const ceiling = Math.min(cap, 2 ** Math.min(Math.max(0, deferrals), 10));
  return Math.max(1, Math.ceil(random() * ceiling));
}

/** The deferral count a message carries (0 when absent or unreadable). */
export function deferralsOf(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** Milliseconds until the next whole second, plus up to `jitterMs` so waiting containers do not all write at once. */
export function msToNextSecond(nowMs: number, jitterMs: number, random: () => number = Math.random): number {
  return 1000 - (nowMs % 1000) + Math.floor(random() * jitterMs);
}
