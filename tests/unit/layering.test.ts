import { describe, it, expect } from '@jest/globals';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importCycles, importGraph, importsOf, sourceFiles, type ImportEdge } from '../support/import-graph.js';

/**
 * Which folder may import which, read from the sources' import statements: the Lambda
 * code never reaches into the CLI, the CLI's layers below the commands never reach up
 * into them (only the entry does), the library stays apart from the CLI, and no module
 * imports itself by a detour (not even for a type).
 */

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FILES = [...sourceFiles(REPO, 'src'), ...sourceFiles(REPO, 'functions')];
const GRAPH = importGraph(REPO, FILES);

function edgesFrom(folder: string, into: string): string[] {
  return GRAPH.edges.filter((edge) => edge.from.startsWith(folder) && edge.to.startsWith(into)).map((edge) => `${edge.from} → ${edge.to}`);
}

describe('the import graph', () => {
  it('resolves every relative import of src/ and functions/ to a file', () => {
    expect(GRAPH.unresolved).toEqual([]);
    expect(GRAPH.edges.length).toBeGreaterThan(FILES.length);
  });

  it('has functions/ import nothing from src/', () => {
    expect(edgesFrom('functions/', 'src/')).toEqual([]);
  });

  it.each(['src/ops/', 'src/installer/', 'src/aws/', 'src/local/', 'src/dashboard/'])('has %s import nothing from src/commands/', (folder) => {
    expect(edgesFrom(folder, 'src/commands/')).toEqual([]);
  });

  it('has src/commands/ imported, outside itself, by the entry src/cli.ts only', () => {
    const importers = GRAPH.edges.filter((edge) => edge.to.startsWith('src/commands/') && !edge.from.startsWith('src/commands/')).map((edge) => edge.from);

    expect([...new Set(importers)]).toEqual(['src/cli.ts']);
  });

  it('has src/dashboard/ reach the engine only through src/ops/ and take from src/local/ only its request guard', () => {
    const local = GRAPH.edges.filter((edge) => edge.from.startsWith('src/dashboard/') && edge.to.startsWith('src/local/') && edge.to !== 'src/local/request-guard.ts');
    const installer = edgesFrom('src/dashboard/', 'src/installer/');

    expect([...local.map((edge) => `${edge.from} → ${edge.to}`), ...installer]).toEqual([]);
  });

  it('has src/aws/ import nothing else of src/ (the lowest layer of the CLI)', () => {
    const upward = GRAPH.edges.filter((edge) => edge.from.startsWith('src/aws/') && edge.to.startsWith('src/') && !edge.to.startsWith('src/aws/'));

    expect(upward.map((edge) => `${edge.from} → ${edge.to}`)).toEqual([]);
  });

  it('has the library (src/client/) import only itself and functions/core/', () => {
    const outside = GRAPH.edges.filter((edge) => edge.from.startsWith('src/client/') && !edge.to.startsWith('src/client/') && !edge.to.startsWith('functions/core/'));

    expect(outside.map((edge) => `${edge.from} → ${edge.to}`)).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(importCycles(GRAPH.edges)).toEqual([]);
  });
});

describe('reading imports', () => {
  it('finds static, multi-line, re-exported, bare and dynamic imports', () => {
    const text = [
      "import { a } from './a.js';",
      'import {',
      '  b,',
      "} from '../b.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "import './e.js';",
      "const f = await import('./f.js');",
      "import { g } from 'package-g';",
    ].join('\n');

    expect(importsOf(text).map((entry) => entry.specifier)).toEqual(['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js']);
  });

  it('marks `import type` and imports whose every name is a type as type-only', () => {
    const text = ["import type { A } from './a.js';", "import { type B, type C } from './b.js';", "import { type D, e } from './d.js';", "export type { F } from './f.js';"].join('\n');

    expect(importsOf(text).map((entry) => [entry.specifier, entry.typeOnly])).toEqual([
      ['./a.js', true],
      ['./b.js', true],
      ['./d.js', false],
      ['./f.js', true],
    ]);
  });

  it('ignores imports written in comments but not a URL in a string', () => {
    const text = ["// import { a } from './a.js';", "/* import('./b.js') */", "const page = render('http://x', await import('./c.js'));"].join('\n');

    expect(importsOf(text).map((entry) => entry.specifier)).toEqual(['./c.js']);
  });
});

describe('finding cycles', () => {
  const edge = (from: string, to: string): ImportEdge => ({ from, to, typeOnly: false, dynamic: false });

  it('names each cycle as a path back to its first file', () => {
    const cycles = importCycles([edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('c', 'd'), edge('d', 'e')]);

    expect(cycles).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('finds a module importing itself and none in a graph without cycles', () => {
    expect(importCycles([edge('a', 'a')])).toEqual([['a', 'a']]);
    expect(importCycles([edge('a', 'b'), edge('a', 'c'), edge('b', 'c')])).toEqual([]);
  });
});
