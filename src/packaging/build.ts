import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createZip } from './zip.js';

/**
 * Builds each Lambda handler into one minified ESM file (`index.mjs`) with esbuild and
 * packs it into a deterministic zip whose SHA-256 names its S3 key. The AWS SDK v3 stays
 * out of the bundle: the nodejs22.x runtime ships it.
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
];

export interface HandlerArtifact extends HandlerSpec {
  /** `artifacts/<name>-<sha256 of the zip>.zip` */
  key: string;
  sha256: string;
  zip: Buffer;
  bundleBytes: number;
}

export const ARTIFACT_PREFIX = 'artifacts/';

/** Makes `require` exist inside the ESM bundle for CommonJS dependencies that call it. */
const REQUIRE_SHIM =
  "import{createRequire as __smeCreateRequire}from'node:module';const require=__smeCreateRequire(import.meta.url);";

/** The handler's entry file: TypeScript source in a clone, compiled JavaScript in the npm package. */
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

/** Bundles one entry file into the text of index.mjs. */
export async function bundleHandler(entry: string, root: string): Promise<Uint8Array> {
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
    outfile: 'index.mjs',
    external: ['@aws-sdk/*', 'chokidar', 'fsevents'],
    banner: { js: REQUIRE_SHIM },
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no output for ${entry}.`);
  return file.contents;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Zips a bundle as index.mjs and derives its content-hashed key. */
export function packageBundle(spec: HandlerSpec, bundle: Uint8Array): HandlerArtifact {
  const zip = createZip([{ name: 'index.mjs', data: bundle }]);
  const hash = sha256(zip);
  return { ...spec, key: `${ARTIFACT_PREFIX}${spec.name}-${hash}.zip`, sha256: hash, zip, bundleBytes: bundle.length };
}

/** Builds and packages every handler (in parallel: esbuild runs them on its own threads). */
export async function buildHandlers(
  root: string,
  handlers: readonly HandlerSpec[] = HANDLERS,
  entryFor: (root: string, name: string) => string = handlerEntry,
): Promise<HandlerArtifact[]> {
  return Promise.all(
    handlers.map(async (spec) => packageBundle(spec, await bundleHandler(entryFor(root, spec.name), root))),
  );
}
