/**
 * One table in memory: items by primary key in a Map, each partition of a table with a range
 * key kept sorted for Query, and each secondary index kept as its own sorted partitions so a
 * Query on an index reads only the entries it returns. Items are treated as immutable once
 * stored (a write replaces the item), so they can be handed to JSON.stringify as they are.
 */
import type { AttributeValue, Item } from './expressions.js';
import { getOwn, setOwn } from './attribute-values.js';
import { beginsWith, comparerFor, type KeyType } from './key-order.js';
import { indexScanKey, scanKey, type KeyPart } from './scan-order.js';

export interface KeyAttribute {
  name: string;
  type: KeyType;
}

export type ProjectionType = 'ALL' | 'KEYS_ONLY' | 'INCLUDE';

export interface IndexSchema {
  name: string;
  global: boolean;
  hash: KeyAttribute;
  range?: KeyAttribute;
  projection: ProjectionType;
  /** Attributes an entry of a KEYS_ONLY or INCLUDE index keeps. */
  projected?: readonly string[];
}

export type RangeOperator = '=' | '<' | '<=' | '>' | '>=' | 'BETWEEN' | 'begins_with';

export interface RangeCondition {
  op: RangeOperator;
  /** Raw key values of the range key's type (numbers canonical). */
  values: string[];
}

/** A stored item and its primary key text; indexes hold the same object. */
export interface Entry {
  item: Item;
  hash: string;
  range: string | undefined;
}

/** A stretch of a sorted partition, walked from `from` to `to` inclusive. */
export interface Walk {
  entries: readonly Entry[];
  from: number;
  to: number;
  step: 1 | -1;
}

function keyValue(item: Item, attribute: KeyAttribute): string | undefined {
  const value = getOwn(item, attribute.name) as Record<string, unknown> | undefined;
  if (value === undefined) return undefined;
  const raw = value[attribute.type];
  return typeof raw === 'string' ? raw : undefined;
}

/** First position in [lo, hi) where `before` is false; `before` holds for a prefix of the range. */
function firstNotBefore(entries: readonly Entry[], lo: number, hi: number, before: (entry: Entry) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(entries[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class IndexData {
  readonly partitions = new Map<string, Entry[]>();
  size = 0;
  scanCache: ScanOrder | undefined;

  constructor(
    readonly schema: IndexSchema,
    readonly compare: (a: Entry, b: Entry) => number,
  ) {}
}

export class Table {
  readonly hash: KeyAttribute;
  readonly range: KeyAttribute | undefined;
  readonly indexes: readonly IndexSchema[];
  ttl: { AttributeName: string; Enabled: boolean } | undefined;
  readonly tags = new Map<string, string>();

  private readonly entries = new Map<string, Entry>();
  private readonly partitions = new Map<string, Entry[]>();
  private readonly indexData = new Map<string, IndexData>();
  private readonly compareHash: (a: string, b: string) => number;
  private readonly compareRange: ((a: string, b: string) => number) | undefined;
  private scanCache: ScanOrder | undefined;

  constructor(
    readonly name: string,
    /** The TableDescription as created (status ACTIVE); counts are filled in when described. */
    readonly description: Record<string, unknown>,
    hash: KeyAttribute,
    range: KeyAttribute | undefined,
    indexes: IndexSchema[],
  ) {
    this.hash = hash;
    this.range = range;
    this.indexes = indexes;
    this.compareHash = comparerFor(hash.type);
    this.compareRange = range ? comparerFor(range.type) : undefined;
    for (const index of indexes) this.indexData.set(index.name, new IndexData(index, this.indexComparer(index)));
  }

  get itemCount(): number {
    return this.entries.size;
  }

  indexItemCount(name: string): number {
    return this.indexData.get(name)?.size ?? 0;
  }

  index(name: string): IndexSchema | undefined {
    return this.indexData.get(name)?.schema;
  }

  /** The Map key of a validated key or item. */
  private mapKey(hash: string, range: string | undefined): string {
    return range === undefined ? hash : `${hash.length}:${hash}${range}`;
  }

  private keyOf(item: Item): { hash: string; range: string | undefined } {
    return { hash: keyValue(item, this.hash)!, range: this.range ? keyValue(item, this.range)! : undefined };
  }

  get(key: Item): Item | undefined {
    const hash = keyValue(key, this.hash)!;
    return this.entries.get(this.range ? this.mapKey(hash, keyValue(key, this.range)) : hash)?.item;
  }

  /** All stored items, in no particular order. */
  *items(): IterableIterator<Item> {
    for (const entry of this.entries.values()) yield entry.item;
  }

  /** Stores `item` (validated, with its key) and returns the item it replaced. */
  put(item: Item): Item | undefined {
    const hash = keyValue(item, this.hash)!;
    const range = this.range ? keyValue(item, this.range)! : undefined;
    const mapKey = this.mapKey(hash, range);
    const existing = this.entries.get(mapKey);
    if (existing === undefined) {
      const entry: Entry = { item, hash, range };
      this.entries.set(mapKey, entry);
      if (this.compareRange) this.insertSorted(this.partitionFor(hash), entry, (a, b) => this.compareRange!(a.range!, b.range!));
      for (const data of this.indexData.values()) this.indexAdd(data, entry);
      this.scanCache = undefined;
      return undefined;
    }
    const old = existing.item;
    let moved: IndexData[] | undefined;
    for (const data of this.indexData.values()) {
      if (this.indexKeyChanged(data.schema, old, item)) (moved ??= []).push(data);
    }
    if (moved) for (const data of moved) this.indexRemove(data, existing);
    existing.item = item;
    if (moved) for (const data of moved) this.indexAdd(data, existing);
    return old;
  }

  /** Removes the item with `key` and returns it. */
  delete(key: Item): Item | undefined {
    const { hash, range } = this.keyOf(key);
    const mapKey = this.mapKey(hash, range);
    const existing = this.entries.get(mapKey);
    if (existing === undefined) return undefined;
    for (const data of this.indexData.values()) this.indexRemove(data, existing);
    this.entries.delete(mapKey);
    if (this.compareRange) {
      const partition = this.partitions.get(hash)!;
      const at = firstNotBefore(partition, 0, partition.length, (e) => this.compareRange!(e.range!, range!) < 0);
      partition.splice(at, 1);
      if (partition.length === 0) this.partitions.delete(hash);
    }
    this.scanCache = undefined;
    return existing.item;
  }

  private partitionFor(hash: string): Entry[] {
    let partition = this.partitions.get(hash);
    if (partition === undefined) {
      partition = [];
      this.partitions.set(hash, partition);
    }
    return partition;
  }

  private insertSorted(list: Entry[], entry: Entry, compare: (a: Entry, b: Entry) => number): void {
    // Writes mostly arrive in key order (timestamps), so appending is the common case.
    if (list.length === 0 || compare(list[list.length - 1]!, entry) < 0) {
      list.push(entry);
      return;
    }
    const at = firstNotBefore(list, 0, list.length, (e) => compare(e, entry) < 0);
    list.splice(at, 0, entry);
  }

  // ---- secondary indexes ------------------------------------------------------------------

  /** Index order: the index range key, then the table key (hash, range). */
  private indexComparer(index: IndexSchema): (a: Entry, b: Entry) => number {
    const compareIndexRange = index.range ? comparerFor(index.range.type) : undefined;
    const rangeAttribute = index.range;
    return (a, b) => {
      if (compareIndexRange) {
        const c = compareIndexRange(keyValue(a.item, rangeAttribute!)!, keyValue(b.item, rangeAttribute!)!);
        if (c !== 0) return c;
      }
      const c = this.compareHash(a.hash, b.hash);
      if (c !== 0 || !this.compareRange) return c;
      return this.compareRange(a.range!, b.range!);
    };
  }

  private inIndex(index: IndexSchema, item: Item): boolean {
    return keyValue(item, index.hash) !== undefined && (!index.range || keyValue(item, index.range) !== undefined);
  }

  private indexKeyChanged(index: IndexSchema, before: Item, after: Item): boolean {
    return (
      keyValue(before, index.hash) !== keyValue(after, index.hash) ||
      (index.range !== undefined && keyValue(before, index.range) !== keyValue(after, index.range))
    );
  }

  private indexAdd(data: IndexData, entry: Entry): void {
    if (!this.inIndex(data.schema, entry.item)) return;
    const hash = keyValue(entry.item, data.schema.hash)!;
    let partition = data.partitions.get(hash);
    if (partition === undefined) {
      partition = [];
      data.partitions.set(hash, partition);
    }
    this.insertSorted(partition, entry, data.compare);
    data.size++;
    data.scanCache = undefined;
  }

  private indexRemove(data: IndexData, entry: Entry): void {
    if (!this.inIndex(data.schema, entry.item)) return;
    const hash = keyValue(entry.item, data.schema.hash)!;
    const partition = data.partitions.get(hash);
    if (partition === undefined) return;
    const at = firstNotBefore(partition, 0, partition.length, (e) => data.compare(e, entry) < 0);
    if (partition[at] !== entry) return;
    partition.splice(at, 1);
    if (partition.length === 0) data.partitions.delete(hash);
    data.size--;
    data.scanCache = undefined;
  }

  // ---- Query -------------------------------------------------------------------------------

  /**
   * The entries a Query reads, in the order it reads them: the partition `hash` of the table
   * (or of `indexName`), narrowed by the range condition and started after `start` (an
   * ExclusiveStartKey already checked against the schema).
   */
  queryWalk(indexName: string | undefined, hash: string, range: RangeCondition | undefined, forward: boolean, start: Item | undefined): Walk {
    const data = indexName !== undefined ? this.indexData.get(indexName)! : undefined;
    let entries: readonly Entry[];
    let rangeAttribute: KeyAttribute | undefined;
    let rangeOf: (entry: Entry) => string;
    let compareToStart: ((entry: Entry) => number) | undefined;
    if (data) {
      entries = data.partitions.get(hash) ?? [];
      rangeAttribute = data.schema.range;
      rangeOf = (entry) => keyValue(entry.item, rangeAttribute!)!;
      if (start) {
        const startEntry: Entry = { item: start, ...this.keyOf(start) };
        compareToStart = (entry) => data.compare(entry, startEntry);
      }
    } else if (this.range) {
      entries = this.partitions.get(hash) ?? [];
      rangeAttribute = this.range;
      rangeOf = (entry) => entry.range!;
      if (start) {
        const startRange = keyValue(start, this.range)!;
        compareToStart = (entry) => this.compareRange!(entry.range!, startRange);
      }
    } else {
      const entry = this.entries.get(hash);
      const single = entry && !(start && keyValue(start, this.hash) === hash) ? [entry] : [];
      return { entries: single, from: 0, to: single.length - 1, step: 1 };
    }

    let lo = 0;
    let hi = entries.length;
    if (range && rangeAttribute) {
      const compare = comparerFor(rangeAttribute.type);
      const [x, y] = range.values as [string, string | undefined];
      const below = (e: Entry) => compare(rangeOf(e), x) < 0;
      const atOrBelow = (e: Entry) => compare(rangeOf(e), x) <= 0;
      switch (range.op) {
        case '=':
          lo = firstNotBefore(entries, 0, hi, below);
          hi = firstNotBefore(entries, lo, hi, atOrBelow);
          break;
        case '<':
          hi = firstNotBefore(entries, 0, hi, below);
          break;
        case '<=':
          hi = firstNotBefore(entries, 0, hi, atOrBelow);
          break;
        case '>':
          lo = firstNotBefore(entries, 0, hi, atOrBelow);
          break;
        case '>=':
          lo = firstNotBefore(entries, 0, hi, below);
          break;
        case 'BETWEEN':
          lo = firstNotBefore(entries, 0, hi, below);
          hi = firstNotBefore(entries, lo, hi, (e) => compare(rangeOf(e), y!) <= 0);
          break;
        case 'begins_with':
          lo = firstNotBefore(entries, 0, hi, below);
          hi = firstNotBefore(entries, lo, hi, (e) => beginsWith(rangeAttribute!.type, rangeOf(e), x));
          break;
      }
    }
    if (compareToStart) {
      if (forward) lo = Math.max(lo, firstNotBefore(entries, 0, entries.length, (e) => compareToStart!(e) <= 0));
      else hi = Math.min(hi, firstNotBefore(entries, 0, entries.length, (e) => compareToStart!(e) < 0));
    }
    return forward ? { entries, from: lo, to: hi - 1, step: 1 } : { entries, from: hi - 1, to: lo, step: -1 };
  }

  // ---- Scan --------------------------------------------------------------------------------

  private part(value: string, attribute: KeyAttribute): KeyPart {
    return { value, type: attribute.type };
  }

  /** The scan position of a key (or item) of the table or of one of its indexes. */
  scanPosition(key: Item, indexName?: string): string {
    const tableHash = this.part(keyValue(key, this.hash)!, this.hash);
    const tableRange = this.range ? this.part(keyValue(key, this.range)!, this.range) : undefined;
    const index = indexName !== undefined ? this.indexData.get(indexName)!.schema : undefined;
    if (!index) return scanKey(tableHash, tableRange);
    const indexHash = this.part(keyValue(key, index.hash)!, index.hash);
    const indexRange = index.range ? this.part(keyValue(key, index.range)!, index.range) : undefined;
    return indexScanKey(indexHash, indexRange, tableHash, tableRange);
  }

  /** Every entry of the table (or index) in scan order, and the scan position of each. */
  scanOrder(indexName?: string): ScanOrder {
    if (indexName === undefined) {
      this.scanCache ??= sortedScan([...this.entries.values()].map((entry) => ({ key: this.scanPosition(entry.item), entry })));
      return this.scanCache;
    }
    const data = this.indexData.get(indexName)!;
    if (!data.scanCache) {
      const list: { key: string; entry: Entry }[] = [];
      for (const partition of data.partitions.values()) {
        for (const entry of partition) list.push({ key: this.scanPosition(entry.item, indexName), entry });
      }
      data.scanCache = sortedScan(list);
    }
    return data.scanCache;
  }
}

export interface ScanOrder {
  keys: readonly string[];
  entries: readonly Entry[];
}

function sortedScan(list: { key: string; entry: Entry }[]): ScanOrder {
  list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { keys: list.map((o) => o.key), entries: list.map((o) => o.entry) };
}

/** The attributes of `item` an index entry keeps. */
export function projectForIndex(index: IndexSchema, item: Item): Item {
  if (!index.projected) return item;
  const out: Record<string, AttributeValue> = {};
  for (const name of index.projected) {
    const value = getOwn(item, name);
    if (value !== undefined) setOwn(out, name, value);
  }
  return out;
}
