import { describe, expect, it } from '@jest/globals';
import { ancestorsToWatch, type ProcessStat } from '../../../src/local/parent-watch.js';

/** A process table: pid → [ppid, session]. */
function table(rows: Record<number, [number, number]>): (pid: number) => ProcessStat | undefined {
  return (pid) => (rows[pid] ? { state: 'S', ppid: rows[pid][0], session: rows[pid][1], startTime: String(pid * 7) } : undefined);
}

describe('the processes local mode watches', () => {
  it('are its parent and the ancestors in its session up to the leader (runner → npx → sh → node)', () => {
    // init 1 → sshd 50 (session 50) → bash 100 (leader of 100) → jest 200 → npx 300 → sh 400 → local mode
    const stat = table({ 50: [1, 50], 100: [50, 100], 200: [100, 100], 300: [200, 100], 400: [300, 100] });

    expect(ancestorsToWatch(400, 100, stat).map((w) => w.pid)).toEqual([400, 300, 200, 100]);
  });

  it('are only the parent when local mode has a session of its own', () => {
    const stat = table({ 100: [1, 100], 200: [100, 100] });

    expect(ancestorsToWatch(200, 999, stat).map((w) => w.pid)).toEqual([200]);
  });

  it('never include init, and none when the parent is init already', () => {
    const stat = table({ 200: [1, 200] });

    expect(ancestorsToWatch(200, 200, stat).map((w) => w.pid)).toEqual([200]);
    expect(ancestorsToWatch(1, 200, stat)).toEqual([]);
  });
});
