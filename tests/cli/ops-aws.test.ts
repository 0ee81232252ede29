import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CliError } from '../../src/errors.js';
import { dlqList, dlqRedrive } from '../../src/commands/dlq.js';
import { diagnoseCommand, type DiagnoseReport } from '../../src/commands/diagnose.js';
import { send } from '../../src/commands/send.js';
import { stats } from '../../src/commands/stats.js';
import { suppressionCheck, suppressionList, suppressionRemove } from '../../src/commands/suppression.js';
import { UserCancelled } from '../../src/errors.js';
import { addSuppression, findSuppressed, getSuppression } from '../../functions/lib/suppression-store.js';
import { resolveTarget } from '../../src/ops/target.js';
import { addDailyCounts } from '../../functions/lib/counters-store.js';
import { writeLastErrors } from '../../functions/lib/last-error-store.js';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { captureIo, scriptedPrompter } from '../support/cli-harness.js';
import { FakeCloudFormation } from '../support/fake-cloudformation.js';

/**
 * The operating commands against a deployed stack: CloudFormation (the fake), STS, SQS and
 * EventBridge mocked; DynamoDB on the dynalite stand-in where the data matters, mocked
 * where the paging does.
 */

const sts = mockClient(STSClient);
const sqs = mockClient(SQSClient);
const events = mockClient(EventBridgeClient);
let aws: StandIns;
let cfn: FakeCloudFormation;
const NOW = new Date('2026-03-01T12:00:00Z');
const Q = 'https://sqs.us-east-1.amazonaws.com/123456789012';
const URLS = {
  send: `${Q}/sesmailengine-send`,
  feedback: `${Q}/sesmailengine-feedback`,
  sendDlq: `${Q}/sesmailengine-send-dlq`,
  feedbackDlq: `${Q}/sesmailengine-feedback-dlq`,
  eventsDlq: `${Q}/sesmailengine-event-delivery-dlq`,
};

beforeAll(async () => {
  aws = await startStandIns('opsaws');
  cfn = new FakeCloudFormation();
  cfn.seed(
    'sesmailengine',
    'UPDATE_COMPLETE',
    { BounceRateThreshold: '3', BounceRateMinimumSends: '10', SoftBounceRetryDelaySeconds: '600' },
    {
      EventBusName: 'sesmailengine-EmailBus',
      EmailTrackingTableName: aws.tables.tracking,
      SuppressionTableName: aws.tables.suppression,
      CountersTableName: aws.tables.counters,
      TemplateBucketName: aws.bucket,
      SendQueueUrl: URLS.send,
      FeedbackQueueUrl: URLS.feedback,
      SendDeadLetterQueueUrl: URLS.sendDlq,
      FeedbackDeadLetterQueueUrl: URLS.feedbackDlq,
      EventDeliveryDeadLetterQueueUrl: URLS.eventsDlq,
    },
  );
  cfn.seed('half-made', 'CREATE_IN_PROGRESS', {}, { EventBusName: 'half-made-EmailBus' });
});

beforeEach(() => {
  sqs.reset();
  events.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev' });
  queueAttributes({});
});

afterAll(async () => {
  cfn.restore();
  sts.restore();
  sqs.restore();
  events.restore();
  await aws.stop();
});

/** GetQueueAttributes answers: visible messages per queue URL, and each queue's ARN. */
function queueAttributes(visible: Record<string, number>) {
  sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string; AttributeNames?: string[] }) => {
    if (input.AttributeNames?.includes('QueueArn')) return { Attributes: { QueueArn: `arn:aws:sqs:us-east-1:123456789012:${input.QueueUrl.split('/').pop()}` } };
    return { Attributes: { ApproximateNumberOfMessages: String(visible[input.QueueUrl] ?? 0), ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } };
  });
}

const base = () => ({ region: 'us-east-1', io: captureIo(), clients: { ddb: aws.ddb } });

async function cliError(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('expected a CliError');
}

describe('stack resolution', () => {
  it("takes every resource name from the stack's outputs and the settings from its parameters", async () => {
    const target = await resolveTarget({ region: 'us-east-1', clients: { ddb: aws.ddb } });
    expect(target.kind).toBe('aws');
    expect(target.resources).toMatchObject({
      eventBusName: 'sesmailengine-EmailBus',
      trackingTable: aws.tables.tracking,
      countersTable: aws.tables.counters,
      deadLetterQueues: { send: URLS.sendDlq, feedback: URLS.feedbackDlq, events: URLS.eventsDlq },
    });
    expect(target.settings).toMatchObject({ bounceRateThreshold: 3, bounceRateMinimumSends: 10, softBounceRetryDelaySeconds: 600 });
    expect(target.flags).toBe(' --region us-east-1');
    target.close();
  });

  it('says there is no such stack (AWS004)', async () => {
    const error = await cliError(resolveTarget({ region: 'us-east-1', stackName: 'nope' }));
    expect(error.code).toBe('AWS004');
    expect(error.fix).toContain('--local');
  });

  it('says which outputs a stack still being created lacks (OPS003)', async () => {
    const error = await cliError(resolveTarget({ region: 'us-east-1', stackName: 'half-made' }));
    expect(error.code).toBe('OPS003');
    expect(error.message).toContain('trackingTable');
  });

  it('turns missing credentials into AWS001, as for every AWS command', async () => {
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    expect((await cliError(resolveTarget({ region: 'us-east-1' }))).code).toBe('AWS001');
  });
});

describe('stats on the stack', () => {
  it("judges today's brake with the stack's own threshold", async () => {
    await addDailyCounts(aws.ddb, aws.tables.counters, '2026-03-01', { sent: 20, delivered: 18, bounced: 1 }, 3);
    const options = base();
    expect(await stats({ ...options, json: true, now: () => NOW })).toBe(0);
    const out = JSON.parse(options.io.out());
    expect(out).toMatchObject({ bounceRateThreshold: 3, bounceRateMinimumSends: 10, bounceBrakeMaxHardBounces: 0, brakeOnToday: true });
    expect(out.days[0]).toMatchObject({ date: '2026-03-01', sent: 20, delivered: 18, bounced: 1, bounceRate: 5, deliveryRate: 90 });
  });
});

describe('suppression list paging', () => {
  // Mocked only inside this block: the other tests use the stand-in's document client.
  const mockDocumentClient = () => mockClient(DynamoDBDocumentClient);
  let ddbMock: ReturnType<typeof mockDocumentClient>;
  beforeAll(() => {
    ddbMock = mockDocumentClient();
  });
  afterAll(() => ddbMock.restore());

  it('queries suppression-type-date-index per type, follows LastEvaluatedKey, merges newest first', async () => {
    ddbMock.reset();
    const entry = (email: string, type: string, createdAt: string) => ({ email, reason: 'x', suppressionType: type, createdAt });
    const pages: Record<string, { Items: unknown[]; LastEvaluatedKey?: Record<string, unknown> }[]> = {
      bounce: [{ Items: [entry('b1@x.com', 'bounce', '2026-02-03')], LastEvaluatedKey: { email: 'b1@x.com' } }, { Items: [entry('b2@x.com', 'bounce', '2026-02-01')] }],
      complaint: [{ Items: [entry('c1@x.com', 'complaint', '2026-02-02')] }],
    };
    ddbMock.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: { ':t': string } }) => pages[input.ExpressionAttributeValues[':t']]?.shift() ?? { Items: [] });
    const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const io = captureIo();
    expect(await suppressionList({ region: 'us-east-1', io, json: true, clients: { ddb } })).toBe(0);
    const out = JSON.parse(io.out());
    expect(out.entries.map((e: { email: string }) => e.email)).toEqual(['b1@x.com', 'c1@x.com', 'b2@x.com']);
    const queries = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries).toHaveLength(5);
    expect(queries.every((q) => q.IndexName === 'suppression-type-date-index' && q.ScanIndexForward === false)).toBe(true);
    expect(queries.find((q) => q.ExclusiveStartKey)).toMatchObject({ ExclusiveStartKey: { email: 'b1@x.com' }, ExpressionAttributeValues: { ':t': 'bounce' } });
  });

  it('stops paging at --limit', async () => {
    ddbMock.reset();
    ddbMock.on(QueryCommand).resolves({ Items: [{ email: 'a@x.com', reason: 'manual', suppressionType: 'manual', createdAt: '2026-01-01' }], LastEvaluatedKey: { email: 'a' } });
    const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const io = captureIo();
    await suppressionList({ region: 'us-east-1', io, json: true, type: 'manual', limit: '3', clients: { ddb } });
    expect(JSON.parse(io.out()).count).toBe(3);
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(3);
  });

  it('between the two steps of the index upgrade (no index), says to finish it with install (OPS003)', async () => {
    ddbMock.reset();
    ddbMock.on(QueryCommand).rejects(Object.assign(new Error('The table does not have the specified index: suppression-type-date-index'), { name: 'ValidationException' }));
    const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const error = await cliError(suppressionList({ region: 'us-east-1', io: captureIo(), type: 'bounce', clients: { ddb } }));
    expect(error.code).toBe('OPS003');
    expect(error.fix).toContain('run sesmailengine install again');
  });
});

describe("an item in the original engine's shape (addedToSuppressionDate, no createdAt)", () => {
  const original = { email: 'olduser@example.com', suppressionType: 'bounce', reason: 'hard-bounce', addedToSuppressionDate: '2026-03-01T08:00:00Z' };
  beforeAll(async () => {
    await aws.ddb.send(new PutCommand({ TableName: aws.tables.suppression, Item: original }));
  });

  it('is listed by suppression list, also with --since its day', async () => {
    for (const since of [undefined, '2026-03-01']) {
      const io = captureIo();
      expect(await suppressionList({ ...base(), io, json: true, type: 'bounce', ...(since ? { since } : {}) })).toBe(0);
      const entries = JSON.parse(io.out()).entries as Record<string, string>[];
      expect(entries).toContainEqual({ ...original, createdAt: original.addedToSuppressionDate });
    }
  });

  it('is shown by suppression check and found by the sender’s lookup', async () => {
    const io = captureIo();
    await suppressionCheck({ ...base(), io, address: 'OldUser@example.com' });
    expect(io.out()).toContain('olduser@example.com suppressed (hard-bounce, type bounce) since 2026-03-01T08:00:00Z');
    expect((await findSuppressed(aws.ddb, aws.tables.suppression, ['olduser@example.com'])).get('olduser@example.com')?.reason).toBe('hard-bounce');
  });

  it('new entries carry addedToSuppressionDate as well as createdAt', async () => {
    await addSuppression(aws.ddb, aws.tables.suppression, { email: 'new@example.com', reason: 'manual', suppressionType: 'manual', createdAt: NOW.toISOString() });
    const raw = await aws.ddb.send(new GetCommand({ TableName: aws.tables.suppression, Key: { email: 'new@example.com' } }));
    expect(raw.Item).toMatchObject({ createdAt: NOW.toISOString(), addedToSuppressionDate: NOW.toISOString() });
  });
});

describe('suppression remove', () => {
  it('warns about a hard bounce, asks, and keeps the address when the answer is no', async () => {
    await addSuppression(aws.ddb, aws.tables.suppression, { email: 'gone@example.com', reason: 'hard-bounce', suppressionType: 'bounce', createdAt: NOW.toISOString() });
    const prompter = scriptedPrompter({ 'Remove gone@example.com': false });
    const options = base();
    await expect(suppressionRemove({ ...options, address: 'Gone@Example.com', interactive: true, prompter })).rejects.toBeInstanceOf(UserCancelled);
    expect(prompter.asked).toEqual(['Remove gone@example.com (hard-bounce) from the suppression list?']);
    expect(options.io.err()).toContain('SES counts it against your account');
    expect(await getSuppression(aws.ddb, aws.tables.suppression, 'gone@example.com')).toBeDefined();
  });

  it('removes it on yes, with the account-level list pointed out', async () => {
    const options = base();
    const prompter = scriptedPrompter({ 'Remove gone@example.com': true });
    expect(await suppressionRemove({ ...options, address: 'gone@example.com', interactive: true, prompter })).toBe(0);
    expect(await getSuppression(aws.ddb, aws.tables.suppression, 'gone@example.com')).toBeUndefined();
    expect(options.io.err()).toContain('aws sesv2 get-suppressed-destination --email-address gone@example.com --region us-east-1');
  });
});

describe('dlq redrive on AWS', () => {
  it('moves the send DLQ back with StartMessageMoveTask and reports what moved', async () => {
    queueAttributes({ [URLS.sendDlq]: 3 });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
    sqs
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({ Results: [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 3 }] })
      .resolves({ Results: [{ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 3, ApproximateNumberOfMessagesToMove: 3 }] });
    const options = base();
    const slept: number[] = [];
    expect(await dlqRedrive({ ...options, queue: 'send', sleep: async (ms) => void slept.push(ms) })).toBe(0);
    const start = sqs.commandCalls(StartMessageMoveTaskCommand)[0]!.args[0].input;
    expect(start).toEqual({ SourceArn: 'arn:aws:sqs:us-east-1:123456789012:sesmailengine-send-dlq' });
    expect(slept).toEqual([1000]);
    expect(options.io.out()).toContain('send DLQ sesmailengine-send-dlq: moved 3 of 3 message(s) back to their source queue');
  });

  it('fails with DLQ002 when the move task fails', async () => {
    queueAttributes({ [URLS.feedbackDlq]: 2 });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 't' });
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [{ Status: 'FAILED', FailureReason: 'AccessDenied', ApproximateNumberOfMessagesMoved: 0 }] });
    const error = await cliError(dlqRedrive({ ...base(), queue: 'feedback', sleep: async () => undefined }));
    expect(error.code).toBe('DLQ002');
    expect(error.message).toContain('move task FAILED (AccessDenied)');
  });

  it('sends event-delivery DLQ messages to the queue each belongs to, then deletes them', async () => {
    const request = { id: 'e1', source: 'my.app', 'detail-type': 'Email Request', detail: { emailId: 'r-1', to: 'a@example.com', templateName: 'welcome' } };
    const sesEvent = { id: 'e2', source: 'aws.ses', 'detail-type': 'Email Delivered', detail: { eventType: 'Delivery', mail: { messageId: 'm' } } };
    queueAttributes({ [URLS.eventsDlq]: 2 });
    sqs
      .on(ReceiveMessageCommand, { QueueUrl: URLS.eventsDlq })
      .resolvesOnce({
        Messages: [
          { MessageId: '1', ReceiptHandle: 'h1', Body: JSON.stringify(request) },
          { MessageId: '2', ReceiptHandle: 'h2', Body: JSON.stringify(sesEvent) },
        ],
      })
      .resolves({ Messages: [] });
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({ Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] }));
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const options = base();
    expect(await dlqRedrive({ ...options, queue: 'events', json: true })).toBe(0);
    const sends = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(sends.map((s) => [s.QueueUrl, s.Entries!.map((e) => JSON.parse(e.MessageBody!).id)])).toEqual([
      [URLS.send, ['e1']],
      [URLS.feedback, ['e2']],
    ]);
    expect(sqs.commandCalls(DeleteMessageBatchCommand)[0]!.args[0].input.Entries!.map((e) => e.ReceiptHandle)).toEqual(['h1', 'h2']);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
    expect(JSON.parse(options.io.out()).results[0]).toMatchObject({ queue: 'events', method: 'copy', moved: 2, failed: 0 });
  });
});

describe('dlq list on AWS', () => {
  it("explains an event-delivery failure from EventBridge's attributes and leaves the message visible", async () => {
    queueAttributes({ [URLS.eventsDlq]: 1 });
    sqs
      .on(ReceiveMessageCommand, { QueueUrl: URLS.eventsDlq })
      .resolvesOnce({
        Messages: [
          {
            MessageId: 'x1',
            ReceiptHandle: 'hx',
            Body: JSON.stringify({ id: 'e9', source: 'my.app', 'detail-type': 'Email Request', detail: { emailId: 'ord-9', to: 'a@example.com', templateName: 'invoice' } }),
            Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(NOW.getTime()) },
            MessageAttributes: {
              ERROR_CODE: { DataType: 'String', StringValue: 'RESOURCE_NOT_FOUND' },
              ERROR_MESSAGE: { DataType: 'String', StringValue: 'Queue does not exist' },
              TARGET_ARN: { DataType: 'String', StringValue: 'arn:aws:sqs:us-east-1:123456789012:sesmailengine-send' },
            },
          },
        ],
      })
      .resolves({});
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    const options = base();
    expect(await dlqList({ ...options, queue: 'events', json: true })).toBe(0);
    const [queue] = JSON.parse(options.io.out()).queues;
    expect(queue.messages[0]).toMatchObject({ emailId: 'ord-9', templateName: 'invoice', deliveryError: { code: 'RESOURCE_NOT_FOUND' } });
    expect(queue.messages[0].why).toContain('The target queue no longer exists');
    const receive = sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input;
    expect(receive).toMatchObject({ MessageAttributeNames: ['All'], WaitTimeSeconds: 1 });
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0]!.args[0].input.Entries).toEqual([{ Id: '0', ReceiptHandle: 'hx', VisibilityTimeout: 0 }]);
  });
});

describe('the Email Sender\'s last error on a send dead letter', () => {
  const body = JSON.stringify({ id: 'e7', source: 'my.app', 'detail-type': 'Email Request', detail: { emailId: 'ord-7', to: 'b@example.com', templateName: 'invoice' } });
  const deadLetter = () =>
    sqs
      .on(ReceiveMessageCommand, { QueueUrl: URLS.sendDlq })
      .resolvesOnce({ Messages: [{ MessageId: 'm7', ReceiptHandle: 'h7', Body: body, Attributes: { ApproximateReceiveCount: '10', SentTimestamp: String(NOW.getTime()) } }] })
      .resolves({});

  beforeEach(async () => {
    await writeLastErrors(
      aws.ddb,
      aws.tables.counters,
      [{ messageId: 'm7', emailId: 'ord-7', reason: 'AccessDeniedException: not authorized to perform dynamodb:PutItem', receiveCount: 10, at: NOW.toISOString() }],
      NOW,
    );
  });

  it('dlq list shows it instead of guessing', async () => {
    queueAttributes({ [URLS.sendDlq]: 1 });
    deadLetter();
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    const options = base();
    expect(await dlqList({ ...options, queue: 'send', json: true })).toBe(0);
    const message = JSON.parse(options.io.out()).queues[0].messages[0];
    expect(message.lastError).toEqual({ reason: 'AccessDeniedException: not authorized to perform dynamodb:PutItem', receiveCount: 10, at: NOW.toISOString() });
    expect(message.why).toContain('its last error (receive 10');
    expect(message.why).not.toContain('persistent SES throttling');
  });

  it('dlq list prints it on its own line', async () => {
    queueAttributes({ [URLS.sendDlq]: 1 });
    deadLetter();
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    const text = base();
    expect(await dlqList({ ...text, queue: 'send' })).toBe(0);
    expect(text.io.out()).toContain('last error: AccessDeniedException: not authorized to perform dynamodb:PutItem (receive 10');
  });

  it('diagnose shows it for a request without a record', async () => {
    queueAttributes({ [URLS.sendDlq]: 1 });
    deadLetter();
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    const options = base();
    await diagnoseCommand({ ...options, subject: 'ord-7', json: true, now: () => NOW });
    const report = JSON.parse(options.io.out()) as DiagnoseReport;
    expect(report.deadLetters[0]!.lastError?.reason).toContain('AccessDeniedException');
    expect(report.verdict.details.join(' ')).toContain('AccessDeniedException: not authorized');
    expect(report.verdict.fix[0]).toBe('Fix the cause named above.');
  });
});

describe('send and diagnose on AWS', () => {
  it('publishes to the stack\'s bus and prints the record the engine wrote', async () => {
    events.on(PutEventsCommand).callsFake(async (input: { Entries: { Detail: string }[] }) => {
      const detail = JSON.parse(input.Entries[0]!.Detail) as { emailId: string; to: string };
      await aws.ddb.send(
        new PutCommand({
          TableName: aws.tables.tracking,
          Item: { emailId: detail.emailId, originalEmailId: detail.emailId, retryAttempt: 0, toEmail: detail.to, templateName: 'welcome', status: 'sent', statusRank: 1, originalSource: 'sesmailengine.cli', timestamp: NOW.toISOString(), datePartition: '2026-03-01', sentAt: NOW.toISOString(), expiresAt: 0 },
        }),
      );
      return { FailedEntryCount: 0, Entries: [{ EventId: 'ev-1' }] };
    });
    const options = base();
    expect(await send({ ...options, to: 'ada@example.com', template: 'welcome', data: '{"userName":"Ada"}', emailId: 'aws-send-1', json: true })).toBe(0);
    const entry = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ EventBusName: 'sesmailengine-EmailBus', Source: 'sesmailengine.cli', DetailType: 'Email Request' });
    expect(JSON.parse(entry.Detail!)).toEqual({ to: 'ada@example.com', templateName: 'welcome', templateData: { userName: 'Ada' }, emailId: 'aws-send-1' });
    expect(JSON.parse(options.io.out())).toMatchObject({ emailId: 'aws-send-1', eventId: 'ev-1', status: 'sent', target: 'aws' });
  });

  it('calls a record sent two hours ago without feedback stuck, and points at the feedback DLQ', async () => {
    const sentAt = new Date(NOW.getTime() - 2 * 3600_000).toISOString();
    await aws.ddb.send(
      new PutCommand({
        TableName: aws.tables.tracking,
        Item: { emailId: 'stuck-1', originalEmailId: 'stuck-1', retryAttempt: 0, toEmail: 'kim@example.com', templateName: 'welcome', status: 'sent', statusRank: 1, originalSource: 'app', timestamp: sentAt, datePartition: '2026-03-01', sentAt, sesMessageId: 'ses-1', expiresAt: 0 },
      }),
    );
    queueAttributes({ [URLS.feedbackDlq]: 4 });
    const options = base();
    expect(await diagnoseCommand({ ...options, subject: 'stuck-1', json: true, now: () => NOW })).toBe(0);
    const report = JSON.parse(options.io.out()) as DiagnoseReport;
    expect(report.queues.deadLetters).toEqual({ send: 0, feedback: 4, events: 0 });
    expect(report.retryChain.map((r) => r.emailId)).toEqual(['stuck-1']);
    expect(report.verdict.summary).toBe('stuck at sent for 2 h: feedback is not arriving');
    expect(report.verdict.fix.join('\n')).toContain('sesmailengine dlq list --region us-east-1');
  });

  it('keeps going when a part cannot be read, and says which', async () => {
    sqs.on(GetQueueAttributesCommand).rejects(Object.assign(new Error('not allowed'), { name: 'AccessDenied' }));
    const options = base();
    await diagnoseCommand({ ...options, subject: 'stuck-1', json: true, now: () => NOW });
    const report = JSON.parse(options.io.out()) as DiagnoseReport;
    expect(report.notes).toContain('The send DLQ depth could not be read (AccessDenied: not allowed).');
    expect(report.verdict.summary).toMatch(/^stuck at sent/);
  });

  it('reads the by-address index newest first', async () => {
    const options = base();
    await diagnoseCommand({ ...options, subject: 'KIM@example.com', json: true, now: () => NOW });
    const report = JSON.parse(options.io.out()) as DiagnoseReport;
    expect(report.subject).toEqual({ kind: 'address', address: 'kim@example.com' });
    expect(report.recentRecords.map((r) => r.emailId)).toEqual(['stuck-1']);
  });
});


describe('templates pull from a bucket holding hostile keys', () => {
  it('refuses keys that would be written outside the target folder and writes nothing', async () => {
    const { S3Client, ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const { templatesPull } = await import('../../src/commands/templates.js');
    const { mkdtempSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const s3 = mockClient(S3Client);
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: 'templates/welcome/metadata.json' }, { Key: 'templates/welcome/../../escaped.txt' }],
    });
    s3.on(GetObjectCommand).callsFake(() => ({
      Body: { transformToByteArray: async () => new TextEncoder().encode('{"version":"1.0.0"}') },
    }));
    const cwd = mkdtempSync(join(tmpdir(), 'sme-pull-'));
    try {
      const error = await cliError(
        templatesPull({ ...base(), cwd, name: 'welcome', clients: { ddb: aws.ddb, s3: new S3Client({ region: 'us-east-1' }) } }),
      );
      expect(error.code).toBe('TMPL106');
      expect(error.message).toContain('../../escaped.txt');
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      s3.restore();
    }
  });
});
