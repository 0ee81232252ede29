import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { EmailStatus, EmailStatusChangedDetail as StatusChangedDetail } from '../core/types.js';
import type { StoredRecord } from './tracking-updates.js';
import { signEngineDetail } from '../core/event-authentication.js';

/**
 * "Email Status Changed" events on the engine's bus, so applications can react to
 * deliveries, bounces and complaints. Best-effort: a failed publish is logged and never
 * fails the feedback that caused it (the tracking table stays the authority).
 */

export const STATUS_SOURCE = 'sesmailengine';
export const STATUS_DETAIL_TYPE = 'Email Status Changed';
const ENTRIES_PER_CALL = 10;

export type { EmailStatusChangedDetail as StatusChangedDetail } from '../core/types.js';

export function statusChangedDetail(
  before: StoredRecord,
  after: StoredRecord,
  notify: { status: EmailStatus; statusChanged: boolean; timestamp: string },
): StatusChangedDetail {
  const bounce = notify.status === 'bounced' || notify.status === 'soft_bounced' || after.errorCode === 'FBK003';
  const failed = notify.status === 'failed';
  return {
    emailId: after.emailId,
    status: notify.status,
    statusChanged: notify.statusChanged,
    recordStatus: after.status,
    previousStatus: before.status,
    toEmail: after.toEmail ?? '',
    timestamp: notify.timestamp,
    originalSource: after.originalSource ?? 'unknown',
    templateName: after.templateName ?? '',
    ...(after.subject !== undefined ? { subject: after.subject } : {}),
    ...(after.sesMessageId !== undefined ? { sesMessageId: after.sesMessageId } : {}),
    ...(after.metadata !== undefined ? { metadata: after.metadata } : {}),
    ...(after.originalEmailId !== undefined ? { originalEmailId: after.originalEmailId } : {}),
    ...(after.retryAttempt !== undefined ? { retryAttempt: after.retryAttempt } : {}),
    ...(bounce && after.bounceType !== undefined ? { bounceType: after.bounceType } : {}),
    ...(bounce && after.bounceSubType !== undefined ? { bounceSubType: after.bounceSubType } : {}),
    ...(bounce && after.bounceReason !== undefined ? { bounceReason: after.bounceReason } : {}),
    ...(notify.status === 'complained' && after.complaintFeedbackType !== undefined
      ? { complaintFeedbackType: after.complaintFeedbackType }
      : {}),
    ...(failed && after.errorCode !== undefined ? { errorCode: after.errorCode } : {}),
    ...(failed && after.errorMessage !== undefined ? { errorMessage: after.errorMessage } : {}),
  };
}

export interface PublishLog {
  (entry: Record<string, unknown>): void;
}

/**
 * Publishes the details in calls of ten, each signed with `key` (an `engineSignature`
 * field; see core/event-authentication.ts) when one is given; failed entries are retried
 * once, then logged. Never throws.
 */
export async function publishStatusChanges(
  events: EventBridgeClient,
  eventBusName: string,
  details: StatusChangedDetail[],
  log: PublishLog,
  key?: Buffer,
): Promise<{ published: number; failed: number }> {
  let published = 0;
  let failed = 0;
  const entries: PutEventsRequestEntry[] = details.map((detail) => ({
    Source: STATUS_SOURCE,
    DetailType: STATUS_DETAIL_TYPE,
    EventBusName: eventBusName,
    Detail: JSON.stringify(key ? signEngineDetail(key, STATUS_DETAIL_TYPE, detail) : detail),
  }));
  for (let i = 0; i < entries.length; i += ENTRIES_PER_CALL) {
    let pending = entries.slice(i, i + ENTRIES_PER_CALL);
    for (let attempt = 1; pending.length > 0; attempt++) {
      try {
        const out = await events.send(new PutEventsCommand({ Entries: pending }));
        const results = out.Entries ?? [];
        // Results line up with the entries; a missing result counts as failed only if the call says some failed.
        const entryFailed = (j: number) => {
          const result = results[j];
          return result ? result.ErrorCode !== undefined : (out.FailedEntryCount ?? 0) > 0;
        };
        const retry = pending.filter((_, j) => entryFailed(j));
        published += pending.length - retry.length;
        if (retry.length === 0) break;
        if (attempt >= 2) {
          failed += retry.length;
          log({
            level: 'warn',
            message: 'Status notifications not published',
            count: retry.length,
            errors: results.filter((r) => r.ErrorCode).map((r) => `${r.ErrorCode}: ${r.ErrorMessage ?? ''}`).slice(0, 5),
          });
          break;
        }
        pending = retry;
      } catch (error) {
        if (attempt >= 2) {
          failed += pending.length;
          log({ level: 'warn', message: 'Status notifications not published', count: pending.length, error: String(error) });
          break;
        }
      }
    }
  }
  return { published, failed };
}
