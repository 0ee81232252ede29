import { createHash } from 'node:crypto';

/**
 * Scheduled sends (`sendAt`): when a request may go out, and how the sender holds it until then.
 *
 *   due within DUE_WITHIN_MS (or in the past)  → send now
 *   due within MAX_QUEUE_DELAY_SECONDS          → back on the send queue with DelaySeconds
 *   later (at most MAX_SEND_AHEAD_MS ahead)     → a one-time EventBridge Scheduler schedule
 *                                                 that puts the request on the send queue at sendAt
 *
 * A request that comes back early (a capped delay, a clock a little ahead) is simply held
 * again; one that comes back due is sent.
 */

/** A request due this close to now is sent at once (SQS delays have whole-second granularity). */
export const DUE_WITHIN_MS = 1_000;
/** SQS's largest per-message delay. */
export const MAX_QUEUE_DELAY_SECONDS = 900;
/** How far ahead sendAt may be. */
export const MAX_SEND_AHEAD_DAYS = 365;
export const MAX_SEND_AHEAD_MS = MAX_SEND_AHEAD_DAYS * 24 * 60 * 60 * 1000;

/** ISO-8601 date-time with a time zone: 2026-03-01T09:30:00Z, 2026-03-01T09:30:00.250+01:00, 2026-03-01T09:30Z. */
const SEND_AT_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](\d{2}):(\d{2}))$/i;

export type SendAtParse = { ok: true; at: Date } | { ok: false; reason: string };

/** Parses sendAt strictly: a calendar date that exists, a time, and an explicit zone. */
export function parseSendAt(value: string): SendAtParse {
  const match = SEND_AT_PATTERN.exec(value.trim());
  if (!match) {
    return { ok: false, reason: 'is not an ISO-8601 date-time with a time zone (for example 2026-03-01T09:30:00Z or 2026-03-01T10:30:00+01:00)' };
  }
  const [, year, month, day, hour, minute, second = '0', , , zoneHours, zoneMinutes] = match;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth) return { ok: false, reason: 'names a date that does not exist' };
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return { ok: false, reason: 'names a time that does not exist' };
  if (zoneHours !== undefined && (Number(zoneHours) > 23 || Number(zoneMinutes) > 59)) return { ok: false, reason: 'has an invalid time-zone offset' };
  const ms = Date.parse(value.trim());
  if (!Number.isFinite(ms)) return { ok: false, reason: 'is not a valid date-time' };
  return { ok: true, at: new Date(ms) };
}

export type SendPlan =
  | { kind: 'now' }
  | { kind: 'delay'; delaySeconds: number }
  | { kind: 'schedule'; expression: string };

/** How to hold a request due at `sendAt` when it is `now`. */
export function planSend(sendAt: Date, now: Date): SendPlan {
  const remaining = sendAt.getTime() - now.getTime();
  if (remaining <= DUE_WITHIN_MS) return { kind: 'now' };
  // Rounded up: a held request must not arrive before its time (if it does, it is held again).
  const seconds = Math.ceil(remaining / 1000);
  if (seconds <= MAX_QUEUE_DELAY_SECONDS) return { kind: 'delay', delaySeconds: seconds };
  return { kind: 'schedule', expression: atExpression(sendAt) };
}

/** EventBridge Scheduler's one-time expression in UTC, rounded up to the second. */
export function atExpression(at: Date): string {
  const rounded = new Date(Math.ceil(at.getTime() / 1000) * 1000);
  return `at(${rounded.toISOString().slice(0, 19)})`;
}

/** Scheduler schedule names: 1-64 of [0-9a-zA-Z-_.]. */
export const SCHEDULE_NAME_PATTERN = /^[0-9A-Za-z_.-]{1,64}$/;

/**
 * The schedule name for an emailId, the same on every redelivery (so a second CreateSchedule
 * conflicts instead of scheduling twice). Ids made only of letters, digits, "-" and "_" that fit
 * are used as they are; any other id becomes a readable prefix, ".", and a SHA-256 digest. Only
 * hashed names contain ".", so the two kinds never collide.
 */
export function scheduleNameFor(emailId: string): string {
  if (/^[0-9A-Za-z_-]{1,64}$/.test(emailId)) return emailId;
  const prefix = emailId.replace(/[^0-9A-Za-z_-]+/g, '_').slice(0, 22);
  const digest = createHash('sha256').update(emailId, 'utf8').digest('hex').slice(0, 40);
  return `${prefix}.${digest}`;
}
