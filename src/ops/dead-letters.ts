import { parseSendRequest } from '../../functions/core/request-validation.js';
import { emailIdFromTags } from '../../functions/core/message-tags.js';
import { STATUS_CHANGED_DETAIL_TYPE, TEST_EVENT_TYPE, WEBHOOK_TEST_DETAIL_TYPE } from '../../functions/core/webhook-payload.js';
import type { LastError } from '../../functions/lib/last-error-store.js';
import type { PeekedMessage } from './queues.js';
import type { QueueKind } from './target.js';

/**
 * What a dead-letter message is and why it is there, from its body and attributes alone
 * (pure). The DLQs hold different things:
 *   send      the EventBridge event of an "Email Request" (or an engine "Email Retry") the
 *             Email Sender failed on 10 times
 *   feedback  the EventBridge event of an SES event the Feedback Processor failed on 5 times
 *   events    an event EventBridge could not put on the send or feedback queue; EventBridge
 *             adds ERROR_CODE, ERROR_MESSAGE, RULE_ARN and TARGET_ARN attributes (this
 *             includes engine events the webhook rule could not put on the webhook queue)
 *   webhook   an "Email Status Changed" or "Webhook Test" event the Webhook Delivery
 *             function could not deliver to the endpoint in 10 attempts
 */

export interface DeadLetterInfo {
  queue: QueueKind;
  messageId: string;
  receiveCount: number;
  sentAt?: string;
  kind: 'email-request' | 'email-retry' | 'ses-event' | 'webhook-event' | 'unreadable';
  source?: string;
  emailId?: string;
  to?: string;
  templateName?: string;
  sesEventType?: string;
  sesMessageId?: string;
  /** For a webhook event: the type the receiver gets (email.delivered, webhook.test, …) and its webhook-id. */
  webhookType?: string;
  webhookId?: string;
  /** For an email request: what the Email Sender's validation says about it today. */
  validation?: { ok: true } | { ok: false; code: string; message: string };
  /** From EventBridge's attributes (event-delivery DLQ). */
  deliveryError?: { code?: string; message?: string; rule?: string; target?: string; retryAttempts?: string };
  /** Send DLQ: why the Email Sender last returned it (written from its third receive on). */
  lastError?: { reason: string; receiveCount: number; at: string };
  why: string;
}

/**
 * A send-DLQ message with the Email Sender's own note of why it last returned it: the
 * explanation says that instead of listing the usual suspects.
 */
export function withLastError(info: DeadLetterInfo, note: LastError | undefined): DeadLetterInfo {
  if (!note || info.queue !== 'send') return info;
  const lastError = { reason: note.reason, receiveCount: note.receiveCount, at: note.at };
  return {
    ...info,
    lastError,
    why: `The Email Sender returned it to the queue until its receives ran out; its last error (receive ${note.receiveCount}${note.at ? `, ${note.at}` : ''}): ${note.reason}. Fix that cause, then redrive.`,
  };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** EventBridge's error codes on its DLQ messages, and what usually causes each. */
const DELIVERY_ADVICE: Record<string, string> = {
  NO_PERMISSIONS: 'EventBridge may not send to the queue: its queue policy (or KMS key policy) was changed. Re-run sesmailengine install to restore it.',
  RESOURCE_NOT_FOUND: 'The target queue no longer exists. Re-run sesmailengine install to recreate it.',
  THROTTLING: 'The queue was throttled for longer than the retry policy allows; this is rare for SQS and passes. Redrive the messages.',
  CONNECTION_FAILURE: 'EventBridge could not reach the queue for the whole retry window. Redrive the messages.',
  SDK_CLIENT_ERROR: 'The queue refused the event (for example a KMS key that is disabled). Check the queue\'s encryption key, then redrive.',
};

function readSesEvent(detail: Record<string, unknown>): { eventType?: string; sesMessageId?: string; emailId?: string; to?: string } {
  const mail = asRecord(detail.mail) ?? {};
  const destination = Array.isArray(mail.destination) ? mail.destination.filter((d): d is string => typeof d === 'string') : [];
  const eventType = str(detail.eventType) ?? str(detail.notificationType);
  const sesMessageId = str(mail.messageId);
  const emailId = emailIdFromTags(mail.tags);
  return {
    ...(eventType ? { eventType } : {}),
    ...(sesMessageId ? { sesMessageId } : {}),
    ...(emailId ? { emailId } : {}),
    ...(destination[0] ? { to: destination[0] } : {}),
  };
}

/** The webhook type of an engine event bound for the webhook queue, or undefined for any other body. */
export function webhookTypeOf(event: Record<string, unknown>): string | undefined {
  if (event.source !== 'sesmailengine') return undefined;
  const detailType = event['detail-type'];
  if (detailType === WEBHOOK_TEST_DETAIL_TYPE) return TEST_EVENT_TYPE;
  if (detailType !== STATUS_CHANGED_DETAIL_TYPE) return undefined;
  const status = asRecord(event.detail)?.status;
  return typeof status === 'string' && status !== '' ? `email.${status}` : 'email.?';
}

/** True when a dead-letter body is an engine event for the webhook queue (redrive sends it there). */
export function isWebhookEventBody(body: string): boolean {
  try {
    const event = asRecord(JSON.parse(body));
    return event !== undefined && webhookTypeOf(event) !== undefined;
  } catch {
    return false;
  }
}

export function describeDeadLetter(queue: QueueKind, message: PeekedMessage): DeadLetterInfo {
  const base = {
    queue,
    messageId: message.messageId,
    receiveCount: message.receiveCount,
    ...(message.sentAt ? { sentAt: message.sentAt } : {}),
  };
  const attrs = message.attributes;
  const deliveryError =
    queue === 'events'
      ? {
          ...(attrs.ERROR_CODE ? { code: attrs.ERROR_CODE } : {}),
          ...(attrs.ERROR_MESSAGE ? { message: attrs.ERROR_MESSAGE } : {}),
          ...(attrs.RULE_ARN ? { rule: attrs.RULE_ARN } : {}),
          ...(attrs.TARGET_ARN ? { target: attrs.TARGET_ARN } : {}),
          ...(attrs.RETRY_ATTEMPTS ? { retryAttempts: attrs.RETRY_ATTEMPTS } : {}),
        }
      : undefined;
  const deliveryWhy = (what: string): string => {
    const target = deliveryError?.target ? ` to ${deliveryError.target.split(':').pop()}` : '';
    const error = [deliveryError?.code, deliveryError?.message].filter(Boolean).join(': ');
    const advice = (deliveryError?.code && DELIVERY_ADVICE[deliveryError.code]) ?? 'Fix the cause, then redrive (requests go to the send queue, SES events to the feedback queue, status events to the webhook queue).';
    return `EventBridge could not deliver this ${what}${target}${error ? ` (${error})` : ''}. ${advice}`;
  };

  let event: Record<string, unknown> | undefined;
  try {
    event = asRecord(JSON.parse(message.body));
  } catch {
    event = undefined;
  }
  if (!event) {
    return {
      ...base,
      kind: 'unreadable',
      ...(deliveryError ? { deliveryError } : {}),
      why:
        queue === 'events'
          ? deliveryWhy('message')
          : queue === 'send'
            ? 'The body is not a JSON event. A redrive makes the Email Sender record it as failed (VAL001) under a generated emailId; nothing is sent.'
            : queue === 'webhook'
              ? 'The body is not a JSON event. The Webhook Delivery function drops such messages (WHK001), so a redrive only removes it from here.'
              : 'The body is not a JSON event. The Feedback Processor drops such messages (FBK004), so a redrive only removes it from here.',
    };
  }
  const source = str(event.source);
  const detail = asRecord(event.detail) ?? {};

  const webhookType = webhookTypeOf(event);
  if (webhookType) {
    const emailId = str(detail.emailId);
    const to = str(detail.toEmail);
    const webhookId = str(event.id);
    return {
      ...base,
      kind: 'webhook-event',
      source: 'sesmailengine',
      webhookType,
      ...(webhookId ? { webhookId } : {}),
      ...(emailId ? { emailId } : {}),
      ...(to ? { to } : {}),
      ...(deliveryError ? { deliveryError } : {}),
      why:
        queue === 'events'
          ? deliveryWhy(`${webhookType} event to the webhook queue`)
          : `The webhook endpoint did not accept this ${webhookType} delivery in ${message.receiveCount >= 10 ? `${message.receiveCount} attempts` : 'repeated attempts'} (about 35 hours): it answered other than 2xx (WHK002) or could not be reached in 10 s (WHK003). Search the Webhook Delivery function's logs for webhookId ${webhookId ?? '(the event id)'}; once the endpoint answers 2xx, redrive it (receivers deduplicate on webhook-id, so a delivery they already have is harmless).`,
    };
  }

  if (source === 'aws.ses') {
    const ses = readSesEvent(detail);
    const record = ses.emailId ? `record ${ses.emailId}` : 'its record (found by SES message id)';
    return {
      ...base,
      kind: 'ses-event',
      source,
      ...(ses.emailId ? { emailId: ses.emailId } : {}),
      ...(ses.to ? { to: ses.to } : {}),
      ...(ses.eventType ? { sesEventType: ses.eventType } : {}),
      ...(ses.sesMessageId ? { sesMessageId: ses.sesMessageId } : {}),
      ...(deliveryError ? { deliveryError } : {}),
      why:
        queue === 'events'
          ? deliveryWhy(`SES ${ses.eventType ?? ''} event`.replace('  ', ' '))
          : `The Feedback Processor failed on this SES ${ses.eventType ?? ''} event ${message.receiveCount >= 5 ? `${message.receiveCount} times` : 'repeatedly'}, so ${record} was not updated. Look for "Feedback not applied" in the Feedback Processor's logs (a DynamoDB or permission error), fix it, then redrive.`.replace('  ', ' '),
    };
  }

  const validation = parseSendRequest(message.body, message.messageId);
  const isRetry = source === 'sesmailengine' && event['detail-type'] === 'Email Retry';
  const emailId = validation.ok ? validation.request.emailId : validation.failure.emailId;
  const to = validation.ok ? validation.request.to.address : str(detail.to);
  const templateName = validation.ok ? validation.request.templateName : str(detail.templateName);
  const common = {
    ...base,
    kind: isRetry ? ('email-retry' as const) : ('email-request' as const),
    ...(source ? { source } : {}),
    emailId,
    ...(to ? { to } : {}),
    ...(templateName ? { templateName } : {}),
    validation: validation.ok
      ? ({ ok: true } as const)
      : ({ ok: false, code: validation.failure.code, message: validation.failure.message } as const),
    ...(deliveryError ? { deliveryError } : {}),
  };
  if (queue === 'events') return { ...common, why: deliveryWhy(isRetry ? 'soft-bounce retry' : 'email request') };
  if (!validation.ok) {
    return {
      ...common,
      why: `The request is invalid (${validation.failure.code}: ${validation.failure.message}). The Email Sender tracks invalid requests as failed, so it could not write that record either: look in its logs for a DynamoDB or permission error. A redrive records it as failed once the cause is fixed.`,
    };
  }
  return {
    ...common,
    why: `A valid request the Email Sender returned to the queue ${message.receiveCount >= 10 ? `${message.receiveCount} times` : 'repeatedly'} without an outcome: a DynamoDB, S3 or permission error, or SES refusing it (throttling is deferred, never returned). Search the Email Sender's logs for emailId ${emailId} (outcome "returned", and its reason); fix the cause, then redrive.`,
  };
}
