#!/usr/bin/env node
/**
 * Bundles the CLI's entry (dist/src/cli.js, as tsc wrote it) with commander and the modules
 * that register the commands into that one file, so `sesmailengine --help` reads one file
 * instead of about fifteen. Every other module stays a separate file, loaded only by the
 * command that needs it (the imports are rewritten relative to the entry); src/errors.js
 * stays separate too, so CliError is one class for the entry and the commands.
 *
 * This is the clone's build (`npm run build`, what the tests run). The npm package's CLI is
 * bundled with all its dependencies by scripts/bundle-package.mjs, at pack time.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'cli.js');
const outDir = dirname(entry);
/** The compiled modules bundled into the entry: what --help needs and nothing that has state to share. */
const BUNDLED = new Set(
  ['argv.js', 'commands/index.js', 'commands/installer-commands.js', 'commands/ops-commands.js', 'commands/common-flags.js', 'commands/dashboard.js', 'shared-options.js', 'local/defaults.js'].map((file) => join(outDir, file)),
);

const BANNER = "import{createRequire as __smeCreateRequire}from'node:module';const require=__smeCreateRequire(import.meta.url);";

// Run twice without a tsc in between, the entry is already the bundle: nothing to do.
if (readFileSync(entry, 'utf8').includes(BANNER)) process.exit(0);

const keepOthersApart = {
  name: 'keep-others-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      // Inside a package (commander's own files), esbuild resolves as usual.
      if (args.importer.split(sep).includes('node_modules')) return undefined;
      const target = resolve(args.resolveDir, args.path);
      if (BUNDLED.has(target)) return undefined;
      const path = relative(outDir, target).split(sep).join('/');
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
};

await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // commander is CommonJS and requires Node's modules: give the ESM bundle a require.
  banner: { js: BANNER },
  plugins: [keepOthersApart],
  logLevel: 'warning',
  legalComments: 'none',
});
