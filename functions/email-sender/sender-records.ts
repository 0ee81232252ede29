import type { SQSRecord } from 'aws-lambda';
import type { BrakeDecision } from '../core/bounce-brake.js';
import { suppressionKeys } from '../core/email-address.js';
import type { ErrorCode } from '../core/error-codes.js';
import type { Outcome } from '../core/outcome.js';
import { MISSING_VALUE, parseSendRequest, type InvalidRequest, type ParsedRequest, type ValidRequest } from '../core/request-validation.js';
import type { DeferralReason } from '../core/send-pacing.js';
import type { CompiledTemplate } from '../core/template-render.js';
import type { SuppressionEntry } from '../core/types.js';
import type { AwsClients } from '../lib/clients.js';
import type { Env } from '../lib/env.js';
import type { TemplateStore } from '../lib/template-store.js';
import type { ClaimToken, NewRecordFields } from '../lib/tracking-store.js';
import type { Semaphore } from './batch-pacer.js';
import type { EmailSenderConfig } from './config.js';
import { ORIGINAL_MESSAGE_ID_ATTRIBUTE } from './limits.js';

/** What the Email Sender works with: one container's runtime, one batch's context, one record's outcome. */

export type RecordOutcome =
  | { kind: 'sent'; emailId: string; sesMessageId: string }
  | { kind: 'failed'; emailId: string; code: ErrorCode; message: string }
  | { kind: 'duplicate'; emailId: string }
  | { kind: 'scheduled'; emailId: string; scheduledFor: string; via: string }
  | { kind: 'returned'; emailId: string; reason: string }
  | { kind: 'deferred'; emailId: string; reason: DeferralReason; detail: string };

export interface Runtime {
  config: EmailSenderConfig;
  clients: Pick<AwsClients, 'ddb' | 's3' | 'ses'>;
  templates: TemplateStore<Outcome<CompiledTemplate>>;
  env: Env;
}

export interface BatchContext {
  now: Date;
  suppressed: Promise<Map<string, SuppressionEntry>>;
  brake: () => Promise<BrakeDecision>;
  /** Set once SES throttles (or the daily quota holds): the rest of the batch is deferred unsent. */
  deferral: DeferralReason | undefined;
  sesSlots: Semaphore;
  /** A send slot under the rate in force: false when none came within the batch's budget. */
  pace: () => Promise<boolean>;
}

/** The record goes back on the send queue with a delay (SES throttling, pacing, the daily quota). */
export class Deferred extends Error {
  constructor(
    readonly reason: DeferralReason,
    message: string,
  ) {
    super(message);
  }
}

/** The record is returned to the queue as a batch item failure. */
export class Returned extends Error {}

/** How far one record got, so an unforeseen error can be judged: never ENG001 once SES may have the message. */
export interface Progress {
  fields?: NewRecordFields;
  claim?: ClaimToken;
  sesCalled: boolean;
}

/** A record whose body the parser could not even judge (it threw). */
export type Parsed = ParsedRequest | { ok: 'crashed'; error: unknown; emailId: string };

export function emailIdOf(parsed: Parsed): string {
  if (parsed.ok === 'crashed') return parsed.emailId;
  return parsed.ok ? parsed.request.emailId : parsed.failure.emailId;
}

export function attributeOf(record: SQSRecord, name: string): string | undefined {
  const value = record.messageAttributes?.[name]?.stringValue;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** SQS's ApproximateReceiveCount (1 when absent or unreadable). */
export function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(count) && count > 0 ? count : 1;
}

export function keysOrNone(request: ValidRequest): string[] {
  try {
    return suppressionKeys(request.to);
  } catch {
    return [];
  }
}

/** One record's request; a parser that throws fails that record only, never its batch. */
export function parseRecord(record: SQSRecord, now: Date): Parsed {
  try {
    // A deferred copy keeps the first message's id, the emailId of a request without an event id.
    return parseSendRequest(record.body ?? '', attributeOf(record, ORIGINAL_MESSAGE_ID_ATTRIBUTE) ?? record.messageId, now);
  } catch (error) {
    return { ok: 'crashed', error, emailId: `email-${typeof record.messageId === 'string' ? record.messageId : 'unknown'}` };
  }
}

export function invalidFields(failure: InvalidRequest): NewRecordFields {
  return {
    emailId: failure.emailId,
    originalEmailId: failure.originalEmailId,
    retryAttempt: failure.retryAttempt,
    toEmail: failure.toEmail,
    templateName: failure.templateName,
    originalSource: failure.source,
    ...(failure.subject !== undefined ? { subject: failure.subject } : {}),
    ...(failure.metadata !== undefined ? { metadata: failure.metadata } : {}),
  };
}

export function crashedFields(parsed: { emailId: string }): NewRecordFields {
  return { emailId: parsed.emailId, originalEmailId: parsed.emailId, retryAttempt: 0, toEmail: MISSING_VALUE, templateName: MISSING_VALUE, originalSource: MISSING_VALUE };
}

export function requestFields(request: ValidRequest): NewRecordFields {
  return {
    emailId: request.emailId,
    originalEmailId: request.originalEmailId,
    retryAttempt: request.retryAttempt,
    toEmail: request.to.normalized,
    templateName: request.templateName,
    originalSource: request.source,
    ...(request.subject !== undefined ? { subject: request.subject } : {}),
    ...(request.metadata !== undefined ? { metadata: request.metadata } : {}),
    request: request.stored,
    ...(request.sendAt !== undefined ? { scheduledFor: request.sendAt } : {}),
  };
}

/** The fields of an unforeseen error's tracking record, from whatever the record got to. */
export function fieldsOf(parsed: Parsed, progress: Progress): NewRecordFields {
  return progress.fields ?? (parsed.ok === true ? requestFields(parsed.request) : parsed.ok === false ? invalidFields(parsed.failure) : crashedFields(parsed));
}
