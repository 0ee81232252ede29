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
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CliError } from '../../src/errors.js';
import { webhookSecret, webhookTest } from '../../src/commands/webhook.js';
import { dlqList, dlqRedrive } from '../../src/commands/dlq.js';
import { signWebhook } from '../../functions/core/webhook-signature.js';
import { checkEngineDetail, eventAuthenticationKey } from '../../functions/core/event-authentication.js';
import { captureIo } from '../support/cli-harness.js';
import { FakeCloudFormation } from '../support/fake-cloudformation.js';

/**
 * `webhook secret|test` and `dlq … --queue webhook` against a deployed stack: CloudFormation
 * (the fake), STS, SQS, EventBridge and Secrets Manager mocked. Stack "hooked" was installed
 * with --webhook-url; "sesmailengine" has no webhook outputs (installed without, or older).
 */

const sts = mockClient(STSClient);
const sqs = mockClient(SQSClient);
const events = mockClient(EventBridgeClient);
const secrets = mockClient(SecretsManagerClient);
let cfn: FakeCloudFormation;
const Q = 'https://sqs.us-east-1.amazonaws.com/123456789012';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hooked-webhook-secret-AbCdEf';
// What the stack's GenerateSecretString makes: 32 letters and digits.
const RAW_SECRET = 'k3Jd9QmZ2xVb7NwR4tYp1LcH8sFg6AeU';
/** The stack's unsubscribe secret (64 letters and digits), found by its fixed name. */
const UNSUBSCRIBE_SECRET = 'Zq8'.repeat(21) + 'x';

function outputs(stack: string, webhook: boolean): Record<string, string> {
  return {
    EventBusName: `${stack}-EmailBus`,
    EmailTrackingTableName: `${stack}-EmailTracking`,
    SuppressionTableName: `${stack}-Suppression`,
    CountersTableName: `${stack}-Counters`,
    TemplateBucketName: `${stack}-bucket`,
    SendQueueUrl: `${Q}/${stack}-send`,
    FeedbackQueueUrl: `${Q}/${stack}-feedback`,
    SendDeadLetterQueueUrl: `${Q}/${stack}-send-dlq`,
    FeedbackDeadLetterQueueUrl: `${Q}/${stack}-feedback-dlq`,
    EventDeliveryDeadLetterQueueUrl: `${Q}/${stack}-event-delivery-dlq`,
    ...(webhook
      ? {
          WebhookUrl: 'https://hooks.example.com/ses',
          WebhookSecretArn: SECRET_ARN,
          WebhookQueueUrl: `${Q}/${stack}-webhook`,
          WebhookDeadLetterQueueUrl: `${Q}/${stack}-webhook-dlq`,
        }
      : {}),
  };
}

beforeAll(() => {
  cfn = new FakeCloudFormation();
  cfn.seed('hooked', 'UPDATE_COMPLETE', { WebhookUrl: 'https://hooks.example.com/ses' }, outputs('hooked', true));
  cfn.seed('sesmailengine', 'UPDATE_COMPLETE', {}, outputs('sesmailengine', false));
});

beforeEach(() => {
  for (const mock of [sts, sqs, events, secrets]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev' });
  queueAttributes({});
});

afterAll(() => {
  cfn.restore();
  for (const mock of [sts, sqs, events, secrets]) mock.restore();
});

function queueAttributes(visible: Record<string, number>) {
  sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string; AttributeNames?: string[] }) => {
    if (input.AttributeNames?.includes('QueueArn')) return { Attributes: { QueueArn: `arn:aws:sqs:us-east-1:123456789012:${input.QueueUrl.split('/').pop()}` } };
    return { Attributes: { ApproximateNumberOfMessages: String(visible[input.QueueUrl] ?? 0), ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } };
  });
}

const hooked = () => ({ region: 'us-east-1', stackName: 'hooked', io: captureIo() });
const plain = () => ({ region: 'us-east-1', io: captureIo() });

async function cliError(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('expected a CliError');
}

describe('webhook secret on AWS', () => {
  it("prints the stack's secret in whsec_ form, alone on stdout, and it signs like the stored value", async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: RAW_SECRET });
    const options = hooked();
    expect(await webhookSecret(options)).toBe(0);
    const printed = options.io.out().trim();
    expect(printed).toBe(`whsec_${Buffer.from(RAW_SECRET).toString('base64')}`);
    expect(options.io.out()).toBe(`${printed}\n`);
    const input = { id: 'evt-1', timestamp: 1_772_366_406, body: '{"type":"webhook.test"}' };
    expect(signWebhook(printed, input)).toBe(signWebhook(RAW_SECRET, input));
    expect(options.io.err()).toContain('https://hooks.example.com/ses');
  });

  it('prints one JSON object with --json', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: RAW_SECRET });
    const options = hooked();
    expect(await webhookSecret({ ...options, json: true })).toBe(0);
    expect(JSON.parse(options.io.out())).toEqual({ target: 'aws', url: 'https://hooks.example.com/ses', secret: `whsec_${Buffer.from(RAW_SECRET).toString('base64')}` });
  });

  it('keeps a secret already stored in whsec_ form (after a rotation) as it is', async () => {
    const rotated = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    secrets.on(GetSecretValueCommand).resolves({ SecretString: rotated });
    const options = hooked();
    expect(await webhookSecret(options)).toBe(0);
    expect(options.io.out().trim()).toBe(rotated);
  });

  it('says which permission is missing when Secrets Manager refuses (WHK102)', async () => {
    secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('User is not authorized to perform: secretsmanager:GetSecretValue'), { name: 'AccessDeniedException' }));
    const error = await cliError(webhookSecret(hooked()));
    expect(error.code).toBe('WHK102');
    expect(error.message).toContain(SECRET_ARN);
    expect(error.fix).toContain('secretsmanager:GetSecretValue');
  });

  it('refuses a stored value too short to sign with (WHK102)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'short' });
    const error = await cliError(webhookSecret(hooked()));
    expect(error.code).toBe('WHK102');
    expect(error.fix).toContain('Rotating the secret');
  });

  it('says how to turn webhooks on for a stack without them (WHK101), without calling Secrets Manager', async () => {
    const error = await cliError(webhookSecret(plain()));
    expect(error.code).toBe('WHK101');
    expect(error.message).toContain('stack sesmailengine in us-east-1');
    expect(error.fix).toContain('sesmailengine install --webhook-url https://');
    expect(error.fix).toContain('--region us-east-1');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});

describe('webhook test on AWS', () => {
  beforeEach(() => {
    secrets.on(GetSecretValueCommand, { SecretId: 'hooked-unsubscribe-signing-key' }).resolves({ SecretString: UNSUBSCRIBE_SECRET });
  });

  it('publishes one "Webhook Test" event from sesmailengine on the engine\'s bus, signed with the engine\'s key, and says where to look', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-test-1' }] });
    const options = hooked();
    expect(await webhookTest(options)).toBe(0);
    const calls = events.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    const [entry] = calls[0]!.args[0].input.Entries!;
    expect(entry).toMatchObject({ EventBusName: 'hooked-EmailBus', Source: 'sesmailengine', DetailType: 'Webhook Test' });
    const detail = JSON.parse(entry!.Detail!);
    expect(Object.keys(detail)).toEqual(['message', 'sentBy', 'engineSignature']);
    expect(detail.sentBy).toBe('sesmailengine webhook test');
    // Webhook Delivery will take it as the engine's own.
    expect(checkEngineDetail(eventAuthenticationKey(UNSUBSCRIBE_SECRET), 'Webhook Test', detail)).toBe('valid');
    const out = options.io.out();
    expect(out).toContain('evt-test-1');
    expect(out).toContain('https://hooks.example.com/ses');
    expect(out).toContain('sesmailengine dlq list --queue webhook --stack-name hooked --region us-east-1');
    expect(out).toContain('/aws/lambda/hooked-WebhookDelivery');
  });

  it('carries --message and prints JSON with --json', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-test-2' }] });
    const options = hooked();
    expect(await webhookTest({ ...options, json: true, message: 'from staging' })).toBe(0);
    expect(JSON.parse(events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail!).message).toBe('from staging');
    expect(JSON.parse(options.io.out())).toMatchObject({ target: 'aws', eventId: 'evt-test-2', webhookId: 'evt-test-2', type: 'webhook.test', url: 'https://hooks.example.com/ses', logGroup: '/aws/lambda/hooked-WebhookDelivery' });
  });

  it('fails with WHK103 when EventBridge refuses the entry or the call', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'not allowed' }] });
    const refused = await cliError(webhookTest(hooked()));
    expect(refused.code).toBe('WHK103');
    expect(refused.message).toContain('AccessDeniedException: not allowed');
    events.reset();
    events.on(PutEventsCommand).rejects(Object.assign(new Error('Event bus hooked-EmailBus does not exist.'), { name: 'ResourceNotFoundException' }));
    const missing = await cliError(webhookTest(hooked()));
    expect(missing.code).toBe('WHK103');
    expect(missing.fix).toContain('events:PutEvents');
  });

  it('fails with WHK104 before publishing when the credentials may not read the unsubscribe secret the event key comes from', async () => {
    secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('not authorized to perform secretsmanager:GetSecretValue'), { name: 'AccessDeniedException' }));
    const refused = await cliError(webhookTest(hooked()));
    expect(refused.code).toBe('WHK104');
    expect(refused.message).toContain('hooked-unsubscribe-signing-key');
    expect(refused.fix).toContain('secretsmanager:GetSecretValue on hooked-unsubscribe-signing-key');
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('refuses an empty --message (OPS004) and a stack without webhooks (WHK101) before publishing', async () => {
    expect((await cliError(webhookTest({ ...hooked(), message: '  ' }))).code).toBe('OPS004');
    expect((await cliError(webhookTest(plain()))).code).toBe('WHK101');
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});

const statusChanged = (id: string, emailId: string) =>
  JSON.stringify({ id, source: 'sesmailengine', 'detail-type': 'Email Status Changed', time: '2026-03-01T12:00:00Z', detail: { emailId, status: 'delivered', toEmail: 'ada@example.com' } });

describe('dlq --queue webhook on AWS', () => {
  it('lists undelivered webhook events with their type, webhook-id and why, without tracking lookups', async () => {
    const dlq = `${Q}/hooked-webhook-dlq`;
    queueAttributes({ [dlq]: 1 });
    sqs
      .on(ReceiveMessageCommand, { QueueUrl: dlq })
      .resolvesOnce({ Messages: [{ MessageId: 'w1', ReceiptHandle: 'hw', Body: statusChanged('evt-9', 'ord-9'), Attributes: { ApproximateReceiveCount: '10' } }] })
      .resolves({});
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    const options = hooked();
    expect(await dlqList({ ...options, queue: 'webhook', json: true })).toBe(0);
    const { queues } = JSON.parse(options.io.out());
    expect(queues).toHaveLength(1);
    expect(queues[0]).toMatchObject({ queue: 'webhook', name: 'hooked-webhook-dlq' });
    expect(queues[0].messages[0]).toMatchObject({ kind: 'webhook-event', webhookType: 'email.delivered', webhookId: 'evt-9', emailId: 'ord-9', to: 'ada@example.com' });
    expect(queues[0].messages[0].why).toContain('10 attempts');
    expect(queues[0].messages[0].why).toContain('webhookId evt-9');
    expect(queues[0].messages[0].record).toBeUndefined();
  });

  it('prints each undelivered webhook event on one line, and the redrive to run', async () => {
    const dlq = `${Q}/hooked-webhook-dlq`;
    const text = hooked();
    queueAttributes({ [dlq]: 1 });
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    sqs.on(ReceiveMessageCommand, { QueueUrl: dlq }).resolvesOnce({ Messages: [{ MessageId: 'w1', ReceiptHandle: 'hw', Body: statusChanged('evt-9', 'ord-9') }] }).resolves({});
    expect(await dlqList({ ...text, queue: 'webhook' })).toBe(0);
    expect(text.io.out()).toContain('webhook DLQ hooked-webhook-dlq: 1 message');
    expect(text.io.out()).toContain('webhook email.delivered for ord-9 to ada@example.com (webhook-id evt-9)');
    expect(text.io.err()).toContain('sesmailengine dlq redrive --queue webhook --stack-name hooked --region us-east-1');
  });

  it('includes the webhook DLQ in --queue all only where the stack has one', async () => {
    const withHooks = hooked();
    expect(await dlqList({ ...withHooks, json: true })).toBe(0);
    expect(JSON.parse(withHooks.io.out()).queues.map((q: { queue: string }) => q.queue)).toEqual(['send', 'feedback', 'events', 'webhook']);
    const without = plain();
    expect(await dlqList({ ...without, json: true })).toBe(0);
    expect(JSON.parse(without.io.out()).queues.map((q: { queue: string }) => q.queue)).toEqual(['send', 'feedback', 'events']);
  });

  it('redrives the webhook DLQ back to the webhook queue with a move task', async () => {
    queueAttributes({ [`${Q}/hooked-webhook-dlq`]: 2 });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-w' });
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [{ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 2, ApproximateNumberOfMessagesToMove: 2 }] });
    const options = hooked();
    expect(await dlqRedrive({ ...options, queue: 'webhook', sleep: async () => undefined })).toBe(0);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input)).toEqual([{ SourceArn: 'arn:aws:sqs:us-east-1:123456789012:hooked-webhook-dlq' }]);
    expect(options.io.out()).toContain('webhook DLQ hooked-webhook-dlq: moved 2 of 2 message(s) back to their source queue');
  });

  it('sends status events from the event-delivery DLQ to the webhook queue, requests to the send queue', async () => {
    const eventsDlq = `${Q}/hooked-event-delivery-dlq`;
    queueAttributes({ [eventsDlq]: 2 });
    const request = JSON.stringify({ id: 'e1', source: 'my.app', 'detail-type': 'Email Request', detail: { emailId: 'r-1', to: 'a@example.com', templateName: 'welcome' } });
    sqs
      .on(ReceiveMessageCommand, { QueueUrl: eventsDlq })
      .resolvesOnce({ Messages: [{ MessageId: '1', ReceiptHandle: 'h1', Body: request }, { MessageId: '2', ReceiptHandle: 'h2', Body: statusChanged('e2', 'ord-2') }] })
      .resolves({ Messages: [] });
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({ Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] }));
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    expect(await dlqRedrive({ ...hooked(), queue: 'events' })).toBe(0);
    const sends = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(sends.map((s) => [s.QueueUrl, s.Entries!.map((e) => JSON.parse(e.MessageBody!).id)])).toEqual([
      [`${Q}/hooked-send`, ['e1']],
      [`${Q}/hooked-webhook`, ['e2']],
    ]);
  });

  it('says how to turn webhooks on when the stack has no webhook DLQ (DLQ001)', async () => {
    const listed = await cliError(dlqList({ ...plain(), queue: 'webhook' }));
    expect(listed.code).toBe('DLQ001');
    expect(listed.message).toContain('Webhooks are off');
    expect(listed.fix).toContain('sesmailengine install --webhook-url https://');
    const redriven = await cliError(dlqRedrive({ ...plain(), queue: 'webhook' }));
    expect(redriven.code).toBe('DLQ001');
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
  });
});
