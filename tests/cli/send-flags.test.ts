import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachmentOption, buildRequest, checkRequest, contentTypeFor } from '../../src/commands/send.js';
import { CliError } from '../../src/errors.js';

/** `send --send-at --metadata --attach --unsubscribe`: every request field from the command line, checked before publishing. */

const cwd = mkdtempSync(join(tmpdir(), 'sme-send-flags-'));
writeFileSync(join(cwd, 'invoice-42.pdf'), Buffer.from('%PDF-1.4 tiny'));
writeFileSync(join(cwd, 'run.exe'), 'MZ');
const NOW = new Date('2026-03-01T08:00:00Z');
const base = { to: 'ada@example.com', template: 'welcome', cwd };

function codeOf(body: () => unknown): string | undefined {
  try {
    body();
  } catch (error) {
    return error instanceof CliError ? error.code : 'not a CliError';
  }
  return undefined;
}

describe('send flags', () => {
  it('puts --send-at, --metadata and --unsubscribe into the request', () => {
    const request = buildRequest({ ...base, sendAt: '2026-03-02T09:30:00Z', metadata: '{"orderId":"42"}', unsubscribe: false });
    expect(request).toMatchObject({ sendAt: '2026-03-02T09:30:00Z', metadata: { orderId: '42' }, unsubscribe: false });
    expect(() => checkRequest(request, NOW)).not.toThrow();
  });

  it('attaches a local file inline, with its name and the content type of its extension', () => {
    expect(attachmentOption('invoice-42.pdf', cwd)).toEqual({
      filename: 'invoice-42.pdf',
      contentType: 'application/pdf',
      content: Buffer.from('%PDF-1.4 tiny').toString('base64'),
    });
  });

  it('attaches a key under attachments/ as an s3Key', () => {
    expect(attachmentOption('attachments/invoices/2026/7.pdf', cwd)).toEqual({ filename: '7.pdf', contentType: 'application/pdf', s3Key: 'attachments/invoices/2026/7.pdf' });
  });

  it('knows the content type of each allowed extension, and none for others', () => {
    expect(contentTypeFor('photo.JPG')).toBe('image/jpeg');
    expect(contentTypeFor('run.exe')).toBeUndefined();
  });

  it.each([
    ['a file that does not exist and is no attachments/ key', () => attachmentOption('missing.pdf', cwd), 'OPS005'],
    ['an extension no attachment may have', () => attachmentOption('run.exe', cwd), 'OPS004'],
    ['--metadata that is not a JSON object', () => buildRequest({ ...base, metadata: '[1]' }), 'OPS004'],
    ['--send-at without a time zone', () => checkRequest(buildRequest({ ...base, sendAt: '2026-03-02T09:30:00' }), NOW), 'OPS004'],
    ['--send-at more than a year ahead', () => checkRequest(buildRequest({ ...base, sendAt: '2028-03-02T09:30:00Z' }), NOW), 'OPS004'],
    ['--send-at that is no date', () => checkRequest(buildRequest({ ...base, sendAt: '2026-13-01T00:00:00Z' }), NOW), 'OPS004'],
  ])('refuses %s before publishing', (_what, body, code) => {
    expect(codeOf(body)).toBe(code);
  });

  it('names the engine code the request would have failed with', () => {
    expect(() => checkRequest(buildRequest({ ...base, sendAt: '2026-03-02T09:30:00' }), NOW)).toThrow(/VAL010/);
  });
});
