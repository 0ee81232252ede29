import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { StoredRecord } from './tracking-updates.js';

/**
 * Soft-bounce retries go straight onto the send queue, delayed by the retry delay, as an
 * "Email Retry" event from the engine itself (the only source the sender takes
 * originalEmailId/retryAttempt from). The retry's emailId is derived from the bounced
 * record, so however often the bounce is redelivered the sender sends the retry once.
 */

export const RETRY_SOURCE = 'sesmailengine';
export const RETRY_DETAIL_TYPE = 'Email Retry';
/** SQS's largest per-message delay. */
export const MAX_RETRY_DELAY_SECONDS = 900;

export class RetryNotPossibleError extends Error {
  override readonly name = 'RetryNotPossibleError';
}

export function retryEventBody(record: StoredRecord, retryEmailId: string, now: Date): string {
  const request = record.request;
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new RetryNotPossibleError(`Record ${record.emailId} keeps no request to re-send.`);
  }
  const detail = {
    ...(request as Record<string, unknown>),
    emailId: retryEmailId,
    originalEmailId: record.originalEmailId ?? record.emailId,
    retryAttempt: (record.retryAttempt ?? 0) + 1,
    // The publisher's source, for subscribers filtering status notifications by it.
    ...(record.originalSource !== undefined ? { originalSource: record.originalSource } : {}),
  };
  return JSON.stringify({
    // Derived from the retry's emailId: a redelivered bounce produces the same event.
    id: retryEmailId.replace(/^email-/, ''),
    source: RETRY_SOURCE,
    'detail-type': RETRY_DETAIL_TYPE,
    time: now.toISOString(),
    detail,
  });
}

export async function enqueueRetry(
  sqs: SQSClient,
  queueUrl: string,
  delaySeconds: number,
  record: StoredRecord,
  retryEmailId: string,
  now: Date,
): Promise<void> {
  const body = retryEventBody(record, retryEmailId, now);
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      DelaySeconds: Math.max(0, Math.min(MAX_RETRY_DELAY_SECONDS, Math.round(delaySeconds))),
    }),
  );
}
