import { describe, expect, it } from '@jest/globals';
import { buildRecord, storable } from '../../functions/lib/tracking-store.js';

describe('storable', () => {
  it('keeps numbers DynamoDB holds exactly', () => {
    expect(storable({ a: 0, b: -1.5, c: Number.MAX_SAFE_INTEGER, d: 1e-130, e: [3] })).toEqual({ a: 0, b: -1.5, c: Number.MAX_SAFE_INTEGER, d: 1e-130, e: [3] });
  });

  it('turns numbers beyond 2^53 or under 1e-130 into text, at any depth', () => {
    expect(storable({ a: { b: [2 ** 60, -1e300, 1e-200] } })).toEqual({ a: { b: ['1152921504606847000', '-1e+300', '1e-200'] } });
  });

  it('leaves strings, booleans and null alone', () => {
    expect(storable({ s: '1e400', t: true, n: null })).toEqual({ s: '1e400', t: true, n: null });
  });
});

describe('buildRecord', () => {
  const fields = {
    emailId: 'e-1',
    originalEmailId: 'e-1',
    retryAttempt: 0,
    toEmail: 'a@example.com',
    templateName: 'welcome',
    originalSource: 'app',
    request: { to: 'a@example.com', templateName: 'welcome' },
  };
  const now = new Date('2026-03-02T23:59:59.999Z');

  it('fills the rank, the day, the TTL and keeps the request on a first attempt', () => {
    const record = buildRecord(fields, 'sending', now, 365);
    expect(record).toEqual({
      ...fields,
      status: 'sending',
      statusRank: 0,
      timestamp: '2026-03-02T23:59:59.999Z',
      datePartition: '2026-03-02',
      expiresAt: Math.floor(now.getTime() / 1000) + 365 * 86400,
    });
  });

  it('does not keep the request on a retry', () => {
    expect(buildRecord({ ...fields, retryAttempt: 1 }, 'sending', now, 1).request).toBeUndefined();
  });

  it('carries the error of a failed record', () => {
    expect(buildRecord(fields, 'failed', now, 1, { code: 'VAL003', message: 'bad' })).toMatchObject({ status: 'failed', statusRank: 2, errorCode: 'VAL003', errorMessage: 'bad' });
  });
});
