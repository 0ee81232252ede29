/**
 * What an error nobody handled says about the request it happened on (pure):
 * - transient: throttling, a 5xx, a timeout or a network fault: the same request may well
 *   succeed on its next receive, so it goes back to the queue;
 * - environment: the engine's own setup is wrong (permissions, credentials, a missing table
 *   or bucket, configuration): every request would fail alike, so none is marked failed;
 *   they wait on the queue (then in the DLQ) until the setup is fixed;
 * - request: anything else (a bug met by this request's data, a DynamoDB ValidationException
 *   for an item it produced, …): after a few receives the request is tracked failed ENG001.
 */
import { THROTTLING } from './ses-errors.js';

export type FailureKind = 'transient' | 'environment' | 'request';

const TRANSIENT_NAMES = new Set([
  ...THROTTLING,
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
]);

const ENVIRONMENT_NAMES = new Set([
  'ConfigError',
  'AccessDenied',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
  'ResourceNotFoundException',
  'NoSuchBucket',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSNotFoundException',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

export function classifyFailure(error: unknown): FailureKind {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : '';
  const status = typeof shape.$metadata?.httpStatusCode === 'number' ? shape.$metadata.httpStatusCode : undefined;
  if (ENVIRONMENT_NAMES.has(name) || status === 401 || status === 403) return 'environment';
  if (TRANSIENT_NAMES.has(name) || status === 429 || (status !== undefined && status >= 500)) return 'transient';
  if (shape.$fault === 'server' || shape.$retryable !== undefined) return 'transient';
  if (typeof shape.code === 'string' && NETWORK_CODES.has(shape.code)) return 'transient';
  return 'request';
}
