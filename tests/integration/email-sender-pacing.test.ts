import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { GetAccountCommand, SendEmailCommand, SESv2Client, TooManyRequestsException, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { requestEvent, uploadStarterTemplates } from '../support/sender-events.js';
import { createEmailSenderHandler, DAILY_QUOTA_HOLD_MS } from '../../functions/email-sender/handler.js';
import { DEFERRALS_ATTRIBUTE, MAX_DEFERRAL_SECONDS } from '../../functions/core/send-pacing.js';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';
import { LocalQueue, succeededMessages, toSqsEvent } from '../../src/local/local-queue.js';
import { handleSqsOperation, queueDirectory } from '../../src/local/sqs-protocol.js';

/**
 * Pacing and throttling against the stand-ins: the real Email Sender, dynalite for the
 * tracking records and the shared pace counters, aws-ses-v2-local for the mail, and a local
 * send queue with a redrive policy (10 receives, as the stack's). SES throttling and the
 * daily quota are injected through a mock that otherwise delegates to the stand-in; SQS
 * calls go to the local queue, whose delays are skipped so a test need not wait them out.
 */

let env: StandIns;
let ses: SESv2Client;
let sesMock: AwsClientStub<SESv2Client>;
let sqs: SQSClient;
let sqsMock: AwsClientStub<SQSClient>;
let queue: LocalQueue;
let dlq: LocalQueue;
let sesBehaviour: (input: SendEmailCommandInput) => Promise<unknown>;
let sesCallTimes: number[] = [];
let delays: number[] = [];
const QUEUE_URL = 'http://127.0.0.1:9/000000000000/pacing-send';

function realSend(input: SendEmailCommandInput) {
  return env.ses.send(new SendEmailCommand(input));
}

function makeHandler(extraEnv: Record<string, string> = {}, now: () => Date = () => new Date()) {
  const logs: Record<string, unknown>[] = [];
  const handler = createEmailSenderHandler({
    clients: { ddb: env.ddb, s3: env.s3, ses, sqs },
    env: {
      TRACKING_TABLE: env.tables.tracking,
      SUPPRESSION_TABLE: env.tables.suppression,
      COUNTERS_TABLE: env.tables.counters,
      TEMPLATE_BUCKET: env.bucket,
      CONFIGURATION_SET: 'pacing-tracking',
      DEFAULT_SENDER_EMAIL: 'noreply@app.example',
      UNSUBSCRIBE_SECRET: 'pacing-secret',
      SEND_QUEUE_URL: QUEUE_URL,
      STACK_NAME: 'pacing',
      ...extraEnv,
    },
    now,
    log: (entry) => logs.push(entry),
  });
  return { handler, logs };
}

let sequence = 0;
function enqueue(prefix: string, count: number): string[] {
  sequence++;
  return Array.from({ length: count }, (_, i) => {
    const emailId = `${prefix}-${sequence}-${i}`;
    queue.send(requestEvent({ emailId, to: `${emailId}@customer.example`, templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' } }));
    return emailId;
  });
}

/** One poll of the event source mapping: a batch received, handled, its successes deleted. */
async function poll(handler: ReturnType<typeof makeHandler>['handler']): Promise<number> {
  const batch = queue.receive(10);
  if (batch.length === 0) return 0;
  const response = await handler(toSqsEvent(queue, batch));
  for (const message of succeededMessages(batch, response)) queue.delete(message.receiptHandle);
  // Returned messages come back at once instead of after the visibility timeout.
  for (const message of batch) queue.changeVisibility(message.receiptHandle, 0);
  return batch.length;
}

async function record(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

async function mailCount(address: string): Promise<number> {
  return (await env.sentMail()).filter((mail) => mail.destination.to.includes(address)).length;
}

beforeAll(async () => {
  env = await startStandIns('pacing');
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome']);
  ses = new SESv2Client({ region: env.region, credentials: env.credentials, endpoint: env.sesEndpoint });
  sesMock = mockClient(ses);
  sesMock.on(SendEmailCommand).callsFake((input: SendEmailCommandInput) => {
    sesCallTimes.push(Date.now());
    return sesBehaviour(input);
  });
  // GetAccount goes to the stand-in, which reports no limit unless a test sets one.
  sesMock.on(GetAccountCommand).callsFake(() => env.ses.send(new GetAccountCommand({})));
  sqs = new SQSClient({ region: env.region, credentials: env.credentials, endpoint: 'http://127.0.0.1:9' });
  sqsMock = mockClient(sqs);
  sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
    for (const entry of input.Entries ?? []) delays.push(entry.DelaySeconds ?? 0);
    // The delays are recorded, not waited: the copies are visible at once.
    const entries = (input.Entries ?? []).map((entry) => ({ ...entry, DelaySeconds: 0 }));
    return handleSqsOperation('SendMessageBatch', { ...input, Entries: entries }, queueDirectory([queue]));
  });
});

afterAll(async () => {
  sesMock?.restore();
  sqsMock?.restore();
  ses?.destroy();
  sqs?.destroy();
  queue?.close();
  dlq?.close();
  await env?.stop();
});

beforeEach(async () => {
  queue?.close();
  dlq?.close();
  dlq = new LocalQueue({ name: 'pacing-send-dlq', url: `${QUEUE_URL}-dlq`, arn: 'arn:aws:sqs:us-east-1:000000000000:pacing-send-dlq' });
  queue = new LocalQueue({ name: 'pacing-send', url: QUEUE_URL, arn: 'arn:aws:sqs:us-east-1:000000000000:pacing-send', deadLetterQueue: dlq, maxReceiveCount: 10 });
  sesBehaviour = realSend;
  sesCallTimes = [];
  delays = [];
  await env.clearMail();
});

function throttled(message = 'Maximum sending rate exceeded.') {
  return new TooManyRequestsException({ message, $metadata: { httpStatusCode: 429 } });
}

describe('SES throttling', () => {
  it('defers a throttled request instead of returning it, so it never reaches the DLQ, even after more than 10 throttles', async () => {
    let throttles = 0;
    sesBehaviour = (input) => (throttles++ < 14 ? Promise.reject(throttled()) : realSend(input));
    const { handler, logs } = makeHandler();
    const [emailId] = enqueue('thr', 1);

    for (let i = 0; i < 20 && (await poll(handler)) > 0; i++);

    expect(throttles).toBe(15);
    expect(dlq.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect((await record(emailId!))!.status).toBe('sent');
    expect(await mailCount(`${emailId}@customer.example`)).toBe(1);
    expect(logs.filter((l) => l.outcome === 'deferred')).toHaveLength(14);
    expect(logs.filter((l) => l.outcome === 'returned')).toEqual([]);
  });

  it('backs off with jitter: each delay is at most twice the last ceiling and never above 900 s', async () => {
    let throttles = 0;
    sesBehaviour = (input) => (throttles++ < 12 ? Promise.reject(throttled()) : realSend(input));
    const { handler } = makeHandler();
    enqueue('bko', 1);

    for (let i = 0; i < 20 && (await poll(handler)) > 0; i++);

    expect(delays).toHaveLength(12);
    delays.forEach((delay, n) => {
      expect(delay).toBeGreaterThanOrEqual(1);
      expect(delay).toBeLessThanOrEqual(Math.min(MAX_DEFERRAL_SECONDS, 2 ** n));
    });
  });

  it('defers the rest of a batch once SES throttles, each request claimed afresh and sent once later', async () => {
    let calls = 0;
    sesBehaviour = (input) => (++calls === 3 ? Promise.reject(throttled()) : realSend(input));
    const { handler } = makeHandler();
    const ids = enqueue('mid', 10);

    for (let i = 0; i < 10 && (await poll(handler)) > 0; i++);

    for (const id of ids) {
      expect((await record(id))!.status).toBe('sent');
      expect(await mailCount(`${id}@customer.example`)).toBe(1);
    }
    expect(dlq.counts().visible).toBe(0);
  });

  it('carries the deferral count on the copy', async () => {
    let throttles = 0;
    sesBehaviour = (input) => (throttles++ < 2 ? Promise.reject(throttled()) : realSend(input));
    const { handler } = makeHandler();
    enqueue('cnt', 1);
    await poll(handler);
    await poll(handler);
    const [copy] = queue.receive(1);
    expect(copy!.attributes?.[DEFERRALS_ATTRIBUTE]?.stringValue).toBe('2');
  });
});

describe('the daily quota', () => {
  it('holds sending: the request is deferred 900 s, never failed, the DailyQuotaHeld metric is logged, and SES is not asked again for 15 minutes', async () => {
    sesBehaviour = () => Promise.reject(throttled('Daily message quota exceeded.'));
    let clock = new Date('2026-06-01T09:00:00.000Z');
    const { handler, logs } = makeHandler({}, () => clock);
    const [emailId] = enqueue('day', 1);

    await poll(handler);
    expect(sesCallTimes).toHaveLength(1);
    expect(delays).toEqual([MAX_DEFERRAL_SECONDS]);
    expect(await record(emailId!)).toBeUndefined();
    const metric = logs.find((l) => l.outcome === 'daily-quota-held');
    expect(metric).toMatchObject({ DailyQuotaHeld: 1, Stack: 'pacing', _aws: { CloudWatchMetrics: [{ Namespace: 'SESMailEngine', Metrics: [{ Name: 'DailyQuotaHeld' }] }] } });

    // Within the hold, the copy is deferred again without a call to SES.
    await poll(handler);
    expect(sesCallTimes).toHaveLength(1);
    expect(delays).toEqual([MAX_DEFERRAL_SECONDS, MAX_DEFERRAL_SECONDS]);

    // After it, SES is asked again; once the quota allows, the request is sent.
    sesBehaviour = realSend;
    clock = new Date(clock.getTime() + DAILY_QUOTA_HOLD_MS + 1000);
    await poll(handler);
    expect((await record(emailId!))!.status).toBe('sent');
    expect(dlq.counts().visible).toBe(0);
  });
});

describe('pacing', () => {
  it('keeps the sends of two containers together at or under MAX_SEND_RATE in every second', async () => {
    const rate = 5;
    const a = makeHandler({ MAX_SEND_RATE: String(rate) });
    const b = makeHandler({ MAX_SEND_RATE: String(rate) });
    const ids = enqueue('pace', 30);

    const drain = async (h: ReturnType<typeof makeHandler>) => {
      while ((await poll(h.handler)) > 0);
    };
    const started = Date.now();
    await Promise.all([drain(a), drain(b)]);
    const elapsed = (Date.now() - started) / 1000;

    const perSecond = new Map<number, number>();
    for (const at of sesCallTimes) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(rate);
    expect(sesCallTimes).toHaveLength(30);
    // 30 at 5/s: five full seconds and part of a sixth, not much more.
    expect(elapsed).toBeGreaterThan(4);
    expect(elapsed).toBeLessThan(9);
    for (const id of ids) expect((await record(id))!.status).toBe('sent');
  }, 30_000);

  it('uses the account rate from GetAccount when the stack sets none', async () => {
    const { currentSesQuota } = await import('../../src/local/ses-send-rules.js');
    const quota = currentSesQuota();
    const original = { ...quota.options };
    (quota.options as { maxSendRate?: number }).maxSendRate = 4;
    try {
      const { handler } = makeHandler();
      enqueue('acct', 12);
      while ((await poll(handler)) > 0);
      const perSecond = new Map<number, number>();
      for (const at of sesCallTimes) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
      expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(4);
      expect(sesCallTimes).toHaveLength(12);
    } finally {
      (quota.options as { maxSendRate?: number }).maxSendRate = original.maxSendRate;
    }
  }, 30_000);
});
