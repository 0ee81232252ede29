/**
 * sender: the Email Sender handler, warm, against the local stand-ins (dynalite, s3rver,
 * aws-ses-v2-local in this process).
 *
 * Prints:
 * - template renders per second (compile once, render the welcome template in a loop);
 * - AWS calls per email by kind, counted by a middleware on each client, for two runs:
 *   an empty day, and a day whose counters already hold millions of sends, to show the
 *   cost per email does not grow with the day's volume;
 * - emails per second through the handler: SENDER_BENCH_N emails (default 2,000) in SQS
 *   batches of 10, by SENDER_BENCH_CONTAINERS handler instances (default 4) working at once,
 *   as Lambda runs several containers.
 */
import { performance } from 'node:perf_hooks';
import { startStandIns, type StandIns } from '../../tests/support/stand-ins.js';
import { requestEvent, sqsRecord, starterTemplate, uploadStarterTemplates } from '../../tests/support/sender-events.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { compileTemplate, renderEmail } from '../../functions/core/template-render.js';
import { COUNTER_SHARDS, addDailyCounts } from '../../functions/lib/counters-store.js';
import { datePartition } from '../../functions/core/dates.js';

const TOTAL = Number(process.env.SENDER_BENCH_N ?? 2_000);
const CONTAINERS = Number(process.env.SENDER_BENCH_CONTAINERS ?? 4);
const BATCH = 10;
const RENDERS = Number(process.env.SENDER_BENCH_RENDERS ?? 20_000);

type Counts = Map<string, number>;

interface WithMiddleware {
  middlewareStack: { add(middleware: never, options: { step: 'initialize'; name: string }): void };
}

/** Counts every call each client makes, by command name and, for DynamoDB, the table's role. */
function countCalls(clients: WithMiddleware[], tableRoles: Record<string, string>): Counts {
  const counts: Counts = new Map();
  for (const client of clients) {
    client.middlewareStack.add(
      ((next: (args: { input?: Record<string, unknown> }) => Promise<unknown>, context: { commandName?: string }) =>
        (args: { input?: Record<string, unknown> }) => {
          const input = args.input ?? {};
          const table = (input.TableName as string | undefined) ?? Object.keys((input.RequestItems as object | undefined) ?? {})[0];
          const name = `${context.commandName ?? 'unknown'}${table ? ` ${tableRoles[table] ?? table}` : ''}`;
          counts.set(name, (counts.get(name) ?? 0) + 1);
          return next(args);
        }) as never,
      { step: 'initialize', name: 'benchCountCalls' },
    );
  }
  return counts;
}

function benchRenders(): void {
  const files = starterTemplate('welcome');
  const compiled = compileTemplate({ name: 'welcome', html: files.html, text: files.text, metadata: files.metadata as string });
  if (!compiled.ok) throw new Error(compiled.message);
  const data = files.sampleData;
  for (let i = 0; i < 500; i++) renderEmail(compiled.value, { ...data, userName: `Reader ${i}` });
  const start = performance.now();
  for (let i = 0; i < RENDERS; i++) {
    const out = renderEmail(compiled.value, { ...data, userName: `Reader ${i}` });
    if (!out.ok) throw new Error(out.message);
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(`template renders: ${RENDERS} of welcome (subject + HTML + text) in ${seconds.toFixed(2)} s = ${Math.round(RENDERS / seconds)} renders/s`);
}

async function run(env: StandIns, label: string, day: Date, runId: string): Promise<void> {
  const handlers = Array.from({ length: CONTAINERS }, () =>
    createEmailSenderHandler({
      clients: { ddb: env.ddb, s3: env.s3, ses: env.ses },
      env: {
        TRACKING_TABLE: env.tables.tracking,
        SUPPRESSION_TABLE: env.tables.suppression,
        COUNTERS_TABLE: env.tables.counters,
        TEMPLATE_BUCKET: env.bucket,
        CONFIGURATION_SET: 'bench-tracking',
        DEFAULT_SENDER_EMAIL: 'noreply@app.example',
        DEFAULT_SENDER_NAME: 'Bench',
      },
      now: () => new Date(day.getTime() + (performance.now() | 0)),
      log: () => undefined,
    }),
  );
  const batches = Array.from({ length: Math.ceil(TOTAL / BATCH) }, (_, b) => ({
    Records: Array.from({ length: Math.min(BATCH, TOTAL - b * BATCH) }, (_, i) => {
      const n = b * BATCH + i;
      return sqsRecord(
        requestEvent({
          emailId: `bench-${runId}-${n}`,
          to: `reader-${runId}-${n}@customer.example`,
          templateName: 'welcome',
          templateData: { userName: `Reader ${n}`, companyName: 'Acme', ctaUrl: `https://app.example/start?u=${n}` },
        }),
      );
    }),
  }));

  // Warm each container (module init, template cache, connections) outside the measurement.
  await Promise.all(handlers.map((handler, i) => handler(batches[i]!)));
  const measured = batches.slice(CONTAINERS);
  const emails = measured.reduce((sum, batch) => sum + batch.Records.length, 0);

  counts.clear();
  await env.clearMail();
  let next = 0;
  let returned = 0;
  const start = performance.now();
  await Promise.all(
    handlers.map(async (handler) => {
      while (next < measured.length) {
        const result = await handler(measured[next++]!);
        returned += result.batchItemFailures.length;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;

  const ses = counts.get('SendEmailCommand') ?? 0;
  if (!counts.has('GetObjectCommand')) counts.set('GetObjectCommand', 0);
  const other = [...counts.entries()].filter(([name]) => name !== 'SendEmailCommand').sort((a, b) => b[1] - a[1]);
  const nonSes = other.reduce((sum, [, n]) => sum + n, 0);
  console.log(`\n${label}`);
  console.log(`  ${emails} emails in batches of ${BATCH} by ${CONTAINERS} containers: ${seconds.toFixed(2)} s = ${Math.round(emails / seconds)} emails/s (${returned} returned)`);
  console.log(`  AWS calls per email:`);
  for (const [name, n] of other) console.log(`    ${name.padEnd(34)} ${(n / emails).toFixed(3)}   (${n})`);
  console.log(`    ${'= non-SES total'.padEnd(34)} ${(nonSes / emails).toFixed(3)}`);
  console.log(`    ${'SendEmailCommand'.padEnd(34)} ${(ses / emails).toFixed(3)}   (${ses})`);
  console.log(`  mail in the SES stand-in: ${(await env.sentMail()).length}`);
}

let counts: Counts = new Map();

export const benchmark = {
  name: 'sender',
  async run(): Promise<void> {
    benchRenders();
    const env = await startStandIns('bench');
    try {
      counts = countCalls([env.ddb, env.s3, env.ses] as unknown as WithMiddleware[], {
        [env.tables.tracking]: '(tracking)',
        [env.tables.suppression]: '(suppression)',
        [env.tables.counters]: '(counters)',
      });
      await uploadStarterTemplates(env.s3, env.bucket, ['welcome']);

      const quietDay = new Date('2026-07-01T08:00:00.000Z');
      await run(env, `an empty day (${datePartition(quietDay)})`, quietDay, 'quiet');

      const busyDay = new Date('2026-07-02T08:00:00.000Z');
      for (let shard = 0; shard < COUNTER_SHARDS; shard++) {
        await addDailyCounts(env.ddb, env.tables.counters, datePartition(busyDay), { sent: 312_500, delivered: 300_000, bounced: 1_000 }, shard);
      }
      await run(env, `a day already counting 5,000,000 sends (${datePartition(busyDay)})`, busyDay, 'busy');
    } finally {
      await env.stop();
    }
  },
};
