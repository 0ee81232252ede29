/**
 * ses-quota: bursts far above the SES account's send rate through `sesmailengine local`,
 * whose SES stand-in enforces the quota as SES does (--ses-max-send-rate), and the engine's
 * own AWS cost per 1,000 emails.
 *
 * Bursts (default: 2,000 at 40/s, and 60 at 1/s, the sandbox): every request is published
 * at once (PutEvents batches of 10), then the run waits until every one is tracked `sent`.
 * Printed: the achieved rate from the first accepted send to the last, as a share of the
 * quota (target ≥ 90 %, never above 100 %); SES's throttling answers as a share of the send
 * calls (target ≤ 1 %); requests deferred; DLQ messages (target 0); records tracked.
 * Knobs: SES_QUOTA_RUNS ("2000@40,60@1"), SES_QUOTA_SENDER_CONCURRENCY (the stack's 14).
 *
 * Cost: the cost-per-email bench's counted calls at 1,000 emails already sent today, with
 * pacing on (one token reservation per batch), priced at the us-east-1 list prices below.
 */
import { performance } from 'node:perf_hooks';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { startLocalEngine } from '../../src/local/engine.js';
import { measureCostPerEmail, type VolumeResult } from './cost-per-email.js';

const RUNS = (process.env.SES_QUOTA_RUNS ?? '2000@40,60@1').split(',').map((run) => {
  const [n, rate] = run.split('@').map(Number);
  return { total: n!, rate: rate! };
});
const TIMEOUT_MS = 15 * 60 * 1000;

export interface QuotaRun {
  total: number;
  rate: number;
  seconds: number;
  achievedRate: number;
  /** Most sends in one calendar second. */
  busiestSecond: number;
  /** Most sends in any 1,000 ms. */
  busiestWindow: number;
  throttleShare: number;
  deferred: number;
  dlq: number;
  sentRecords: number;
}

async function sentCount(client: DynamoDBClient, table: string, prefix: string): Promise<number> {
  let count = 0;
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        Select: 'COUNT',
        FilterExpression: 'begins_with(emailId, :p) AND #s = :sent',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':p': { S: prefix }, ':sent': { S: 'sent' } },
        ExclusiveStartKey: start,
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return count;
}

export async function runQuotaBurst(total: number, rate: number): Promise<QuotaRun> {
  let deferred = 0;
  const engine = await startLocalEngine({
    port: 0,
    dynamoDbPort: 0,
    s3Port: 0,
    sesPort: 0,
    retryDelaySeconds: 5,
    sender: 'bench@example.com',
    stackName: 'quota',
    sesQuota: { maxSendRate: rate },
    senderConcurrency: process.env.SES_QUOTA_SENDER_CONCURRENCY ? Number(process.env.SES_QUOTA_SENDER_CONCURRENCY) : undefined,
    requestLog: (entry) => {
      if (entry.status === 'deferred') deferred++;
    },
  });
  const { region, credentials } = engine.info;
  const events = new EventBridgeClient({ region, credentials, endpoint: engine.info.eventBridgeEndpoint });
  const ddb = new DynamoDBClient({ region, credentials, endpoint: engine.info.dynamoDbEndpoint });
  const quota = engine.sesQuota;
  const acceptedTimes: number[] = [];
  const admit = quota.admit.bind(quota);
  quota.admit = () => {
    const refusal = admit();
    if (!refusal) acceptedTimes.push(Date.now());
    return refusal;
  };
  try {
    const runId = `q${Date.now().toString(36)}`;
    const started = performance.now();
    const batches: Promise<unknown>[] = [];
    for (let i = 0; i < total; i += 10) {
      const entries = Array.from({ length: Math.min(10, total - i) }, (_, j) => ({
        EventBusName: engine.info.eventBusName,
        Source: 'bench.publisher',
        DetailType: 'Email Request',
        Detail: JSON.stringify({ to: `reader-${i + j}@example.com`, emailId: `${runId}-${i + j}`, templateName: 'welcome', templateData: { userName: 'Reader', companyName: 'Acme' } }),
      }));
      batches.push(events.send(new PutEventsCommand({ Entries: entries })));
    }
    await Promise.all(batches);
    while (quota.accepted < total) {
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`Timed out: ${quota.accepted} of ${total} sent.`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Let the last handlers record their sends.
    const deadline = performance.now() + 30_000;
    let sentRecords = await sentCount(ddb, engine.info.trackingTable, `${runId}-`);
    while (sentRecords < total && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      sentRecords = await sentCount(ddb, engine.info.trackingTable, `${runId}-`);
    }
    // The rate is counted per calendar second, as SES's MaxSendRate is "per second" and the
    // stand-in and the engine's pacing count it: sends ÷ the seconds from the first send's
    // second to the last one's, inclusive.
    const first = Math.floor(acceptedTimes[0]! / 1000);
    const last = Math.floor(acceptedTimes[acceptedTimes.length - 1]! / 1000);
    const span = last - first + 1;
    const achievedRate = total / span;
    const perSecond = new Map<number, number>();
    for (const at of acceptedTimes) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    const busiestSecond = Math.max(...perSecond.values());
    // Any 1,000 ms, not only calendar seconds: a second's sends at its end and the next second's at its start.
    let busiestWindow = 0;
    for (let i = 0, j = 0; i < acceptedTimes.length; i++) {
      while (acceptedTimes[i]! - acceptedTimes[j]! >= 1000) j++;
      busiestWindow = Math.max(busiestWindow, i - j + 1);
    }
    const calls = quota.accepted + quota.refusals.rate + quota.refusals.daily;
    const dlq = engine.queues.sendDlq.counts().visible + engine.queues.feedbackDlq.counts().visible;
    return { total, rate, seconds: span, achievedRate, busiestSecond, busiestWindow, throttleShare: quota.refusals.rate / calls, deferred, dlq, sentRecords };
  } finally {
    events.destroy();
    ddb.destroy();
    await engine.stop();
  }
}

/**
 * us-east-1 list prices as published on the AWS pricing pages (DynamoDB on-demand, SQS,
 * EventBridge, Lambda arm64, S3 Standard, CloudWatch Logs), in USD.
 */
export const PRICES = {
  dynamoWriteRequestUnit: 0.625 / 1e6,
  dynamoReadRequestUnit: 0.125 / 1e6,
  sqsRequest: 0.4 / 1e6,
  eventBridgeEvent: 1.0 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecond: 0.0000133334,
  s3Get: 0.0004 / 1000,
  logsGb: 0.5,
};
export const SES_PER_1000 = 0.1;
/** The Email Sender's memory (cloudformation/template.yaml). */
const SENDER_GB = 0.5;
/** One structured log line per outcome, about this many bytes (sent, with ids). */
const LOG_BYTES_PER_EMAIL = 250;

export interface CostLine {
  item: string;
  per1000: number;
}

/** The Email Sender path's AWS cost per 1,000 emails, from the counted calls of the cost-per-email bench. */
export function costPer1000(result: VolumeResult): CostLine[] {
  const sqsPerEmail = 1 /* EventBridge rule → send queue */ + 0.1 /* ReceiveMessage per batch */ + 0.1; /* DeleteMessageBatch per batch */
  const s3 = result.perEmail['GetObject'] ?? 0;
  return [
    { item: `DynamoDB writes (${result.engineWriteUnits.toFixed(2)} WRU/email)`, per1000: result.engineWriteUnits * 1000 * PRICES.dynamoWriteRequestUnit },
    // dynalite counts the table's writes only; on AWS the claim's new record also writes its
    // date-partition-index entry (the `sent` update changes no indexed attribute).
    { item: 'DynamoDB index writes (1 WRU/email, date-partition-index)', per1000: 1000 * PRICES.dynamoWriteRequestUnit },
    { item: `DynamoDB reads (${result.engineReadUnits.toFixed(2)} RRU/email)`, per1000: result.engineReadUnits * 1000 * PRICES.dynamoReadRequestUnit },
    { item: 'EventBridge PutEvents (1 event/email)', per1000: 1000 * PRICES.eventBridgeEvent },
    { item: `SQS requests (${sqsPerEmail.toFixed(1)}/email)`, per1000: sqsPerEmail * 1000 * PRICES.sqsRequest },
    { item: `S3 GetObject (${s3.toFixed(3)}/email)`, per1000: s3 * 1000 * PRICES.s3Get },
    { item: 'Lambda requests (1 per batch of 10)', per1000: 100 * PRICES.lambdaRequest },
    {
      item: `Lambda duration (${result.msPerBatch.toFixed(0)} ms per batch at ${SENDER_GB * 1024} MB)`,
      per1000: 100 * (result.msPerBatch / 1000) * SENDER_GB * PRICES.lambdaGbSecond,
    },
    { item: `CloudWatch Logs (~${LOG_BYTES_PER_EMAIL} B/email)`, per1000: (LOG_BYTES_PER_EMAIL * 1000 / 1e9) * PRICES.logsGb },
  ];
}

const pct = (n: number) => `${(n * 100).toFixed(1)} %`;

export const benchmark = {
  name: 'ses-quota: bursts above the SES send rate through local mode, and the engine’s AWS cost per 1,000 emails',
  async run(): Promise<void> {
    for (const { total, rate } of RUNS) {
      const r = await runQuotaBurst(total, rate);
      console.log(`burst of ${total} at --ses-max-send-rate ${rate}`);
      console.log(`  achieved rate      ${r.achievedRate.toFixed(2)}/s over ${r.seconds} calendar seconds = ${pct(r.achievedRate / rate)} of the quota (target ≥ 90 %, ≤ 100 %)`);
      console.log(`  busiest second     ${r.busiestSecond} sends (calendar second); busiest 1,000 ms ${r.busiestWindow} (any window)`);
      console.log(`  throttling answers ${pct(r.throttleShare)} of SendEmail calls (target ≤ 1 %); requests deferred ${r.deferred}`);
      console.log(`  DLQ messages       ${r.dlq} (target 0); tracked sent ${r.sentRecords} / ${total}`);
    }
    const [cost] = await measureCostPerEmail(() => undefined, [1_000], { MAX_SEND_RATE: '1000' });
    const lines = costPer1000(cost!);
    const total = lines.reduce((sum, l) => sum + l.per1000, 0);
    console.log(`engine's AWS cost per 1,000 emails (Email Sender path; cost-per-email counts with pacing on, ${cost!.engineCalls.toFixed(3)} non-SES calls/email):`);
    for (const l of lines) console.log(`  ${l.item.padEnd(52)} $${l.per1000.toFixed(5)}`);
    console.log(`  ${'total'.padEnd(52)} $${total.toFixed(5)} = ${pct(total / SES_PER_1000)} of SES's $0.10 (target ≤ 5 %)`);
  },
};
