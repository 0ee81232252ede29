import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { datePartition, expiresAfterDays } from '../core/dates.js';
import type { ErrorCode } from '../core/error-codes.js';
import type { StoredRequest } from '../core/request-validation.js';
import { statusRank } from '../core/status-priority.js';
import { wellFormed } from '../core/unicode.js';
import { storable } from '../core/stored-value.js';

export { storable };
import type { RecordStatus, SendHistoryEntry, TrackingRecord } from '../core/types.js';
import { conditionalWrite } from './dynamo-errors.js';
import { marshallSafeItem } from './marshall-safe.js';

/**
 * The Email Sender's writes to the tracking table. Every write is conditional, so that
 * exactly one record exists per emailId and a later step never undoes an earlier one:
 *
 *   claim      PutItem `sending` if no record exists          (before the SES call)
 *   markSent   `sending` → `sent`; if feedback already raised the status, only add
 *              sesMessageId/sentAt
 *   markFailed `sending` → `failed` (permanent SES error, or a claim found stale)
 *   reclaim    a `sending` claim an interrupted attempt left → the next attempt's claim
 *              (sendAttempts + 1, a sendHistory entry), when no Send event came in the window
 *   putFailed  a new `failed` record if none exists (failures before the claim)
 *   releaseClaim  delete a `sending` claim (SES clearly refused: the message is retried)
 *
 * A claim is identified by its `timestamp` and its attempt number (`sendAttempts`, absent
 * on claims written before attempts were counted, which are attempt 1): markFailed,
 * releaseClaim and reclaim act only on the very claim the caller holds.
 *   putScheduled  a new `scheduled` record if none exists (a request held until sendAt)
 *   failScheduled `scheduled` → `failed` (cancelled, or it could not be held)
 *
 * A request that comes back due replaces its own `scheduled` record: claim and putFailed
 * accept, besides no record, a `scheduled` one whose scheduledFor is the request's sendAt.
 */

/** A tracking record as the sender writes it: retryAttempt-0 records keep the request for a soft-bounce retry. */
export type SenderTrackingRecord = TrackingRecord & { request?: StoredRequest };

/** The claim a sender holds: the record's `timestamp` and the attempt number. */
export interface ClaimToken {
  claimedAt: string;
  attempt: number;
}

/** The claim an existing `sending` record stands for. */
export function claimTokenOf(record: SenderTrackingRecord): ClaimToken {
  return { claimedAt: record.timestamp, attempt: record.sendAttempts ?? 1 };
}

/** When the record's latest attempt claimed it. */
export function lastAttemptAt(record: SenderTrackingRecord): string {
  return record.lastAttemptAt ?? record.timestamp;
}

/** The condition that the record is still the `sending` claim `token` (placeholders #status, #ts, :sending, :claimedAt, :attempt). */
function claimCondition(token: ClaimToken): { expression: string; values: Record<string, unknown> } {
  const attempt = token.attempt === 1 ? '(attribute_not_exists(sendAttempts) OR sendAttempts = :attempt)' : 'sendAttempts = :attempt';
  return {
    expression: `#status = :sending AND #ts = :claimedAt AND ${attempt}`,
    values: { ':sending': 'sending', ':claimedAt': token.claimedAt, ':attempt': token.attempt },
  };
}

export interface NewRecordFields {
  emailId: string;
  originalEmailId: string;
  retryAttempt: number;
  toEmail: string;
  templateName: string;
  originalSource: string;
  subject?: string;
  senderEmail?: string;
  metadata?: Record<string, unknown>;
  request?: StoredRequest;
  /** The request's sendAt (normalised ISO-8601) when it was scheduled. */
  scheduledFor?: string;
}

/** Builds a record in `status` at `now` with its TTL. */
export function buildRecord(
  fields: NewRecordFields,
  status: RecordStatus,
  now: Date,
  retentionDays: number,
  error?: { code: ErrorCode; message: string },
): SenderTrackingRecord {
  const record: SenderTrackingRecord = {
    emailId: fields.emailId,
    originalEmailId: fields.originalEmailId,
    retryAttempt: fields.retryAttempt,
    toEmail: fields.toEmail,
    templateName: fields.templateName,
    status,
    statusRank: statusRank(status),
    originalSource: fields.originalSource,
    timestamp: now.toISOString(),
    datePartition: datePartition(now),
    expiresAt: expiresAfterDays(now, retentionDays),
  };
  if (fields.subject !== undefined) record.subject = fields.subject;
  if (fields.senderEmail !== undefined) record.senderEmail = fields.senderEmail;
  if (fields.metadata !== undefined) record.metadata = storable(fields.metadata);
  if (fields.scheduledFor !== undefined) record.scheduledFor = fields.scheduledFor;
  if (fields.request !== undefined && fields.retryAttempt === 0) record.request = storable(fields.request);
  if (error) {
    record.errorCode = error.code;
    // Messages quote the caller's values; stored text must be well-formed UTF-16.
    record.errorMessage = wellFormed(error.message);
  }
  return record;
}

export async function readRecord(ddb: DynamoDBDocumentClient, table: string, emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await ddb.send(new GetCommand({ TableName: table, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

export type ClaimResult = { claimed: true } | { claimed: false; existing: SenderTrackingRecord | undefined };

/** No record, or (for a record with scheduledFor) the `scheduled` record the request left when it was held. */
function newRecordCondition(record: SenderTrackingRecord): Pick<PutCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
  if (record.scheduledFor === undefined) return { ConditionExpression: 'attribute_not_exists(emailId)' };
  return {
    ConditionExpression: 'attribute_not_exists(emailId) OR (#status = :scheduled AND scheduledFor = :scheduledFor)',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':scheduled': 'scheduled', ':scheduledFor': record.scheduledFor },
  };
}

/**
 * Claims an emailId before sending. When a record already exists, returns it (read
 * consistently) so the caller can tell a finished duplicate from an interrupted claim.
 */
export async function claim(ddb: DynamoDBDocumentClient, table: string, record: SenderTrackingRecord): Promise<ClaimResult> {
  const claimed = await conditionalWrite(ddb.send(new PutCommand({ TableName: table, Item: marshallSafeItem(record), ...newRecordCondition(record) })));
  if (claimed) return { claimed: true };
  return { claimed: false, existing: await readRecord(ddb, table, record.emailId) };
}

export type MarkSentResult = 'sent' | 'already-advanced' | 'missing';

export async function markSent(
  ddb: DynamoDBDocumentClient,
  table: string,
  emailId: string,
  sent: { sesMessageId: string; sentAt: string },
): Promise<MarkSentResult> {
  const marked = await conditionalWrite(
    ddb.send(
      new UpdateCommand({
        TableName: table,
        Key: { emailId },
        UpdateExpression: 'SET #status = :sent, statusRank = :rank, sesMessageId = :mid, sentAt = :at',
        ConditionExpression: 'attribute_exists(emailId) AND statusRank < :rank',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':sent': 'sent', ':rank': statusRank('sent'), ':mid': sent.sesMessageId, ':at': sent.sentAt },
      }),
    ),
  );
  if (marked) return 'sent';
  // Feedback for this message got there first (it finds the record by the emailId tag):
  // keep its status, add what only the sender knows.
  const added = await conditionalWrite(
    ddb.send(
      new UpdateCommand({
        TableName: table,
        Key: { emailId },
        UpdateExpression: 'SET sesMessageId = :mid, sentAt = :at',
        ConditionExpression: 'attribute_exists(emailId)',
        ExpressionAttributeValues: { ':mid': sent.sesMessageId, ':at': sent.sentAt },
      }),
    ),
  );
  return added ? 'already-advanced' : 'missing';
}

/**
 * Turns the `sending` claim `token` into `failed` (a permanent SES error, or a stale claim
 * another attempt left behind). False when the record is no longer that claim.
 */
export async function markFailed(
  ddb: DynamoDBDocumentClient,
  table: string,
  emailId: string,
  token: ClaimToken,
  error: { code: ErrorCode; message: string },
): Promise<boolean> {
  const condition = claimCondition(token);
  return conditionalWrite(
    ddb.send(
      new UpdateCommand({
        TableName: table,
        Key: { emailId },
        UpdateExpression: 'SET #status = :failed, statusRank = :rank, errorCode = :code, errorMessage = :message',
        ConditionExpression: condition.expression,
        ExpressionAttributeNames: { '#status': 'status', '#ts': 'timestamp' },
        ExpressionAttributeValues: {
          ...condition.values,
          ':failed': 'failed',
          ':rank': statusRank('failed'),
          ':code': error.code,
          ':message': wellFormed(error.message),
        },
      }),
    ),
  );
}

/**
 * Takes over the claim `token` that an interrupted attempt left, as attempt `token.attempt + 1`
 * started `at`, with a sendHistory entry saying why. Atomic: of two senders that find the
 * same stale claim, one wins; the other gets false (so does a claim that feedback raised).
 */
export async function reclaim(ddb: DynamoDBDocumentClient, table: string, emailId: string, token: ClaimToken, at: string, note: string): Promise<ClaimToken | undefined> {
  const condition = claimCondition(token);
  const next: ClaimToken = { claimedAt: token.claimedAt, attempt: token.attempt + 1 };
  const entry: SendHistoryEntry = { at, attempt: next.attempt, note };
  const applied = await conditionalWrite(
    ddb.send(
      new UpdateCommand({
        TableName: table,
        Key: { emailId },
        UpdateExpression: 'SET sendAttempts = :next, lastAttemptAt = :at, sendHistory = list_append(if_not_exists(sendHistory, :none), :entry)',
        ConditionExpression: condition.expression,
        ExpressionAttributeNames: { '#status': 'status', '#ts': 'timestamp' },
        ExpressionAttributeValues: { ...condition.values, ':next': next.attempt, ':at': at, ':none': [], ':entry': [entry] },
      }),
    ),
  );
  return applied ? next : undefined;
}

/** Writes a `failed` record unless one exists for the emailId (an existing record wins, except the request's own `scheduled` one). */
export async function putFailed(ddb: DynamoDBDocumentClient, table: string, record: SenderTrackingRecord): Promise<boolean> {
  return conditionalWrite(ddb.send(new PutCommand({ TableName: table, Item: marshallSafeItem(record), ...newRecordCondition(record) })));
}

/** Deletes the claim `token` so a retry of the message can claim again. False when it is no longer that claim. */
export async function releaseClaim(ddb: DynamoDBDocumentClient, table: string, emailId: string, token: ClaimToken): Promise<boolean> {
  const condition = claimCondition(token);
  return conditionalWrite(
    ddb.send(
      new DeleteCommand({
        TableName: table,
        Key: { emailId },
        ConditionExpression: condition.expression,
        ExpressionAttributeNames: { '#status': 'status', '#ts': 'timestamp' },
        ExpressionAttributeValues: condition.values,
      }),
    ),
  );
}

export type PutScheduledResult = { written: true } | { written: false; existing: SenderTrackingRecord | undefined };

/** Writes the `scheduled` record of a request held until sendAt, unless a record exists (returned, read consistently). */
export async function putScheduled(ddb: DynamoDBDocumentClient, table: string, record: SenderTrackingRecord): Promise<PutScheduledResult> {
  const written = await conditionalWrite(ddb.send(new PutCommand({ TableName: table, Item: marshallSafeItem(record), ConditionExpression: 'attribute_not_exists(emailId)' })));
  if (written) return { written: true };
  return { written: false, existing: await readRecord(ddb, table, record.emailId) };
}

/**
 * Turns a `scheduled` record into `failed` with `error` (SCH001 when cancelled). False when
 * the record is not (or no longer) scheduled: it came due and was claimed, or is gone.
 */
export async function failScheduled(
  ddb: DynamoDBDocumentClient,
  table: string,
  emailId: string,
  error: { code: ErrorCode; message: string },
): Promise<boolean> {
  return conditionalWrite(
    ddb.send(
      new UpdateCommand({
        TableName: table,
        Key: { emailId },
        UpdateExpression: 'SET #status = :failed, statusRank = :rank, errorCode = :code, errorMessage = :message',
        ConditionExpression: '#status = :scheduled',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':failed': 'failed',
          ':scheduled': 'scheduled',
          ':rank': statusRank('failed'),
          ':code': error.code,
          ':message': wellFormed(error.message),
        },
      }),
    ),
  );
}
