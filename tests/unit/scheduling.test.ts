import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  DUE_WITHIN_MS,
  MAX_QUEUE_DELAY_SECONDS,
  SCHEDULE_NAME_PATTERN,
  atExpression,
  parseSendAt,
  planSend,
  scheduleNameFor,
} from '../../functions/core/scheduling.js';
import { parseSendRequest } from '../../functions/core/request-validation.js';
import { statusRank } from '../../functions/core/status-priority.js';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);

function request(sendAt: unknown, envelope: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: 'e-1',
    source: 'my.app',
    'detail-type': 'Email Request',
    detail: { to: 'ann@example.com', templateName: 'welcome', emailId: 'sch-1', sendAt },
    ...envelope,
  });
}

describe('parseSendAt', () => {
  it.each([
    ['2026-03-01T09:30:00Z', '2026-03-01T09:30:00.000Z'],
    ['2026-03-01T09:30:00.250Z', '2026-03-01T09:30:00.250Z'],
    ['2026-03-01T10:30:00+01:00', '2026-03-01T09:30:00.000Z'],
    ['2026-03-01T04:00:00-05:30', '2026-03-01T09:30:00.000Z'],
    ['2026-03-01T09:30Z', '2026-03-01T09:30:00.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    const parsed = parseSendAt(text);
    expect(parsed.ok && parsed.at.toISOString()).toBe(iso);
  });

  it.each([
    '2026-03-01T09:30:00', // no zone: ambiguous
    '2026-03-01',
    '1772357400',
    'tomorrow',
    '2026-02-30T10:00:00Z', // no such day
    '2026-13-01T10:00:00Z',
    '2026-03-01T24:00:00Z',
    '2026-03-01T10:00:00+25:00',
    '2026-03-01 10:00:00Z',
  ])('refuses %s', (text) => {
    expect(parseSendAt(text).ok).toBe(false);
  });
});

describe('planSend', () => {
  it('sends now what is due, past, or due within a second', () => {
    expect(planSend(later(-86_400_000), NOW)).toEqual({ kind: 'now' });
    expect(planSend(NOW, NOW)).toEqual({ kind: 'now' });
    expect(planSend(later(DUE_WITHIN_MS), NOW)).toEqual({ kind: 'now' });
  });

  it('delays on the queue, rounded up to the second, up to 15 minutes', () => {
    expect(planSend(later(1_001), NOW)).toEqual({ kind: 'delay', delaySeconds: 2 });
    expect(planSend(later(3_000), NOW)).toEqual({ kind: 'delay', delaySeconds: 3 });
    expect(planSend(later(MAX_QUEUE_DELAY_SECONDS * 1000), NOW)).toEqual({ kind: 'delay', delaySeconds: 900 });
  });

  it('schedules anything later with a UTC at() expression never earlier than sendAt', () => {
    expect(planSend(later(900_001), NOW)).toEqual({ kind: 'schedule', expression: 'at(2026-03-02T10:15:01)' });
    expect(planSend(new Date('2026-12-24T18:00:00.000Z'), NOW)).toEqual({ kind: 'schedule', expression: 'at(2026-12-24T18:00:00)' });
    expect(atExpression(new Date('2026-12-24T18:00:00.001Z'))).toBe('at(2026-12-24T18:00:01)');
  });

  it('never holds a request past its time, and never sends it more than a second early', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000_000, max: 400 * 86_400_000 }), (offset) => {
        const sendAt = later(offset);
        const plan = planSend(sendAt, NOW);
        if (plan.kind === 'now') return offset <= DUE_WITHIN_MS;
        if (plan.kind === 'delay') return plan.delaySeconds * 1000 >= offset && plan.delaySeconds * 1000 < offset + 1000 && plan.delaySeconds <= 900;
        const at = Date.parse(`${plan.expression.slice(3, -1)}Z`);
        return offset > 900_000 && at >= sendAt.getTime() && at < sendAt.getTime() + 1000;
      }),
    );
  });
});

describe('scheduleNameFor', () => {
  it('keeps ids that are valid schedule names without dots', () => {
    expect(scheduleNameFor('order-42_confirmation')).toBe('order-42_confirmation');
    expect(scheduleNameFor('email-0d1f9c2e-7a7b-4b8e-9a55-2b0c2b8a1f00')).toBe('email-0d1f9c2e-7a7b-4b8e-9a55-2b0c2b8a1f00');
  });

  it('hashes ids with other characters or over 64 characters, keeping a readable prefix', () => {
    const name = scheduleNameFor('order/42 ✓');
    expect(name).toMatch(/^order_42_\.[0-9a-f]{40}$/);
    expect(scheduleNameFor('x'.repeat(65))).toMatch(/^x{22}\.[0-9a-f]{40}$/);
    expect(scheduleNameFor('a.b')).not.toBe('a.b');
  });

  it('always gives a valid, stable name, distinct for distinct ids', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128 }), fc.string({ minLength: 1, maxLength: 128 }), (a, b) => {
        expect(scheduleNameFor(a)).toMatch(SCHEDULE_NAME_PATTERN);
        expect(scheduleNameFor(a)).toBe(scheduleNameFor(a));
        if (a !== b) expect(scheduleNameFor(a)).not.toBe(scheduleNameFor(b));
      }),
    );
  });
});

describe('sendAt in request validation', () => {
  it('is normalised to UTC and kept out of the stored request', () => {
    const parsed = parseSendRequest(request('2026-03-02T12:00:00+01:00'), 'm-1', NOW);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.request.sendAt).toBe('2026-03-02T11:00:00.000Z');
    expect(parsed.request.stored).not.toHaveProperty('sendAt');
  });

  it('is absent when the request has none (or null)', () => {
    const parsed = parseSendRequest(request(null), 'm-1', NOW);
    expect(parsed.ok && parsed.request.sendAt).toBeUndefined();
  });

  it.each([
    ['2026-03-02 12:00', 'VAL010'],
    ['2026-03-02T12:00:00', 'VAL010'],
    ['2026-02-30T12:00:00Z', 'VAL010'],
  ])('refuses %s with %s, tracked under the caller\'s emailId', (sendAt, code) => {
    const parsed = parseSendRequest(request(sendAt), 'm-1', NOW);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.failure).toMatchObject({ code, emailId: 'sch-1' });
    expect(parsed.failure.message).toContain('sendAt');
  });

  it('refuses a non-string sendAt as the wrong type', () => {
    const parsed = parseSendRequest(request(1772357400), 'm-1', NOW);
    expect(!parsed.ok && parsed.failure.code).toBe('VAL006');
  });

  it('accepts up to 365 days ahead and refuses later (VAL011)', () => {
    expect(parseSendRequest(request('2027-03-02T10:00:00Z'), 'm-1', NOW).ok).toBe(true);
    const parsed = parseSendRequest(request('2027-03-02T10:00:01Z'), 'm-1', NOW);
    expect(!parsed.ok && parsed.failure.code).toBe('VAL011');
  });

  it('ignores sendAt on the engine\'s own soft-bounce retries', () => {
    const body = JSON.stringify({
      id: 'r-1',
      source: 'sesmailengine',
      'detail-type': 'Email Retry',
      detail: { to: 'ann@example.com', templateName: 'welcome', emailId: 'email-r', originalEmailId: 'o', retryAttempt: 1, sendAt: 'garbage' },
    });
    const parsed = parseSendRequest(body, 'm-1', NOW);
    expect(parsed.ok && parsed.request.sendAt).toBeUndefined();
  });
});

describe('the scheduled status', () => {
  it('ranks above the claim and below sent', () => {
    expect(statusRank('scheduled')).toBeGreaterThan(statusRank('sending'));
    expect(statusRank('scheduled')).toBeLessThan(statusRank('sent'));
  });
});
