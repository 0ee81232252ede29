#!/usr/bin/env node
/**
 * Builds what the npm package runs, into dist/package/ (run by `prepack`, after `npm run build`):
 *
 * - The CLI, the library entry and the two scripts local mode starts by path (the handler
 *   worker thread and the stand-in process), bundled from src/ with every runtime dependency
 *   (the AWS SDK clients, commander, the prompts, nunjucks, s3rver, aws-ses-v2-local…), so the
 *   published package has no dependencies. ESM with code splitting: `--help` loads the entry
 *   and a few small chunks; each command's code and its dependencies load when it runs. All
 *   files sit in one folder, so `new URL('./handler-worker.js', import.meta.url)` finds its
 *   script from whichever chunk holds that code.
 * - Each Lambda handler's zip, prebuilt (handlers/<name>.zip): the installer uploads these and
 *   needs no esbuild. The zips are deterministic, so their content-hashed keys are what a
 *   clone's install builds from the same source.
 * - THIRD_PARTY_LICENSES.txt: the license of every package the bundles include.
 * - The dashboard's page (dashboard/: index.html, dashboard.css, dashboard.js), copied from
 *   src/dashboard/page/ as it is (no build step); the package ships no src/, and
 *   src/dashboard/static-files.ts looks for the page here.
 */
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'package');

/** Each entry's output name is the name the code starts it by (see the URLs in src/local/). */
const ENTRIES = {
  cli: 'src/cli.ts',
  client: 'src/client/index.ts',
  'handler-worker': 'src/local/handler-worker.ts',
  'stand-in-process': 'src/local/stand-in-process.ts',
};

const BANNER = "import{createRequire as __smeCreateRequire}from'node:module';const require=__smeCreateRequire(import.meta.url);";

/**
 * aws-ses-v2-local serves its mail viewer from `../static` next to its own file, a path a
 * bundle does not have: the page goes into the bundle instead. If the package changes this
 * line, the build stops here rather than ship a viewer that answers 500.
 */
const SES_VIEWER_LINE = "res.sendFile('index.html', { root: path_1.default.join(__dirname, '../static') });";
const inlineSesViewer = {
  name: 'inline-ses-viewer',
  setup(b) {
    b.onLoad({ filter: /aws-ses-v2-local[\\/]dist[\\/]index\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(SES_VIEWER_LINE)) throw new Error(`aws-ses-v2-local changed how it serves its viewer: ${args.path}`);
      const page = readFileSync(join(dirname(args.path), '..', 'static', 'index.html'), 'utf8');
      return { contents: source.replace(SES_VIEWER_LINE, `res.type('html').send(${JSON.stringify(page)});`), loader: 'js' };
    });
  },
};

rmSync(outDir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, join(root, file)])),
  outdir: outDir,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Whitespace and syntax only: names stay, so `--debug` stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  // nunjucks requires chokidar only to watch template folders, which the engine never asks for;
  // esbuild is imported only to build the handlers in a clone (the package ships them built).
  external: ['chokidar', 'fsevents', 'esbuild'],
  // CommonJS dependencies call require (Node's own modules among them): give each ESM file one.
  banner: { js: BANNER },
  plugins: [inlineSesViewer],
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

// A bundled CommonJS file that reads __dirname or __filename would fail only when that line
// runs: refuse to ship one. (colors, under winston, names __dirname in a message only.)
const HARMLESS = ["colors.setTheme(__dirname + '/../themes/generic-logging.js')", "colors.setTheme(require(__dirname + '/../themes/generic-logging.js'))"];
for (const file of readdirSync(outDir).filter((name) => name.endsWith('.js'))) {
  const text = HARMLESS.reduce((all, phrase) => all.split(phrase).join(''), readFileSync(join(outDir, file), 'utf8'));
  const found = /\b__(dirname|filename)\b/.exec(text);
  if (found) throw new Error(`${file} uses ${found[0]}, which an ES module does not have.`);
}

writeFileSync(join(outDir, 'THIRD_PARTY_LICENSES.txt'), thirdPartyLicenses(Object.keys(result.metafile.inputs)));

// The handlers' zips, built as `sesmailengine install` builds them in a clone.
const { buildHandlers } = await import(pathToFileURL(join(root, 'dist', 'src', 'packaging', 'build.js')).href);
const handlersDir = join(outDir, 'handlers');
mkdirSync(handlersDir, { recursive: true });
for (const artifact of await buildHandlers(root)) writeFileSync(join(handlersDir, `${artifact.name}.zip`), artifact.zip);

/** The license text of each node_modules package among the bundles' inputs, by name and version. */
function thirdPartyLicenses(inputs) {
  const packages = new Map();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packages.set(match[1], true);
  }
  const sections = new Map();
  for (const dir of [...packages.keys()].sort()) {
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const id = `${manifest.name}@${manifest.version}`;
    if (sections.has(id)) continue;
    const licenseFile = readdirSync(join(root, dir)).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    const text = licenseFile ? readFileSync(join(root, dir, licenseFile), 'utf8').trim() : `License: ${manifest.license ?? 'see the package'}`;
    sections.set(id, `${id} (${manifest.license ?? 'unknown'})\n\n${text}`);
  }
  return `The sesmailengine package bundles these packages.\n\n${[...sections.values()].sort().join(`\n\n${'-'.repeat(72)}\n\n`)}\n`;
}

// The dashboard's page, served by `sesmailengine dashboard` from the installed package.
const pageDir = join(outDir, 'dashboard');
mkdirSync(pageDir, { recursive: true });
for (const name of ['index.html', 'dashboard.css', 'dashboard.js']) copyFileSync(join(root, 'src', 'dashboard', 'page', name), join(pageDir, name));

if (!existsSync(join(outDir, 'cli.js'))) throw new Error('The CLI bundle is missing.');
