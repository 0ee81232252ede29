import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { requestEvent, sqsEvent as sendQueueEvent, uploadStarterTemplates, senderEnv, tableEnv } from '../support/sender-events.js';
import { adjust, eventBridgeEnvelope, sesFixture, sqsEvent as feedbackQueueEvent } from '../support/ses-events.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { createFeedbackProcessorHandler } from '../../functions/feedback-processor/handler.js';
import type { TrackingRecord } from '../../functions/core/types.js';

/**
 * The emailId's journey through SES's message tags, with the real Email Sender and Feedback
 * Processor against the stand-ins (whose SES refuses any tag outside SES's rules): the
 * longest and widest ids validation accepts are sent, and the Delivery event SES would
 * publish for them, carrying the tags as sent, finds their record by those tags.
 */

let env: StandIns;
const sent: SendEmailCommandInput[] = [];
const sqs = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const events = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const sqsMock = mockClient(sqs);
const eventsMock = mockClient(events);
const logs: Record<string, unknown>[] = [];
const NOW = new Date('2026-03-02T10:00:00.000Z');

beforeAll(async () => {
  env = await startStandIns('emailidtags');
  env.ses.middlewareStack.add(
    (next) => async (args) => {
      sent.push(args.input as SendEmailCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'captureSendEmailInput' },
  );
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome']);
});

afterAll(async () => {
  await env?.stop();
  sqs.destroy();
  events.destroy();
});

beforeEach(() => {
  sqsMock.reset();
  eventsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  eventsMock.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
    FailedEntryCount: 0,
    Entries: input.Entries.map((_, i) => ({ EventId: `e-${i}` })),
  }));
  logs.length = 0;
});

function sender() {
  return createEmailSenderHandler({
    clients: { ddb: env.ddb, s3: env.s3, ses: env.ses },
    env: senderEnv(env, 'emailidtags-tracking', {
      DEFAULT_SENDER_NAME: 'App Team',
      BOUNCE_RATE_THRESHOLD: '5',
      BOUNCE_RATE_MIN_SENDS: '100',
      TEMPLATE_CACHE_SECONDS: '300',
      TRACKING_RETENTION_DAYS: '30',
    }),
    now: () => NOW,
    log: (entry) => logs.push(entry),
  });
}

function feedbackProcessor() {
  return createFeedbackProcessorHandler({
    clients: { ddb: env.ddb, sqs, events },
    env: {
      ...tableEnv(env),
      EVENT_BUS_NAME: 'emailidtags-EmailBus',
      // The key the engine signs its status events with is derived from it.
      UNSUBSCRIBE_SECRET: 'email-id-tags-unsubscribe-secret',
      SEND_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/emailidtags-send',
      SOFT_BOUNCE_RETRY_DELAY_SECONDS: '900',
      SOFT_BOUNCE_SUPPRESSION_THRESHOLD: '3',
      SOFT_BOUNCE_WINDOW_DAYS: '30',
      TRACKING_RETENTION_DAYS: '30',
    },
    now: () => NOW,
    log: (entry) => logs.push(entry),
  });
}

async function record(emailId: string): Promise<TrackingRecord | undefined> {
  const out = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as TrackingRecord | undefined;
}

/** The real Delivery event for a send, with the send's tags in mail.tags as SES publishes them. */
function deliveryFor(input: SendEmailCommandInput, messageId: string, to: string) {
  const tags = Object.fromEntries((input.EmailTags ?? []).map((tag) => [tag.Name!, tag.Value!]));
  return eventBridgeEnvelope(adjust(sesFixture('Delivery'), { messageId, to, tags }));
}

describe('an emailId at the limits of validation', () => {
  it.each([
    ['128 × "€" (3 UTF-8 bytes each)', '€'.repeat(128)],
    ['64 astral characters (128 code units)', '😀'.repeat(64)],
    ['mixed widths', `Ω-${'日本'.repeat(40)}-😀-${'x'.repeat(40)}`.slice(0, 128)],
  ])('%s is sent within SES’s tag rules, and its Delivery event finds its record by the tags', async (_label, emailId) => {
    const to = `tags-${sent.length}@customer.example`;
    const result = await sender()(sendQueueEvent(requestEvent({ to, emailId, templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' } })));
    expect(result.batchItemFailures).toEqual([]);
    const tracked = await record(emailId);
    expect(tracked?.status).toBe('sent');
    expect(tracked?.errorCode).toBeUndefined();
    const input = sent.at(-1)!;
    expect(input.EmailTags!.every((tag) => /^[A-Za-z0-9_-]{1,255}$/.test(tag.Name!) && /^[A-Za-z0-9_-]{1,255}$/.test(tag.Value!))).toBe(true);

    // A different message id than the record's, so only the tags can lead to it.
    const feedback = await feedbackProcessor()(feedbackQueueEvent([deliveryFor(input, 'not-the-records-message-id', to)]));

    expect(feedback.batchItemFailures).toEqual([]);
    expect(await record(emailId)).toMatchObject({ status: 'delivered', deliveredAt: expect.any(String) });
    expect(logs.filter((entry) => entry.level === 'warn' || entry.level === 'error')).toEqual([]);
  });

  it('whose tags arrive with a part missing is dropped as FBK004, and its record is left alone', async () => {
    const emailId = `${'€'.repeat(127)}!`;
    const to = 'partial@customer.example';
    await sender()(sendQueueEvent(requestEvent({ to, emailId, templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' } })));
    const input = sent.at(-1)!;
    expect(input.EmailTags!.map((tag) => tag.Name)).toEqual(['emailId-b64-1-of-2', 'emailId-b64-2-of-2', 'templateName']);
    const partial = { ...input, EmailTags: input.EmailTags!.filter((tag) => tag.Name !== 'emailId-b64-2-of-2') };

    const feedback = await feedbackProcessor()(feedbackQueueEvent([deliveryFor(partial, 'partial-message-id', to)]));

    expect(feedback.batchItemFailures).toEqual([]);
    expect(logs).toContainEqual(expect.objectContaining({ code: 'FBK004', message: expect.stringMatching(/incomplete/) }));
    expect((await record(emailId))?.status).toBe('sent');
  });
});
