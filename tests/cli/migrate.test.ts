import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CliError } from '../../src/errors.js';
import { CHECKPOINT_FILE, migrate, type MigrateOptions, type MigrateReport } from '../../src/commands/migrate.js';
import { diagnoseCommand } from '../../src/commands/diagnose.js';
import { suppressionList } from '../../src/commands/suppression.js';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { captureIo } from '../support/cli-harness.js';
import { FakeCloudFormation } from '../support/fake-cloudformation.js';

/**
 * `sesmailengine migrate` against fakes of the original engine's tables: `sesmailengine-
 * EmailTracking` and `sesmailengine-Suppression` made in the DynamoDB stand-in with the
 * keys and indexes its documents give, holding items in the shape they show. The target is
 * this engine's stack `mail` (CloudFormation fake, tables on the same stand-in).
 */

const sts = mockClient(STSClient);
let aws: StandIns;
let cfn: FakeCloudFormation;
let cwd: string;
const SOURCE = { tracking: 'sesmailengine-EmailTracking', suppression: 'sesmailengine-Suppression' };

/** The original's tracking records, as the integration guide shows them (plus filler). */
const TRACKING = [
  { emailId: 'email-abc123', originalEmailId: 'email-abc123', retryAttempt: 0, status: 'soft_bounced', toEmail: 'user@example.com', templateName: 'welcome', timestamp: '2024-12-14T10:30:00Z', datePartition: '2024-12-14', originalSource: 'my.application', metadata: { campaignId: 'summer-sale-2024' } },
  { emailId: 'email-def456', originalEmailId: 'email-abc123', retryAttempt: 1, status: 'delivered', toEmail: 'user@example.com', templateName: 'welcome', timestamp: '2024-12-14T10:45:00Z', datePartition: '2024-12-14', originalSource: 'my.application' },
  { emailId: 'my-custom-id-123', status: 'opened', toEmail: 'reader@example.com', templateName: 'newsletter', timestamp: '2024-12-22T08:00:00Z', openedAt: '2024-12-22T09:00:00Z', openCount: 2 },
  { emailId: 'email-failed', status: 'failed', toEmail: 'x@example.com', timestamp: '2024-12-22T08:01:00Z', datePartition: '2024-12-22', errorMessage: 'Template not found' },
  ...Array.from({ length: 41 }, (_, i) => ({ emailId: `email-bulk-${i}`, status: 'sent', toEmail: `bulk${i}@example.com`, timestamp: `2024-12-2${i % 10}T00:00:${String(i).padStart(2, '0')}Z`, datePartition: `2024-12-2${i % 10}` })),
];
/** The original's suppression entries: email, reason, suppressionType, addedToSuppressionDate. */
const SUPPRESSION = [
  { email: 'olduser@example.com', reason: 'hard-bounce', suppressionType: 'bounce', addedToSuppressionDate: '2024-12-14T10:31:00Z' },
  { email: 'soft@example.com', reason: 'consecutive-soft-bounces', suppressionType: 'bounce', addedToSuppressionDate: '2024-12-15T00:00:00Z' },
  { email: 'angry@example.com', reason: 'spam-complaint', suppressionType: 'complaint', addedToSuppressionDate: '2024-12-16T00:00:00Z' },
  { email: 'kept@example.com', reason: 'hard-bounce', suppressionType: 'bounce', addedToSuppressionDate: '2024-12-17T00:00:00Z' },
  ...Array.from({ length: 20 }, (_, i) => ({ email: `gone${i}@example.com`, reason: 'hard-bounce', suppressionType: 'bounce', addedToSuppressionDate: `2024-11-${String(i + 1).padStart(2, '0')}T00:00:00Z` })),
];

async function createOriginalTables(ddb: DynamoDBDocumentClient): Promise<void> {
  const all = (name: string, hash: string, range: string) => ({
    IndexName: name,
    KeySchema: [{ AttributeName: hash, KeyType: 'HASH' as const }, { AttributeName: range, KeyType: 'RANGE' as const }],
    Projection: { ProjectionType: 'ALL' as const },
  });
  await ddb.send(
    new CreateTableCommand({
      TableName: SOURCE.tracking,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['emailId', 'toEmail', 'timestamp', 'originalEmailId', 'datePartition'].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
      KeySchema: [{ AttributeName: 'emailId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        all('to-email-timestamp-index', 'toEmail', 'timestamp'),
        all('original-email-id-index', 'originalEmailId', 'timestamp'),
        all('date-partition-index', 'datePartition', 'timestamp'),
      ],
    }),
  );
  await ddb.send(
    new CreateTableCommand({
      TableName: SOURCE.suppression,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['email', 'suppressionType', 'addedToSuppressionDate'].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
      KeySchema: [{ AttributeName: 'email', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [all('suppression-type-date-index', 'suppressionType', 'addedToSuppressionDate')],
    }),
  );
  for (const [table, items] of [[SOURCE.tracking, TRACKING], [SOURCE.suppression, SUPPRESSION]] as const) {
    for (let i = 0; i < items.length; i += 25) {
      await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    }
  }
}

async function scanAll(table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await aws.ddb.send(new ScanCommand({ TableName: table, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

const migrated = async (table: string) => (await scanAll(table)).filter((item) => item.migratedFrom !== undefined);

beforeAll(async () => {
  aws = await startStandIns('mail');
  await createOriginalTables(aws.ddb);
  cfn = new FakeCloudFormation();
  cfn.seed('sesmailengine', 'UPDATE_COMPLETE', { DefaultSenderEmail: 'noreply@example.com' }, { EventBusName: 'sesmailengine-EmailBus' });
  cfn.seed(
    'mail',
    'CREATE_COMPLETE',
    {},
    {
      EventBusName: 'mail-EmailBus',
      EmailTrackingTableName: aws.tables.tracking,
      SuppressionTableName: aws.tables.suppression,
      CountersTableName: aws.tables.counters,
      TemplateBucketName: aws.bucket,
      EngineVersion: '0.1.0',
    },
  );
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev' });
  cwd = mkdtempSync(join(tmpdir(), 'sme-migrate-'));
  // This engine already knows kept@example.com (a newer entry): migrate must leave it.
  await aws.ddb.send(new PutCommand({ TableName: aws.tables.suppression, Item: { email: 'kept@example.com', reason: 'manual', suppressionType: 'manual', createdAt: '2026-01-01T00:00:00.000Z', addedToSuppressionDate: '2026-01-01T00:00:00.000Z' } }));
}, 60_000);

afterAll(async () => {
  cfn?.restore();
  sts.restore();
  await aws?.stop();
  rmSync(cwd, { recursive: true, force: true });
});

function options(extra: Partial<MigrateOptions> = {}, ddb: DynamoDBDocumentClient = aws.ddb): MigrateOptions {
  return { stackName: 'mail', region: 'us-east-1', cwd, io: captureIo(), json: true, pageSize: 10, clients: { ddb }, ...extra };
}

async function run(extra: Partial<MigrateOptions> = {}, ddb?: DynamoDBDocumentClient): Promise<MigrateReport> {
  const io = captureIo();
  expect(await migrate(options({ ...extra, io }, ddb))).toBe(0);
  return JSON.parse(io.out()) as MigrateReport;
}

async function cliError(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

const byKind = (report: MigrateReport, kind: string) => report.tables.find((t) => t.kind === kind)!;

describe('migrate', () => {
  it('finds the original by the seeds’ names and, as a dry run, says what it would copy and writes nothing', async () => {
    const report = await run();
    expect(report.apply).toBe(false);
    expect(report.sourceStack).toMatchObject({ name: 'sesmailengine', status: 'UPDATE_COMPLETE', note: 'the original engine' });
    expect(byKind(report, 'tracking')).toMatchObject({ source: SOURCE.tracking, target: aws.tables.tracking, scanned: TRACKING.length, copied: TRACKING.length, present: 0 });
    expect(byKind(report, 'suppression')).toMatchObject({ source: SOURCE.suppression, scanned: SUPPRESSION.length, copied: SUPPRESSION.length - 1, present: 1 });
    expect(await migrated(aws.tables.tracking)).toEqual([]);
    expect(await migrated(aws.tables.suppression)).toEqual([]);
    expect(existsSync(join(cwd, CHECKPOINT_FILE))).toBe(false);
  });

  it('interrupted by a failing write, saves its position; the next --apply resumes there and copies each item once', async () => {
    let puts = 0;
    const failing = {
      send: (command: unknown) => {
        if (command instanceof PutCommand && command.input.TableName === aws.tables.tracking && ++puts === 25) {
          return Promise.reject(Object.assign(new Error('Throughput exceeds the current capacity of your table'), { name: 'ProvisionedThroughputExceededException' }));
        }
        return aws.ddb.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const error = await cliError(migrate(options({ apply: true }, failing)));
    expect(error.code).toBe('MIG004');
    expect(error.fix).toContain(CHECKPOINT_FILE);
    const saved = JSON.parse(readFileSync(join(cwd, CHECKPOINT_FILE), 'utf8'));
    const trackingSaved = saved.tables[`${SOURCE.tracking} -> ${aws.tables.tracking}`];
    expect(trackingSaved).toMatchObject({ done: false, scanned: 20 });
    expect(trackingSaved.lastKey).toBeDefined();
    expect(saved.tables[`${SOURCE.suppression} -> ${aws.tables.suppression}`]).toMatchObject({ done: true, copied: SUPPRESSION.length - 1, present: 1 });

    const report = await run({ apply: true });
    const tracking = byKind(report, 'tracking');
    expect(tracking).toMatchObject({ resumed: true, done: true, scanned: TRACKING.length, skipped: 0 });
    // Items of the interrupted page that were written before the failure count as present now.
    expect(tracking.copied + tracking.present).toBe(TRACKING.length);
    expect(byKind(report, 'suppression')).toMatchObject({ resumed: false, copied: 0, present: SUPPRESSION.length });
    expect(await migrated(aws.tables.tracking)).toHaveLength(TRACKING.length);
    expect(await migrated(aws.tables.suppression)).toHaveLength(SUPPRESSION.length - 1);
  });

  it('keeps every original attribute and adds what this engine relies on; an entry this engine had is left as it was', async () => {
    const records = new Map((await scanAll(aws.tables.tracking)).map((r) => [r.emailId as string, r]));
    expect(records.get('email-def456')).toEqual({ ...TRACKING[1], statusRank: 6, migratedFrom: SOURCE.tracking });
    expect(records.get('my-custom-id-123')).toEqual({ ...TRACKING[2], statusRank: 7, originalEmailId: 'my-custom-id-123', retryAttempt: 0, datePartition: '2024-12-22', migratedFrom: SOURCE.tracking });
    const entries = new Map((await scanAll(aws.tables.suppression)).map((e) => [e.email as string, e]));
    expect(entries.get('olduser@example.com')).toEqual({ ...SUPPRESSION[0], createdAt: '2024-12-14T10:31:00Z', migratedFrom: SOURCE.suppression });
    expect(entries.get('kept@example.com')).toMatchObject({ reason: 'manual', addedToSuppressionDate: '2026-01-01T00:00:00.000Z' });
    expect(entries.get('kept@example.com')!.migratedFrom).toBeUndefined();
  });

  it('a rerun changes nothing', async () => {
    const before = JSON.stringify([await scanAll(aws.tables.tracking), await scanAll(aws.tables.suppression)]);
    const report = await run({ apply: true });
    expect(report.tables.map((t) => [t.kind, t.copied, t.present, t.resumed])).toEqual([
      ['suppression', 0, SUPPRESSION.length, false],
      ['tracking', 0, TRACKING.length, false],
    ]);
    expect(JSON.stringify([await scanAll(aws.tables.tracking), await scanAll(aws.tables.suppression)])).toBe(before);
    expect((await scanAll(SOURCE.tracking)).length).toBe(TRACKING.length);
    expect((await scanAll(SOURCE.suppression)).length).toBe(SUPPRESSION.length);
  });

  it('the copied history answers suppression list and diagnose', async () => {
    const list = captureIo();
    await suppressionList({ stackName: 'mail', region: 'us-east-1', io: list, json: true, type: 'complaint', clients: { ddb: aws.ddb } });
    expect(JSON.parse(list.out()).entries).toEqual([expect.objectContaining({ email: 'angry@example.com', reason: 'spam-complaint', addedToSuppressionDate: '2024-12-16T00:00:00Z' })]);
    const io = captureIo();
    await diagnoseCommand({ stackName: 'mail', region: 'us-east-1', io, json: true, subject: 'email-abc123', clients: { ddb: aws.ddb } });
    const report = JSON.parse(io.out());
    expect(JSON.stringify(report)).toContain('email-def456');
  });

  it('prints the plan, a line per table and the table of counts for a person', async () => {
    const io = captureIo();
    expect(await migrate(options({ json: false, io }))).toBe(0);
    expect(io.err()).toContain('Source: stack sesmailengine (UPDATE_COMPLETE) — the original engine.');
    expect(io.err()).toContain(`Dry run: reading both sides, writing nothing (--apply copies).`);
    expect(io.err()).toContain('there is nothing new to copy');
    expect(io.out()).toMatch(/tracking\s+sesmailengine-EmailTracking\s+\S+\s+45\s+0\s+45/);
  });

  it('refuses to copy a stack into itself (MIG001), and says so when the original is nowhere (MIG002)', async () => {
    expect((await cliError(migrate(options({ sourceStack: 'mail' })))).code).toBe('MIG001');
    expect((await cliError(migrate(options({ sourceTrackingTable: aws.tables.tracking })))).code).toBe('MIG001');
    const error = await cliError(migrate(options({ sourceStack: 'nothing-here' })));
    expect(error.code).toBe('MIG002');
    expect(error.message).toContain('nothing-here-Suppression, nothing-here-EmailTracking');
  });

  it('refuses a source table with another key (MIG003)', async () => {
    await aws.ddb.send(
      new CreateTableCommand({ TableName: 'audit-log', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] }),
    );
    const error = await cliError(migrate(options({ sourceTrackingTable: 'audit-log' })));
    expect(error.code).toBe('MIG003');
    expect(error.message).toBe('audit-log is keyed on id, not on emailId as the original\'s tracking table is.');
  });
});

describe('migrate with odd source items', () => {
  const ODD = { tracking: 'odd-EmailTracking', suppression: 'odd-Suppression' };

  beforeAll(async () => {
    for (const [name, key] of [[ODD.tracking, 'emailId'], [ODD.suppression, 'email']] as const) {
      await aws.ddb.send(
        new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }], KeySchema: [{ AttributeName: key, KeyType: 'HASH' }] }),
      );
    }
    // An entry added by hand with only the address and the reason: no date, no type.
    await aws.ddb.send(new PutCommand({ TableName: ODD.suppression, Item: { email: 'handmade@example.com', reason: 'hard-bounce' } }));
    // The original had no ses-message-id-index, so nothing stopped a number there; this engine indexes it as text.
    await aws.ddb.send(new PutCommand({ TableName: ODD.tracking, Item: { emailId: 'odd-number-id', status: 'sent', toEmail: 'odd@example.com', timestamp: '2024-12-22T08:00:00Z', sesMessageId: 12345 } }));
    await aws.ddb.send(new PutCommand({ TableName: ODD.tracking, Item: { emailId: 'odd-fine', status: 'sent', toEmail: 'odd@example.com', timestamp: '2024-12-22T08:00:01Z' } }));
  });

  it('copies a suppression entry without a date, so the address stays suppressed', async () => {
    const report = await run({ apply: true, sourceStack: 'odd', restart: true });
    expect(byKind(report, 'suppression')).toMatchObject({ done: true, scanned: 1, copied: 1 });
    const entry = (await scanAll(aws.tables.suppression)).find((e) => e.email === 'handmade@example.com');
    expect(entry).toEqual({ email: 'handmade@example.com', reason: 'hard-bounce', suppressionType: 'bounce', migratedFrom: ODD.suppression });
  });

  it('leaves out an item DynamoDB refuses, names it, and copies the others instead of stopping', async () => {
    const report = await run({ apply: true, sourceStack: 'odd', restart: true });
    const tracking = byKind(report, 'tracking');
    expect(tracking).toMatchObject({ done: true, scanned: 2, refused: 1, refusals: [{ key: 'odd-number-id', reason: expect.stringContaining('sesMessageId') }] });
    expect(tracking.copied + tracking.present).toBe(1);
    const ids = (await migrated(aws.tables.tracking)).map((r) => r.emailId);
    expect(ids).toContain('odd-fine');
    expect(ids).not.toContain('odd-number-id');
  });

  it('tells a person which items were left out', async () => {
    const io = captureIo();
    expect(await migrate(options({ apply: true, sourceStack: 'odd', restart: true, json: false, io }))).toBe(0);
    expect(io.err()).toContain('1 refused by DynamoDB (left out)');
    expect(io.err()).toContain('Not copied: emailId "odd-number-id"');
  });
});
