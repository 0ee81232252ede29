import { EMAIL_ID_MAX_LENGTH, isValidEmailId } from './email-id.js';

/**
 * The SES message tags that let feedback events find their tracking record.
 *
 * SES accepts a tag name or value only as ASCII letters, digits, "_" and "-", and only up
 * to a length its API reference gives as 256 characters while its own error answer says
 * "cannot exceed 255 characters"; the engine keeps every tag within 255. An emailId may be
 * any 1-128 UTF-16 code units without control characters or lone surrogates, so:
 *
 *   emailId               the id itself, when it is tag-safe (most ids: uuids, order numbers)
 *   emailId-b64           base64url of its UTF-8, when that fits one tag (up to 191 bytes)
 *   emailId-b64-<i>-of-<n> the same text cut into n parts of at most 255 characters, for the
 *                          longest ids: 128 code units of 3 UTF-8 bytes each are 384 bytes,
 *                          512 characters of base64url, 3 parts
 *
 * Reading is strict: a set of these tags that the engine could not have written (a part
 * missing or repeated, counts that disagree, text that is not the canonical base64url of
 * valid UTF-8, an id validation would refuse, two forms naming different ids) is refused
 * with a reason, so a forged or damaged event never lands on some other record.
 */

export const EMAIL_ID_TAG = 'emailId';
export const EMAIL_ID_B64_TAG = 'emailId-b64';
/** Longest tag value the engine writes (see above). */
export const MAX_TAG_VALUE_CHARS = 255;
/** Parts the longest valid emailId needs; more is never written, so never read. */
export const MAX_EMAIL_ID_PARTS = Math.ceil(Math.ceil((EMAIL_ID_MAX_LENGTH * 3 * 4) / 3) / MAX_TAG_VALUE_CHARS);

export interface MessageTagPair {
  Name: string;
  Value: string;
}

const TAG_SAFE = /^[A-Za-z0-9_-]+$/;
const PART_NAME = /^emailId-b64-([1-9][0-9]?)-of-([1-9][0-9]?)$/;
// ignoreBOM keeps a leading U+FEFF, which is part of the emailId (a decoder would otherwise drop it).
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function isTagSafe(value: string, max = MAX_TAG_VALUE_CHARS): boolean {
  return value.length >= 1 && value.length <= max && TAG_SAFE.test(value);
}

function partName(index: number, count: number): string {
  return `${EMAIL_ID_B64_TAG}-${index}-of-${count}`;
}

/** The tags that carry `emailId` (validated by request validation) on an email. */
export function emailIdTags(emailId: string): MessageTagPair[] {
  if (isTagSafe(emailId)) return [{ Name: EMAIL_ID_TAG, Value: emailId }];
  const encoded = Buffer.from(emailId, 'utf8').toString('base64url');
  if (encoded.length <= MAX_TAG_VALUE_CHARS) return [{ Name: EMAIL_ID_B64_TAG, Value: encoded }];
  const count = Math.ceil(encoded.length / MAX_TAG_VALUE_CHARS);
  return Array.from({ length: count }, (_, i) => ({
    Name: partName(i + 1, count),
    Value: encoded.slice(i * MAX_TAG_VALUE_CHARS, (i + 1) * MAX_TAG_VALUE_CHARS),
  }));
}

export const TEMPLATE_NAME_TAG = 'templateName';

/**
 * Every tag the engine puts on an email: the emailId tags, and the template's name (VAL004
 * already holds template names to 1-64 letters, digits, "_" and "-"; a name outside SES's
 * rules would be left off rather than have SES refuse the send).
 */
export function engineMessageTags(emailId: string, templateName: string): MessageTagPair[] {
  return [...emailIdTags(emailId), ...(isTagSafe(templateName) ? [{ Name: TEMPLATE_NAME_TAG, Value: templateName }] : [])];
}

export type EmailIdTagReading = { ok: true; emailId: string | undefined } | { ok: false; reason: string };

class Refused extends Error {}

function refuse(reason: string): never {
  throw new Refused(reason);
}

/** One tag's value: SES publishes each as an array of one string; a bare string is read too. */
function tagValue(record: Record<string, unknown>, name: string): string | undefined {
  const raw = Object.hasOwn(record, name) ? record[name] : undefined;
  const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
  if (values.length === 0) return undefined;
  if (values.some((v) => v !== values[0])) refuse(`tag ${name} has ${values.length} different values`);
  if (values[0] === '') refuse(`tag ${name} is empty`);
  return values[0];
}

/** The emailId a base64url text encodes, if it is exactly what the engine writes for it. */
function decodeB64(encoded: string, name: string): string {
  if (!TAG_SAFE.test(encoded)) refuse(`tag ${name} is not base64url`);
  let emailId: string;
  try {
    emailId = UTF8.decode(Buffer.from(encoded, 'base64url'));
  } catch {
    refuse(`tag ${name} is not UTF-8 text in base64url`);
  }
  if (Buffer.from(emailId, 'utf8').toString('base64url') !== encoded) refuse(`tag ${name} is not canonical base64url`);
  if (!isValidEmailId(emailId)) refuse(`tag ${name} encodes an emailId that validation refuses`);
  return emailId;
}

function readParts(record: Record<string, unknown>, names: string[]): string | undefined {
  if (names.length === 0) return undefined;
  let count: number | undefined;
  const parts = new Map<number, string>();
  for (const name of names) {
    const match = PART_NAME.exec(name);
    if (!match) refuse(`tag ${name} is not one of the engine's emailId tags`);
    const value = tagValue(record, name);
    if (value === undefined) continue;
    const [index, of] = [Number(match[1]), Number(match[2])];
    if (count !== undefined && of !== count) refuse(`tags ${EMAIL_ID_B64_TAG}-*-of-* disagree on the number of parts`);
    count = of;
    if (of < 2 || of > MAX_EMAIL_ID_PARTS || index > of) refuse(`tag ${name} names an impossible part`);
    parts.set(index, value);
  }
  if (count === undefined) return undefined;
  if (parts.size !== count) refuse(`tags ${EMAIL_ID_B64_TAG}-*-of-${count} are incomplete (${parts.size} of ${count})`);
  const ordered = Array.from({ length: count }, (_, i) => parts.get(i + 1)!);
  const emailId = decodeB64(ordered.join(''), `${EMAIL_ID_B64_TAG}-*-of-${count}`);
  const expected = emailIdTags(emailId);
  const same = expected.length === count && expected.every((tag) => tagValue(record, tag.Name) === tag.Value);
  if (!same) refuse(`tags ${EMAIL_ID_B64_TAG}-*-of-${count} are not cut as the engine cuts them`);
  return emailId;
}

/**
 * Reads the emailId back from an SES event's `mail.tags` (values are arrays there).
 * `emailId: undefined` when the event carries none of these tags.
 */
export function readEmailIdTags(tags: unknown): EmailIdTagReading {
  if (!tags || typeof tags !== 'object' || Array.isArray(tags)) return { ok: true, emailId: undefined };
  const record = tags as Record<string, unknown>;
  try {
    const found: string[] = [];
    const plain = tagValue(record, EMAIL_ID_TAG);
    if (plain !== undefined) {
      // Read as given: SES only publishes tag-safe values, but events injected locally may carry any valid id.
      if (!isValidEmailId(plain)) refuse(`tag ${EMAIL_ID_TAG} is not an emailId validation accepts`);
      found.push(plain);
    }
    // The single form as every engine version wrote it (the one before the parts wrote it for any length).
    const single = tagValue(record, EMAIL_ID_B64_TAG);
    if (single !== undefined) found.push(decodeB64(single, EMAIL_ID_B64_TAG));
    const fromParts = readParts(record, Object.keys(record).filter((name) => name.startsWith(`${EMAIL_ID_B64_TAG}-`)));
    if (fromParts !== undefined) found.push(fromParts);
    if (found.some((id) => id !== found[0])) refuse('the emailId tags name different emailIds');
    return { ok: true, emailId: found[0] };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.message };
    throw error;
  }
}

/** The emailId the tags carry, or undefined when they carry none or an unreadable set. */
export function emailIdFromTags(tags: unknown): string | undefined {
  const reading = readEmailIdTags(tags);
  return reading.ok ? reading.emailId : undefined;
}
