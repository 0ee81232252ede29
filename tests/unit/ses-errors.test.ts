import { describe, expect, it } from '@jest/globals';
import { classifySesError } from '../../functions/core/ses-errors.js';

function sesError(name: string, message = 'x', status?: number) {
  return Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
}

describe('classifySesError', () => {
  it.each([
    ['MessageRejected', 'Email address is not verified. The following identities failed the check in region US-EAST-1: a@b.com', 'SES002'],
    ['MessageRejected', 'Illegal address', 'SES001'],
    ['MessageRejected', 'Message contains a virus', 'SES001'],
    ['MailFromDomainNotVerifiedException', 'MAIL FROM domain not verified', 'SES002'],
    ['NotFoundException', 'Configuration set does not exist', 'SES002'],
    ['AccountSuspendedException', 'suspended', 'SES003'],
    ['SendingPausedException', 'paused', 'SES003'],
    ['BadRequestException', 'Missing final @domain', 'SES004'],
  ])('%s (%s) is permanent: %s', (name, message, code) => {
    expect(classifySesError(sesError(name, message, 400))).toEqual({ kind: 'permanent', code, message: `${name}: ${message}` });
  });

  it.each(['TooManyRequestsException', 'LimitExceededException', 'Throttling', 'ThrottlingException'])('%s is throttling', (name) => {
    expect(classifySesError(sesError(name, 'Maximum sending rate exceeded.', 400)).kind).toBe('throttled');
  });

  it('treats any 429 as throttling', () => {
    expect(classifySesError(sesError('Unknown', 'slow down', 429)).kind).toBe('throttled');
  });

  it.each([
    sesError('AccessDeniedException', 'not authorized', 403),
    sesError('SomethingNew', 'a 4xx answer is a refusal', 400),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('getaddrinfo ENOTFOUND email.us-east-1.amazonaws.com'), { code: 'ENOTFOUND' }),
    sesError('TimeoutError', '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 3000 ms.'),
  ])('treats %p as a clear refusal: nothing was accepted, retry at once', (error) => {
    expect(classifySesError(error).kind).toBe('refused');
  });

  it.each([
    sesError('InternalFailure', 'oops', 500),
    sesError('ServiceUnavailable', 'later', 503),
    sesError('TimeoutError', '@smithy/node-http-handler - the request socket timed out after 10000 ms of inactivity'),
    sesError('TimeoutError', 'a request has exceeded the configured 10000 ms requestTimeout.'),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', name: 'TimeoutError' }),
    sesError('SomethingNew', 'never seen'),
    'a thrown string',
    undefined,
  ])('treats %p as ambiguous: SES may have accepted it, the claim is kept', (error) => {
    expect(classifySesError(error).kind).toBe('ambiguous');
  });
});
