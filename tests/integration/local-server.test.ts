import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LocalQueue } from '../../src/local/local-queue.js';
import { LocalEventBus } from '../../src/local/local-bus.js';
import { StatusLog } from '../../src/local/status-log.js';
import { queueDirectory } from '../../src/local/sqs-protocol.js';
import { createLocalServer, listenLocal } from '../../src/local/local-server.js';

const BUS = 'it-EmailBus';
let server: Server;
let endpoint: string;
let send: LocalQueue;
let feedback: LocalQueue;
let statusLog: StatusLog;
let events: EventBridgeClient;
let sqs: SQSClient;

beforeAll(async () => {
  const base = 'http://127.0.0.1:1/000000000000';
  send = new LocalQueue({ name: 'it-send', url: `${base}/it-send`, arn: 'arn:send' });
  feedback = new LocalQueue({ name: 'it-feedback', url: `${base}/it-feedback`, arn: 'arn:feedback' });
  statusLog = new StatusLog(3);
  const bus = new LocalEventBus({ engineBusName: BUS, account: '000000000000', region: 'us-east-1', sendQueue: send, feedbackQueue: feedback, statusLog, maxRequestBytes: 4096 });
  const state = { bus, queues: queueDirectory([send, feedback]), listedQueues: [send, feedback], statusLog };
  server = createLocalServer(() => state);
  const port = await listenLocal(server, '127.0.0.1', 0);
  endpoint = `http://127.0.0.1:${port}`;
  const common = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'any', secretAccessKey: 'thing' }, maxAttempts: 1 };
  events = new EventBridgeClient(common);
  sqs = new SQSClient(common);
});

afterAll(async () => {
  events.destroy();
  sqs.destroy();
  send.close();
  feedback.close();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
});

const request = (to: string) => ({ EventBusName: BUS, Source: 'my.app', DetailType: 'Email Request', Detail: JSON.stringify({ to, templateName: 'welcome' }) });

describe('the local EventBridge endpoint, through @aws-sdk/client-eventbridge', () => {
  it('accepts a batch and routes requests to the send queue', async () => {
    const before = send.counts().visible;
    const out = await events.send(new PutEventsCommand({ Entries: [request('a@example.com'), request('b@example.com')] }));
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.every((e) => typeof e.EventId === 'string')).toBe(true);
    expect(send.counts().visible - before).toBe(2);
    const body = JSON.parse(send.peekBodies().at(-1)!);
    expect(body).toMatchObject({ source: 'my.app', 'detail-type': 'Email Request', detail: { to: 'b@example.com' } });
  });

  it('fails bad entries one by one and keeps the good ones', async () => {
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          request('ok@example.com'),
          { EventBusName: BUS, DetailType: 'Email Request', Detail: '{}' },
          { EventBusName: BUS, Source: 'my.app', DetailType: 'Email Request', Detail: 'not json' },
          { EventBusName: 'missing-bus', Source: 'my.app', DetailType: 'Email Request', Detail: '{}' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'InvalidArgument', 'MalformedDetail', 'ResourceNotFoundException']);
  });

  it('rejects more than 10 entries as a ValidationException', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => request(`u${i}@example.com`));
    await expect(events.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('rejects a request over the configured size limit', async () => {
    const big = { ...request('x@example.com'), Detail: JSON.stringify({ to: 'x@example.com', pad: 'p'.repeat(3000) }) };
    await expect(events.send(new PutEventsCommand({ Entries: [big, big] }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('routes injected SES events on "default" to the feedback queue', async () => {
    const before = feedback.counts().visible;
    const out = await events.send(
      new PutEventsCommand({ Entries: [{ Source: 'aws.ses', DetailType: 'Email Delivered', Detail: JSON.stringify({ eventType: 'Delivery', mail: {} }) }] }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(feedback.counts().visible - before).toBe(1);
  });

  it('keeps the latest "Email Status Changed" events, bounded, at GET /events', async () => {
    for (const status of ['sent', 'delivered', 'opened', 'clicked']) {
      await events.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: BUS, Source: 'sesmailengine', DetailType: 'Email Status Changed', Detail: JSON.stringify({ emailId: 'e1', status }) }],
        }),
      );
    }
    const body = (await (await fetch(`${endpoint}/events?emailId=e1`)).json()) as { events: { detail: { status: string } }[]; dropped: number };
    expect(body.events.map((e) => e.detail.status)).toEqual(['delivered', 'opened', 'clicked']);
    expect(body.dropped).toBe(1);
  });

  it('answers an unknown X-Amz-Target with UnknownOperationException', async () => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.PutRule' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('answers a body that is not JSON with SerializationException', async () => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.PutEvents' },
      body: '{oops',
    });
    expect(await response.json()).toMatchObject({ __type: 'SerializationException' });
  });
});

describe('the local SQS endpoint, through @aws-sdk/client-sqs', () => {
  it('serves SendMessage with a delay (soft-bounce retries) and GetQueueUrl', async () => {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'it-send' }));
    // The SDK sends to the queue URL's host, so point the URL at this server.
    const url = `${endpoint}${new URL(QueueUrl!).pathname}`;
    const out = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"retry":1}', DelaySeconds: 2 }));
    expect(out.MessageId).toEqual(expect.any(String));
    expect(send.counts().delayed).toBe(1);
  });

  it('maps SQS errors to the SDK exception names', async () => {
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: `${endpoint}/000000000000/nope`, MessageBody: 'x' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });
});
