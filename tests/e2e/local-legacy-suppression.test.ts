import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LocalDynamoDb } from '../../src/local/dynamodb/store.js';
import { createTableInput, SUPPRESSION_TABLE, type TableSchema } from '../../functions/lib/table-schemas.js';
import { startLocalMode, type LocalMode } from '../support/local-mode.js';

/**
 * A --data-dir kept by an earlier version holds the suppression table with its index on
 * createdAt. Local mode starts on it, rebuilds the table with the index on
 * addedToSuppressionDate and keeps every entry.
 */

const LEGACY: TableSchema = {
  ...SUPPRESSION_TABLE,
  attributes: { email: 'S', suppressionType: 'S', createdAt: 'S' },
  indexes: [{ name: 'suppression-type-date-index', hashKey: 'suppressionType', rangeKey: 'createdAt', projection: 'ALL' }],
};

const dir = mkdtempSync(join(tmpdir(), 'sme-legacy-'));
let local: LocalMode | undefined;

afterAll(async () => {
  await local?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('local mode on a --data-dir of an earlier version', () => {
  it('rebuilds the suppression table on the new index, keeping its entries and filling addedToSuppressionDate', async () => {
    mkdirSync(join(dir, 'dynamodb'), { recursive: true });
    const db = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile: join(dir, 'dynamodb', 'tables.json') });
    db.call('CreateTable', JSON.stringify(createTableInput('sesmailengine-Suppression', LEGACY)));
    for (let i = 0; i < 30; i++) {
      const item = { email: { S: `old${i}@example.com` }, reason: { S: 'hard-bounce' }, suppressionType: { S: 'bounce' }, createdAt: { S: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z` } };
      expect(db.call('PutItem', JSON.stringify({ TableName: 'sesmailengine-Suppression', Item: item })).statusCode).toBe(200);
    }
    await db.close();

    local = await startLocalMode(['--data-dir', dir]);
    const out = await local.ddb.send(
      new QueryCommand({
        TableName: 'sesmailengine-Suppression',
        IndexName: 'suppression-type-date-index',
        KeyConditionExpression: 'suppressionType = :t AND begins_with(addedToSuppressionDate, :d)',
        ExpressionAttributeValues: { ':t': 'bounce', ':d': '2026-01-01' },
        Select: 'COUNT',
      }),
    );
    expect(out.Count).toBe(30);
    expect(await local.suppression('old7@example.com')).toMatchObject({ createdAt: '2026-01-01T00:00:07.000Z', addedToSuppressionDate: '2026-01-01T00:00:07.000Z', reason: 'hard-bounce' });
  }, 120_000);
});
