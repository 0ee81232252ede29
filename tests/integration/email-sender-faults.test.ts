import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { DynamoDBClient, InternalServerError, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  AccountSuspendedException,
  BadRequestException,
  LimitExceededException,
  MailFromDomainNotVerifiedException,
  MessageRejected,
  SendEmailCommand,
  SendingPausedException,
  SESv2Client,
  TooManyRequestsException,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { requestEvent, sqsRecord, uploadStarterTemplates } from '../support/sender-events.js';
import { deliverSendEvent } from '../support/send-evidence.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { documentClient } from '../../functions/lib/clients.js';
import { readDailyCounts } from '../../functions/lib/counters-store.js';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';
import { readLastErrors } from '../../functions/lib/last-error-store.js';

/**
 * What no stand-in can do: SES throttling and refusals, DynamoDB faults, a sender dying
 * mid-batch. SES and DynamoDB calls go through mocks that delegate to the stand-ins unless
 * a test injects a fault, so every assertion is about real records and real mail.
 * The invariant checked throughout: every request ends as exactly one final record or is
 * returned to the queue; no emailId is sent twice.
 */

let env: StandIns;
let clock = new Date('2026-06-01T09:00:00.000Z');
let ses: SESv2Client;
let sesMock: AwsClientStub<SESv2Client>;
let ddb: DynamoDBDocumentClient;
let ddbMock: AwsClientStub<DynamoDBDocumentClient>;

type Fault = (command: string, input: Record<string, unknown>) => Error | undefined;
let ddbFaults: Fault[] = [];
let sesBehaviour: (input: SendEmailCommandInput, call: number) => Promise<unknown>;
let sesCalls = 0;

const COMMANDS = { PutCommand, GetCommand, UpdateCommand, DeleteCommand, BatchGetCommand, BatchWriteCommand } as const;

function throttled() {
  return new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata: { httpStatusCode: 429 } });
}

function realSend(input: SendEmailCommandInput) {
  return env.ses.send(new SendEmailCommand(input));
}

function makeHandler() {
  const logs: Record<string, unknown>[] = [];
  const handler = createEmailSenderHandler({
    clients: { ddb, s3: env.s3, ses },
    env: {
      TRACKING_TABLE: env.tables.tracking,
      SUPPRESSION_TABLE: env.tables.suppression,
      COUNTERS_TABLE: env.tables.counters,
      TEMPLATE_BUCKET: env.bucket,
      CONFIGURATION_SET: 'faults-tracking',
      DEFAULT_SENDER_EMAIL: 'noreply@app.example',
      UNSUBSCRIBE_SECRET: 'faults-secret',
    },
    now: () => clock,
    log: (entry) => logs.push(entry),
  });
  return { handler, logs };
}

let sequence = 0;
function batch(prefix: string, count: number, extra: (i: number) => Record<string, unknown> = () => ({})) {
  sequence++;
  return Array.from({ length: count }, (_, i) =>
    sqsRecord(
      requestEvent({
        emailId: `${prefix}-${sequence}-${i}`,
        to: `${prefix}-${sequence}-${i}@customer.example`,
        templateName: 'welcome',
        templateData: { userName: 'Ann', companyName: 'Acme' },
        ...extra(i),
      }),
      `${prefix}-msg-${sequence}-${i}`,
    ),
  );
}

function idOf(record: { body: string }): string {
  return (JSON.parse(record.body) as { detail: { emailId: string } }).detail.emailId;
}

async function record(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

async function mailCount(address: string): Promise<number> {
  return (await env.sentMail()).filter((mail) => mail.destination.to.includes(address)).length;
}

beforeAll(async () => {
  env = await startStandIns('faults');
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome']);

  ses = new SESv2Client({ region: env.region, credentials: env.credentials, endpoint: env.sesEndpoint });
  sesMock = mockClient(ses);
  sesMock.on(SendEmailCommand).callsFake((input: SendEmailCommandInput) => sesBehaviour(input, ++sesCalls));

  ddb = documentClient(new DynamoDBClient({ region: env.region, credentials: env.credentials, endpoint: env.dynamoDbEndpoint }));
  ddbMock = mockClient(ddb);
  for (const [name, Command] of Object.entries(COMMANDS)) {
    ddbMock.on(Command as never).callsFake(async (input: Record<string, unknown>) => {
      for (const fault of ddbFaults) {
        const error = fault(name, input);
        if (error) throw error;
      }
      return env.ddb.send(new (Command as new (i: unknown) => PutCommand)(input));
    });
  }
});

afterAll(async () => {
  sesMock?.restore();
  ddbMock?.restore();
  ses?.destroy();
  await env?.stop();
});

beforeEach(async () => {
  ddbFaults = [];
  sesBehaviour = realSend;
  sesCalls = 0;
  clock = new Date('2026-06-01T09:00:00.000Z');
  await env.clearMail();
});

describe('SES throttling', () => {
  it('returns every message unsent with no record, stops calling SES, and sends each once after recovery', async () => {
    sesBehaviour = () => Promise.reject(throttled());
    const { handler } = makeHandler();
    const records = batch('thr', 10);

    const first = await handler({ Records: records });

    expect(first.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(records.map((r) => r.messageId).sort());
    expect(sesCalls).toBeLessThanOrEqual(5);
    for (const r of records) expect(await record(idOf(r))).toBeUndefined();
    expect((await readDailyCounts(env.ddb, env.tables.counters, '2026-06-01')).sent).toBe(0);

    sesBehaviour = realSend;
    const second = await handler({ Records: records });
    expect(second.batchItemFailures).toEqual([]);
    for (const r of records) {
      expect((await record(idOf(r)))!.status).toBe('sent');
      expect(await mailCount(`${idOf(r)}@customer.example`)).toBe(1);
    }
  });

  it('returns the rest of the batch once SES starts throttling, and loses or repeats nothing', async () => {
    sesBehaviour = (input, call) => (call <= 2 ? realSend(input) : Promise.reject(new LimitExceededException({ message: 'Daily quota', $metadata: {} })));
    const { handler } = makeHandler();
    const records = batch('mid', 10);

    const first = await handler({ Records: records });
    const returned = new Set(first.batchItemFailures.map((f) => f.itemIdentifier));

    expect(sesCalls).toBeLessThan(10);
    for (const r of records) {
      const tracked = await record(idOf(r));
      if (returned.has(r.messageId)) expect(tracked).toBeUndefined();
      else expect(tracked!.status).toBe('sent');
    }
    expect(returned.size).toBe(8);

    sesBehaviour = realSend;
    const second = await handler({ Records: records.filter((r) => returned.has(r.messageId)) });
    expect(second.batchItemFailures).toEqual([]);
    for (const r of records) expect(await mailCount(`${idOf(r)}@customer.example`)).toBe(1);
  });
});

describe('SES refusals', () => {
  const refusals: [string, () => Error, string][] = [
    ['rejected', () => new MessageRejected({ message: 'Illegal address', $metadata: {} }), 'SES001'],
    ['sandbox', () => new MessageRejected({ message: 'Email address is not verified. The following identities failed the check in region US-EAST-1: x@customer.example', $metadata: {} }), 'SES002'],
    ['mailfrom', () => new MailFromDomainNotVerifiedException({ message: 'MAIL FROM domain not verified', $metadata: {} }), 'SES002'],
    ['suspended', () => new AccountSuspendedException({ message: 'Account suspended', $metadata: {} }), 'SES003'],
    ['paused', () => new SendingPausedException({ message: 'Sending paused', $metadata: {} }), 'SES003'],
    ['badrequest', () => new BadRequestException({ message: 'Invalid header', $metadata: {} }), 'SES004'],
  ];

  it('are permanent: each request is tracked failed with its code and consumed', async () => {
    sesBehaviour = (input) => {
      const to = input.Destination!.ToAddresses![0]!;
      const refusal = refusals.find(([kind]) => to.startsWith(`${kind}@`));
      return refusal ? Promise.reject(refusal[1]()) : realSend(input);
    };
    const { handler } = makeHandler();
    const records = refusals.map(([kind], i) =>
      sqsRecord(requestEvent({ emailId: `ref-${kind}`, to: `${kind}@customer.example`, templateName: 'welcome', templateData: { userName: 'A', companyName: 'B' } }), `ref-msg-${i}`),
    );
    const result = await handler({ Records: records });
    expect(result.batchItemFailures).toEqual([]);
    for (const [kind, , code] of refusals) {
      const tracked = await record(`ref-${kind}`);
      expect({ kind, status: tracked?.status, code: tracked?.errorCode }).toEqual({ kind, status: 'failed', code });
      expect(tracked!.errorMessage).toMatch(/: /);
    }
    expect((await readDailyCounts(env.ddb, env.tables.counters, '2026-06-01')).failed).toBeGreaterThanOrEqual(refusals.length);
  });
});

describe('SES errors that clearly refused the message', () => {
  it.each([
    ['an unknown 4xx answer', () => Object.assign(new Error('Forbidden'), { name: 'SomethingNew', $metadata: { httpStatusCode: 403 } })],
    ['a refused connection', () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' })],
    [
      'no connection within the connect timeout',
      () =>
        Object.assign(new Error('@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 3000 ms.'), {
          name: 'TimeoutError',
        }),
    ],
  ])('%s returns the message and releases the claim, so the next delivery sends it at once', async (_label, error) => {
    sesBehaviour = () => Promise.reject(error());
    const { handler } = makeHandler();
    const records = batch('tr', 2);
    const result = await handler({ Records: records });
    expect(result.batchItemFailures).toHaveLength(2);
    for (const r of records) expect(await record(idOf(r))).toBeUndefined();

    sesBehaviour = realSend;
    expect((await handler({ Records: records })).batchItemFailures).toEqual([]);
    for (const r of records) expect(await mailCount(`${idOf(r)}@customer.example`)).toBe(1);
  });
});

describe('ambiguous SES errors (SES may have accepted the message)', () => {
  const ambiguous: [string, () => Error][] = [
    ['a 5xx', () => Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } })],
    ['a socket timeout', () => Object.assign(new Error('@smithy/node-http-handler - the request socket timed out after 10000 ms of inactivity'), { name: 'TimeoutError' })],
    ['a reset connection', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ];

  it.each(ambiguous)('%s keeps the claim; with no Send event from SES, the message is sent once after the window', async (_label, error) => {
    sesBehaviour = () => Promise.reject(error());
    const { handler } = makeHandler();
    const [request] = batch('amb', 1);
    const address = `${idOf(request!)}@customer.example`;
    expect((await handler({ Records: [request!] })).batchItemFailures).toHaveLength(1);
    expect(await record(idOf(request!))).toMatchObject({ status: 'sending', sendAttempts: 1 });

    // Back after the visibility timeout: the claim is younger than the window, SES is not called.
    sesBehaviour = realSend;
    sesCalls = 0;
    clock = new Date(clock.getTime() + 180_000);
    expect((await handler({ Records: [request!] })).batchItemFailures).toHaveLength(1);
    expect(sesCalls).toBe(0);

    clock = new Date(clock.getTime() + 3 * 180_000);
    expect((await handler({ Records: [request!] })).batchItemFailures).toEqual([]);
    expect(await record(idOf(request!))).toMatchObject({ status: 'sent', sendAttempts: 2 });
    expect(await mailCount(address)).toBe(1);
  });

  it.each(ambiguous)('%s after SES accepted it: the Send event makes it sent, and it is never sent again', async (_label, error) => {
    let accepted: { messageId: string; to: string } | undefined;
    sesBehaviour = async (input) => {
      const out = (await realSend(input)) as { MessageId?: string };
      accepted = { messageId: out.MessageId!, to: input.Destination!.ToAddresses![0]! };
      throw error();
    };
    const { handler } = makeHandler();
    const [request] = batch('acc', 1);
    expect((await handler({ Records: [request!] })).batchItemFailures).toHaveLength(1);
    await deliverSendEvent(env.ddb, env.tables, { emailId: idOf(request!), ...accepted! }, () => clock);

    sesBehaviour = realSend;
    clock = new Date(clock.getTime() + 4 * 180_000);
    expect((await handler({ Records: [request!] })).batchItemFailures).toEqual([]);
    expect(await record(idOf(request!))).toMatchObject({ status: 'sent', sesMessageId: accepted!.messageId });
    expect(await mailCount(accepted!.to)).toBe(1);
  });
});

describe('DynamoDB faults', () => {
  const throughput = () => new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: {} });
  const tableOf = (input: Record<string, unknown>) =>
    (input.TableName as string | undefined) ?? Object.keys((input.RequestItems as Record<string, unknown>) ?? {})[0];

  it('a failed suppression lookup returns the valid requests unsent; invalid ones are still tracked', async () => {
    ddbFaults = [(name, input) => (name === 'BatchGetCommand' && tableOf(input) === env.tables.suppression ? throughput() : undefined)];
    const { handler } = makeHandler();
    const records = [...batch('sup', 2), sqsRecord(requestEvent({ emailId: 'sup-invalid', to: 'nope', templateName: 'welcome' }))];
    const result = await handler({ Records: records });
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([records[0]!.messageId, records[1]!.messageId].sort());
    expect(await record('sup-invalid')).toMatchObject({ status: 'failed', errorCode: 'VAL003' });
    expect(sesCalls).toBe(0);
  });

  it('a failed bounce-rate read returns the messages unsent', async () => {
    clock = new Date('2026-06-02T09:00:00.000Z');
    ddbFaults = [(name, input) => (name === 'BatchGetCommand' && tableOf(input) === env.tables.counters ? new InternalServerError({ message: 'oops', $metadata: {} }) : undefined)];
    const { handler } = makeHandler();
    const records = batch('brk', 3);
    expect((await handler({ Records: records })).batchItemFailures).toHaveLength(3);
    expect(sesCalls).toBe(0);

    ddbFaults = [];
    expect((await handler({ Records: records })).batchItemFailures).toEqual([]);
  });

  it('a failed claim returns the message unsent and leaves no record', async () => {
    ddbFaults = [(name, input) => (name === 'PutCommand' && (input.Item as { status?: string }).status === 'sending' ? throughput() : undefined)];
    const { handler } = makeHandler();
    const records = batch('clm', 2);
    expect((await handler({ Records: records })).batchItemFailures).toHaveLength(2);
    expect(sesCalls).toBe(0);
    for (const r of records) expect(await record(idOf(r))).toBeUndefined();
  });

  it('a failed-record write that fails returns the message, and the next delivery tracks it', async () => {
    ddbFaults = [(name, input) => (name === 'PutCommand' && (input.Item as { status?: string }).status === 'failed' ? throughput() : undefined)];
    const { handler } = makeHandler();
    const bad = sqsRecord(requestEvent({ emailId: 'pf-1', to: 'nope', templateName: 'welcome' }));
    expect((await handler({ Records: [bad] })).batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
    expect(await record('pf-1')).toBeUndefined();
    ddbFaults = [];
    expect((await handler({ Records: [bad] })).batchItemFailures).toEqual([]);
    expect(await record('pf-1')).toMatchObject({ status: 'failed', errorCode: 'VAL003' });
  });

  it('a lost "sent" update never leads to a second send: SES\'s Send event raises the claim', async () => {
    ddbFaults = [(name, input) => (name === 'UpdateCommand' && tableOf(input) === env.tables.tracking ? throughput() : undefined)];
    let accepted: { messageId: string; to: string } | undefined;
    sesBehaviour = async (input) => {
      const out = (await realSend(input)) as { MessageId?: string };
      accepted = { messageId: out.MessageId!, to: input.Destination!.ToAddresses![0]! };
      return out;
    };
    const { handler } = makeHandler();
    const records = batch('ms', 1);
    const address = `${idOf(records[0]!)}@customer.example`;

    expect((await handler({ Records: records })).batchItemFailures).toHaveLength(1);
    expect(await mailCount(address)).toBe(1);
    expect((await record(idOf(records[0]!)))!.status).toBe('sending');

    ddbFaults = [];
    clock = new Date(clock.getTime() + 60_000);
    expect((await handler({ Records: records })).batchItemFailures).toHaveLength(1);
    await deliverSendEvent(env.ddb, env.tables, { emailId: idOf(records[0]!), ...accepted! }, () => clock);
    clock = new Date(clock.getTime() + 15 * 60_000);
    expect((await handler({ Records: records })).batchItemFailures).toEqual([]);
    expect(await record(idOf(records[0]!))).toMatchObject({ status: 'sent', sesMessageId: accepted!.messageId });
    expect(await mailCount(address)).toBe(1);
  });

  it('a claim that cannot be released after throttling is never sent twice', async () => {
    sesBehaviour = () => Promise.reject(throttled());
    ddbFaults = [(name) => (name === 'DeleteCommand' ? throughput() : undefined)];
    const { handler } = makeHandler();
    const records = batch('rel', 1);
    expect((await handler({ Records: records })).batchItemFailures).toHaveLength(1);
    expect((await record(idOf(records[0]!)))!.status).toBe('sending');

    sesBehaviour = realSend;
    ddbFaults = [];
    expect((await handler({ Records: records })).batchItemFailures).toHaveLength(1);
    expect(await mailCount(`${idOf(records[0]!)}@customer.example`)).toBe(0);
  });

  it('a failed counter update does not fail the batch', async () => {
    ddbFaults = [(name, input) => (name === 'UpdateCommand' && tableOf(input) === env.tables.counters ? throughput() : undefined)];
    const { handler, logs } = makeHandler();
    const records = batch('cnt', 2);
    expect((await handler({ Records: records })).batchItemFailures).toEqual([]);
    for (const r of records) expect((await record(idOf(r)))!.status).toBe('sent');
    expect(logs).toContainEqual(expect.objectContaining({ outcome: 'counters-not-updated', sent: 2 }));
  });
});

describe('a sender that dies mid-batch', () => {
  it('on redelivery sends what was not sent, never repeats what was, and resends the interrupted one after the window', async () => {
    const records = batch('crash', 5);
    const hungAddress = `${idOf(records[2]!)}@customer.example`;
    // The first attempt hangs inside the SES call for one record, as a Lambda timing out would.
    sesBehaviour = (input) => (input.Destination!.ToAddresses![0] === hungAddress ? new Promise(() => undefined) : realSend(input));
    const dying = makeHandler().handler({ Records: records });
    void dying;
    await new Promise((resolve) => setTimeout(resolve, 500));

    sesBehaviour = realSend;
    clock = new Date(clock.getTime() + 60_000);
    const { handler } = makeHandler();
    const redelivered = await handler({ Records: records });
    expect(redelivered.batchItemFailures).toEqual([{ itemIdentifier: records[2]!.messageId }]);

    clock = new Date(clock.getTime() + 10 * 60_000);
    const again = await handler({ Records: [records[2]!] });
    expect(again.batchItemFailures).toEqual([]);
    expect(await record(idOf(records[2]!))).toMatchObject({ status: 'sent', sendAttempts: 2 });
    for (const r of records) {
      expect(await mailCount(`${idOf(r)}@customer.example`)).toBe(1);
      expect((await record(idOf(r)))!.status).toBe('sent');
    }
  });
});

describe('errors nobody foresaw', () => {
  const tooLarge = () => Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
  const onClaimOf = (emailId: string, error: () => Error): Fault => (name, input) =>
    name === 'PutCommand' && (input.Item as { emailId?: string; status?: string }).emailId === emailId && (input.Item as { status?: string }).status === 'sending' ? error() : undefined;
  const received = <T extends { attributes: { ApproximateReceiveCount: string } }>(record: T, count: number): T => ({
    ...record,
    attributes: { ...record.attributes, ApproximateReceiveCount: String(count) },
  });

  it('return the message on its first two receives, then track it failed ENG001 with the error, while its batch-mates are sent', async () => {
    const records = batch('eng', 3);
    const poisoned = idOf(records[0]!);
    ddbFaults = [onClaimOf(poisoned, tooLarge)];
    const { handler } = makeHandler();

    for (const count of [1, 2]) {
      const result = await handler({ Records: records.map((r) => received(r, count)) });
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[0]!.messageId }]);
      expect(await record(poisoned)).toBeUndefined();
    }
    const third = await handler({ Records: [received(records[0]!, 3)] });
    expect(third.batchItemFailures).toEqual([]);
    const tracked = await record(poisoned);
    expect(tracked).toMatchObject({ status: 'failed', errorCode: 'ENG001' });
    expect(tracked!.errorMessage).toContain('ValidationException: Item size has exceeded the maximum allowed size');
    expect(tracked!.errorMessage!.length).toBeLessThanOrEqual(500);
    expect(await mailCount(`${poisoned}@customer.example`)).toBe(0);
    for (const r of records.slice(1)) expect(await mailCount(`${idOf(r)}@customer.example`)).toBe(1);
  });

  it.each([
    ['throttling', () => new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: {} })],
    ['a 5xx', () => new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } })],
    ['a missing permission', () => Object.assign(new Error('not authorized to perform: dynamodb:PutItem'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } })],
  ])('never turn %s into ENG001, however often it comes back', async (_label, error) => {
    const [request] = batch('keep', 1);
    ddbFaults = [onClaimOf(idOf(request!), error)];
    const { handler } = makeHandler();
    expect((await handler({ Records: [received(request!, 9)] })).batchItemFailures).toHaveLength(1);
    expect(await record(idOf(request!))).toBeUndefined();
  });

  it('never track ENG001 once SES was called: the claim stays for the Send event to decide', async () => {
    const [request] = batch('late', 1);
    ddbFaults = [(name, input) => (name === 'UpdateCommand' && (input.Key as { emailId?: string }).emailId === idOf(request!) ? tooLarge() : undefined)];
    const { handler } = makeHandler();
    expect((await handler({ Records: [received(request!, 5)] })).batchItemFailures).toHaveLength(1);
    expect(await record(idOf(request!))).toMatchObject({ status: 'sending' });
    expect(await mailCount(`${idOf(request!)}@customer.example`)).toBe(1);
  });

  it('leave the last error of a message returned from its third receive on, for dlq list; none before', async () => {
    const records = batch('last', 2);
    ddbFaults = records.map((r) => onClaimOf(idOf(r), () => new InternalServerError({ message: 'DynamoDB is having a bad day', $metadata: { httpStatusCode: 500 } })));
    const { handler } = makeHandler();
    await handler({ Records: [received(records[0]!, 2), received(records[1]!, 10)] });
    ddbFaults = [];
    const notes = await readLastErrors(env.ddb, env.tables.counters, records.map((r) => r.messageId));
    expect(notes.has(records[0]!.messageId)).toBe(false);
    expect(notes.get(records[1]!.messageId)).toEqual({
      messageId: records[1]!.messageId,
      emailId: idOf(records[1]!),
      reason: expect.stringContaining('DynamoDB is having a bad day'),
      receiveCount: 10,
      at: clock.toISOString(),
    });
  });
});
