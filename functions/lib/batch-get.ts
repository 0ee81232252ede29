import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * BatchGetItem for up to 100 keys of one table, following UnprocessedKeys as DynamoDB asks:
 * again after an exponential, jittered pause (throttled keys come back unprocessed instead
 * of failing the call), at most `attempts` calls in all.
 */

export const BATCH_GET_MAX_KEYS = 100;

export class UnprocessedKeysError extends Error {
  override readonly name = 'UnprocessedKeysError';
  constructor(readonly unprocessed: number, what: string) {
    super(`${what}: ${unprocessed} keys still unprocessed (throttled) after retrying.`);
  }
}

export interface BatchGetOptions {
  /** Names what is read, for the error. */
  what: string;
  attempts?: number;
  /** First pause in ms; doubled per retry, with full jitter. */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function batchGetAll(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  keys: Record<string, unknown>[],
  options: BatchGetOptions,
): Promise<Record<string, unknown>[]> {
  if (keys.length > BATCH_GET_MAX_KEYS) throw new RangeError(`BatchGetItem takes at most ${BATCH_GET_MAX_KEYS} keys, got ${keys.length}.`);
  const attempts = options.attempts ?? 5;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const items: Record<string, unknown>[] = [];
  let pending = keys;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt === attempts) throw new UnprocessedKeysError(pending.length, options.what);
    if (attempt > 0) await sleep(Math.floor(random() * (options.baseDelayMs ?? 20) * 2 ** (attempt - 1)));
    const out = await ddb.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending } } }));
    items.push(...((out.Responses?.[tableName] ?? []) as Record<string, unknown>[]));
    pending = (out.UnprocessedKeys?.[tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
  }
  return items;
}
