/**
 * webhooks: the cost of signed webhooks.
 * - signing: CPU per signature (HMAC-SHA256 over id.timestamp.body of a typical status change),
 *   per verification with the package's verifyWebhook, and per check of the engine's own
 *   signature on the event (what tells the engine's events from forged ones);
 * - delivery: WEBHOOK_BENCH_EVENTS status changes through the webhook queue (local mode's
 *   queue and event source mapping: batches of 10, 2 at once, as the stack runs it), the real
 *   Webhook Delivery handler, local mode's SQS endpoint and a receiver on 127.0.0.1 that
 *   verifies every signature; then again with the receiver refusing every first attempt, so
 *   each event is delivered on its retry (the retry delay set to 0 s here).
 * Deliveries per second are wall clock on this machine; CPU per delivery (this process: the
 * handler, the queue and the receiver) is the figure to compare.
 */
import { performance } from 'node:perf_hooks';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createWebhookDeliveryHandler } from '../../functions/webhook-delivery/handler.js';
import { signedHeaders, verifyWebhook } from '../../functions/core/webhook-signature.js';
import { checkEngineDetail, eventAuthenticationKey, signEngineDetail } from '../../functions/core/event-authentication.js';
import { LocalQueue, QueuePoller } from '../../src/local/local-queue.js';
import { queueDirectory } from '../../src/local/sqs-protocol.js';
import { LocalEventBus } from '../../src/local/local-bus.js';
import { StatusLog } from '../../src/local/status-log.js';
import { createLocalServer, listenLocal } from '../../src/local/local-server.js';
import { startWebhookReceiver } from '../../tests/support/webhook-receiver.js';

const EVENTS = Number(process.env.WEBHOOK_BENCH_EVENTS ?? 2000);
const SIGNS = Number(process.env.WEBHOOK_BENCH_SIGNS ?? 50_000);
const SECRET = `whsec_${Buffer.from('webhook-benchmark-secret-0123456789abcdef').toString('base64')}`;
const UNSUBSCRIBE_SECRET = 'webhook-benchmark-unsubscribe-secret-0123456789abcdef';
const EVENT_KEY = eventAuthenticationKey(UNSUBSCRIBE_SECRET);

function statusEvent(i: number): string {
  return JSON.stringify({
    version: '0',
    id: `7b0c1d2e-0000-4000-8000-${String(i).padStart(12, '0')}`,
    'detail-type': 'Email Status Changed',
    source: 'sesmailengine',
    time: '2026-03-02T10:00:05Z',
    detail: signEngineDetail(EVENT_KEY, 'Email Status Changed', {
      emailId: `order-${i}`,
      status: 'delivered',
      statusChanged: true,
      recordStatus: 'delivered',
      previousStatus: 'sent',
      toEmail: `customer-${i}@example.com`,
      timestamp: '2026-03-02T10:00:04.120Z',
      originalSource: 'shop.orders',
      templateName: 'order-confirmation',
      sesMessageId: `0100018e-${i}`,
      metadata: { orderId: `A-${i}` },
    }),
  });
}

function signing(): void {
  const body = JSON.stringify({ type: 'email.delivered', timestamp: '2026-03-02T10:00:04.120Z', data: JSON.parse(statusEvent(1)).detail });
  const timestamp = Math.floor(Date.now() / 1000);
  let cpu = process.cpuUsage();
  let headers: Record<string, string> = {};
  for (let i = 0; i < SIGNS; i++) headers = signedHeaders(SECRET, { id: `evt-${i}`, timestamp, body });
  let used = process.cpuUsage(cpu);
  const signUs = (used.user + used.system) / SIGNS;
  cpu = process.cpuUsage();
  for (let i = 0; i < SIGNS; i++) verifyWebhook(SECRET, headers, body);
  used = process.cpuUsage(cpu);
  const verifyUs = (used.user + used.system) / SIGNS;
  const detail = JSON.parse(statusEvent(1)).detail as Record<string, unknown>;
  cpu = process.cpuUsage();
  for (let i = 0; i < SIGNS; i++) checkEngineDetail(EVENT_KEY, 'Email Status Changed', detail);
  used = process.cpuUsage(cpu);
  const checkUs = (used.user + used.system) / SIGNS;
  console.log(
    `  signing: ${signUs.toFixed(1)} µs CPU per signature, ${verifyUs.toFixed(1)} µs per verification (body ${body.length} bytes, ${SIGNS.toLocaleString('en-US')} each); ${checkUs.toFixed(1)} µs per check of the engine's signature on the event`,
  );
}

interface Run {
  delivered: number;
  attempts: number;
  seconds: number;
  cpuMs: number;
}

async function deliver(refuseFirstAttempt: boolean): Promise<Run> {
  const verified = new Set<string>();
  const seen = new Set<string>();
  let attempts = 0;
  const receiver = await startWebhookReceiver((hit, response) => {
    attempts += 1;
    const id = String(hit.headers['webhook-id']);
    verifyWebhook(SECRET, hit.headers, hit.body);
    // Keep no bodies: only the count of POSTs matters here.
    receiver.hits.length = 0;
    if (refuseFirstAttempt && !seen.has(id)) {
      seen.add(id);
      response.writeHead(503).end();
      return;
    }
    verified.add(id);
    response.writeHead(204).end();
  });
  const url = `${receiver.origin}/hooks`;

  const queues: LocalQueue[] = [];
  const sqsServer = createLocalServer(() => ({
    bus: new LocalEventBus({ engineBusName: 'bench-EmailBus', account: '0', region: 'us-east-1', sendQueue: queues[0]!, feedbackQueue: queues[0]!, statusLog: new StatusLog() }),
    queues: queueDirectory(queues),
    listedQueues: queues,
    statusLog: new StatusLog(),
  }));
  const port = await listenLocal(sqsServer, '127.0.0.1', 0);
  const endpoint = `http://127.0.0.1:${port}`;
  const dlq = new LocalQueue({ name: 'bench-webhook-dlq', url: `${endpoint}/0/bench-webhook-dlq`, arn: 'arn:aws:sqs:us-east-1:0:bench-webhook-dlq' });
  const queue = new LocalQueue({ name: 'bench-webhook', url: `${endpoint}/0/bench-webhook`, arn: 'arn:aws:sqs:us-east-1:0:bench-webhook', maxReceiveCount: 10, deadLetterQueue: dlq });
  queues.push(queue, dlq);
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  const handler = createWebhookDeliveryHandler({
    clients: { sqs },
    env: { WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET, WEBHOOK_QUEUE_URL: queue.url, UNSUBSCRIBE_SECRET },
    log: () => undefined,
    retrySchedule: [0],
  });

  const cpu = process.cpuUsage();
  const started = performance.now();
  const poller = new QueuePoller(queue, handler, { batchSize: 10, maxConcurrency: 2 });
  for (let i = 0; i < EVENTS; i++) queue.send(statusEvent(i));
  poller.start();
  while (verified.size < EVENTS) {
    if (dlq.counts().visible > 0) throw new Error('A webhook reached the DLQ during the benchmark.');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await poller.stop();
  sqs.destroy();
  for (const q of queues) q.close();
  sqsServer.closeAllConnections();
  await Promise.all([new Promise((r) => sqsServer.close(r)), receiver.stop()]);
  return { delivered: verified.size, attempts, seconds, cpuMs: (used.user + used.system) / 1000 };
}

function report(label: string, run: Run): void {
  console.log(
    `  ${label}: ${run.delivered.toLocaleString('en-US')} delivered and verified in ${run.attempts.toLocaleString('en-US')} POSTs, ` +
      `${(run.delivered / run.seconds).toFixed(0)} deliveries/s, ${(run.cpuMs / run.delivered).toFixed(2)} ms CPU per delivery (handler + queue + receiver)`,
  );
}

export const benchmark = {
  name: 'webhooks',
  async run(): Promise<void> {
    signing();
    report('delivery', await deliver(false));
    report('delivery, every first attempt refused', await deliver(true));
  },
};
