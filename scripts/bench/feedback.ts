/**
 * feedback: the Feedback Processor handler, warm, against dynalite (in this process).
 * SQS and EventBridge are stubs that answer at once (no stand-in for them here).
 *
 * Prints:
 * - AWS calls per SES event by kind (Delivery, Open, hard bounce, soft bounce, complaint,
 *   and a redelivered Delivery), counted on the clients;
 * - SES events per second through the handler: FEEDBACK_BENCH_N emails (default 1,000),
 *   each getting a Delivery and an Open, in SQS batches of 10 by FEEDBACK_BENCH_CONTAINERS
 *   handler instances (default 4) at once.
 */
import { performance } from 'node:perf_hooks';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { startStandIns, type StandIns } from '../../tests/support/stand-ins.js';
import { adjust, emailIdTagMap, eventBridgeEnvelope, sesFixture, sqsEvent, type FixtureType, type SesEventJson } from '../../tests/support/ses-events.js';
import { createFeedbackProcessorHandler } from '../../functions/feedback-processor/handler.js';

const TOTAL = Number(process.env.FEEDBACK_BENCH_N ?? 1_000);
const CONTAINERS = Number(process.env.FEEDBACK_BENCH_CONTAINERS ?? 4);
const BATCH = 10;

type Counts = Map<string, number>;

function counting<T>(client: { send(command: unknown): Promise<unknown> }, counts: Counts): T {
  return {
    send(command: { constructor: { name: string } }) {
      const name = command.constructor.name.replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return client.send(command);
    },
  } as unknown as T;
}

const stubSqs = { send: async () => ({ MessageId: 'bench' }) };
const stubEvents = {
  send: async (command: { input: { Entries?: unknown[] } }) => ({
    FailedEntryCount: 0,
    Entries: (command.input.Entries ?? []).map(() => ({ EventId: 'bench' })),
  }),
};

function handlerFor(env: StandIns, counts: Counts) {
  return createFeedbackProcessorHandler({
    clients: {
      ddb: counting<DynamoDBDocumentClient>(env.ddb, counts),
      sqs: counting<SQSClient>(stubSqs as never, counts),
      events: counting<EventBridgeClient>(stubEvents as never, counts),
    },
    env: {
      TRACKING_TABLE: env.tables.tracking,
      SUPPRESSION_TABLE: env.tables.suppression,
      COUNTERS_TABLE: env.tables.counters,
      EVENT_BUS_NAME: 'bench-EmailBus',
      SEND_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-send',
    },
    log: () => undefined,
  });
}

async function seed(env: StandIns, emailId: string, messageId: string, to: string): Promise<void> {
  await env.ddb.send(
    new PutCommand({
      TableName: env.tables.tracking,
      Item: {
        emailId,
        originalEmailId: emailId,
        retryAttempt: 0,
        toEmail: to,
        templateName: 'welcome',
        status: 'sent',
        statusRank: 1,
        sesMessageId: messageId,
        originalSource: 'bench',
        timestamp: new Date().toISOString(),
        datePartition: new Date().toISOString().slice(0, 10),
        expiresAt: 1_900_000_000,
        request: { to, templateName: 'welcome', templateData: {} },
      },
    }),
  );
}

function event(type: FixtureType, emailId: string, messageId: string, to: string, change?: (e: SesEventJson) => void): SesEventJson {
  const detail = adjust(sesFixture(type), { messageId, to, tags: emailIdTagMap(emailId) });
  change?.(detail);
  return eventBridgeEnvelope(detail);
}

const soft = (e: SesEventJson) => {
  e.bounce.bounceType = 'Transient';
  e.bounce.bounceSubType = 'MailboxFull';
};

async function callsPerEvent(env: StandIns): Promise<void> {
  const kinds: [string, FixtureType, ((e: SesEventJson) => void) | undefined, boolean][] = [
    ['Delivery', 'Delivery', undefined, false],
    ['Open (after delivery)', 'Open', undefined, false],
    ['hard bounce', 'Bounce', undefined, false],
    ['soft bounce (retry queued)', 'Bounce', soft, false],
    ['Complaint', 'Complaint', undefined, false],
    ['Delivery, redelivered', 'Delivery', undefined, true],
  ];
  console.log('AWS calls per SES event (one event per batch, so per-batch writes are included):');
  for (const [label, type, change, redeliver] of kinds) {
    const id = `calls-${label.replace(/\W+/g, '-')}`;
    const messageId = `${id}-msg`;
    const to = `${id}@bench.example`;
    await seed(env, id, messageId, to);
    if (type === 'Open' || redeliver) await handlerFor(env, new Map())(sqsEvent([event('Delivery', id, messageId, to)]));
    const counts: Counts = new Map();
    await handlerFor(env, counts)(sqsEvent([event(type, id, messageId, to, change)]));
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const detail = [...counts.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`  ${label.padEnd(28)} ${String(total).padStart(2)}  (${detail})`);
  }
}

async function throughput(env: StandIns): Promise<void> {
  const ids = Array.from({ length: TOTAL }, (_, i) => ({ emailId: `tp-${i}`, messageId: `tp-${i}-msg`, to: `tp-${i}@bench.example` }));
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((x) => seed(env, x.emailId, x.messageId, x.to)));
  }
  const bodies = ids.flatMap((x) => [event('Delivery', x.emailId, x.messageId, x.to), event('Open', x.emailId, x.messageId, x.to)]);
  // Shuffle so a batch mixes emails, as the queue would.
  for (let i = bodies.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [bodies[i], bodies[j]] = [bodies[j]!, bodies[i]!];
  }
  const batches: SesEventJson[][] = [];
  for (let i = 0; i < bodies.length; i += BATCH) batches.push(bodies.slice(i, i + BATCH));
  const counts: Counts = new Map();
  const handlers = Array.from({ length: CONTAINERS }, () => handlerFor(env, counts));
  let next = 0;
  let failures = 0;
  const start = performance.now();
  await Promise.all(
    handlers.map(async (handler) => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const result = await handler(sqsEvent(batch));
        failures += result.batchItemFailures.length;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(
    `throughput: ${bodies.length} events (${TOTAL} emails × Delivery + Open) in ${seconds.toFixed(2)} s = ` +
      `${Math.round(bodies.length / seconds)} events/s by ${CONTAINERS} handlers; ${failures} returned to the queue; ` +
      `${(total / bodies.length).toFixed(2)} AWS calls per event`,
  );
}

export const benchmark = {
  name: 'feedback',
  async run(): Promise<void> {
    const env = await startStandIns('bench-feedback');
    try {
      await callsPerEvent(env);
      await throughput(env);
    } finally {
      await env.stop();
    }
  },
};
