import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import {
  displaySecret,
  signedHeaders,
  signingKey,
  signWebhook,
  verifyWebhook,
  WebhookSecretError,
  WebhookVerificationError,
  type VerifyFailure,
} from '../../functions/core/webhook-signature.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const at = (seconds: number) => () => new Date(seconds * 1000);

function failure(run: () => unknown): VerifyFailure | string {
  try {
    run();
  } catch (error) {
    return error instanceof WebhookVerificationError ? error.reason : String(error);
  }
  return 'accepted';
}

describe('signing', () => {
  it('matches the Standard Webhooks reference vector', () => {
    expect(signWebhook(SECRET, { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330, body: '{"test": 2432232314}' })).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('signs a generated (plain) secret exactly as its whsec_ form', () => {
    const plain = 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z';
    const input = { id: 'e1', timestamp: 1700000000, body: '{"a":1}' };
    expect(displaySecret(plain)).toBe(`whsec_${Buffer.from(plain).toString('base64')}`);
    expect(signWebhook(plain, input)).toBe(signWebhook(displaySecret(plain), input));
    expect(displaySecret(displaySecret(plain))).toBe(displaySecret(plain));
  });

  it('refuses short or malformed secrets', () => {
    expect(() => signingKey('short')).toThrow(WebhookSecretError);
    expect(() => signingKey('whsec_not base64!')).toThrow(WebhookSecretError);
    expect(() => signingKey(`whsec_${Buffer.alloc(8).toString('base64')}`)).toThrow(/16 bytes/);
  });

  it('is verified by the standardwebhooks library (receivers can use any Standard Webhooks implementation)', () => {
    const body = JSON.stringify({ type: 'email.delivered', timestamp: '2026-03-02T10:00:00.000Z', data: { emailId: 'e-1', toEmail: 'ünï@exämple.com' } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = signedHeaders(SECRET, { id: 'b7c1e2a0-0000-4000-8000-000000000001', timestamp, body });
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(SECRET).verify(`${body} `, headers)).toThrow();
  });
});

describe('verifyWebhook', () => {
  const body = '{"type":"email.bounced","data":{"emailId":"x"}}';
  const input = { id: 'evt-1', timestamp: 1_800_000_000, body };
  const headers = signedHeaders(SECRET, input);

  it('accepts the signed body within the tolerance and returns the payload', () => {
    expect(verifyWebhook(SECRET, headers, body, { now: at(input.timestamp + 299) })).toEqual(JSON.parse(body));
    expect(verifyWebhook(SECRET, new Headers(headers), body, { now: at(input.timestamp) })).toEqual(JSON.parse(body));
  });

  it('accepts any of several space-separated signatures (secret rotation)', () => {
    const both = { ...headers, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}` };
    expect(failure(() => verifyWebhook(SECRET, both, body, { now: at(input.timestamp) }))).toBe('accepted');
  });

  it.each([
    ['a changed body', () => verifyWebhook(SECRET, headers, body.replace('bounced', 'delivered'), { now: at(input.timestamp) }), 'no-match'],
    ['another secret', () => verifyWebhook(displaySecret('another-secret-of-enough-length'), headers, body, { now: at(input.timestamp) }), 'no-match'],
    ['a replay after 5 minutes', () => verifyWebhook(SECRET, headers, body, { now: at(input.timestamp + 301) }), 'too-old'],
    ['a timestamp from the future', () => verifyWebhook(SECRET, headers, body, { now: at(input.timestamp - 301) }), 'too-new'],
    ['a moved timestamp', () => verifyWebhook(SECRET, { ...headers, 'webhook-timestamp': String(input.timestamp + 1) }, body, { now: at(input.timestamp) }), 'no-match'],
    ['another id', () => verifyWebhook(SECRET, { ...headers, 'webhook-id': 'evt-2' }, body, { now: at(input.timestamp) }), 'no-match'],
    ['no signature header', () => verifyWebhook(SECRET, { 'webhook-id': 'evt-1', 'webhook-timestamp': '1' }, body), 'missing-headers'],
    ['a non-numeric timestamp', () => verifyWebhook(SECRET, { ...headers, 'webhook-timestamp': '1e9' }, body), 'bad-timestamp'],
    ['an unknown version', () => verifyWebhook(SECRET, { ...headers, 'webhook-signature': headers['webhook-signature']!.replace('v1,', 'v2,') }, body, { now: at(input.timestamp) }), 'no-match'],
  ])('refuses %s', (_, run, reason) => {
    expect(failure(run)).toBe(reason);
  });

  it('refuses every single-character change of the body (property)', () => {
    fc.assert(
      fc.property(fc.nat(body.length - 1), fc.string({ minLength: 1, maxLength: 1 }), (index, replacement) => {
        const changed = body.slice(0, index) + replacement + body.slice(index + 1);
        fc.pre(changed !== body);
        expect(failure(() => verifyWebhook(SECRET, headers, changed, { now: at(input.timestamp) }))).toBe('no-match');
      }),
      { numRuns: 300 },
    );
  });
});
