#!/usr/bin/env node
/**
 * Writes docs/ai/ERROR_INDEX.md from the error registry (src/error-registry.ts, as built in
 * dist/). Run after `npm run build`; tests/unit/error-registry.test.ts fails when it is stale.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { errorIndexMarkdown } = await import(join(root, 'dist', 'src', 'error-registry.js'));
writeFileSync(join(root, 'docs', 'ai', 'ERROR_INDEX.md'), errorIndexMarkdown());
