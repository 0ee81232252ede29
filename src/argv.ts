import type { Command, Option } from 'commander';

/**
 * `--local` takes an optional value, so commander reads the word after it as local mode's
 * source: `sesmailengine diagnose --local ada@example.com` lost its argument ("missing
 * required argument"). A word after `--local` that cannot be a source (not a URL, not a JSON
 * line, not `@file`, not an existing file) is moved in front of `--local`, where it is read as
 * the command's argument, when the command still lacks one; for a command without arguments,
 * or whose arguments are all given (`diagnose ada@example.com --local ./some-folder`), it
 * stays, and `--local` explains what it accepts.
 */
export function withLocalSourceChecked(program: Command, argv: readonly string[], isFile: (path: string) => boolean): string[] {
  const out = [...argv];
  const command = chosenCommand(program, out.slice(2));
  if (!command || command.registeredArguments.length === 0) return out;
  for (let i = 2; i < out.length - 1; i++) {
    if (out[i] !== '--local') continue;
    const next = out[i + 1]!;
    if (next === '--' || next.startsWith('-') || looksLikeSource(next, isFile)) continue;
    if (!lacksArgument(program, command, out, i + 1, isFile)) continue;
    out.splice(i, 2, next, '--local');
  }
  return out;
}

function looksLikeSource(word: string, isFile: (path: string) => boolean): boolean {
  const value = word.trim();
  return /^https?:\/\//i.test(value) || value.startsWith('{') || value.startsWith('@') || isFile(value);
}

/** The option a word names (`--x`, `--x=v`, `-x`), on the command or one of its parents. */
function optionOf(command: Command, word: string): Option | undefined {
  const flag = word.split('=')[0]!;
  for (let scope: Command | null = command; scope; scope = scope.parent) {
    const option = scope.options.find((o) => o.long === flag || o.short === flag);
    if (option) return option;
  }
  return undefined;
}

/**
 * Whether the command has fewer arguments in `argv` than it declares, not counting the word
 * at `candidate`: words after the command's name that are neither options nor their values.
 */
function lacksArgument(program: Command, command: Command, argv: readonly string[], candidate: number, isFile: (path: string) => boolean): boolean {
  const declared = command.registeredArguments;
  if (declared[declared.length - 1]?.variadic) return true;
  const names = commandPath(program, argv.slice(2));
  let given = 0;
  for (let i = 2, named = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (i === candidate) continue;
    if (named < names && !word.startsWith('-')) {
      named++;
      continue;
    }
    if (word === '--') {
      given += argv.slice(i + 1).filter((_, j) => i + 1 + j !== candidate).length;
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      given++;
      continue;
    }
    const option = optionOf(command, word);
    if (!option || word.includes('=') || i + 1 === candidate) continue;
    const value = argv[i + 1];
    if (value === undefined) continue;
    // An optional value (`--local [source]`) takes the next word only when it is one.
    if (option.required || (option.optional && !value.startsWith('-') && (option.long !== '--local' || looksLikeSource(value, isFile)))) i++;
  }
  return given < declared.length;
}

/** How many leading non-option words name commands. */
function commandPath(program: Command, words: readonly string[]): number {
  let count = 0;
  let scope = program;
  for (const word of words) {
    if (word.startsWith('-')) continue;
    const sub = scope.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    count++;
    scope = sub;
  }
  return count;
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
