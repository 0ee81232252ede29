/**
 * cost-per-email: AWS calls and DynamoDB read capacity per email on the Email Sender's warm
 * path, with 1, 1,000, 10,000 and 100,000 emails already sent today, side by side with the
 * naive design the seed documents describe (count today's emails and today's bounces with a
 * COUNT Query per send). Everything runs against dynalite, s3rver and aws-ses-v2-local in
 * this process; the figures are counts, not timings, so they do not depend on the machine.
 *
 * For each volume V, on a day of its own:
 * - the tracking table is filled with V records of that day (keys only: what the KEYS_ONLY
 *   date-partition-index holds of a record), the suppression table with V/100 bounces of
 *   that day, and the sharded daily counters with sent = V, bounced = V/100;
 * - the engine: COST_BENCH_N emails (default 300) in SQS batches of 10 through 3 warm
 *   handler instances, each call counted by command and table with an SDK middleware that
 *   also asks DynamoDB for ReturnConsumedCapacity. Each instance's clock moves 1 s per batch
 *   (a Lambda container taking one batch a second), so the 5-second cache of today's
 *   counters is re-read every 5 batches; on a slower stream it is re-read at most once a batch.
 *   Pacing is on (MAX_SEND_RATE 1000, above what the run sends): one token reservation
 *   (UpdateItem on the counters table) per batch, and GetAccount once per container;
 * - the naive design: the two COUNT Queries it makes per send, run for real on the same
 *   tables (date-partition-index for the day's records, suppression-type-date-index for the
 *   day's bounces), paging through DynamoDB's 1 MB pages: pages, items read, read capacity.
 *   Its other calls are the engine's minus the counters (it has none).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns } from '../../tests/support/stand-ins.js';
import { requestEvent, sqsRecord, uploadStarterTemplates } from '../../tests/support/sender-events.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { documentClient } from '../../functions/lib/clients.js';
import { COUNTER_SHARDS, addDailyCounts } from '../../functions/lib/counters-store.js';

export const VOLUMES = [1, 1_000, 10_000, 100_000];
const EMAILS = Number(process.env.COST_BENCH_N ?? 300);
const CONTAINERS = 3;
const BATCH = 10;
const NAIVE_REPEATS = 3;

interface Tally {
  calls: Map<string, number>;
  readUnits: number;
  writeUnits: number;
  /** Read capacity of the counter reads alone (the naive design has none). */
  counterReadUnits: number;
}

export interface VolumeResult {
  volume: number;
  emails: number;
  /** Calls per email by "Command (table)". */
  perEmail: Record<string, number>;
  engineCalls: number;
  engineSesCalls: number;
  engineReadUnits: number;
  engineWriteUnits: number;
  /** Wall-clock milliseconds per handler invocation (a batch of 10) against the stand-ins. */
  msPerBatch: number;
  naive: { pages: number; items: number; readUnits: number; calls: number; totalReadUnits: number };
}

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand']);
const SUPPORTS_CAPACITY = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

type Middleware = (next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>, context: { commandName?: string }) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

function capacityOf(output: Record<string, unknown>): number {
  const consumed = output.ConsumedCapacity as { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;
  if (!consumed) return 0;
  return (Array.isArray(consumed) ? consumed : [consumed]).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
}

/** Counts every call a client makes, by command and table role, and the capacity DynamoDB reports. */
function instrument(client: unknown, roles: Record<string, string>, tally: () => Tally): void {
  const middleware: Middleware = (next, context) => async (args) => {
    const command = context.commandName ?? 'unknown';
    const input = args.input;
    const table = (input.TableName as string | undefined) ?? Object.keys((input.RequestItems as object | undefined) ?? {})[0];
    const role = table ? roles[table] ?? table : undefined;
    const name = role ? `${command.replace(/Command$/, '')} (${role})` : command.replace(/Command$/, '');
    const t = tally();
    t.calls.set(name, (t.calls.get(name) ?? 0) + 1);
    const ask = SUPPORTS_CAPACITY.has(command) && input.ReturnConsumedCapacity === undefined;
    const result = await next(ask ? { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } } : args);
    const units = capacityOf(result.output);
    if (READS.has(command)) {
      t.readUnits += units;
      if (role === 'counters') t.counterReadUnits += units;
    } else {
      t.writeUnits += units;
    }
    if (ask) delete result.output.ConsumedCapacity;
    return result;
  };
  (client as { middlewareStack: { add(m: never, o: object): void } }).middlewareStack.add(middleware as never, { step: 'initialize', name: 'benchCost', priority: 'high' });
}

function emptyTally(): Tally {
  return { calls: new Map(), readUnits: 0, writeUnits: 0, counterReadUnits: 0 };
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** Fills a day: V keys-only tracking records, V/100 bounces on the suppression list, sharded counters. */
async function fillDay(ddb: DynamoDBDocumentClient, env: StandIns, day: string, volume: number): Promise<void> {
  const start = Date.parse(`${day}T00:00:00.000Z`);
  const tracking = Array.from({ length: volume }, (_, i) => ({
    emailId: `prefill-${day}-${i}`,
    datePartition: day,
    timestamp: new Date(start + i).toISOString(),
  }));
  const bounces = Array.from({ length: Math.floor(volume / 100) }, (_, i) => ({
    email: `bounced-${day}-${i}@prefill.example`,
    reason: 'hard-bounce',
    suppressionType: 'bounce',
    createdAt: new Date(start + i * 1000).toISOString(),
    addedToSuppressionDate: new Date(start + i * 1000).toISOString(),
  }));
  const chunks: { table: string; items: Record<string, unknown>[] }[] = [];
  for (let i = 0; i < tracking.length; i += 25) chunks.push({ table: env.tables.tracking, items: tracking.slice(i, i + 25) });
  for (let i = 0; i < bounces.length; i += 25) chunks.push({ table: env.tables.suppression, items: bounces.slice(i, i + 25) });
  await inParallel(chunks, 8, async ({ table, items }) => {
    let pending: Record<string, unknown>[] = items.map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const out = await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
      pending = (out.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined) ?? [];
    }
  });
  const perShard = (n: number, shard: number) => Math.floor(n / COUNTER_SHARDS) + (shard < n % COUNTER_SHARDS ? 1 : 0);
  for (let shard = 0; shard < COUNTER_SHARDS; shard++) {
    await addDailyCounts(ddb, env.tables.counters, day, { sent: perShard(volume, shard), bounced: perShard(Math.floor(volume / 100), shard) }, shard);
  }
}

/** The naive design's per-send reads: COUNT Queries over the day, every page. */
async function naiveCounts(ddb: DynamoDBDocumentClient, env: StandIns, day: string): Promise<{ pages: number; items: number; readUnits: number }> {
  const queries: QueryCommandInput[] = [
    {
      TableName: env.tables.tracking,
      IndexName: 'date-partition-index',
      KeyConditionExpression: '#d = :d',
      ExpressionAttributeNames: { '#d': 'datePartition' },
      ExpressionAttributeValues: { ':d': day },
    },
    {
      TableName: env.tables.suppression,
      IndexName: 'suppression-type-date-index',
      KeyConditionExpression: '#t = :t AND begins_with(#c, :d)',
      ExpressionAttributeNames: { '#t': 'suppressionType', '#c': 'addedToSuppressionDate' },
      ExpressionAttributeValues: { ':t': 'bounce', ':d': day },
    },
  ];
  let pages = 0;
  let items = 0;
  let readUnits = 0;
  for (const query of queries) {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await ddb.send(new QueryCommand({ ...query, Select: 'COUNT', ReturnConsumedCapacity: 'TOTAL', ExclusiveStartKey: start }));
      pages += 1;
      items += out.ScannedCount ?? 0;
      readUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
  }
  return { pages, items, readUnits };
}

async function engineRun(env: StandIns, day: string, volume: number, current: { tally: Tally }, extraEnv: Record<string, string>): Promise<Tally & { msPerBatch: number }> {
  let handlerMs = 0;
  let invocations = 0;
  let clockStart = Date.parse(`${day}T08:00:00.000Z`);
  const containers = Array.from({ length: CONTAINERS }, () => {
    let ms = clockStart;
    clockStart += 137; // containers do not tick in step
    const handler = createEmailSenderHandler({
      clients: { ddb: env.ddb, s3: env.s3, ses: env.ses },
      env: {
        TRACKING_TABLE: env.tables.tracking,
        SUPPRESSION_TABLE: env.tables.suppression,
        COUNTERS_TABLE: env.tables.counters,
        TEMPLATE_BUCKET: env.bucket,
        CONFIGURATION_SET: 'bench-tracking',
        DEFAULT_SENDER_EMAIL: 'noreply@app.example',
        ...extraEnv,
      },
      now: () => new Date(ms),
      log: () => undefined,
    });
    return async (records: ReturnType<typeof sqsRecord>[]) => {
      ms += 1000;
      const started = performance.now();
      await handler({ Records: records });
      handlerMs += performance.now() - started;
      invocations++;
    };
  });
  const batch = (label: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      sqsRecord(
        requestEvent({
          emailId: `${label}-${day}-${i}`,
          to: `reader-${label}-${volume}-${i}@customer.example`,
          templateName: 'welcome',
          templateData: { userName: `Reader ${i}`, companyName: 'Acme' },
        }),
      ),
    );
  // Warm each container: module state, template cache, today's counters, connections.
  current.tally = emptyTally();
  await Promise.all(containers.map((run, c) => run(batch(`warm${c}`, BATCH))));

  const measured = emptyTally();
  current.tally = measured;
  handlerMs = 0;
  invocations = 0;
  const all = batch('cost', EMAILS);
  const batches: ReturnType<typeof sqsRecord>[][] = [];
  for (let i = 0; i < all.length; i += BATCH) batches.push(all.slice(i, i + BATCH));
  let next = 0;
  await Promise.all(containers.map(async (run) => {
    while (next < batches.length) await run(batches[next++]!);
  }));
  current.tally = emptyTally();
  return { ...measured, msPerBatch: handlerMs / Math.max(1, invocations) };
}

export async function measureCostPerEmail(
  log: (line: string) => void = console.log,
  volumes: number[] = VOLUMES,
  extraEnv: Record<string, string> = { MAX_SEND_RATE: '1000' },
): Promise<VolumeResult[]> {
  const env = await startStandIns('bench-cost');
  const plain = new DynamoDBClient({ region: env.region, credentials: env.credentials, endpoint: env.dynamoDbEndpoint });
  const filler = documentClient(plain);
  const current = { tally: emptyTally() };
  const roles = { [env.tables.tracking]: 'tracking', [env.tables.suppression]: 'suppression', [env.tables.counters]: 'counters' };
  for (const client of [env.ddb, env.s3, env.ses]) instrument(client, roles, () => current.tally);
  const results: VolumeResult[] = [];
  try {
    await uploadStarterTemplates(env.s3, env.bucket, ['welcome']);
    for (const [i, volume] of volumes.entries()) {
      const day = `2027-03-${String(10 + i).padStart(2, '0')}`;
      const filling = performance.now();
      await fillDay(filler, env, day, volume);
      log(`  ${day}: ${volume.toLocaleString('en-US')} records, ${Math.floor(volume / 100).toLocaleString('en-US')} bounces filled in ${((performance.now() - filling) / 1000).toFixed(1)} s`);

      // The naive reads at this moment of the day: exactly V emails already sent.
      let naive = { pages: 0, items: 0, readUnits: 0 };
      for (let r = 0; r < NAIVE_REPEATS; r++) naive = await naiveCounts(filler, env, day);

      const tally = await engineRun(env, day, volume, current, extraEnv);
      if (!tally.calls.has('GetObject')) tally.calls.set('GetObject', 0);
      const perEmail = Object.fromEntries([...tally.calls].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / EMAILS]));
      const sesCalls = (tally.calls.get('SendEmail') ?? 0) / EMAILS;
      const engineCalls = Object.entries(perEmail).filter(([k]) => k !== 'SendEmail').reduce((sum, [, v]) => sum + v, 0);
      const counterCalls = Object.entries(perEmail).filter(([k]) => k.endsWith('(counters)')).reduce((sum, [, v]) => sum + v, 0);

      const engineReadUnits = tally.readUnits / EMAILS;
      results.push({
        volume,
        emails: EMAILS,
        perEmail,
        engineCalls,
        engineSesCalls: sesCalls,
        engineReadUnits,
        engineWriteUnits: tally.writeUnits / EMAILS,
        msPerBatch: tally.msPerBatch,
        naive: {
          ...naive,
          calls: engineCalls - counterCalls + naive.pages,
          totalReadUnits: engineReadUnits - tally.counterReadUnits / EMAILS + naive.readUnits,
        },
      });
    }
  } finally {
    plain.destroy();
    await env.stop();
  }
  return results;
}

const fmt = (n: number, digits = 3) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function printCostPerEmail(results: VolumeResult[], log: (line: string) => void = console.log): void {
  const head = (label: string) => label.padEnd(44);
  const row = (label: string, values: string[]) => log(`${head(label)}${values.map((v) => v.padStart(12)).join('')}`);
  row('emails already sent today', results.map((r) => r.volume.toLocaleString('en-US')));
  const kinds = [...new Set(results.flatMap((r) => Object.keys(r.perEmail)))];
  log('engine, AWS calls per email by kind:');
  for (const kind of kinds.filter((k) => k !== 'SendEmail')) row(`  ${kind === 'GetObject' ? 'GetObject (S3 templates)' : kind}`, results.map((r) => fmt(r.perEmail[kind] ?? 0)));
  row('  = besides the SES send', results.map((r) => fmt(r.engineCalls)));
  row('  SendEmail (SES)', results.map((r) => fmt(r.engineSesCalls)));
  row('engine, read capacity units per email', results.map((r) => fmt(r.engineReadUnits)));
  row('engine, write capacity units per email', results.map((r) => fmt(r.engineWriteUnits)));
  log('naive design (two COUNT Queries per send):');
  row('  pages read per send', results.map((r) => fmt(r.naive.pages, 0)));
  row('  index items read per send', results.map((r) => r.naive.items.toLocaleString('en-US')));
  row('  read capacity units per send (counts)', results.map((r) => fmt(r.naive.readUnits, 1)));
  row('  AWS calls per email besides SES', results.map((r) => fmt(r.naive.calls)));
  row('  read capacity units per email', results.map((r) => fmt(r.naive.totalReadUnits, 1)));
  row('naive ÷ engine, AWS calls', results.map((r) => `${fmt(r.naive.calls / r.engineCalls, 2)}×`));
  row('naive ÷ engine, read capacity', results.map((r) => `${fmt(r.naive.totalReadUnits / r.engineReadUnits, 1)}×`));
}

export const benchmark = {
  name: `cost-per-email: AWS calls and read capacity per email at ${VOLUMES.map((v) => v.toLocaleString('en-US')).join(' / ')} emails already sent today, engine vs naive COUNT`,
  async run(): Promise<void> {
    printCostPerEmail(await measureCostPerEmail());
  },
};
