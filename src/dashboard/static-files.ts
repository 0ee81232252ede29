import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

/**
 * The page's three files. In a clone they are read from src/dashboard/page/ (tests, `npm
 * run build`); the npm package, which ships no src/, carries a copy in dist/package/dashboard/
 * (scripts/bundle-package.mjs). Only these names are served: a request path is looked up in
 * this table, never joined to a folder, so no path can reach another file.
 */

export const PAGE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
};

export function pageDirectory(root: string = packageRoot()): string {
  const candidates = [join(root, 'src', 'dashboard', 'page'), join(root, 'dist', 'package', 'dashboard')];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`The dashboard's page is missing (looked in ${candidates.join(' and ')}); reinstall sesmailengine.`);
  return found;
}

export interface PageFile {
  type: string;
  body: Buffer;
}

/** Reads the three files once. */
export function loadPage(dir: string = pageDirectory()): Map<string, PageFile> {
  return new Map(Object.entries(PAGE_FILES).map(([path, { file, type }]) => [path, { type, body: readFileSync(join(dir, file)) }]));
}
