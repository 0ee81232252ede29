/**
 * How much of Query's and Scan's 1 MB page an item takes. DynamoDB counts the item as it
 * stores it (a compact encoding with per-value overheads, the range key apart), not the
 * 400 KB-limit size; these are dynalite's measurements of that encoding, so a page breaks
 * at the same item here as there.
 */
import type { AttributeValue, Item } from './expressions.js';
import { parseDecimal } from './scan-order.js';

export const PAGE_BYTES = 1024 * 1024;

function numberSize(text: string): number {
  const { negative, digits, exponent } = parseDecimal(text);
  if (digits === '0') return 1;
  const count = digits.length;
  return 1 + Math.ceil(count / 2) + (count % 2 || exponent % 2 ? 0 : 1) + (negative ? 1 : 0);
}

function valueSize(value: AttributeValue): number {
  if ('S' in value) return value.S.length;
  if ('N' in value) return numberSize(value.N);
  if ('B' in value) return Buffer.from(value.B, 'base64').length;
  if ('SS' in value) return value.SS.reduce((sum, s) => sum + s.length, 0);
  if ('NS' in value) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if ('BS' in value) return value.BS.reduce((sum, b) => sum + Buffer.from(b, 'base64').length, 0);
  if ('L' in value) return 3 + value.L.reduce((sum, v) => sum + 1 + storedValueSize(v, true), 0);
  if ('M' in value) return 3 + Object.keys(value.M).length + mapSize(value.M, true, undefined);
  return 1; // NULL, BOOL
}

function storedValueSize(value: AttributeValue, compress: boolean): number {
  if (!compress) return valueSize(value);
  const size = valueSize(value);
  if ('S' in value) return size + (size < 128 ? 1 : size < 16384 ? 2 : 3);
  if ('B' in value || 'N' in value) return size + 1;
  if ('SS' in value) return size + value.SS.length + 1;
  if ('NS' in value) return size + value.NS.length + 1;
  if ('BS' in value) return size + value.BS.length + 1;
  if ('NULL' in value) return 0;
  if ('BOOL' in value) return 1;
  return size;
}

function mapSize(item: Item, compress: boolean, rangeKey: string | undefined): number {
  let size = 0;
  for (const name in item) {
    if (compress && name === rangeKey) continue;
    size += storedValueSize(item[name]!, compress) + (compress ? 1 : name.length);
  }
  return size;
}

/** The share of a page `item` takes; `rangeKey` is the table's range key attribute. */
export function pageSize(item: Item, rangeKey: string | undefined): number {
  const size = mapSize(item, true, rangeKey);
  const rangeValue = rangeKey !== undefined ? item[rangeKey] : undefined;
  const rangeSize = rangeValue ? storedValueSize(rangeValue, false) : 0;
  return 2 + size + (1 + Math.floor((1 + size) / 3072)) * (18 + rangeSize);
}
