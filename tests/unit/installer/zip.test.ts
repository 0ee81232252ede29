import { describe, it, expect } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createZip } from '../../../src/packaging/zip.js';
import { readZip } from '../../support/zip-reader.js';

const text = (s: string) => Buffer.from(s, 'utf8');

describe('createZip', () => {
  it('gives identical bytes for the same files in any order', () => {
    const a = createZip([{ name: 'b.txt', data: text('bee') }, { name: 'a.txt', data: text('ay'.repeat(100)) }]);
    const b = createZip([{ name: 'a.txt', data: text('ay'.repeat(100)) }, { name: 'b.txt', data: text('bee') }]);
    expect(a.equals(b)).toBe(true);
  });

  it('stores entries sorted, dated 1980-01-01 00:00, mode 0644', () => {
    const entries = readZip(createZip([{ name: 'z.mjs', data: text('z') }, { name: 'index.mjs', data: text('export const handler = 1;') }]));
    expect(entries.map((e) => e.name)).toEqual(['index.mjs', 'z.mjs']);
    for (const entry of entries) {
      expect(entry.dosTime).toBe(0);
      expect(entry.dosDate).toBe((1 << 5) | 1);
      expect(entry.unixMode).toBe(0o100644);
    }
  });

  it('round-trips content, deflating what shrinks and storing what does not', () => {
    const big = text('export const handler = async () => 42;\n'.repeat(500));
    const tiny = text('x');
    const entries = readZip(createZip([{ name: 'big.mjs', data: big }, { name: 'tiny.txt', data: tiny }]));
    expect(entries[0]!.data.equals(big)).toBe(true);
    expect(entries[0]!.method).toBe(8);
    expect(entries[1]!.data.equals(tiny)).toBe(true);
    expect(entries[1]!.method).toBe(0);
  });

  it('refuses duplicate and unsafe names', () => {
    expect(() => createZip([{ name: 'a', data: text('1') }, { name: 'a', data: text('2') }])).toThrow(/Duplicate/);
    expect(() => createZip([{ name: '../evil', data: text('1') }])).toThrow(/Unsafe/);
    expect(() => createZip([{ name: '/abs', data: text('1') }])).toThrow(/Unsafe/);
  });

  const unzip = ['/usr/bin/unzip', '/bin/unzip'].find((p) => existsSync(p));
  if (!unzip && process.env.CI === 'true') throw new Error('unzip is required in CI for the zip integrity test (.ci/run installs it).');
  (unzip ? it : it.skip)('is accepted by the system unzip with its integrity test', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zip-test-'));
    try {
      const file = join(dir, 'f.zip');
      writeFileSync(file, createZip([{ name: 'index.mjs', data: text('export const handler = async () => 1;\n'.repeat(50)) }]));
      const out = execFileSync(unzip!, ['-t', file], { encoding: 'utf8' });
      expect(out).toMatch(/No errors detected/);
      const listing = execFileSync(unzip!, ['-Z', '-l', file], { encoding: 'utf8' });
      expect(listing).toMatch(/-rw-r--r--.*index\.mjs/);
      expect(listing).toMatch(/80-Jan-01 00:00|1980/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
