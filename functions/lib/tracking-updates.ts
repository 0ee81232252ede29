import { BatchGetCommand, GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { conditionalWrite, isConditionalCheckFailure } from './dynamo-errors.js';
import { emailIdFromTags } from '../core/message-tags.js';
import { statusRank } from '../core/status-priority.js';
import { applyDecision, decideFeedback, writesNothing, type FeedbackDecision, type FeedbackRecordState } from '../core/feedback-rules.js';
import type { FeedbackEvent } from '../core/feedback-event.js';
import type { TrackingRecord } from '../core/types.js';

/**
 * Applying SES feedback to tracking records.
 *
 * Each event is read → decide → conditional write. The write carries two conditions:
 * - `statusRank < :rank` on every status change, so the table itself refuses to lower a
 *   status, whoever else writes the record (the sender's own update to `sent` included);
 * - `feedbackVersion = :read` (optimistic lock), so a decision is only written against the
 *   record it was computed from. Two processors racing on one record: one wins, the other
 *   re-reads and decides again (it then sees the first one's facts, so nothing counts twice).
 *
 * Feedback writes SET named attributes only (never a whole-item put), so they do not
 * clobber the sender's attributes.
 */

export const MESSAGE_ID_INDEX = 'ses-message-id-index';
const MAX_ATTEMPTS = 8;

/** A tracking record as the feedback path reads it. */
export type StoredRecord = FeedbackRecordState &
  Partial<Omit<TrackingRecord, keyof FeedbackRecordState>> & {
    feedbackVersion?: number;
  };

export type FeedbackOutcome = 'updated' | 'unchanged' | 'duplicate' | 'unknown-record';

export interface FeedbackApplyResult {
  outcome: FeedbackOutcome;
  decision: FeedbackDecision;
  /** How the record was found. */
  lookup?: 'tag' | 'message-id';
  emailId?: string;
  before?: StoredRecord;
  after?: StoredRecord;
  /** Conditional writes that lost a race and were retried. */
  conflicts: number;
}

export async function getRecord(
  ddb: DynamoDBDocumentClient,
  table: string,
  emailId: string,
): Promise<StoredRecord | undefined> {
  const out = await ddb.send(new GetCommand({ TableName: table, Key: { emailId }, ConsistentRead: true }));
  return out.Item as StoredRecord | undefined;
}

/**
 * Records read ahead for a batch of events: emailId → the record as read, or null when the
 * read found none. An emailId that is not in the map was not read (the caller reads it).
 */
export type ReadAhead = Map<string, StoredRecord | null>;

/** BatchGetItem takes at most this many keys. */
const BATCH_GET_KEYS = 100;

/**
 * Reads many records in one consistent BatchGetItem (per 100 keys), instead of a GetItem
 * per event. Keys DynamoDB leaves unprocessed are left out of the map, so their events read
 * their record themselves; nothing is retried here.
 */
export async function readAhead(ddb: DynamoDBDocumentClient, table: string, emailIds: readonly string[]): Promise<ReadAhead> {
  const found: ReadAhead = new Map();
  const unique = [...new Set(emailIds)];
  for (let i = 0; i < unique.length; i += BATCH_GET_KEYS) {
    const ids = unique.slice(i, i + BATCH_GET_KEYS);
    const out = await ddb.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: ids.map((emailId) => ({ emailId })), ConsistentRead: true } } }),
    );
    const unprocessed = new Set(
      ((out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[]).map((key) => key.emailId),
    );
    for (const id of ids) if (!unprocessed.has(id)) found.set(id, null);
    for (const item of out.Responses?.[table] ?? []) found.set(item.emailId as string, item as StoredRecord);
  }
  return found;
}

/** emailIds of records sent as this SES message (normally one). */
export async function emailIdsForMessage(
  ddb: DynamoDBDocumentClient,
  table: string,
  sesMessageId: string,
): Promise<string[]> {
  const out = await ddb.send(
    new QueryCommand({
      TableName: table,
      IndexName: MESSAGE_ID_INDEX,
      KeyConditionExpression: '#m = :m',
      ExpressionAttributeNames: { '#m': 'sesMessageId' },
      ExpressionAttributeValues: { ':m': sesMessageId },
      Limit: 5,
    }),
  );
  return (out.Items ?? []).map((item) => item.emailId).filter((id): id is string => typeof id === 'string');
}

/**
 * Finds the event's record: by the emailId message tag the sender set, else (events
 * without the tag, or a tag naming no record) by the SES message id through the index.
 */
export async function findRecord(
  ddb: DynamoDBDocumentClient,
  table: string,
  event: FeedbackEvent,
  ahead?: ReadAhead,
): Promise<{ record: StoredRecord; lookup: 'tag' | 'message-id' } | undefined> {
  const tagged = emailIdFromTags(event.mail.tags);
  if (tagged !== undefined) {
    const record = ahead?.has(tagged) ? (ahead.get(tagged) ?? undefined) : await getRecord(ddb, table, tagged);
    if (record) return { record, lookup: 'tag' };
  }
  for (const emailId of await emailIdsForMessage(ddb, table, event.mail.messageId)) {
    if (emailId === tagged) continue;
    const record = await getRecord(ddb, table, emailId);
    if (record && record.sesMessageId === event.mail.messageId) return { record, lookup: 'message-id' };
  }
  return undefined;
}

/** The conditional UpdateItem that writes `decision` over the record version it was read at. */
export function feedbackUpdate(
  table: string,
  emailId: string,
  decision: FeedbackDecision,
  readVersion: number | undefined,
): UpdateCommandInput {
  const names: Record<string, string> = { '#id': 'emailId', '#fv': 'feedbackVersion' };
  const values: Record<string, unknown> = { ':fvNext': (readVersion ?? 0) + 1 };
  const sets = ['#fv = :fvNext'];
  const conditions = ['attribute_exists(#id)'];
  if (readVersion === undefined) {
    conditions.push('attribute_not_exists(#fv)');
  } else {
    conditions.push('#fv = :fv');
    values[':fv'] = readVersion;
  }
  Object.entries(decision.set).forEach(([name, value], i) => {
    if (value === undefined) return;
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    sets.push(`#a${i} = :a${i}`);
  });
  if (decision.statusChange) {
    const rank = statusRank(decision.statusChange.to);
    names['#status'] = 'status';
    names['#rank'] = 'statusRank';
    values[':status'] = decision.statusChange.to;
    values[':rank'] = rank;
    sets.push('#status = :status', '#rank = :rank');
    // The database enforces priority: a record already at this rank or higher is left alone.
    conditions.push('(attribute_not_exists(#rank) OR #rank < :rank)');
  }
  return {
    TableName: table,
    Key: { emailId },
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/**
 * Applies one SES event to its tracking record. Returns the decision taken (for
 * suppression, streaks, retries, counters and notifications) and the record before/after.
 * Throws only on DynamoDB errors (the caller returns the message to the queue).
 *
 * `ahead` may hold the record read earlier in the batch (readAhead): the decision is then
 * taken on that read. It may be stale by the time of the write, as any read may; the write's
 * conditions (feedbackVersion, statusRank) refuse it then, and the record is read again.
 */
export async function applyFeedback(
  ddb: DynamoDBDocumentClient,
  table: string,
  event: FeedbackEvent,
  now: Date,
  ahead?: ReadAhead,
): Promise<FeedbackApplyResult> {
  let found = await findRecord(ddb, table, event, ahead);
  let conflicts = 0;
  for (let attempt = 1; found !== undefined; attempt++) {
    const before = found.record;
    const decision = decideFeedback(event, before, now);
    const base = { decision, lookup: found.lookup, emailId: before.emailId, before, conflicts };
    if (writesNothing(decision)) {
      return { ...base, outcome: decision.duplicate ? 'duplicate' : 'unchanged', after: before };
    }
    try {
      await ddb.send(new UpdateCommand(feedbackUpdate(table, before.emailId, decision, before.feedbackVersion)));
      const after = { ...applyDecision(before, decision), feedbackVersion: (before.feedbackVersion ?? 0) + 1 };
      if (decision.statusChange) after.statusRank = statusRank(decision.statusChange.to);
      return { ...base, outcome: 'updated', after };
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      conflicts += 1;
      if (attempt >= MAX_ATTEMPTS) {
        throw new Error(`Feedback for ${before.emailId} lost ${MAX_ATTEMPTS} write races in a row; returning it to the queue.`, {
          cause: error,
        });
      }
      const record = await getRecord(ddb, table, before.emailId);
      found = record ? { record, lookup: found.lookup } : undefined;
    }
  }
  return { outcome: 'unknown-record', decision: decideFeedback(event, undefined, now), conflicts };
}

/** After this long a retry claim whose holder never queued the retry may be taken over. */
export const RETRY_CLAIM_STALE_MS = 15 * 60 * 1000;

/**
 * Claims the right to queue the record's retry. `holder` is the SQS message id of the
 * bounce being processed: a redelivery of that same message (after a crash or a failed
 * SendMessage) holds the claim again, while another copy of the bounce finds it taken
 * and leaves the retry to the holder. Returns false when the retry is queued or claimed.
 */
export async function claimRetry(
  ddb: DynamoDBDocumentClient,
  table: string,
  emailId: string,
  holder: string,
  now: Date,
): Promise<boolean> {
  return conditionalWrite(
    ddb.send(
      new UpdateCommand({
        TableName: table,
        Key: { emailId },
        UpdateExpression: 'SET #holder = :holder, #claimedAt = :now',
        ConditionExpression:
          'attribute_exists(#id) AND attribute_not_exists(#queued) AND ' +
          '(attribute_not_exists(#holder) OR #holder = :holder OR #claimedAt < :stale)',
        ExpressionAttributeNames: {
          '#id': 'emailId',
          '#queued': 'retryEnqueuedAt',
          '#holder': 'retryClaimHolder',
          '#claimedAt': 'retryClaimedAt',
        },
        ExpressionAttributeValues: {
          ':holder': holder,
          ':now': now.toISOString(),
          ':stale': new Date(now.getTime() - RETRY_CLAIM_STALE_MS).toISOString(),
        },
      }),
    ),
  );
}

/** Notes on the record that its soft-bounce retry is on the send queue. */
export async function markRetryEnqueued(
  ddb: DynamoDBDocumentClient,
  table: string,
  emailId: string,
  retryEmailId: string,
  at: Date,
): Promise<void> {
  await ddb.send(
    new UpdateCommand({
      TableName: table,
      Key: { emailId },
      UpdateExpression: 'SET #q = :at, #r = if_not_exists(#r, :r)',
      ConditionExpression: 'attribute_exists(#id)',
      ExpressionAttributeNames: { '#q': 'retryEnqueuedAt', '#r': 'retryEmailId', '#id': 'emailId' },
      ExpressionAttributeValues: { ':at': at.toISOString(), ':r': retryEmailId },
    }),
  );
}
