import { describe, expect, it, jest } from '@jest/globals';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { humanLine, InFlightRequests, jsonLine, NO_COLORS, requestLogEntry, type LineColors } from '../../../src/local/request-log.js';
import { LineWriter } from '../../../src/local/line-writer.js';
import { logFormatFrom } from '../../../src/commands/local.js';

const NOW = Date.parse('2026-05-04T12:03:07.415Z');
const context = () => ({ to: 'ada@example.com', template: 'invoice', arrivedAt: NOW - 41 });

function record(messageId: string, detail: Record<string, unknown>, sentAt = NOW - 100): SQSRecord {
  return { messageId, body: JSON.stringify({ detail }), attributes: { SentTimestamp: String(sentAt) } } as unknown as SQSRecord;
}

describe('local mode log entries', () => {
  it('completes an Email Sender outcome with the request recipient, template and time since arrival', () => {
    const entry = requestLogEntry(
      'email-sender',
      { level: 'warn', outcome: 'failed', emailId: 'order-7', errorCode: 'TMPL001', errorMessage: 'Template "invoce" does not exist.', messageId: 'm-1' },
      NOW,
      context,
    );

    expect(entry).toEqual({
      time: '2026-05-04T12:03:07.415Z',
      level: 'warn',
      component: 'email-sender',
      event: 'request',
      emailId: 'order-7',
      to: 'ada@example.com',
      template: 'invoice',
      status: 'failed',
      errorCode: 'TMPL001',
      ms: 41,
      message: 'Template "invoce" does not exist.',
    });
  });

  it('keeps an outcome whose request is unknown, without the fields it cannot know', () => {
    const entry = requestLogEntry('email-sender', { level: 'info', outcome: 'sent', emailId: 'e-1', messageId: 'gone' }, NOW);

    expect(entry).toEqual({ time: '2026-05-04T12:03:07.415Z', level: 'info', component: 'email-sender', event: 'request', emailId: 'e-1', status: 'sent' });
  });

  it('drops debug entries and shows every other entry', () => {
    expect(requestLogEntry('feedback-processor', { level: 'debug', message: 'Feedback applied', outcome: 'updated' }, NOW)).toBeUndefined();
    expect(requestLogEntry('feedback-processor', { level: 'info', message: 'Address suppressed', email: 'b@x.com', emailId: 'b-1' }, NOW)).toMatchObject({
      event: 'log',
      message: 'Address suppressed',
      emailId: 'b-1',
      details: { email: 'b@x.com' },
    });
  });

  it('names a soft-bounce retry and a webhook attempt', () => {
    expect(
      requestLogEntry('feedback-processor', { level: 'info', message: 'Soft-bounce retry queued', emailId: 's-1', retryEmailId: 'email-abc', delaySeconds: 5 }, NOW),
    ).toMatchObject({ event: 'retry', status: 'queued', emailId: 's-1', retryEmailId: 'email-abc', delaySeconds: 5 });
    expect(
      requestLogEntry(
        'webhook-delivery',
        { level: 'warn', code: 'WHK003', message: 'Webhook delivery failed; it will be tried again', webhookId: 'w', type: 'email.bounced', emailId: 'b-1', attempt: 2, detail: 'No answer within 10 s.', nextAttemptInSeconds: 60 },
        NOW,
      ),
    ).toMatchObject({ event: 'webhook', status: 'failed', errorCode: 'WHK003', message: 'No answer within 10 s.', attempt: 2, nextAttemptInSeconds: 60, webhookType: 'email.bounced' });
    expect(requestLogEntry('webhook-delivery', { level: 'info', message: 'Webhook delivered', webhookId: 'w', type: 'email.delivered', emailId: 'd-1', attempt: 1, status: 204 }, NOW)).toMatchObject({
      event: 'webhook',
      status: 'delivered',
      httpStatus: 204,
    });
  });

  it('says why a webhook was refused (WHK004: a status change the engine did not sign)', () => {
    const entry = requestLogEntry(
      'webhook-delivery',
      { level: 'error', code: 'WHK004', message: 'Webhook not sent: the event was not published by the engine (no engineSignature)', webhookId: 'w', detailType: 'Email Status Changed', emailId: 'forged-1', messageId: 'm' },
      NOW,
    )!;

    expect(entry).toMatchObject({ event: 'webhook', status: 'failed', errorCode: 'WHK004', message: expect.stringContaining('no engineSignature') });
    expect(humanLine(entry, NO_COLORS)).toContain('WHK004 - forged-1 (Webhook not sent: the event was not published by the engine (no engineSignature))');
  });
});

describe('local mode log lines', () => {
  const failed = requestLogEntry('email-sender', { level: 'warn', outcome: 'failed', emailId: 'order-7', errorCode: 'TMPL001', errorMessage: 'No template.', messageId: 'm' }, NOW, context)!;

  it('prints one short human line: time, status, emailId, to, template, error code, ms', () => {
    const line = humanLine(failed);

    expect(line).toMatch(/^\d\d:\d\d:\d\d\.415 failed {4}order-7 ada@example\.com invoice TMPL001 No template\. 41 ms$/);
  });

  it('prints JSON lines that parse back to the entry', () => {
    expect(JSON.parse(jsonLine(failed))).toEqual(failed);
    expect(jsonLine(failed)).not.toContain('\n');
  });

  it('shows a publisher control character as ? so a request cannot forge a line or a colour', () => {
    const entry = requestLogEntry('email-sender', { level: 'info', outcome: 'sent', emailId: 'x\n12:00:00.000 sent fake', messageId: 'm' }, NOW, () => ({
      to: 'a\u001b[31m@example.com',
    }))!;

    const line = humanLine(entry);

    expect(line).not.toMatch(/[\n\u001b]/);
    expect(line).toContain('a?[31m@example.com');
  });

  it('shows a bidirectional override or a line separator as ? so a request cannot reorder or split a line', () => {
    // emailId and to pass the engine's validation: these are not control characters.
    const entry = requestLogEntry('email-sender', { level: 'info', outcome: 'sent', emailId: 'order-7\u202e', messageId: 'm' }, NOW, () => ({
      to: 'a\u2028b\u2066@example.com',
    }))!;

    const line = humanLine(entry);

    expect(line).not.toMatch(/[\u202e\u2028\u2066]/);
    expect(line).toContain('order-7? a?b?@example.com');
  });

  it('colours the status by outcome', () => {
    const tag = (name: string) => (text: string) => `<${name}>${text}</${name}>`;
    const colors: LineColors = { green: tag('g'), red: tag('r'), yellow: tag('y'), cyan: tag('c'), dim: (t) => t };

    expect(humanLine(failed, colors)).toContain('<r>failed   </r>');
    expect(humanLine({ ...failed, level: 'info', status: 'sent', errorCode: undefined, message: undefined }, colors)).toContain('<g>sent     </g>');
  });
});

describe('the send queue messages in flight', () => {
  it('knows a message only while its batch runs', async () => {
    const inFlight = new InFlightRequests();
    let during: unknown;
    const handler = inFlight.track(async () => {
      during = inFlight.context('m-1');
      return { batchItemFailures: [] };
    });

    await handler({ Records: [record('m-1', { to: 'ada@example.com', templateName: 'welcome' }, NOW - 5)] } as SQSEvent);

    expect(during).toEqual({ to: 'ada@example.com', template: 'welcome', arrivedAt: NOW - 5 });
    expect(inFlight.context('m-1')).toBeUndefined();
    expect(inFlight.size).toBe(0);
  });
});

describe('the line writer', () => {
  it('holds lines until started, then writes them in one chunk after a short delay', () => {
    jest.useFakeTimers();
    try {
      const writes: string[] = [];
      const writer = new LineWriter((text) => writes.push(text), 50);
      writer.line('a');
      writer.start();
      writer.line('b');
      writer.line('c');
      expect(writes).toEqual(['a\n']);
      jest.advanceTimersByTime(50);
      expect(writes).toEqual(['a\n', 'b\nc\n']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('writes at once when a chunk is full', () => {
    const writes: string[] = [];
    const writer = new LineWriter((text) => writes.push(text), 10_000, 10);
    writer.start();
    writer.line('0123456789');
    expect(writes).toEqual(['0123456789\n']);
  });
});

describe('--quiet and --log-format', () => {
  it('defaults to human lines, takes json, and none with --quiet', () => {
    expect(logFormatFrom({})).toBe('human');
    expect(logFormatFrom({ logFormat: 'json' })).toBe('json');
    expect(logFormatFrom({ quiet: true, logFormat: 'json' })).toBeUndefined();
  });

  it('refuses another format with LOC003', () => {
    expect(() => logFormatFrom({ logFormat: 'yaml' })).toThrow(expect.objectContaining({ code: 'LOC003' }));
  });
});
