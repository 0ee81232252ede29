import { parseSendRequest } from '../../functions/core/request-validation.js';
import { emailIdFromTags } from '../../functions/core/message-tags.js';
import type { PeekedMessage } from './queues.js';
import type { QueueKind } from './target.js';

/**
 * What a dead-letter message is and why it is there, from its body and attributes alone
 * (pure). The three DLQs hold different things:
 *   send      the EventBridge event of an "Email Request" (or an engine "Email Retry") the
 *             Email Sender failed on 10 times
 *   feedback  the EventBridge event of an SES event the Feedback Processor failed on 5 times
 *   events    an event EventBridge could not put on the send or feedback queue; EventBridge
 *             adds ERROR_CODE, ERROR_MESSAGE, RULE_ARN and TARGET_ARN attributes
 */

export interface DeadLetterInfo {
  queue: QueueKind;
  messageId: string;
  receiveCount: number;
  sentAt?: string;
  kind: 'email-request' | 'email-retry' | 'ses-event' | 'unreadable';
  source?: string;
  emailId?: string;
  to?: string;
  templateName?: string;
  sesEventType?: string;
  sesMessageId?: string;
  /** For an email request: what the Email Sender's validation says about it today. */
  validation?: { ok: true } | { ok: false; code: string; message: string };
  /** From EventBridge's attributes (event-delivery DLQ). */
  deliveryError?: { code?: string; message?: string; rule?: string; target?: string; retryAttempts?: string };
  why: string;
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
    const advice = (deliveryError?.code && DELIVERY_ADVICE[deliveryError.code]) ?? 'Fix the cause, then redrive (requests go to the send queue, SES events to the feedback queue).';
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
            : 'The body is not a JSON event. The Feedback Processor drops such messages (FBK004), so a redrive only removes it from here.',
    };
  }
  const source = str(event.source);
  const detail = asRecord(event.detail) ?? {};

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
    why: `A valid request the Email Sender returned to the queue ${message.receiveCount >= 10 ? `${message.receiveCount} times` : 'repeatedly'} without an outcome: persistent SES throttling, or a DynamoDB, S3 or permission error. Search the Email Sender's logs for emailId ${emailId} (outcome "returned", and its reason); fix the cause, then redrive.`,
  };
}
