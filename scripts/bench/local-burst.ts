/**
 * local-burst: a burst of "Email Request" events through `sesmailengine local`, end to end.
 *
 * Starts local mode in this process (as the CLI does), publishes N requests (default
 * 10,000; LOCAL_BURST_N) from several concurrent publishers in PutEvents batches of 10 over
 * HTTP with @aws-sdk/client-eventbridge, from a process of their own (burst-publisher.ts,
 * as the applications that publish to the engine are), and waits until
 * every request has been consumed by the Email Sender (the send queue is empty; each
 * consumed request leaves exactly one tracking record), then checks the tracking table
 * holds N records. Prints emails/s from the first publish to the last record, and the time
 * until the feedback queue (the SES events of those sends) is drained too.
 *
 * Addresses: mostly reader-<i>@example.com, every 10th success@simulator.amazonses.com.
 * Knobs: LOCAL_BURST_N, LOCAL_BURST_PUBLISHERS (8), LOCAL_BURST_SENDER_CONCURRENCY (the
 * stack's 14), LOCAL_BURST_FEEDBACK_CONCURRENCY (10), LOCAL_BURST_WORKERS (local mode's
 * default: one per core, 2-4), LOCAL_BURST_LOG (human: local mode's log lines as the CLI
 * writes them by default, here to /dev/null; json; off, as with --quiet). The CPU line shows where the time
 * goes: the engine process (handlers, AWS SDK, stores, local endpoint), the publishers'
 * process, and each stand-in that runs in a process of its own.
 *
 * local-burst-data-dir: the same burst with `--data-dir` (a new temporary folder): every
 * DynamoDB write is journaled and synced to disk before it is answered.
 */
import { performance } from 'node:perf_hooks';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLocalEngine, type LocalEngine } from '../../src/local/engine.js';
import { humanLine, jsonLine, type RequestLogEntry } from '../../src/local/request-log.js';
import { LineWriter } from '../../src/local/line-writer.js';
import type { PublisherJob, PublisherMessage } from './burst-publisher.js';

const TOTAL = Number(process.env.LOCAL_BURST_N ?? 10_000);
const PUBLISHERS = Number(process.env.LOCAL_BURST_PUBLISHERS ?? 8);
const BATCH = 10;
const LOG = process.env.LOCAL_BURST_LOG ?? 'human';

/** Local mode's log as the CLI writes it (human or json lines, in chunks), to /dev/null. */
function requestLogSink(): { log?: (entry: RequestLogEntry) => void; lines: () => number; close(): void } {
  if (LOG === 'off') return { lines: () => 0, close: () => undefined };
  if (LOG !== 'human' && LOG !== 'json') throw new Error(`LOCAL_BURST_LOG must be human, json or off, got ${LOG}.`);
  const fd = openSync('/dev/null', 'w');
  const writer = new LineWriter((text) => writeSync(fd, text));
  writer.start();
  let lines = 0;
  const render = LOG === 'json' ? jsonLine : (entry: RequestLogEntry) => humanLine(entry);
  return {
    log: (entry) => {
      lines += 1;
      writer.line(render(entry));
    },
    lines: () => lines,
    close: () => {
      writer.flush();
      closeSync(fd);
    },
  };
}
const TIMEOUT_MS = 10 * 60 * 1000;

async function countRecords(engine: LocalEngine, prefix: string): Promise<number> {
  const client = new DynamoDBClient({ endpoint: engine.info.dynamoDbEndpoint, region: engine.info.region, credentials: engine.info.credentials });
  let count = 0;
  let start: Record<string, never> | undefined;
  try {
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: engine.info.trackingTable,
          Select: 'COUNT',
          FilterExpression: 'begins_with(emailId, :p)',
          ExpressionAttributeValues: { ':p': { S: prefix } },
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
  } finally {
    client.destroy();
  }
  return count;
}

/** CPU seconds a process has used so far (Linux /proc; undefined elsewhere). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function cpuSnapshot(engine: LocalEngine): Record<string, number | undefined> {
  const main = process.cpuUsage();
  return {
    engine: (main.user + main.system) / 1e6,
    s3: cpuSeconds(engine.standInPids.s3),
  };
}

function drained(engine: LocalEngine, which: 'send' | 'feedback'): boolean {
  const c = engine.queues[which].counts();
  return c.visible + c.inFlight + c.delayed === 0;
}

async function waitFor(condition: () => boolean, deadline: number): Promise<void> {
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('Timed out waiting for the burst to be processed.');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface BurstResult {
  emailsPerSecond: number;
  seconds: number;
  /** Until the feedback queue was drained too. */
  feedbackSeconds: number;
  records: number;
  dlq: number;
  handlerErrors: number;
  /** CPU ms per email of each process (engine = handlers, SDK, stores and local endpoint). */
  cpuMsPerEmail: Record<string, number>;
}

export async function runBurst(total: number, publishers: number, dataDir?: string): Promise<BurstResult> {
  const handlerErrors: string[] = [];
  const sink = requestLogSink();
  const engine = await startLocalEngine({
    dataDir,
    port: 0,
    dynamoDbPort: 0,
    s3Port: 0,
    sesPort: 0,
    retryDelaySeconds: 5,
    sender: 'bench@example.com',
    stackName: 'bench',
    senderConcurrency: process.env.LOCAL_BURST_SENDER_CONCURRENCY ? Number(process.env.LOCAL_BURST_SENDER_CONCURRENCY) : undefined,
    feedbackConcurrency: process.env.LOCAL_BURST_FEEDBACK_CONCURRENCY ? Number(process.env.LOCAL_BURST_FEEDBACK_CONCURRENCY) : undefined,
    workers: process.env.LOCAL_BURST_WORKERS ? Number(process.env.LOCAL_BURST_WORKERS) : undefined,
    log: (line) => {
      if (line.startsWith('handler error')) handlerErrors.push(line);
    },
    requestLog: sink.log,
  });
  try {
    const runId = Date.now().toString(36);
    const job: PublisherJob = {
      endpoint: engine.info.eventBridgeEndpoint,
      region: engine.info.region,
      credentials: engine.info.credentials,
      eventBusName: engine.info.eventBusName,
      templateName: engine.info.templates.includes('welcome') ? 'welcome' : 'notification',
      runId,
      total,
      publishers,
      batch: BATCH,
    };
    const child = fork(fileURLToPath(new URL('./burst-publisher.js', import.meta.url)), [JSON.stringify(job)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const nextMessage = () =>
      new Promise<PublisherMessage>((resolve, reject) => {
        const onMessage = (message: PublisherMessage) => {
          child.off('exit', onExit);
          resolve(message);
        };
        const onExit = (code: number | null) => {
          child.off('message', onMessage);
          reject(new Error(`The publisher process exited (code ${code}) before it finished.`));
        };
        child.once('message', onMessage);
        child.once('exit', onExit);
      });
    await nextMessage(); // ready
    // The publishers report their own CPU for the burst alone.
    const cpuBefore: Record<string, number | undefined> = { ...cpuSnapshot(engine), publishers: 0 };
    const loopBefore = performance.eventLoopUtilization();
    const started = performance.now();
    child.send({ type: 'go' });
    const done = await nextMessage();
    if (done.type !== 'done') throw new Error('The publisher process answered out of turn.');
    const failedEntries = done.failedEntries;
    const published = performance.now();
    const deadline = started + TIMEOUT_MS;
    await waitFor(() => drained(engine, 'send'), deadline);
    const sent = performance.now();
    await waitFor(() => drained(engine, 'feedback') && drained(engine, 'send'), deadline);
    const feedbackDone = performance.now();
    const mainThreadBusy = performance.eventLoopUtilization(loopBefore).utilization;
    const cpuAfter = { ...cpuSnapshot(engine), publishers: done.cpuSeconds };
    const records = await countRecords(engine, `bench-${runId}-`);
    const seconds = (sent - started) / 1000;
    const emailsPerSecond = total / seconds;
    const dlq = engine.queues.sendDlq.counts().visible + engine.queues.feedbackDlq.counts().visible;
    console.log(`requests            ${total} from ${publishers} publishers in batches of ${BATCH} (failed entries: ${failedEntries})`);
    console.log(`published in        ${((published - started) / 1000).toFixed(2)} s (${(total / ((published - started) / 1000)).toFixed(0)} requests/s accepted)`);
    console.log(`all tracked after   ${seconds.toFixed(2)} s  →  ${emailsPerSecond.toFixed(0)} emails/s end to end`);
    console.log(`feedback drained    ${((feedbackDone - started) / 1000).toFixed(2)} s (SES events of those sends processed)`);
    console.log(`tracking records    ${records} / ${total}${records === total ? '' : '  ← MISSING RECORDS'}; DLQ messages ${dlq}; handler errors ${handlerErrors.length}`);
    const cpu = Object.entries(cpuAfter)
      .map(([name, after]) => {
        const before = cpuBefore[name];
        return after === undefined || before === undefined ? undefined : `${name} ${(after - before).toFixed(1)} s (${(((after - before) / total) * 1000).toFixed(2)} ms/email)`;
      })
      .filter(Boolean);
    if (cpu.length > 0) console.log(`CPU used            ${cpu.join(', ')}`);
    console.log(`memory              ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MiB resident (engine process, with every caught mail); load average ${loadavg()[0]!.toFixed(2)} at the end`);
    console.log(`main thread busy    ${(mainThreadBusy * 100).toFixed(0)} % of the time (queues, bus, stores, SES stand-in; the handlers run in workers)`);
    console.log(`log lines           ${sink.lines()} (LOCAL_BURST_LOG=${LOG})`);
    if (handlerErrors.length > 0) console.log(`first handler error: ${handlerErrors[0]}`);
    const cpuMsPerEmail: Record<string, number> = {};
    for (const [name, after] of Object.entries(cpuAfter)) {
      const before = cpuBefore[name];
      if (after !== undefined && before !== undefined) cpuMsPerEmail[name] = ((after - before) / total) * 1000;
    }
    return { emailsPerSecond, seconds, feedbackSeconds: (feedbackDone - started) / 1000, records, dlq, handlerErrors: handlerErrors.length, cpuMsPerEmail };
  } finally {
    await engine.stop();
    sink.close();
  }
}

export const benchmark = {
  name: 'local-burst',
  async run(): Promise<void> {
    await runBurst(TOTAL, PUBLISHERS);
  },
};

function folderBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).reduce((sum, name) => {
    const stat = statSync(join(dir, name));
    return stat.isFile() ? sum + stat.size : sum;
  }, 0);
}

export const dataDirBenchmark = {
  name: 'local-burst-data-dir',
  async run(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'sesmailengine-bench-data-'));
    try {
      console.log(`--data-dir          ${dir} (every DynamoDB write journaled and fdatasync'ed before it is answered)`);
      await runBurst(TOTAL, PUBLISHERS, dir);
      console.log(`data dir after stop ${(folderBytes(join(dir, 'dynamodb')) / 1024 / 1024).toFixed(1)} MiB of tables (${readdirSync(join(dir, 'dynamodb')).join(', ')})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
