import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * No function in src/, functions/ or scripts/ runs over 150 lines: past that, a function is
 * asking to be split (a step per method, a branch per function). Every function-like node
 * counts (declarations, methods, arrow functions, function expressions, accessors), from
 * its first token to its closing brace, inner functions included.
 */

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROOTS = ['src', 'functions', 'scripts'];
const MAX_LINES = 150;

interface LongFunction {
  /** `<file>: <name>`. */
  where: string;
  lines: number;
  startLine: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(REPO, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(entry) && !entry.endsWith('.d.ts') ? [path.split(sep).join('/')] : [];
  });
}

/** The name a reader would look for: its own, its variable's or property's, else the function around it. */
function functionName(node: ts.SignatureDeclaration, outer: string | undefined): string {
  const own = node.name ?? (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent) || ts.isPropertyDeclaration(node.parent) ? node.parent.name : undefined);
  if (own) return own.getText();
  return outer ? `<anonymous in ${outer}>` : '<anonymous>';
}

/** Every function-like node of `text` longer than `max` lines. */
function longFunctions(file: string, text: string, max = MAX_LINES): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node, outer: string | undefined): void => {
    let inner = outer;
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const name = functionName(node, outer);
      const startLine = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      const endLine = source.getLineAndCharacterOfPosition(node.end).line + 1;
      const lines = endLine - startLine + 1;
      if (lines > max) found.push({ where: `${file}: ${name}`, lines, startLine });
      inner = name;
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(source, undefined);
  return found;
}

const ALL = ROOTS.flatMap(sourceFiles).flatMap((file) => longFunctions(file, readFileSync(join(REPO, file), 'utf8')));

function lines(n: number): string {
  return Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
}

describe('function length', () => {
  it('measures a function from its first line to its closing brace, names it, and lets 150 lines pass', () => {
    // 1 line `function`, n body lines, 1 closing line.
    expect(longFunctions('a.ts', `function fits() {\n${lines(148)}\n}\n`)).toEqual([]);
    expect(longFunctions('a.ts', `export function tooLong() {\n${lines(149)}\n}\n`)).toEqual([{ where: 'a.ts: tooLong', lines: 151, startLine: 1 }]);
    expect(longFunctions('a.ts', `\nconst handler = async () => {\n${lines(149)}\n};\n`)).toEqual([{ where: 'a.ts: handler', lines: 151, startLine: 2 }]);
    expect(longFunctions('a.ts', `function outer() {\n  run(() => {\n${lines(160)}\n  });\n}\n`).map((f) => f.where)).toEqual(['a.ts: outer', 'a.ts: <anonymous in outer>']);
    expect(longFunctions('a.ts', `class A {\n  step() {\n${lines(149)}\n  }\n}\n`).map((f) => f.where)).toEqual(['a.ts: step']);
  });

  it(`has no function over ${MAX_LINES} lines in ${ROOTS.join('/, ')}/ (split it: a step per function)`, () => {
    const over = ALL.map((f) => `${f.where} (line ${f.startLine}): ${f.lines} lines`);
    expect(over).toEqual([]);
  });

  it('reads the sources it should', () => {
    expect(ROOTS.flatMap(sourceFiles)).toEqual(expect.arrayContaining(['src/cli.ts', 'functions/email-sender/handler.ts', 'scripts/error-index.mjs']));
  });
});
