import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { SendMessageCommand, SQSClient, type SendMessageCommandInput } from '@aws-sdk/client-sqs';
import { ConflictException, CreateScheduleCommand, SchedulerClient, ValidationException } from '@aws-sdk/client-scheduler';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { requestEvent, sqsEvent, uploadStarterTemplates } from '../support/sender-events.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { failScheduled, type SenderTrackingRecord } from '../../functions/lib/tracking-store.js';
import type { Env } from '../../functions/lib/env.js';

/**
 * Scheduled sends through the real Email Sender against dynalite, s3rver and the SES stand-in.
 * SQS (the delayed re-enqueue) and EventBridge Scheduler have no stand-in here: both are
 * mocked, and each test then delivers the held message body itself, as the queue would.
 */

let env: StandIns;
let clock = new Date('2026-03-02T10:00:00.000Z');
const sqsMock = mockClient(SQSClient);
const schedulerMock = mockClient(SchedulerClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/111122223333/sesmailengine-send';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:111122223333:sesmailengine-send';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/sesmailengine-SchedulerRole-ABC';

function senderEnv(overrides: Env = {}): Env {
  return {
    TRACKING_TABLE: env.tables.tracking,
    SUPPRESSION_TABLE: env.tables.suppression,
    COUNTERS_TABLE: env.tables.counters,
    TEMPLATE_BUCKET: env.bucket,
    CONFIGURATION_SET: 'scheduled-test-tracking',
    DEFAULT_SENDER_EMAIL: 'noreply@app.example',
    TRACKING_RETENTION_DAYS: '30',
    SEND_QUEUE_URL: QUEUE_URL,
    SEND_QUEUE_ARN: QUEUE_ARN,
    SCHEDULE_GROUP_NAME: 'sesmailengine-scheduled',
    SCHEDULER_ROLE_ARN: ROLE_ARN,
    ...overrides,
  };
}

function makeHandler(overrides: Env = {}) {
  const logs: Record<string, unknown>[] = [];
  const handler = createEmailSenderHandler({
    clients: { ddb: env.ddb, s3: env.s3, ses: env.ses, sqs: new SQSClient({ region: 'us-east-1' }), scheduler: new SchedulerClient({ region: 'us-east-1' }) },
    env: senderEnv(overrides),
    now: () => clock,
    log: (entry) => logs.push(entry),
  });
  return { handler, logs };
}

async function record(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

async function mailTo(address: string) {
  return (await env.sentMail()).filter((mail) => mail.destination.to.includes(address));
}

const welcome = (to: string, emailId: string, sendAt: string) =>
  requestEvent({ to, emailId, templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' }, sendAt });

const minutes = (n: number) => new Date(clock.getTime() + n * 60_000).toISOString();

beforeAll(async () => {
  env = await startStandIns('scheduled');
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome']);
});

afterAll(async () => {
  sqsMock.restore();
  schedulerMock.restore();
  await env?.stop();
});

beforeEach(async () => {
  await env.clearMail();
  sqsMock.reset();
  schedulerMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  schedulerMock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
  clock = new Date('2026-03-02T10:00:00.000Z');
});

describe('a request due within 15 minutes', () => {
  it('is tracked scheduled and put back on the send queue, unchanged, with the remaining delay', async () => {
    const { handler, logs } = makeHandler();
    const body = welcome('soon@customer.example', 'soon-1', minutes(10));
    const result = await handler(sqsEvent(body));

    expect(result.batchItemFailures).toEqual([]);
    expect(await mailTo('soon@customer.example')).toEqual([]);
    expect(await record('soon-1')).toMatchObject({ status: 'scheduled', statusRank: 0.5, scheduledFor: '2026-03-02T10:10:00.000Z', toEmail: 'soon@customer.example' });
    const sent = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent as SendMessageCommandInput[]).toEqual([{ QueueUrl: QUEUE_URL, MessageBody: body, DelaySeconds: 600 }]);
    expect(schedulerMock.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    expect(logs).toEqual([expect.objectContaining({ outcome: 'scheduled', emailId: 'soon-1', via: 'queue-delay' })]);
  });

  it('is sent when it comes back due, replacing its scheduled record', async () => {
    const { handler } = makeHandler();
    const body = welcome('due@customer.example', 'due-1', minutes(5));
    await handler(sqsEvent(body));
    clock = new Date(clock.getTime() + 5 * 60_000);
    const result = await handler(sqsEvent(body));

    expect(result.batchItemFailures).toEqual([]);
    expect(await mailTo('due@customer.example')).toHaveLength(1);
    expect(await record('due-1')).toMatchObject({ status: 'sent', statusRank: 1, scheduledFor: '2026-03-02T10:05:00.000Z', timestamp: '2026-03-02T10:05:00.000Z' });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
  });

  it('is held again when it comes back early', async () => {
    const { handler } = makeHandler();
    const body = welcome('early@customer.example', 'early-1', minutes(10));
    await handler(sqsEvent(body));
    clock = new Date(clock.getTime() + 9 * 60_000 + 30_000);
    await handler(sqsEvent(body));

    expect(await mailTo('early@customer.example')).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input.DelaySeconds)).toEqual([600, 30]);
    expect((await record('early-1'))!.status).toBe('scheduled');
  });

  it('is skipped when it comes back after being cancelled', async () => {
    const { handler, logs } = makeHandler();
    const body = welcome('cancel@customer.example', 'cancel-1', minutes(2));
    await handler(sqsEvent(body));
    expect(await failScheduled(env.ddb, env.tables.tracking, 'cancel-1', { code: 'SCH001', message: 'cancelled' })).toBe(true);
    clock = new Date(clock.getTime() + 2 * 60_000);
    const result = await handler(sqsEvent(body));

    expect(result.batchItemFailures).toEqual([]);
    expect(await mailTo('cancel@customer.example')).toEqual([]);
    expect(await record('cancel-1')).toMatchObject({ status: 'failed', errorCode: 'SCH001' });
    expect(logs.at(-1)).toMatchObject({ outcome: 'duplicate', emailId: 'cancel-1' });
  });

  it('fails its own scheduled record when it is due but the recipient got suppressed meanwhile', async () => {
    const { handler } = makeHandler();
    const { addSuppression } = await import('../../functions/lib/suppression-store.js');
    const body = welcome('gone@customer.example', 'gone-1', minutes(3));
    await handler(sqsEvent(body));
    await addSuppression(env.ddb, env.tables.suppression, { email: 'gone@customer.example', reason: 'hard-bounce', suppressionType: 'bounce', createdAt: clock.toISOString() });
    clock = new Date(clock.getTime() + 3 * 60_000);
    await handler(sqsEvent(body));
    expect(await record('gone-1')).toMatchObject({ status: 'failed', errorCode: 'SUP001' });
  });

  it('goes back to the queue when the re-enqueue fails, and is held once it works', async () => {
    sqsMock.on(SendMessageCommand).rejectsOnce(Object.assign(new Error('down'), { name: 'InternalError' })).resolves({ MessageId: 'm-2' });
    const { handler } = makeHandler();
    const body = welcome('retry@customer.example', 'hold-retry-1', minutes(4));
    const first = await handler(sqsEvent(body));
    expect(first.batchItemFailures).toHaveLength(1);
    expect((await record('hold-retry-1'))!.status).toBe('scheduled');
    const second = await handler(sqsEvent(body));
    expect(second.batchItemFailures).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(2);
  });
});

describe('a request due later than 15 minutes', () => {
  it('becomes a one-time schedule in the stack group that puts the same message on the send queue', async () => {
    const { handler, logs } = makeHandler();
    const body = welcome('later@customer.example', 'order/42 later', '2026-03-05T08:00:00+01:00');
    const result = await handler(sqsEvent(body));

    expect(result.batchItemFailures).toEqual([]);
    const calls = schedulerMock.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      {
        Name: expect.stringMatching(/^order_42_later\.[0-9a-f]{40}$/),
        GroupName: 'sesmailengine-scheduled',
        Description: 'SESMailEngine scheduled send of order/42 later',
        ScheduleExpression: 'at(2026-03-05T07:00:00)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        State: 'ENABLED',
        Target: {
          Arn: QUEUE_ARN,
          RoleArn: ROLE_ARN,
          Input: body,
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        },
      },
    ]);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(await record('order/42 later')).toMatchObject({ status: 'scheduled', scheduledFor: '2026-03-05T07:00:00.000Z' });
    expect(logs).toEqual([expect.objectContaining({ outcome: 'scheduled', via: 'scheduler' })]);
  });

  it('counts a ConflictException on redelivery as already scheduled', async () => {
    const { handler } = makeHandler();
    const body = welcome('twice@customer.example', 'twice-1', minutes(60));
    await handler(sqsEvent(body));
    schedulerMock.on(CreateScheduleCommand).rejects(new ConflictException({ Message: 'Schedule twice-1 already exists.', message: 'Schedule twice-1 already exists.', $metadata: {} }));
    const again = await handler(sqsEvent(body));

    expect(again.batchItemFailures).toEqual([]);
    expect(schedulerMock.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input.Name)).toEqual(['twice-1', 'twice-1']);
    expect((await record('twice-1'))!.status).toBe('scheduled');
  });

  it('is tracked failed SCH002 when Scheduler refuses the schedule', async () => {
    schedulerMock.on(CreateScheduleCommand).rejects(new ValidationException({ Message: 'Input too long', message: 'Input too long', $metadata: {} }));
    const { handler } = makeHandler();
    const result = await handler(sqsEvent(welcome('refused@customer.example', 'refused-1', minutes(120))));

    expect(result.batchItemFailures).toEqual([]);
    const tracked = await record('refused-1');
    expect(tracked).toMatchObject({ status: 'failed', errorCode: 'SCH002' });
    expect(tracked!.errorMessage).toContain('Input too long');
  });

  it('is tracked failed SCH002 when the sender has no schedule group configured', async () => {
    const { handler } = makeHandler({ SCHEDULE_GROUP_NAME: '' });
    await handler(sqsEvent(welcome('noconf@customer.example', 'noconf-1', minutes(120))));
    expect(await record('noconf-1')).toMatchObject({ status: 'failed', errorCode: 'SCH002', errorMessage: expect.stringContaining('SCHEDULE_GROUP_NAME') });
  });
});

describe('requests that are not held', () => {
  it('sends a request whose sendAt is past right away', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('past@customer.example', 'past-1', '2026-03-01T00:00:00Z')));
    expect(await mailTo('past@customer.example')).toHaveLength(1);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('does not let a later request with the same emailId but no sendAt take over a scheduled record', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('same@customer.example', 'same-1', minutes(10))));
    await handler(sqsEvent(requestEvent({ to: 'same@customer.example', emailId: 'same-1', templateName: 'welcome', templateData: { userName: 'A', companyName: 'B' } })));
    expect(await mailTo('same@customer.example')).toEqual([]);
    expect((await record('same-1'))!.status).toBe('scheduled');
  });

  it('tracks a sendAt more than a year ahead as failed VAL011', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('far@customer.example', 'far-1', '2027-06-01T00:00:00Z')));
    expect(await record('far-1')).toMatchObject({ status: 'failed', errorCode: 'VAL011' });
  });
});
