/**
 * The store's data file: one JSON document with every table's definition, TTL setting, tags
 * and items. Written to a temporary file, synced and renamed over the old one (and the rename
 * synced), so a crash mid-write leaves the previous snapshot whole.
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Item } from './expressions.js';
import { isProcessAlive } from '../parent-watch.js';

export interface TableSnapshot {
  /** The TableDescription the table was created with. */
  definition: Record<string, unknown>;
  ttl?: { AttributeName: string; Enabled: boolean };
  tags?: Record<string, string>;
  items: Item[];
}

export interface Snapshot {
  version: 1;
  /** The last journal file whose changes this snapshot holds (journal.ts); absent = none. */
  journal?: number;
  tables: TableSnapshot[];
}

function isSnapshot(value: unknown): value is Snapshot {
  if (typeof value !== 'object' || value === null) return false;
  const snapshot = value as Partial<Snapshot>;
  return (
    snapshot.version === 1 &&
    (snapshot.journal === undefined || Number.isSafeInteger(snapshot.journal)) &&
    Array.isArray(snapshot.tables) &&
    snapshot.tables.every(
      (table) =>
        typeof table === 'object' &&
        table !== null &&
        typeof table.definition === 'object' &&
        table.definition !== null &&
        typeof table.definition.TableName === 'string' &&
        Array.isArray(table.items),
    )
  );
}

/** The snapshot in `file`, or undefined when there is no such file. */
export async function loadSnapshot(file: string): Promise<Snapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read the DynamoDB data file ${file}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`The DynamoDB data file ${file} is not valid JSON (${(error as Error).message}); move it away to start with empty tables.`, {
      cause: error,
    });
  }
  if (!isSnapshot(parsed)) {
    throw new Error(`The DynamoDB data file ${file} is not a snapshot this version can read (expected {"version": 1, "tables": [...]}).`);
  }
  return parsed;
}

let sequence = 0;

/** Items are serialized this many at a time, with the event loop served in between. */
const CHUNK = 500;

/**
 * Writes `snapshot` to `file` atomically and returns its size (in characters). The items are written in chunks between which
 * other work runs, so saving a large store does not stall the requests; the item objects are
 * never changed once stored, so the snapshot is the state at the moment of the call.
 */
export async function saveSnapshot(file: string, snapshot: Snapshot): Promise<number> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${++sequence}.tmp`;
  const journal = snapshot.journal === undefined ? '' : `"journal":${snapshot.journal},`;
  const handle = await open(temporary, 'w');
  let written = false;
  let size = 0;
  const write = (text: string) => {
    size += text.length;
    return handle.write(text);
  };
  try {
    await write(`{"version":1,${journal}"tables":[`);
    for (const [t, table] of snapshot.tables.entries()) {
      const { items, ...rest } = table;
      const head = JSON.stringify(rest);
      await write(`${t > 0 ? ',' : ''}${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"items":[`);
      for (let i = 0; i < items.length; i += CHUNK) {
        const text = items.slice(i, i + CHUNK).map((item) => JSON.stringify(item)).join(',');
        await write(i > 0 ? `,${text}` : text);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await write(']}');
    }
    await write(']}');
    // On disk before the rename, so a crash after it cannot leave an empty or partial file in place.
    await handle.sync();
    written = true;
  } finally {
    await handle.close();
    if (!written) await rm(temporary, { force: true });
  }
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(file));
  return size;
}

/** Makes a rename in `dir` durable (the directory entry, not only the file's data). */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Deletes the temporary files (`<file>.<pid>.<n>.tmp`) that a process killed while saving
 * left behind; those of another live process (saving now) are kept. Called at open, before
 * this process saves, so one with this process's id is a leftover of an earlier process.
 */
export async function removeStaleTemporaries(file: string): Promise<string[]> {
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isProcessAlive(pid)) continue;
    await rm(join(dirname(file), name), { force: true });
    removed.push(name);
  }
  return removed;
}
