import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { backfillAddedToSuppressionDate, suppressionIndexState } from '../../functions/lib/suppression-index.js';
import { createTableInput, SUPPRESSION_TABLE, type TableSchema } from '../../functions/lib/table-schemas.js';
import { startStandIns, type StandIns } from '../support/stand-ins.js';

/**
 * Tables of earlier versions of this engine keyed suppression-type-date-index on createdAt:
 * telling that index apart, and filling addedToSuppressionDate (DynamoDB stand-in).
 */

const LEGACY: TableSchema = {
  ...SUPPRESSION_TABLE,
  attributes: { email: 'S', suppressionType: 'S', createdAt: 'S' },
  indexes: [{ name: 'suppression-type-date-index', hashKey: 'suppressionType', rangeKey: 'createdAt', projection: 'ALL' }],
};
const NO_INDEX: TableSchema = { ...SUPPRESSION_TABLE, attributes: { email: 'S' }, indexes: [] };

let aws: StandIns;
let raw: DynamoDBClient;

beforeAll(async () => {
  aws = await startStandIns('supidx');
  raw = new DynamoDBClient({ region: aws.region, credentials: aws.credentials, endpoint: aws.dynamoDbEndpoint });
  await raw.send(new CreateTableCommand(createTableInput('legacy-Suppression', LEGACY)));
  await raw.send(new CreateTableCommand(createTableInput('step1-Suppression', NO_INDEX)));
}, 30_000);

afterAll(async () => {
  raw.destroy();
  await aws.stop();
});

const describeTable = async (name: string) => (await raw.send(new DescribeTableCommand({ TableName: name }))).Table;

describe('suppressionIndexState', () => {
  it('tells the createdAt index, no index (after step 1) and the current index apart', async () => {
    expect(suppressionIndexState(await describeTable('legacy-Suppression'))).toBe('legacy');
    expect(suppressionIndexState(await describeTable('step1-Suppression'))).toBe('missing');
    expect(suppressionIndexState(await describeTable(aws.tables.suppression))).toBe('current');
    expect(suppressionIndexState(undefined)).toBe('current');
  });
});

describe('backfillAddedToSuppressionDate', () => {
  it('copies createdAt into addedToSuppressionDate where it is missing, touches nothing else, and a rerun does nothing', async () => {
    const table = 'legacy-Suppression';
    for (let i = 0; i < 30; i++) {
      await aws.ddb.send(new PutCommand({ TableName: table, Item: { email: `old${i}@example.com`, reason: 'manual', suppressionType: 'manual', createdAt: `2026-01-${String(i % 28 + 1).padStart(2, '0')}T00:00:00.000Z` } }));
    }
    await aws.ddb.send(new PutCommand({ TableName: table, Item: { email: 'both@example.com', suppressionType: 'bounce', createdAt: '2026-02-01T00:00:00.000Z', addedToSuppressionDate: '2025-12-31T00:00:00Z' } }));
    await aws.ddb.send(new PutCommand({ TableName: table, Item: { email: 'neither@example.com', suppressionType: 'bounce' } }));

    const pages: number[] = [];
    expect(await backfillAddedToSuppressionDate(raw, table, (n) => pages.push(n))).toBe(30);
    expect(pages.at(-1)).toBe(30);
    const get = async (email: string) => (await aws.ddb.send(new GetCommand({ TableName: table, Key: { email } }))).Item;
    expect(await get('old3@example.com')).toMatchObject({ createdAt: '2026-01-04T00:00:00.000Z', addedToSuppressionDate: '2026-01-04T00:00:00.000Z' });
    expect((await get('both@example.com'))!.addedToSuppressionDate).toBe('2025-12-31T00:00:00Z');
    expect(await get('neither@example.com')).toEqual({ email: 'neither@example.com', suppressionType: 'bounce' });
    expect(await backfillAddedToSuppressionDate(aws.ddb, table)).toBe(0);
  });
});
