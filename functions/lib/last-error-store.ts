import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Why the Email Sender last returned a send-queue message, kept in the counters table under
 * `lastError#<SQS messageId>` (SQS keeps the messageId when it moves a message to the DLQ,
 * and a redrive cannot add attributes). `dlq list` and `diagnose` read it, so a dead letter
 * shows its own last error instead of a guess. Written only from the receive on which
 * unforeseen errors may become ENG001 (the third), in one BatchWriteItem per batch: a
 * message returned once or twice (ordinary throttling) costs nothing extra.
 */

/** The send DLQ keeps messages 14 days (SQS's maximum); so does this note. */
export const LAST_ERROR_RETENTION_DAYS = 14;
const MAX_REASON = 1000;
const BATCH_WRITE_LIMIT = 25;
const BATCH_GET_LIMIT = 100;

export interface LastError {
  messageId: string;
  emailId?: string;
  reason: string;
  receiveCount: number;
  /** ISO-8601. */
  at: string;
}

export function lastErrorKey(messageId: string): string {
  return `lastError#${messageId}`;
}

export async function writeLastErrors(ddb: DynamoDBDocumentClient, table: string, errors: LastError[], now: Date): Promise<void> {
  const expiresAt = Math.floor(now.getTime() / 1000) + LAST_ERROR_RETENTION_DAYS * 86_400;
  for (let i = 0; i < errors.length; i += BATCH_WRITE_LIMIT) {
    const items = errors.slice(i, i + BATCH_WRITE_LIMIT).map((error) => ({
      PutRequest: {
        Item: {
          pk: lastErrorKey(error.messageId),
          messageId: error.messageId,
          ...(error.emailId !== undefined ? { emailId: error.emailId } : {}),
          reason: error.reason.slice(0, MAX_REASON),
          receiveCount: error.receiveCount,
          at: error.at,
          expiresAt,
        },
      },
    }));
    // Best effort: an unprocessed item only loses a note, never an email.
    await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: items } }));
  }
}

export async function readLastErrors(ddb: DynamoDBDocumentClient, table: string, messageIds: string[]): Promise<Map<string, LastError>> {
  const found = new Map<string, LastError>();
  const ids = [...new Set(messageIds)];
  for (let i = 0; i < ids.length; i += BATCH_GET_LIMIT) {
    const out = await ddb.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: ids.slice(i, i + BATCH_GET_LIMIT).map((id) => ({ pk: lastErrorKey(id) })) } } }));
    for (const item of out.Responses?.[table] ?? []) {
      if (typeof item.messageId !== 'string' || typeof item.reason !== 'string') continue;
      found.set(item.messageId, {
        messageId: item.messageId,
        ...(typeof item.emailId === 'string' ? { emailId: item.emailId } : {}),
        reason: item.reason,
        receiveCount: typeof item.receiveCount === 'number' ? item.receiveCount : 0,
        at: typeof item.at === 'string' ? item.at : '',
      });
    }
  }
  return found;
}
