import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder (where package.json, cloudformation/ and starter-templates/
 * live), found from this module's own location so it works from src/ (tests), from dist/
 * (a clone) and from an installed npm package alike.
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'cloudformation'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the sesmailengine package root above ${from}.`);
    dir = parent;
  }
}
