import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { FeedbackProcessor, type HandlerDeps } from './feedback-processor.js';

/**
 * Feedback Processor: SES events (from the feedback queue) → tracking records,
 * suppression list, soft-bounce retries, daily counters and status notifications.
 *
 * Per SQS record: a malformed message is logged (FBK004) and consumed, since no retry
 * can fix it; an event for an unknown record is logged and consumed after its
 * address-level effects (suppression, soft-bounce streak); a DynamoDB or SQS error
 * returns only that message to the queue (partial batch response). Events for the same
 * message are applied one after another; different messages in parallel.
 *
 * The steps live in feedback-processor.ts (one object per container).
 */

export type { Logger } from '../lib/logging.js';
export type { HandlerDeps } from './feedback-processor.js';

export function createFeedbackProcessorHandler(deps: Partial<HandlerDeps> = {}): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const processor = new FeedbackProcessor(deps);
  return (event: SQSEvent): Promise<SQSBatchResponse> => processor.handle(event);
}

export const handler = createFeedbackProcessorHandler();
