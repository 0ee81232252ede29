/**
 * One `sesmailengine local` per data directory: two processes appending to one journal
 * would each overwrite the other's snapshot. The lock is `<dir>/lock`, created atomically
 * with its content (the holder's pid and start time); a lock whose process is gone (killed)
 * is taken over.
 */
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from './parent-watch.js';

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly startedAt: string | undefined,
  ) {
    super(`The data directory ${dataDir} is in use by another "sesmailengine local" (process ${pid}${startedAt ? `, started ${startedAt}` : ''}).`);
  }
}

interface LockContent {
  pid: number;
  /** When the holder started (ms since the epoch): tells a live holder from a new process that got a dead holder's pid. */
  startedAt: number;
}

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

function processStartMs(pid: number): number | undefined {
  // Linux: field 22 of /proc/<pid>/stat is the start in clock ticks after boot (100 per second on every Linux Node runs on).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const boot = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!boot || !Number.isFinite(ticks)) return undefined;
    return Number(boot[1]) * 1000 + ticks * 10;
  } catch {
    return undefined;
  }
}

function ownStartMs(): number {
  return processStartMs(process.pid) ?? Math.round(Date.now() - process.uptime() * 1000);
}

/** Whether the lock's holder is still running (and is the process that wrote it, where the start time can be checked). */
function holderAlive(holder: LockContent): boolean {
  if (!isProcessAlive(holder.pid)) return false;
  const started = processStartMs(holder.pid);
  // Another process with the dead holder's pid started later than the holder did.
  return started === undefined || Math.abs(started - holder.startedAt) < 2000;
}

function readLock(file: string): { text: string; content: LockContent | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    if (Number.isSafeInteger(parsed.pid) && typeof parsed.startedAt === 'number') return { text, content: parsed as LockContent };
  } catch {
    // Not a lock this code wrote: taken over below.
  }
  return { text, content: undefined };
}

/** Takes `<dataDir>/lock`, or throws DataDirLockedError naming the process that holds it. */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, 'lock');
  const mine: LockContent = { pid: process.pid, startedAt: ownStartMs() };
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(mine)}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        // A hard link appears at once with its content, or fails when the lock exists.
        linkSync(temporary, file);
        return {
          file,
          release() {
            const current = readLock(file);
            if (current?.content?.pid === mine.pid) rmSync(file, { force: true });
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = readLock(file);
      if (!held) continue;
      if (held.content && held.content.pid !== process.pid && holderAlive(held.content)) {
        throw new DataDirLockedError(dataDir, held.content.pid, new Date(held.content.startedAt).toISOString());
      }
      // Stale (its process is gone): removed only if it is still the lock just read.
      if (readLock(file)?.text === held.text) rmSync(file, { force: true });
    }
    throw new Error(`Could not take the lock ${file}: it keeps changing (another "sesmailengine local" starting on the same data directory?).`);
  } finally {
    rmSync(temporary, { force: true });
  }
}
