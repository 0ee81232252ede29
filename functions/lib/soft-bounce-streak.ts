import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailure } from './dynamo-errors.js';
import { normalizeAddress } from './suppression-store.js';
import {
  addSoftBounce,
  resetSoftBounces,
  type SoftBounceEntry,
  type SoftBounceRules,
  type SoftBounceStreak,
} from '../core/feedback-rules.js';

/**
 * Consecutive soft bounces per address, one item `softbounce#<address>` in the counters
 * table: the recent bounces (time and event identity), a version for optimistic writes,
 * and a TTL so a streak that stops growing disappears after the window.
 */

const MAX_ATTEMPTS = 8;

export function streakKey(email: string): string {
  return `softbounce#${normalizeAddress(email)}`;
}

interface StreakItem extends SoftBounceStreak {
  pk: string;
  version: number;
  expiresAt: number;
}

async function read(ddb: DynamoDBDocumentClient, table: string, pk: string): Promise<StreakItem | undefined> {
  const out = await ddb.send(new GetCommand({ TableName: table, Key: { pk }, ConsistentRead: true }));
  return out.Item as StreakItem | undefined;
}

function versionCondition(current: StreakItem | undefined) {
  return current
    ? { ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': current.version } }
    : { ConditionExpression: 'attribute_not_exists(pk)' };
}

async function write(
  ddb: DynamoDBDocumentClient,
  table: string,
  pk: string,
  current: StreakItem | undefined,
  streak: SoftBounceStreak,
  windowDays: number,
): Promise<void> {
  if (streak.bounces.length === 0) {
    if (current) await ddb.send(new DeleteCommand({ TableName: table, Key: { pk }, ...versionCondition(current) }));
    return;
  }
  const newest = streak.bounces[streak.bounces.length - 1]!;
  const expiresAt = Math.floor(Date.parse(newest.at) / 1000) + Math.ceil(windowDays + 1) * 86400;
  const item: StreakItem = { pk, bounces: streak.bounces, version: (current?.version ?? 0) + 1, expiresAt };
  await ddb.send(new PutCommand({ TableName: table, Item: item, ...versionCondition(current) }));
}

async function optimistic<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!isConditionalCheckFailure(error) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/** Adds a soft bounce to the address's streak; `suppress` says the threshold is reached. */
export async function recordSoftBounce(
  ddb: DynamoDBDocumentClient,
  table: string,
  email: string,
  bounce: SoftBounceEntry,
  rules: SoftBounceRules,
): Promise<{ suppress: boolean; duplicate: boolean; count: number }> {
  const pk = streakKey(email);
  return optimistic(async () => {
    const current = await read(ddb, table, pk);
    const next = addSoftBounce(current, bounce, rules);
    if (!next.duplicate) await write(ddb, table, pk, current, next.streak, rules.windowDays);
    return { suppress: next.suppress, duplicate: next.duplicate, count: next.streak.bounces.length };
  });
}

/** A delivery to the address ends its streak (bounces after the delivery time remain). */
export async function resetSoftBounceStreak(
  ddb: DynamoDBDocumentClient,
  table: string,
  email: string,
  deliveredAt: string,
  windowDays: number,
): Promise<void> {
  const pk = streakKey(email);
  await optimistic(async () => {
    const current = await read(ddb, table, pk);
    if (!current) return;
    const next = resetSoftBounces(current, deliveredAt);
    if (next.bounces.length === current.bounces.length) return;
    await write(ddb, table, pk, current, next, windowDays);
  });
}

export async function readSoftBounceStreak(
  ddb: DynamoDBDocumentClient,
  table: string,
  email: string,
): Promise<SoftBounceEntry[]> {
  return (await read(ddb, table, streakKey(email)))?.bounces ?? [];
}
