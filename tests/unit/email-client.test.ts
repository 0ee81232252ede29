import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EmailClient, entrySize, planCalls } from '../../src/client/index.js';

const noSleep = async () => {};

function entriesOf(call: { args: unknown[] }): PutEventsRequestEntry[] {
  return ((call.args[0] as { input: { Entries: PutEventsRequestEntry[] } }).input.Entries);
}

describe('planCalls', () => {
  it('packs at most ten entries per call', () => {
    expect(planCalls(new Array(23).fill(1), 1000).map((c) => c.length)).toEqual([10, 10, 3]);
  });

  it('starts a new call before the byte limit would be exceeded', () => {
    expect(planCalls([400, 400, 400, 100], 1000)).toEqual([[0, 1], [2, 3]]);
  });
});

describe('entrySize', () => {
  it('counts UTF-8 bytes of source, detail type and detail, and 14 for a time', () => {
    const size = entrySize({ Source: 'a', DetailType: 'bb', Detail: '"é"', Time: new Date() });
    expect(size).toBe(1 + 2 + 4 + 14);
  });
});

describe('EmailClient', () => {
  it('generates an emailId when the request has none and keeps a given one', async () => {
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `ev-${i}` })),
    }));
    const client = new EmailClient({ eventBusName: 'bus', client: new EventBridgeClient({}), sleep: noSleep });

    const outcomes = await client.sendBatch([
      { to: 'a@example.com', templateName: 'welcome' },
      { to: 'b@example.com', templateName: 'welcome', emailId: 'order-42' },
    ]);

    expect(outcomes[0]).toMatchObject({ ok: true, eventId: 'ev-0' });
    expect(outcomes[0]!.emailId).toMatch(/^email-[0-9a-f-]{36}$/);
    expect(outcomes[1]).toEqual({ ok: true, emailId: 'order-42', eventId: 'ev-1' });
    const sent = entriesOf(eb.commandCalls(PutEventsCommand)[0]!);
    expect(JSON.parse(sent[0]!.Detail!).emailId).toBe(outcomes[0]!.emailId);
    expect(sent[0]).toMatchObject({ EventBusName: 'bus', Source: 'app.email-client', DetailType: 'Email Request' });
    eb.restore();
  });

  it('splits 25 requests into calls of 10, 10 and 5', async () => {
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map(() => ({ EventId: 'x' })),
    }));
    const client = new EmailClient({ eventBusName: 'bus', client: new EventBridgeClient({}), sleep: noSleep });

    const outcomes = await client.sendBatch(
      Array.from({ length: 25 }, (_, i) => ({ to: `u${i}@example.com`, templateName: 'welcome' })),
    );

    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(eb.commandCalls(PutEventsCommand).map((c) => entriesOf(c).length).sort()).toEqual([10, 10, 5]);
    eb.restore();
  });

  it('retries only the entries that failed with a retryable code', async () => {
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'e1' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal Service Failure' },
          { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
        ],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e2' }] });
    const client = new EmailClient({ eventBusName: 'bus', client: new EventBridgeClient({}), sleep: noSleep });

    const outcomes = await client.sendBatch([
      { to: 'a@example.com', templateName: 't', emailId: 'a' },
      { to: 'b@example.com', templateName: 't', emailId: 'b' },
      { to: 'c@example.com', templateName: 't', emailId: 'c' },
    ]);

    expect(outcomes).toEqual([
      { ok: true, emailId: 'a', eventId: 'e1' },
      { ok: true, emailId: 'b', eventId: 'e2' },
      { ok: false, emailId: 'c', errorCode: 'MalformedDetail', errorMessage: 'Detail is malformed.' },
    ]);
    const calls = eb.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(2);
    expect(JSON.parse(entriesOf(calls[1]!)[0]!.Detail!).emailId).toBe('b');
    eb.restore();
  });

  it('gives up after maxAttempts when the whole call keeps failing, reporting the error', async () => {
    const eb = mockClient(EventBridgeClient);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    eb.on(PutEventsCommand).rejects(throttled);
    const delays: number[] = [];
    const client = new EmailClient({
      eventBusName: 'bus',
      client: new EventBridgeClient({}),
      maxAttempts: 3,
      baseDelayMs: 50,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });

    const outcome = await client.send({ to: 'a@example.com', templateName: 't', emailId: 'a' });

    expect(outcome).toMatchObject({ ok: false, emailId: 'a', errorCode: 'ThrottlingException' });
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(3);
    expect(delays).toHaveLength(2);
    expect(delays[1]!).toBeLessThanOrEqual(100);
    eb.restore();
  });

  it('refuses an entry larger than the request limit without calling EventBridge', async () => {
    const eb = mockClient(EventBridgeClient);
    const client = new EmailClient({ eventBusName: 'bus', client: new EventBridgeClient({}), maxRequestBytes: 1000 });

    const outcome = await client.send({ to: 'a@example.com', templateName: 't', templateData: { big: 'x'.repeat(2000) } });

    expect(outcome).toMatchObject({ ok: false, errorCode: 'EntryTooLarge' });
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);
    eb.restore();
  });

  it('refuses a request JSON cannot carry as it is (Infinity, NaN, a cycle, a BigInt) and still sends the rest of the batch', async () => {
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_, i) => ({ EventId: `ev-${i}` })) }));
    const client = new EmailClient({ eventBusName: 'bus', client: new EventBridgeClient({}), sleep: noSleep });
    const cyclic: Record<string, unknown> = { name: 'x' };
    cyclic.self = cyclic;
    const shared = { price: 1 };

    const outcomes = await client.sendBatch([
      { to: 'a@example.com', templateName: 't', templateData: { total: Infinity } },
      { to: 'b@example.com', templateName: 't', templateData: { items: [{ price: 2 }, { price: NaN }] } },
      { to: 'c@example.com', templateName: 't', templateData: cyclic },
      { to: 'd@example.com', templateName: 't', templateData: { id: 10n } as unknown as Record<string, unknown> },
      { to: 'e@example.com', templateName: 't', templateData: { first: shared, second: shared, at: new Date(0) } },
    ]);

    expect(outcomes.slice(0, 4).map((o) => (o.ok ? 'ok' : o.errorCode))).toEqual(['InvalidDetail', 'InvalidDetail', 'InvalidDetail', 'InvalidDetail']);
    expect(!outcomes[0]!.ok && outcomes[0]!.errorMessage).toContain('request.templateData.total is Infinity');
    expect(!outcomes[1]!.ok && outcomes[1]!.errorMessage).toContain('request.templateData.items[1].price is NaN');
    expect(outcomes[4]).toMatchObject({ ok: true });
    const sent = eb.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
    expect(sent.map((entry) => JSON.parse(entry.Detail!).to)).toEqual(['e@example.com']);
    eb.restore();
  });

  it('refuses a request whose inline attachments push it over the entry limit, and says to use s3Key', async () => {
    const eb = mockClient(EventBridgeClient);
    const client = new EmailClient({ eventBusName: 'bus', client: new EventBridgeClient({}), sleep: noSleep });
    const content = Buffer.alloc(200 * 1024, 7).toString('base64');

    const outcome = await client.send({
      to: 'a@example.com',
      templateName: 't',
      attachments: [{ content, filename: 'scan.png', contentType: 'image/png' }],
    });

    expect(outcome).toMatchObject({ ok: false, errorCode: 'EntryTooLarge' });
    expect(!outcome.ok && outcome.errorMessage).toMatch(/inline attachments take \d+ bytes.*s3Key/);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);
    eb.restore();
  });

  it('publishes a request whose attachments are listed by s3Key', async () => {
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'ev-1' }] });
    const client = new EmailClient({ eventBusName: 'bus', client: new EventBridgeClient({}), sleep: noSleep });

    const outcome = await client.send({
      to: 'a@example.com',
      templateName: 't',
      attachments: [{ s3Key: 'scans/big.png', filename: 'scan.png', contentType: 'image/png' }],
    });

    expect(outcome).toMatchObject({ ok: true, eventId: 'ev-1' });
    expect(JSON.parse(entriesOf(eb.commandCalls(PutEventsCommand)[0]!)[0]!.Detail!).attachments).toEqual([
      { s3Key: 'scans/big.png', filename: 'scan.png', contentType: 'image/png' },
    ]);
    eb.restore();
  });

  it('rejects the engine\'s own source name', () => {
    expect(() => new EmailClient({ eventBusName: 'bus', source: 'sesmailengine' })).toThrow(/reserved/);
  });
});

describe('EmailClient against local mode', () => {
  it('signs with the credentials it is given, so it needs no AWS set up on the machine', async () => {
    const authorizations: string[] = [];
    const server = createServer((req, res) => {
      authorizations.push(String(req.headers.authorization));
      req.resume().on('end', () => {
        res.setHeader('content-type', 'application/x-amz-json-1.1');
        res.end(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'ev-1' }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new EmailClient({
        eventBusName: 'sesmailengine-EmailBus',
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        sleep: noSleep,
      });

      const outcome = await client.send({ to: 'ada@example.com', templateName: 'welcome' });

      expect(outcome).toMatchObject({ ok: true, eventId: 'ev-1' });
      expect(authorizations[0]).toContain('Credential=S3RVER/');
    } finally {
      server.close();
    }
  });
});
