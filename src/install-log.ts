import { appendFileSync, writeFileSync } from 'node:fs';

/**
 * The install log (`sesmailengine-install.log` in the working directory): one timestamped
 * line per step, AWS call and stack event, written synchronously so it is complete even
 * when the run is interrupted. It never holds credentials: only names, keys and statuses.
 */

export interface RunLog {
  readonly path?: string;
  write(message: string): void;
}

export const INSTALL_LOG_FILE = 'sesmailengine-install.log';

/** A RunLog that keeps nothing (tests, or commands that keep no log). */
export const nullLog: RunLog = { write: () => undefined };

/** Starts a fresh log file; if the file cannot be written, logging is skipped rather than failing the run. */
export function openRunLog(path: string, title: string, now: () => Date = () => new Date()): RunLog {
  let writable = true;
  const line = (message: string) => `${now().toISOString()} ${message}\n`;
  try {
    writeFileSync(path, line(title));
  } catch {
    writable = false;
  }
  return {
    path: writable ? path : undefined,
    write(message) {
      if (!writable) return;
      try {
        appendFileSync(path, line(message.replace(/\n/g, ' | ')));
      } catch {
        writable = false;
      }
    },
  };
}

/** A RunLog that keeps lines in memory (tests). */
export function memoryLog(): RunLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (message) => void lines.push(message) };
}
