/**
 * Ordering of key values as DynamoDB sorts a range key: strings by their UTF-8 bytes,
 * numbers by value, binary by bytes. Key values arrive here as the raw text of an attribute
 * value of the key's declared type (numbers already canonical).
 */

export type KeyType = 'S' | 'N' | 'B';

/**
 * UTF-16 code units compare like UTF-8 bytes except that surrogates (U+D800-DFFF, code points
 * above U+FFFF) must sort after U+E000-FFFF; shifting them past that range restores UTF-8 order.
 */
function utf8Unit(code: number): number {
  if (code >= 0xd800 && code <= 0xdfff) return code + 0x2000;
  if (code >= 0xe000) return code - 0x800;
  return code;
}

export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x < 0xd800 && y < 0xd800) return x - y;
      return utf8Unit(x) - utf8Unit(y);
    }
  }
  return a.length - b.length;
}

/** Canonical decimal text: optional '-', integer digits without leading zeros (or "0"), optional fraction without trailing zeros. */
function compareMagnitude(a: string, b: string): number {
  const dotA = a.indexOf('.');
  const dotB = b.indexOf('.');
  const intA = dotA < 0 ? a : a.slice(0, dotA);
  const intB = dotB < 0 ? b : b.slice(0, dotB);
  const zeroA = intA === '0';
  const zeroB = intB === '0';
  if (!zeroA || !zeroB) {
    const lengthA = zeroA ? 0 : intA.length;
    const lengthB = zeroB ? 0 : intB.length;
    if (lengthA !== lengthB) return lengthA - lengthB;
    if (intA !== intB) return intA < intB ? -1 : 1;
  }
  const fracA = dotA < 0 ? '' : a.slice(dotA + 1);
  const fracB = dotB < 0 ? '' : b.slice(dotB + 1);
  if (fracA === fracB) return 0;
  return fracA < fracB ? -1 : 1;
}

export function compareNumbers(a: string, b: string): number {
  if (a === b) return 0;
  const negA = a.charCodeAt(0) === 45;
  const negB = b.charCodeAt(0) === 45;
  if (negA !== negB) return negA ? -1 : 1;
  return negA ? compareMagnitude(b.slice(1), a.slice(1)) : compareMagnitude(a, b);
}

export function compareBinary(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'base64'), Buffer.from(b, 'base64'));
}

export function comparerFor(type: KeyType): (a: string, b: string) => number {
  return type === 'S' ? compareUtf8 : type === 'N' ? compareNumbers : compareBinary;
}

/** begins_with on a key value: by characters for strings, by bytes for binary. */
export function beginsWith(type: KeyType, value: string, prefix: string): boolean {
  if (type === 'B') {
    const bytes = Buffer.from(value, 'base64');
    const start = Buffer.from(prefix, 'base64');
    return bytes.length >= start.length && bytes.subarray(0, start.length).equals(start);
  }
  return value.startsWith(prefix);
}
