/**
 * The SES message tag that lets feedback events find their tracking record.
 * SES tag values allow only ASCII letters, digits, "_" and "-" (at most 256), so an
 * emailId outside that alphabet travels base64url-encoded under a second tag name.
 */

export const EMAIL_ID_TAG = 'emailId';
export const EMAIL_ID_B64_TAG = 'emailId-b64';

const TAG_SAFE = /^[A-Za-z0-9_-]{1,256}$/;

export function emailIdTag(emailId: string): { Name: string; Value: string } {
  if (TAG_SAFE.test(emailId)) return { Name: EMAIL_ID_TAG, Value: emailId };
  return { Name: EMAIL_ID_B64_TAG, Value: Buffer.from(emailId, 'utf8').toString('base64url') };
}

/** Reads the emailId back from an SES event's `mail.tags` (values are arrays there). */
export function emailIdFromTags(tags: unknown): string | undefined {
  if (!tags || typeof tags !== 'object') return undefined;
  const record = tags as Record<string, unknown>;
  const first = (name: string): string | undefined => {
    const value = record[name];
    const item = Array.isArray(value) ? value[0] : value;
    return typeof item === 'string' && item.length > 0 ? item : undefined;
  };
  const raw = first(EMAIL_ID_TAG);
  if (raw !== undefined) return raw;
  const encoded = first(EMAIL_ID_B64_TAG);
  if (encoded === undefined || !TAG_SAFE.test(encoded)) return undefined;
  return Buffer.from(encoded, 'base64url').toString('utf8');
}
