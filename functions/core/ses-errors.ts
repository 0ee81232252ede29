import type { ErrorCode } from './error-codes.js';

/**
 * What an SES SendEmail error means for the request:
 * - permanent: retrying the same request cannot succeed → the email is tracked `failed`;
 * - throttled: SES is asking us to slow down → the message goes back to the queue, and the
 *   rest of the batch is not sent now either;
 * - transient: anything else (5xx, timeouts, network, unknown) → back to the queue.
 * Unknown errors count as transient so nothing is dropped on a guess; a message that keeps
 * failing ends in the send queue's DLQ.
 */
export type SesErrorKind =
  | { kind: 'permanent'; code: ErrorCode; message: string }
  | { kind: 'throttled'; message: string }
  | { kind: 'transient'; message: string };

const THROTTLING = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
]);

const NOT_VERIFIED = /not verified|not authorized to send|sandbox/i;

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
}

export function classifySesError(error: unknown): SesErrorKind {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : 'Error';
  const text = typeof shape.message === 'string' ? shape.message : String(error);
  const message = `${name}: ${text}`.slice(0, 1000);
  const status = shape.$metadata?.httpStatusCode;

  if (THROTTLING.has(name) || status === 429) return { kind: 'throttled', message };
  switch (name) {
    case 'MessageRejected':
      return { kind: 'permanent', code: NOT_VERIFIED.test(text) ? 'SES002' : 'SES001', message };
    case 'MailFromDomainNotVerifiedException':
    case 'NotFoundException':
      return { kind: 'permanent', code: 'SES002', message };
    case 'AccountSuspendedException':
    case 'SendingPausedException':
      return { kind: 'permanent', code: 'SES003', message };
    case 'BadRequestException':
      return { kind: 'permanent', code: 'SES004', message };
    default:
      return { kind: 'transient', message };
  }
}
