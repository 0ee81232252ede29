import type { Command } from 'commander';

/**
 * `--local` takes an optional value, so commander reads the word after it as local mode's
 * source: `sesmailengine diagnose --local ada@example.com` lost its argument ("missing
 * required argument"). A word after `--local` that cannot be a source (not a URL, not a JSON
 * line, not `@file`, not an existing file) is moved in front of `--local`, where it is read as
 * the command's argument, when the command takes arguments; for a command without arguments
 * it stays, and `--local` explains what it accepts.
 */
export function withLocalSourceChecked(program: Command, argv: readonly string[], isFile: (path: string) => boolean): string[] {
  const out = [...argv];
  const command = chosenCommand(program, out.slice(2));
  if (!command || command.registeredArguments.length === 0) return out;
  for (let i = 2; i < out.length - 1; i++) {
    if (out[i] !== '--local') continue;
    const next = out[i + 1]!;
    if (next === '--' || next.startsWith('-') || looksLikeSource(next, isFile)) continue;
    out.splice(i, 2, next, '--local');
  }
  return out;
}

function looksLikeSource(word: string, isFile: (path: string) => boolean): boolean {
  const value = word.trim();
  return /^https?:\/\//i.test(value) || value.startsWith('{') || value.startsWith('@') || isFile(value);
}

/** The (sub)command the words name: leading words that are command names, options skipped. */
function chosenCommand(program: Command, words: readonly string[]): Command | undefined {
  let current: Command | undefined;
  let scope = program;
  for (const word of words) {
    if (word.startsWith('-')) continue;
    const sub = scope.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    current = sub;
    scope = sub;
  }
  return current;
}
