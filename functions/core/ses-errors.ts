import type { ErrorCode } from './error-codes.js';

/**
 * What an SES SendEmail error means for the request, by what it says about whether SES
 * may have accepted the message:
 * - permanent: SES answered that it will never accept this request → tracked `failed`;
 * - throttled: SES answered "slow down" (SES v2: 429 TooManyRequestsException "Maximum
 *   sending rate exceeded."; `daily` when it says "Daily message quota exceeded.") → the
 *   claim is released, the request is deferred (core/send-pacing.ts), and the rest of the
 *   batch is not sent now either;
 * - refused: a clear "not accepted": any other 4xx answer, or a failure before a byte of the
 *   request left (connection refused, DNS, no connection within the connect timeout) →
 *   the claim is released and the message is retried;
 * - ambiguous: the request may have reached SES and been accepted: a timeout or reset
 *   after the connection was made, a 5xx answer (SES does not document that a 500 means
 *   "not sent"), or anything unknown → the claim is kept; after the interrupted-send window
 *   SES's `Send` event (or its absence) decides (see the Email Sender).
 */
export type SesErrorKind =
  | { kind: 'permanent'; code: ErrorCode; message: string }
  | { kind: 'throttled'; daily: boolean; message: string }
  | { kind: 'refused'; message: string }
  | { kind: 'ambiguous'; message: string };

/** Error names AWS services use for "slow down" (SES among them). */
export const THROTTLING = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
]);

/** Node socket errors raised before the request could be written: nothing reached SES. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'ERR_INVALID_URL']);

/** The SDK's node-http-handler when no connection was established within connectionTimeout. */
const CONNECT_TIMEOUT = /did not establish a connection|without establishing a connection/i;

const DAILY_QUOTA = /daily message quota exceeded/i;

const NOT_VERIFIED = /not verified|not authorized to send|sandbox/i;

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
}

export function classifySesError(error: unknown): SesErrorKind {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : 'Error';
  const text = typeof shape.message === 'string' ? shape.message : String(error);
  const message = `${name}: ${text}`.slice(0, 1000);
  const status = shape.$metadata?.httpStatusCode;

  if (THROTTLING.has(name) || status === 429) return { kind: 'throttled', daily: DAILY_QUOTA.test(text), message };
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
  }
  if (typeof status === 'number' && status >= 400 && status < 500) return { kind: 'refused', message };
  if (typeof shape.code === 'string' && NOT_CONNECTED.has(shape.code)) return { kind: 'refused', message };
  if (name === 'TimeoutError' && CONNECT_TIMEOUT.test(text)) return { kind: 'refused', message };
  return { kind: 'ambiguous', message };
}
