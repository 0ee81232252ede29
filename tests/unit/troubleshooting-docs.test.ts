import { describe, it, expect } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../../functions/core/error-codes.js';

/**
 * docs/TROUBLESHOOTING.md must explain every code a user can meet: the engine's codes
 * (written into tracking records) and the CLI's (printed as "Error <code>: …"). A code
 * counts as documented when a heading or a table row of the guide contains it literally.
 */

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GUIDE = readFileSync(join(REPO, 'docs', 'TROUBLESHOOTING.md'), 'utf8');
const CODE = /\b([A-Z]{2,5}\d{3})\b/g;
/**
 * A code-shaped string literal given as the first argument of `new CliError(` or of
 * `super(` (CliError subclasses), or as a `code:` property (code tables).
 */
const CLI_CODE = /(?:new\s+CliError\(|super\(|\bcode:)\s*(['"`])([A-Z]{2,5}\d{3})\1/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** A code-shaped string literal anywhere (e.g. `const code = imported ? 'INS021' : 'INS020'`). */
const CODE_LITERAL = /(['"`])([A-Z]{2,5})(\d{3})\1/g;

/**
 * Codes the CLI can print, with the first file that uses each: the literals given to
 * CliError, plus every other literal with one of their prefixes (codes chosen in a
 * variable first), but not unrelated literals such as 'AES256'.
 */
function cliCodes(): Map<string, string> {
  const files = sourceFiles(join(REPO, 'src')).map((file) => ({ name: file.slice(REPO.length + 1), text: readFileSync(file, 'utf8') }));
  const found = new Map<string, string>();
  for (const { name, text } of files) {
    for (const match of text.matchAll(CLI_CODE)) if (!found.has(match[2]!)) found.set(match[2]!, name);
  }
  const prefixes = new Set([...found.keys()].map((code) => code.replace(/\d+$/, '')));
  for (const { name, text } of files) {
    if (!/CliError/.test(text)) continue;
    for (const match of text.matchAll(CODE_LITERAL)) {
      const code = `${match[2]}${match[3]}`;
      if (prefixes.has(match[2]!) && !found.has(code)) found.set(code, name);
    }
  }
  return found;
}

/** Codes named in a heading or a table row of the guide. */
function documentedCodes(): Set<string> {
  const codes = new Set<string>();
  for (const line of GUIDE.split('\n')) {
    if (!/^\s*(#{1,6}\s|\|)/.test(line)) continue;
    for (const match of line.matchAll(CODE)) codes.add(match[1]!);
  }
  return codes;
}

describe('docs/TROUBLESHOOTING.md', () => {
  const documented = documentedCodes();

  it('documents every engine error code in ERROR_CODES', () => {
    const missing = Object.keys(ERROR_CODES).filter((code) => !documented.has(code));
    expect(missing).toEqual([]);
  });

  it('documents every error code the CLI can print', () => {
    const codes = cliCodes();
    expect(codes.size).toBeGreaterThan(0);
    const missing = [...codes].filter(([code]) => !documented.has(code)).map(([code, file]) => `${code} (${file})`);
    expect(missing).toEqual([]);
  });

  it('finds CLI codes in multi-line CliError calls and subclasses, not in other literals', () => {
    const sample = "new CliError(\n  'INS011',\n  msg);\nsuper('CLI000', m);\n{ code: 'LOC009' }\n{ SSEAlgorithm: 'AES256' }";
    expect([...sample.matchAll(CLI_CODE)].map((m) => m[2])).toEqual(['INS011', 'CLI000', 'LOC009']);
  });

  it('recognises a code only in a heading or table row', () => {
    expect('| VAL001 | x |'.match(CODE)).toEqual(['VAL001']);
    expect(/^\s*(#{1,6}\s|\|)/.test('### `TMPL003` missing variables')).toBe(true);
    expect(/^\s*(#{1,6}\s|\|)/.test('See VAL001 above.')).toBe(false);
  });
});
