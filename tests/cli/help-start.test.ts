import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI } from '../support/local-mode.js';

/**
 * What `sesmailengine --help` loads, on the built CLI: the build bundles the entry with
 * commander and the command registrations (scripts/bundle-cli.mjs), so start-up reads a few
 * files of the package and none of node_modules; every command's own module, the AWS SDK,
 * prompts and spinners wait for the command that uses them.
 */

function modulesLoadedBy(args: string[]): string[] {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'esm' } });
  expect(run.status).toBe(0);
  const urls = [...run.stderr.matchAll(/Storing (file:\/\/\S+)/g)].map((m) => m[1]!);
  return [...new Set(urls.map((url) => url.replace(/^.*\/dist\/src\//, 'dist/src/').replace(/^.*\/node_modules\//, 'node_modules/')))].sort();
}

describe('sesmailengine --help', () => {
  it('is one bundled entry file that reads only the shared error and version modules', () => {
    expect(modulesLoadedBy(['--help'])).toEqual(['dist/src/cli.js', 'dist/src/errors.js', 'dist/src/package-root.js', 'dist/src/version.js']);
    expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it("loads a command's module only when that command runs", () => {
    expect(modulesLoadedBy(['local', '--help']).filter((m) => m.includes('commands/'))).toEqual([]);
    expect(modulesLoadedBy(['--version'])).not.toContain('dist/src/commands/local.js');
  });
});
