import { describe, it, expect } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A folder README says what lives in its folder, so it must name every file and subfolder
 * there (in backticks: `engine.ts`, `dynamodb/`) and name nothing that is gone: a bare
 * source file name must be in the folder, and a path must lead somewhere (from the folder,
 * a folder above it, or the repository root).
 */

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROOTS = ['functions', 'src'];

function foldersWithReadme(dir: string): string[] {
  const below = readdirSync(join(REPO, dir))
    .filter((entry) => statSync(join(REPO, dir, entry)).isDirectory())
    .flatMap((entry) => foldersWithReadme(posix.join(dir, entry)));
  return existsSync(join(REPO, dir, 'README.md')) ? [dir, ...below] : below;
}

const FOLDERS = ROOTS.flatMap(foldersWithReadme);

/** Every `backticked` token of the README. */
function mentions(folder: string): string[] {
  const text = readFileSync(join(REPO, folder, 'README.md'), 'utf8');
  return [...text.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!.trim());
}

function entries(folder: string): { name: string; isFolder: boolean }[] {
  return readdirSync(join(REPO, folder))
    .filter((name) => name !== 'README.md')
    .map((name) => ({ name, isFolder: statSync(join(REPO, folder, name)).isDirectory() }));
}

const FILE_NAME = /^[\w.-]+\.ts$/;
/** A path of ours: a slash inside, no placeholder (`<name>`), wildcard or spaces; not under dist/ (the build writes it). */
const PATH = /^(?!dist\/)[\w.-]+(?:\/[\w.-]+)+\/?$/;

function leadsSomewhere(folder: string, path: string): boolean {
  const bases: string[] = [];
  for (let base = folder; base !== '.'; base = posix.dirname(base)) bases.push(base);
  bases.push('.');
  return bases.some((base) => existsSync(join(REPO, base, path)));
}

describe('folder READMEs', () => {
  it('exist for the folders that hold the engine and the CLI', () => {
    expect(FOLDERS).toEqual(expect.arrayContaining(['functions', 'src/aws', 'src/installer', 'src/local', 'src/local/dynamodb', 'src/ops', 'src/packaging']));
  });

  describe.each(FOLDERS)('%s/README.md', (folder) => {
    it('names every file and subfolder of its folder', () => {
      const named = new Set(mentions(folder));
      const unnamed = entries(folder)
        .filter(({ name, isFolder }) => !named.has(name) && !(isFolder && named.has(`${name}/`)))
        .map(({ name, isFolder }) => (isFolder ? `${name}/` : name));

      expect(unnamed).toEqual([]);
    });

    it('names no file that is not there', () => {
      const here = new Set(entries(folder).map(({ name }) => name));
      const stale = mentions(folder).filter((token) => (FILE_NAME.test(token) ? !here.has(token) : PATH.test(token) && !leadsSomewhere(folder, token)));

      expect(stale).toEqual([]);
    });
  });
});
