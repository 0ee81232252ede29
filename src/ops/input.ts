import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, UsageError } from '../errors.js';

/**
 * Parsing of the values the operating commands take on the command line: JSON given inline
 * or as `@file`, dates, counts. Each failure is a CliError (OPS004/OPS005) naming the flag
 * and showing a value that would work.
 */

/** Reads `@path` (relative to cwd) or returns the text itself. */
export function inlineOrFile(value: string, flag: string, cwd = process.cwd()): { text: string; file?: string } {
  if (!value.startsWith('@')) return { text: value };
  const file = resolve(cwd, value.slice(1));
  try {
    return { text: readFileSync(file, 'utf8'), file };
  } catch (error) {
    throw new CliError(
      'OPS005',
      `${flag} ${value}: the file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`,
      `Check the path; ${flag} @file reads a file relative to the current folder, ${flag} '{"key":"value"}' takes JSON inline.`,
      { cause: error },
    );
  }
}

/** Where a JSON syntax error is, as "line L, column C" when the engine says at which position. */
function position(text: string, error: unknown): string {
  const message = (error as Error).message ?? '';
  const at = /position (\d+)/.exec(message);
  if (!at) return message;
  const offset = Number(at[1]);
  const before = text.slice(0, offset).split('\n');
  return `${message.replace(/ in JSON at position \d+.*$/, '')} at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** Parses a JSON object given inline or as @file (e.g. --data). */
export function jsonObjectOption(value: string, flag: string, cwd = process.cwd()): Record<string, unknown> {
  const { text, file } = inlineOrFile(value, flag, cwd);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const where = file ? ` in ${file}` : '';
    const shellHint = file
      ? 'Correct the file (a JSON object such as {"userName": "Ada"}).'
      : `Quote the JSON for your shell, with double quotes inside: ${flag} '{"userName": "Ada", "companyName": "Acme"}' (or put it in a file and pass ${flag} @data.json).`;
    throw new UsageError('OPS004', `${flag} is not valid JSON${where}: ${position(text, error)}.`, shellHint, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(
      'OPS004',
      `${flag} must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}.`,
      `Pass an object of template variables: ${flag} '{"userName": "Ada"}'.`,
    );
  }
  const outOfRange = nonFiniteNumberPath(parsed, '');
  if (outOfRange !== undefined) {
    throw new UsageError(
      'OPS004',
      `${flag}: ${outOfRange.replace(/^\./, '')} is a number too large for JSON to carry (it reads as Infinity and would be sent as null).`,
      'Send it as a string ("1e400"), or a number within ±1.7976931348623157e308.',
    );
  }
  return parsed as Record<string, unknown>;
}

/** The path of the first number JSON.parse made Infinity (such as 1e400), walked without recursion. */
function nonFiniteNumberPath(value: unknown, root: string): string | undefined {
  const pending: Array<[unknown, string]> = [[value, root]];
  while (pending.length > 0) {
    const [item, path] = pending.pop()!;
    if (typeof item === 'number' && !Number.isFinite(item)) return path;
    if (item === null || typeof item !== 'object') continue;
    for (const [key, child] of Object.entries(item)) pending.push([child, Array.isArray(item) ? `${path}[${key}]` : `${path}.${key}`]);
  }
  return undefined;
}

/** A whole number in [min, max] given as a flag value. */
export function integerOption(value: string | number | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError('OPS004', `${flag} must be a whole number from ${min} to ${max}, got "${value}".`, `Pass for example ${flag} ${Math.min(max, Math.max(min, fallback))}.`);
  }
  return n;
}

/** A positive number of seconds (fractions allowed). */
export function secondsOption(value: string | number | undefined, flag: string, fallback: number, max = 3600): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    throw new UsageError('OPS004', `${flag} must be a number of seconds from 0 to ${max}, got "${value}".`, `Pass for example ${flag} ${fallback}.`);
  }
  return n;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar day YYYY-MM-DD (UTC) that exists. */
export function dayOption(value: string, flag: string): string {
  const match = DAY.exec(value.trim());
  const day = value.trim();
  // Date.parse gives NaN for a month 13 (toISOString would throw "Invalid time value"); a 31 February rolls over.
  const time = Date.parse(`${day}T00:00:00Z`);
  if (!match || Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== day) {
    throw new UsageError('OPS004', `${flag} must be a date as YYYY-MM-DD, got "${value}".`, `Pass for example ${flag} ${new Date().toISOString().slice(0, 10)} (days are UTC).`);
  }
  return day;
}

/** `count` days ending with `last` (YYYY-MM-DD), oldest first. */
export function daysEndingWith(last: string, count: number): string[] {
  const end = Date.parse(`${last}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) => new Date(end - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

/** One of the allowed words. */
export function choiceOption<T extends string>(value: string | undefined, flag: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError('OPS004', `${flag} must be one of ${choices.join(', ')}, got "${value}".`, `Pass ${flag} ${fallback}.`);
}
