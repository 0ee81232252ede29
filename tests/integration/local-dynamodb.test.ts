/**
 * The local DynamoDB store against dynalite: every request below goes to both (each served
 * over HTTP on 127.0.0.1) through the same SDK clients, and the answers — outputs without
 * $metadata, or error names, messages and members — must be the same. Where dynalite does
 * not do what DynamoDB does (transactions, TTL updates, a few messages), the store is held
 * to DynamoDB's documented behaviour instead, and the test name says so.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  QueryCommand as RawQueryCommand,
  ScanCommand as RawScanCommand,
  TagResourceCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../functions/lib/clients.js';
import { COUNTERS_TABLE, SUPPRESSION_TABLE, TRACKING_TABLE, createTableInput } from '../../functions/lib/table-schemas.js';
import { addDailyCounts, readDailyCounts, shardKey } from '../../functions/lib/counters-store.js';
import { LocalDynamoDb } from '../../src/local/dynamodb/store.js';
import { dynamoDbRequestListener } from '../../src/local/dynamodb/http.js';

const require = createRequire(import.meta.url);

interface Side {
  label: string;
  endpoint: string;
  raw: DynamoDBClient;
  doc: DynamoDBDocumentClient;
}

type Outcome =
  | { ok: true; output: Record<string, unknown> }
  | { ok: false; error: string; message: string; Item?: unknown; CancellationReasons?: unknown };

const TABLES = { tracking: 'diff-EmailTracking', suppression: 'diff-Suppression', counters: 'diff-Counters', things: 'diff-Things' };

/** A table with a range key, a GSI with INCLUDE, a keys-only GSI without range key and an LSI. */
const THINGS_TABLE: CreateTableCommandInput = {
  TableName: TABLES.things,
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'N' },
    { AttributeName: 'group', AttributeType: 'S' },
    { AttributeName: 'rank', AttributeType: 'N' },
    { AttributeName: 'tag', AttributeType: 'S' },
    { AttributeName: 'label', AttributeType: 'S' },
    { AttributeName: 'note', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
  GlobalSecondaryIndexes: [
    {
      IndexName: 'by-group',
      KeySchema: [
        { AttributeName: 'group', KeyType: 'HASH' },
        { AttributeName: 'rank', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['note'] },
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    },
    {
      IndexName: 'by-tag',
      KeySchema: [{ AttributeName: 'tag', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'KEYS_ONLY' },
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    },
  ],
  LocalSecondaryIndexes: [
    {
      IndexName: 'by-label',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'label', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: 'by-note',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'note', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    },
  ],
};

let dynaliteServer: Server;
let localServer: Server;
let store: LocalDynamoDb;
let theirs: Side;
let ours: Side;

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function side(label: string, endpoint: string): Side {
  const raw = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  return { label, endpoint, raw, doc: documentClient(raw) };
}

async function outcome(target: Side, send: (s: Side) => Promise<unknown>): Promise<Outcome> {
  try {
    const { $metadata: _, ...output } = (await send(target)) as Record<string, unknown>;
    return { ok: true, output };
  } catch (error) {
    const e = error as { name: string; message: string; Item?: unknown; CancellationReasons?: unknown; $metadata?: unknown };
    if (!e.$metadata) throw error;
    return {
      ok: false,
      error: e.name,
      message: e.message,
      ...(e.Item !== undefined ? { Item: e.Item } : {}),
      ...(e.CancellationReasons !== undefined ? { CancellationReasons: e.CancellationReasons } : {}),
    };
  }
}

/** Sends to dynalite, then to the store; the answers must be equal (after `normalize`). */
async function same(send: (s: Side) => Promise<unknown>, normalize: (o: Outcome) => Outcome = (o) => o): Promise<Outcome> {
  const expected = normalize(await outcome(theirs, send));
  const actual = normalize(await outcome(ours, send));
  expect(actual).toEqual(expected);
  return actual;
}

async function sameOutput(send: (s: Side) => Promise<unknown>, normalize?: (o: Outcome) => Outcome): Promise<Record<string, unknown>> {
  const result = await same(send, normalize);
  if (!result.ok) throw new Error(`Expected success, got ${result.error}: ${result.message}`);
  return result.output;
}

async function sameError(send: (s: Side) => Promise<unknown>, name: string): Promise<string> {
  const result = await same(send);
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error).toBe(name);
  return result.message;
}

/** Only the store (for behaviour dynalite lacks). */
async function oursOnly(send: (s: Side) => Promise<unknown>): Promise<Outcome> {
  return outcome(ours, send);
}

function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

const VOLATILE = new Set(['TableId', 'CreationDateTime', 'LastUpdateToPayPerRequestDateTime', 'ItemCount']);

/** A table description without the fields that differ by nature (ids, times) or by design (live item counts). */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !VOLATILE.has(key)).map(([key, v]) => [key, stable(v)]));
}

function stableOutcome(o: Outcome): Outcome {
  return o.ok ? { ok: true, output: stable(o.output) as Record<string, unknown> } : o;
}

beforeAll(async () => {
  const dynalite = require('dynalite') as (options: object) => Server;
  dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  store = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000' });
  localServer = createServer(dynamoDbRequestListener(store));
  theirs = side('dynalite', await listen(dynaliteServer));
  ours = side('local', await listen(localServer));
  for (const s of [theirs, ours]) {
    await s.raw.send(new CreateTableCommand(createTableInput(TABLES.tracking, TRACKING_TABLE)));
    await s.raw.send(new CreateTableCommand(createTableInput(TABLES.suppression, SUPPRESSION_TABLE)));
    await s.raw.send(new CreateTableCommand(createTableInput(TABLES.counters, COUNTERS_TABLE)));
    await s.raw.send(new CreateTableCommand(THINGS_TABLE));
  }
  // dynalite turns tables ACTIVE on a timer.
  await new Promise((resolve) => setTimeout(resolve, 20));
});

afterAll(async () => {
  theirs?.raw.destroy();
  ours?.raw.destroy();
  await Promise.all([dynaliteServer && close(dynaliteServer), localServer && close(localServer)]);
  await store?.close();
});

describe('tables', () => {
  it('CreateTable answers the same description for the engine schemas and a table with every index kind', async () => {
    const output = await sameOutput(async (s) => {
      return s.raw.send(new CreateTableCommand(createTableInput('diff-Created', TRACKING_TABLE)));
    }, stableOutcome);
    expect((output.TableDescription as { TableStatus: string }).TableStatus).toBe('CREATING');
    const described = await sameOutput((s) => s.raw.send(new DescribeTableCommand({ TableName: TABLES.things })), stableOutcome);
    expect((described.Table as { TableStatus: string }).TableStatus).toBe('ACTIVE');
    expect((described.Table as { LocalSecondaryIndexes: unknown[] }).LocalSecondaryIndexes).toHaveLength(2);
  });

  it('DescribeTable of the tracking table matches, ARN included', async () => {
    const output = await sameOutput((s) => s.raw.send(new DescribeTableCommand({ TableName: TABLES.tracking })), stableOutcome);
    const table = output.Table as { TableArn: string; GlobalSecondaryIndexes: { IndexStatus: string }[] };
    expect(table.TableArn).toBe(`arn:aws:dynamodb:us-east-1:000000000000:table/${TABLES.tracking}`);
    expect(table.GlobalSecondaryIndexes.map((i) => i.IndexStatus)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE']);
  });

  it('ListTables pages by Limit and ExclusiveStartTableName', async () => {
    const first = await sameOutput((s) => s.raw.send(new ListTablesCommand({ Limit: 2 })));
    expect(first.TableNames).toHaveLength(2);
    expect(first.LastEvaluatedTableName).toBeDefined();
    const rest = await sameOutput((s) => s.raw.send(new ListTablesCommand({ ExclusiveStartTableName: TABLES.counters })));
    expect(rest.TableNames).toContain(TABLES.things);
    expect(rest.LastEvaluatedTableName).toBeUndefined();
  });

  it('DeleteTable answers the description, after which the table is gone', async () => {
    for (const s of [theirs, ours]) await s.raw.send(new CreateTableCommand(createTableInput('diff-Doomed', SUPPRESSION_TABLE)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const output = await sameOutput((s) => s.raw.send(new DeleteTableCommand({ TableName: 'diff-Doomed' })), stableOutcome);
    expect((output.TableDescription as { TableStatus: string }).TableStatus).toBe('DELETING');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const message = await sameError((s) => s.raw.send(new DescribeTableCommand({ TableName: 'diff-Doomed' })), 'ResourceNotFoundException');
    expect(message).toBe('Requested resource not found: Table: diff-Doomed not found');
  });

  it('CreateTable of an existing table is a ResourceInUseException (DynamoDB names the table; dynalite sends no message)', async () => {
    const theirsOutcome = await outcome(theirs, (s) => s.raw.send(new CreateTableCommand(createTableInput(TABLES.tracking, TRACKING_TABLE))));
    const oursOutcome = await oursOnly((s) => s.raw.send(new CreateTableCommand(createTableInput(TABLES.tracking, TRACKING_TABLE))));
    expect(theirsOutcome).toMatchObject({ ok: false, error: 'ResourceInUseException' });
    expect(oursOutcome).toEqual({ ok: false, error: 'ResourceInUseException', message: `Table already exists: ${TABLES.tracking}` });
  });

  it('CreateTable validation errors match', async () => {
    const message = await sameError(
      (s) =>
        s.raw.send(
          new CreateTableCommand({
            TableName: 'diff-Bad',
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: 'a', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'b', KeyType: 'HASH' }],
          }),
        ),
      'ValidationException',
    );
    expect(message).toContain('Some index key attributes are not defined in AttributeDefinitions');
    await sameError(
      (s) =>
        s.raw.send(
          new CreateTableCommand({
            TableName: 'x',
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: 'a', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }],
          }),
        ),
      'ValidationException',
    );
  });

  it('DescribeTimeToLive matches while TTL is off', async () => {
    const output = await sameOutput((s) => s.raw.send(new DescribeTimeToLiveCommand({ TableName: TABLES.suppression })));
    expect(output.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'DISABLED' });
  });

  it('UpdateTimeToLive stores the setting as DynamoDB documents it (dynalite lacks UpdateTimeToLive)', async () => {
    const enabled = await oursOnly((s) =>
      s.raw.send(new UpdateTimeToLiveCommand({ TableName: TABLES.counters, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } })),
    );
    expect(enabled).toEqual({ ok: true, output: { TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } } });
    expect(await oursOnly((s) => s.raw.send(new DescribeTimeToLiveCommand({ TableName: TABLES.counters })))).toEqual({
      ok: true,
      output: { TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' } },
    });
    const again = await oursOnly((s) =>
      s.raw.send(new UpdateTimeToLiveCommand({ TableName: TABLES.counters, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } })),
    );
    expect(again).toEqual({ ok: false, error: 'ValidationException', message: 'TimeToLive is already enabled' });
  });

  it('TagResource and ListTagsOfResource match', async () => {
    await sameOutput((s) =>
      s.raw.send(
        new TagResourceCommand({
          ResourceArn: `arn:aws:dynamodb:us-east-1:000000000000:table/${TABLES.suppression}`,
          Tags: [
            { Key: 'team', Value: 'mail' },
            { Key: 'app', Value: 'sesmailengine' },
          ],
        }),
      ),
    );
    const output = await sameOutput((s) =>
      s.raw.send(new ListTagsOfResourceCommand({ ResourceArn: `arn:aws:dynamodb:us-east-1:000000000000:table/${TABLES.suppression}` })),
    );
    expect(output.Tags).toEqual([
      { Key: 'app', Value: 'sesmailengine' },
      { Key: 'team', Value: 'mail' },
    ]);
  });
});

const baseRecord = {
  emailId: 'e-1',
  originalEmailId: 'e-1',
  retryAttempt: 0,
  toEmail: 'ada@example.com',
  templateName: 'welcome',
  status: 'sending',
  statusRank: 1,
  originalSource: 'api',
  timestamp: '2025-01-01T10:00:00.000Z',
  datePartition: '2025-01-01',
  expiresAt: 1767225600,
  metadata: { plan: 'pro', seats: 3, tags: ['a', 'b'], nested: { ok: true, none: null } },
};

describe("the engine's request shapes", () => {
  it('claims a record once (Put with attribute_not_exists), then refuses the duplicate', async () => {
    const put = (s: Side) =>
      s.doc.send(new PutCommand({ TableName: TABLES.tracking, Item: baseRecord, ConditionExpression: 'attribute_not_exists(emailId)' }));
    expect(await sameOutput(put)).toEqual({});
    const message = await sameError(put, 'ConditionalCheckFailedException');
    expect(message).toBe('The conditional request failed');
    const read = await sameOutput((s) => s.doc.send(new GetCommand({ TableName: TABLES.tracking, Key: { emailId: 'e-1' }, ConsistentRead: true })));
    expect(read.Item).toEqual(baseRecord);
  });

  it('claims a scheduled record with the OR condition on names and values', async () => {
    const scheduled = { ...baseRecord, emailId: 'e-sched', status: 'scheduled', scheduledFor: '2025-02-01T00:00:00.000Z' };
    await sameOutput((s) => s.doc.send(new PutCommand({ TableName: TABLES.tracking, Item: scheduled })));
    const claim = (s: Side) =>
      s.doc.send(
        new PutCommand({
          TableName: TABLES.tracking,
          Item: { ...scheduled, status: 'sending' },
          ConditionExpression: 'attribute_not_exists(emailId) OR (#status = :scheduled AND scheduledFor = :scheduledFor)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':scheduled': 'scheduled', ':scheduledFor': scheduled.scheduledFor },
        }),
      );
    await sameOutput(claim);
    await sameError(claim, 'ConditionalCheckFailedException');
  });

  it('marks a record sent only while its rank is lower, then adds what only the sender knows', async () => {
    const markSent = (s: Side) =>
      s.doc.send(
        new UpdateCommand({
          TableName: TABLES.tracking,
          Key: { emailId: 'e-1' },
          UpdateExpression: 'SET #status = :sent, statusRank = :rank, sesMessageId = :mid, sentAt = :at',
          ConditionExpression: 'attribute_exists(emailId) AND statusRank < :rank',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':sent': 'sent', ':rank': 2, ':mid': 'ses-1', ':at': '2025-01-01T10:00:01.000Z' },
          ReturnValues: 'ALL_NEW',
        }),
      );
    const first = await sameOutput(markSent);
    expect(first.Attributes).toMatchObject({ status: 'sent', statusRank: 2, sesMessageId: 'ses-1' });
    await sameError(markSent, 'ConditionalCheckFailedException');
    const later = await sameOutput((s) =>
      s.doc.send(
        new UpdateCommand({
          TableName: TABLES.tracking,
          Key: { emailId: 'e-1' },
          UpdateExpression: 'SET sesMessageId = :mid, sentAt = :at',
          ConditionExpression: 'attribute_exists(emailId)',
          ExpressionAttributeValues: { ':mid': 'ses-1', ':at': '2025-01-01T10:00:02.000Z' },
          ReturnValues: 'UPDATED_OLD',
        }),
      ),
    );
    expect(later.Attributes).toEqual({ sesMessageId: 'ses-1', sentAt: '2025-01-01T10:00:01.000Z' });
    await sameError(
      (s) =>
        s.doc.send(
          new UpdateCommand({
            TableName: TABLES.tracking,
            Key: { emailId: 'missing' },
            UpdateExpression: 'SET sesMessageId = :mid',
            ConditionExpression: 'attribute_exists(emailId)',
            ExpressionAttributeValues: { ':mid': 'x' },
          }),
        ),
      'ConditionalCheckFailedException',
    );
  });

  it('writes feedback over the version it read (feedbackUpdate) and releases a claim by its timestamp', async () => {
    const feedback = (s: Side) =>
      s.doc.send(
        new UpdateCommand({
          TableName: TABLES.tracking,
          Key: { emailId: 'e-1' },
          UpdateExpression: 'SET #fv = :fvNext, #a0 = :a0, #status = :status, #rank = :rank',
          ConditionExpression: 'attribute_exists(#id) AND attribute_not_exists(#fv) AND (attribute_not_exists(#rank) OR #rank < :rank)',
          ExpressionAttributeNames: { '#id': 'emailId', '#fv': 'feedbackVersion', '#a0': 'deliveredAt', '#status': 'status', '#rank': 'statusRank' },
          ExpressionAttributeValues: { ':fvNext': 1, ':a0': '2025-01-01T10:00:05.000Z', ':status': 'delivered', ':rank': 3 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
    const out = await sameOutput(feedback);
    expect(out.Attributes).toEqual({ feedbackVersion: 1, deliveredAt: '2025-01-01T10:00:05.000Z', status: 'delivered', statusRank: 3 });
    await sameError(feedback, 'ConditionalCheckFailedException');

    await sameOutput((s) => s.doc.send(new PutCommand({ TableName: TABLES.tracking, Item: { ...baseRecord, emailId: 'e-release' } })));
    const release = (s: Side, at: string) =>
      s.doc.send(
        new DeleteCommand({
          TableName: TABLES.tracking,
          Key: { emailId: 'e-release' },
          ConditionExpression: '#status = :sending AND #ts = :claimedAt',
          ExpressionAttributeNames: { '#status': 'status', '#ts': 'timestamp' },
          ExpressionAttributeValues: { ':sending': 'sending', ':claimedAt': at },
        }),
      );
    await sameError((s) => release(s, '2024-12-31T00:00:00.000Z'), 'ConditionalCheckFailedException');
    expect(await sameOutput((s) => release(s, baseRecord.timestamp))).toEqual({});
    expect(await sameOutput((s) => s.doc.send(new GetCommand({ TableName: TABLES.tracking, Key: { emailId: 'e-release' } })))).toEqual({});
  });

  it('claims a retry and marks it enqueued with if_not_exists', async () => {
    const claimRetry = (s: Side, holder: string) =>
      s.doc.send(
        new UpdateCommand({
          TableName: TABLES.tracking,
          Key: { emailId: 'e-1' },
          UpdateExpression: 'SET #holder = :holder, #claimedAt = :now',
          ConditionExpression: 'attribute_exists(#id) AND attribute_not_exists(#queued) AND (attribute_not_exists(#holder) OR #holder = :holder OR #claimedAt < :stale)',
          ExpressionAttributeNames: { '#id': 'emailId', '#queued': 'retryEnqueuedAt', '#holder': 'retryClaimHolder', '#claimedAt': 'retryClaimedAt' },
          ExpressionAttributeValues: { ':holder': holder, ':now': '2025-01-01T11:00:00.000Z', ':stale': '2025-01-01T10:45:00.000Z' },
        }),
      );
    await sameOutput((s) => claimRetry(s, 'msg-1'));
    await sameOutput((s) => claimRetry(s, 'msg-1'));
    await sameError((s) => claimRetry(s, 'msg-2'), 'ConditionalCheckFailedException');
    const enqueued = (s: Side, retryId: string) =>
      s.doc.send(
        new UpdateCommand({
          TableName: TABLES.tracking,
          Key: { emailId: 'e-1' },
          UpdateExpression: 'SET #q = :at, #r = if_not_exists(#r, :r)',
          ConditionExpression: 'attribute_exists(#id)',
          ExpressionAttributeNames: { '#q': 'retryEnqueuedAt', '#r': 'retryEmailId', '#id': 'emailId' },
          ExpressionAttributeValues: { ':at': '2025-01-01T11:00:01.000Z', ':r': retryId },
          ReturnValues: 'ALL_NEW',
        }),
      );
    await sameOutput((s) => enqueued(s, 'retry-1'));
    const second = await sameOutput((s) => enqueued(s, 'retry-2'));
    expect((second.Attributes as { retryEmailId: string }).retryEmailId).toBe('retry-1');
  });

  it('adds to sharded counters (ADD with SET if_not_exists) and reads the shards in one BatchGetItem', async () => {
    for (const s of [theirs, ours]) {
      await addDailyCounts(s.doc, TABLES.counters, '2025-01-01', { sent: 2, delivered: 1 }, 3);
      await addDailyCounts(s.doc, TABLES.counters, '2025-01-01', { sent: 1, bounced: 1 }, 3);
      await addDailyCounts(s.doc, TABLES.counters, '2025-01-01', { sent: 5 }, 7);
    }
    const shard = await sameOutput((s) => s.doc.send(new GetCommand({ TableName: TABLES.counters, Key: { pk: shardKey('2025-01-01', 3) } })));
    expect(shard.Item).toMatchObject({ sent: 3, delivered: 1, bounced: 1 });
    const [a, b] = [await readDailyCounts(theirs.doc, TABLES.counters, '2025-01-01'), await readDailyCounts(ours.doc, TABLES.counters, '2025-01-01')];
    expect(b).toEqual(a);
    expect(b.sent).toBe(8);
  });

  it('keeps a suppression unless a complaint is there, and deletes it with ReturnValues ALL_OLD', async () => {
    const suppress = (s: Side, reason: string) =>
      s.doc.send(
        new PutCommand({
          TableName: TABLES.suppression,
          Item: { email: 'bob@example.com', reason, suppressionType: 'bounce', createdAt: '2025-01-01T00:00:00.000Z' },
          ConditionExpression: 'attribute_not_exists(email) OR (#reason <> :complaint AND #reason <> :reason)',
          ExpressionAttributeNames: { '#reason': 'reason' },
          ExpressionAttributeValues: { ':complaint': 'spam-complaint', ':reason': reason },
        }),
      );
    await sameOutput((s) => suppress(s, 'hard-bounce'));
    await sameError((s) => suppress(s, 'hard-bounce'), 'ConditionalCheckFailedException');
    await sameOutput((s) => suppress(s, 'spam-complaint'));
    await sameError((s) => suppress(s, 'hard-bounce'), 'ConditionalCheckFailedException');
    const removed = await sameOutput((s) =>
      s.doc.send(new DeleteCommand({ TableName: TABLES.suppression, Key: { email: 'bob@example.com' }, ReturnValues: 'ALL_OLD' })),
    );
    expect((removed.Attributes as { reason: string }).reason).toBe('spam-complaint');
    expect(await sameOutput((s) => s.doc.send(new DeleteCommand({ TableName: TABLES.suppression, Key: { email: 'bob@example.com' }, ReturnValues: 'ALL_OLD' })))).toEqual({});
  });

  it('writes a soft-bounce streak under a version condition and deletes it the same way', async () => {
    const item = { pk: 'softbounce#ann@example.com', bounces: [{ at: '2025-01-01T00:00:00.000Z', type: 'MailboxFull' }], version: 1, expiresAt: 1736000000 };
    await sameOutput((s) => s.doc.send(new PutCommand({ TableName: TABLES.counters, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })));
    const versioned = { ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': 1 } };
    await sameOutput((s) => s.doc.send(new PutCommand({ TableName: TABLES.counters, Item: { ...item, version: 2 }, ...versioned })));
    await sameError((s) => s.doc.send(new PutCommand({ TableName: TABLES.counters, Item: { ...item, version: 2 }, ...versioned })), 'ConditionalCheckFailedException');
    await sameOutput((s) =>
      s.doc.send(new DeleteCommand({ TableName: TABLES.counters, Key: { pk: item.pk }, ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': 2 } })),
    );
  });

  it('finds records through the message-id index (Limit 5) and reads a batch with a projection (dlq)', async () => {
    const found = await sameOutput((s) =>
      s.doc.send(
        new QueryCommand({
          TableName: TABLES.tracking,
          IndexName: 'ses-message-id-index',
          KeyConditionExpression: '#m = :m',
          ExpressionAttributeNames: { '#m': 'sesMessageId' },
          ExpressionAttributeValues: { ':m': 'ses-1' },
          Limit: 5,
        }),
      ),
    );
    expect(found.Items).toEqual([{ emailId: 'e-1', sesMessageId: 'ses-1' }]);
    const batch = await sameOutput(
      (s) =>
        s.doc.send(
          new BatchGetCommand({
            RequestItems: {
              [TABLES.tracking]: { Keys: [{ emailId: 'e-1' }, { emailId: 'nope' }, { emailId: 'e-sched' }], ProjectionExpression: 'emailId, #s, errorCode', ExpressionAttributeNames: { '#s': 'status' } },
            },
          }),
        ),
      sortResponses,
    );
    expect(batch.Responses).toEqual({ [TABLES.tracking]: [{ emailId: 'e-1', status: 'delivered' }, { emailId: 'e-sched', status: 'sending' }] });
    expect(batch.UnprocessedKeys).toEqual({});
  });
});

function sortResponses(o: Outcome): Outcome {
  if (!o.ok) return o;
  const responses = o.output.Responses as Record<string, Record<string, unknown>[]>;
  const sorted = Object.fromEntries(Object.entries(responses).map(([table, items]) => [table, sortBy(items, (item) => JSON.stringify(item))]));
  return { ok: true, output: { ...o.output, Responses: sorted } };
}

describe('ReturnValues', () => {
  const key = { pk: { S: 'rv' }, sk: { N: '1' } };
  it.each(['NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW'] as const)('UpdateItem with %s', async (mode) => {
    await sameOutput((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.things, Item: { ...key, a: { S: 'old' }, b: { N: '1' }, gone: { BOOL: true } } })));
    const out = await sameOutput((s) =>
      s.raw.send(
        new UpdateItemCommand({
          TableName: TABLES.things,
          Key: key,
          UpdateExpression: 'SET a = :a, c = :c ADD b :one REMOVE gone',
          ExpressionAttributeValues: { ':a': { S: 'new' }, ':c': { L: [{ S: 'x' }, { N: '2.50' }] }, ':one': { N: '1' } },
          ReturnValues: mode,
        }),
      ),
    );
    if (mode === 'NONE') expect(out).toEqual({});
    else expect(out.Attributes).toBeDefined();
  });

  it.each(['UPDATED_OLD', 'UPDATED_NEW'] as const)('UpdateItem with %s answers nested paths as they were written', async (mode) => {
    const nestedKey = { pk: { S: 'nested' }, sk: { N: '1' } };
    await sameOutput((s) =>
      s.raw.send(
        new PutItemCommand({
          TableName: TABLES.things,
          Item: { ...nestedKey, doc: { M: { a: { N: '1' }, b: { S: 'keep' }, parts: { L: [{ S: 'x' }, { S: 'y' }, { S: 'z' }] } } } },
        }),
      ),
    );
    const out = await sameOutput((s) =>
      s.raw.send(
        new UpdateItemCommand({
          TableName: TABLES.things,
          Key: nestedKey,
          UpdateExpression: 'SET doc.a = doc.a + :one, doc.parts[2] = :w, doc.fresh = :w',
          ExpressionAttributeValues: { ':one': { N: '1' }, ':w': { S: 'w' } },
          ReturnValues: mode,
        }),
      ),
    );
    expect(out.Attributes).toEqual(
      mode === 'UPDATED_OLD'
        ? { doc: { M: { a: { N: '1' }, parts: { L: [{ S: 'z' }] } } } }
        : { doc: { M: { a: { N: '2' }, parts: { L: [{ S: 'w' }] }, fresh: { S: 'w' } } } },
    );
  });

  it('PutItem and DeleteItem with ALL_OLD, and PutItem refuses ALL_NEW', async () => {
    const old = await sameOutput((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.things, Item: { ...key, v: { S: '2' } }, ReturnValues: 'ALL_OLD' })));
    expect(old.Attributes).toBeDefined();
    const deleted = await sameOutput((s) => s.raw.send(new DeleteItemCommand({ TableName: TABLES.things, Key: key, ReturnValues: 'ALL_OLD' })));
    expect(deleted.Attributes).toEqual({ ...key, v: { S: '2' } });
    const message = await sameError(
      (s) => s.raw.send(new PutItemCommand({ TableName: TABLES.things, Item: { ...key }, ReturnValues: 'ALL_NEW' })),
      'ValidationException',
    );
    expect(message).toBe('ReturnValues can only be ALL_OLD or NONE');
  });

  it('UpdateItem creates the item when absent', async () => {
    const out = await sameOutput((s) =>
      s.raw.send(
        new UpdateItemCommand({
          TableName: TABLES.things,
          Key: { pk: { S: 'fresh' }, sk: { N: '-0.5' } },
          UpdateExpression: 'SET n = :n',
          ExpressionAttributeValues: { ':n': { N: '007.100' } },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    expect(out.Attributes).toEqual({ pk: { S: 'fresh' }, sk: { N: '-0.5' }, n: { N: '7.1' } });
  });

  it('a failed condition carries the old item with ReturnValuesOnConditionCheckFailure ALL_OLD (as DynamoDB documents; dynalite ignores it)', async () => {
    for (const s of [theirs, ours]) await s.raw.send(new PutItemCommand({ TableName: TABLES.things, Item: { pk: { S: 'ccf' }, sk: { N: '1' }, v: { N: '1' } } }));
    const result = await oursOnly((s) =>
      s.raw.send(
        new PutItemCommand({
          TableName: TABLES.things,
          Item: { pk: { S: 'ccf' }, sk: { N: '1' }, v: { N: '2' } },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(result).toEqual({
      ok: false,
      error: 'ConditionalCheckFailedException',
      message: 'The conditional request failed',
      Item: { pk: { S: 'ccf' }, sk: { N: '1' }, v: { N: '1' } },
    });
  });
});

describe('Query and Scan', () => {
  beforeAll(async () => {
    for (const s of [theirs, ours]) {
      for (let i = 0; i < 9; i++) {
        await s.doc.send(
          new PutCommand({
            TableName: TABLES.tracking,
            Item: {
              ...baseRecord,
              emailId: `q-${i}`,
              originalEmailId: i < 4 ? 'q-0' : `q-${i}`,
              retryAttempt: i < 4 ? i : 0,
              toEmail: 'paged@example.com',
              timestamp: `2025-03-0${i + 1}T00:00:00.000Z`,
              datePartition: '2025-03',
            },
          }),
        );
      }
      for (let i = 0; i < 8; i++) {
        await s.doc.send(
          new PutCommand({
            TableName: TABLES.things,
            Item: {
              pk: 'p',
              sk: i * 10 - 20,
              group: i % 2 ? 'odd' : 'even',
              rank: 100 - i,
              note: `n${i}`,
              extra: 'not projected',
              ...(i < 3 ? { tag: `t${i % 2}` } : {}),
              label: `l-${String.fromCharCode(104 - i)}`,
              ...(i === 5 ? { flag: true } : {}),
            },
          }),
        );
      }
    }
  });

  it('pages through a GSI newest first with Limit and ExclusiveStartKey (recordsTo)', async () => {
    let start: Record<string, unknown> | undefined;
    const seen: string[] = [];
    for (let page = 0; page < 5; page++) {
      const out = await sameOutput((s) =>
        s.doc.send(
          new QueryCommand({
            TableName: TABLES.tracking,
            IndexName: 'to-email-timestamp-index',
            KeyConditionExpression: 'toEmail = :to',
            ExpressionAttributeValues: { ':to': 'paged@example.com' },
            ScanIndexForward: false,
            Limit: 4,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      seen.push(...(out.Items as { emailId: string }[]).map((item) => item.emailId));
      start = out.LastEvaluatedKey as Record<string, unknown> | undefined;
      if (!start) break;
      expect(Object.keys(start).sort()).toEqual(['emailId', 'timestamp', 'toEmail']);
    }
    expect(seen).toEqual(['q-8', 'q-7', 'q-6', 'q-5', 'q-4', 'q-3', 'q-2', 'q-1', 'q-0']);
  });

  it('reads a retry chain through the original-email-id index and a day through the keys-only index', async () => {
    const chain = await sameOutput((s) =>
      s.doc.send(new QueryCommand({ TableName: TABLES.tracking, IndexName: 'original-email-id-index', KeyConditionExpression: 'originalEmailId = :o', ExpressionAttributeValues: { ':o': 'q-0' }, Limit: 100 })),
    );
    expect((chain.Items as unknown[]).length).toBe(4);
    const day = await sameOutput((s) =>
      s.doc.send(
        new QueryCommand({
          TableName: TABLES.tracking,
          IndexName: 'date-partition-index',
          KeyConditionExpression: 'datePartition = :d AND #ts BETWEEN :a AND :b',
          ExpressionAttributeNames: { '#ts': 'timestamp' },
          ExpressionAttributeValues: { ':d': '2025-03', ':a': '2025-03-02', ':b': '2025-03-05' },
          ReturnConsumedCapacity: 'INDEXES',
        }),
      ),
    );
    expect(day.Items).toEqual([1, 2, 3].map((i) => ({ emailId: `q-${i}`, datePartition: '2025-03', timestamp: `2025-03-0${i + 1}T00:00:00.000Z` })));
    expect(day.ConsumedCapacity).toBeDefined();
  });

  it.each([
    ['sk = :a', { ':a': 10 }],
    ['sk < :a', { ':a': 10 }],
    ['sk <= :a', { ':a': 10 }],
    ['sk > :a', { ':a': -5 }],
    ['sk >= :a', { ':a': 0 }],
    ['sk BETWEEN :a AND :b', { ':a': -10, ':b': 25 }],
    [':a < sk', { ':a': 0 }],
  ])('queries a range table with %s, both directions', async (condition, values) => {
    for (const forward of [true, false]) {
      const out = await sameOutput((s) =>
        s.doc.send(
          new QueryCommand({
            TableName: TABLES.things,
            KeyConditionExpression: `pk = :p AND ${condition}`,
            ExpressionAttributeValues: { ':p': 'p', ...values },
            ScanIndexForward: forward,
          }),
        ),
      );
      expect(out.Count).toBe((out.Items as unknown[]).length);
    }
  });

  it('queries with begins_with on an LSI, a filter, a projection, Select COUNT and capacity', async () => {
    const lsi = await sameOutput((s) =>
      s.doc.send(
        new QueryCommand({
          TableName: TABLES.things,
          IndexName: 'by-label',
          KeyConditionExpression: 'pk = :p AND begins_with(label, :l)',
          FilterExpression: 'attribute_not_exists(flag) AND #n <> :n',
          ExpressionAttributeNames: { '#n': 'note' },
          ProjectionExpression: 'sk, label, #n',
          ExpressionAttributeValues: { ':p': 'p', ':l': 'l-', ':n': 'n1' },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    expect(lsi.Count).toBe(6);
    expect(lsi.ScannedCount).toBe(8);
    const counted = await sameOutput((s) =>
      s.doc.send(new QueryCommand({ TableName: TABLES.things, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'p' }, Select: 'COUNT', ConsistentRead: true, ReturnConsumedCapacity: 'INDEXES' })),
    );
    expect(counted.Items).toBeUndefined();
    expect(counted.Count).toBe(8);
  });

  it('answers INCLUDE and KEYS_ONLY index entries with their projected attributes only', async () => {
    const group = await sameOutput((s) =>
      s.doc.send(new QueryCommand({ TableName: TABLES.things, IndexName: 'by-group', KeyConditionExpression: '#g = :g AND #r > :r', ExpressionAttributeNames: { '#g': 'group', '#r': 'rank' }, ExpressionAttributeValues: { ':g': 'odd', ':r': 94 } })),
    );
    expect(group.Items).toEqual([
      { pk: 'p', sk: 30, group: 'odd', rank: 95, note: 'n5' },
      { pk: 'p', sk: 10, group: 'odd', rank: 97, note: 'n3' },
      { pk: 'p', sk: -10, group: 'odd', rank: 99, note: 'n1' },
    ]);
    const tagged = await sameOutput((s) =>
      s.doc.send(new QueryCommand({ TableName: TABLES.things, IndexName: 'by-tag', KeyConditionExpression: 'tag = :t', ExpressionAttributeValues: { ':t': 't0' } })),
    );
    expect(tagged.Items).toEqual([
      { pk: 'p', sk: -20, tag: 't0' },
      { pk: 'p', sk: 0, tag: 't0' },
    ]);
    const message = await sameError(
      (s) =>
        s.doc.send(new QueryCommand({ TableName: TABLES.things, IndexName: 'by-tag', KeyConditionExpression: 'tag = :t', ExpressionAttributeValues: { ':t': 't0' }, Select: 'ALL_ATTRIBUTES' })),
      'ValidationException',
    );
    expect(message).toContain('Select type ALL_ATTRIBUTES is not supported for global secondary index by-tag');
  });

  it('answers a keys-only LSI with its keys, or with whole items for Select ALL_ATTRIBUTES', async () => {
    const query = (s: Side, select?: 'ALL_ATTRIBUTES') =>
      s.doc.send(
        new QueryCommand({
          TableName: TABLES.things,
          IndexName: 'by-note',
          KeyConditionExpression: 'pk = :p AND note >= :n',
          ExpressionAttributeValues: { ':p': 'p', ':n': 'n6' },
          ...(select ? { Select: select } : {}),
        }),
      );
    expect((await sameOutput((s) => query(s))).Items).toEqual([
      { pk: 'p', sk: 40, note: 'n6' },
      { pk: 'p', sk: 50, note: 'n7' },
    ]);
    const whole = await sameOutput((s) => query(s, 'ALL_ATTRIBUTES'));
    expect((whole.Items as Record<string, unknown>[]).map((item) => item.extra)).toEqual(['not projected', 'not projected']);
  });

  it('moves an item between index partitions when its index key changes, and drops it when the key goes', async () => {
    const update = (s: Side, expression: string, values?: Record<string, unknown>) =>
      s.doc.send(
        new UpdateCommand({
          TableName: TABLES.things,
          Key: { pk: 'p', sk: 0 },
          UpdateExpression: expression,
          ExpressionAttributeNames: { '#g': 'group', '#r': 'rank' },
          ...(values ? { ExpressionAttributeValues: values } : {}),
          ReturnValues: 'UPDATED_NEW',
        }),
      );
    const byGroup = (s: Side, group: string) =>
      s.doc.send(
        new QueryCommand({ TableName: TABLES.things, IndexName: 'by-group', KeyConditionExpression: '#g = :g', ExpressionAttributeNames: { '#g': 'group' }, ExpressionAttributeValues: { ':g': group } }),
      );
    expect((await sameOutput((s) => byGroup(s, 'even'))).Count).toBe(4);
    await sameOutput((s) => update(s, 'SET #g = :g, #r = #r', { ':g': 'moved' }));
    expect((await sameOutput((s) => byGroup(s, 'moved'))).Items).toEqual([{ pk: 'p', sk: 0, group: 'moved', rank: 98, note: 'n2' }]);
    expect((await sameOutput((s) => byGroup(s, 'even'))).Count).toBe(3);
    await sameOutput((s) => update(s, 'REMOVE #r SET #g = #g'));
    expect((await sameOutput((s) => byGroup(s, 'moved'))).Count).toBe(0);
  });

  it('stops a page at 1 MB at the same item', async () => {
    const big = 'x'.repeat(100_000);
    for (const s of [theirs, ours]) {
      for (let i = 0; i < 14; i++) await s.doc.send(new PutCommand({ TableName: TABLES.things, Item: { pk: 'big', sk: i, data: big } }));
    }
    const first = await sameOutput((s) => s.doc.send(new QueryCommand({ TableName: TABLES.things, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'big' }, ProjectionExpression: 'sk' })));
    expect(first.LastEvaluatedKey).toBeDefined();
    expect(first.Count).toBeLessThan(14);
    const rest = await sameOutput((s) =>
      s.doc.send(new QueryCommand({ TableName: TABLES.things, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'big' }, ProjectionExpression: 'sk', ExclusiveStartKey: first.LastEvaluatedKey as Record<string, unknown> })),
    );
    expect((first.Count as number) + (rest.Count as number)).toBe(14);
  });

  it('scans in the same order, pages with Limit, splits by segment and filters', async () => {
    let start: Record<string, unknown> | undefined;
    let total = 0;
    for (let page = 0; page < 20; page++) {
      const out = await sameOutput((s) =>
        s.doc.send(new ScanCommand({ TableName: TABLES.tracking, Limit: 3, ...(start ? { ExclusiveStartKey: start } : {}) })),
      );
      total += out.Count as number;
      start = out.LastEvaluatedKey as Record<string, unknown> | undefined;
      if (!start) break;
    }
    expect(total).toBeGreaterThan(9);
    // Pages through a scan on both sides, comparing every page; returns the items' keys.
    const scanAll = async (input: Record<string, unknown>) => {
      const keys: string[] = [];
      let from: Record<string, unknown> | undefined;
      for (let page = 0; page < 50; page++) {
        const out = await sameOutput((s) => s.doc.send(new ScanCommand({ TableName: TABLES.things, ...input, ...(from ? { ExclusiveStartKey: from } : {}) })));
        keys.push(...((out.Items as { pk: string; sk: number }[] | undefined) ?? []).map((item) => `${item.pk}/${item.sk}`));
        from = out.LastEvaluatedKey as Record<string, unknown> | undefined;
        if (!from) return keys;
      }
      throw new Error('scan did not finish');
    };
    const everything = await scanAll({ ProjectionExpression: 'pk, sk' });
    const segments = [...(await scanAll({ Segment: 0, TotalSegments: 3, ProjectionExpression: 'pk, sk' })), ...(await scanAll({ Segment: 1, TotalSegments: 3, ProjectionExpression: 'pk, sk' })), ...(await scanAll({ Segment: 2, TotalSegments: 3, ProjectionExpression: 'pk, sk' }))];
    expect(segments.sort()).toEqual([...everything].sort());
    expect(everything.filter((key) => key.startsWith('big/'))).toHaveLength(14);
    const noted = await scanAll({ FilterExpression: 'attribute_exists(note)', ProjectionExpression: 'pk, sk, note' });
    expect(noted.sort()).toEqual(['p/-10', 'p/-20', 'p/0', 'p/10', 'p/20', 'p/30', 'p/40', 'p/50']);
    const index = await sameOutput((s) => s.raw.send(new RawScanCommand({ TableName: TABLES.things, IndexName: 'by-tag' })));
    expect(index.Count).toBe(3);
  });

  it('refuses bad starting keys and key conditions as DynamoDB does', async () => {
    await sameError(
      (s) => s.doc.send(new QueryCommand({ TableName: TABLES.things, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'p' }, ExclusiveStartKey: { pk: 'other', sk: 1 } })),
      'ValidationException',
    );
    await sameError(
      (s) => s.doc.send(new QueryCommand({ TableName: TABLES.things, KeyConditionExpression: 'pk = :p AND sk > :s', ExpressionAttributeValues: { ':p': 'p', ':s': 5 }, ExclusiveStartKey: { pk: 'p', sk: 1 } })),
      'ValidationException',
    );
    await sameError((s) => s.doc.send(new QueryCommand({ TableName: TABLES.things, KeyConditionExpression: 'sk = :s', ExpressionAttributeValues: { ':s': 5 } })), 'ValidationException');
    await sameError((s) => s.doc.send(new QueryCommand({ TableName: TABLES.things, IndexName: 'nope', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'p' } })), 'ValidationException');
    await sameError(
      (s) => s.doc.send(new QueryCommand({ TableName: TABLES.tracking, IndexName: 'to-email-timestamp-index', KeyConditionExpression: 'toEmail = :t', ExpressionAttributeValues: { ':t': 'x' }, ConsistentRead: true })),
      'ValidationException',
    );
    await sameError((s) => s.doc.send(new QueryCommand({ TableName: TABLES.things, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 5 } })), 'ValidationException');
  });
});

describe('batches', () => {
  it('BatchGetItem reads across two tables with capacity and leaves nothing unprocessed', async () => {
    const out = await sameOutput(
      (s) =>
        s.raw.send(
          new BatchGetItemCommand({
            RequestItems: {
              [TABLES.tracking]: { Keys: [{ emailId: { S: 'q-1' } }, { emailId: { S: 'q-2' } }, { emailId: { S: 'absent' } }], ConsistentRead: true },
              [TABLES.things]: { Keys: [{ pk: { S: 'p' }, sk: { N: '10' } }], ProjectionExpression: 'note' },
            },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      sortResponses,
    );
    const responses = out.Responses as Record<string, unknown[]>;
    expect(responses[TABLES.tracking]).toHaveLength(2);
    expect(responses[TABLES.things]).toEqual([{ note: { S: 'n3' } }]);
    expect(out.UnprocessedKeys).toEqual({});
  });

  it('BatchGetItem refuses duplicates, more than 100 keys and a missing table', async () => {
    expect(
      await sameError((s) => s.raw.send(new BatchGetItemCommand({ RequestItems: { [TABLES.tracking]: { Keys: [{ emailId: { S: 'a' } }, { emailId: { S: 'a' } }] } } })), 'ValidationException'),
    ).toBe('Provided list of item keys contains duplicates');
    const keys = Array.from({ length: 60 }, (_, i) => ({ emailId: { S: `k${i}` } }));
    expect(
      await sameError(
        (s) => s.raw.send(new BatchGetItemCommand({ RequestItems: { [TABLES.tracking]: { Keys: keys }, [TABLES.suppression]: { Keys: keys.map((k) => ({ email: k.emailId })) } } })),
        'ValidationException',
      ),
    ).toBe('Too many items requested for the BatchGetItem call');
    expect(await sameError((s) => s.raw.send(new BatchGetItemCommand({ RequestItems: { 'diff-Nope': { Keys: [{ a: { S: 'a' } }] } } })), 'ResourceNotFoundException')).toBe(
      'Requested resource not found',
    );
  });

  it('BatchWriteItem puts and deletes in two tables, refusing 26 writes and duplicate keys', async () => {
    const out = await sameOutput((s) =>
      s.doc.send(
        new BatchWriteCommand({
          RequestItems: {
            [TABLES.suppression]: [
              { PutRequest: { Item: { email: 'w1@example.com', suppressionType: 'manual', addedToSuppressionDate: '2025-01-01' } } },
              { PutRequest: { Item: { email: 'w2@example.com', suppressionType: 'manual', addedToSuppressionDate: '2025-01-02' } } },
            ],
            [TABLES.tracking]: [{ DeleteRequest: { Key: { emailId: 'q-8' } } }],
          },
          ReturnConsumedCapacity: 'INDEXES',
        }),
      ),
    );
    expect(out.UnprocessedItems).toEqual({});
    const manual = await sameOutput((s) =>
      s.doc.send(new QueryCommand({ TableName: TABLES.suppression, IndexName: 'suppression-type-date-index', KeyConditionExpression: 'suppressionType = :t', ExpressionAttributeValues: { ':t': 'manual' } })),
    );
    expect(manual.Count).toBe(2);
    const many = Array.from({ length: 26 }, (_, i) => ({ PutRequest: { Item: { email: `m${i}@example.com` } } }));
    await sameError((s) => s.doc.send(new BatchWriteCommand({ RequestItems: { [TABLES.suppression]: many } })), 'ValidationException');
    expect(
      await sameError(
        (s) => s.doc.send(new BatchWriteCommand({ RequestItems: { [TABLES.suppression]: [{ PutRequest: { Item: { email: 'd' } } }, { DeleteRequest: { Key: { email: 'd' } } }] } })),
        'ValidationException',
      ),
    ).toBe('Provided list of item keys contains duplicates');
    expect(
      await sameError((s) => s.doc.send(new BatchWriteCommand({ RequestItems: { [TABLES.suppression]: [{ PutRequest: { Item: { nope: 'd' } } }] } })), 'ValidationException'),
    ).toBe('The provided key element does not match the schema');
  });
});

describe('transactions (as DynamoDB documents them; dynalite has none)', () => {
  it('TransactWriteItems applies all four kinds together', async () => {
    await oursOnly((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.things, Item: { pk: { S: 'tx' }, sk: { N: '1' }, v: { N: '1' } } })));
    await oursOnly((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.things, Item: { pk: { S: 'tx' }, sk: { N: '2' } } })));
    const result = await oursOnly((s) =>
      s.raw.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { ConditionCheck: { TableName: TABLES.things, Key: { pk: { S: 'tx' }, sk: { N: '1' } }, ConditionExpression: 'v = :one', ExpressionAttributeValues: { ':one': { N: '1' } } } },
            { Put: { TableName: TABLES.things, Item: { pk: { S: 'tx' }, sk: { N: '3' }, v: { S: 'new' } } } },
            { Update: { TableName: TABLES.things, Key: { pk: { S: 'tx' }, sk: { N: '4' } }, UpdateExpression: 'ADD c :n', ExpressionAttributeValues: { ':n': { N: '5' } } } },
            { Delete: { TableName: TABLES.things, Key: { pk: { S: 'tx' }, sk: { N: '2' } } } },
          ],
        }),
      ),
    );
    expect(result).toEqual({ ok: true, output: {} });
    const items = await oursOnly((s) => s.doc.send(new QueryCommand({ TableName: TABLES.things, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'tx' } })));
    expect(items.ok && items.output.Items).toEqual([
      { pk: 'tx', sk: 1, v: 1 },
      { pk: 'tx', sk: 3, v: 'new' },
      { pk: 'tx', sk: 4, c: 5 },
    ]);
  });

  it('a failed condition cancels the whole transaction with a reason per item', async () => {
    const result = await oursOnly((s) =>
      s.raw.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLES.things, Item: { pk: { S: 'tx' }, sk: { N: '9' } } } },
            {
              Update: {
                TableName: TABLES.things,
                Key: { pk: { S: 'tx' }, sk: { N: '1' } },
                UpdateExpression: 'SET v = :two',
                ConditionExpression: 'v = :zero',
                ExpressionAttributeValues: { ':two': { N: '2' }, ':zero': { N: '0' } },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      ),
    );
    expect(result).toEqual({
      ok: false,
      error: 'TransactionCanceledException',
      message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]',
      CancellationReasons: [
        { Code: 'None' },
        { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { pk: { S: 'tx' }, sk: { N: '1' }, v: { N: '1' } } },
      ],
    });
    const nine = await oursOnly((s) => s.raw.send(new GetItemCommand({ TableName: TABLES.things, Key: { pk: { S: 'tx' }, sk: { N: '9' } } })));
    expect(nine).toEqual({ ok: true, output: {} });
    const twice = await oursOnly((s) =>
      s.raw.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLES.things, Item: { pk: { S: 'tx' }, sk: { N: '9' } } } },
            { Delete: { TableName: TABLES.things, Key: { pk: { S: 'tx' }, sk: { N: '9' } } } },
          ],
        }),
      ),
    );
    expect(twice).toEqual({ ok: false, error: 'ValidationException', message: 'Transaction request cannot include multiple operations on one item' });
  });

  it('TransactGetItems answers one entry per request, empty for a missing item', async () => {
    const result = await oursOnly((s) =>
      s.raw.send(
        new TransactGetItemsCommand({
          TransactItems: [
            { Get: { TableName: TABLES.things, Key: { pk: { S: 'tx' }, sk: { N: '3' } }, ProjectionExpression: 'v' } },
            { Get: { TableName: TABLES.things, Key: { pk: { S: 'tx' }, sk: { N: '8' } } } },
          ],
        }),
      ),
    );
    expect(result).toEqual({ ok: true, output: { Responses: [{ Item: { v: { S: 'new' } } }, {}] } });
  });
});

describe('errors', () => {
  it('names a missing table as DynamoDB does for each action', async () => {
    for (const send of [
      (s: Side) => s.raw.send(new GetItemCommand({ TableName: 'diff-Missing', Key: { a: { S: 'a' } } })),
      (s: Side) => s.raw.send(new PutItemCommand({ TableName: 'diff-Missing', Item: { a: { S: 'a' } } })),
      (s: Side) => s.raw.send(new UpdateItemCommand({ TableName: 'diff-Missing', Key: { a: { S: 'a' } } })),
      (s: Side) => s.raw.send(new DeleteItemCommand({ TableName: 'diff-Missing', Key: { a: { S: 'a' } } })),
      (s: Side) => s.raw.send(new RawQueryCommand({ TableName: 'diff-Missing', KeyConditionExpression: 'a = :a', ExpressionAttributeValues: { ':a': { S: 'a' } } })),
      (s: Side) => s.raw.send(new RawScanCommand({ TableName: 'diff-Missing' })),
    ]) {
      expect(await sameError(send, 'ResourceNotFoundException')).toBe('Requested resource not found');
    }
  });

  it('refuses keys that do not match the schema', async () => {
    const cases: Record<string, unknown>[] = [
      { emailId: { N: '1' } },
      { other: { S: 'a' } },
      { emailId: { S: 'a' }, extra: { S: 'b' } },
      { emailId: { S: '' } },
    ];
    for (const Key of cases) {
      await sameError((s) => s.raw.send(new GetItemCommand({ TableName: TABLES.tracking, Key: Key as never })), 'ValidationException');
    }
    await sameError((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.tracking, Item: { emailId: { N: '1' } } })), 'ValidationException');
    await sameError((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.tracking, Item: { other: { S: '1' } } })), 'ValidationException');
    await sameError((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.tracking, Item: { emailId: { S: '' } } })), 'ValidationException');
    await sameError((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.tracking, Item: { emailId: { S: 'x' }, toEmail: { N: '1' } } })), 'ValidationException');
  });

  it('refuses an update of a key attribute', async () => {
    const message = await sameError(
      (s) => s.doc.send(new UpdateCommand({ TableName: TABLES.tracking, Key: { emailId: 'e-1' }, UpdateExpression: 'SET emailId = :e', ExpressionAttributeValues: { ':e': 'e-2' } })),
      'ValidationException',
    );
    expect(message).toBe('One or more parameter values were invalid: Cannot update attribute emailId. This attribute is part of the key');
  });

  it('refuses an item over 400 KB', async () => {
    const message = await sameError(
      (s) => s.doc.send(new PutCommand({ TableName: TABLES.counters, Item: { pk: 'huge', data: 'x'.repeat(410_000) } })),
      'ValidationException',
    );
    expect(message).toBe('Item size has exceeded the maximum allowed size');
  });

  it('reports member constraints, bad values and expression mistakes with the same wording', async () => {
    expect(await sameError((s) => s.raw.send(new GetItemCommand({ TableName: 'ab', Key: { a: { S: 'a' } } })), 'ValidationException')).toContain(
      "at 'tableName' failed to satisfy constraint",
    );
    await sameError((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.counters, Item: { pk: { S: 'n' }, n: { N: 'abc' } } })), 'ValidationException');
    await sameError((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.counters, Item: { pk: { S: 'n' }, s: { SS: ['a', 'a'] } } })), 'ValidationException');
    await sameError((s) => s.raw.send(new PutItemCommand({ TableName: TABLES.counters, Item: { pk: { S: 'n' }, s: { NS: [] } } })), 'ValidationException');
    await sameError(
      (s) => s.doc.send(new UpdateCommand({ TableName: TABLES.counters, Key: { pk: 'n' }, UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': 1, ':b': 2 } })),
      'ValidationException',
    );
    await sameError(
      (s) => s.doc.send(new GetCommand({ TableName: TABLES.counters, Key: { pk: 'n' }, ExpressionAttributeNames: { '#a': 'a' } })),
      'ValidationException',
    );
  });

  it('words an expression syntax error as DynamoDB does (dynalite words it as its parser generator does)', async () => {
    const send = (s: Side) => s.doc.send(new UpdateCommand({ TableName: TABLES.counters, Key: { pk: 'n' }, UpdateExpression: 'SET a = ' }));
    expect(await outcome(theirs, send)).toMatchObject({ ok: false, error: 'ValidationException' });
    expect(await oursOnly(send)).toEqual({ ok: false, error: 'ValidationException', message: 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "="' });
  });

  it('answers unknown targets and bodies that are not JSON as DynamoDB does over HTTP', async () => {
    const post = async (endpoint: string, target: string, body: string) => {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': target,
          'x-amz-date': '20250101T000000Z',
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc',
        },
        body,
      });
      return { status: res.status, requestId: res.headers.get('x-amzn-requestid') !== null, body: await res.text() };
    };
    for (const [target, body] of [
      ['DynamoDB_20120810.Frobnicate', '{}'],
      ['Nope', '{}'],
      ['DynamoDB_20120810.GetItem', '{not json'],
      ['DynamoDB_20120810.GetItem', ''],
    ] as const) {
      expect(await post(ours.endpoint, target, body)).toEqual(await post(theirs.endpoint, target, body));
    }
  });
});

describe('numbers, capacity and copies', () => {
  it('stores numbers in canonical form and answers capacity as DynamoDB counts it', async () => {
    for (const mode of ['TOTAL', 'INDEXES'] as const) {
      const put = await sameOutput((s) =>
        s.raw.send(
          new PutItemCommand({ TableName: TABLES.counters, Item: { pk: { S: 'num' }, a: { N: '0001.2300' }, b: { N: '-0' }, c: { NS: ['1e3', '5', '-2.50'] }, d: { S: 'y'.repeat(3000) } }, ReturnConsumedCapacity: mode }),
        ),
      );
      expect(put.ConsumedCapacity).toBeDefined();
      const get = await sameOutput((s) => s.raw.send(new GetItemCommand({ TableName: TABLES.counters, Key: { pk: { S: 'num' } }, ReturnConsumedCapacity: mode })));
      expect((get.Item as Record<string, unknown>).a).toEqual({ N: '1.23' });
      await sameOutput((s) => s.raw.send(new GetItemCommand({ TableName: TABLES.counters, Key: { pk: { S: 'num' } }, ConsistentRead: true, ReturnConsumedCapacity: mode })));
      await sameOutput((s) => s.raw.send(new UpdateItemCommand({ TableName: TABLES.counters, Key: { pk: { S: 'num' } }, UpdateExpression: 'ADD a :x', ExpressionAttributeValues: { ':x': { N: '0.77' } }, ReturnConsumedCapacity: mode })));
      await sameOutput((s) => s.raw.send(new DeleteItemCommand({ TableName: TABLES.counters, Key: { pk: { S: 'nothing' } }, ReturnConsumedCapacity: mode })));
    }
  });

  it('does not share state with callers of call()', () => {
    const item = { pk: { S: 'copy' }, list: { L: [{ S: 'a' }] } };
    const body = JSON.stringify({ TableName: TABLES.counters, Item: item });
    expect(store.call('PutItem', body).statusCode).toBe(200);
    const first = JSON.parse(store.call('GetItem', JSON.stringify({ TableName: TABLES.counters, Key: { pk: { S: 'copy' } } })).body) as { Item: typeof item };
    first.Item.list.L.push({ S: 'changed' });
    const second = JSON.parse(store.call('GetItem', JSON.stringify({ TableName: TABLES.counters, Key: { pk: { S: 'copy' } } })).body) as { Item: typeof item };
    expect(second.Item).toEqual(item);
  });
});

/** The answer body of one call to a fresh in-memory store. */
function freshCall(operation: string, input: object): string {
  return fresh!.call(operation, JSON.stringify(input)).body;
}
let fresh: LocalDynamoDb | undefined;

describe('persistence', () => {
  beforeAll(async () => {
    fresh = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000' });
  });

  const dir = mkdtempSync(join(tmpdir(), 'sesmailengine-local-ddb-'));
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await fresh?.close();
  });

  it('saves on close and restores tables, indexes, TTL and items on open', async () => {
    const dataFile = join(dir, 'state.json');
    const first = await LocalDynamoDb.open({ region: 'eu-west-1', account: '123456789012', dataFile });
    expect(first.call('CreateTable', JSON.stringify(createTableInput('Saved', TRACKING_TABLE))).statusCode).toBe(200);
    first.call('UpdateTimeToLive', JSON.stringify({ TableName: 'Saved', TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }));
    const item = { emailId: { S: 'p-1' }, toEmail: { S: 'a@example.com' }, timestamp: { S: '2025-01-01' }, n: { N: '1.5' } };
    expect(first.call('PutItem', JSON.stringify({ TableName: 'Saved', Item: item })).statusCode).toBe(200);
    await first.close();

    const second = await LocalDynamoDb.open({ region: 'eu-west-1', account: '123456789012', dataFile });
    const got = JSON.parse(second.call('GetItem', JSON.stringify({ TableName: 'Saved', Key: { emailId: { S: 'p-1' } } })).body) as unknown;
    expect(got).toEqual({ Item: item });
    const queried = JSON.parse(
      second.call(
        'Query',
        JSON.stringify({ TableName: 'Saved', IndexName: 'to-email-timestamp-index', KeyConditionExpression: 'toEmail = :t', ExpressionAttributeValues: { ':t': { S: 'a@example.com' } } }),
      ).body,
    ) as { Count: number };
    expect(queried.Count).toBe(1);
    const ttl = JSON.parse(second.call('DescribeTimeToLive', JSON.stringify({ TableName: 'Saved' })).body) as unknown;
    expect(ttl).toEqual({ TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' } });
    await second.close();
  });

  it('writes a large store in chunks and reads every item back', async () => {
    const dataFile = join(dir, 'large.json');
    const first = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile });
    first.call('CreateTable', JSON.stringify(createTableInput('Many', SUPPRESSION_TABLE)));
    first.call('CreateTable', JSON.stringify(createTableInput('Empty', COUNTERS_TABLE)));
    for (let i = 0; i < 1234; i++) {
      const put = first.call('PutItem', JSON.stringify({ TableName: 'Many', Item: { email: { S: `a${i}@example.com` }, suppressionType: { S: 'manual' }, addedToSuppressionDate: { S: String(i).padStart(5, '0') } } }));
      expect(put.statusCode).toBe(200);
    }
    await first.close();
    const second = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile });
    const count = (table: string) => (JSON.parse(second.call('Scan', JSON.stringify({ TableName: table, Select: 'COUNT' })).body) as { Count: number }).Count;
    expect(count('Many')).toBe(1234);
    expect(count('Empty')).toBe(0);
    const newest = JSON.parse(
      second.call(
        'Query',
        JSON.stringify({ TableName: 'Many', IndexName: 'suppression-type-date-index', KeyConditionExpression: 'suppressionType = :t', ExpressionAttributeValues: { ':t': { S: 'manual' } }, ScanIndexForward: false, Limit: 1 }),
      ).body,
    ) as { Items: { email: { S: string } }[] };
    expect(newest.Items[0]!.email.S).toBe('a1233@example.com');
    await second.close();
  });

  it('saves about a second after the journal reached the fold size, and not before, without waiting for close', async () => {
    const dataFile = join(dir, 'debounced.json');
    const db = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile, foldBytes: 1 });
    db.call('CreateTable', JSON.stringify(createTableInput('Later', COUNTERS_TABLE)));
    const smallFile = join(dir, 'small-journal.json');
    const small = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile: smallFile });
    small.call('CreateTable', JSON.stringify(createTableInput('Later', COUNTERS_TABLE)));
    expect(existsSync(dataFile)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const saved = JSON.parse(readFileSync(dataFile, 'utf8')) as { version: number; tables: { definition: { TableName: string } }[] };
    expect(saved.version).toBe(1);
    expect(saved.tables.map((t) => t.definition.TableName)).toEqual(['Later']);
    // Below the default fold size (8 MiB) the change stays in the journal until close.
    expect(existsSync(smallFile)).toBe(false);
    await Promise.all([db.close(), small.close()]);
    expect(existsSync(smallFile)).toBe(true);
  });

  it('refuses a corrupt data file, naming it', async () => {
    const dataFile = join(dir, 'corrupt.json');
    writeFileSync(dataFile, '{"version": 1, "tables": [');
    await expect(LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile })).rejects.toThrow(dataFile);
    writeFileSync(dataFile, '{"version": 7}');
    await expect(LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile })).rejects.toThrow(dataFile);
    const definition = JSON.parse(freshCall('CreateTable', createTableInput('Keyless', COUNTERS_TABLE))).TableDescription as object;
    writeFileSync(dataFile, JSON.stringify({ version: 1, tables: [{ definition, items: [{ notTheKey: { S: 'x' } }] }] }));
    await expect(LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile })).rejects.toThrow(
      `The DynamoDB data file ${dataFile} holds a table that cannot be restored: One or more parameter values were invalid: Missing the key pk in the item`,
    );
  });
  it('keeps the changes of a save that failed in the journal and writes them at close, leaving no temporary file', async () => {
    const folder = join(dir, 'failing');
    mkdirSync(folder);
    const dataFile = join(folder, 'tables.json');
    const db = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile, foldBytes: 1 });
    // A folder where the file should be: the rename at the end of each save fails.
    mkdirSync(dataFile);
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((text: string) => errors.push(String(text)) > 0) as typeof process.stderr.write;
    try {
      db.call('CreateTable', JSON.stringify(createTableInput('Kept', COUNTERS_TABLE)));
      await new Promise((resolve) => setTimeout(resolve, 1300));
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toContain(`Could not save the DynamoDB data file ${dataFile}`);
    // No temporary file; the change is still in the journal.
    expect(readdirSync(folder).sort()).toEqual(['tables.1.journal', 'tables.json']);
    rmSync(dataFile, { recursive: true });
    await db.close();
    expect(readdirSync(folder)).toEqual(['tables.json']);
    const saved = JSON.parse(readFileSync(dataFile, 'utf8')) as { tables: { definition: { TableName: string } }[] };
    expect(saved.tables.map((t) => t.definition.TableName)).toEqual(['Kept']);
  });

  it('checks restored items as requests are checked: numbers made canonical, malformed values refused', async () => {
    const dataFile = join(dir, 'numbers.json');
    const definition = JSON.parse(
      freshCall('CreateTable', {
        TableName: 'Numbered',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'n', AttributeType: 'N' }],
        KeySchema: [{ AttributeName: 'n', KeyType: 'HASH' }],
      }),
    ).TableDescription as object;
    writeFileSync(dataFile, JSON.stringify({ version: 1, tables: [{ definition, items: [{ n: { N: '1.50' }, v: { S: 'one and a half' } }] }] }));
    const db = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile });
    const got = JSON.parse(db.call('GetItem', JSON.stringify({ TableName: 'Numbered', Key: { n: { N: '1.5' } } })).body) as { Item?: unknown };
    expect(got.Item).toEqual({ n: { N: '1.5' }, v: { S: 'one and a half' } });
    await db.close();
    writeFileSync(dataFile, JSON.stringify({ version: 1, tables: [{ definition, items: [{ n: { N: '2' }, v: { Q: 'x' } }] }] }));
    await expect(LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000', dataFile })).rejects.toThrow(
      `The DynamoDB data file ${dataFile} holds a table that cannot be restored: Supplied AttributeValue is empty`,
    );
  });
});

describe('attribute and table names that are Object.prototype members, and bounded work (store only)', () => {
  let db: LocalDynamoDb;
  const call = (operation: string, input: unknown) => {
    const answer = db.call(operation, typeof input === 'string' ? input : JSON.stringify(input));
    return { status: answer.statusCode, body: JSON.parse(answer.body) as Record<string, unknown> };
  };
  beforeAll(async () => {
    db = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000' });
  });
  afterAll(async () => {
    await db.close();
  });

  it("stores items without an index key named 'constructor' and leaves them out of that index", () => {
    expect(
      call('CreateTable', {
        TableName: 'Protos',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'constructor', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [{ IndexName: 'byConstructor', KeySchema: [{ AttributeName: 'constructor', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
      }).status,
    ).toBe(200);
    expect(call('PutItem', { TableName: 'Protos', Item: { pk: { S: 'plain' }, toString: { S: 'kept' } } })).toEqual({ status: 200, body: {} });
    expect(call('PutItem', { TableName: 'Protos', Item: { pk: { S: 'indexed' }, constructor: { S: 'c' } } }).status).toBe(200);
    const got = call('GetItem', { TableName: 'Protos', Key: { pk: { S: 'plain' } }, AttributesToGet: ['toString', 'hasOwnProperty', 'pk'] });
    expect(got.body).toEqual({ Item: { pk: { S: 'plain' }, toString: { S: 'kept' } } });
    const scan = call('Scan', { TableName: 'Protos', IndexName: 'byConstructor' });
    expect(scan.body.Items).toEqual([{ pk: { S: 'indexed' }, constructor: { S: 'c' } }]);
    const missing = call('PutItem', { TableName: 'Protos', Item: { constructor: { S: 'c' } } });
    expect(missing.body.message).toBe('One or more parameter values were invalid: Missing the key pk in the item');
  });

  it("answers a '__proto__' key attribute in LastEvaluatedKey and a '__proto__' table in BatchGetItem", () => {
    call('CreateTable', {
      TableName: '__proto__',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'h', AttributeType: 'S' },
        { AttributeName: '__proto__', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'h', KeyType: 'HASH' },
        { AttributeName: '__proto__', KeyType: 'RANGE' },
      ],
    });
    for (const range of ['a', 'b']) {
      expect(call('PutItem', `{"TableName":"__proto__","Item":{"h":{"S":"x"},"__proto__":{"S":"${range}"}}}`).status).toBe(200);
    }
    const page = call('Query', {
      TableName: '__proto__',
      KeyConditionExpression: 'h = :h',
      ExpressionAttributeValues: { ':h': { S: 'x' } },
      Limit: 1,
    });
    expect(JSON.stringify(page.body.LastEvaluatedKey)).toBe('{"h":{"S":"x"},"__proto__":{"S":"a"}}');
    const next = call('Query', `{"TableName":"__proto__","KeyConditionExpression":"h = :h","ExpressionAttributeValues":{":h":{"S":"x"}},"ExclusiveStartKey":${JSON.stringify(page.body.LastEvaluatedKey)}}`);
    expect(JSON.stringify(next.body.Items)).toBe('[{"h":{"S":"x"},"__proto__":{"S":"b"}}]');
    const batch = call('BatchGetItem', '{"RequestItems":{"__proto__":{"Keys":[{"h":{"S":"x"},"__proto__":{"S":"b"}}]}}}');
    expect(JSON.stringify(batch.body.Responses)).toBe('{"__proto__":[{"h":{"S":"x"},"__proto__":{"S":"b"}}]}');
    // Two items that differ only in the '__proto__' range key are two items to a transaction.
    const transaction = call(
      'TransactWriteItems',
      '{"TransactItems":[{"Delete":{"TableName":"__proto__","Key":{"h":{"S":"x"},"__proto__":{"S":"a"}}}},{"Delete":{"TableName":"__proto__","Key":{"h":{"S":"x"},"__proto__":{"S":"b"}}}}]}',
    );
    expect(transaction).toEqual({ status: 200, body: {} });
  });

  it('appends for a list index far past the end without building a list that long', () => {
    call('CreateTable', {
      TableName: 'Lists',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    });
    call('PutItem', { TableName: 'Lists', Item: { pk: { S: 'l' }, l: { L: [{ S: 'a' }, { S: 'b' }] } } });
    const started = performance.now();
    const updated = call('UpdateItem', {
      TableName: 'Lists',
      Key: { pk: { S: 'l' } },
      UpdateExpression: 'SET l[4294967294] = :late, l[100000000] = :early REMOVE l[0]',
      ExpressionAttributeValues: { ':late': { S: 'late' }, ':early': { S: 'early' } },
      ReturnValues: 'ALL_NEW',
    });
    expect(performance.now() - started).toBeLessThan(500);
    expect(updated.body.Attributes).toEqual({ pk: { S: 'l' }, l: { L: [{ S: 'b' }, { S: 'early' }, { S: 'late' }] } });
  });

  it('refuses documents nested more than 32 levels, by PutItem or by an update that deepens one', () => {
    const nested = (levels: number): unknown => (levels === 0 ? { S: 'x' } : { M: { m: nested(levels - 1) } });
    expect(call('PutItem', { TableName: 'Lists', Item: { pk: { S: 'deep' }, d: nested(32) } }).status).toBe(200);
    const tooDeep = call('PutItem', { TableName: 'Lists', Item: { pk: { S: 'deeper' }, d: { L: [nested(32)] } } });
    expect(tooDeep.body.message).toBe('One or more parameter values were invalid: Nesting Levels have exceeded supported limits');
    const deepening = call('UpdateItem', {
      TableName: 'Lists',
      Key: { pk: { S: 'deep' } },
      UpdateExpression: 'SET d.m.m = :v',
      ExpressionAttributeValues: { ':v': nested(31) },
    });
    expect(deepening.body.message).toBe('One or more parameter values were invalid: Nesting Levels have exceeded supported limits');
    // The table stays readable as a whole.
    expect(call('Scan', { TableName: 'Lists' }).status).toBe(200);
  });
});
