import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SuppressionEntry, SuppressionType, TrackingRecord } from '../../functions/core/types.js';
import { parseEmailAddress } from '../../functions/core/email-address.js';
import { suppressionFromItem } from '../../functions/lib/suppression-store.js';

/**
 * Reads of the tracking and suppression tables for the operating commands. Every read is
 * a GetItem or a Query on an index the stack defines; nothing scans a table.
 */

/** A tracking record as read back (the sender also keeps the request on first attempts). */
export type StoredRecord = TrackingRecord & { request?: Record<string, unknown> };

export const SUPPRESSION_TYPES: readonly SuppressionType[] = ['bounce', 'complaint', 'unsubscribe', 'manual'];

/** The key under which the engine files an address (lower-case, ASCII domain). */
export function addressKey(address: string): string {
  const parsed = parseEmailAddress(address.trim());
  return parsed.ok ? parsed.value.normalized : address.trim().toLowerCase();
}

async function queryAll<T>(
  ddb: DynamoDBDocumentClient,
  input: ConstructorParameters<typeof QueryCommand>[0],
  limit: number,
): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ddb.send(
      new QueryCommand({ ...input, Limit: Math.min(100, limit - items.length), ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...((out.Items ?? []) as T[]));
    start = out.LastEvaluatedKey;
  } while (start && items.length < limit);
  return items.slice(0, limit);
}

/** Every attempt of one email (the first and its retries), oldest first. */
export async function retryChain(ddb: DynamoDBDocumentClient, table: string, originalEmailId: string): Promise<StoredRecord[]> {
  const items = await queryAll<StoredRecord>(
    ddb,
    {
      TableName: table,
      IndexName: 'original-email-id-index',
      KeyConditionExpression: 'originalEmailId = :o',
      ExpressionAttributeValues: { ':o': originalEmailId },
    },
    50,
  );
  return items.sort((a, b) => (a.retryAttempt ?? 0) - (b.retryAttempt ?? 0) || a.timestamp.localeCompare(b.timestamp));
}

/** The newest `limit` records sent to an address. */
export async function recordsTo(ddb: DynamoDBDocumentClient, table: string, address: string, limit: number): Promise<StoredRecord[]> {
  return queryAll<StoredRecord>(
    ddb,
    {
      TableName: table,
      IndexName: 'to-email-timestamp-index',
      KeyConditionExpression: 'toEmail = :to',
      ExpressionAttributeValues: { ':to': addressKey(address) },
      ScanIndexForward: false,
    },
    limit,
  );
}

/**
 * The newest `limit` suppressions of the given types: one Query per type on
 * suppression-type-date-index (newest first), merged by date.
 */
export async function listSuppressions(
  ddb: DynamoDBDocumentClient,
  table: string,
  types: readonly SuppressionType[],
  limit: number,
  since?: string,
): Promise<SuppressionEntry[]> {
  const perType = await Promise.all(
    types.map((type) =>
      queryAll<Record<string, unknown>>(
        ddb,
        {
          TableName: table,
          IndexName: 'suppression-type-date-index',
          KeyConditionExpression: since ? 'suppressionType = :t AND addedToSuppressionDate >= :since' : 'suppressionType = :t',
          ExpressionAttributeValues: { ':t': type, ...(since ? { ':since': since } : {}) },
          ScanIndexForward: false,
        },
        limit,
      ),
    ),
  );
  return perType
    .flat()
    .map(suppressionFromItem)
    .sort((a, b) => b.addedToSuppressionDate!.localeCompare(a.addedToSuppressionDate!))
    .slice(0, limit);
}
