/**
 * DynamoDB attribute values in their wire form ({ S: 'x' }, { N: '12' }, …) and the value rules
 * DynamoDB applies to them: number validation and exact decimal arithmetic, sort-key ordering,
 * equality (sets as sets, documents deep) and the item size counted against the 400 KB limit.
 */

export type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: string }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] }
  | { M: Record<string, AttributeValue> }
  | { L: AttributeValue[] }
  | { NULL: true }
  | { BOOL: boolean };
export type Item = Record<string, AttributeValue>;

export type AttributeType = 'S' | 'N' | 'B' | 'SS' | 'NS' | 'BS' | 'M' | 'L' | 'NULL' | 'BOOL';

/** Anything DynamoDB answers with a ValidationException; `message` is DynamoDB's own wording. */
export class ExpressionValidationError extends Error {
  override readonly name = 'ValidationException';
}

/** The one type key of a value (values are built with exactly one). */
export function typeOf(value: AttributeValue): AttributeType {
  if ('S' in value) return 'S';
  if ('N' in value) return 'N';
  if ('M' in value) return 'M';
  if ('BOOL' in value) return 'BOOL';
  if ('L' in value) return 'L';
  if ('NULL' in value) return 'NULL';
  if ('B' in value) return 'B';
  if ('SS' in value) return 'SS';
  if ('NS' in value) return 'NS';
  return 'BS';
}

/** Own-property read: item maps come from JSON, so 'constructor' or '__proto__' must not reach Object.prototype. */
export function getOwn<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** Own-property write that also works for the key '__proto__'. */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** A shallow copy of a record, safe for a '__proto__' key. Built key by key on purpose: in V8 an
 *  object made by spread ({ ...record }) turns slow once keys are added to it, as updates do. */
export function copyRecord<T>(record: Record<string, T>): Record<string, T> {
  const copy: Record<string, T> = {};
  for (const key of Object.keys(record)) setOwn(copy, key, record[key] as T);
  return copy;
}

/** A deep copy, so a value taken from a request never aliases one kept in a table. */
export function cloneValue(value: AttributeValue): AttributeValue {
  if ('M' in value) {
    const m: Record<string, AttributeValue> = {};
    for (const key of Object.keys(value.M)) setOwn(m, key, cloneValue(value.M[key] as AttributeValue));
    return { M: m };
  }
  if ('L' in value) return { L: value.L.map(cloneValue) };
  if ('SS' in value) return { SS: [...value.SS] };
  if ('NS' in value) return { NS: [...value.NS] };
  if ('BS' in value) return { BS: [...value.BS] };
  if ('S' in value) return { S: value.S };
  if ('N' in value) return { N: value.N };
  if ('B' in value) return { B: value.B };
  if ('BOOL' in value) return { BOOL: value.BOOL };
  return { NULL: true };
}

// ---------------------------------------------------------------------------------------------
// Numbers. DynamoDB keeps up to 38 significant digits with a magnitude between 1e-130 and 1e125,
// so values are held as an exact decimal: a BigInt coefficient and a power-of-ten scale
// (value = coefficient × 10^-scale). Doubles would lose digits past 2^53.

interface Decimal {
  coefficient: bigint;
  scale: number;
}

const NUMBER_SYNTAX = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const MAX_EXPONENT = 125;
const MIN_EXPONENT = -130;
const MAX_DIGITS = 38;

interface ParsedNumber extends Decimal {
  /** Significant digits (leading and trailing zeros dropped); 0 for zero. */
  digits: number;
  /** Exponent of the first significant digit in scientific notation (0 for zero). */
  exponent: number;
}

function parseNumber(text: string): ParsedNumber | undefined {
  const match = NUMBER_SYNTAX.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '', fraction = '', exp] = match;
  if (whole.length === 0 && fraction.length === 0) return undefined;
  const allDigits = whole + fraction;
  const first = allDigits.search(/[1-9]/);
  const exponentShift = exp === undefined ? 0 : Number(exp);
  if (first === -1) return { coefficient: 0n, scale: 0, digits: 0, exponent: 0 };
  let last = allDigits.length - 1;
  while (allDigits[last] === '0') last--;
  const significant = allDigits.slice(first, last + 1);
  // Position of the last significant digit relative to the decimal point gives the scale.
  const scale = last + 1 - whole.length - exponentShift;
  const magnitude = BigInt(significant);
  return {
    coefficient: sign === '-' ? -magnitude : magnitude,
    scale,
    digits: significant.length,
    exponent: whole.length - 1 - first + exponentShift,
  };
}

function numberError(text: string): ExpressionValidationError {
  return new ExpressionValidationError(
    text === '' ? 'The parameter cannot be converted to a numeric value' : `The parameter cannot be converted to a numeric value: ${text}`,
  );
}

function checkRange(parsed: ParsedNumber): void {
  if (parsed.digits === 0) return;
  if (parsed.exponent > MAX_EXPONENT) {
    throw new ExpressionValidationError('Number overflow. Attempting to store a number with magnitude larger than supported range');
  }
  if (parsed.exponent < MIN_EXPONENT) {
    throw new ExpressionValidationError('Number underflow. Attempting to store a number with magnitude smaller than supported range');
  }
  if (parsed.digits > MAX_DIGITS) {
    throw new ExpressionValidationError('Attempting to store more than 38 significant digits in a Number');
  }
}

function formatDecimal({ coefficient, scale }: Decimal): string {
  if (coefficient === 0n) return '0';
  const negative = coefficient < 0n;
  let digits = (negative ? -coefficient : coefficient).toString();
  let s = scale;
  while (s > 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    s--;
  }
  let text: string;
  if (s <= 0) text = digits + '0'.repeat(-s);
  else if (digits.length > s) text = `${digits.slice(0, digits.length - s)}.${digits.slice(digits.length - s)}`;
  else text = `0.${'0'.repeat(s - digits.length)}${digits}`;
  return negative ? `-${text}` : text;
}

/** Validates a number string as DynamoDB does and returns its canonical form ("01.50" -> "1.5"); throws ExpressionValidationError otherwise. */
export function normalizeNumber(n: string): string {
  const parsed = parseNumber(n);
  if (!parsed) throw numberError(n);
  checkRange(parsed);
  return formatDecimal(parsed);
}

function decimalOf(n: string): Decimal {
  const parsed = parseNumber(n);
  if (!parsed) throw numberError(n);
  return parsed;
}

function aligned(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.coefficient * 10n ** BigInt(scale - a.scale), b.coefficient * 10n ** BigInt(scale - b.scale), scale];
}

/** Exact a + b (or a - b) of two DynamoDB numbers, canonical, range-checked like a stored number. */
export function addNumbers(a: string, b: string, subtract = false): string {
  const [x, y, scale] = aligned(decimalOf(a), decimalOf(b));
  const result = formatDecimal({ coefficient: subtract ? x - y : x + y, scale });
  return normalizeNumber(result);
}

// Decimal strings of at most 15 digits convert to distinct doubles in the same order, so the
// common case (counters, timestamps, ranks) compares without BigInt.
const FAST_COMPARE_LENGTH = 15;

/** Numeric order of two DynamoDB number strings: negative, zero or positive. */
export function compareNumbers(a: string, b: string): number {
  if (a.length <= FAST_COMPARE_LENGTH && b.length <= FAST_COMPARE_LENGTH) {
    const x = Number(a);
    const y = Number(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x < y ? -1 : x > y ? 1 : 0;
  }
  const [x, y] = aligned(decimalOf(a), decimalOf(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Ordering and equality.

/** UTF-8 byte order of two JS strings without encoding them: UTF-16 order matches code-point
 *  (and so UTF-8) order except that surrogates (astral characters) must sort above U+E000–U+FFFF. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function compareBinary(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'base64'), Buffer.from(b, 'base64'));
}

const TYPE_ORDER: Record<AttributeType, number> = { B: 0, BOOL: 1, BS: 2, L: 3, M: 4, N: 5, NS: 6, NULL: 7, S: 8, SS: 9 };

/** Sort-key order: S by UTF-8 bytes, N numerically, B by bytes. Values of different types
 *  (never both in one key) are ordered by type name so a sort stays total. */
export function compareValues(a: AttributeValue, b: AttributeValue): number {
  if ('S' in a && 'S' in b) return compareUtf8(a.S, b.S);
  if ('N' in a && 'N' in b) return compareNumbers(a.N, b.N);
  if ('B' in a && 'B' in b) return compareBinary(a.B, b.B);
  const ta = typeOf(a);
  const tb = typeOf(b);
  return ta === tb ? 0 : TYPE_ORDER[ta] - TYPE_ORDER[tb];
}

function sameBytes(a: string, b: string): boolean {
  return a === b || compareBinary(a, b) === 0;
}

function sameMembers(a: string[], b: string[], equal: (x: string, y: string) => boolean): boolean {
  if (a.length !== b.length) return false;
  return a.every((x) => b.some((y) => equal(x, y)));
}

function sameNumber(a: string, b: string): boolean {
  return a === b || compareNumbers(a, b) === 0;
}

/** DynamoDB equality: same type and value; sets compare as sets, M and L deep. */
export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  if ('S' in a) return 'S' in b && a.S === b.S;
  if ('N' in a) return 'N' in b && sameNumber(a.N, b.N);
  if ('BOOL' in a) return 'BOOL' in b && a.BOOL === b.BOOL;
  if ('NULL' in a) return 'NULL' in b;
  if ('B' in a) return 'B' in b && sameBytes(a.B, b.B);
  if ('SS' in a) return 'SS' in b && sameMembers(a.SS, b.SS, (x, y) => x === y);
  if ('NS' in a) return 'NS' in b && sameMembers(a.NS, b.NS, sameNumber);
  if ('BS' in a) return 'BS' in b && sameMembers(a.BS, b.BS, sameBytes);
  if ('L' in a) {
    if (!('L' in b) || a.L.length !== b.L.length) return false;
    return a.L.every((x, i) => valuesEqual(x, b.L[i] as AttributeValue));
  }
  if (!('M' in b)) return false;
  const keys = Object.keys(a.M);
  if (keys.length !== Object.keys(b.M).length) return false;
  return keys.every((key) => {
    const other = getOwn(b.M, key);
    return other !== undefined && valuesEqual(a.M[key] as AttributeValue, other);
  });
}

// ---------------------------------------------------------------------------------------------
// Size.

function numberSize(n: string): number {
  const parsed = parseNumber(n);
  if (!parsed || parsed.digits === 0) return 1;
  // Stored as base-100 digit pairs: one byte per pair plus one, a pair more when the digits do
  // not line up with the exponent, and a byte for the sign of negatives.
  const { digits, exponent } = parsed;
  const pairPadding = digits % 2 !== 0 || exponent % 2 !== 0 ? 0 : 1;
  return 1 + Math.ceil(digits / 2) + pairPadding + (parsed.coefficient < 0n ? 1 : 0);
}

function binarySize(b: string): number {
  return Buffer.byteLength(b, 'base64');
}

/** Size in bytes of one attribute value, as DynamoDB counts it. */
export function valueSize(value: AttributeValue): number {
  if ('S' in value) return Buffer.byteLength(value.S, 'utf8');
  if ('N' in value) return numberSize(value.N);
  if ('B' in value) return binarySize(value.B);
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('SS' in value) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s, 'utf8'), 0);
  if ('NS' in value) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if ('BS' in value) return value.BS.reduce((sum, b) => sum + binarySize(b), 0);
  // Documents: 3 bytes of overhead plus 1 byte per element.
  if ('L' in value) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  const keys = Object.keys(value.M);
  return 3 + keys.length + itemSize(value.M);
}

/** DynamoDB's item size (attribute name UTF-8 length + value sizes) for the 400 KB limit. */
export function itemSize(item: Item): number {
  let size = 0;
  for (const name of Object.keys(item)) size += Buffer.byteLength(name, 'utf8') + valueSize(item[name] as AttributeValue);
  return size;
}
