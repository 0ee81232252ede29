import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { createWebhookDeliveryHandler, USER_AGENT } from '../../functions/webhook-delivery/handler.js';
import { verifyWebhook } from '../../functions/core/webhook-signature.js';
import { eventAuthenticationKey, signEngineDetail } from '../../functions/core/event-authentication.js';
import { LocalQueue, QueuePoller, toSqsEvent } from '../../src/local/local-queue.js';
import { queueDirectory } from '../../src/local/sqs-protocol.js';
import { LocalEventBus } from '../../src/local/local-bus.js';
import { StatusLog } from '../../src/local/status-log.js';
import { createLocalServer, listenLocal } from '../../src/local/local-server.js';
import { eventually } from '../support/local-mode.js';
import { startWebhookReceiver, type ReceivedHook as Received, type Responder, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The Webhook Delivery handler against a receiver on 127.0.0.1 and local mode's SQS
 * endpoint (the retry delays are real ChangeMessageVisibility calls over HTTP), with the
 * queue and its DLQ driven by local mode's event source mapping.
 */

const SECRET = `whsec_${Buffer.from('webhook-delivery-test-secret-0123456789').toString('base64')}`;
/** The stack's unsubscribe secret, from which the engine's event key comes. */
const UNSUBSCRIBE_SECRET = 'webhook-delivery-test-unsubscribe-secret-0123456789';
const EVENT_KEY = eventAuthenticationKey(UNSUBSCRIBE_SECRET);

let receiver: WebhookReceiver;
let receiverUrl: string;
let received: Received[];
const respondWith = (responder: Responder) => {
  receiver.respond = responder;
};

let sqsServer: Server;
let sqsEndpoint: string;
const queues: LocalQueue[] = [];
let directoryQueues: LocalQueue[] = [];
let sqs: SQSClient;

function status(code: number, headers: Record<string, string> = {}): Responder {
  return (_, response) => response.writeHead(code, headers).end('nope');
}

function makeQueues(name: string, maxReceiveCount = 3) {
  const dlq = new LocalQueue({ name: `${name}-dlq`, url: `${sqsEndpoint}/000000000000/${name}-dlq`, arn: `arn:aws:sqs:us-east-1:000000000000:${name}-dlq` });
  const queue = new LocalQueue({
    name,
    url: `${sqsEndpoint}/000000000000/${name}`,
    arn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
    visibilityTimeoutSeconds: 30,
    maxReceiveCount,
    deadLetterQueue: dlq,
  });
  queues.push(queue, dlq);
  directoryQueues = [...queues];
  return { queue, dlq };
}

function makeHandler(queue: LocalQueue, options: { url?: string; schedule?: number[]; timeoutMs?: number; events?: string } = {}) {
  const logs: Record<string, unknown>[] = [];
  const handler = createWebhookDeliveryHandler({
    clients: { sqs },
    env: {
      WEBHOOK_URL: options.url ?? `${receiverUrl}/hooks/email`,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_QUEUE_URL: queue.url,
      UNSUBSCRIBE_SECRET,
      ...(options.events !== undefined ? { WEBHOOK_EVENT_TYPES: options.events } : {}),
    },
    log: (entry) => logs.push(entry),
    retrySchedule: options.schedule ?? [1, 1, 1],
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  return { handler, logs };
}

let eventCounter = 0;
/** The detail of an "Email Status Changed" event as the Feedback Processor publishes it (unsigned). */
function statusDetail(detail: Record<string, unknown> = {}): Record<string, unknown> {
  return { emailId: `order-${eventCounter}`, status: 'delivered', previousStatus: 'sent', toEmail: 'ann@example.com', timestamp: '2026-03-02T10:00:04.000Z', ...detail };
}

/** An "Email Status Changed" event as the webhook rule puts it on the queue, signed by the engine unless `sign` is false. */
function statusEvent(detail: Record<string, unknown> = {}, sign = true): string {
  eventCounter += 1;
  const unsigned = statusDetail(detail);
  return JSON.stringify({
    version: '0',
    id: `6a7e8f00-0000-4000-8000-${String(eventCounter).padStart(12, '0')}`,
    'detail-type': 'Email Status Changed',
    source: 'sesmailengine',
    account: '000000000000',
    time: '2026-03-02T10:00:05Z',
    region: 'us-east-1',
    resources: [],
    detail: sign ? signEngineDetail(EVENT_KEY, 'Email Status Changed', unsigned) : unsigned,
  });
}

/** A "Webhook Test" event as `sesmailengine webhook test` publishes it (signed unless `sign` is false). */
function testEvent(id: string, message: string, sign = true): string {
  const detail = { message };
  return JSON.stringify({ id, source: 'sesmailengine', 'detail-type': 'Webhook Test', time: '2026-03-02T11:00:00Z', detail: sign ? signEngineDetail(EVENT_KEY, 'Webhook Test', detail) : detail });
}

/** The detail a receiver gets: the event's, without the engine's signature. */
function receivedDetail(body: string): Record<string, unknown> {
  const { engineSignature, ...rest } = JSON.parse(body).detail as Record<string, unknown>;
  expect(engineSignature).toMatch(/^v1=/);
  return rest;
}

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  receiverUrl = receiver.origin;
  received = receiver.hits;

  const bus = new LocalEventBus({
    engineBusName: 'test-EmailBus',
    account: '000000000000',
    region: 'us-east-1',
    sendQueue: new LocalQueue({ name: 'unused', url: 'http://127.0.0.1/0/unused', arn: 'arn:aws:sqs:us-east-1:0:unused' }),
    feedbackQueue: new LocalQueue({ name: 'unused2', url: 'http://127.0.0.1/0/unused2', arn: 'arn:aws:sqs:us-east-1:0:unused2' }),
    statusLog: new StatusLog(),
  });
  sqsServer = createLocalServer(() => ({ bus, queues: queueDirectory(directoryQueues), listedQueues: directoryQueues, statusLog: new StatusLog() }));
  const port = await listenLocal(sqsServer, '127.0.0.1', 0);
  sqsEndpoint = `http://127.0.0.1:${port}`;
  sqs = new SQSClient({ endpoint: sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
});

afterEach(() => {
  receiver.reset();
});

afterAll(async () => {
  sqs?.destroy();
  for (const queue of queues) queue.close();
  await new Promise<void>((done) => (sqsServer ? sqsServer.close(() => done()) : done()));
  sqsServer?.closeAllConnections();
  await receiver?.stop();
});

describe('a delivery', () => {
  it('is one signed POST of the payload that the receiver verifies, and consumes the message', async () => {
    const { queue } = makeQueues('signed');
    const { handler, logs } = makeHandler(queue);
    const body = statusEvent({ status: 'bounced', bounceType: 'Permanent', metadata: { note: 'naïve <b>' } });
    queue.send(body);
    const batch = queue.receive();
    const result = await handler(toSqsEvent(queue, batch));
    expect(result.batchItemFailures).toEqual([]);
    expect(received).toHaveLength(1);
    const [hit] = received as [Received];
    expect(hit.path).toBe('/hooks/email');
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['user-agent']).toBe(USER_AGENT);
    expect(hit.headers['webhook-id']).toBe(JSON.parse(body).id);
    const payload = verifyWebhook<{ type: string; timestamp: string; data: Record<string, unknown> }>(SECRET, hit.headers, hit.body);
    expect(payload).toEqual({ type: 'email.bounced', timestamp: '2026-03-02T10:00:04.000Z', data: receivedDetail(body) });
    expect(hit.body).not.toContain('engineSignature');
    expect(new Webhook(SECRET).verify(hit.body, hit.headers as Record<string, string>)).toEqual(payload);
    expect(logs).toEqual([expect.objectContaining({ level: 'info', message: 'Webhook delivered', status: 204, attempt: 1, type: 'email.bounced' })]);
  });

  it('delivers a test event as webhook.test', async () => {
    const { queue } = makeQueues('test-event');
    const { handler } = makeHandler(queue);
    queue.send(testEvent('c0ffee00-1111-4222-8333-444455556666', 'hello'));
    await handler(toSqsEvent(queue, queue.receive()));
    expect(verifyWebhook(SECRET, received[0]!.headers, received[0]!.body)).toEqual({ type: 'webhook.test', timestamp: '2026-03-02T11:00:00Z', data: { message: 'hello' } });
  });

  it('drops a message that is not a deliverable event (WHK001) and still delivers the rest of the batch', async () => {
    const { queue } = makeQueues('malformed');
    const { handler, logs } = makeHandler(queue);
    queue.send('{"not":"an event"');
    queue.send(statusEvent({ status: 'clicked' }));
    queue.send(JSON.stringify({ id: 'x', source: 'my.app', 'detail-type': 'Email Status Changed', detail: { emailId: 'e', status: 'sent' } }));
    const result = await handler(toSqsEvent(queue, queue.receive()));
    expect(result.batchItemFailures).toEqual([]);
    expect(received.map((r) => JSON.parse(r.body).type)).toEqual(['email.clicked']);
    expect(logs.filter((l) => l.code === 'WHK001')).toHaveLength(2);
  });
});

describe('events the engine did not publish', () => {
  it('are dropped with WHK004 when unsigned, while the real event in the same batch is delivered', async () => {
    const { queue } = makeQueues('forged-unsigned');
    const { handler, logs } = makeHandler(queue);
    queue.send(statusEvent({ emailId: 'forged', toEmail: 'victim@example.com' }, false));
    queue.send(statusEvent({ emailId: 'real' }));
    const result = await handler(toSqsEvent(queue, queue.receive(10)));
    // Consumed, not returned: a forged event never waits in the queue for another try.
    expect(result.batchItemFailures).toEqual([]);
    expect(received.map((r) => JSON.parse(r.body).data.emailId)).toEqual(['real']);
    expect(logs.filter((l) => l.code === 'WHK004')).toEqual([
      expect.objectContaining({ level: 'error', emailId: 'forged', detailType: 'Email Status Changed', message: expect.stringContaining('no engineSignature') }),
    ]);
  });

  it('are dropped when a signed detail was altered (a changed address) or signed with another key', async () => {
    const { queue } = makeQueues('forged-altered');
    const { handler, logs } = makeHandler(queue);
    const altered = JSON.parse(statusEvent({ emailId: 'altered' }));
    altered.detail.toEmail = 'someone-else@example.com';
    queue.send(JSON.stringify(altered));
    eventCounter += 1;
    const otherKey = signEngineDetail(eventAuthenticationKey('an-unsubscribe-secret-of-another-stack'), 'Email Status Changed', statusDetail({ emailId: 'other-key' }));
    queue.send(JSON.stringify({ ...JSON.parse(statusEvent()), detail: otherKey }));
    // A signed test event replayed as a status change does not verify either (the detail-type is signed).
    const asStatus = JSON.parse(testEvent('c0ffee00-3333-4222-8333-444455556666', 'hi'));
    queue.send(JSON.stringify({ ...asStatus, 'detail-type': 'Email Status Changed', detail: { ...asStatus.detail, emailId: 'swapped', status: 'delivered', timestamp: '2026-03-02T10:00:04.000Z' } }));
    const result = await handler(toSqsEvent(queue, queue.receive(10)));
    expect(result.batchItemFailures).toEqual([]);
    expect(received).toEqual([]);
    expect(logs.filter((l) => l.code === 'WHK004').map((l) => l.emailId).sort()).toEqual(['altered', 'other-key', 'swapped']);
    expect(logs.every((l) => l.code !== 'WHK004' || String(l.message).includes('does not match'))).toBe(true);
  });

  it('include an unsigned "Webhook Test": only the CLI, which signs it, can test the webhook', async () => {
    const { queue } = makeQueues('forged-test');
    const { handler, logs } = makeHandler(queue);
    queue.send(testEvent('c0ffee00-4444-4222-8333-444455556666', 'forged', false));
    await handler(toSqsEvent(queue, queue.receive()));
    expect(received).toEqual([]);
    expect(logs).toEqual([expect.objectContaining({ code: 'WHK004', detailType: 'Webhook Test', webhookId: 'c0ffee00-4444-4222-8333-444455556666' })]);
  });

  it('are checked with the key from the unsubscribe secret: without it the invocation fails and nothing is consumed', async () => {
    const { queue } = makeQueues('no-event-key');
    const handler = createWebhookDeliveryHandler({
      clients: { sqs },
      env: { WEBHOOK_URL: `${receiverUrl}/hooks/email`, WEBHOOK_SECRET: SECRET, WEBHOOK_QUEUE_URL: queue.url },
      log: () => undefined,
    });
    queue.send(statusEvent());
    await expect(handler(toSqsEvent(queue, queue.receive()))).rejects.toThrow(/UNSUBSCRIBE_SECRET or UNSUBSCRIBE_SECRET_ARN/);
    expect(received).toEqual([]);
  });
});

describe('chosen event types (WEBHOOK_EVENT_TYPES)', () => {
  it('sends only the chosen types and test events, and consumes the others unsent', async () => {
    const { queue } = makeQueues('chosen');
    const { handler } = makeHandler(queue, { events: 'email.bounced,email.complained' });
    for (const status of ['delivered', 'bounced', 'opened', 'complained']) queue.send(statusEvent({ status }));
    queue.send(testEvent('c0ffee00-2222-4222-8333-444455556666', 'hi'));
    const result = await handler(toSqsEvent(queue, queue.receive()));
    expect(result.batchItemFailures).toEqual([]);
    expect(received.map((r) => JSON.parse(r.body).type).sort()).toEqual(['email.bounced', 'email.complained', 'webhook.test']);
  });

  it('fails the invocation on an unknown type, so nothing is consumed', async () => {
    const { queue } = makeQueues('chosen-bad');
    const { handler } = makeHandler(queue, { events: 'email.sent' });
    await expect(handler({ Records: [] })).rejects.toThrow(/WEBHOOK_EVENT_TYPES: "email.sent" is not a webhook event type/);
  });
});

describe('a failed delivery', () => {
  it('returns only the failed message of a batch, with a visibility timeout from the schedule', async () => {
    const { queue } = makeQueues('partial');
    const { handler, logs } = makeHandler(queue, { schedule: [7] });
    respondWith((request, response) => response.writeHead(JSON.parse(request.body).data.emailId === 'refused' ? 500 : 200).end());
    for (let i = 0; i < 9; i++) queue.send(statusEvent());
    queue.send(statusEvent({ emailId: 'refused' }));
    const batch = queue.receive(10);
    const result = await handler(toSqsEvent(queue, batch));
    const refused = batch.find((m) => m.body.includes('"refused"'))!;
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: refused.messageId }]);
    expect(received).toHaveLength(10);
    expect(logs.find((l) => l.code === 'WHK002')).toMatchObject({ level: 'warn', detail: 'HTTP 500', attempt: 1, nextAttemptInSeconds: 7, emailId: 'refused' });
    for (const message of batch) if (message !== refused) queue.delete(message.receiptHandle);
    // The handler set the returned message's visibility to 7 s through the SQS endpoint.
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    expect(queue.changeVisibility(refused.receiptHandle, 0)).toBe(true);
  });

  it('is tried again with the same webhook-id and a fresh signature until it succeeds', async () => {
    const { queue } = makeQueues('retry');
    const { handler, logs } = makeHandler(queue, { schedule: [1, 1] });
    respondWith((_, response, attempt) => response.writeHead(attempt < 3 ? 503 : 200).end());
    const poller = new QueuePoller(queue, handler);
    poller.start();
    queue.send(statusEvent());
    await eventually(async () => (received.length >= 3 && queue.counts().inFlight === 0 ? true : undefined), 15_000, 'three attempts');
    await poller.stop();
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(900);
    for (const hit of received) expect(() => verifyWebhook(SECRET, hit.headers, hit.body)).not.toThrow();
    expect(logs.map((l) => l.attempt)).toEqual([1, 2, 3]);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('moves to the DLQ, unchanged, after maxReceiveCount attempts', async () => {
    const { queue, dlq } = makeQueues('dead', 3);
    const { handler } = makeHandler(queue, { schedule: [1] });
    respondWith(status(410));
    const poller = new QueuePoller(queue, handler);
    poller.start();
    const body = statusEvent({ status: 'complained' });
    queue.send(body);
    await eventually(async () => (dlq.counts().visible === 1 ? true : undefined), 15_000, 'the DLQ');
    await poller.stop();
    expect(received).toHaveLength(3);
    expect(dlq.receive()[0]!.body).toBe(body);
  });

  it("waits as long as the receiver's Retry-After asks when that is longer than the schedule", async () => {
    const { queue } = makeQueues('retry-after');
    const { handler, logs } = makeHandler(queue, { schedule: [1] });
    respondWith(status(429, { 'retry-after': '120' }));
    queue.send(statusEvent());
    const batch = queue.receive();
    expect((await handler(toSqsEvent(queue, batch))).batchItemFailures).toHaveLength(1);
    expect(logs.find((l) => l.code === 'WHK002')).toMatchObject({ detail: 'HTTP 429', nextAttemptInSeconds: 120 });
    expect(queue.changeVisibility(batch[0]!.receiptHandle, 0)).toBe(true);
  });

  it('does not follow a redirect (the signed body goes only to the configured URL)', async () => {
    const { queue } = makeQueues('redirect');
    const { handler, logs } = makeHandler(queue);
    respondWith((request, response) => (request.path === '/hooks/email' ? response.writeHead(307, { location: '/elsewhere' }).end() : response.writeHead(200).end()));
    queue.send(statusEvent());
    const result = await handler(toSqsEvent(queue, queue.receive()));
    expect(result.batchItemFailures).toHaveLength(1);
    expect(received.map((r) => r.path)).toEqual(['/hooks/email']);
    expect(logs.find((l) => l.code === 'WHK002')).toMatchObject({ detail: 'HTTP 307 (redirects are not followed)' });
  });

  it('gives up on a receiver that does not answer in time (WHK003) without holding the batch', async () => {
    const { queue } = makeQueues('slow');
    const { handler, logs } = makeHandler(queue, { timeoutMs: 300 });
    respondWith(() => undefined); // never answers
    queue.send(statusEvent());
    const started = Date.now();
    const result = await handler(toSqsEvent(queue, queue.receive()));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.batchItemFailures).toHaveLength(1);
    expect(logs.find((l) => l.code === 'WHK003')).toMatchObject({ detail: 'No answer within 0.3 s.' });
    receiver.dropConnections();
  });

  it('reports an unreachable endpoint as WHK003', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const { queue } = makeQueues('unreachable');
    const { handler, logs } = makeHandler(queue, { url: `http://127.0.0.1:${port}/x` });
    queue.send(statusEvent());
    const result = await handler(toSqsEvent(queue, queue.receive()));
    expect(result.batchItemFailures).toHaveLength(1);
    expect(String(logs.find((l) => l.code === 'WHK003')?.detail)).toMatch(/ECONNREFUSED|fetch failed/);
  });
});

describe('configuration', () => {
  it.each([
    ['a relative URL', { WEBHOOK_URL: '/x' }, /absolute URL/],
    ['another scheme', { WEBHOOK_URL: 'ftp://example.com/x' }, /https:\/\//],
    ['credentials in the URL', { WEBHOOK_URL: 'https://u:p@example.com/x' }, /user name or password/],
    ['no queue URL', { WEBHOOK_QUEUE_URL: '' }, /WEBHOOK_QUEUE_URL/],
    ['an unusable secret', { WEBHOOK_SECRET: 'short' }, /webhook secret is unusable/],
    ['no secret at all', { WEBHOOK_SECRET: '' }, /WEBHOOK_SECRET or WEBHOOK_SECRET_ARN/],
  ])('fails the invocation on %s, so nothing is consumed', async (_, overrides, message) => {
    const handler = createWebhookDeliveryHandler({
      clients: { sqs },
      env: { WEBHOOK_URL: 'https://example.com/hook', WEBHOOK_SECRET: SECRET, WEBHOOK_QUEUE_URL: 'http://127.0.0.1/0/q', ...overrides },
      log: () => undefined,
    });
    await expect(handler({ Records: [] })).rejects.toThrow(message);
  });
});
