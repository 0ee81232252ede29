import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ERROR_CODES } from '../../functions/core/error-codes.js';
import {
  MISSING_VALUE,
  REQUEST_LIMITS,
  parseSendRequest,
  type InvalidRequest,
  type ValidRequest,
} from '../../functions/core/request-validation.js';

const EVENT_ID = '6a7e8feb-b491-4cf7-a9f1-bf3703467718';
const SQS_ID = '059f36b4-87a3-44ab-83d2-661975830a7d';

function event(detail: unknown, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: '0',
    id: EVENT_ID,
    'detail-type': 'Email Request',
    source: 'my.application',
    account: '111122223333',
    time: '2026-03-01T10:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...overrides,
  });
}

const base = { to: 'user@example.com', templateName: 'welcome', templateData: { userName: 'Ann' } };

function valid(body: string): ValidRequest {
  const result = parseSendRequest(body, SQS_ID);
  if (!result.ok) throw new Error(`expected a valid request, got ${result.failure.code}: ${result.failure.message}`);
  return result.request;
}

function invalid(body: string): InvalidRequest {
  const result = parseSendRequest(body, SQS_ID);
  if (result.ok) throw new Error('expected a validation failure');
  return result.failure;
}

describe('a valid request', () => {
  it('gets the default emailId email-<event id> and the event source', () => {
    const request = valid(event(base));
    expect(request.emailId).toBe(`email-${EVENT_ID}`);
    expect(request.originalEmailId).toBe(request.emailId);
    expect(request.retryAttempt).toBe(0);
    expect(request.source).toBe('my.application');
    expect(request.to.address).toBe('user@example.com');
    expect(request.templateName).toBe('welcome');
    expect(request.templateData).toEqual({ userName: 'Ann' });
  });

  it("keeps the caller's emailId", () => {
    expect(valid(event({ ...base, emailId: 'order-42/confirmation' })).emailId).toBe('order-42/confirmation');
  });

  it('reads every optional field', () => {
    const request = valid(
      event({
        ...base,
        subject: 'Hello there',
        senderOverride: { email: 'sales@shop.example', name: 'Sales Team' },
        replyTo: 'support@shop.example',
        metadata: { campaignId: 'c-1' },
        unsubscribe: true,
      }),
    );
    expect(request.subject).toBe('Hello there');
    expect(request.senderOverride?.address.address).toBe('sales@shop.example');
    expect(request.senderOverride?.name).toBe('Sales Team');
    expect(request.replyTo?.address).toBe('support@shop.example');
    expect(request.metadata).toEqual({ campaignId: 'c-1' });
    expect(request.unsubscribe).toBe(true);
  });

  it('stores the request as written for a later retry, without the emailId', () => {
    const request = valid(event({ ...base, emailId: 'x-1', to: ' Ann@Bücher.de ', replyTo: 'r@münchen.de' }));
    expect(request.stored).toEqual({ to: 'Ann@Bücher.de', templateName: 'welcome', templateData: { userName: 'Ann' }, replyTo: 'r@xn--mnchen-3ya.de' });
  });

  it('treats null optional fields as absent', () => {
    const request = valid(
      event({ ...base, templateData: null, subject: null, senderOverride: null, replyTo: null, metadata: null, unsubscribe: null, emailId: null }),
    );
    expect(request.templateData).toEqual({});
    expect(request.subject).toBeUndefined();
    expect(request.senderOverride).toBeUndefined();
    expect(request.emailId).toBe(`email-${EVENT_ID}`);
  });

  it('treats an empty subject or replyTo as not given', () => {
    const request = valid(event({ ...base, subject: '  ', replyTo: '' }));
    expect(request.subject).toBeUndefined();
    expect(request.replyTo).toBeUndefined();
  });

  it('converts an IDN recipient domain to punycode and keeps a lower-cased form for lookups', () => {
    const request = valid(event({ ...base, to: 'Kunde+News@Bücher.de' }));
    expect(request.to.address).toBe('Kunde+News@xn--bcher-kva.de');
    expect(request.to.normalized).toBe('kunde+news@xn--bcher-kva.de');
  });

  it('ignores unknown fields', () => {
    expect(valid(event({ ...base, priority: 'high', cc: ['x@y.com'] })).to.address).toBe('user@example.com');
  });

  it('uses the SQS message id when the event has no id', () => {
    const body = JSON.stringify({ 'detail-type': 'Email Request', source: 'app', detail: base });
    expect(valid(body).emailId).toBe(`email-${SQS_ID}`);
  });

  it('accepts values exactly at the limits', () => {
    const request = valid(
      event({
        ...base,
        emailId: 'e'.repeat(REQUEST_LIMITS.emailIdLength),
        subject: 's'.repeat(REQUEST_LIMITS.subjectLength),
        templateName: `a${'b'.repeat(63)}`,
        templateData: { blob: 'x'.repeat(REQUEST_LIMITS.templateDataBytes - 11) },
        metadata: { blob: 'x'.repeat(REQUEST_LIMITS.metadataBytes - 11) },
      }),
    );
    expect(request.subject).toHaveLength(998);
  });
});

describe('soft-bounce retries', () => {
  const retry = (overrides: Record<string, unknown> = {}, envelope: Record<string, unknown> = {}) =>
    event(
      { ...base, emailId: 'email-retry-1', originalEmailId: 'order-42', retryAttempt: 1, ...overrides },
      { source: 'sesmailengine', 'detail-type': 'Email Retry', ...envelope },
    );

  it('honours originalEmailId and retryAttempt from the engine itself', () => {
    const request = valid(retry());
    expect(request.emailId).toBe('email-retry-1');
    expect(request.originalEmailId).toBe('order-42');
    expect(request.retryAttempt).toBe(1);
  });

  it("keeps the publisher's source that the retry carries as originalSource", () => {
    expect(valid(retry({ originalSource: 'my.application' })).source).toBe('my.application');
    expect(valid(retry()).source).toBe('sesmailengine');
  });

  it('ignores originalSource on requests that are not engine retries', () => {
    expect(valid(retry({ originalSource: 'spoofed' }, { source: 'my.application' })).source).toBe('my.application');
  });

  it('ignores them from any other source', () => {
    const request = valid(retry({}, { source: 'my.application' }));
    expect(request.originalEmailId).toBe('email-retry-1');
    expect(request.retryAttempt).toBe(0);
  });

  it('ignores them on an ordinary Email Request even from the engine source', () => {
    const request = valid(retry({}, { 'detail-type': 'Email Request' }));
    expect(request.retryAttempt).toBe(0);
  });

  it.each([
    [{ originalEmailId: undefined }, 'VAL008'],
    [{ originalEmailId: 'bad\nid' }, 'VAL008'],
    [{ retryAttempt: 0 }, 'VAL006'],
    [{ retryAttempt: 1.5 }, 'VAL006'],
    [{ retryAttempt: '1' }, 'VAL006'],
    [{ retryAttempt: 11 }, 'VAL006'],
  ])('refuses a retry with %j as %s', (overrides, code) => {
    expect(invalid(retry(overrides)).code).toBe(code);
  });
});

describe('envelope failures (VAL001) are tracked under email-<sqs message id>', () => {
  it.each([
    ['not JSON', 'hello'],
    ['truncated JSON', '{"detail": {"to": "a@b.com"'],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['a JSON string', '"Email Request"'],
    ['no detail', JSON.stringify({ id: EVENT_ID, 'detail-type': 'Email Request', source: 'app' })],
    ['a string detail', event(JSON.stringify(base))],
    ['another detail-type', event(base, { 'detail-type': 'Email Status Changed' })],
    ['no detail-type', JSON.stringify({ id: EVENT_ID, source: 'app', detail: base })],
  ])('%s', (_label, body) => {
    const failure = invalid(body);
    expect(failure.code).toBe('VAL001');
    expect(failure.toEmail).toBe(MISSING_VALUE);
    expect(failure.templateName).toBe(MISSING_VALUE);
    expect(failure.emailId).toBe(`email-${SQS_ID}`);
  });
});

describe('field failures', () => {
  it.each([
    ['to missing', { templateName: 'welcome' }, 'VAL002'],
    ['to empty', { ...base, to: '' }, 'VAL002'],
    ['templateName missing', { to: 'user@example.com' }, 'VAL002'],
    ['to as a list', { ...base, to: ['a@example.com', 'b@example.com'] }, 'VAL006'],
    ['to as a number', { ...base, to: 42 }, 'VAL006'],
    ['templateName as an object', { ...base, templateName: { name: 'welcome' } }, 'VAL006'],
    ['templateData as an array', { ...base, templateData: [1, 2] }, 'VAL006'],
    ['templateData as a string', { ...base, templateData: '{"userName":"x"}' }, 'VAL006'],
    ['emailId as a number', { ...base, emailId: 42 }, 'VAL006'],
    ['subject as a number', { ...base, subject: 7 }, 'VAL006'],
    ['senderOverride as a string', { ...base, senderOverride: 'Sales <sales@example.com>' }, 'VAL006'],
    ['senderOverride without email', { ...base, senderOverride: { name: 'Sales' } }, 'VAL002'],
    ['senderOverride.name as a number', { ...base, senderOverride: { email: 's@example.com', name: 5 } }, 'VAL006'],
    ['replyTo as a list', { ...base, replyTo: ['a@example.com'] }, 'VAL006'],
    ['metadata as a string', { ...base, metadata: 'campaign' }, 'VAL006'],
    ['unsubscribe as a string', { ...base, unsubscribe: 'yes' }, 'VAL006'],
    ['an invalid recipient', { ...base, to: 'not-an-address' }, 'VAL003'],
    ['a recipient with a display name', { ...base, to: 'Ann <ann@example.com>' }, 'VAL003'],
    ['a quoted local part', { ...base, to: '"ann"@example.com' }, 'VAL003'],
    ['a non-ASCII local part', { ...base, to: 'jörg@example.com' }, 'VAL003'],
    ['path traversal in templateName', { ...base, templateName: '../../etc/passwd' }, 'VAL004'],
    ['a slash in templateName', { ...base, templateName: 'newsletters/may' }, 'VAL004'],
    ['a dot in templateName', { ...base, templateName: 'welcome.html' }, 'VAL004'],
    ['a leading dash in templateName', { ...base, templateName: '-welcome' }, 'VAL004'],
    ['a 65-character templateName', { ...base, templateName: 'a'.repeat(65) }, 'VAL004'],
    ['a space in templateName', { ...base, templateName: 'wel come' }, 'VAL004'],
    ['CRLF in to', { ...base, to: 'user@example.com\r\nBcc: victim@example.com' }, 'VAL005'],
    ['CRLF in subject', { ...base, subject: 'Hi\r\nBcc: victim@example.com' }, 'VAL005'],
    ['LF in subject', { ...base, subject: 'Hi\nthere' }, 'VAL005'],
    ['NUL in subject', { ...base, subject: 'Hi\u0000' }, 'VAL005'],
    ['CR in sender name', { ...base, senderOverride: { email: 's@example.com', name: 'Sales\rBcc: x@y.com' } }, 'VAL005'],
    ['LF in sender email', { ...base, senderOverride: { email: 's@example.com\nBcc: x@y.com' } }, 'VAL005'],
    ['LF in replyTo', { ...base, replyTo: 'r@example.com\nBcc: x@y.com' }, 'VAL005'],
    ['a lone high surrogate in subject', { ...base, subject: 'Hi \ud83d there' }, 'VAL005'],
    ['a lone low surrogate in sender name', { ...base, senderOverride: { email: 's@example.com', name: 'Sales \ude00' } }, 'VAL005'],
    ['a reversed surrogate pair in subject', { ...base, subject: '\ude00\ud83d' }, 'VAL005'],
    ['a 999-character subject', { ...base, subject: 's'.repeat(999) }, 'VAL007'],
    ['oversized templateData', { ...base, templateData: { blob: 'x'.repeat(128 * 1024) } }, 'VAL007'],
    ['oversized metadata', { ...base, metadata: { blob: 'x'.repeat(8 * 1024) } }, 'VAL007'],
    ['templateData nested 17 levels deep', { ...base, templateData: JSON.parse('{"a":'.repeat(17) + '1' + '}'.repeat(17)) }, 'VAL007'],
    ['metadata nested 17 levels deep', { ...base, metadata: JSON.parse('{"a":'.repeat(16) + '[1]' + '}'.repeat(16)) }, 'VAL007'],
    ['a 257-character sender name', { ...base, senderOverride: { email: 's@example.com', name: 'n'.repeat(257) } }, 'VAL007'],
    ['an empty emailId', { ...base, emailId: '' }, 'VAL008'],
    ['a 129-character emailId', { ...base, emailId: 'e'.repeat(129) }, 'VAL008'],
    ['a control character in emailId', { ...base, emailId: 'id\u0007' }, 'VAL008'],
    ['an invalid sender address', { ...base, senderOverride: { email: 'sales' } }, 'VAL009'],
    ['an invalid replyTo', { ...base, replyTo: 'support at example.com' }, 'VAL009'],
  ])('%s → %s', (_label, detail, code) => {
    const failure = invalid(event(detail));
    expect(failure.code).toBe(code);
    expect(failure.message.length).toBeGreaterThan(10);
  });

  it('accepts whole surrogate pairs (emoji, rare scripts) in headers', () => {
    const request = valid(event({ ...base, subject: 'Thanks 😀 𝒜', senderOverride: { email: 's@example.com', name: 'Team 🚀' } }));
    expect(JSON.stringify(request)).toContain('Thanks 😀 𝒜');
  });

  describe('hostile JSON that only raw text can carry', () => {
    const raw = (detail: string) => `{"id":"${EVENT_ID}","detail-type":"Email Request","source":"my.application","detail":${detail}}`;
    const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const fields = '"emailId":"hostile-1","to":"user@example.com","templateName":"welcome"';

    it.each([
      ['templateData', 8000],
      ['metadata', 5000],
      ['senderOverride', 8000],
    ])('%s nested %i levels deep is a tracked failure, not a thrown error', (field, levels) => {
      const failure = invalid(raw(`{${fields},"${field}":${deep(levels)}}`));
      expect(failure.code).toBe(field === 'senderOverride' ? 'VAL002' : 'VAL007');
      expect(failure.emailId).toBe('hostile-1');
      expect(failure.metadata).toBeUndefined();
    });

    it.each([
      ['templateData', '{"__proto__":{"userName":"A"}}', 'templateData.__proto__'],
      ['templateData', '{"userName":"A","items":[{"__proto__":{"x":1}}]}', 'templateData.items[0].__proto__'],
      ['metadata', '{"campaign":{"__proto__":{"isAdmin":true}}}', 'metadata.campaign.__proto__'],
    ])('a "__proto__" key in %s is refused (VAL006), naming where', (field, value, path) => {
      const failure = invalid(raw(`{${fields},"${field}":${value}}`));
      expect(failure.code).toBe('VAL006');
      expect(failure.message).toContain(path);
      expect(failure.metadata).toBeUndefined();
    });

    it.each([
      ['templateData', '{"userName":"A\\ud800"}', 'templateData.userName'],
      ['templateData', '{"items":[{"name":"\\udfffx"}]}', 'templateData.items[0].name'],
      ['templateData', '{"k\\ud800":1}', 'templateData.k\ufffd (the key)'],
      ['metadata', '{"campaign":["ok","\\ud83d"]}', 'metadata.campaign[1]'],
    ])('a lone surrogate in %s is refused (VAL012), naming where', (field, value, path) => {
      const failure = invalid(raw(`{${fields},"${field}":${value}}`));
      expect(failure.code).toBe('VAL012');
      expect(failure.message).toContain(path);
      expect(failure.metadata).toBeUndefined();
    });

    it('accepts surrogate pairs (emoji) in templateData and metadata', () => {
      const request = valid(raw(`{${fields},"templateData":{"userName":"\\ud83d\\ude00"},"metadata":{"\\ud83d\\ude00":"\\ud83d\\ude00"}}`));
      expect(request.templateData.userName).toBe('\u{1F600}');
    });

    it('keeps the stored text of a failed request well-formed', () => {
      const failure = invalid(raw(`{"emailId":"hostile-2","to":"a\\ud800@example.com","templateName":"welcome","subject":"${'x'.repeat(997)}\\ud83d\\ude00"}`));
      expect(failure.code).toBe('VAL005');
      expect(failure.toEmail).toBe('a\ufffd@example.com');
      // Cut at 998 characters, between the halves of the emoji: the half left is replaced.
      expect(failure.subject).toBe(`${'x'.repeat(997)}\ufffd`);
    });

    it('accepts keys named constructor and prototype, which are stored like any other', () => {
      const request = valid(raw(`{${fields},"templateData":{"constructor":"x","prototype":{"a":1}},"metadata":{"constructor":1}}`));
      expect(Object.keys(request.templateData)).toEqual(['constructor', 'prototype']);
    });
  });

  it("tracks a failure under the caller's emailId when that one is valid", () => {
    const failure = invalid(event({ ...base, emailId: 'order-42', to: 'nope' }));
    expect(failure.emailId).toBe('order-42');
    expect(failure.originalEmailId).toBe('order-42');
  });

  it('tracks a failure under email-<event id> when the emailId itself is the problem', () => {
    expect(invalid(event({ ...base, emailId: '' })).emailId).toBe(`email-${EVENT_ID}`);
  });

  it('keeps what it can of the request, made safe to store', () => {
    const failure = invalid(
      event({ ...base, to: 'Ann@Example.com\r\nBcc: x@y.com', templateName: '../x', subject: 'S', metadata: { k: 1 } }),
    );
    expect(failure.toEmail).toBe('ann@example.com  bcc: x@y.com');
    expect(failure.templateName).toBe('../x');
    expect(failure.subject).toBe('S');
    expect(failure.metadata).toEqual({ k: 1 });
    expect(failure.source).toBe('my.application');
  });

  it('bounds what it keeps of oversized values', () => {
    const failure = invalid(event({ ...base, to: 'x'.repeat(5000), metadata: { blob: 'x'.repeat(9000) } }));
    expect(failure.toEmail.length).toBeLessThanOrEqual(320);
    expect(failure.metadata).toBeUndefined();
  });

  it('names the field in the message', () => {
    expect(invalid(event({ ...base, senderOverride: { email: 'sales' } })).message).toMatch(/^senderOverride\.email "sales"/);
    expect(invalid(event({ ...base, templateData: [1] })).message).toBe('templateData must be an object, got an array.');
  });
});

describe('fuzzed input', () => {
  const codes = new Set(Object.keys(ERROR_CODES));
  const checkOutcome = (body: string) => {
    const result = parseSendRequest(body, SQS_ID);
    if (result.ok) return;
    const { failure } = result;
    expect(codes.has(failure.code)).toBe(true);
    expect(failure.code).toMatch(/^VAL00\d$/);
    expect(failure.emailId.length).toBeGreaterThan(0);
    expect(failure.emailId.length).toBeLessThanOrEqual(140);
    expect(failure.toEmail.length).toBeGreaterThan(0);
    expect(failure.toEmail.length).toBeLessThanOrEqual(320);
    expect(failure.templateName.length).toBeGreaterThan(0);
    expect(failure.templateName.length).toBeLessThanOrEqual(128);
  };

  it('never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), checkOutcome), { numRuns: 500 });
  });

  it('never throws on arbitrary JSON values as the body or as the detail', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      checkOutcome(JSON.stringify(value));
      checkOutcome(event(value));
    }), { numRuns: 500 });
  });

  it('never throws when any field of a request is replaced by anything', () => {
    const field = fc.constantFrom('to', 'templateName', 'templateData', 'emailId', 'subject', 'senderOverride', 'replyTo', 'metadata', 'unsubscribe');
    const anything = fc.oneof(fc.jsonValue(), fc.string({ unit: 'binary' }), fc.constantFrom('\r\n', '../', 'a@b.com\nBcc: c@d.com'));
    fc.assert(fc.property(fc.dictionary(field, anything), (fields) => checkOutcome(event({ ...base, ...fields }))), { numRuns: 1000 });
  });

  it('accepts every well-formed request it generates', () => {
    const atom = fc.stringMatching(/^[a-z0-9+_-]{1,20}$/);
    const request = fc.record({
      to: fc.tuple(atom, fc.stringMatching(/^[a-wyz][a-z0-9]{0,20}$/), fc.constantFrom('com', 'de', 'io', 'co.uk')).map(([l, d, t]) => `${l}@${d}.${t}`),
      templateName: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/),
      // fast-check likes to try "__proto__" as a key; such a key is refused (VAL006, see above).
      templateData: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 }).filter((data) => !JSON.stringify(data).includes('"__proto__":')),
      subject: fc.stringMatching(/^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]{1,100}$/),
    });
    fc.assert(fc.property(request, (detail) => {
      const result = parseSendRequest(event(detail), SQS_ID);
      expect(result.ok).toBe(true);
    }), { numRuns: 300 });
  });
});
