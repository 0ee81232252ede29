import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  EMAIL_ID_B64_TAG,
  MAX_EMAIL_ID_PARTS,
  emailIdFromTags,
  emailIdTags,
  engineMessageTags,
  readEmailIdTags,
  type MessageTagPair,
} from '../../functions/core/message-tags.js';
import { isValidEmailId } from '../../functions/core/email-id.js';
import { TEMPLATE_NAME_PATTERN } from '../../functions/core/template-name.js';
import { messageTagProblem } from '../../src/local/ses-send-rules.js';

/** Tags as SES publishes them in an event's mail.tags. */
function published(tags: MessageTagPair[]): Record<string, string[]> {
  return Object.fromEntries(tags.map((tag) => [tag.Name, [tag.Value]]));
}

function refusal(tags: Record<string, unknown>): string {
  const reading = readEmailIdTags(tags);
  if (reading.ok) throw new Error(`expected a refusal, read ${JSON.stringify(reading.emailId)}`);
  return reading.reason;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

// Characters of every UTF-8 width, none of them a control character (validation refuses those).
const ascii = fc.integer({ min: 0x20, max: 0x7e });
const twoBytes = fc.integer({ min: 0xa0, max: 0x7ff });
const threeBytes = fc.oneof(fc.integer({ min: 0x800, max: 0x2027 }), fc.integer({ min: 0x202a, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0xffff }));
const astral = fc.integer({ min: 0x10000, max: 0x10ffff });
const character = fc.oneof(ascii, twoBytes, threeBytes, astral).map((cp) => String.fromCodePoint(cp));

/** Cuts to 128 UTF-16 code units without splitting a surrogate pair. */
function within128(chars: string[]): string {
  let out = '';
  for (const c of chars) {
    if (out.length + c.length > 128) break;
    out += c;
  }
  return out;
}

/** Every kind of emailId validation accepts, weighted towards the longest and widest. */
const validEmailId = fc
  .oneof(
    fc.array(character, { minLength: 1, maxLength: 128 }).map(within128),
    fc.array(threeBytes.map((cp) => String.fromCodePoint(cp)), { minLength: 100, maxLength: 128 }).map(within128),
    fc.array(astral.map((cp) => String.fromCodePoint(cp)), { minLength: 50, maxLength: 64 }).map(within128),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/),
  )
  .filter((id) => id.length > 0 && isValidEmailId(id));

const validTemplateName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);

describe('emailIdTags', () => {
  it('keeps the plain emailId tag for a tag-safe id', () => {
    expect(emailIdTags('order-123_A')).toEqual([{ Name: 'emailId', Value: 'order-123_A' }]);
  });

  it('keeps a leading byte order mark (U+FEFF), in the single tag and in parts', () => {
    for (const emailId of ['\uFEFForder', '\uFEFF' + '\u202A\u0800'.repeat(40)]) {
      expect(readEmailIdTags(Object.fromEntries(emailIdTags(emailId).map((t) => [t.Name, [t.Value]])))).toEqual({ ok: true, emailId });
    }
  });

  it('uses the single emailId-b64 tag while the encoded id fits one tag', () => {
    expect(emailIdTags('order#42/ü')).toEqual([{ Name: 'emailId-b64', Value: b64('order#42/ü') }]);
  });

  it('cuts 128 × "€" (512 characters of base64url) into three parts of at most 255', () => {
    const tags = emailIdTags('€'.repeat(128));
    expect(tags.map((t) => t.Name)).toEqual(['emailId-b64-1-of-3', 'emailId-b64-2-of-3', 'emailId-b64-3-of-3']);
    expect(tags.map((t) => t.Value.length)).toEqual([255, 255, 2]);
    expect(tags.map((t) => t.Value).join('')).toBe(b64('€'.repeat(128)));
  });

  it('cuts 64 astral characters (128 code units, 256 bytes) into two parts', () => {
    const tags = emailIdTags('😀'.repeat(64));
    expect(tags.map((t) => t.Name)).toEqual(['emailId-b64-1-of-2', 'emailId-b64-2-of-2']);
    expect(emailIdFromTags(published(tags))).toBe('😀'.repeat(64));
  });

  it('never needs more parts than MAX_EMAIL_ID_PARTS for the widest valid id', () => {
    expect(MAX_EMAIL_ID_PARTS).toBe(3);
    expect(emailIdTags('\uffff'.repeat(128))).toHaveLength(MAX_EMAIL_ID_PARTS);
  });

  it('gives, for every valid emailId and template name, tags SES accepts that read back as that exact id', () => {
    fc.assert(
      fc.property(validEmailId, validTemplateName, (emailId, templateName) => {
        const tags = engineMessageTags(emailId, templateName);
        for (const tag of tags) expect(messageTagProblem(tag.Name, tag.Value)).toBeUndefined();
        expect(tags.length).toBeLessThanOrEqual(MAX_EMAIL_ID_PARTS + 1);
        expect(tags).toContainEqual({ Name: 'templateName', Value: templateName });
        expect(readEmailIdTags(published(tags))).toEqual({ ok: true, emailId });
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves off a templateName tag SES would refuse (VAL004 never lets one through)', () => {
    expect(TEMPLATE_NAME_PATTERN.test('bad name')).toBe(false);
    expect(engineMessageTags('id-1', 'bad name')).toEqual([{ Name: 'emailId', Value: 'id-1' }]);
  });
});

describe('readEmailIdTags', () => {
  it('reads nothing from an event without the engine’s tags', () => {
    expect(readEmailIdTags({ 'ses:configuration-set': ['x'], myCustomTag1: ['y'] })).toEqual({ ok: true, emailId: undefined });
    expect(readEmailIdTags(undefined)).toEqual({ ok: true, emailId: undefined });
  });

  it('reads the single emailId-b64 form as earlier versions wrote it, even at 256 characters', () => {
    const id = 'ü'.repeat(96); // 192 bytes: 256 characters, which earlier versions wrote in one tag
    expect(b64(id)).toHaveLength(256);
    expect(emailIdFromTags({ 'emailId-b64': [b64(id)] })).toBe(id);
  });

  it('reads a plain emailId tag as given, as events injected locally may carry any valid id', () => {
    expect(emailIdFromTags({ emailId: ['order 42'] })).toBe('order 42');
    expect(emailIdFromTags({ emailId: 'order-42' })).toBe('order-42');
  });

  it('accepts two forms that name the same id', () => {
    expect(emailIdFromTags({ emailId: ['ok'], 'emailId-b64': [b64('ok')] })).toBe('ok');
  });

  const euro = published(emailIdTags('€'.repeat(128)));
  const without = (name: string) => Object.fromEntries(Object.entries(euro).filter(([k]) => k !== name));

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a missing part', without('emailId-b64-2-of-3'), /incomplete \(2 of 3\)/],
    ['a part beyond the count', { ...euro, 'emailId-b64-4-of-3': ['AA'] }, /impossible part/],
    ['parts that disagree on the count', { ...without('emailId-b64-3-of-3'), 'emailId-b64-3-of-4': euro['emailId-b64-3-of-3'] }, /disagree/],
    ['more parts than any valid id needs', { 'emailId-b64-1-of-9': ['AA'] }, /impossible part/],
    ['a one-part count', { 'emailId-b64-1-of-1': [b64('x€')] }, /impossible part/],
    ['a tag name the engine never writes', { 'emailId-b64-2': ['AA'] }, /not one of the engine's emailId tags/],
    ['parts swapped', { ...euro, 'emailId-b64-1-of-3': euro['emailId-b64-2-of-3'], 'emailId-b64-2-of-3': euro['emailId-b64-1-of-3'] }, /./],
    ['parts cut differently', { 'emailId-b64-1-of-2': [b64('€'.repeat(100)).slice(0, 200)], 'emailId-b64-2-of-2': [b64('€'.repeat(100)).slice(200)] }, /not cut as the engine cuts them/],
    ['parts for an id that fits one tag', { 'emailId-b64-1-of-2': [b64('€€').slice(0, 2)], 'emailId-b64-2-of-2': [b64('€€').slice(2)] }, /not cut as the engine cuts them/],
    ['standard base64 characters', { 'emailId-b64': ['a+b/'] }, /not base64url/],
    ['padding', { 'emailId-b64': ['QQ=='] }, /not base64url/],
    ['non-canonical trailing bits', { 'emailId-b64': ['QR'] }, /not canonical/],
    ['bytes that are not UTF-8', { 'emailId-b64': ['_w'] }, /not UTF-8/],
    ['an encoded surrogate', { 'emailId-b64': [Buffer.from([0xed, 0xa0, 0x80]).toString('base64url')] }, /not UTF-8/],
    ['an encoded control character', { 'emailId-b64': [b64('a\nb')] }, /validation refuses/],
    ['an encoded id of 129 characters', { 'emailId-b64': [b64('é'.repeat(129))] }, /validation refuses/],
    ['a plain emailId of 129 characters', { emailId: ['a'.repeat(129)] }, /validation accepts/],
    ['an empty value', { 'emailId-b64': [''] }, /empty/],
    ['two different values for one tag', { emailId: ['a', 'b'] }, /2 different values/],
    ['two forms naming different ids', { emailId: ['a'], 'emailId-b64': [b64('b€')] }, /different emailIds/],
  ])('refuses %s', (_label, tags, reason) => {
    expect(refusal(tags)).toMatch(reason);
    expect(emailIdFromTags(tags)).toBeUndefined();
  });

  it('refuses every set with a part dropped, a part lengthened or shortened before the last, or a count changed', () => {
    const damaged = fc
      .tuple(validEmailId.filter((id) => emailIdTags(id).length > 1), fc.nat(), fc.constantFrom('drop', 'shorten', 'lengthen', 'recount'))
      .map(([emailId, pick, how]) => {
        const tags = emailIdTags(emailId);
        const map: Record<string, string[]> = published(tags);
        const i = pick % tags.length;
        const notLast = pick % (tags.length - 1);
        if (how === 'drop') delete map[tags[i]!.Name];
        if (how === 'shorten') map[tags[notLast]!.Name] = [tags[notLast]!.Value.slice(0, -1)];
        if (how === 'lengthen') map[tags[notLast]!.Name] = [`${tags[notLast]!.Value}A`];
        if (how === 'recount') {
          delete map[tags[i]!.Name];
          map[`${EMAIL_ID_B64_TAG}-${i + 1}-of-${tags.length + 1}`] = [tags[i]!.Value];
        }
        return map;
      });
    fc.assert(
      fc.property(damaged, (map) => {
        expect(readEmailIdTags(map).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws, and names only valid ids, whatever the tags hold', () => {
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.stringMatching(/^[A-Za-z0-9_-]{0,300}$/), fc.constant(b64('€'.repeat(128)).slice(0, 255)));
    const name = fc.oneof(fc.constantFrom('emailId', EMAIL_ID_B64_TAG, 'emailId-b64-1-of-2', 'emailId-b64-2-of-2', 'emailId-b64-1-of-3', 'emailId-b64-0-of-3', '__proto__', 'constructor'), fc.string({ maxLength: 20 }));
    const tagValue = fc.oneof(value, fc.array(fc.oneof(value, fc.integer(), fc.constant(null)), { maxLength: 3 }), fc.constant({}));
    fc.assert(
      fc.property(fc.dictionary(name, tagValue, { maxKeys: 5 }), (tags) => {
        const reading = readEmailIdTags(tags);
        if (reading.ok && reading.emailId !== undefined) expect(isValidEmailId(reading.emailId)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('readEmailIdTags on a tags object with an odd prototype', () => {
  it('reads only the object’s own tags', () => {
    const tags = Object.create({ emailId: ['inherited'] }) as Record<string, unknown>;
    expect(readEmailIdTags(tags)).toEqual({ ok: true, emailId: undefined });
  });
});
