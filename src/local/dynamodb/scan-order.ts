/**
 * The order in which Scan walks a table, and how Segment/TotalSegments split it: DynamoDB
 * scans by a hash of the partition key, and this is dynalite's rendering of that hash (md5
 * of the key bytes, first six hex digits), so scans page and split the same way there and here.
 */
import { createHash } from 'node:crypto';
import type { KeyType } from './key-order.js';

export interface Decimal {
  negative: boolean;
  /** Significant digits, no leading or trailing zeros ("0" for zero). */
  digits: string;
  /** Value = d0.d1d2... × 10^exponent. */
  exponent: number;
}

/** A canonical DynamoDB number split into sign, significant digits and exponent (page-size.ts sizes numbers from it too). */
export function parseDecimal(text: string): Decimal {
  const negative = text.startsWith('-');
  const body = negative ? text.slice(1) : text;
  const dot = body.indexOf('.');
  const intPart = dot < 0 ? body : body.slice(0, dot);
  const all = intPart + (dot < 0 ? '' : body.slice(dot + 1));
  let first = 0;
  while (first < all.length && all[first] === '0') first++;
  if (first === all.length) return { negative: false, digits: '0', exponent: 0 };
  let last = all.length;
  while (last > first && all[last - 1] === '0') last--;
  return { negative, digits: all.slice(first, last), exponent: intPart.length - 1 - first };
}

/** Lexicographically sortable text of a number (dynalite's toLexiStr). */
function numberLexi(text: string): string {
  const n = parseDecimal(text);
  const exp = n.digits === '0' ? 0 : n.negative ? 125 - n.exponent : 130 + n.exponent;
  let digits: string;
  if (n.negative) {
    // 10 - d0.d1d2..., written without its decimal point.
    const scale = n.digits.length - 1;
    const rest = 10n ** BigInt(n.digits.length) - BigInt(n.digits);
    const whole = (rest / 10n ** BigInt(scale)).toString();
    const fraction = (rest % 10n ** BigInt(scale)).toString().padStart(scale, '0').replace(/0+$/, '');
    digits = whole + fraction;
  } else {
    digits = n.digits;
  }
  return (n.negative ? '0' : '1') + ('0' + exp.toString(16)).slice(-2) + digits;
}

function numberBytes(text: string): Buffer {
  const n = parseDecimal(text);
  if (n.digits === '0') return Buffer.from([0x80]);
  const mantissa = [...n.digits].map(Number);
  const exponent = n.exponent + 1;
  const appendZero = exponent % 2 ? 1 : 0;
  const lengthWithoutExponent = Math.floor((mantissa.length + appendZero + 1) / 2);
  let bytes: number[];
  if (lengthWithoutExponent < 20 && n.negative) {
    bytes = new Array<number>(lengthWithoutExponent + 2);
    bytes[lengthWithoutExponent + 1] = 102;
  } else {
    bytes = new Array<number>(lengthWithoutExponent + 1);
  }
  bytes[0] = Math.floor((exponent + appendZero) / 2) - 64;
  if (n.negative) bytes[0] ^= 0xffffffff;
  let appendedZero = false;
  for (let m = 0; m < mantissa.length; m++) {
    const at = Math.floor((m + appendZero) / 2) + 1;
    if (appendZero && !m && !appendedZero) {
      bytes[at] = 0;
      appendedZero = true;
      m--;
    } else if ((m + appendZero) % 2 === 0) {
      bytes[at] = mantissa[m]! * 10;
    } else {
      bytes[at] = bytes[at]! + mantissa[m]!;
    }
    if ((m + appendZero) % 2 || m === mantissa.length - 1) {
      bytes[at] = n.negative ? 101 - bytes[at]! : bytes[at]! + 1;
    }
  }
  return Buffer.from(bytes);
}

function keyBytes(value: string, type: KeyType): Buffer {
  if (type === 'S') return Buffer.from(value, 'utf8');
  if (type === 'N') return numberBytes(value);
  return Buffer.from(value, 'base64');
}

export function hashPrefix(hash: string, hashType: KeyType, range?: string, rangeType?: KeyType): string {
  const md5 = createHash('md5').update('Outliers').update(keyBytes(hash, hashType));
  if (range && rangeType) md5.update(keyBytes(range, rangeType));
  return md5.digest('hex').slice(0, 6);
}

function rangeText(value: string, type: KeyType): string {
  if (type === 'S') return Buffer.from(value, 'utf8').toString('hex');
  if (type === 'N') return numberLexi(value);
  return Buffer.from(value, 'base64').toString('hex');
}

export interface KeyPart {
  value: string;
  type: KeyType;
}

/** The scan position of an item under a key schema (hash, then optional range). */
export function scanKey(hash: KeyPart, range?: KeyPart): string {
  let key = `${hashPrefix(hash.value, hash.type)}/${rangeText(hash.value, hash.type)}/`;
  if (range) key += `${rangeText(range.value, range.type)}/`;
  return key;
}

/** The scan position of an index entry: its index key, then a hash of the table key. */
export function indexScanKey(indexHash: KeyPart, indexRange: KeyPart | undefined, tableHash: KeyPart, tableRange?: KeyPart): string {
  return scanKey(indexHash, indexRange) + hashPrefix(tableHash.value, tableHash.type, tableRange?.value, tableRange?.type);
}

/** Bounds of segment `segment` of `total` over scan keys (exclusive start, exclusive end). */
export function segmentBounds(segment: number, total: number): { after?: string; before?: string } {
  if (total <= 1) return {};
  const after = segment > 0 ? ('00' + Math.ceil((4096 * segment) / total).toString(16)).slice(-3) : undefined;
  const before = ('00' + (Math.ceil((4096 * (segment + 1)) / total) - 1).toString(16)).slice(-3) + '~';
  return { ...(after !== undefined ? { after } : {}), before };
}
