import type { ErrorCode } from './error-codes.js';
import type { Outcome } from './outcome.js';
import type { EmailAttachment } from './types.js';
import { hasLoneSurrogate, wellFormed } from './unicode.js';

/**
 * Attachments of an Email Request (docs/SENDING.md, "Attachments"): what a publisher may
 * list, and the size arithmetic the sender applies before it asks SES to send.
 *
 * Each attachment names its file either by `s3Key` (an object under `attachments/` in the
 * template bucket) or by inline `content` (base64, small: the whole request must fit in one
 * 256 KB EventBridge entry). Filenames and content types are checked here because they end
 * up in MIME headers and in front of the recipient: no header injection, no path
 * separators, no executables disguised by a right-to-left override, only types on the
 * allow-list, and a file extension that matches the type.
 */

/** Prefix (in the template bucket) under which attachment objects live. */
export const ATTACHMENTS_PREFIX = 'attachments/';

export const ATTACHMENT_LIMITS = {
  maxCount: 10,
  filenameLength: 255,
  /** S3's own limit for a key, in UTF-8 bytes. */
  s3KeyBytes: 1024,
  /** Decoded bytes of all inline attachments of one request (base64 makes them 4/3 larger in the event). */
  inlineBytes: 160 * 1024,
  /** SES API v2: the whole message, headers, bodies and base64-encoded attachments, up to 40 MB. */
  sesMessageBytes: 40 * 1024 * 1024,
  /** Default per-email cap on the attachments' file bytes (ATTACHMENTS_MAX_BYTES overrides). */
  defaultMaxBytes: 10 * 1024 * 1024,
} as const;

/**
 * Content types an attachment may have, each with the file extensions that go with it.
 * Documents, images, tables, calendar invitations and archives; nothing a mail client would
 * run or render as a page (no executables, scripts, HTML or SVG).
 */
export const ATTACHMENT_CONTENT_TYPES: Readonly<Record<string, readonly string[]>> = {
  'application/pdf': ['pdf'],
  'image/png': ['png'],
  'image/jpeg': ['jpg', 'jpeg'],
  'image/gif': ['gif'],
  'image/webp': ['webp'],
  'text/csv': ['csv'],
  'text/plain': ['txt', 'text', 'log'],
  'text/calendar': ['ics'],
  'application/zip': ['zip'],
  'application/msword': ['doc'],
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': ['docx'],
  'application/vnd.ms-excel': ['xls'],
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': ['xlsx'],
  'application/vnd.ms-powerpoint': ['ppt'],
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': ['pptx'],
  'application/vnd.oasis.opendocument.text': ['odt'],
  'application/vnd.oasis.opendocument.spreadsheet': ['ods'],
  'application/vnd.oasis.opendocument.presentation': ['odp'],
};

/** One validated attachment, ready for the sender. */
export type AttachmentSpec =
  | { source: 's3'; filename: string; contentType: string; /** Full key, starting with attachments/. */ key: string }
  | { source: 'inline'; filename: string; contentType: string; content: Buffer };

/** A file as it goes to SES. */
export interface LoadedAttachment {
  filename: string;
  contentType: string;
  content: Uint8Array;
}

type Failure = { ok: false; code: ErrorCode; message: string };
const fail = (code: ErrorCode, message: string): Failure => ({ ok: false, code, message });

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** C0/C1 controls, DEL, line/paragraph separators and the bidirectional controls (U+202A-202E, U+2066-2069, U+200E/F). */
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

function quoted(value: string, limit = 80): string {
  const shown = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  // wellFormed after the cut, which may split a surrogate pair.
  return JSON.stringify(wellFormed(shown.length > limit ? `${shown.slice(0, limit)}…` : shown));
}

/**
 * Resolves an `s3Key` to its full key under attachments/. The key may be given relative to
 * attachments/ (`invoices/42.pdf`) or with the prefix (`attachments/invoices/42.pdf`).
 */
export function resolveAttachmentKey(raw: string): Outcome<string> {
  if (raw === '') return fail('ATT002', 's3Key is empty.');
  if (UNSAFE_CHARS.test(raw)) return fail('ATT002', `s3Key ${quoted(raw)} contains a control character.`);
  // S3 keys are UTF-8: a lone surrogate has no encoding (and makes URL encoding throw).
  if (hasLoneSurrogate(raw)) return fail('ATT002', `s3Key ${quoted(raw)} contains broken Unicode (a lone surrogate).`);
  if (raw.includes('\\')) return fail('ATT002', `s3Key ${quoted(raw)} contains a backslash; use "/" between folders.`);
  if (raw.startsWith('/')) return fail('ATT002', `s3Key ${quoted(raw)} starts with "/"; give the key relative to ${ATTACHMENTS_PREFIX}.`);
  const relative = raw.startsWith(ATTACHMENTS_PREFIX) ? raw.slice(ATTACHMENTS_PREFIX.length) : raw;
  const segments = relative.split('/');
  if (relative === '' || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return fail('ATT002', `s3Key ${quoted(raw)} is not a plain key under ${ATTACHMENTS_PREFIX}: no ".", ".." or empty folder names, no trailing "/".`);
  }
  const key = `${ATTACHMENTS_PREFIX}${relative}`;
  if (Buffer.byteLength(key, 'utf8') > ATTACHMENT_LIMITS.s3KeyBytes) {
    return fail('ATT002', `s3Key is longer than S3 allows (${ATTACHMENT_LIMITS.s3KeyBytes} bytes with the ${ATTACHMENTS_PREFIX} prefix).`);
  }
  return { ok: true, value: key };
}

/** The extension of a filename, lower-cased, or '' when it has none. */
function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot <= 0 ? '' : filename.slice(dot + 1).toLowerCase();
}

export function checkFilename(raw: string): Outcome<string> {
  const filename = raw.normalize('NFC').trim();
  if (filename === '') return fail('ATT003', 'filename is empty.');
  if (UNSAFE_CHARS.test(filename)) {
    return fail('ATT003', `filename ${quoted(filename)} contains a line break, a control character or a text-direction override.`);
  }
  if (hasLoneSurrogate(filename)) return fail('ATT003', `filename ${quoted(filename)} contains broken Unicode (a lone surrogate).`);
  if (/["/\\]/.test(filename)) return fail('ATT003', `filename ${quoted(filename)} contains a quote or a path separator ("/" or "\\").`);
  if (filename.length > ATTACHMENT_LIMITS.filenameLength) {
    return fail('ATT003', `filename is ${filename.length} characters; the limit is ${ATTACHMENT_LIMITS.filenameLength}.`);
  }
  if (filename === '.' || filename === '..') return fail('ATT003', `filename ${quoted(filename)} is not a file name.`);
  return { ok: true, value: filename };
}

export function checkContentType(raw: string, filename: string): Outcome<string> {
  const contentType = raw.trim().toLowerCase();
  const extensions = Object.hasOwn(ATTACHMENT_CONTENT_TYPES, contentType) ? ATTACHMENT_CONTENT_TYPES[contentType] : undefined;
  if (!extensions) {
    return fail('ATT004', `contentType ${quoted(raw)} is not on the attachment allow-list (see docs/SENDING.md, "Attachments").`);
  }
  const extension = extensionOf(filename);
  if (!extensions.includes(extension)) {
    return fail(
      'ATT004',
      `filename ${quoted(filename)} does not end in an extension of ${contentType} (${extensions.map((e) => `.${e}`).join(', ')}).`,
    );
  }
  return { ok: true, value: contentType };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (standard alphabet, padded, no line breaks). */
export function decodeBase64(raw: string): Buffer | undefined {
  return BASE64.test(raw) ? Buffer.from(raw, 'base64') : undefined;
}

/**
 * Validates the `attachments` field of a request. `isRetry`: the request is the engine's own
 * soft-bounce retry, whose stored copy of the request kept inline attachments without their
 * content (ATT008).
 */
export function parseAttachments(value: unknown, isRetry = false): Outcome<AttachmentSpec[]> {
  if (value === undefined || value === null) return { ok: true, value: [] };
  if (!Array.isArray(value)) return fail('ATT001', 'attachments must be an array of {s3Key or content, filename, contentType}.');
  if (value.length > ATTACHMENT_LIMITS.maxCount) {
    return fail('ATT001', `attachments lists ${value.length} files; at most ${ATTACHMENT_LIMITS.maxCount} are allowed.`);
  }
  const specs: AttachmentSpec[] = [];
  let inlineBytes = 0;
  for (const [index, item] of value.entries()) {
    const at = `attachments[${index}]`;
    if (!isPlainObject(item)) return fail('ATT001', `${at} must be an object {s3Key or content, filename, contentType}.`);
    const s3Key = item.s3Key ?? undefined;
    const content = item.content ?? undefined;
    if (typeof item.filename !== 'string') return fail('ATT003', `${at}.filename is required (a string).`);
    const filename = checkFilename(item.filename);
    if (!filename.ok) return fail(filename.code, `${at}: ${filename.message}`);
    if (s3Key === undefined && content === undefined) {
      if (isRetry && item.contentOmitted === true) {
        return fail(
          'ATT008',
          `${at} (${quoted(filename.value)}) was sent inline; inline content is not kept for retries, so this retry cannot include it. Use s3Key for files that must survive a retry.`,
        );
      }
      return fail('ATT001', `${at} needs either s3Key or content.`);
    }
    if (s3Key !== undefined && content !== undefined) return fail('ATT001', `${at} has both s3Key and content; give exactly one.`);
    if (typeof item.contentType !== 'string') return fail('ATT004', `${at}.contentType is required (a string).`);
    const contentType = checkContentType(item.contentType, filename.value);
    if (!contentType.ok) return fail(contentType.code, `${at}: ${contentType.message}`);
    if (s3Key !== undefined) {
      if (typeof s3Key !== 'string') return fail('ATT002', `${at}.s3Key must be a string.`);
      const key = resolveAttachmentKey(s3Key);
      if (!key.ok) return fail(key.code, `${at}: ${key.message}`);
      specs.push({ source: 's3', filename: filename.value, contentType: contentType.value, key: key.value });
    } else {
      if (typeof content !== 'string') return fail('ATT005', `${at}.content must be a base64 string.`);
      const bytes = decodeBase64(content);
      if (!bytes) return fail('ATT005', `${at}.content is not valid base64 (standard alphabet, padded, no line breaks).`);
      if (bytes.length === 0) return fail('ATT005', `${at}.content is empty.`);
      inlineBytes += bytes.length;
      if (inlineBytes > ATTACHMENT_LIMITS.inlineBytes) {
        return fail(
          'ATT005',
          `Inline attachments add up to more than ${ATTACHMENT_LIMITS.inlineBytes} bytes; upload larger files to the template bucket under ${ATTACHMENTS_PREFIX} and list them by s3Key.`,
        );
      }
      specs.push({ source: 'inline', filename: filename.value, contentType: contentType.value, content: bytes });
    }
  }
  return { ok: true, value: specs };
}

/**
 * The attachments as kept on the tracking record (for a soft-bounce retry): names, types and
 * S3 keys, never inline content (it would bloat the record towards DynamoDB's 400 KB item limit).
 */
export function storedAttachments(specs: readonly AttachmentSpec[]): EmailAttachment[] {
  return specs.map((spec) =>
    spec.source === 's3'
      ? { s3Key: spec.key, filename: spec.filename, contentType: spec.contentType }
      : { filename: spec.filename, contentType: spec.contentType, size: spec.content.length, contentOmitted: true },
  );
}

/** Bytes a file takes in a MIME message: base64 (4 per 3) with a CRLF every 76 characters. */
export function base64MimeBytes(bytes: number): number {
  const encoded = Math.ceil(bytes / 3) * 4;
  return encoded + Math.ceil(encoded / 76) * 2;
}

/** Room per attachment for its part headers (boundary, Content-Type, Content-Disposition with an encoded filename). */
const PART_OVERHEAD = 1024;
/** Room for the message headers and the multipart structure around the bodies. */
const MESSAGE_OVERHEAD = 16 * 1024;

/** An upper estimate of the size of the message SES builds: bodies, headers and encoded attachments. */
export function estimatedMessageBytes(bodyBytes: number, attachmentSizes: readonly number[]): number {
  return (
    MESSAGE_OVERHEAD +
    // Bodies may be sent quoted-printable or base64: count them at base64's size.
    base64MimeBytes(bodyBytes) +
    attachmentSizes.reduce((sum, size) => sum + base64MimeBytes(size) + PART_OVERHEAD, 0)
  );
}

/**
 * Checks a message's attachments against the per-email cap (file bytes) and SES's message
 * limit (encoded). Returns the failure to track, or undefined when the message may be sent.
 */
export function checkMessageSize(bodyBytes: number, attachmentSizes: readonly number[], maxAttachmentBytes: number): Failure | undefined {
  const total = attachmentSizes.reduce((sum, size) => sum + size, 0);
  if (total > maxAttachmentBytes) {
    return fail('ATT007', `The attachments add up to ${total} bytes; this engine allows at most ${maxAttachmentBytes} bytes per email (ATTACHMENTS_MAX_BYTES).`);
  }
  const estimate = estimatedMessageBytes(bodyBytes, attachmentSizes);
  if (estimate > ATTACHMENT_LIMITS.sesMessageBytes) {
    return fail(
      'ATT007',
      `The message would be about ${estimate} bytes once the attachments are base64-encoded; SES accepts at most ${ATTACHMENT_LIMITS.sesMessageBytes} bytes per message.`,
    );
  }
  return undefined;
}
