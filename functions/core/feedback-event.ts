import { createHash } from 'node:crypto';
import { EngineError } from './error-codes.js';
import { readEmailIdTags } from './message-tags.js';

/**
 * Reading one feedback queue message into a typed SES event.
 *
 * Accepted bodies, most specific first:
 * - the EventBridge event SES publishes (`source: "aws.ses"`, `detail` = the SES event);
 * - an SNS notification envelope (`Type: "Notification"`, `Message` = the SES event JSON),
 *   for a configuration set that publishes to an SNS topic subscribed by the queue;
 * - the bare SES event (`eventType` + `mail`), or an identity notification
 *   (`notificationType` Bounce / Complaint / Delivery), which carries the same objects.
 *
 * Anything else is a FeedbackEventError (code FBK004): the caller logs and drops it.
 */

export const SES_EVENT_TYPES = [
  'Send',
  'Delivery',
  'Bounce',
  'Complaint',
  'Reject',
  'Open',
  'Click',
  'Rendering Failure',
  'DeliveryDelay',
  'Subscription',
] as const;
export type SesEventType = (typeof SES_EVENT_TYPES)[number];

export const BOUNCE_TYPES = ['Permanent', 'Transient', 'Undetermined'] as const;
export type BounceType = (typeof BOUNCE_TYPES)[number];

/** Largest body read; SQS messages are at most 1 MiB. */
export const MAX_FEEDBACK_BODY_CHARS = 1024 * 1024;
/** Deepest nesting read. SES events nest about six levels; JSON.parse accepts thousands, which recursive code cannot walk. */
export const MAX_FEEDBACK_NESTING = 64;
/** Longest string kept from an event field (diagnostic codes, reasons, user agents). */
export const MAX_FIELD_CHARS = 2048;
const MAX_ADDRESS_CHARS = 320;

export interface SesMail {
  messageId: string;
  /** When SES accepted the message (ISO-8601), when given. */
  timestamp?: string;
  source?: string;
  destination: string[];
  /** Message tags; values are arrays as SES publishes them. */
  tags: Record<string, string[]>;
}

export interface FeedbackRecipient {
  /** Lower-cased address. */
  email: string;
  status?: string;
  diagnosticCode?: string;
}

interface EventBase {
  mail: SesMail;
  /** When the event happened (ISO-8601): the event's own timestamp, else the mail's or the envelope's. */
  timestamp?: string;
  /**
   * Stable identity of this event: equal for redeliveries of the same SES event and
   * different for two real events (two opens differ in time). Used to drop duplicates.
   */
  eventKey: string;
  /** The EventBridge envelope's id, when the body was an EventBridge event. */
  envelopeId?: string;
}

export type FeedbackEvent =
  | (EventBase & { eventType: 'Send' })
  | (EventBase & { eventType: 'Delivery'; delivery: { recipients: string[]; smtpResponse?: string } })
  | (EventBase & {
      eventType: 'Bounce';
      bounce: { bounceType: BounceType; bounceSubType: string; recipients: FeedbackRecipient[]; feedbackId?: string };
    })
  | (EventBase & {
      eventType: 'Complaint';
      complaint: { recipients: string[]; feedbackType?: string; subType?: string; feedbackId?: string };
    })
  | (EventBase & { eventType: 'Reject'; reject: { reason: string } })
  | (EventBase & { eventType: 'Open'; open: { ipAddress?: string; userAgent?: string } })
  | (EventBase & { eventType: 'Click'; click: { link: string; ipAddress?: string; userAgent?: string } })
  | (EventBase & { eventType: 'Rendering Failure'; failure: { errorMessage: string; templateName?: string } })
  | (EventBase & {
      eventType: 'DeliveryDelay';
      deliveryDelay: { delayType: string; expirationTime?: string; recipients: FeedbackRecipient[] };
    })
  | (EventBase & {
      eventType: 'Subscription';
      subscription: {
        contactList?: string;
        source?: string;
        unsubscribeAll: boolean;
        topics: { topicName: string; subscriptionStatus: string }[];
      };
    });

export class FeedbackEventError extends EngineError {
  override readonly name = 'FeedbackEventError';
  constructor(message: string) {
    super('FBK004', message);
  }
}

export type ParseResult = { ok: true; event: FeedbackEvent } | { ok: false; error: FeedbackEventError };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function fail(message: string): never {
  throw new FeedbackEventError(message);
}

function clip(value: string): string {
  return value.length > MAX_FIELD_CHARS ? value.slice(0, MAX_FIELD_CHARS) : value;
}

function optionalText(obj: Json, key: string, where: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${where}.${key} must be a string.`);
  return value === '' ? undefined : clip(value);
}

function requiredText(obj: Json, key: string, where: string): string {
  const value = optionalText(obj, key, where);
  if (value === undefined) fail(`${where}.${key} is missing.`);
  return value;
}

function optionalTime(obj: Json, key: string, where: string): string | undefined {
  const value = optionalText(obj, key, where);
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) fail(`${where}.${key} is not a date: "${value.slice(0, 64)}".`);
  return new Date(ms).toISOString();
}

function requiredObject(obj: Json, key: string, where: string): Json {
  const value = obj[key];
  if (!isObject(value)) fail(`${where}.${key} must be an object.`);
  return value;
}

function optionalArray(obj: Json, key: string, where: string): unknown[] {
  const value = obj[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(`${where}.${key} must be an array.`);
  return value;
}

/** A plausible address, lower-cased; other values are dropped rather than failing the event. */
function address(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim().toLowerCase();
  if (trimmed.length < 3 || trimmed.length > MAX_ADDRESS_CHARS) return undefined;
  const at = trimmed.lastIndexOf('@');
  if (at < 1 || at === trimmed.length - 1 || /[\s<>,;"]/.test(trimmed)) return undefined;
  return trimmed;
}

function addresses(values: unknown[]): string[] {
  return [...new Set(values.map(address).filter((a): a is string => a !== undefined))];
}

function recipients(values: unknown[], where: string): FeedbackRecipient[] {
  const out: FeedbackRecipient[] = [];
  values.forEach((value, i) => {
    if (!isObject(value)) fail(`${where}[${i}] must be an object.`);
    const email = address(value.emailAddress);
    if (email === undefined || out.some((r) => r.email === email)) return;
    const status = optionalText(value, 'status', `${where}[${i}]`);
    const diagnosticCode = optionalText(value, 'diagnosticCode', `${where}[${i}]`);
    out.push({ email, ...(status ? { status } : {}), ...(diagnosticCode ? { diagnosticCode } : {}) });
  });
  return out;
}

function parseTags(value: unknown): Record<string, string[]> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) fail('mail.tags must be an object.');
  const tags: Record<string, string[]> = {};
  for (const [name, raw] of Object.entries(value)) {
    const list = Array.isArray(raw) ? raw : [raw];
    tags[name] = list.filter((v): v is string => typeof v === 'string');
  }
  // Tags naming the record that the engine could not have written are a forged or damaged
  // event: refused here rather than looked up (or silently ignored) later.
  const reading = readEmailIdTags(tags);
  if (!reading.ok) fail(`mail.tags: ${reading.reason}.`);
  return tags;
}

function parseMail(value: unknown): SesMail {
  if (!isObject(value)) fail('mail must be an object.');
  const messageId = requiredText(value, 'messageId', 'mail');
  if (messageId.length > 512) fail('mail.messageId is too long.');
  const timestamp = optionalTime(value, 'timestamp', 'mail');
  const source = optionalText(value, 'source', 'mail');
  return {
    messageId,
    ...(timestamp ? { timestamp } : {}),
    ...(source ? { source } : {}),
    destination: addresses(optionalArray(value, 'destination', 'mail')),
    tags: parseTags(value.tags),
  };
}

/** JSON with object keys sorted, so equal events give equal strings whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function eventKeyOf(eventType: string, messageId: string, eventObject: unknown): string {
  return createHash('sha256')
    .update(`${eventType}\n${messageId}\n${canonical(eventObject ?? null)}`)
    .digest('base64url')
    .slice(0, 22);
}

const EVENT_OBJECT_KEY: Record<SesEventType, string> = {
  Send: 'send',
  Delivery: 'delivery',
  Bounce: 'bounce',
  Complaint: 'complaint',
  Reject: 'reject',
  Open: 'open',
  Click: 'click',
  'Rendering Failure': 'failure',
  DeliveryDelay: 'deliveryDelay',
  Subscription: 'subscription',
};

function normalizeEventType(value: unknown): SesEventType {
  if (typeof value !== 'string') fail('eventType is missing.');
  // The SES v2 API spells this event type without the space; the published events use it.
  if (value === 'RenderingFailure') return 'Rendering Failure';
  if ((SES_EVENT_TYPES as readonly string[]).includes(value)) return value as SesEventType;
  fail(`eventType "${value.slice(0, 64)}" is not one the engine handles.`);
}

/** Parses a bare SES event object (the `detail` of the EventBridge event). */
export function parseSesEvent(value: unknown, envelope: { id?: string; time?: string } = {}): FeedbackEvent {
  if (!isObject(value)) fail('The SES event is not an object.');
  const rawType = value.eventType ?? value.notificationType;
  const eventType = normalizeEventType(rawType);
  const mail = parseMail(value.mail);
  const objectKey = EVENT_OBJECT_KEY[eventType];
  const eventObject = value[objectKey];
  const base = (own: string | undefined): EventBase => {
    const timestamp = own ?? mail.timestamp ?? envelope.time;
    return {
      mail,
      ...(timestamp ? { timestamp } : {}),
      eventKey: eventKeyOf(eventType, mail.messageId, eventObject),
      ...(envelope.id ? { envelopeId: envelope.id } : {}),
    };
  };

  switch (eventType) {
    case 'Send':
      return { eventType, ...base(undefined) };
    case 'Delivery': {
      const o = requiredObject(value, objectKey, eventType);
      const smtpResponse = optionalText(o, 'smtpResponse', 'delivery');
      return {
        eventType,
        ...base(optionalTime(o, 'timestamp', 'delivery')),
        delivery: { recipients: addresses(optionalArray(o, 'recipients', 'delivery')), ...(smtpResponse ? { smtpResponse } : {}) },
      };
    }
    case 'Bounce': {
      const o = requiredObject(value, objectKey, eventType);
      const bounceType = requiredText(o, 'bounceType', 'bounce');
      if (!(BOUNCE_TYPES as readonly string[]).includes(bounceType)) fail(`bounce.bounceType "${bounceType.slice(0, 64)}" is unknown.`);
      const feedbackId = optionalText(o, 'feedbackId', 'bounce');
      return {
        eventType,
        ...base(optionalTime(o, 'timestamp', 'bounce')),
        bounce: {
          bounceType: bounceType as BounceType,
          bounceSubType: optionalText(o, 'bounceSubType', 'bounce') ?? 'Undetermined',
          recipients: recipients(optionalArray(o, 'bouncedRecipients', 'bounce'), 'bounce.bouncedRecipients'),
          ...(feedbackId ? { feedbackId } : {}),
        },
      };
    }
    case 'Complaint': {
      const o = requiredObject(value, objectKey, eventType);
      const list = optionalArray(o, 'complainedRecipients', 'complaint');
      list.forEach((r, i) => {
        if (!isObject(r)) fail(`complaint.complainedRecipients[${i}] must be an object.`);
      });
      const feedbackType = optionalText(o, 'complaintFeedbackType', 'complaint');
      const subType = optionalText(o, 'complaintSubType', 'complaint');
      const feedbackId = optionalText(o, 'feedbackId', 'complaint');
      return {
        eventType,
        ...base(optionalTime(o, 'timestamp', 'complaint')),
        complaint: {
          recipients: addresses(list.map((r) => (r as Json).emailAddress)),
          ...(feedbackType ? { feedbackType } : {}),
          ...(subType ? { subType } : {}),
          ...(feedbackId ? { feedbackId } : {}),
        },
      };
    }
    case 'Reject': {
      const o = requiredObject(value, objectKey, eventType);
      return { eventType, ...base(undefined), reject: { reason: optionalText(o, 'reason', 'reject') ?? 'Rejected by SES' } };
    }
    case 'Open': {
      const o = requiredObject(value, objectKey, eventType);
      const ipAddress = optionalText(o, 'ipAddress', 'open');
      const userAgent = optionalText(o, 'userAgent', 'open');
      return {
        eventType,
        ...base(optionalTime(o, 'timestamp', 'open')),
        open: { ...(ipAddress ? { ipAddress } : {}), ...(userAgent ? { userAgent } : {}) },
      };
    }
    case 'Click': {
      const o = requiredObject(value, objectKey, eventType);
      const ipAddress = optionalText(o, 'ipAddress', 'click');
      const userAgent = optionalText(o, 'userAgent', 'click');
      return {
        eventType,
        ...base(optionalTime(o, 'timestamp', 'click')),
        click: {
          link: requiredText(o, 'link', 'click'),
          ...(ipAddress ? { ipAddress } : {}),
          ...(userAgent ? { userAgent } : {}),
        },
      };
    }
    case 'Rendering Failure': {
      const o = requiredObject(value, objectKey, eventType);
      const templateName = optionalText(o, 'templateName', 'failure');
      return {
        eventType,
        ...base(undefined),
        failure: {
          errorMessage: optionalText(o, 'errorMessage', 'failure') ?? 'Rendering failed',
          ...(templateName ? { templateName } : {}),
        },
      };
    }
    case 'DeliveryDelay': {
      const o = requiredObject(value, objectKey, eventType);
      const expirationTime = optionalTime(o, 'expirationTime', 'deliveryDelay');
      return {
        eventType,
        ...base(optionalTime(o, 'timestamp', 'deliveryDelay')),
        deliveryDelay: {
          delayType: optionalText(o, 'delayType', 'deliveryDelay') ?? 'Undetermined',
          ...(expirationTime ? { expirationTime } : {}),
          recipients: recipients(optionalArray(o, 'delayedRecipients', 'deliveryDelay'), 'deliveryDelay.delayedRecipients'),
        },
      };
    }
    case 'Subscription': {
      const o = requiredObject(value, objectKey, eventType);
      const prefs = isObject(o.newTopicPreferences) ? o.newTopicPreferences : {};
      const topics = optionalArray(prefs, 'topicSubscriptionStatus', 'subscription.newTopicPreferences')
        .filter(isObject)
        .flatMap((t) =>
          typeof t.topicName === 'string' && typeof t.subscriptionStatus === 'string'
            ? [{ topicName: clip(t.topicName), subscriptionStatus: clip(t.subscriptionStatus) }]
            : [],
        );
      const contactList = optionalText(o, 'contactList', 'subscription');
      const source = optionalText(o, 'source', 'subscription');
      return {
        eventType,
        ...base(optionalTime(o, 'timestamp', 'subscription')),
        subscription: {
          ...(contactList ? { contactList } : {}),
          ...(source ? { source } : {}),
          unsubscribeAll: prefs.unsubscribeAll === true,
          topics,
        },
      };
    }
  }
}

function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit <= 0) return true;
  for (const item of Object.values(value)) if (nestedDeeperThan(item, limit - 1)) return true;
  return false;
}

function parseJson(text: string, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    fail(`${what} is not JSON.`);
  }
  if (nestedDeeperThan(value, MAX_FEEDBACK_NESTING)) fail(`${what} is nested more than ${MAX_FEEDBACK_NESTING} levels deep.`);
  return value;
}

/** Unwraps the body's envelope (EventBridge, SNS or none) and parses the SES event inside. */
export function parseFeedbackMessage(value: unknown): FeedbackEvent {
  if (!isObject(value)) fail('The message is not a JSON object.');
  if ('detail' in value || 'detail-type' in value) {
    if (value.source !== 'aws.ses') {
      fail(`The EventBridge event's source is ${JSON.stringify(value.source)?.slice(0, 64)}, not "aws.ses".`);
    }
    if (!isObject(value.detail)) fail("The EventBridge event's detail is not an object.");
    const id = typeof value.id === 'string' ? value.id : undefined;
    const time = typeof value.time === 'string' && !Number.isNaN(Date.parse(value.time))
      ? new Date(value.time).toISOString()
      : undefined;
    return parseSesEvent(value.detail, { ...(id ? { id } : {}), ...(time ? { time } : {}) });
  }
  if (value.Type === 'Notification' && typeof value.Message === 'string') {
    return parseSesEvent(parseJson(value.Message, 'The SNS Message'));
  }
  if ('eventType' in value || 'notificationType' in value) return parseSesEvent(value);
  fail('The message is neither an EventBridge event from aws.ses, an SNS notification nor an SES event.');
}

/** Parses one SQS record body; never throws. */
export function parseFeedbackBody(body: unknown): ParseResult {
  try {
    if (typeof body !== 'string' || body.length === 0) fail('The message body is empty.');
    if (body.length > MAX_FEEDBACK_BODY_CHARS) fail(`The message body is larger than ${MAX_FEEDBACK_BODY_CHARS} characters.`);
    return { ok: true, event: parseFeedbackMessage(parseJson(body, 'The message body')) };
  } catch (error) {
    if (error instanceof FeedbackEventError) return { ok: false, error };
    // Anything else is a bug in this parser; report it as malformed input rather than crash the batch.
    return { ok: false, error: new FeedbackEventError(`Unreadable event: ${String(error).slice(0, 200)}`) };
  }
}
