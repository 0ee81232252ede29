import { numberValue, requiredString, type Env } from '../lib/env.js';
import { MAX_RETRY_DELAY_SECONDS } from '../lib/retry-queue.js';

/** The Feedback Processor's settings, all from environment variables the stack sets. */
export interface FeedbackProcessorConfig {
  trackingTable: string;
  suppressionTable: string;
  countersTable: string;
  /** The engine's bus, where "Email Status Changed" events go. */
  eventBusName: string;
  /** Soft-bounce retries are put here. */
  sendQueueUrl: string;
  retryDelaySeconds: number;
  /** Soft bounces within the window that suppress an address (0 = never). */
  softBounceSuppressionThreshold: number;
  softBounceWindowDays: number;
  trackingRetentionDays: number;
}

export function feedbackProcessorConfig(env: Env): FeedbackProcessorConfig {
  return {
    trackingTable: requiredString(env, 'TRACKING_TABLE'),
    suppressionTable: requiredString(env, 'SUPPRESSION_TABLE'),
    countersTable: requiredString(env, 'COUNTERS_TABLE'),
    eventBusName: requiredString(env, 'EVENT_BUS_NAME'),
    sendQueueUrl: requiredString(env, 'SEND_QUEUE_URL'),
    retryDelaySeconds: numberValue(env, 'SOFT_BOUNCE_RETRY_DELAY_SECONDS', 900, 0, MAX_RETRY_DELAY_SECONDS),
    softBounceSuppressionThreshold: numberValue(env, 'SOFT_BOUNCE_SUPPRESSION_THRESHOLD', 3, 0, 1000),
    softBounceWindowDays: numberValue(env, 'SOFT_BOUNCE_WINDOW_DAYS', 30, 1, 3650),
    trackingRetentionDays: numberValue(env, 'TRACKING_RETENTION_DAYS', 365, 1, 36500),
  };
}
