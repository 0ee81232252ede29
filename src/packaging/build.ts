import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { createZip, zipContentBytes } from './zip.js';

/**
 * Builds each Lambda handler into minified ESM (`index.mjs`, plus `chunks/` for modules the
 * handler imports dynamically) with esbuild and packs it into a deterministic zip whose
 * SHA-256 names its S3 key. The AWS SDK v3 stays out of the bundle: the nodejs22.x runtime
 * ships it. Code splitting keeps rarely used paths, and the SDK packages only they import,
 * out of the cold start: esbuild hoists every static import of a single-file bundle.
 *
 * The npm package ships these zips prebuilt (dist/package/handlers/, written at pack time by
 * scripts/bundle-package.mjs) and has no esbuild: the installer uses them when the handler's
 * source is absent, and builds from source only in a clone.
 */

export interface HandlerSpec {
  /** Folder under functions/ and the artifact's name. */
  name: string;
  /** The stack parameter that receives the artifact's S3 key. */
  parameter: string;
}

export const HANDLERS: readonly HandlerSpec[] = [
  { name: 'email-sender', parameter: 'EmailSenderCodeKey' },
  { name: 'feedback-processor', parameter: 'FeedbackProcessorCodeKey' },
  { name: 'unsubscribe', parameter: 'UnsubscribeCodeKey' },
  { name: 'template-seeder', parameter: 'TemplateSeederCodeKey' },
  { name: 'webhook-delivery', parameter: 'WebhookDeliveryCodeKey' },
];

export interface HandlerArtifact extends HandlerSpec {
  /** `artifacts/<name>-<sha256 of the zip>.zip` */
  key: string;
  sha256: string;
  zip: Buffer;
  bundleBytes: number;
}

export const ARTIFACT_PREFIX = 'artifacts/';

/** One file of a handler bundle, by its path inside the zip. */
export interface BundleFile {
  path: string;
  data: Uint8Array;
}

/** Makes `require` exist inside the ESM bundle for CommonJS dependencies that call it. */
const REQUIRE_SHIM =
  "import{createRequire as __smeCreateRequire}from'node:module';const require=__smeCreateRequire(import.meta.url);";

/** The handler's entry file: its TypeScript source, or the compiled JavaScript of a build without the sources. */
export function handlerEntry(root: string, name: string): string {
  const source = join(root, 'functions', name, 'handler.ts');
  if (existsSync(source)) return source;
  const compiled = join(root, 'dist', 'functions', name, 'handler.js');
  if (existsSync(compiled)) return compiled;
  throw new Error(`The ${name} handler is missing: neither ${source} nor ${compiled} exists.`);
}

type EsbuildModule = typeof import('esbuild');

let esbuildModule: Promise<EsbuildModule> | undefined;
function loadEsbuild(): Promise<EsbuildModule> {
  esbuildModule ??= import('esbuild');
  return esbuildModule;
}

/** Bundles one entry file: index.mjs first, then its chunks in path order. */
export async function bundleHandler(entry: string, root: string): Promise<BundleFile[]> {
  const esbuild = await loadEsbuild();
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    treeShaking: true,
    sourcemap: false,
    legalComments: 'eof',
    charset: 'utf8',
    write: false,
    splitting: true,
    outdir: 'bundle',
    entryNames: 'index',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    external: ['@aws-sdk/*', 'chokidar', 'fsevents'],
    banner: { js: REQUIRE_SHIM },
    logLevel: 'silent',
  });
  const outdir = join(root, 'bundle');
  const files = result.outputFiles
    .map((file) => ({ path: relative(outdir, file.path).split(sep).join('/'), data: file.contents }))
    .sort((a, b) => (a.path === 'index.mjs' ? -1 : b.path === 'index.mjs' ? 1 : a.path < b.path ? -1 : 1));
  if (files[0]?.path !== 'index.mjs') throw new Error(`esbuild produced no index.mjs for ${entry}.`);
  return files;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Zips a bundle (or a lone index.mjs) and derives its content-hashed key. */
export function packageBundle(spec: HandlerSpec, bundle: Uint8Array | readonly BundleFile[]): HandlerArtifact {
  const files = bundle instanceof Uint8Array ? [{ path: 'index.mjs', data: bundle }] : bundle;
  const zip = createZip(files.map((file) => ({ name: file.path, data: file.data })));
  const hash = sha256(zip);
  const bundleBytes = files.reduce((sum, file) => sum + file.data.length, 0);
  return { ...spec, key: `${ARTIFACT_PREFIX}${spec.name}-${hash}.zip`, sha256: hash, zip, bundleBytes };
}

/** Where the npm package keeps a handler's prebuilt zip. */
export function prebuiltHandlerZip(root: string, name: string): string {
  return join(root, 'dist', 'package', 'handlers', `${name}.zip`);
}

/** A prebuilt zip as an artifact: the same key as building it here would give. */
export function packagePrebuilt(spec: HandlerSpec, zip: Buffer): HandlerArtifact {
  const hash = sha256(zip);
  return { ...spec, key: `${ARTIFACT_PREFIX}${spec.name}-${hash}.zip`, sha256: hash, zip, bundleBytes: zipContentBytes(zip) };
}

/**
 * Packages every handler: the prebuilt zip where the source is absent (the npm package),
 * otherwise a fresh build (in parallel: esbuild runs them on its own threads).
 */
export async function buildHandlers(
  root: string,
  handlers: readonly HandlerSpec[] = HANDLERS,
  entryFor: (root: string, name: string) => string = handlerEntry,
): Promise<HandlerArtifact[]> {
  return Promise.all(
    handlers.map(async (spec) => {
      const prebuilt = prebuiltHandlerZip(root, spec.name);
      if (!existsSync(join(root, 'functions', spec.name, 'handler.ts')) && existsSync(prebuilt)) {
        return packagePrebuilt(spec, readFileSync(prebuilt));
      }
      return packageBundle(spec, await bundleHandler(entryFor(root, spec.name), root));
    }),
  );
}
