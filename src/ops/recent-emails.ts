import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from '../../functions/lib/batch-get.js';
import type { StoredRecord } from './records.js';

/**
 * The newest tracking records, read without a scan: date-partition-index (datePartition =
 * the UTC day the record was created, sorted by its timestamp; keys only) is queried newest
 * first for today, then for the days before until `limit` keys are found or `days` days
 * are read; the records themselves come from BatchGetItem. The list is therefore "the
 * newest emails created in the last `days` UTC days", whatever their status now.
 */

/** What a list row shows of a record (the rest is in its diagnosis). */
export interface RecentEmail {
  emailId: string;
  toEmail: string;
  templateName: string;
  status: string;
  errorCode?: string;
  timestamp: string;
  retryAttempt?: number;
}

export function recentRow(record: StoredRecord): RecentEmail {
  return {
    emailId: record.emailId,
    toEmail: record.toEmail,
    templateName: record.templateName,
    status: record.status,
    ...(record.errorCode ? { errorCode: record.errorCode } : {}),
    timestamp: record.timestamp,
    ...(record.retryAttempt ? { retryAttempt: record.retryAttempt } : {}),
  };
}

/** The UTC days ending with `now`'s, newest first. */
export function daysBack(now: Date, days: number): string[] {
  return Array.from({ length: days }, (_, i) => new Date(now.getTime() - i * 86_400_000).toISOString().slice(0, 10));
}

export async function recentEmails(ddb: DynamoDBDocumentClient, table: string, now: Date, limit: number, days = 2): Promise<RecentEmail[]> {
  const keys: { emailId: string; timestamp: string }[] = [];
  for (const day of daysBack(now, days)) {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await ddb.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'date-partition-index',
          KeyConditionExpression: 'datePartition = :d',
          ExpressionAttributeValues: { ':d': day },
          ScanIndexForward: false,
          Limit: limit - keys.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) keys.push({ emailId: String(item.emailId), timestamp: String(item.timestamp) });
      start = out.LastEvaluatedKey;
    } while (start && keys.length < limit);
    if (keys.length >= limit) break;
  }
  const records: StoredRecord[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    const items = await batchGetAll(ddb, table, keys.slice(i, i + 100).map((k) => ({ emailId: k.emailId })), { what: 'Recent tracking records' });
    records.push(...(items as unknown as StoredRecord[]));
  }
  // BatchGetItem answers in no particular order; a record may have expired (TTL) meanwhile.
  return records.sort((a, b) => b.timestamp.localeCompare(a.timestamp) || b.emailId.localeCompare(a.emailId)).map(recentRow);
}
