import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { checkMessageSize, type AttachmentSpec, type LoadedAttachment } from '../core/attachments.js';
import type { Outcome } from '../core/outcome.js';

/**
 * Reads a request's attachments for the Email Sender: S3 objects from the template bucket
 * (under attachments/, already resolved by validation) and inline files as they are.
 *
 * Sizes are checked before any body is read: every GetObject's ContentLength (S3 sends it
 * with the headers) and the inline sizes go through checkMessageSize first, and when the
 * files are too large their bodies are dropped unread. A missing object is ATT006 (tracked);
 * any other S3 error is thrown, so the message goes back to the queue and is tried again.
 */

function isMissingObject(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

type Body = NonNullable<GetObjectCommandOutput['Body']>;

function discard(body: Body | undefined): void {
  const stream = body as unknown as { destroy?: () => void } | undefined;
  stream?.destroy?.();
}

export interface LoadAttachmentsOptions {
  s3: S3Client;
  bucket: string;
  /** UTF-8 bytes of the rendered bodies (HTML + text), for the message size estimate. */
  bodyBytes: number;
  /** Per-email cap on the files' bytes (ATTACHMENTS_MAX_BYTES). */
  maxAttachmentBytes: number;
}

export async function loadAttachments(specs: readonly AttachmentSpec[], options: LoadAttachmentsOptions): Promise<Outcome<LoadedAttachment[]>> {
  if (specs.length === 0) return { ok: true, value: [] };
  const { s3, bucket } = options;

  const heads = await Promise.allSettled(
    specs.map((spec) => (spec.source === 's3' ? s3.send(new GetObjectCommand({ Bucket: bucket, Key: spec.key })) : Promise.resolve(undefined))),
  );
  const bodies = heads.map((head) => (head.status === 'fulfilled' ? head.value?.Body : undefined));
  const dropAll = () => bodies.forEach(discard);

  const missing: string[] = [];
  for (const [index, head] of heads.entries()) {
    if (head.status === 'fulfilled') continue;
    if (!isMissingObject(head.reason)) {
      dropAll();
      throw head.reason;
    }
    missing.push((specs[index] as Extract<AttachmentSpec, { source: 's3' }>).key);
  }
  if (missing.length > 0) {
    dropAll();
    return {
      ok: false,
      code: 'ATT006',
      message: `Attachment ${missing.length === 1 ? 'object' : 'objects'} not found in bucket ${bucket}: ${missing.join(', ')}.`,
    };
  }

  const sizes = specs.map((spec, index) => {
    if (spec.source === 'inline') return spec.content.length;
    const head = heads[index] as PromiseFulfilledResult<GetObjectCommandOutput>;
    // Without a ContentLength, count the object at the cap so it cannot slip past the check.
    return head.value.ContentLength ?? options.maxAttachmentBytes + 1;
  });
  const tooLarge = checkMessageSize(options.bodyBytes, sizes, options.maxAttachmentBytes);
  if (tooLarge) {
    dropAll();
    return tooLarge;
  }

  try {
    const loaded = await Promise.all(
      specs.map(async (spec, index): Promise<LoadedAttachment> => {
        if (spec.source === 'inline') return { filename: spec.filename, contentType: spec.contentType, content: spec.content };
        const body = bodies[index];
        const content = body ? await body.transformToByteArray() : new Uint8Array();
        return { filename: spec.filename, contentType: spec.contentType, content };
      }),
    );
    // The object may have changed between the headers and the body: check what was read.
    const recheck = checkMessageSize(options.bodyBytes, loaded.map((file) => file.content.length), options.maxAttachmentBytes);
    if (recheck) return recheck;
    return { ok: true, value: loaded };
  } catch (error) {
    dropAll();
    throw error;
  }
}
