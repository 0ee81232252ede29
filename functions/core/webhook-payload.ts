import { stripEngineSignature } from './event-authentication.js';

/**
 * What a webhook delivery says, built from the event the webhook rule put on the queue,
 * and when a failed delivery is tried again.
 *
 * Body: `{"type": "email.<status>", "timestamp": <ISO time of the change>, "data": <the
 * "Email Status Changed" detail>}`, or `{"type": "webhook.test", ...}` for a test event.
 */

export const STATUS_CHANGED_DETAIL_TYPE = 'Email Status Changed';
export const WEBHOOK_TEST_DETAIL_TYPE = 'Webhook Test';
export const ENGINE_SOURCE = 'sesmailengine';
export const TEST_EVENT_TYPE = 'webhook.test';

/**
 * The `type` of every delivery a status change can make (the statuses the Feedback
 * Processor announces). `webhook.test` is always delivered and is not in this list.
 */
export const WEBHOOK_EVENT_TYPES = ['email.delivered', 'email.opened', 'email.soft_bounced', 'email.bounced', 'email.complained', 'email.failed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export class WebhookEventTypesError extends Error {
  override readonly name = 'WebhookEventTypesError';
}

/**
 * The types a receiver wants, from a comma-separated list (`email.bounced,email.complained`;
 * the `email.` prefix may be left out): undefined for an empty list, meaning every type.
 * Throws WebhookEventTypesError naming an unknown type and the known ones.
 */
export function parseWebhookEventTypes(text: string | undefined): ReadonlySet<WebhookEventType> | undefined {
  const names = (text ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) return undefined;
  const known = new Set<string>(WEBHOOK_EVENT_TYPES);
  const types = new Set<WebhookEventType>();
  for (const name of names) {
    const type = name.startsWith('email.') ? name : `email.${name}`;
    if (!known.has(type)) {
      throw new WebhookEventTypesError(`"${name.slice(0, 40)}" is not a webhook event type; the types are ${WEBHOOK_EVENT_TYPES.join(', ')}.`);
    }
    types.add(type as WebhookEventType);
  }
  return types;
}

/** Whether a delivery of `type` goes out under the receiver's choice (test events always do). */
export function wantsEventType(chosen: ReadonlySet<string> | undefined, type: string): boolean {
  return chosen === undefined || type === TEST_EVENT_TYPE || chosen.has(type);
}

export interface WebhookPayload {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

export interface WebhookMessage {
  /** The webhook-id header: the EventBridge event id, stable across retries. */
  id: string;
  /** The event's detail-type and detail as they came, for checking the engine's signature. */
  detailType: string;
  detail: Record<string, unknown>;
  /** What the receiver gets: the detail without the engine's signature. */
  payload: WebhookPayload;
}

export class WebhookMessageError extends Error {
  override readonly name = 'WebhookMessageError';
}

/** Header-safe ids only: EventBridge ids are UUIDs; anything else is refused rather than sent in a header. */
const SAFE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const SAFE_STATUS = /^[a-z][a-z_]{0,31}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The delivery a webhook-queue message body asks for; throws WebhookMessageError if it is not one. */
export function parseWebhookMessage(body: string): WebhookMessage {
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    throw new WebhookMessageError('The message body is not JSON.');
  }
  if (!isObject(event)) throw new WebhookMessageError('The message body is not an EventBridge event object.');
  const { id, source, detail, time } = event;
  const detailType = event['detail-type'];
  if (typeof id !== 'string' || !SAFE_ID.test(id)) throw new WebhookMessageError('The event id is missing or not a plain identifier.');
  if (source !== ENGINE_SOURCE) throw new WebhookMessageError(`The event source is ${JSON.stringify(source)}, not "${ENGINE_SOURCE}".`);
  if (!isObject(detail)) throw new WebhookMessageError('The event has no detail object.');
  const eventTime = typeof time === 'string' && ISO_TIME.test(time) ? time : undefined;

  if (detailType === STATUS_CHANGED_DETAIL_TYPE) {
    const status = detail.status;
    if (typeof status !== 'string' || !SAFE_STATUS.test(status)) {
      throw new WebhookMessageError('The "Email Status Changed" detail has no valid status.');
    }
    if (typeof detail.emailId !== 'string' || detail.emailId === '') {
      throw new WebhookMessageError('The "Email Status Changed" detail has no emailId.');
    }
    const changedAt = typeof detail.timestamp === 'string' && ISO_TIME.test(detail.timestamp) ? detail.timestamp : eventTime;
    if (!changedAt) throw new WebhookMessageError('The event carries no ISO-8601 time.');
    return { id, detailType, detail, payload: { type: `email.${status}`, timestamp: changedAt, data: stripEngineSignature(detail) } };
  }
  if (detailType === WEBHOOK_TEST_DETAIL_TYPE) {
    if (!eventTime) throw new WebhookMessageError('The event carries no ISO-8601 time.');
    return { id, detailType, detail, payload: { type: TEST_EVENT_TYPE, timestamp: eventTime, data: stripEngineSignature(detail) } };
  }
  throw new WebhookMessageError(`The detail-type ${JSON.stringify(detailType)} is not delivered to webhooks.`);
}

/**
 * Seconds until the next attempt after attempt `attempt` (1 = the first delivery) failed:
 * 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h, then 12 h (SQS's longest visibility timeout),
 * about 35 hours over the 10 attempts. A receiver's Retry-After is honoured when it asks
 * for longer, up to 12 hours. After the last attempt (one more than the schedule has
 * delays: the webhook queue's maxReceiveCount) the message is returned at once, so the
 * queue moves it to the webhook DLQ now rather than 12 hours later.
 */
export const RETRY_SCHEDULE_SECONDS: readonly number[] = [30, 120, 600, 1800, 3600, 10800, 21600, 43200, 43200];
export const MAX_VISIBILITY_SECONDS = 43200;
/** Deliveries of one event before it is dead-lettered: the webhook queue's maxReceiveCount. */
export const MAX_ATTEMPTS = RETRY_SCHEDULE_SECONDS.length + 1;

export function retryDelaySeconds(attempt: number, retryAfterSeconds?: number, schedule: readonly number[] = RETRY_SCHEDULE_SECONDS): number {
  if (attempt > schedule.length) return 0;
  const index = Math.max(1, Math.floor(attempt)) - 1;
  const planned = schedule[index] ?? MAX_VISIBILITY_SECONDS;
  const wanted = retryAfterSeconds !== undefined && retryAfterSeconds > planned ? retryAfterSeconds : planned;
  return Math.min(Math.max(0, Math.ceil(wanted)), MAX_VISIBILITY_SECONDS);
}

/** Retry-After as seconds from `now` (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
