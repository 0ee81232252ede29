import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerCommands } from '../../src/commands/index.js';

/** README's command table lists every command, with the flags it takes (its own, beyond the common ones). */

const COMMON = new Set(['--stack-name', '--region', '--profile', '--local', '--json', '--debug', '--help']);
const README = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
const rows = README.split('\n').filter((line) => line.startsWith('| `'));

function leaves(command: Command, prefix: string[] = []): { path: string[]; flags: string[] }[] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    if (sub.commands.length > 0) return leaves(sub, path);
    return [{ path, flags: sub.options.map((o) => o.long!).filter((long) => !COMMON.has(long)) }];
  });
}

const program = new Command();
registerCommands(program, (() => undefined) as never);

describe('README command table', () => {
  it.each(leaves(program).map((leaf) => [leaf.path.join(' '), leaf] as [string, { path: string[]; flags: string[] }]))('lists %s and its flags', (_name, leaf) => {
    const [top, sub] = leaf.path;
    const row = rows.find((r) => r.startsWith(`| \`${top}`) && (sub === undefined || r.slice(0, r.indexOf('` |')).includes(sub)));
    expect(row).toBeDefined();
    const missing = leaf.flags.filter((flag) => !row!.includes(`\`${flag}`) && !row!.includes(`/${flag}`));
    expect(missing).toEqual([]);
  });
});
