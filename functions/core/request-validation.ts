import { parseAttachments, storedAttachments, type AttachmentSpec } from './attachments.js';
import { hasControlChars, parseEmailAddress, type EmailAddress } from './email-address.js';
import { EMAIL_ID_MAX_LENGTH, isValidEmailId } from './email-id.js';
import type { ErrorCode } from './error-codes.js';
import { MAX_SEND_AHEAD_DAYS, MAX_SEND_AHEAD_MS, parseSendAt } from './scheduling.js';
import type { EmailRequest } from './types.js';
import { hasLoneSurrogate, wellFormed } from './unicode.js';
import { storable } from './stored-value.js';

/**
 * Step 1 of sending: turn one send-queue message body (an EventBridge event) into a
 * validated request, or into a failure that still names the emailId to track it under.
 *
 * Optional fields given as `null` count as absent (many JSON encoders write None/nil as
 * null). Unknown fields are ignored so publishers can be newer than the engine.
 */

export const REQUEST_LIMITS = {
  emailIdLength: EMAIL_ID_MAX_LENGTH,
  templateNameLength: 64,
  subjectLength: 998,
  senderNameLength: 256,
  templateDataBytes: 128 * 1024,
  metadataBytes: 8 * 1024,
  maxRetryAttempt: 10,
  /** Nesting of templateData and metadata (the tracking record must stay within DynamoDB's 32 levels). */
  maxDepth: 16,
} as const;

export const REQUEST_DETAIL_TYPE = 'Email Request';
export const RETRY_DETAIL_TYPE = 'Email Retry';
export const ENGINE_SOURCE = 'sesmailengine';

export { TEMPLATE_NAME_PATTERN } from './template-name.js';
import { TEMPLATE_NAME_PATTERN } from './template-name.js';

/** The fields a soft-bounce retry re-publishes (kept on retryAttempt-0 tracking records; a retry is never scheduled). */
export type StoredRequest = Omit<EmailRequest, 'emailId' | 'sendAt'>;

export interface ValidRequest {
  emailId: string;
  originalEmailId: string;
  retryAttempt: number;
  /** The event's `source`, kept as the record's originalSource. */
  source: string;
  to: EmailAddress;
  templateName: string;
  templateData: Record<string, unknown>;
  subject?: string;
  senderOverride?: { address: EmailAddress; name?: string };
  replyTo?: EmailAddress;
  metadata?: Record<string, unknown>;
  unsubscribe?: boolean;
  /** Files to attach (empty when the request lists none). */
  attachments: AttachmentSpec[];
  /** When to send (ISO-8601 in UTC, normalised from the request's sendAt); absent: now. */
  sendAt?: string;
  /** The request as the publisher wrote it (validated), for the retry path. */
  stored: StoredRequest;
}

/** What is known about a request that failed validation: enough to write its failed record. */
export interface InvalidRequest {
  code: ErrorCode;
  message: string;
  emailId: string;
  originalEmailId: string;
  retryAttempt: number;
  source: string;
  toEmail: string;
  templateName: string;
  subject?: string;
  metadata?: Record<string, unknown>;
}

export type ParsedRequest = { ok: true; request: ValidRequest } | { ok: false; failure: InvalidRequest };

/** Placeholder stored in a failed record when the request gave no usable value. */
export const MISSING_VALUE = '(missing)';
const STORED_TEXT_LIMIT = 320;

type Json = Record<string, unknown>;

class Invalid extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * True when `value` nests more than `limit` levels of objects/arrays. Descends at most
 * `limit + 1` levels: JSON.parse accepts nesting thousands of levels deep that a full
 * recursive walk (or JSON.stringify) would overflow the stack on.
 */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit <= 0) return true;
  for (const item of Object.values(value)) if (nestedDeeperThan(item, limit - 1)) return true;
  return false;
}

/**
 * The path of a key named "__proto__" in a (depth-checked) value, if any. JSON.parse makes it
 * an own key, which the DynamoDB marshaller cannot store (the record write fails every time)
 * and which a consumer merging the value into another object would turn into pollution.
 */
function protoKeyPath(value: unknown, path: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const here = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
    if (key === '__proto__') return here;
    const found = protoKeyPath(item, here);
    if (found) return found;
  }
  return undefined;
}

/**
 * The path of the first key or string value (in a depth-checked value) holding a lone
 * surrogate, if any: broken UTF-16 that no mail body can carry and that DynamoDB, whose
 * strings are UTF-8, may refuse.
 */
function loneSurrogatePath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return hasLoneSurrogate(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const here = Array.isArray(value) ? `${path}[${key}]` : `${path}.${wellFormed(key)}`;
    if (hasLoneSurrogate(key)) return `${here} (the key)`;
    const found = loneSurrogatePath(item, here);
    if (found) return found;
  }
  return undefined;
}

/** Plain metadata a failed record may keep: small, shallow, storable. */
function keepableMetadata(value: unknown): value is Json {
  return (
    isPlainObject(value) &&
    !nestedDeeperThan(value, REQUEST_LIMITS.maxDepth) &&
    storedBytes(value) <= REQUEST_LIMITS.metadataBytes &&
    protoKeyPath(value, 'metadata') === undefined &&
    loneSurrogatePath(value, 'metadata') === undefined
  );
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * The size of caller data as the tracking record keeps it (numbers DynamoDB cannot hold
 * exactly count as their text), so a soft-bounce retry re-sent from the record fits the
 * limits the request passed.
 */
function storedBytes(value: unknown): number {
  return jsonBytes(storable(value));
}

/** A string safe to store as a record attribute: no controls, no lone surrogates, bounded, never empty. */
function storedText(value: unknown, limit = STORED_TEXT_LIMIT): string {
  if (typeof value !== 'string') return MISSING_VALUE;
  // wellFormed last: cutting at `limit` may split a surrogate pair.
  const cleaned = wellFormed(value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim().slice(0, limit));
  return cleaned === '' ? MISSING_VALUE : cleaned;
}

function optional(detail: Json, field: string): unknown {
  const value = detail[field];
  return value === null ? undefined : value;
}

function requiredString(detail: Json, field: string, label = field): string {
  const value = optional(detail, field);
  if (value === undefined) throw new Invalid('VAL002', `${label} is required.`);
  if (typeof value !== 'string') throw new Invalid('VAL006', `${label} must be a string, got ${describeType(value)}.`);
  if (value.trim() === '') throw new Invalid('VAL002', `${label} is required but empty.`);
  return value;
}

function optionalString(detail: Json, field: string, label = field): string | undefined {
  const value = optional(detail, field);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new Invalid('VAL006', `${label} must be a string, got ${describeType(value)}.`);
  return value;
}

function headerSafe(field: string, value: string): void {
  if (hasControlChars(value)) {
    throw new Invalid('VAL005', `${field} contains a line break, a control character or broken Unicode (a lone surrogate), which is not allowed in a mail header.`);
  }
}

function address(field: string, value: string, code: 'VAL003' | 'VAL009'): EmailAddress {
  headerSafe(field, value);
  const parsed = parseEmailAddress(value);
  if (!parsed.ok) throw new Invalid(code, `${field} "${storedText(value, 100)}" ${parsed.reason}.`);
  return parsed.value;
}

function optionalObject(detail: Json, field: string, maxBytes: number): Json | undefined {
  const value = optional(detail, field);
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new Invalid('VAL006', `${field} must be an object, got ${describeType(value)}.`);
  // Depth first: measuring the size serialises the value, which deep nesting would overflow.
  if (nestedDeeperThan(value, REQUEST_LIMITS.maxDepth)) {
    throw new Invalid('VAL007', `${field} is nested more than ${REQUEST_LIMITS.maxDepth} levels deep.`);
  }
  const bytes = storedBytes(value);
  if (bytes > maxBytes) {
    throw new Invalid('VAL007', `${field} is ${bytes} bytes as JSON; the limit is ${maxBytes} bytes.`);
  }
  const proto = protoKeyPath(value, field);
  if (proto !== undefined) throw new Invalid('VAL006', `${proto} is a key named "__proto__", which is not allowed.`);
  const broken = loneSurrogatePath(value, field);
  if (broken !== undefined) {
    throw new Invalid('VAL012', `${broken} contains broken Unicode (a lone UTF-16 surrogate, such as an unpaired \\uD800 escape); send well-formed text.`);
  }
  return value;
}

interface Envelope {
  source: string;
  detail: Json;
  defaultEmailId: string;
  isRetry: boolean;
}

function readEnvelope(body: string, sqsMessageId: string): Envelope | InvalidRequest {
  const fallbackId = `email-${sqsMessageId}`;
  const invalid = (message: string, source = 'unknown'): InvalidRequest => ({
    code: 'VAL001',
    message,
    emailId: fallbackId,
    originalEmailId: fallbackId,
    retryAttempt: 0,
    source,
    toEmail: MISSING_VALUE,
    templateName: MISSING_VALUE,
  });
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return invalid('The message body is not JSON.');
  }
  if (!isPlainObject(event)) return invalid(`The message body must be a JSON object (an EventBridge event), got ${describeType(event)}.`);
  let source = typeof event.source === 'string' && event.source !== '' ? storedText(event.source, 256) : 'unknown';
  const detailType = event['detail-type'];
  const isRetry = source === ENGINE_SOURCE && detailType === RETRY_DETAIL_TYPE;
  if (isRetry && isPlainObject(event.detail) && typeof event.detail.originalSource === 'string' && event.detail.originalSource !== '') {
    // A retry keeps the publisher's source, so applications filtering status events by it see retries too.
    source = storedText(event.detail.originalSource, 256);
  }
  if (!isRetry && detailType !== REQUEST_DETAIL_TYPE && detailType !== RETRY_DETAIL_TYPE) {
    return invalid(`The event's detail-type must be "${REQUEST_DETAIL_TYPE}", got ${JSON.stringify(storedText(detailType, 100))}.`, source);
  }
  if (!isPlainObject(event.detail)) return invalid(`The event has no detail object (got ${describeType(event.detail)}).`, source);
  const id = event.id;
  const defaultEmailId = typeof id === 'string' && isValidEmailId(`email-${id}`) ? `email-${id}` : fallbackId;
  return { source, detail: event.detail, defaultEmailId, isRetry };
}

interface Identity {
  emailId: string;
  originalEmailId: string;
  retryAttempt: number;
}

/** The caller's emailId, and a retry's original and attempt: set on `identity` as each is found valid. */
function readIdentity(detail: Json, isRetry: boolean, identity: Identity): void {
  const givenId = optional(detail, 'emailId');
  if (givenId !== undefined) {
    if (typeof givenId !== 'string') throw new Invalid('VAL006', `emailId must be a string, got ${describeType(givenId)}.`);
    if (!isValidEmailId(givenId)) {
      throw new Invalid('VAL008', `emailId must be 1-${REQUEST_LIMITS.emailIdLength} characters without control characters.`);
    }
    identity.emailId = givenId;
    identity.originalEmailId = givenId;
  }
  if (isRetry) {
    const original = optional(detail, 'originalEmailId');
    if (typeof original !== 'string' || !isValidEmailId(original)) {
      throw new Invalid('VAL008', 'An Email Retry needs originalEmailId (1-128 characters without control characters).');
    }
    identity.originalEmailId = original;
    const attempt = detail.retryAttempt;
    if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1 || attempt > REQUEST_LIMITS.maxRetryAttempt) {
      throw new Invalid('VAL006', `An Email Retry needs retryAttempt as an integer from 1 to ${REQUEST_LIMITS.maxRetryAttempt}.`);
    }
    identity.retryAttempt = attempt;
  }
}

function readTemplateName(detail: Json): string {
  const templateName = requiredString(detail, 'templateName');
  if (!TEMPLATE_NAME_PATTERN.test(templateName)) {
    throw new Invalid(
      'VAL004',
      `templateName "${storedText(templateName, 100)}" is not a safe identifier: use 1-64 letters, digits, "-" or "_", starting with a letter or digit.`,
    );
  }
  return templateName;
}

/** The subject override; a blank one is no override. */
function readSubject(detail: Json): string | undefined {
  const subject = optionalString(detail, 'subject');
  if (subject === undefined) return undefined;
  headerSafe('subject', subject);
  if (subject.length > REQUEST_LIMITS.subjectLength) {
    throw new Invalid('VAL007', `subject is ${subject.length} characters; the limit is ${REQUEST_LIMITS.subjectLength}.`);
  }
  return subject.trim() === '' ? undefined : subject;
}

function readSenderOverride(detail: Json): ValidRequest['senderOverride'] {
  const overrideRaw = optional(detail, 'senderOverride');
  if (overrideRaw === undefined) return undefined;
  if (!isPlainObject(overrideRaw)) {
    throw new Invalid('VAL006', `senderOverride must be an object {email, name?}, got ${describeType(overrideRaw)}.`);
  }
  const email = requiredString(overrideRaw, 'email', 'senderOverride.email');
  const name = optionalString(overrideRaw, 'name', 'senderOverride.name');
  const parsed = address('senderOverride.email', email, 'VAL009');
  if (name !== undefined) {
    headerSafe('senderOverride.name', name);
    if (name.length > REQUEST_LIMITS.senderNameLength) {
      throw new Invalid('VAL007', `senderOverride.name is longer than ${REQUEST_LIMITS.senderNameLength} characters.`);
    }
  }
  const trimmedName = name?.trim();
  return { address: parsed, ...(trimmedName ? { name: trimmedName } : {}) };
}

function readUnsubscribe(detail: Json): boolean | undefined {
  const unsubscribe = optional(detail, 'unsubscribe');
  if (unsubscribe !== undefined && typeof unsubscribe !== 'boolean') {
    throw new Invalid('VAL006', `unsubscribe must be true or false, got ${describeType(unsubscribe)}.`);
  }
  return unsubscribe;
}

/** sendAt as ISO-8601 UTC, at most MAX_SEND_AHEAD_DAYS after `now`; a retry is never scheduled. */
function readSendAt(detail: Json, isRetry: boolean, now: Date): string | undefined {
  const sendAtRaw = optionalString(detail, 'sendAt');
  if (sendAtRaw === undefined || isRetry) return undefined;
  const parsed = parseSendAt(sendAtRaw);
  if (!parsed.ok) throw new Invalid('VAL010', `sendAt "${storedText(sendAtRaw, 64)}" ${parsed.reason}.`);
  if (parsed.at.getTime() - now.getTime() > MAX_SEND_AHEAD_MS) {
    throw new Invalid('VAL011', `sendAt ${parsed.at.toISOString()} is more than ${MAX_SEND_AHEAD_DAYS} days ahead.`);
  }
  return parsed.at.toISOString();
}

/** The request as kept on its tracking record for a soft-bounce retry. */
function storedRequestOf(toRaw: string, request: Omit<ValidRequest, 'stored'>): StoredRequest {
  const { templateName, templateData, subject, senderOverride, replyTo, metadata, unsubscribe, attachments } = request;
  return {
    to: toRaw.trim(),
    templateName,
    templateData,
    ...(subject !== undefined ? { subject } : {}),
    ...(senderOverride ? { senderOverride: { email: senderOverride.address.address, ...(senderOverride.name ? { name: senderOverride.name } : {}) } } : {}),
    ...(replyTo ? { replyTo: replyTo.address } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
    ...(unsubscribe !== undefined ? { unsubscribe } : {}),
    // Never the inline content: see storedAttachments.
    ...(attachments.length > 0 ? { attachments: storedAttachments(attachments) } : {}),
  };
}

/** Validates one send-queue message body (`now` bounds sendAt). Never throws. */
export function parseSendRequest(body: string, sqsMessageId: string, now: Date = new Date()): ParsedRequest {
  const envelope = readEnvelope(body, sqsMessageId);
  if (!('detail' in envelope)) return { ok: false, failure: envelope };
  const { detail, source, isRetry } = envelope;

  // Identity first, so every later failure is tracked under the caller's emailId.
  const identity: Identity = { emailId: envelope.defaultEmailId, originalEmailId: envelope.defaultEmailId, retryAttempt: 0 };
  const failure = (error: Invalid): ParsedRequest => ({
    ok: false,
    failure: {
      code: error.code,
      message: error.message,
      ...identity,
      source,
      toEmail: typeof detail.to === 'string' ? storedText(detail.to).toLowerCase() : MISSING_VALUE,
      templateName: storedText(detail.templateName, 128),
      ...(typeof detail.subject === 'string' && detail.subject !== '' ? { subject: storedText(detail.subject, 998) } : {}),
      ...(keepableMetadata(detail.metadata) ? { metadata: detail.metadata } : {}),
    },
  });

  try {
    readIdentity(detail, isRetry, identity);
    const toRaw = requiredString(detail, 'to');
    const to = address('to', toRaw, 'VAL003');
    const templateName = readTemplateName(detail);
    const templateData = optionalObject(detail, 'templateData', REQUEST_LIMITS.templateDataBytes) ?? {};
    const subject = readSubject(detail);
    const senderOverride = readSenderOverride(detail);
    const replyToRaw = optionalString(detail, 'replyTo');
    const replyTo = replyToRaw !== undefined && replyToRaw.trim() !== '' ? address('replyTo', replyToRaw, 'VAL009') : undefined;
    const metadata = optionalObject(detail, 'metadata', REQUEST_LIMITS.metadataBytes);
    const unsubscribe = readUnsubscribe(detail);
    const sendAt = readSendAt(detail, isRetry, now);
    const parsedAttachments = parseAttachments(optional(detail, 'attachments'), isRetry);
    if (!parsedAttachments.ok) throw new Invalid(parsedAttachments.code, parsedAttachments.message);
    const attachments = parsedAttachments.value;

    const request: Omit<ValidRequest, 'stored'> = {
      ...identity,
      source,
      to,
      templateName,
      templateData,
      ...(subject !== undefined ? { subject } : {}),
      ...(senderOverride ? { senderOverride } : {}),
      ...(replyTo ? { replyTo } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
      ...(unsubscribe !== undefined ? { unsubscribe } : {}),
      attachments,
      ...(sendAt !== undefined ? { sendAt } : {}),
    };
    return { ok: true, request: { ...request, stored: storedRequestOf(toRaw, request) } };
  } catch (error) {
    if (error instanceof Invalid) return failure(error);
    // Anything unforeseen in the input is still a validation failure, never a crashed batch.
    return failure(new Invalid('VAL001', `The request could not be read: ${(error as Error).message}`));
  }
}
