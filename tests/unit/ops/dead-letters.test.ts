import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeDeadLetter, withLastError } from '../../../src/ops/dead-letters.js';
import type { PeekedMessage } from '../../../src/ops/queues.js';

/** Why a message sits in a DLQ, read from its body and attributes. */

const FIXTURES = join(process.cwd(), 'tests', 'fixtures', 'aws', 'event-publishing-sns');

function message(body: unknown, attributes: Record<string, string> = {}, receiveCount = 10): PeekedMessage {
  return { messageId: 'm-1', body: typeof body === 'string' ? body : JSON.stringify(body), receiveCount, sentAt: '2026-03-01T10:00:00.000Z', attributes };
}

function requestEvent(detail: Record<string, unknown>, source = 'my.app', detailType = 'Email Request') {
  return { version: '0', id: 'ev-1', source, 'detail-type': detailType, time: '2026-03-01T10:00:00Z', detail };
}

function sesEvent(fixture: string, tags: Record<string, string[]> = {}) {
  const detail = JSON.parse(readFileSync(join(FIXTURES, fixture), 'utf8')) as { mail: { tags?: Record<string, string[]> } };
  detail.mail.tags = { ...(detail.mail.tags ?? {}), ...tags };
  return { version: '0', id: 'ev-2', source: 'aws.ses', 'detail-type': 'Email Bounced', time: '2026-03-01T10:00:00Z', detail };
}

describe('describeDeadLetter', () => {
  it('reads a valid request in the send DLQ and blames repeated processing failures', () => {
    const info = describeDeadLetter('send', message(requestEvent({ emailId: 'order-1', to: 'Jamie@Example.com', templateName: 'welcome' })));
    expect(info).toMatchObject({ kind: 'email-request', emailId: 'order-1', to: 'Jamie@example.com', templateName: 'welcome', validation: { ok: true }, source: 'my.app' });
    expect(info.why).toContain('returned to the queue 10 times');
    expect(info.why).toContain('emailId order-1');
  });

  it('gives a request without emailId the id the Email Sender would use', () => {
    expect(describeDeadLetter('send', message(requestEvent({ to: 'a@example.com', templateName: 'welcome' }))).emailId).toBe('email-ev-1');
  });

  it('re-validates an invalid request and says so', () => {
    const info = describeDeadLetter('send', message(requestEvent({ emailId: 'x', to: 'not an address', templateName: 'welcome' })));
    expect(info.validation).toEqual({ ok: false, code: 'VAL003', message: expect.any(String) });
    expect(info.why).toMatch(/^The request is invalid \(VAL003/);
  });

  it('recognises the engine\'s soft-bounce retries', () => {
    const body = requestEvent({ emailId: 'email-r', originalEmailId: 'order-1', retryAttempt: 1, to: 'a@example.com', templateName: 'welcome' }, 'sesmailengine', 'Email Retry');
    expect(describeDeadLetter('send', message(body))).toMatchObject({ kind: 'email-retry', emailId: 'email-r' });
  });

  it('reads an SES event in the feedback DLQ: type, SES message id and the emailId tag', () => {
    const info = describeDeadLetter('feedback', message(sesEvent('bounce-permanent-general.json', { emailId: ['order-9'] }), {}, 5));
    expect(info).toMatchObject({
      kind: 'ses-event',
      sesEventType: 'Bounce',
      sesMessageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
      emailId: 'order-9',
      to: 'recipient@example.com',
    });
    expect(info.why).toContain('record order-9 was not updated');
  });

  it("uses EventBridge's error attributes in the event-delivery DLQ", () => {
    const info = describeDeadLetter(
      'events',
      message(requestEvent({ emailId: 'order-2', to: 'a@example.com', templateName: 'welcome' }), {
        ERROR_CODE: 'NO_PERMISSIONS',
        ERROR_MESSAGE: 'Access to the queue was denied',
        RULE_ARN: 'arn:aws:events:eu-west-1:1:rule/sesmailengine-EmailBus/sesmailengine-send',
        TARGET_ARN: 'arn:aws:sqs:eu-west-1:1:sesmailengine-send',
      }),
    );
    expect(info.deliveryError).toEqual({
      code: 'NO_PERMISSIONS',
      message: 'Access to the queue was denied',
      rule: 'arn:aws:events:eu-west-1:1:rule/sesmailengine-EmailBus/sesmailengine-send',
      target: 'arn:aws:sqs:eu-west-1:1:sesmailengine-send',
    });
    expect(info.why).toBe(
      'EventBridge could not deliver this email request to sesmailengine-send (NO_PERMISSIONS: Access to the queue was denied). EventBridge may not send to the queue: its queue policy (or KMS key policy) was changed. Re-run sesmailengine install to restore it.',
    );
  });

  it('says what a redrive does with an unreadable body in each queue', () => {
    expect(describeDeadLetter('send', message('not json')).why).toContain('VAL001');
    expect(describeDeadLetter('feedback', message('not json')).why).toContain('FBK004');
    expect(describeDeadLetter('send', message('not json')).kind).toBe('unreadable');
  });
});

describe('withLastError', () => {
  const note = { messageId: 'm-1', emailId: 'order-1', reason: 'TypeError: x is not a function', receiveCount: 10, at: '2026-03-01T11:00:00.000Z' };

  it("replaces the guess with the Email Sender's own last error for a send dead letter", () => {
    const info = withLastError(describeDeadLetter('send', message(requestEvent({ emailId: 'order-1', to: 'a@example.com', templateName: 'welcome' }))), note);
    expect(info.lastError).toEqual({ reason: 'TypeError: x is not a function', receiveCount: 10, at: '2026-03-01T11:00:00.000Z' });
    expect(info.why).toBe('The Email Sender returned it to the queue until its receives ran out; its last error (receive 10, 2026-03-01T11:00:00.000Z): TypeError: x is not a function. Fix that cause, then redrive.');
  });

  it('leaves a message without a note, or from another DLQ, as it was', () => {
    const info = describeDeadLetter('send', message(requestEvent({ emailId: 'order-1', to: 'a@example.com', templateName: 'welcome' })));
    expect(withLastError(info, undefined)).toBe(info);
    const feedback = describeDeadLetter('feedback', message('not json'));
    expect(withLastError(feedback, note)).toBe(feedback);
  });
});
