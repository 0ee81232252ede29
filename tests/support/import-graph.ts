import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';

/**
 * The import graph of the TypeScript sources, read as text: `import … from '…'`,
 * `export … from '…'`, bare `import '…'` and dynamic `import('…')`. Only relative
 * specifiers count (packages are not ours); `./x.js` resolves to `x.ts` (or `x.d.ts`).
 * Comments are blanked first, so an import quoted in a comment is not an edge.
 */

export interface ImportEdge {
  from: string;
  to: string;
  /** `import type …` / `export type …`: erased at build, so it loads nothing. */
  typeOnly: boolean;
  /** `import('…')`: loaded when the code runs, not when the module loads. */
  dynamic: boolean;
}

/** Every .ts file below `dir`, as paths relative to `root` with forward slashes. */
export function sourceFiles(root: string, dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(root, path);
    return path.endsWith('.ts') ? [path.split(sep).join('/')] : [];
  });
}

/** Blanks comments (keeping line breaks) without touching string contents. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|(['"])(?:\\.|(?!\1)[^\\\n])*\1|`(?:\\.|[^\\`])*`/g, (match) =>
    match.startsWith('/') ? match.replace(/[^\n]/g, ' ') : match,
  );
}

// `import type { A } from`, `import { type A, type B } from` (all named imports typed),
// `export type { A } from`, `import X, { … } from`, `import * as X from`, `export * from`.
const STATIC = /^[ \t]*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gm;
const BARE = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Whether every name in `{ type A, type B }` is marked `type`. */
function allNamesTyped(clause: string): boolean {
  const named = /^\{([\s\S]*)\}$/.exec(clause.trim());
  if (!named) return false;
  const names = named[1]!.split(',').map((name) => name.trim()).filter(Boolean);
  return names.length > 0 && names.every((name) => name.startsWith('type '));
}

/** The relative specifiers of one file's text. */
export function importsOf(text: string): { specifier: string; typeOnly: boolean; dynamic: boolean }[] {
  const code = withoutComments(text);
  const found: { specifier: string; typeOnly: boolean; dynamic: boolean }[] = [];
  for (const match of code.matchAll(STATIC)) {
    found.push({ specifier: match[4]!, typeOnly: Boolean(match[2]) || allNamesTyped(match[3]!), dynamic: false });
  }
  for (const match of code.matchAll(BARE)) found.push({ specifier: match[1]!, typeOnly: false, dynamic: false });
  for (const match of code.matchAll(DYNAMIC)) found.push({ specifier: match[1]!, typeOnly: false, dynamic: true });
  return found.filter((entry) => entry.specifier.startsWith('.'));
}

function resolve(root: string, from: string, specifier: string): string | undefined {
  const target = join(dirname(from), specifier).split(sep).join('/');
  const stem = target.replace(/\.(m?js|ts)$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.d.ts`, `${stem}/index.ts`]) {
    if (existsSync(join(root, candidate))) return candidate;
  }
  return undefined;
}

/** The edges between the given files (relative to `root`); an edge to a file outside them is kept too. */
export function importGraph(root: string, files: readonly string[]): { edges: ImportEdge[]; unresolved: string[] } {
  const edges: ImportEdge[] = [];
  const unresolved: string[] = [];
  for (const from of files) {
    for (const { specifier, typeOnly, dynamic } of importsOf(readFileSync(join(root, from), 'utf8'))) {
      const to = resolve(root, from, specifier);
      if (to === undefined) unresolved.push(`${from} → ${specifier}`);
      else edges.push({ from, to, typeOnly, dynamic });
    }
  }
  return { edges, unresolved };
}

/**
 * The import cycles among `edges`: one per strongly connected component of more than one
 * file (or a file importing itself), printed as a path through it, so a failure names
 * the files to untangle.
 */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const edge of edges) {
    if (!next.has(edge.from)) next.set(edge.from, []);
    next.get(edge.from)!.push(edge.to);
  }
  // Tarjan's strongly connected components, iterative so deep chains cannot overflow.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; child: number }[] = [{ node: start, child: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const children = next.get(frame.node) ?? [];
      if (frame.child < children.length) {
        const child = children[frame.child++]!;
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ node: child, child: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = (next.get(frame.node) ?? []).includes(frame.node);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  return components.map((component) => cyclePath(component, next));
}

/** A closed walk through a component: from its first file back to it by the shortest way. */
function cyclePath(component: readonly string[], next: Map<string, string[]>): string[] {
  const members = new Set(component);
  const start = component[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const child of next.get(node) ?? []) {
      if (!members.has(child)) continue;
      if (child === start) {
        const path = [start];
        for (let at = node; at !== start; at = cameFrom.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(child)) {
        cameFrom.set(child, node);
        queue.push(child);
      }
    }
  }
  return [...component];
}
