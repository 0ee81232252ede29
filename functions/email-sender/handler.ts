import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { EmailSender, type HandlerDeps } from './email-sender.js';

/**
 * Email Sender: consumes the send queue (SQS, partial batch responses).
 *
 * Per batch: one BatchGetItem for every recipient's suppression entry, today's counters
 * read at most once per BRAKE_CACHE_MS per container, templates from the in-memory cache,
 * records processed concurrently, and one counter write for the batch's sent/failed.
 * Per record (SPEC §4): validate → suppressed? → bounce brake → template → sender →
 * claim the emailId → SES SendEmail → mark sent. Every consumed record leaves exactly one
 * tracking record; a record whose outcome is not final (throttling, transient errors,
 * DynamoDB faults, a claim in flight elsewhere) is returned to the queue as a batch item
 * failure, without touching its batch-mates. A record SES throttles, or one the pacing cannot
 * fit into this invocation, is deferred instead: put back on the send queue with a delay and
 * a deferral count (one SendMessageBatch per batch) and the original deleted, so throttling
 * never counts toward the queue's maxReceiveCount. Sends are paced to the SES account's rate
 * across all containers (core/send-pacing.ts): one token reservation per batch. A claim left by an interrupted attempt (a dead
 * container, an ambiguous SES answer) is resolved after INTERRUPTED_SEND_WINDOW_SECONDS
 * from SES's `Send` event: sent if it came, re-claimed and sent once if it did not.
 *
 * The steps live in email-sender.ts (one object per container), the SES message in
 * ses-message.ts, the claims in claims.ts, the pacing in batch-pacer.ts.
 */

export type { HandlerDeps } from './email-sender.js';
export {
  BRAKE_CACHE_MS,
  DAILY_QUOTA_HOLD_MS,
  METRICS_NAMESPACE,
  ORIGINAL_MESSAGE_ID_ATTRIBUTE,
  PACING_SECOND_MARGIN_MS,
  PACING_WAIT_BUDGET_MS,
  QUOTA_CACHE_MS,
  UNFORESEEN_ERROR_RECEIVES,
} from './limits.js';

export function createEmailSenderHandler(deps: Partial<HandlerDeps> = {}): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const sender = new EmailSender(deps);
  return async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    return sender.handle(event);
  };
}

export const handler = createEmailSenderHandler();
