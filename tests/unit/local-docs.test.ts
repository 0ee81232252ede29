import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * docs/LOCAL.md's test harnesses start the installed package's CLI by path. The package
 * ships only dist/package/ (package.json "files"), so the path must be the one its "bin"
 * names: dist/src/cli.js, the clone's build, is not in the package.
 */

const root = process.cwd();
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
const localDoc = readFileSync(join(root, 'docs', 'LOCAL.md'), 'utf8');

/** Paths inside node_modules/sesmailengine written as join(…, 'node_modules', 'a', 'b') / os.path.join("node_modules", …) or node_modules/a/b. */
function installedPaths(text: string): string[] {
  const joined = [...text.matchAll(/['"]node_modules['"](\s*,\s*['"][^'"]+['"])+/g)].map((m) =>
    [...m[0].matchAll(/['"]([^'"]+)['"]/g)].map((part) => part[1]).join('/'),
  );
  const literal = [...text.matchAll(/node_modules\/sesmailengine\/[\w./-]+/g)].map((m) => m[0]);
  return [...joined, ...literal].map((path) => path.slice(path.indexOf('node_modules/sesmailengine/') + 'node_modules/sesmailengine/'.length));
}

describe('docs/LOCAL.md', () => {
  it('starts the installed CLI by the path the package ships', () => {
    const paths = installedPaths(localDoc);
    expect(paths.length).toBeGreaterThanOrEqual(2);
    for (const path of paths) expect(path).toBe(manifest.bin.sesmailengine);
  });
});
