import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from './batch-get.js';

/**
 * Daily counters, O(1) to read and write whatever the day's volume.
 *
 * One DynamoDB item takes about 1,000 writes/s, so each day's counters are spread over
 * COUNTER_SHARDS items (`day#YYYY-MM-DD#NN`); writers add to a random shard (one write per
 * batch, not per email) and readers fetch all shards in one BatchGetItem.
 */

export const COUNTER_SHARDS = 16;
/** Counter items outlive their day so `stats` can look back a year. */
export const COUNTER_RETENTION_DAYS = 400;

export const COUNTER_NAMES = [
  'sent',
  'failed',
  'delivered',
  'opened',
  'clicked',
  'bounced',
  // Of `bounced`, the bounces of mail sent the same UTC day (the brake's floor counts these).
  'sameDayBounced',
  'softBounced',
  'complained',
  'rejected',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export type DailyCounts = Record<CounterName, number>;

export function emptyCounts(): DailyCounts {
  return Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0])) as DailyCounts;
}

export function shardKey(day: string, shard: number): string {
  return `day#${day}#${String(shard).padStart(2, '0')}`;
}

/** Adds the non-zero deltas to one shard of `day`'s counters in a single write. */
export async function addDailyCounts(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  day: string,
  deltas: Partial<DailyCounts>,
  shard: number = Math.floor(Math.random() * COUNTER_SHARDS),
): Promise<void> {
  const entries = Object.entries(deltas).filter(([, n]) => typeof n === 'number' && n !== 0);
  if (entries.length === 0) return;
  const names: Record<string, string> = {};
  const values: Record<string, number> = {};
  const adds = entries.map(([name, n], i) => {
    names[`#c${i}`] = name;
    values[`:c${i}`] = n as number;
    return `#c${i} :c${i}`;
  });
  const expiresAt = Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000) + COUNTER_RETENTION_DAYS * 86400;
  await ddb.send(
    new UpdateCommand({
      TableName: tableName,
      Key: { pk: shardKey(day, shard) },
      UpdateExpression: `ADD ${adds.join(', ')} SET #exp = if_not_exists(#exp, :exp)`,
      ExpressionAttributeNames: { ...names, '#exp': 'expiresAt' },
      ExpressionAttributeValues: { ...values, ':exp': expiresAt },
    }),
  );
}

/** Sums every shard of `day`'s counters: one BatchGetItem (unprocessed keys retried with backoff). */
export async function readDailyCounts(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  day: string,
): Promise<DailyCounts> {
  const totals = emptyCounts();
  const keys = Array.from({ length: COUNTER_SHARDS }, (_, i) => ({ pk: shardKey(day, i) }));
  for (const item of await batchGetAll(ddb, tableName, keys, { what: `Counter shards of ${day}` })) {
    for (const name of COUNTER_NAMES) {
      const value = item[name];
      if (typeof value === 'number') totals[name] += value;
    }
  }
  return totals;
}
