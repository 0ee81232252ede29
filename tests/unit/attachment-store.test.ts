import { describe, expect, it } from '@jest/globals';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AttachmentSpec } from '../../functions/core/attachments.js';
import { loadAttachments } from '../../functions/lib/attachment-store.js';

/**
 * The size check happens on S3's headers, before any body is read. A fake S3 client (no
 * stand-in can report a Content-Length without the bytes behind it) records what was read.
 */

interface FakeObject {
  length: number;
  read: boolean;
  destroyed: boolean;
}

function fakeS3(objects: Record<string, FakeObject | Error>): S3Client {
  return {
    async send(command: { input: { Key: string } }) {
      const found = objects[command.input.Key];
      if (found instanceof Error) throw found;
      if (!found) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
      return {
        ContentLength: found.length,
        Body: {
          async transformToByteArray() {
            found.read = true;
            return new Uint8Array(found.length);
          },
          destroy() {
            found.destroyed = true;
          },
        },
      };
    },
  } as unknown as S3Client;
}

const object = (length: number): FakeObject => ({ length, read: false, destroyed: false });
const s3Spec = (key: string): AttachmentSpec => ({ source: 's3', key, filename: 'a.pdf', contentType: 'application/pdf' });

describe('loadAttachments', () => {
  it('refuses files over the cap from their Content-Length, reading and releasing no body', async () => {
    const small = object(1_000);
    const big = object(9_000_000);
    const result = await loadAttachments([s3Spec('attachments/small.pdf'), s3Spec('attachments/big.pdf')], {
      s3: fakeS3({ 'attachments/small.pdf': small, 'attachments/big.pdf': big }),
      bucket: 'b',
      bodyBytes: 100,
      maxAttachmentBytes: 5_000_000,
    });
    expect(result).toMatchObject({ ok: false, code: 'ATT007' });
    expect([small.read, big.read]).toEqual([false, false]);
    expect([small.destroyed, big.destroyed]).toEqual([true, true]);
  });

  it('reads the files when they fit, keeping their order among inline files', async () => {
    const pdf = object(2_000);
    const result = await loadAttachments(
      [{ source: 'inline', filename: 'n.txt', contentType: 'text/plain', content: Buffer.from('hi') }, s3Spec('attachments/x.pdf')],
      { s3: fakeS3({ 'attachments/x.pdf': pdf }), bucket: 'b', bodyBytes: 100, maxAttachmentBytes: 10_000 },
    );
    expect(result.ok && result.value.map((f) => [f.filename, f.content.length])).toEqual([
      ['n.txt', 2],
      ['a.pdf', 2_000],
    ]);
    expect(pdf.read).toBe(true);
  });

  it('names every missing key (ATT006) and drops the bodies it did get', async () => {
    const there = object(10);
    const result = await loadAttachments([s3Spec('attachments/there.pdf'), s3Spec('attachments/gone.pdf')], {
      s3: fakeS3({ 'attachments/there.pdf': there }),
      bucket: 'b',
      bodyBytes: 0,
      maxAttachmentBytes: 10_000,
    });
    expect(result).toMatchObject({ ok: false, code: 'ATT006' });
    expect(!result.ok && result.message).toContain('attachments/gone.pdf');
    expect(there).toMatchObject({ read: false, destroyed: true });
  });

  it('throws other S3 errors, so the message goes back to the queue', async () => {
    const slow = Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' });
    await expect(
      loadAttachments([s3Spec('attachments/a.pdf')], { s3: fakeS3({ 'attachments/a.pdf': slow }), bucket: 'b', bodyBytes: 0, maxAttachmentBytes: 10 }),
    ).rejects.toThrow('reduce your request rate');
  });
});
