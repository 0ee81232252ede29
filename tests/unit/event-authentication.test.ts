import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  canonicalJson,
  checkEngineDetail,
  eventAuthenticationKey,
  signEngineDetail,
  stripEngineSignature,
} from '../../functions/core/event-authentication.js';

const KEY = eventAuthenticationKey('an-unsubscribe-secret-of-64-letters-and-digits-0123456789abcdefgh');
const DETAIL = { emailId: 'order-1', status: 'delivered', toEmail: 'ann@example.com', metadata: { b: 1, a: [true, null, 'x'] } };

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order and leaves out undefined members', () => {
    expect(canonicalJson({ b: { d: 1, c: [2, { f: 0, e: undefined }] }, a: 'x', z: undefined })).toBe('{"a":"x","b":{"c":[2,{"f":0}],"d":1}}');
  });

  it('is the same for any JSON re-serialised with its keys in another order (as EventBridge may)', () => {
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const sent = JSON.parse(JSON.stringify(value));
        const arrived = JSON.parse(JSON.stringify(reversed(sent), null, 2));
        expect(canonicalJson(arrived)).toBe(canonicalJson(sent));
      }),
    );
  });
});

describe('engine signatures', () => {
  it('verify a detail the engine signed, whatever the order of its keys on arrival', () => {
    const signed = signEngineDetail(KEY, 'Email Status Changed', DETAIL);
    const reordered = Object.fromEntries(Object.entries(JSON.parse(JSON.stringify(signed))).reverse());
    expect(checkEngineDetail(KEY, 'Email Status Changed', reordered)).toBe('valid');
  });

  it('tell a missing signature from a wrong one', () => {
    expect(checkEngineDetail(KEY, 'Email Status Changed', DETAIL)).toBe('missing');
    expect(checkEngineDetail(KEY, 'Email Status Changed', { ...DETAIL, engineSignature: 'v1=AAAA' })).toBe('invalid');
    expect(checkEngineDetail(KEY, 'Email Status Changed', { ...DETAIL, engineSignature: 42 })).toBe('invalid');
    expect(checkEngineDetail(KEY, 'Email Status Changed', { ...DETAIL, engineSignature: 'v2=abc' })).toBe('invalid');
  });

  it('fail for any changed field, another detail-type or another key', () => {
    const signed = signEngineDetail(KEY, 'Email Status Changed', DETAIL);
    expect(checkEngineDetail(KEY, 'Email Status Changed', { ...signed, toEmail: 'eve@example.com' })).toBe('invalid');
    expect(checkEngineDetail(KEY, 'Email Status Changed', { ...signed, metadata: { b: 1, a: [true, null, 'y'] } })).toBe('invalid');
    expect(checkEngineDetail(KEY, 'Email Status Changed', { ...signed, extra: 'added' })).toBe('invalid');
    expect(checkEngineDetail(KEY, 'Webhook Test', signed)).toBe('invalid');
    expect(checkEngineDetail(eventAuthenticationKey('another-stack-unsubscribe-secret'), 'Email Status Changed', signed)).toBe('invalid');
  });

  it('replace a signature already there rather than sign it', () => {
    const once = signEngineDetail(KEY, 'Webhook Test', { message: 'hi' });
    expect(signEngineDetail(KEY, 'Webhook Test', once)).toEqual(once);
  });

  it('are left out of what receivers get', () => {
    const signed = signEngineDetail(KEY, 'Email Status Changed', DETAIL);
    expect(stripEngineSignature(signed)).toEqual(DETAIL);
    expect(stripEngineSignature(DETAIL)).toBe(DETAIL);
  });

  it('use a key of its own, not the unsubscribe secret itself (a signature never doubles as an unsubscribe token)', () => {
    const secret = 'an-unsubscribe-secret-of-64-letters-and-digits-0123456789abcdefgh';
    expect(KEY).toHaveLength(32);
    expect(KEY.equals(Buffer.from(secret))).toBe(false);
    expect(eventAuthenticationKey(secret).equals(KEY)).toBe(true);
    expect(() => eventAuthenticationKey('')).toThrow(/empty/);
  });
});
