import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  ATTACHMENT_CONTENT_TYPES,
  ATTACHMENT_LIMITS,
  base64MimeBytes,
  checkMessageSize,
  parseAttachments,
  resolveAttachmentKey,
  storedAttachments,
} from '../../functions/core/attachments.js';
import { ERROR_CODES } from '../../functions/core/error-codes.js';
import { parseSendRequest } from '../../functions/core/request-validation.js';

const PDF = { s3Key: 'invoices/2026/inv-42.pdf', filename: 'inv-42.pdf', contentType: 'application/pdf' };
const inline = (bytes: Buffer, extra: Record<string, unknown> = {}) => ({
  content: bytes.toString('base64'),
  filename: 'notes.txt',
  contentType: 'text/plain',
  ...extra,
});

function failure(value: unknown, isRetry = false): { code: string; message: string } {
  const result = parseAttachments(value, isRetry);
  if (result.ok) throw new Error('expected a failure');
  return result;
}

function specs(value: unknown) {
  const result = parseAttachments(value);
  if (!result.ok) throw new Error(`expected valid attachments, got ${result.code}: ${result.message}`);
  return result.value;
}

function event(detail: Record<string, unknown>, detailType = 'Email Request', source = 'my.app'): string {
  return JSON.stringify({ id: 'e1', source, 'detail-type': detailType, time: '2026-03-01T10:00:00Z', detail });
}

describe('attachments that are accepted', () => {
  it('resolve an s3Key relative to attachments/, with or without the prefix', () => {
    expect(specs([PDF])).toEqual([{ source: 's3', filename: 'inv-42.pdf', contentType: 'application/pdf', key: 'attachments/invoices/2026/inv-42.pdf' }]);
    expect(specs([{ ...PDF, s3Key: 'attachments/invoices/2026/inv-42.pdf' }])[0]).toMatchObject({ key: 'attachments/invoices/2026/inv-42.pdf' });
  });

  it('decode inline base64 content', () => {
    const [spec] = specs([inline(Buffer.from('hello'))]);
    expect(spec).toEqual({ source: 'inline', filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('hello') });
  });

  it('normalise the content type to lower case and keep non-ASCII filenames', () => {
    const [spec] = specs([{ ...PDF, filename: 'Rechnung März – 42.PDF', contentType: 'Application/PDF' }]);
    expect(spec).toMatchObject({ filename: 'Rechnung März – 42.PDF', contentType: 'application/pdf' });
  });

  it('treat a missing or null list as no attachments', () => {
    expect(specs(undefined)).toEqual([]);
    expect(specs(null)).toEqual([]);
  });

  it('allow up to 10 files', () => {
    expect(specs(Array.from({ length: ATTACHMENT_LIMITS.maxCount }, () => PDF))).toHaveLength(10);
  });

  it('allow every type on the allow-list with its own extension', () => {
    for (const [type, extensions] of Object.entries(ATTACHMENT_CONTENT_TYPES)) {
      for (const extension of extensions) expect(specs([{ ...PDF, filename: `file.${extension}`, contentType: type }])).toHaveLength(1);
    }
  });
});

describe('attachments that are refused', () => {
  it.each([
    ['not an array', { a: 1 }, 'ATT001'],
    ['more than 10 files', Array.from({ length: 11 }, () => PDF), 'ATT001'],
    ['an entry that is not an object', ['x.pdf'], 'ATT001'],
    ['neither s3Key nor content', [{ filename: 'a.pdf', contentType: 'application/pdf' }], 'ATT001'],
    ['both s3Key and content', [{ ...PDF, content: 'aGk=' }], 'ATT001'],
  ])('%s → ATT001', (_name, value, code) => {
    expect(failure(value).code).toBe(code);
  });

  it.each([
    ['../templates/welcome/metadata.json'],
    ['invoices/../../templates/x.pdf'],
    ['attachments/../templates/x'],
    ['/etc/passwd'],
    ['invoices\\x.pdf'],
    ['invoices//x.pdf'],
    ['invoices/./x.pdf'],
    ['invoices/'],
    ['attachments/'],
    [''],
    ['a\r\nb.pdf'],
    ['a\u0000.pdf'],
    [`${'k'.repeat(1020)}.pdf`],
  ])('an unsafe s3Key %j → ATT002', (s3Key) => {
    expect(failure([{ ...PDF, s3Key }]).code).toBe('ATT002');
  });

  it('a non-string s3Key → ATT002', () => {
    expect(failure([{ ...PDF, s3Key: 42 }]).code).toBe('ATT002');
  });

  it.each([
    ['', 'empty'],
    ['a\r\nContent-Type: text/html.pdf', 'header injection'],
    ['a"b.pdf', 'a quote'],
    ['dir/a.pdf', 'a slash'],
    ['dir\\a.pdf', 'a backslash'],
    ['invoice\u202Efdp.exe', 'a right-to-left override'],
    [`${'a'.repeat(252)}.pdf`, 'over 255 characters'],
  ])('filename %j (%s) → ATT003', (filename) => {
    expect(failure([{ ...PDF, filename }]).code).toBe('ATT003');
  });

  it('a missing filename → ATT003', () => {
    expect(failure([{ s3Key: 'a.pdf', contentType: 'application/pdf' }]).code).toBe('ATT003');
  });

  it.each([
    ['text/html', 'page.html'],
    ['application/javascript', 'run.js'],
    ['application/x-msdownload', 'setup.exe'],
    ['image/svg+xml', 'logo.svg'],
    ['application/octet-stream', 'blob.bin'],
    ['application/pdf; name=x.exe', 'x.pdf'],
  ])('contentType %s → ATT004', (contentType, filename) => {
    expect(failure([{ ...PDF, filename, contentType }]).code).toBe('ATT004');
  });

  it.each([['setup.exe'], ['invoice.pdf.exe'], ['invoice'], ['.pdf']])('a filename %j that does not match application/pdf → ATT004', (filename) => {
    expect(failure([{ ...PDF, filename }]).code).toBe('ATT004');
  });

  it('a missing contentType → ATT004', () => {
    expect(failure([{ s3Key: 'a.pdf', filename: 'a.pdf' }]).code).toBe('ATT004');
  });

  it.each([
    ['not base64', 'not base64!'],
    ['unpadded', 'aGk'],
    ['with a line break', 'aGVs\nbG8='],
    ['empty', ''],
    ['not a string', 42],
  ])('inline content %s → ATT005', (_name, content) => {
    expect(failure([{ filename: 'a.txt', contentType: 'text/plain', content }]).code).toBe('ATT005');
  });

  it('inline files over 160 KB in all → ATT005, pointing at s3Key', () => {
    const half = Buffer.alloc(ATTACHMENT_LIMITS.inlineBytes / 2 + 1, 1);
    const result = failure([inline(half), inline(half)]);
    expect(result.code).toBe('ATT005');
    expect(result.message).toContain('s3Key');
  });

  it('an inline attachment of a retry whose content was not kept → ATT008; outside a retry → ATT001', () => {
    const stored = { filename: 'a.txt', contentType: 'text/plain', size: 5, contentOmitted: true };
    expect(failure([stored], true).code).toBe('ATT008');
    expect(failure([stored], false).code).toBe('ATT001');
  });

  it('name the position of the bad entry', () => {
    expect(failure([PDF, { ...PDF, filename: 'x"y.pdf' }]).message).toMatch(/^attachments\[1\]/);
  });
});

describe('s3Key resolution', () => {
  it('never leaves attachments/ (fuzzed)', () => {
    const segment = fc.oneof(fc.constantFrom('..', '.', '', 'attachments', 'templates', '%2e%2e', '\\'), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), fc.boolean(), (segments, leadingSlash) => {
        const raw = `${leadingSlash ? '/' : ''}${segments.join('/')}`;
        const result = resolveAttachmentKey(raw);
        if (!result.ok) return;
        expect(result.value.startsWith('attachments/')).toBe(true);
        const parts = result.value.split('/');
        expect(parts.every((p) => p !== '' && p !== '.' && p !== '..')).toBe(true);
        expect(result.value).not.toContain('\\');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the attachment list, fuzzed', () => {
  const anyValue = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.base64String(), fc.object({ maxDepth: 1 }));
  const entry = fc.record(
    {
      s3Key: fc.oneof(fc.string(), fc.constantFrom('a.pdf', '../x', '/a.pdf', 'ok/report.csv'), anyValue),
      content: fc.oneof(fc.base64String({ maxLength: 40 }), anyValue),
      filename: fc.oneof(fc.string(), fc.constantFrom('a.pdf', 'report.csv', 'x.exe', 'a\r\nb.pdf', 'a"b.png'), anyValue),
      contentType: fc.oneof(fc.constantFrom(...Object.keys(ATTACHMENT_CONTENT_TYPES), 'text/html', 'TEXT/CSV'), anyValue),
      contentOmitted: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  const list = fc.oneof(fc.array(fc.oneof(entry, anyValue), { maxLength: 12 }), anyValue);

  it('never throws and either accepts safe attachments or fails with an ATT code', () => {
    fc.assert(
      fc.property(list, fc.boolean(), (value, isRetry) => {
        const result = parseAttachments(value, isRetry);
        if (!result.ok) {
          expect(result.code).toMatch(/^ATT00[1-8]$/);
          expect(Object.hasOwn(ERROR_CODES, result.code)).toBe(true);
          expect(result.message).not.toMatch(/[\r\n]/);
          return;
        }
        expect(result.value.length).toBeLessThanOrEqual(ATTACHMENT_LIMITS.maxCount);
        for (const spec of result.value) {
          expect(spec.filename).not.toMatch(/[\u0000-\u001f\u007f"/\\\u202e]/);
          expect(Object.keys(ATTACHMENT_CONTENT_TYPES)).toContain(spec.contentType);
          if (spec.source === 's3') expect(spec.key.startsWith('attachments/')).toBe(true);
          else expect(spec.content.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('fails a whole request with the ATT code and keeps its emailId', () => {
    fc.assert(
      fc.property(list, (attachments) => {
        const result = parseSendRequest(event({ to: 'a@example.com', templateName: 'welcome', emailId: 'fuzz-1', attachments }), 'sqs-1');
        if (result.ok) return;
        expect(result.failure.emailId).toBe('fuzz-1');
        expect(result.failure.code).toMatch(/^ATT00[1-8]$/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a request with attachments', () => {
  it('carries the validated files, and stores only names, types, keys and sizes', () => {
    const content = Buffer.from('line one\n');
    const result = parseSendRequest(
      event({ to: 'a@example.com', templateName: 'welcome', attachments: [PDF, inline(content)] }),
      'sqs-1',
    );
    if (!result.ok) throw new Error(result.failure.message);
    expect(result.request.attachments.map((a) => a.source)).toEqual(['s3', 'inline']);
    expect(result.request.stored.attachments).toEqual([
      { s3Key: 'attachments/invoices/2026/inv-42.pdf', filename: 'inv-42.pdf', contentType: 'application/pdf' },
      { filename: 'notes.txt', contentType: 'text/plain', size: content.length, contentOmitted: true },
    ]);
    expect(JSON.stringify(result.request.stored)).not.toContain(content.toString('base64'));
  });

  it('without attachments stores no attachments field', () => {
    const result = parseSendRequest(event({ to: 'a@example.com', templateName: 'welcome' }), 'sqs-1');
    if (!result.ok) throw new Error(result.failure.message);
    expect(result.request.attachments).toEqual([]);
    expect(result.request.stored).not.toHaveProperty('attachments');
  });

  it('whose stored copy is retried re-validates: S3 files pass, an inline file fails with ATT008', () => {
    const first = parseSendRequest(event({ to: 'a@example.com', templateName: 'welcome', attachments: [PDF] }), 'sqs-1');
    if (!first.ok) throw new Error(first.failure.message);
    const retry = (stored: unknown) =>
      parseSendRequest(
        event({ ...first.request.stored, attachments: stored, emailId: 'email-r', originalEmailId: 'email-o', retryAttempt: 1 }, 'Email Retry', 'sesmailengine'),
        'sqs-2',
      );
    const again = retry(first.request.stored.attachments);
    expect(again.ok && again.request.attachments).toEqual(first.request.attachments);
    const inlineRetry = retry(storedAttachments([{ source: 'inline', filename: 'a.txt', contentType: 'text/plain', content: Buffer.from('x') }]));
    expect(!inlineRetry.ok && inlineRetry.failure.code).toBe('ATT008');
  });
});

describe('message size', () => {
  it('counts base64 with its line breaks', () => {
    expect(base64MimeBytes(3)).toBe(4 + 2);
    expect(base64MimeBytes(57)).toBe(76 + 2);
    expect(base64MimeBytes(58)).toBe(80 + 4);
  });

  it('refuses files over the per-email cap', () => {
    expect(checkMessageSize(1000, [600, 500], 1000)?.code).toBe('ATT007');
    expect(checkMessageSize(1000, [500, 500], 1000)).toBeUndefined();
  });

  it("refuses a message that would pass SES's 40 MB only before encoding", () => {
    const thirtyMb = 30 * 1024 * 1024;
    const result = checkMessageSize(0, [thirtyMb], ATTACHMENT_LIMITS.sesMessageBytes);
    expect(result?.code).toBe('ATT007');
    expect(result?.message).toContain('base64');
    expect(checkMessageSize(0, [25 * 1024 * 1024], ATTACHMENT_LIMITS.sesMessageBytes)).toBeUndefined();
  });
});
