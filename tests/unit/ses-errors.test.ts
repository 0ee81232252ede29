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
    sesError('InternalFailure', 'oops', 500),
    sesError('ServiceUnavailable', 'later', 503),
    sesError('TimeoutError', 'socket timed out'),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    sesError('SomethingNew', 'never seen'),
    'a thrown string',
    undefined,
  ])('treats %p as transient', (error) => {
    expect(classifySesError(error).kind).toBe('transient');
  });
});
