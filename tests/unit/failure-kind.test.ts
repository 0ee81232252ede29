import { describe, expect, it } from '@jest/globals';
import { classifyFailure } from '../../functions/core/failure-kind.js';

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error('x'), { name, ...extra });

describe('classifyFailure', () => {
  it.each([
    named('ProvisionedThroughputExceededException', { $metadata: { httpStatusCode: 400 } }),
    named('ThrottlingException'),
    named('InternalServerError', { $metadata: { httpStatusCode: 500 } }),
    named('SomethingNew', { $metadata: { httpStatusCode: 503 } }),
    named('TimeoutError'),
    named('SomethingRetryable', { $retryable: {} }),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
  ])('%p is transient: it retries up to the queue\'s receives', (error) => {
    expect(classifyFailure(error)).toBe('transient');
  });

  it.each([
    named('AccessDeniedException', { $metadata: { httpStatusCode: 400 } }),
    named('ResourceNotFoundException'),
    named('UnrecognizedClientException'),
    named('CredentialsProviderError'),
    named('ConfigError'),
    named('Whatever', { $metadata: { httpStatusCode: 403 } }),
  ])('%p is the environment: no request is failed for it', (error) => {
    expect(classifyFailure(error)).toBe('environment');
  });

  it.each([
    new TypeError("Cannot read properties of undefined (reading 'x')"),
    new RangeError('Maximum call stack size exceeded'),
    named('ValidationException', { $metadata: { httpStatusCode: 400 } }),
    'a thrown string',
    undefined,
  ])('%p belongs to the request: after a few receives it is ENG001', (error) => {
    expect(classifyFailure(error)).toBe('request');
  });
});
