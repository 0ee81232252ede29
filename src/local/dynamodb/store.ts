/**
 * An in-memory, DynamoDB-compatible store that local mode runs in its own process: one
 * synchronous call per request (AWS JSON 1.0 text in, text out), plain Maps underneath, and
 * an optional JSON snapshot and journal on disk. Requests, answers and errors follow DynamoDB's API
 * (checked against dynalite and AWS's documentation by tests/integration/local-dynamodb.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { getOwn, setOwn } from './attribute-values.js';
import {
  ExpressionUsage,
  ExpressionValidationError,
  itemSize,
  parseCondition,
  parseKeyCondition,
  parseProjection,
  parseUpdate,
  projectPaths,
  type AttributeValue,
  type Condition,
  type DocumentPath,
  type ExpressionInputs,
  type Item,
  type Projection,
  type Update,
} from './expressions.js';
import {
  DynamoDbError,
  accessDenied,
  conditionalCheckFailed,
  internalError,
  resourceInUse,
  resourceNotFound,
  serializationError,
  transactionCanceled,
  unknownOperationError,
  validationError,
  type CancellationReason,
} from './errors.js';
import { PAGE_BYTES, pageSize } from './page-size.js';
import { beginsWith, comparerFor } from './key-order.js';
import { hashPrefix, segmentBounds } from './scan-order.js';
import { loadSnapshot, removeStaleTemporaries, saveSnapshot, type TableSnapshot } from './snapshot.js';
import { JournalWriter, journalFile, journalFiles, readJournal, removeJournal, type JournalEffect } from './journal.js';
import { Table, projectForIndex, type IndexSchema, type KeyAttribute, type RangeCondition, type Walk } from './table.js';
import {
  Constraints,
  MAX_NESTING,
  NESTING_MESSAGE,
  attributeMap,
  attributeMapMember,
  booleanMember,
  checkExpressionInputs,
  checkExpressionParams,
  checkExpressionValues,
  expressionValuesMember,
  integerMember,
  listMember,
  requireTableName,
  stringMapMember,
  stringMember,
  structMember,
  typeOf,
  type Json,
} from './validation.js';

export interface LocalDynamoDbOptions {
  region: string;
  account: string;
  /**
   * JSON snapshot file: loaded by open() when it exists, then the journal files beside it
   * replayed. Each call's changes are journaled before respond() answers it. The journal is
   * folded into a new snapshot (tmp + fsync + rename) on close() and, once it has grown as
   * large as the snapshot and at least `foldBytes`, about a second later (debounced,
   * unref'd timer). Absent = memory only.
   */
  dataFile?: string;
  /** The journal size below which it is not folded before close (default 8 MiB). */
  foldBytes?: number;
}

const MAX_ITEM_BYTES = 400 * 1024;
const BATCH_GET_RESPONSE_BYTES = 16 * 1024 * 1024;
const SAVE_DELAY_MS = 1000;
/**
 * The journal is folded once it is as large as the snapshot, and at least this large:
 * rewriting the whole store after every second of writes would cost a burst more than the
 * journal itself; this way each byte written costs about two on disk, and the replay at
 * start reads at most about as much as the snapshot.
 */
const FOLD_MIN_BYTES = 8 * 1024 * 1024;

const CAPACITY_MODES = ['INDEXES', 'TOTAL', 'NONE'] as const;
const METRICS_MODES = ['SIZE', 'NONE'] as const;
const RETURN_VALUES = ['ALL_NEW', 'UPDATED_OLD', 'ALL_OLD', 'NONE', 'UPDATED_NEW'] as const;
const SELECT_MODES = ['SPECIFIC_ATTRIBUTES', 'COUNT', 'ALL_ATTRIBUTES', 'ALL_PROJECTED_ATTRIBUTES'] as const;
const ON_CONDITION_FAILURE = ['ALL_OLD', 'NONE'] as const;

const KEY_MISMATCH = 'The provided key element does not match the schema';

type Handler = (this: LocalDynamoDb, data: Json) => unknown;

// ---- small helpers ---------------------------------------------------------------------------

function raw(value: AttributeValue | undefined, type: string): string | undefined {
  if (value === undefined) return undefined;
  const inner = (value as Record<string, unknown>)[type];
  return typeof inner === 'string' ? inner : undefined;
}

function byteLength(value: string, type: string): number {
  return type === 'B' ? Buffer.byteLength(value, 'base64') : type === 'S' ? Buffer.byteLength(value, 'utf8') : 0;
}

function checkKeySize(value: string, attribute: KeyAttribute, isHash: boolean): void {
  if (attribute.type === 'N') return;
  const size = byteLength(value, attribute.type);
  if (isHash && size > 2048) {
    throw validationError('One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes');
  }
  if (!isHash && size > 1024) {
    throw validationError('One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes');
  }
}

function emptyKeyWord(type: string): string {
  return type === 'S' ? 'string' : 'binary';
}

function checkKeyPiece(key: Item, attribute: KeyAttribute, isHash: boolean): void {
  const value = raw(getOwn(key, attribute.name), attribute.type);
  if (value === undefined) throw validationError(KEY_MISMATCH);
  if (value === '' && attribute.type !== 'N') {
    throw validationError(
      `One or more parameter values were invalid: The AttributeValue for a key attribute cannot contain an empty ${emptyKeyWord(attribute.type)} value. Key: ${attribute.name}`,
    );
  }
  checkKeySize(value, attribute, isHash);
}

/** A Key member against the table's key schema. */
function checkKey(table: Table, key: Item): void {
  let count = 0;
  for (const _ in key) count++;
  if (count !== (table.range ? 2 : 1)) throw validationError(KEY_MISMATCH);
  checkKeyPiece(key, table.hash, true);
  if (table.range) checkKeyPiece(key, table.range, false);
}

/** An item's key attributes and the types of its index key attributes. */
function checkItem(table: Table, item: Item): void {
  checkItemKey(item, table.hash, true);
  if (table.range) checkItemKey(item, table.range, false);
  checkIndexKeys(table, item);
}

function checkItemKey(item: Item, attribute: KeyAttribute, isHash: boolean): void {
  const value = getOwn(item, attribute.name);
  if (value === undefined) {
    throw validationError(`One or more parameter values were invalid: Missing the key ${attribute.name} in the item`);
  }
  const text = raw(value, attribute.type);
  if (text === undefined) {
    throw validationError(
      `One or more parameter values were invalid: Type mismatch for key ${attribute.name} expected: ${attribute.type} actual: ${typeOf(value)}`,
    );
  }
  if (text === '' && attribute.type !== 'N') {
    throw validationError(
      `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty ${emptyKeyWord(attribute.type)} value. Key: ${attribute.name}`,
    );
  }
  checkKeySize(text, attribute, isHash);
}

/** Index key attributes, when present, must have their declared type and (strings, binary) not be empty. */
function checkIndexKeys(table: Table, item: Item): void {
  for (const index of table.indexes) {
    checkIndexKey(item, index, index.hash);
    if (index.range) checkIndexKey(item, index, index.range);
  }
}

function checkIndexKey(item: Item, index: IndexSchema, attribute: KeyAttribute): void {
  const value = getOwn(item, attribute.name);
  if (value === undefined) return;
  const text = raw(value, attribute.type);
  if (text === undefined) {
    throw validationError(
      `One or more parameter values were invalid: Type mismatch for Index Key ${attribute.name} Expected: ${attribute.type} Actual: ${typeOf(value)} IndexName: ${index.name}`,
    );
  }
  if (text === '' && attribute.type !== 'N') {
    throw validationError(
      'One or more parameter values are not valid. A value specified for a secondary index key is not supported. ' +
        `The AttributeValue for a key attribute cannot contain an empty ${emptyKeyWord(attribute.type)} value. IndexName: ${index.name}, IndexKey: ${attribute.name}`,
    );
  }
}

function keyOfItem(table: Table, item: Item): Item {
  const key: Item = {};
  setOwn(key, table.hash.name, getOwn(item, table.hash.name)!);
  if (table.range) setOwn(key, table.range.name, getOwn(item, table.range.name)!);
  return key;
}

/** The attributes `names` of `item` (own properties only: attribute names such as 'constructor' or '__proto__' come from requests). */
function pick(item: Item, names: readonly string[]): Item {
  const out: Item = {};
  for (const name of names) {
    const value = getOwn(item, name);
    if (value !== undefined) setOwn(out, name, value);
  }
  return out;
}

/** The number of maps and lists `value` nests (0 for a scalar or a set). */
function nesting(value: AttributeValue): number {
  let inner: AttributeValue[];
  if ('M' in value) inner = Object.values(value.M);
  else if ('L' in value) inner = value.L;
  else return 0;
  let deepest = 0;
  for (const element of inner) deepest = Math.max(deepest, nesting(element));
  return 1 + deepest;
}

/** Item sizes by item: stored items never change, so a size is counted once. */
const SIZES = new WeakMap<Item, number>();

function sizeOf(item: Item): number {
  let size = SIZES.get(item);
  if (size === undefined) {
    size = itemSize(item);
    SIZES.set(item, size);
  }
  return size;
}

/** A request body this short cannot hold an item over the limit: an item byte takes at least a third of a character of JSON. */
const SHORT_BODY = Math.floor(MAX_ITEM_BYTES / 3);

/** The size of `after`, an update of `before` that changed the top-level attributes `updated`. */
function updatedSize(before: Item | undefined, after: Item, updated: readonly string[]): number {
  if (!before) return sizeOf(after);
  let size = sizeOf(before);
  for (const name of updated) {
    const old = getOwn(before, name);
    const value = getOwn(after, name);
    if (old !== undefined) size -= itemSize({ [name]: old });
    if (value !== undefined) size += itemSize({ [name]: value });
  }
  SIZES.set(after, size);
  return size;
}

const PAGE_SIZES = new WeakMap<Item, number>();

/** The page share of a stored item, counted once per item version. */
function storedPageSize(item: Item, rangeKey: string | undefined): number {
  let size = PAGE_SIZES.get(item);
  if (size === undefined) {
    size = pageSize(item, rangeKey);
    PAGE_SIZES.set(item, size);
  }
  return size;
}

function capacityUnits(item: Item | undefined, read: boolean, consistent: boolean): number {
  const size = item ? Math.ceil(sizeOf(item) / 1024 / (read ? 4 : 1)) : 1;
  return size / (!read || consistent ? 1 : 2);
}

function wantsCapacity(mode: string | undefined): boolean {
  return mode === 'TOTAL' || mode === 'INDEXES';
}

function consumed(mode: string | undefined, tableName: string, units: number): Json {
  return mode === 'INDEXES' ? { CapacityUnits: units, TableName: tableName, Table: { CapacityUnits: units } } : { CapacityUnits: units, TableName: tableName };
}

function writeUnits(before: Item | undefined, after: Item | undefined): number {
  const units = capacityUnits(before, false, false);
  return after === undefined ? units : Math.max(units, capacityUnits(after, false, false));
}

/** The expressions of one request, parsed in DynamoDB's order, with unused names/values refused. */
class RequestExpressions {
  readonly inputs: ExpressionInputs;
  readonly usage: ExpressionUsage | undefined;

  constructor(data: Json) {
    const names = stringMapMember(data, 'ExpressionAttributeNames');
    const values = expressionValuesMember(data);
    checkExpressionInputs(names, values);
    if (values) checkExpressionValues(values);
    const inputs: ExpressionInputs = {};
    if (names) inputs.names = names;
    if (values) inputs.values = values;
    this.inputs = inputs;
    this.usage = names || values || hasExpression(data) ? new ExpressionUsage(this.inputs) : undefined;
  }

  update(text: string | undefined): Update | undefined {
    if (text === undefined) return undefined;
    return parseUpdate(text, this.inputs, this.usage!);
  }

  condition(text: string | undefined, kind: 'ConditionExpression' | 'FilterExpression'): Condition | undefined {
    if (text === undefined) return undefined;
    return parseCondition(text, this.inputs, this.usage!, kind);
  }

  projection(text: string | undefined): Projection | undefined {
    if (text === undefined) return undefined;
    return parseProjection(text, this.inputs, this.usage!);
  }

  done(): void {
    this.usage?.assertAllUsed();
  }
}

function hasExpression(data: Json): boolean {
  return (
    data.UpdateExpression != null ||
    data.ConditionExpression != null ||
    data.KeyConditionExpression != null ||
    data.FilterExpression != null ||
    data.ProjectionExpression != null
  );
}

/** Members of the pre-expression API, which this store does not implement. */
function refuseLegacy(data: Json, members: readonly string[]): void {
  for (const member of members) {
    if (data[member] !== undefined && data[member] !== null) {
      throw validationError(`${member} is not supported by the local DynamoDB store; use the expression parameters instead`);
    }
  }
}

function duplicateIn(names: readonly unknown[]): unknown {
  const seen = new Set<unknown>();
  for (const name of names) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/** AttributesToGet: strings, 1-255 of them, no duplicates (constraints are checked by the caller). */
function attributesToGet(data: Json): string[] | undefined {
  const list = listMember(data, 'AttributesToGet');
  if (list === undefined) return undefined;
  for (const name of list) if (typeof name !== 'string') stringMember({ v: name }, 'v');
  return list as string[];
}

function checkAttributesToGetDuplicates(names: string[] | undefined): void {
  if (!names) return;
  const duplicate = duplicateIn(names);
  if (duplicate !== undefined) {
    throw validationError(`One or more parameter values were invalid: Duplicate value in attribute name: ${String(duplicate)}`);
  }
}

function keyAttributes(schema: unknown[], definitions: Map<string, string>): { hash: KeyAttribute; range?: KeyAttribute } {
  const elements = schema as { AttributeName: string; KeyType: string }[];
  const hash = { name: elements[0]!.AttributeName, type: definitions.get(elements[0]!.AttributeName) as KeyAttribute['type'] };
  const second = elements[1];
  return second ? { hash, range: { name: second.AttributeName, type: definitions.get(second.AttributeName) as KeyAttribute['type'] } } : { hash };
}

/** A Table for a stored TableDescription. */
function tableFromDescription(description: Json): Table {
  const definitions = new Map(
    (description.AttributeDefinitions as { AttributeName: string; AttributeType: string }[]).map((d) => [d.AttributeName, d.AttributeType]),
  );
  const { hash, range } = keyAttributes(description.KeySchema as unknown[], definitions);
  const tableKeys = range ? [hash.name, range.name] : [hash.name];
  const indexes: IndexSchema[] = [];
  for (const [member, global] of [
    ['GlobalSecondaryIndexes', true],
    ['LocalSecondaryIndexes', false],
  ] as const) {
    for (const index of (description[member] as Json[] | undefined) ?? []) {
      const keys = keyAttributes(index.KeySchema as unknown[], definitions);
      const projection = index.Projection as { ProjectionType?: string; NonKeyAttributes?: string[] };
      const type = (projection.ProjectionType ?? 'ALL') as IndexSchema['projection'];
      const indexKeys = keys.range ? [keys.hash.name, keys.range.name] : [keys.hash.name];
      const projected = type === 'ALL' ? undefined : [...new Set([...indexKeys, ...tableKeys, ...(type === 'INCLUDE' ? (projection.NonKeyAttributes ?? []) : [])])];
      indexes.push({ name: index.IndexName as string, global, ...keys, projection: type, ...(projected ? { projected } : {}) });
    }
  }
  return new Table(description.TableName as string, description, hash, range, indexes);
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

// ---- the store -------------------------------------------------------------------------------

export interface StoreAnswer {
  statusCode: number;
  body: string;
}

export class LocalDynamoDb {
  private readonly tables = new Map<string, Table>();
  private saveTimer: NodeJS.Timeout | undefined;
  /** Length of the request body being answered (bounds the size of the items in it). */
  private bodyLength = 0;
  private dirty = false;
  private closed = false;
  private saving: Promise<void> | undefined;
  private lastSaveMs = 0;
  private snapshotBytes = 0;
  /** The journal file being appended to (with a data file), and its number (the snapshot holds every lower one). */
  private journal: JournalWriter | undefined;
  private journalNumber = 0;
  /** The changes of the call being answered, collected for the journal. */
  private effects: JournalEffect[] | undefined;

  private constructor(private readonly options: LocalDynamoDbOptions) {}

  static async open(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
    const db = new LocalDynamoDb(options);
    const file = options.dataFile;
    if (!file) return db;
    await removeStaleTemporaries(file);
    const snapshot = await loadSnapshot(file);
    for (const saved of snapshot?.tables ?? []) db.restore(saved, file);
    db.snapshotBytes = snapshot ? (await stat(file)).size : 0;
    db.journalNumber = snapshot?.journal ?? 0;
    const journals = await journalFiles(file);
    let replayed = false;
    for (const { n, file: journal } of journals) {
      if (n <= db.journalNumber) {
        // Folded into the snapshot already (the process stopped before deleting it).
        await removeJournal(journal);
        continue;
      }
      const { entries } = await readJournal(journal);
      for (const entry of entries) for (const effect of entry) db.replay(effect, journal);
      db.journalNumber = n;
      replayed = true;
    }
    db.journalNumber += 1;
    db.journal = new JournalWriter(journalFile(file, db.journalNumber));
    // Folded at once: the replayed files (and a torn tail in one) are gone before anything is appended.
    if (replayed) await db.save();
    return db;
  }

  /** One journaled change, applied at open as the call that made it did. */
  private replay(effect: JournalEffect, file: string): void {
    try {
      if (effect.op === 'table') {
        let table = this.tables.get(effect.table);
        if (!table) {
          table = tableFromDescription(effect.definition);
          this.tables.set(table.name, table);
        }
        table.ttl = effect.ttl;
        table.tags.clear();
        for (const [key, value] of Object.entries(effect.tags ?? {})) table.tags.set(key, value);
        return;
      }
      if (effect.op === 'drop') {
        this.tables.delete(effect.table);
        return;
      }
      const table = this.tables.get(effect.table);
      if (!table) throw new Error(`no table ${effect.table}`);
      if (effect.op === 'put') {
        const item = attributeMap(effect.item);
        checkItem(table, item);
        table.put(item);
      } else {
        table.delete(attributeMap(effect.key));
      }
    } catch (error) {
      throw new Error(`The DynamoDB journal ${file} holds a change that cannot be applied: ${(error as Error).message}`, { cause: error });
    }
  }

  private restore(saved: TableSnapshot, file: string): void {
    let table: Table;
    try {
      table = tableFromDescription(saved.definition);
      if (saved.ttl) table.ttl = saved.ttl;
      for (const [key, value] of Object.entries(saved.tags ?? {})) table.tags.set(key, value);
      for (const stored of saved.items) {
        // Checked as a request's item is: attribute values well formed, numbers canonical (keys are compared as text).
        const item = attributeMap(stored);
        checkItem(table, item);
        table.put(item);
      }
    } catch (error) {
      throw new Error(`The DynamoDB data file ${file} holds a table that cannot be restored: ${(error as Error).message}`, { cause: error });
    }
    this.tables.set(table.name, table);
  }

  /**
   * One call, answered once its changes are on disk (with a data file; at once otherwise or
   * when it changed nothing): an answer a caller has seen survives a kill -9. A change that
   * could not be written is answered with an InternalServerError.
   */
  respond(operation: string, body: string): StoreAnswer | Promise<StoreAnswer> {
    const { written, ...answer } = this.call(operation, body);
    if (!written) return answer;
    return written.then(
      () => answer,
      (error: unknown) => {
        const failure = internalError(error instanceof Error ? error.message : String(error));
        return { statusCode: failure.statusCode, body: JSON.stringify(failure.body()) };
      },
    );
  }

  /**
   * One AWS JSON 1.0 call, synchronous: `operation` is the X-Amz-Target suffix after
   * "DynamoDB_20120810."; `body` the request JSON text. With a data file, `written` settles
   * when the call's changes are in the journal; respond() waits for it.
   */
  call(operation: string, body: string): StoreAnswer & { written?: Promise<void> } {
    const journal = this.journal;
    if (!journal || this.closed) return this.answer(operation, body);
    this.effects = [];
    try {
      const answer = this.answer(operation, body);
      if (this.effects.length === 0) return answer;
      const written = journal.append(this.effects);
      // Now that the journal has grown: a save when it is full.
      this.changed();
      return { ...answer, written };
    } finally {
      this.effects = undefined;
    }
  }

  private answer(operation: string, body: string): StoreAnswer {
    try {
      // DynamoDB's order: a body that is not JSON, then an unknown target, then an empty body.
      let data: unknown;
      if (body) {
        try {
          data = JSON.parse(body);
        } catch {
          throw serializationError();
        }
      }
      const handler = Object.prototype.hasOwnProperty.call(OPERATIONS, operation) ? OPERATIONS[operation] : undefined;
      if (!handler) throw unknownOperationError();
      if (!body) throw serializationError();
      this.bodyLength = body.length;
      const request = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Json) : {};
      return { statusCode: 200, body: JSON.stringify(handler.call(this, request)) };
    } catch (error) {
      const answer =
        error instanceof DynamoDbError
          ? error
          : error instanceof ExpressionValidationError
            ? validationError(error.message)
            : internalError(error instanceof Error ? error.message : String(error));
      return { statusCode: answer.statusCode, body: JSON.stringify(answer.body()) };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.saving;
    if (this.dirty) await this.save();
    await this.journal?.close();
  }

  // ---- persistence -------------------------------------------------------------------------

  /** Every change goes through these: applied, collected for the journal, and a save scheduled. */
  private writeItem(table: Table, item: Item): Item | undefined {
    this.effects?.push({ op: 'put', table: table.name, item });
    this.changed();
    return table.put(item);
  }

  private removeItem(table: Table, key: Item): Item | undefined {
    this.effects?.push({ op: 'delete', table: table.name, key });
    this.changed();
    return table.delete(key);
  }

  /** A table created, or its TTL or tags changed. */
  private tableChanged(table: Table): void {
    this.effects?.push({
      op: 'table',
      table: table.name,
      definition: table.description,
      ...(table.ttl ? { ttl: table.ttl } : {}),
      ...(table.tags.size > 0 ? { tags: Object.fromEntries(table.tags) } : {}),
    });
    this.changed();
  }

  private tableDropped(name: string): void {
    this.effects?.push({ op: 'drop', table: name });
    this.changed();
  }

  private changed(): void {
    if (!this.options.dataFile || this.closed) return;
    this.dirty = true;
    if (this.saveTimer || this.saving || !this.journalFull()) return;
    this.scheduleSave();
  }

  private journalFull(): boolean {
    return (this.journal?.bytes ?? 0) >= Math.max(this.options.foldBytes ?? FOLD_MIN_BYTES, this.snapshotBytes);
  }

  /**
   * Saves ~1 s after the journal became full, or later when saves are slow: a store with
   * many items under constant writes spends at most about a tenth of its time saving.
   */
  private scheduleSave(): void {
    const delay = Math.max(SAVE_DELAY_MS, 10 * this.lastSaveMs);
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.saving = this.save()
        .catch((error: unknown) => {
          process.stderr.write(`Could not save the DynamoDB data file ${this.options.dataFile}: ${(error as Error).message}\n`);
        })
        .finally(() => {
          this.saving = undefined;
          if (this.dirty && !this.closed && this.journalFull()) this.scheduleSave();
        });
    }, delay);
    this.saveTimer.unref();
  }

  /**
   * Folds the journal into a new snapshot: the state is taken and the journal switched to a
   * new file in one step, so the snapshot holds exactly the files up to the old one, which
   * are deleted once the snapshot is on disk.
   */
  private async save(): Promise<void> {
    const file = this.options.dataFile;
    if (!file) return;
    this.dirty = false;
    const started = performance.now();
    const tables: TableSnapshot[] = [...this.tables.values()].map((table) => ({
      definition: table.description,
      ...(table.ttl ? { ttl: table.ttl } : {}),
      ...(table.tags.size > 0 ? { tags: Object.fromEntries(table.tags) } : {}),
      items: [...table.items()],
    }));
    const folded = this.journalNumber;
    const previous = this.journal;
    const previousClosed = previous?.close();
    this.journalNumber = folded + 1;
    this.journal = new JournalWriter(journalFile(file, this.journalNumber), previousClosed);
    try {
      this.snapshotBytes = await saveSnapshot(file, { version: 1, journal: folded, tables });
    } catch (error) {
      // The changes are still only in the journal: the next save (or close) folds them.
      this.dirty = true;
      throw error;
    }
    await previousClosed;
    for (const { n, file: journal } of await journalFiles(file)) if (n <= folded) await removeJournal(journal);
    this.lastSaveMs = performance.now() - started;
  }

  // ---- lookups -----------------------------------------------------------------------------

  /** The table of an item action (DynamoDB's message names no table there). */
  private tableFor(name: string): Table {
    const table = this.tables.get(name);
    if (!table) throw resourceNotFound();
    return table;
  }

  /** The table of a table-level action. */
  private describedTable(name: string): Table {
    const table = this.tables.get(name);
    if (!table) throw resourceNotFound(`Requested resource not found: Table: ${name} not found`);
    return table;
  }

  private arn(name: string): string {
    return `arn:aws:dynamodb:${this.options.region}:${this.options.account}:table/${name}`;
  }

  private describe(table: Table): Json {
    const description = clone(table.description);
    description.ItemCount = table.itemCount;
    for (const index of (description.GlobalSecondaryIndexes as Json[] | undefined) ?? []) index.ItemCount = table.indexItemCount(index.IndexName as string);
    for (const index of (description.LocalSecondaryIndexes as Json[] | undefined) ?? []) index.ItemCount = table.indexItemCount(index.IndexName as string);
    return description;
  }

  // ---- table actions -----------------------------------------------------------------------

  createTable(data: Json): unknown {
    const definitions = listMember(data, 'AttributeDefinitions');
    const keySchema = listMember(data, 'KeySchema');
    const billingMode = stringMember(data, 'BillingMode');
    const throughput = structMember(data, 'ProvisionedThroughput', 'ProvisionedThroughput');
    const locals = listMember(data, 'LocalSecondaryIndexes');
    const globals = listMember(data, 'GlobalSecondaryIndexes');
    requireTableName(data);
    const name = stringMember(data, 'TableName')!;

    const c = new Constraints();
    c.notNull(definitions, 'attributeDefinitions');
    (definitions as Json[] | undefined)?.forEach((d, i) => {
      c.notNull(d.AttributeName, `attributeDefinitions.${i + 1}.member.attributeName`);
      c.notNull(d.AttributeType, `attributeDefinitions.${i + 1}.member.attributeType`);
      c.enum(d.AttributeType, `attributeDefinitions.${i + 1}.member.attributeType`, ['B', 'N', 'S']);
    });
    c.name(name, 'tableName');
    c.enum(billingMode, 'billingMode', ['PROVISIONED', 'PAY_PER_REQUEST']);
    if (throughput) {
      c.notNull(throughput.WriteCapacityUnits, 'provisionedThroughput.writeCapacityUnits');
      c.atLeast(throughput.WriteCapacityUnits, 'provisionedThroughput.writeCapacityUnits', 1);
      c.notNull(throughput.ReadCapacityUnits, 'provisionedThroughput.readCapacityUnits');
      c.atLeast(throughput.ReadCapacityUnits, 'provisionedThroughput.readCapacityUnits', 1);
    }
    c.notNull(keySchema, 'keySchema');
    c.length(keySchema, 'keySchema', 1, 2);
    (keySchema as Json[] | undefined)?.forEach((k, i) => {
      c.notNull(k.AttributeName, `keySchema.${i + 1}.member.attributeName`);
      c.notNull(k.KeyType, `keySchema.${i + 1}.member.keyType`);
      c.enum(k.KeyType, `keySchema.${i + 1}.member.keyType`, ['HASH', 'RANGE']);
    });
    for (const [list, path] of [
      [locals, 'localSecondaryIndexes'],
      [globals, 'globalSecondaryIndexes'],
    ] as const) {
      (list as Json[] | undefined)?.forEach((index, i) => {
        const at = `${path}.${i + 1}.member`;
        c.name(index.IndexName, `${at}.indexName`);
        c.notNull(index.KeySchema, `${at}.keySchema`);
        c.length(index.KeySchema, `${at}.keySchema`, 1, 2);
        c.notNull(index.Projection, `${at}.projection`);
        const projection = index.Projection as Json | undefined;
        if (projection) {
          c.enum(projection.ProjectionType, `${at}.projection.projectionType`, ['ALL', 'INCLUDE', 'KEYS_ONLY']);
          c.length(projection.NonKeyAttributes, `${at}.projection.nonKeyAttributes`, 1);
        }
      });
    }
    c.throwIfAny();
    checkCreateTable(data);

    if (this.tables.has(name)) throw resourceInUse(`Table already exists: ${name}`);

    const now = Date.now() / 1000;
    const arn = this.arn(name);
    const payPerRequest = billingMode === 'PAY_PER_REQUEST';
    const description: Json = {
      AttributeDefinitions: definitions,
      TableName: name,
      ...(billingMode && !payPerRequest ? { BillingMode: billingMode } : {}),
      ProvisionedThroughput: {
        ReadCapacityUnits: (throughput?.ReadCapacityUnits as number | undefined) ?? 0,
        WriteCapacityUnits: (throughput?.WriteCapacityUnits as number | undefined) ?? 0,
        NumberOfDecreasesToday: 0,
      },
      KeySchema: keySchema,
      TableArn: arn,
      TableId: randomUUID(),
      CreationDateTime: now,
      ItemCount: 0,
      TableSizeBytes: 0,
      TableStatus: 'ACTIVE',
    };
    if (locals) {
      description.LocalSecondaryIndexes = (locals as Json[]).map((index) => ({
        IndexName: index.IndexName,
        KeySchema: index.KeySchema,
        Projection: index.Projection,
        IndexArn: `${arn}/index/${String(index.IndexName)}`,
        IndexSizeBytes: 0,
        ItemCount: 0,
      }));
    }
    if (globals) {
      description.GlobalSecondaryIndexes = (globals as Json[]).map((index) => {
        const indexThroughput = index.ProvisionedThroughput as Json | undefined;
        return {
          IndexName: index.IndexName,
          KeySchema: index.KeySchema,
          Projection: index.Projection,
          IndexArn: `${arn}/index/${String(index.IndexName)}`,
          IndexSizeBytes: 0,
          ItemCount: 0,
          IndexStatus: 'ACTIVE',
          ProvisionedThroughput: {
            ReadCapacityUnits: (indexThroughput?.ReadCapacityUnits as number | undefined) ?? 0,
            WriteCapacityUnits: (indexThroughput?.WriteCapacityUnits as number | undefined) ?? 0,
            NumberOfDecreasesToday: 0,
          },
        };
      });
    }
    if (payPerRequest) {
      description.BillingModeSummary = { BillingMode: 'PAY_PER_REQUEST', LastUpdateToPayPerRequestDateTime: now };
      description.TableThroughputModeSummary = { TableThroughputMode: 'PAY_PER_REQUEST' };
    }
    const table = tableFromDescription(description);
    this.tables.set(name, table);
    this.tableChanged(table);

    // DynamoDB answers CreateTable while the table is still being created; here it is usable at once.
    const answer = clone(description);
    answer.TableStatus = 'CREATING';
    for (const index of (answer.GlobalSecondaryIndexes as Json[] | undefined) ?? []) index.IndexStatus = 'CREATING';
    if (answer.BillingModeSummary) delete (answer.BillingModeSummary as Json).LastUpdateToPayPerRequestDateTime;
    return { TableDescription: answer };
  }

  describeTable(data: Json): unknown {
    requireTableName(data);
    const name = stringMember(data, 'TableName')!;
    new Constraints().name(name, 'tableName').throwIfAny();
    return { Table: this.describe(this.describedTable(name)) };
  }

  deleteTable(data: Json): unknown {
    requireTableName(data);
    const name = stringMember(data, 'TableName')!;
    new Constraints().name(name, 'tableName').throwIfAny();
    const table = this.describedTable(name);
    const description = this.describe(table);
    description.TableStatus = 'DELETING';
    delete description.GlobalSecondaryIndexes;
    this.tables.delete(name);
    this.tableDropped(name);
    return { TableDescription: description };
  }

  listTables(data: Json): unknown {
    const limit = integerMember(data, 'Limit');
    const start = stringMember(data, 'ExclusiveStartTableName');
    new Constraints().atLeast(limit, 'limit', 1).atMost(limit, 'limit', 100).name(start, 'exclusiveStartTableName', false).throwIfAny();
    let names = [...this.tables.keys()].sort();
    if (start !== undefined) names = names.filter((name) => name > start);
    const max = limit ?? 100;
    if (names.length > max) {
      names = names.slice(0, max);
      return { LastEvaluatedTableName: names[names.length - 1], TableNames: names };
    }
    return { TableNames: names };
  }

  describeTimeToLive(data: Json): unknown {
    requireTableName(data);
    const name = stringMember(data, 'TableName')!;
    new Constraints().name(name, 'tableName').throwIfAny();
    const table = this.describedTable(name);
    return {
      TimeToLiveDescription: table.ttl?.Enabled
        ? { TimeToLiveStatus: 'ENABLED', AttributeName: table.ttl.AttributeName }
        : { TimeToLiveStatus: 'DISABLED' },
    };
  }

  updateTimeToLive(data: Json): unknown {
    requireTableName(data);
    const name = stringMember(data, 'TableName')!;
    const spec = structMember(data, 'TimeToLiveSpecification', 'TimeToLiveSpecification');
    const enabled = spec ? booleanMember(spec, 'Enabled') : undefined;
    const attribute = spec ? stringMember(spec, 'AttributeName') : undefined;
    const c = new Constraints().name(name, 'tableName').notNull(spec, 'timeToLiveSpecification');
    if (spec) {
      c.notNull(enabled, 'timeToLiveSpecification.enabled');
      c.notNull(attribute, 'timeToLiveSpecification.attributeName');
      c.length(attribute, 'timeToLiveSpecification.attributeName', 1, 255);
    }
    c.throwIfAny();
    const table = this.describedTable(name);
    if (enabled && table.ttl?.Enabled) throw validationError('TimeToLive is already enabled');
    if (!enabled && !table.ttl?.Enabled) throw validationError('TimeToLive is already disabled');
    if (!enabled && table.ttl && table.ttl.AttributeName !== attribute) {
      throw validationError(`TimeToLive is active on a different AttributeName: current AttributeName is ${table.ttl.AttributeName}`);
    }
    table.ttl = { AttributeName: attribute!, Enabled: enabled! };
    this.tableChanged(table);
    return { TimeToLiveSpecification: { AttributeName: attribute, Enabled: enabled } };
  }

  private taggedTable(data: Json, action: string): Table {
    const arn = stringMember(data, 'ResourceArn');
    if (arn === undefined) throw validationError('Invalid TableArn');
    if (!/^.+:.+:.+:.+:.+:.+\/.+$/.test(arn)) {
      throw accessDenied(`User: arn:aws:iam::${this.options.account}:local is not authorized to perform: dynamodb:${action} on resource: ${arn}`);
    }
    return this.tableForArn(arn, data);
  }

  private tableForArn(arn: string, data: Json): Table {
    if (data.Tags === null && 'Tags' in data) delete data.Tags;
    if (!/^arn:aws:dynamodb:.+:\d+:table\/[^/]{2}[^/]+$/.test(arn)) throw validationError(`Invalid TableArn: Invalid ResourceArn provided as input ${arn}`);
    const name = arn.split('/').pop()!;
    const table = this.tables.get(name);
    if (!table) throw resourceNotFound(`Requested resource not found: ResourcArn: ${arn} not found`);
    return table;
  }

  tagResource(data: Json): unknown {
    const tags = listMember(data, 'Tags');
    const arn = stringMember(data, 'ResourceArn');
    if (arn === undefined) throw validationError('Invalid TableArn');
    if (!/^.+:.+:.+:.+:.+:.+\/.+$/.test(arn)) {
      throw accessDenied(`User: arn:aws:iam::${this.options.account}:local is not authorized to perform: dynamodb:TagResource on resource: ${arn}`);
    }
    if (tags === undefined) throw validationError("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
    if (!/^arn:aws:dynamodb:.+:\d+:table\/[^/]{2}[^/]+$/.test(arn)) throw validationError(`Invalid TableArn: Invalid ResourceArn provided as input ${arn}`);
    if (tags.length === 0) throw validationError('Atleast one Tag needs to be provided as Input.');
    const table = this.tableForArn(arn, data);
    for (const tag of tags as Json[]) table.tags.set(String(tag.Key), String(tag.Value));
    this.tableChanged(table);
    return {};
  }

  untagResource(data: Json): unknown {
    const keys = listMember(data, 'TagKeys');
    const table = this.taggedTable(data, 'UntagResource');
    if (keys === undefined) throw validationError("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
    for (const key of keys) table.tags.delete(String(key));
    this.tableChanged(table);
    return {};
  }

  listTagsOfResource(data: Json): unknown {
    const table = this.taggedTable(data, 'ListTagsOfResource');
    const tags = [...table.tags.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([Key, Value]) => ({ Key, Value }));
    return { Tags: tags };
  }

  // ---- item actions ------------------------------------------------------------------------

  getItem(data: Json): unknown {
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const names = attributesToGet(data);
    const tableName = stringMember(data, 'TableName');
    const key = attributeMapMember(data, 'Key');
    const consistent = booleanMember(data, 'ConsistentRead') ?? false;
    const projectionText = stringMember(data, 'ProjectionExpression');
    new Constraints()
      .enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES)
      .length(names, 'attributesToGet', 1, 255)
      .name(tableName, 'tableName')
      .notNull(key, 'key')
      .throwIfAny();
    checkExpressionParams(data, ['ProjectionExpression'], ['AttributesToGet']);
    checkAttributesToGetDuplicates(names);
    const expressions = new RequestExpressions(data);
    const projection = expressions.projection(projectionText);
    expressions.done();

    const table = this.tableFor(tableName!);
    checkKey(table, key!);
    const item = table.get(key!);
    const out: Json = {};
    if (item) out.Item = projection ? projection.project(item) : names ? pick(item, names) : item;
    if (wantsCapacity(capacityMode)) out.ConsumedCapacity = consumed(capacityMode, tableName!, capacityUnits(item, true, consistent));
    return out;
  }

  putItem(data: Json): unknown {
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const tableName = stringMember(data, 'TableName');
    const conditionalOperator = stringMember(data, 'ConditionalOperator');
    const returnValues = stringMember(data, 'ReturnValues');
    const metrics = stringMember(data, 'ReturnItemCollectionMetrics');
    const onFailure = stringMember(data, 'ReturnValuesOnConditionCheckFailure');
    const conditionText = stringMember(data, 'ConditionExpression');
    const rawItem = data.Item;
    new Constraints()
      .enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES)
      .name(tableName, 'tableName')
      .notNull(rawItem, 'item')
      .enum(conditionalOperator, 'conditionalOperator', ['OR', 'AND'])
      .enum(returnValues, 'returnValues', RETURN_VALUES)
      .enum(metrics, 'returnItemCollectionMetrics', METRICS_MODES)
      .enum(onFailure, 'returnValuesOnConditionCheckFailure', ON_CONDITION_FAILURE)
      .throwIfAny();
    checkExpressionParams(data, ['ConditionExpression'], ['Expected']);
    const item = attributeMap(rawItem);
    if (returnValues && returnValues !== 'ALL_OLD' && returnValues !== 'NONE') throw validationError('ReturnValues can only be ALL_OLD or NONE');
    if (this.bodyLength > SHORT_BODY && sizeOf(item) > MAX_ITEM_BYTES) throw validationError('Item size has exceeded the maximum allowed size');
    refuseLegacy(data, ['Expected']);
    const expressions = new RequestExpressions(data);
    const condition = expressions.condition(conditionText, 'ConditionExpression');
    expressions.done();

    const table = this.tableFor(tableName!);
    checkItem(table, item);
    const existing = table.get(item);
    if (condition && !condition.test(existing)) throw conditionalCheckFailed(onFailure === 'ALL_OLD' ? existing : undefined);
    this.writeItem(table, item);
    const out: Json = {};
    if (existing && returnValues === 'ALL_OLD') out.Attributes = existing;
    if (wantsCapacity(capacityMode)) out.ConsumedCapacity = consumed(capacityMode, tableName!, writeUnits(existing, item));
    return out;
  }

  updateItem(data: Json): unknown {
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const tableName = stringMember(data, 'TableName');
    const metrics = stringMember(data, 'ReturnItemCollectionMetrics');
    const returnValues = stringMember(data, 'ReturnValues');
    const key = attributeMapMember(data, 'Key');
    const conditionalOperator = stringMember(data, 'ConditionalOperator');
    const onFailure = stringMember(data, 'ReturnValuesOnConditionCheckFailure');
    const conditionText = stringMember(data, 'ConditionExpression');
    const updateText = stringMember(data, 'UpdateExpression');
    new Constraints()
      .enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES)
      .name(tableName, 'tableName')
      .enum(metrics, 'returnItemCollectionMetrics', METRICS_MODES)
      .enum(returnValues, 'returnValues', RETURN_VALUES)
      .notNull(key, 'key')
      .enum(conditionalOperator, 'conditionalOperator', ['OR', 'AND'])
      .enum(onFailure, 'returnValuesOnConditionCheckFailure', ON_CONDITION_FAILURE)
      .throwIfAny();
    checkExpressionParams(data, ['UpdateExpression', 'ConditionExpression'], ['AttributeUpdates', 'Expected']);
    refuseLegacy(data, ['AttributeUpdates', 'Expected']);
    const expressions = new RequestExpressions(data);
    const update = expressions.update(updateText);
    const condition = expressions.condition(conditionText, 'ConditionExpression');
    expressions.done();

    const table = this.tableFor(tableName!);
    checkKey(table, key!);
    const result = this.applyUpdate(table, key!, update, condition, onFailure);
    const out: Json = {};
    const { before, after, paths } = result;
    // UPDATED_* answer the document paths the update wrote, nested as in the item.
    if (returnValues === 'ALL_OLD' && before) out.Attributes = before;
    else if (returnValues === 'UPDATED_OLD' && before) out.Attributes = projectPaths(before, paths);
    else if (returnValues === 'ALL_NEW') out.Attributes = after;
    else if (returnValues === 'UPDATED_NEW') out.Attributes = projectPaths(after, paths);
    if (wantsCapacity(capacityMode)) out.ConsumedCapacity = consumed(capacityMode, tableName!, writeUnits(before, after));
    return out;
  }

  /** The checked update of one item (UpdateItem and a transaction's Update), written to the table. */
  private applyUpdate(
    table: Table,
    key: Item,
    update: Update | undefined,
    condition: Condition | undefined,
    onFailure: string | undefined,
    dryRun = false,
  ): { before: Item | undefined; after: Item; paths: readonly DocumentPath[] } {
    const before = table.get(key);
    let after: Item = before ?? key;
    let updated: string[] = [];
    let paths: readonly DocumentPath[] = [];
    let failure: unknown;
    if (update) {
      try {
        ({ item: after, updated, paths } = update.apply(before ?? { ...key }));
      } catch (error) {
        failure = error;
      }
      const keyNames = table.range ? [table.hash.name, table.range.name] : [table.hash.name];
      for (const name of keyNames) {
        if (updated.includes(name)) {
          throw validationError(`One or more parameter values were invalid: Cannot update attribute ${name}. This attribute is part of the key`);
        }
      }
    }
    if (condition && !condition.test(before)) throw conditionalCheckFailed(onFailure === 'ALL_OLD' ? before : undefined);
    if (failure) throw failure;
    checkIndexKeys(table, after);
    // A path into a document plus the value written there can nest deeper than either alone.
    for (const name of updated) {
      const value = getOwn(after, name);
      if (value !== undefined && nesting(value) > MAX_NESTING) throw validationError(NESTING_MESSAGE);
    }
    if (updatedSize(before, after, updated) > MAX_ITEM_BYTES) throw validationError('Item size to update has exceeded the maximum allowed size');
    if (!dryRun) this.writeItem(table, after);
    return { before, after, paths };
  }

  deleteItem(data: Json): unknown {
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const tableName = stringMember(data, 'TableName');
    const returnValues = stringMember(data, 'ReturnValues');
    const metrics = stringMember(data, 'ReturnItemCollectionMetrics');
    const key = attributeMapMember(data, 'Key');
    const conditionalOperator = stringMember(data, 'ConditionalOperator');
    const onFailure = stringMember(data, 'ReturnValuesOnConditionCheckFailure');
    const conditionText = stringMember(data, 'ConditionExpression');
    new Constraints()
      .enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES)
      .name(tableName, 'tableName')
      .enum(returnValues, 'returnValues', RETURN_VALUES)
      .enum(metrics, 'returnItemCollectionMetrics', METRICS_MODES)
      .notNull(key, 'key')
      .enum(conditionalOperator, 'conditionalOperator', ['OR', 'AND'])
      .enum(onFailure, 'returnValuesOnConditionCheckFailure', ON_CONDITION_FAILURE)
      .throwIfAny();
    checkExpressionParams(data, ['ConditionExpression'], ['Expected']);
    if (returnValues && returnValues !== 'ALL_OLD' && returnValues !== 'NONE') throw validationError('ReturnValues can only be ALL_OLD or NONE');
    refuseLegacy(data, ['Expected']);
    const expressions = new RequestExpressions(data);
    const condition = expressions.condition(conditionText, 'ConditionExpression');
    expressions.done();

    const table = this.tableFor(tableName!);
    checkKey(table, key!);
    const existing = table.get(key!);
    if (condition && !condition.test(existing)) throw conditionalCheckFailed(onFailure === 'ALL_OLD' ? existing : undefined);
    if (existing) this.removeItem(table, key!);
    const out: Json = {};
    if (existing && returnValues === 'ALL_OLD') out.Attributes = existing;
    if (wantsCapacity(capacityMode)) out.ConsumedCapacity = consumed(capacityMode, tableName!, writeUnits(existing, undefined));
    return out;
  }

  // ---- Query and Scan ----------------------------------------------------------------------

  query(data: Json): unknown {
    const select = stringMember(data, 'Select');
    const indexName = stringMember(data, 'IndexName');
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const tableName = stringMember(data, 'TableName');
    const conditionalOperator = stringMember(data, 'ConditionalOperator');
    const names = attributesToGet(data);
    const limit = integerMember(data, 'Limit');
    const start = attributeMapMember(data, 'ExclusiveStartKey');
    const consistent = booleanMember(data, 'ConsistentRead') ?? false;
    const forward = booleanMember(data, 'ScanIndexForward') ?? true;
    const keyConditionText = stringMember(data, 'KeyConditionExpression');
    const filterText = stringMember(data, 'FilterExpression');
    const projectionText = stringMember(data, 'ProjectionExpression');
    new Constraints()
      .enum(select, 'select', SELECT_MODES)
      .name(indexName, 'indexName', false)
      .enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES)
      .name(tableName, 'tableName')
      .enum(conditionalOperator, 'conditionalOperator', ['OR', 'AND'])
      .length(names, 'attributesToGet', 1, 255)
      .atLeast(limit, 'limit', 1)
      .throwIfAny();
    checkExpressionParams(
      data,
      ['ProjectionExpression', 'FilterExpression', 'KeyConditionExpression'],
      ['AttributesToGet', 'QueryFilter', 'ConditionalOperator', 'KeyConditions'],
    );
    checkAttributesToGetDuplicates(names);
    if (data.KeyConditions == null && keyConditionText === undefined) {
      throw validationError('Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.');
    }
    refuseLegacy(data, ['KeyConditions', 'QueryFilter']);
    const expressions = new RequestExpressions(data);

    const table = this.tableFor(tableName!);
    const index = indexName !== undefined ? table.index(indexName) : undefined;
    if (indexName !== undefined && !index) throw validationError(`The table does not have the specified index: ${indexName}`);
    if (index?.global && consistent) throw validationError('Consistent reads are not supported on global secondary indexes');
    const schema = index ?? table;
    const keyCondition = parseKeyCondition(keyConditionText!, expressions.inputs, expressions.usage!, {
      hash: schema.hash.name,
      ...(schema.range ? { range: schema.range.name } : {}),
    });
    const filter = expressions.condition(filterText, 'FilterExpression');
    const projection = expressions.projection(projectionText);
    expressions.done();

    const hashValue = raw(keyCondition.hash.value, schema.hash.type);
    if (hashValue === undefined || keyCondition.range?.values.some((v) => raw(v, schema.range!.type) === undefined)) {
      throw validationError('One or more parameter values were invalid: Condition parameter type does not match schema type');
    }
    const range: RangeCondition | undefined = keyCondition.range
      ? { op: keyCondition.range.op, values: keyCondition.range.values.map((v) => raw(v, schema.range!.type)!) }
      : undefined;
    const startKeyNames = this.startKeyNames(table, index);
    if (start) this.checkQueryStart(table, index, start, startKeyNames, hashValue, keyCondition.range);
    if (select === 'ALL_ATTRIBUTES' && index && index.projection !== 'ALL') {
      if (index.global) {
        throw validationError(
          `One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index ${index.name} because its projection type is not ALL`,
        );
      }
    }
    const walk = table.queryWalk(index?.name, hashValue, range, forward, start);
    return this.readPage(table, index, walk, { select, limit, consistent, capacityMode, filter, projection, names, startKeyNames });
  }

  private startKeyNames(table: Table, index: IndexSchema | undefined): string[] {
    const names = table.range ? [table.hash.name, table.range.name] : [table.hash.name];
    if (index) for (const attribute of index.range ? [index.hash, index.range] : [index.hash]) if (!names.includes(attribute.name)) names.push(attribute.name);
    return names;
  }

  private checkQueryStart(
    table: Table,
    index: IndexSchema | undefined,
    start: Item,
    startKeyNames: string[],
    hashValue: string,
    range: { values: AttributeValue[]; op: string } | undefined,
  ): void {
    if (Object.keys(start).length !== startKeyNames.length) throw validationError('The provided starting key is invalid');
    const schema = index ?? table;
    for (const [attribute, isHash] of schema.range ? ([[schema.hash, true], [schema.range, false]] as const) : ([[schema.hash, true]] as const)) {
      if (!getOwn(start, attribute.name)) throw validationError('The provided starting key is invalid');
      checkKeyPiece(start, attribute, isHash);
    }
    try {
      checkKey(table, keyOfPresent(table, start));
    } catch (error) {
      throw validationError(`The provided starting key is invalid: ${(error as Error).message}`);
    }
    const startHash = raw(getOwn(start, schema.hash.name), schema.hash.type);
    if (!schema.range || !range) {
      if (startHash !== hashValue) throw validationError('The provided starting key is outside query boundaries based on provided conditions');
      return;
    }
    const startRange = getOwn(start, schema.range.name)!;
    if (!rangeMatches(range.op, startRange, range.values, schema.range)) {
      throw validationError('The provided starting key does not match the range key predicate');
    }
    if (startHash !== hashValue) throw validationError('The query can return at most one row and cannot be restarted');
  }

  scan(data: Json): unknown {
    const select = stringMember(data, 'Select');
    const indexName = stringMember(data, 'IndexName');
    const totalSegments = integerMember(data, 'TotalSegments');
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const tableName = stringMember(data, 'TableName');
    const conditionalOperator = stringMember(data, 'ConditionalOperator');
    const segment = integerMember(data, 'Segment');
    const limit = integerMember(data, 'Limit');
    const names = attributesToGet(data);
    const start = attributeMapMember(data, 'ExclusiveStartKey');
    const consistent = booleanMember(data, 'ConsistentRead') ?? false;
    const filterText = stringMember(data, 'FilterExpression');
    const projectionText = stringMember(data, 'ProjectionExpression');
    new Constraints()
      .enum(select, 'select', SELECT_MODES)
      .name(indexName, 'indexName', false)
      .atLeast(totalSegments, 'totalSegments', 1)
      .enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES)
      .name(tableName, 'tableName')
      .enum(conditionalOperator, 'conditionalOperator', ['OR', 'AND'])
      .atLeast(segment, 'segment', 0)
      .atLeast(limit, 'limit', 1)
      .length(names, 'attributesToGet', 1, 255)
      .throwIfAny();
    checkExpressionParams(data, ['ProjectionExpression', 'FilterExpression'], ['AttributesToGet', 'ScanFilter', 'ConditionalOperator']);
    checkAttributesToGetDuplicates(names);
    if (segment && totalSegments == null) {
      throw validationError('The TotalSegments parameter is required but was not present in the request when Segment parameter is present');
    }
    if (totalSegments) {
      if (segment == null) {
        throw validationError('The Segment parameter is required but was not present in the request when parameter TotalSegments is present');
      }
      if (segment >= totalSegments) {
        throw validationError(
          `The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: ${segment} is not less than TotalSegments: ${totalSegments}`,
        );
      }
    }
    refuseLegacy(data, ['ScanFilter']);
    const expressions = new RequestExpressions(data);
    const filter = expressions.condition(filterText, 'FilterExpression');
    const projection = expressions.projection(projectionText);
    expressions.done();

    const table = this.tableFor(tableName!);
    const index = indexName !== undefined ? table.index(indexName) : undefined;
    if (indexName !== undefined && !index) throw validationError(`The table does not have the specified index: ${indexName}`);
    if (index?.global && consistent) throw validationError('Consistent reads are not supported on global secondary indexes');
    const startKeyNames = this.startKeyNames(table, index);
    if (start && Object.keys(start).length !== startKeyNames.length) {
      throw validationError(index ? 'The provided starting key is invalid' : `The provided starting key is invalid: ${KEY_MISMATCH}`);
    }
    if (index && start) {
      for (const [attribute, isHash] of index.range ? ([[index.hash, true], [index.range, false]] as const) : ([[index.hash, true]] as const)) {
        if (!getOwn(start, attribute.name)) throw validationError('The provided starting key is invalid');
        checkKeyPiece(start, attribute, isHash);
      }
    }
    if (select === 'ALL_ATTRIBUTES' && index && index.projection !== 'ALL' && index.global) {
      throw validationError(
        `One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index ${index.name} because its projection type is not ALL`,
      );
    }
    if (start) {
      try {
        checkKey(table, keyOfPresent(table, start));
      } catch (error) {
        throw validationError(`The provided starting key is invalid: ${(error as Error).message}`);
      }
    }
    let { after, before } = segmentBounds(segment ?? 0, totalSegments ?? 1);
    if (start) {
      const position = index ? table.scanPosition(start, index.name) : table.scanPosition(start) + scanSuffix(table, start);
      if (totalSegments && totalSegments > 1 && ((after !== undefined && position < after) || (before !== undefined && position > before))) {
        throw validationError(
          'The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. ' +
            `TotalSegments: ${totalSegments} Segment: ${segment}`,
        );
      }
      after = position;
    }
    const { keys, entries } = table.scanOrder(index?.name);
    let from = 0;
    if (after !== undefined) {
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (keys[mid]! <= after) lo = mid + 1;
        else hi = mid;
      }
      from = lo;
    }
    let to = keys.length - 1;
    if (before !== undefined) {
      let lo = from;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (keys[mid]! < before) lo = mid + 1;
        else hi = mid;
      }
      to = lo - 1;
    }
    const walk: Walk = { entries, from, to, step: 1 };
    return this.readPage(table, index, walk, { select, limit, consistent, capacityMode, filter, projection, names, startKeyNames });
  }

  /** Walks entries up to Limit items or a full page, then filters, projects and counts them. */
  private readPage(
    table: Table,
    index: IndexSchema | undefined,
    walk: Walk,
    options: {
      select: string | undefined;
      limit: number | undefined;
      consistent: boolean;
      capacityMode: string | undefined;
      filter: Condition | undefined;
      projection: Projection | undefined;
      names: string[] | undefined;
      startKeyNames: string[];
    },
  ): Json {
    const { limit, filter, projection, names } = options;
    const rangeKey = table.range?.name;
    const countCapacity = wantsCapacity(options.capacityMode);
    const items: Item[] = [];
    let scanned = 0;
    let size = 0;
    let bytesRead = 0;
    let last: Item | undefined;
    const { entries, to, step } = walk;
    // ALL_ATTRIBUTES on a local index with a narrower projection reads the table's items, as DynamoDB fetches them.
    const projectFor = index && !(options.select === 'ALL_ATTRIBUTES' && !index.global) ? index : undefined;
    for (let i = walk.from; step === 1 ? i <= to : i >= to; i += step) {
      if ((limit !== undefined && scanned >= limit) || size >= PAGE_BYTES) break;
      const stored = entries[i]!.item;
      const item = projectFor ? projectForIndex(projectFor, stored) : stored;
      if (countCapacity) bytesRead += sizeOf(item);
      scanned++;
      size += item === stored ? storedPageSize(stored, rangeKey) : pageSize(item, rangeKey);
      last = item;
      if (!filter || filter.test(item)) items.push(item);
    }
    const out: Json = {};
    if ((limit !== undefined && scanned >= limit) || size >= PAGE_BYTES) {
      if (last) out.LastEvaluatedKey = pick(last, options.startKeyNames);
    }
    const shaped = projection ? items.map((item) => projection.project(item)) : names ? items.map((item) => pick(item, names)) : items;
    out.Count = shaped.length;
    out.ScannedCount = scanned;
    if (options.select !== 'COUNT') out.Items = shaped;
    if (countCapacity) {
      const units = Math.ceil(bytesRead / 1024 / 4) * (options.consistent ? 1 : 0.5);
      const tableUnits = index ? 0 : units;
      const indexUnits = index ? units : 0;
      const capacity: Json = { CapacityUnits: tableUnits + indexUnits, TableName: table.name };
      if (options.capacityMode === 'INDEXES') {
        capacity.Table = { CapacityUnits: tableUnits };
        if (index) capacity[index.global ? 'GlobalSecondaryIndexes' : 'LocalSecondaryIndexes'] = { [index.name]: { CapacityUnits: indexUnits } };
      }
      out.ConsumedCapacity = capacity;
    }
    return out;
  }

  // ---- batches -----------------------------------------------------------------------------

  batchGetItem(data: Json): unknown {
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const countCapacity = wantsCapacity(capacityMode);
    const requests = structMember(data, 'RequestItems', 'KeysAndAttributes');
    const c = new Constraints().enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES).notNull(requests, 'requestItems').length(requests, 'requestItems', 1);
    checkTableNameKeys(c, requests);
    for (const [name, request] of Object.entries(requests ?? {})) {
      const entry = structMember({ v: request }, 'v', 'KeysAndAttributes');
      const keys = entry ? listMember(entry, 'Keys') : undefined;
      c.notNull(keys, `requestItems.${name}.member.keys`).length(keys, `requestItems.${name}.member.keys`, 1, 100);
    }
    c.throwIfAny();

    let total = 0;
    const plans: { table: string; request: Json; projection?: Projection; names?: string[]; keys: Item[]; consistent: boolean }[] = [];
    for (const [name, value] of Object.entries(requests!)) {
      const request = value as Json;
      const names = attributesToGet(request);
      checkExpressionParams(request, ['ProjectionExpression'], ['AttributesToGet']);
      checkAttributesToGetDuplicates(names);
      const expressions = new RequestExpressions(request);
      const projection = expressions.projection(stringMember(request, 'ProjectionExpression'));
      expressions.done();
      const keys = (request.Keys as unknown[]).map((key) => attributeMap(key));
      const seen = new Set<string>();
      for (const key of keys) {
        const text = keyText(key);
        if (seen.has(text)) throw validationError('Provided list of item keys contains duplicates');
        seen.add(text);
        if (++total > 100) throw validationError('Too many items requested for the BatchGetItem call');
      }
      plans.push({
        table: name,
        request,
        ...(projection ? { projection } : {}),
        ...(names ? { names } : {}),
        keys,
        consistent: booleanMember(request, 'ConsistentRead') ?? false,
      });
    }
    for (const plan of plans) {
      const table = this.tableFor(plan.table);
      for (const key of plan.keys) checkKey(table, key);
    }

    // Maps, turned into objects at the end: a table may be named '__proto__'.
    const responses = new Map<string, Item[]>();
    const unprocessed = new Map<string, { Keys: Item[] }>();
    const capacity: Json[] = [];
    let bytes = 0;
    for (const plan of plans) {
      const table = this.tables.get(plan.table)!;
      const found: Item[] = [];
      let units = 0;
      for (const key of plan.keys) {
        const item = table.get(key);
        if (item) {
          // At most 40 items of 400 KB fit in 16 MB, so smaller answers need no counting.
          const size = total > BATCH_GET_RESPONSE_BYTES / MAX_ITEM_BYTES ? sizeOf(item) : 0;
          if (bytes + size > BATCH_GET_RESPONSE_BYTES) {
            let left = unprocessed.get(plan.table);
            if (!left) unprocessed.set(plan.table, (left = { Keys: [], ...pickRequestOptions(plan.request) }));
            left.Keys.push(key);
            continue;
          }
          bytes += size;
          found.push(plan.projection ? plan.projection.project(item) : plan.names ? pick(item, plan.names) : item);
        }
        if (countCapacity) units += capacityUnits(item, true, plan.consistent);
      }
      responses.set(plan.table, found);
      if (countCapacity) capacity.push(consumed(capacityMode, plan.table, units));
    }
    const out: Json = { Responses: Object.fromEntries(responses), UnprocessedKeys: Object.fromEntries(unprocessed) };
    if (countCapacity) out.ConsumedCapacity = capacity;
    return out;
  }

  batchWriteItem(data: Json): unknown {
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const countCapacity = wantsCapacity(capacityMode);
    const metrics = stringMember(data, 'ReturnItemCollectionMetrics');
    const requests = structMember(data, 'RequestItems', 'WriteRequest');
    const c = new Constraints()
      .enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES)
      .enum(metrics, 'returnItemCollectionMetrics', METRICS_MODES)
      .notNull(requests, 'requestItems')
      .length(requests, 'requestItems', 1);
    checkTableNameKeys(c, requests);
    if (requests) {
      const lists = Object.values(requests);
      for (const list of lists) if (!Array.isArray(list)) listMember({ v: list }, 'v');
      if (lists.some((list) => (list as unknown[]).length < 1 || (list as unknown[]).length > 25)) {
        c.check(
          false,
          requests,
          'requestItems',
          'Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]',
        );
      }
    }
    c.throwIfAny();

    type Write = { table: string; put?: Item; delete?: Item };
    const writes: Write[] = [];
    for (const [name, list] of Object.entries(requests!)) {
      for (const value of list as unknown[]) {
        const request = structMember({ v: value }, 'v', 'WriteRequest') ?? {};
        const put = structMember(request, 'PutRequest', 'PutRequest');
        const del = structMember(request, 'DeleteRequest', 'DeleteRequest');
        if (!put && !del) {
          throw validationError('Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes');
        }
        if (put) {
          const item = attributeMap(put.Item ?? {});
          if (this.bodyLength > SHORT_BODY && sizeOf(item) > MAX_ITEM_BYTES) throw validationError('Item size has exceeded the maximum allowed size');
          writes.push({ table: name, put: item });
        } else {
          writes.push({ table: name, delete: attributeMap(del!.Key ?? {}) });
        }
      }
    }
    const seen = new Set<string>();
    for (const write of writes) {
      const table = this.tableFor(write.table);
      try {
        if (write.put) checkItem(table, write.put);
        else checkKey(table, write.delete!);
      } catch (error) {
        if (/Missing the key|Type mismatch for key/.test((error as Error).message)) throw validationError(KEY_MISMATCH);
        throw error;
      }
      const key = keyOfItem(table, write.put ?? write.delete!);
      const text = `${write.table}\u0000${JSON.stringify(key)}`;
      if (seen.has(text)) throw validationError('Provided list of item keys contains duplicates');
      seen.add(text);
    }

    const units = new Map<string, number>();
    for (const write of writes) {
      const table = this.tables.get(write.table)!;
      let before: Item | undefined;
      if (write.put) before = this.writeItem(table, write.put);
      else before = this.removeItem(table, write.delete!);
      if (countCapacity) units.set(write.table, (units.get(write.table) ?? 0) + writeUnits(before, write.put));
    }
    const out: Json = { UnprocessedItems: {} };
    if (countCapacity) out.ConsumedCapacity = [...units].map(([name, n]) => consumed(capacityMode, name, n));
    return out;
  }

  // ---- transactions ------------------------------------------------------------------------

  transactWriteItems(data: Json): unknown {
    const items = listMember(data, 'TransactItems');
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const countCapacity = wantsCapacity(capacityMode);
    const metrics = stringMember(data, 'ReturnItemCollectionMetrics');
    const token = stringMember(data, 'ClientRequestToken');
    new Constraints()
      .notNull(items, 'transactItems')
      .length(items, 'transactItems', 1, 100)
      .enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES)
      .enum(metrics, 'returnItemCollectionMetrics', METRICS_MODES)
      .length(token, 'clientRequestToken', 1, 36)
      .throwIfAny();

    type Step = {
      kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
      table: Table;
      key: Item;
      item?: Item;
      update?: Update;
      condition?: Condition;
      onFailure?: string;
    };
    const steps: Step[] = [];
    const seen = new Set<string>();
    for (const value of items!) {
      const entry = structMember({ v: value }, 'v', 'TransactWriteItem') ?? {};
      const kinds = (['ConditionCheck', 'Put', 'Delete', 'Update'] as const).filter((kind) => entry[kind] != null);
      if (kinds.length !== 1) {
        throw validationError('TransactItems can only contain one of Check, Put, Update or Delete');
      }
      const kind = kinds[0]!;
      const request = structMember(entry, kind, kind)!;
      const tableName = stringMember(request, 'TableName');
      const onFailure = stringMember(request, 'ReturnValuesOnConditionCheckFailure');
      const c = new Constraints().name(tableName, `transactItems.member.${kind[0]!.toLowerCase()}${kind.slice(1)}.tableName`);
      c.enum(onFailure, 'returnValuesOnConditionCheckFailure', ON_CONDITION_FAILURE);
      c.throwIfAny();
      if (kind === 'ConditionCheck' && request.ConditionExpression == null) {
        throw validationError("1 validation error detected: Value null at 'transactItems.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null");
      }
      if (kind === 'Update' && request.UpdateExpression == null) {
        throw validationError("1 validation error detected: Value null at 'transactItems.member.update.updateExpression' failed to satisfy constraint: Member must not be null");
      }
      const expressions = new RequestExpressions(request);
      const update = kind === 'Update' ? expressions.update(stringMember(request, 'UpdateExpression')) : undefined;
      const condition = expressions.condition(stringMember(request, 'ConditionExpression'), 'ConditionExpression');
      expressions.done();
      const table = this.tableFor(tableName!);
      let key: Item;
      let item: Item | undefined;
      if (kind === 'Put') {
        item = attributeMap(request.Item ?? {});
        if (this.bodyLength > SHORT_BODY && sizeOf(item) > MAX_ITEM_BYTES) throw validationError('Item size has exceeded the maximum allowed size');
        checkItem(table, item);
        key = keyOfItem(table, item);
      } else {
        key = attributeMap(request.Key ?? {});
        checkKey(table, key);
      }
      const text = `${table.name}\u0000${JSON.stringify(keyOfItem(table, key))}`;
      if (seen.has(text)) throw validationError('Transaction request cannot include multiple operations on one item');
      seen.add(text);
      steps.push({
        kind,
        table,
        key,
        ...(item ? { item } : {}),
        ...(update ? { update } : {}),
        ...(condition ? { condition } : {}),
        ...(onFailure ? { onFailure } : {}),
      });
    }

    // Check every step against the current items first; write only when all pass.
    const reasons: CancellationReason[] = [];
    const results: { before: Item | undefined; after: Item | undefined }[] = [];
    let cancelled = false;
    for (const step of steps) {
      const before = step.table.get(step.key);
      try {
        if (step.kind === 'Update') {
          const { after } = this.applyUpdate(step.table, step.key, step.update, step.condition, step.onFailure, true);
          results.push({ before, after });
        } else {
          if (step.condition && !step.condition.test(before)) throw conditionalCheckFailed(step.onFailure === 'ALL_OLD' ? before : undefined);
          results.push({ before, after: step.kind === 'Put' ? step.item : step.kind === 'Delete' ? undefined : before });
        }
        reasons.push({ Code: 'None' });
      } catch (error) {
        if (!(error instanceof DynamoDbError) && !(error instanceof ExpressionValidationError)) throw error;
        cancelled = true;
        if (error instanceof DynamoDbError && error.name === 'ConditionalCheckFailedException') {
          reasons.push({ Code: 'ConditionalCheckFailed', Message: error.message, ...(error.extra.Item ? { Item: error.extra.Item as Json } : {}) });
        } else {
          reasons.push({ Code: 'ValidationError', Message: error.message });
        }
        results.push({ before, after: before });
      }
    }
    if (cancelled) throw transactionCanceled(reasons);

    const units = new Map<string, number>();
    steps.forEach((step, i) => {
      const { before, after } = results[i]!;
      if (step.kind === 'Put' || step.kind === 'Update') this.writeItem(step.table, after!);
      else if (step.kind === 'Delete' && before) this.removeItem(step.table, step.key);
      if (!countCapacity) return;
      const n = step.kind === 'ConditionCheck' ? capacityUnits(before, true, true) : 2 * writeUnits(before, after);
      units.set(step.table.name, (units.get(step.table.name) ?? 0) + n);
    });
    const out: Json = {};
    if (countCapacity) out.ConsumedCapacity = [...units].map(([name, n]) => consumed(capacityMode, name, n));
    return out;
  }

  transactGetItems(data: Json): unknown {
    const items = listMember(data, 'TransactItems');
    const capacityMode = stringMember(data, 'ReturnConsumedCapacity');
    const countCapacity = wantsCapacity(capacityMode);
    new Constraints().notNull(items, 'transactItems').length(items, 'transactItems', 1, 100).enum(capacityMode, 'returnConsumedCapacity', CAPACITY_MODES).throwIfAny();
    const gets: { table: Table; key: Item; projection?: Projection }[] = [];
    const seen = new Set<string>();
    for (const value of items!) {
      const entry = structMember({ v: value }, 'v', 'TransactGetItem') ?? {};
      const request = structMember(entry, 'Get', 'Get');
      if (!request) throw validationError("1 validation error detected: Value null at 'transactItems.member.get' failed to satisfy constraint: Member must not be null");
      const tableName = stringMember(request, 'TableName');
      new Constraints().name(tableName, 'transactItems.member.get.tableName').throwIfAny();
      const expressions = new RequestExpressions(request);
      const projection = expressions.projection(stringMember(request, 'ProjectionExpression'));
      expressions.done();
      const table = this.tableFor(tableName!);
      const key = attributeMap(request.Key ?? {});
      checkKey(table, key);
      const text = `${table.name}\u0000${JSON.stringify(keyOfItem(table, key))}`;
      if (seen.has(text)) throw validationError('Transaction request cannot include multiple operations on one item');
      seen.add(text);
      gets.push({ table, key, ...(projection ? { projection } : {}) });
    }
    const units = new Map<string, number>();
    const responses = gets.map(({ table, key, projection }) => {
      const item = table.get(key);
      if (countCapacity) units.set(table.name, (units.get(table.name) ?? 0) + 2 * capacityUnits(item, true, true));
      if (!item) return {};
      return { Item: projection ? projection.project(item) : item };
    });
    const out: Json = { Responses: responses };
    if (countCapacity) out.ConsumedCapacity = [...units].map(([name, n]) => consumed(capacityMode, name, n));
    return out;
  }
}

/** The table key attributes present in an ExclusiveStartKey (it may also hold index keys). */
function keyOfPresent(table: Table, start: Item): Item {
  const key: Item = {};
  for (const attribute of table.range ? [table.hash, table.range] : [table.hash]) {
    const value = getOwn(start, attribute.name);
    if (value !== undefined) setOwn(key, attribute.name, value);
  }
  return key;
}

/** A table scan resumes after the start key's position plus the hash of its table key, as DynamoDB's scan cursor does. */
function scanSuffix(table: Table, start: Item): string {
  const key = keyOfItem(table, start);
  const hash = raw(getOwn(key, table.hash.name), table.hash.type)!;
  const range = table.range ? raw(getOwn(key, table.range.name), table.range.type) : undefined;
  return hashPrefix(hash, table.hash.type, range, table.range?.type);
}

function rangeMatches(op: string, value: AttributeValue, bounds: AttributeValue[], attribute: KeyAttribute): boolean {
  const text = raw(value, attribute.type);
  if (text === undefined) return false;
  const compare = comparerFor(attribute.type);
  const [a, b] = bounds.map((bound) => raw(bound, attribute.type)!) as [string, string | undefined];
  switch (op) {
    case '=':
      return compare(text, a) === 0;
    case '<':
      return compare(text, a) < 0;
    case '<=':
      return compare(text, a) <= 0;
    case '>':
      return compare(text, a) > 0;
    case '>=':
      return compare(text, a) >= 0;
    case 'BETWEEN':
      return compare(text, a) >= 0 && compare(text, b!) <= 0;
    default:
      return beginsWith(attribute.type, text, a);
  }
}

/** Text that is equal for equal keys whatever the order of their attributes. */
function keyText(key: Item): string {
  const names = Object.keys(key);
  if (names.length > 1) names.sort();
  let text = '';
  for (const name of names) {
    const value = key[name]!;
    const type = typeOf(value);
    const inner = (value as Record<string, unknown>)[type];
    text += `${name}\u0000${type}\u0000${typeof inner === 'string' ? inner : JSON.stringify(inner)}\u0000`;
  }
  return text;
}

function pickRequestOptions(request: Json): Json {
  const out: Json = {};
  for (const member of ['AttributesToGet', 'ConsistentRead', 'ProjectionExpression', 'ExpressionAttributeNames']) {
    if (request[member] != null) out[member] = request[member];
  }
  return out;
}

function checkTableNameKeys(c: Constraints, requests: Json | undefined): void {
  if (!requests) return;
  for (const name of Object.keys(requests)) {
    if (name.length > 255 || name.length < 3 || !/^[a-zA-Z0-9_.-]+$/.test(name)) {
      c.check(
        false,
        requests,
        'requestItems',
        'Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]',
      );
    }
  }
}

/** CreateTable's rules across members, in DynamoDB's order and wording. */
function checkCreateTable(data: Json): void {
  const fail = (message: string) => {
    throw validationError(message);
  };
  const throughput = data.ProvisionedThroughput as Json | undefined;
  if (data.BillingMode === 'PAY_PER_REQUEST') {
    if (throughput) {
      fail('One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST');
    }
  } else {
    if (!throughput || !throughput.ReadCapacityUnits || !throughput.WriteCapacityUnits) {
      fail('One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED');
    }
    if ((throughput!.ReadCapacityUnits as number) > 1000000000000) fail(`Given value ${String(throughput!.ReadCapacityUnits)} for ReadCapacityUnits is out of bounds`);
    if ((throughput!.WriteCapacityUnits as number) > 1000000000000) fail(`Given value ${String(throughput!.WriteCapacityUnits)} for WriteCapacityUnits is out of bounds`);
  }
  const definitions = (data.AttributeDefinitions as Json[]).map((d) => d.AttributeName as string);
  const schema = data.KeySchema as Json[];
  const keys = schema.map((k) => k.AttributeName as string);
  if (keys.length > definitions.length) fail('Invalid KeySchema: Some index key attribute have no definition');
  if (keys.some((key) => !definitions.includes(key))) {
    fail(
      'One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. ' +
        `Keys: [${keys.join(', ')}], AttributeDefinitions: [${definitions.join(', ')}]`,
    );
  }
  if (keys[0] === keys[1]) fail('Both the Hash Key and the Range Key element in the KeySchema have the same name');
  if (schema[0]!.KeyType !== 'HASH') fail('Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
  if (schema[1] && schema[1].KeyType !== 'RANGE') fail('Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
  const locals = data.LocalSecondaryIndexes as Json[] | undefined;
  const globals = data.GlobalSecondaryIndexes as Json[] | undefined;
  if (!locals && !globals && keys.length !== definitions.length) {
    fail('One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions');
  }
  const indexNames = new Set<string>();
  const checkIndex = (index: Json, local: boolean) => {
    const indexSchema = index.KeySchema as Json[];
    const indexKeys = indexSchema.map((k) => k.AttributeName as string);
    if (indexKeys.some((key) => !definitions.includes(key))) {
      fail(
        'One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. ' +
          `Keys: [${indexKeys.join(', ')}], AttributeDefinitions: [${definitions.join(', ')}]`,
      );
    }
    if (indexSchema[1] && indexKeys[0] === indexKeys[1]) fail('Both the Hash Key and the Range Key element in the KeySchema have the same name');
    if (indexSchema[0]!.KeyType !== 'HASH') fail('Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
    if (indexSchema[1] && indexSchema[1].KeyType !== 'RANGE') fail('Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
    const name = index.IndexName as string;
    if (local) {
      if (indexSchema.length !== 2) fail(`One or more parameter values were invalid: Index KeySchema does not have a range key for index: ${name}`);
      if (indexKeys[0] !== keys[0]) {
        fail(
          `One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: ${name}. index hash key: ${indexKeys[0]}, table hash key: ${keys[0]}`,
        );
      }
    }
    const projection = index.Projection as Json;
    if (projection.ProjectionType == null) fail('One or more parameter values were invalid: Unknown ProjectionType: null');
    if (projection.NonKeyAttributes && projection.ProjectionType !== 'INCLUDE') {
      fail(`One or more parameter values were invalid: ProjectionType is ${String(projection.ProjectionType)}, but NonKeyAttributes is specified`);
    }
    if (!local && data.BillingMode === 'PAY_PER_REQUEST' && index.ProvisionedThroughput) {
      fail(`One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: ${name} when BillingMode is PAY_PER_REQUEST`);
    }
    if (indexNames.has(name)) fail(`One or more parameter values were invalid: Duplicate index name: ${name}`);
    indexNames.add(name);
  };
  if (locals) {
    if (locals.length === 0) fail('One or more parameter values were invalid: List of LocalSecondaryIndexes is empty');
    if (schema.length !== 2) {
      fail('One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex');
    }
    for (const index of locals) checkIndex(index, true);
    if (locals.length > 5) fail('One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5');
  }
  if (globals) {
    if (globals.length === 0) fail('One or more parameter values were invalid: List of GlobalSecondaryIndexes is empty');
    for (const index of globals) checkIndex(index, false);
    if (globals.length > 20) fail('One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20');
  }
}

const OPERATIONS: Record<string, Handler> = {
  BatchGetItem: LocalDynamoDb.prototype.batchGetItem,
  BatchWriteItem: LocalDynamoDb.prototype.batchWriteItem,
  CreateTable: LocalDynamoDb.prototype.createTable,
  DeleteItem: LocalDynamoDb.prototype.deleteItem,
  DeleteTable: LocalDynamoDb.prototype.deleteTable,
  DescribeTable: LocalDynamoDb.prototype.describeTable,
  DescribeTimeToLive: LocalDynamoDb.prototype.describeTimeToLive,
  GetItem: LocalDynamoDb.prototype.getItem,
  ListTables: LocalDynamoDb.prototype.listTables,
  ListTagsOfResource: LocalDynamoDb.prototype.listTagsOfResource,
  PutItem: LocalDynamoDb.prototype.putItem,
  Query: LocalDynamoDb.prototype.query,
  Scan: LocalDynamoDb.prototype.scan,
  TagResource: LocalDynamoDb.prototype.tagResource,
  TransactGetItems: LocalDynamoDb.prototype.transactGetItems,
  TransactWriteItems: LocalDynamoDb.prototype.transactWriteItems,
  UntagResource: LocalDynamoDb.prototype.untagResource,
  UpdateItem: LocalDynamoDb.prototype.updateItem,
  UpdateTimeToLive: LocalDynamoDb.prototype.updateTimeToLive,
};
