/**
 * The store's journal: every change a call made, appended as one line before the call is
 * answered, so an answered write survives a kill -9 between two snapshots. Lines are
 * written in groups (one write and one fdatasync for the calls of a few milliseconds), and
 * replayed over the snapshot at start. A journal file is numbered; the snapshot names the
 * last number it holds, so files up to it are deleted and later ones replayed.
 *
 * A line is `<crc32 of the JSON, 8 hex digits> <JSON>\n`: a line a kill cut short (no
 * newline, or a checksum that does not match) is the unanswered tail and is dropped.
 */
import { crc32 } from 'node:zlib';
import { constants } from 'node:fs';
import { open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Item } from './expressions.js';
import { syncDirectory } from './snapshot.js';

/** One change: a table's definition, TTL and tags (created or changed), a table deleted, an item written or deleted. */
export type JournalEffect =
  | {
      op: 'table';
      table: string;
      definition: Record<string, unknown>;
      ttl?: { AttributeName: string; Enabled: boolean };
      tags?: Record<string, string>;
    }
  | { op: 'drop'; table: string }
  | { op: 'put'; table: string; item: Item }
  | { op: 'delete'; table: string; key: Item };

/** The changes of one answered call, replayed together. */
export type JournalEntry = JournalEffect[];

export function encodeEntry(entry: JournalEntry): string {
  return encodeEntryBytes(entry).toString('utf8');
}

/** The line as bytes: the JSON is converted to UTF-8 once, for the checksum and the write. */
function encodeEntryBytes(entry: JournalEntry): Buffer {
  const json = Buffer.from(JSON.stringify(entry), 'utf8');
  const line = Buffer.allocUnsafe(json.length + 10);
  line.write(crc32(json).toString(16).padStart(8, '0'), 0, 'latin1');
  line[8] = 0x20;
  json.copy(line, 9);
  line[line.length - 1] = 0x0a;
  return line;
}

/** Appending, and each write on disk before it returns (O_DSYNC: one call per group instead of a write and an fdatasync). */
const APPEND_SYNCED = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | (constants.O_DSYNC ?? constants.O_SYNC ?? 0);

function decodeLine(line: string): JournalEntry | undefined {
  if (line.length < 10 || line[8] !== ' ') return undefined;
  const json = line.slice(9);
  if (Number.parseInt(line.slice(0, 8), 16) !== crc32(json)) return undefined;
  try {
    const entry = JSON.parse(json) as unknown;
    return Array.isArray(entry) ? (entry as JournalEntry) : undefined;
  } catch {
    return undefined;
  }
}

export class JournalCorruptError extends Error {
  override name = 'JournalCorruptError';
}

/**
 * The entries of a journal file's text. Bad lines at the end are the group a kill
 * interrupted (never answered) and are dropped (`torn`); a bad line with good ones after it
 * is damage the journal cannot explain, and throws.
 */
export function decodeJournal(text: string, file: string): { entries: JournalEntry[]; torn: boolean } {
  const lines = text.split('\n');
  // The text after the last newline: empty, or a line whose write was cut short.
  const tail = lines.pop()!;
  const entries: JournalEntry[] = [];
  let firstBad: number | undefined;
  for (const [i, line] of lines.entries()) {
    const entry = decodeLine(line);
    if (!entry) {
      firstBad ??= i;
      continue;
    }
    if (firstBad !== undefined) {
      throw new JournalCorruptError(
        `The DynamoDB journal ${file} is damaged at line ${firstBad + 1} (good lines follow it); move the data directory's dynamodb folder away to start with empty tables.`,
      );
    }
    entries.push(entry);
  }
  return { entries, torn: firstBad !== undefined || tail !== '' };
}

/** Journal file `n` beside the data file `tables.json`: `tables.<n>.journal`. */
export function journalFile(dataFile: string, n: number): string {
  return join(dirname(dataFile), `${basename(dataFile, '.json')}.${n}.journal`);
}

/** The journal files beside `dataFile`, by number. */
export async function journalFiles(dataFile: string): Promise<{ n: number; file: string }[]> {
  const pattern = new RegExp(`^${basename(dataFile, '.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.journal$`);
  let names: string[];
  try {
    names = await readdir(dirname(dataFile));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .map((name) => ({ name, match: pattern.exec(name) }))
    .filter((found): found is { name: string; match: RegExpExecArray } => found.match !== null)
    .map(({ name, match }) => ({ n: Number(match[1]), file: join(dirname(dataFile), name) }))
    .sort((a, b) => a.n - b.n);
}

export async function readJournal(file: string): Promise<{ entries: JournalEntry[]; torn: boolean }> {
  return decodeJournal(await readFile(file, 'utf8'), file);
}

export async function removeJournal(file: string): Promise<void> {
  await rm(file, { force: true });
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Appends entries to one journal file with group commit: the entries of the current turn of
 * the event loop (and those that arrive while a group is being synced) go out in one
 * synced write (O_DSYNC, as a write plus fdatasync), then every one of them is acknowledged. `after` (the previous file's
 * close) is awaited before the first write, so a later file never holds an answered change
 * that an earlier, unsynced one does not.
 */
export class JournalWriter {
  private handle: FileHandle | undefined;
  private lines: Buffer[] = [];
  private waiters: Waiter[] = [];
  private running: Promise<void> | undefined;
  private failure: Error | undefined;
  /** Characters appended so far (about the file's size). */
  bytes = 0;

  constructor(
    readonly file: string,
    private readonly after: Promise<unknown> = Promise.resolve(),
  ) {}

  /** Resolves once `entry` is on disk (written with O_DSYNC). */
  append(entry: JournalEntry): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const line = encodeEntryBytes(entry);
    this.bytes += line.length;
    this.lines.push(line);
    const written = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
    return written;
  }

  private async drain(): Promise<void> {
    try {
      await this.after;
      if (!this.handle) {
        this.handle = await open(this.file, APPEND_SYNCED, 0o644);
        // The new file's name must survive a power loss too, not only its lines.
        await syncDirectory(dirname(this.file));
      }
      while (this.lines.length > 0) {
        const bytes = this.lines.length === 1 ? this.lines[0]! : Buffer.concat(this.lines);
        const waiters = this.waiters;
        this.lines = [];
        this.waiters = [];
        try {
          if (this.failure) throw this.failure;
          for (let offset = 0; offset < bytes.length; ) offset += (await this.handle.write(bytes, offset, bytes.length - offset)).bytesWritten;
        } catch (error) {
          // A half-written group may sit at the end of the file: nothing more goes after it.
          this.failure ??= new Error(`Could not write the DynamoDB journal ${this.file}: ${(error as Error).message}`, { cause: error });
          for (const waiter of waiters) waiter.reject(this.failure);
          continue;
        }
        for (const waiter of waiters) waiter.resolve();
      }
    } catch (error) {
      this.failure ??= new Error(`Could not open the DynamoDB journal ${this.file}: ${(error as Error).message}`, { cause: error });
      for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
      this.lines = [];
    } finally {
      this.running = undefined;
    }
  }

  /** Writes what is pending, then closes the file. */
  async close(): Promise<void> {
    while (this.running) await this.running;
    await this.handle?.close();
    this.handle = undefined;
  }
}
