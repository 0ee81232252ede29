import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, lockDataDir } from '../../../src/local/data-dir-lock.js';

const root = mkdtempSync(join(tmpdir(), 'sesmailengine-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  return mkdtempSync(`${dir}-`);
}

describe('the data directory lock', () => {
  it('is taken with this process id and released', () => {
    const dir = folder('own');
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('refuses a directory another live process holds, naming its pid', async () => {
    const dir = folder('held');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      // A live process with the start time /proc reports for it.
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]);
      writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: child.pid, startedAt: boot * 1000 + ticks * 10 }));
      let error: unknown;
      try {
        lockDataDir(dir);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(DataDirLockedError);
      expect((error as DataDirLockedError).pid).toBe(child.pid);
      expect((error as Error).message).toContain(`process ${child.pid}`);
      expect((error as Error).message).toContain(dir);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that is gone, and of a process id now used by a later process', () => {
    const dir = folder('stale');
    // 2^22 + 1 is above Linux's largest process id: no process has it.
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 4194305, startedAt: Date.now() - 60_000 }));
    lockDataDir(dir).release();
    // The parent (jest's runner) is alive but started long after this lock's holder did.
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: process.ppid, startedAt: 1_000 }));
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock file that a kill left empty', () => {
    const dir = folder('empty');
    writeFileSync(join(dir, 'lock'), '');
    lockDataDir(dir).release();
  });
});
