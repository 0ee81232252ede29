import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createFeedbackProcessorHandler } from '../../functions/feedback-processor/handler.js';
import { adjust, emailIdTagMap, eventBridgeEnvelope, sesFixture, sqsEvent } from './ses-events.js';
import { fakeEventBus, fakeSqs } from './fault-injection.js';

/**
 * SES's `Send` event for an accepted message, run through the real Feedback Processor: the
 * evidence an interrupted claim is resolved by (the record goes from `sending` to `sent`).
 */
export async function deliverSendEvent(
  ddb: DynamoDBDocumentClient,
  tables: { tracking: string; suppression: string; counters: string },
  send: { emailId: string; messageId: string; to: string },
  now: () => Date = () => new Date(),
): Promise<void> {
  const handler = createFeedbackProcessorHandler({
    clients: {
      ddb,
      sqs: fakeSqs(() => 'unused') as unknown as SQSClient,
      events: fakeEventBus(() => 'accept', []) as unknown as EventBridgeClient,
    },
    env: {
      TRACKING_TABLE: tables.tracking,
      SUPPRESSION_TABLE: tables.suppression,
      COUNTERS_TABLE: tables.counters,
      EVENT_BUS_NAME: 'evidence-EmailBus',
      SEND_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/evidence-send',
      SOFT_BOUNCE_RETRY_DELAY_SECONDS: '900',
    },
    now,
    log: () => undefined,
  });
  const detail = adjust(sesFixture('Send'), { messageId: send.messageId, to: send.to, tags: emailIdTagMap(send.emailId) });
  const result = await handler(sqsEvent([eventBridgeEnvelope(detail)]));
  if (result.batchItemFailures.length > 0) throw new Error(`the Send event for ${send.emailId} was not processed`);
}
