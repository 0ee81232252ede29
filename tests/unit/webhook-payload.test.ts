import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  parseRetryAfter,
  parseWebhookMessage,
  MAX_ATTEMPTS,
  parseWebhookEventTypes,
  retryDelaySeconds,
  wantsEventType,
  WebhookEventTypesError,
  RETRY_SCHEDULE_SECONDS,
  WebhookMessageError,
} from '../../functions/core/webhook-payload.js';

const statusEvent = (overrides: Record<string, unknown> = {}, detail: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: '0',
    id: '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
    source: 'sesmailengine',
    'detail-type': 'Email Status Changed',
    time: '2026-03-02T10:00:05Z',
    detail: { emailId: 'order-1', status: 'delivered', previousStatus: 'sent', toEmail: 'a@b.example', timestamp: '2026-03-02T10:00:04.120Z', ...detail },
    ...overrides,
  });

describe('parseWebhookMessage', () => {
  it('turns a status change into email.<status> with the change time and the whole detail', () => {
    const message = parseWebhookMessage(statusEvent());
    expect(message.id).toBe('0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b');
    expect(message.payload).toEqual({
      type: 'email.delivered',
      timestamp: '2026-03-02T10:00:04.120Z',
      data: { emailId: 'order-1', status: 'delivered', previousStatus: 'sent', toEmail: 'a@b.example', timestamp: '2026-03-02T10:00:04.120Z' },
    });
    expect(parseWebhookMessage(statusEvent({}, { status: 'soft_bounced' })).payload.type).toBe('email.soft_bounced');
  });

  it('turns a test event into webhook.test at the event time', () => {
    const message = parseWebhookMessage(statusEvent({ 'detail-type': 'Webhook Test', detail: { message: 'hi' } }));
    expect(message.payload).toEqual({ type: 'webhook.test', timestamp: '2026-03-02T10:00:05Z', data: { message: 'hi' } });
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['another source', statusEvent({ source: 'my.app' })],
    ['another detail-type', statusEvent({ 'detail-type': 'Email Request' })],
    ['an id with a line break (header injection)', statusEvent({ id: 'a\r\nx-evil: 1' })],
    ['a missing id', statusEvent({ id: undefined })],
    ['a detail that is a string', statusEvent({ detail: 'x' })],
    ['a status with odd characters', statusEvent({}, { status: 'delivered\n' })],
    ['a status that is not a string', statusEvent({}, { status: 3 })],
    ['no emailId', statusEvent({}, { emailId: '' })],
    ['no usable time', statusEvent({ time: 'yesterday' }, { timestamp: 7 })],
  ])('refuses %s with a WebhookMessageError', (_, body) => {
    expect(() => parseWebhookMessage(body)).toThrow(WebhookMessageError);
  });

  it('never throws anything else, whatever the body (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ source: 'sesmailengine', 'detail-type': 'Email Status Changed', id: 'x', detail: v }))), (body) => {
        try {
          parseWebhookMessage(body);
        } catch (error) {
          expect(error).toBeInstanceOf(WebhookMessageError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('choosing event types', () => {
  it('reads a comma-separated list, with or without the email. prefix; empty means every type', () => {
    expect([...parseWebhookEventTypes('bounced, email.complained ,bounced')!]).toEqual(['email.bounced', 'email.complained']);
    expect(parseWebhookEventTypes('')).toBeUndefined();
    expect(parseWebhookEventTypes(' , ')).toBeUndefined();
    expect(parseWebhookEventTypes(undefined)).toBeUndefined();
  });

  it.each(['sent', 'email.clicked', 'webhook.test', 'bounced;complained', 'BOUNCED'])('refuses %s, naming the known types', (text) => {
    expect(() => parseWebhookEventTypes(text)).toThrow(WebhookEventTypesError);
    expect(() => parseWebhookEventTypes(text)).toThrow(/email\.delivered, email\.opened/);
  });

  it('always lets test events through and filters the rest', () => {
    const chosen = parseWebhookEventTypes('bounced');
    expect(wantsEventType(chosen, 'email.bounced')).toBe(true);
    expect(wantsEventType(chosen, 'email.delivered')).toBe(false);
    expect(wantsEventType(chosen, 'webhook.test')).toBe(true);
    expect(wantsEventType(undefined, 'email.delivered')).toBe(true);
  });
});

describe('retry delays', () => {
  it('follows the schedule, then returns the last attempt at once so the queue dead-letters it', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50].map((n) => retryDelaySeconds(n))).toEqual([30, 120, 600, 1800, 3600, 10800, 21600, 43200, 43200, 0, 0]);
    expect(MAX_ATTEMPTS).toBe(10);
    expect(retryDelaySeconds(MAX_ATTEMPTS, 3600)).toBe(0);
    // Ten attempts span about 35 hours before the DLQ.
    expect(RETRY_SCHEDULE_SECONDS.reduce((a, b) => a + b, 0)).toBe(124_950);
  });

  it('waits longer when Retry-After asks for it, never beyond 12 hours, never shorter than planned', () => {
    expect(retryDelaySeconds(1, 90)).toBe(90);
    expect(retryDelaySeconds(3, 5)).toBe(600);
    expect(retryDelaySeconds(1, 10 ** 9)).toBe(43200);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = new Date('2026-03-02T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Mon, 02 Mar 2026 10:05:00 GMT', now)).toBe(300);
    expect(parseRetryAfter('Mon, 02 Mar 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
