import { afterEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, UnprocessedKeysError } from '../../functions/lib/batch-get.js';

/** Throttling (UnprocessedKeys) cannot be provoked on dynalite: mocked. */

const ddbMock = mockClient(DynamoDBDocumentClient);
const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
afterEach(() => {
  ddbMock.reset();
});

const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ pk: `k${i}` }));

describe('batchGetAll', () => {
  it('asks again only for the unprocessed keys, after growing jittered pauses', async () => {
    ddbMock
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { T: [{ pk: 'k0' }] }, UnprocessedKeys: { T: { Keys: [{ pk: 'k1' }, { pk: 'k2' }] } } })
      .resolvesOnce({ Responses: { T: [{ pk: 'k1' }] }, UnprocessedKeys: { T: { Keys: [{ pk: 'k2' }] } } })
      .resolvesOnce({ Responses: { T: [{ pk: 'k2' }] } });
    const pauses: number[] = [];
    const items = await batchGetAll(ddb, 'T', keys(3), { what: 'test', baseDelayMs: 100, random: () => 0.5, sleep: async (ms) => void pauses.push(ms) });
    expect(items.map((i) => i.pk)).toEqual(['k0', 'k1', 'k2']);
    expect(ddbMock.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems!.T!.Keys)).toEqual([keys(3), [{ pk: 'k1' }, { pk: 'k2' }], [{ pk: 'k2' }]]);
    expect(pauses).toEqual([50, 100]);
  });

  it('gives up after the last attempt with the number of keys left', async () => {
    ddbMock.on(BatchGetCommand).resolves({ Responses: { T: [] }, UnprocessedKeys: { T: { Keys: [{ pk: 'k0' }] } } });
    const error = await batchGetAll(ddb, 'T', keys(1), { what: 'Suppression lookup', attempts: 3, sleep: async () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnprocessedKeysError);
    expect((error as UnprocessedKeysError).unprocessed).toBe(1);
    expect((error as Error).message).toBe('Suppression lookup: 1 keys still unprocessed (throttled) after retrying.');
    expect(ddbMock.commandCalls(BatchGetCommand)).toHaveLength(3);
  });

  it('makes no call for no keys and refuses more than 100', async () => {
    expect(await batchGetAll(ddb, 'T', [], { what: 'x' })).toEqual([]);
    expect(ddbMock.commandCalls(BatchGetCommand)).toHaveLength(0);
    await expect(batchGetAll(ddb, 'T', keys(101), { what: 'x' })).rejects.toThrow(RangeError);
  });
});
