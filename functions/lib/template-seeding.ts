import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mapConcurrently } from '../core/concurrency.js';
import { TEMPLATE_NAME_PATTERN } from '../core/template-name.js';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { EngineError } from '../core/error-codes.js';
import { decideSeedAction, type InstalledTemplate } from '../core/seed-plan.js';
import { isSemver } from '../core/semver.js';

/**
 * Version-aware template seeding: copies starter templates into the template bucket
 * under `templates/<name>/`, installing missing ones, updating older ones, and leaving
 * alone any whose installed `metadata.json` version is the same or newer (so templates a
 * user customised and re-versioned survive). Used by the Template Seeder Lambda, the
 * CLI's `seed-templates` and local mode.
 */

export interface StarterTemplate {
  name: string;
  /** The `version` from the template's metadata.json. */
  version: string;
  /** File name (relative to the template folder, "/"-separated) → content. */
  files: Record<string, Buffer | string>;
}

export interface SeedResult {
  installed: string[];
  updated: string[];
  skipped: string[];
}

export interface SeedOptions {
  /** Key prefix of installed templates (default "templates"). */
  prefix?: string;
  /** Templates processed at once (default 8). */
  concurrency?: number;
  /** Called once per template with what was done and why (for logs). */
  onDecision?: (name: string, action: 'install' | 'update' | 'skip', reason: string) => void;
}

export const METADATA_FILE = 'metadata.json';
export const TEMPLATES_PREFIX = 'templates';

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  css: 'text/css; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
};

export function contentTypeFor(fileName: string): string {
  const ext = fileName.includes('.') ? fileName.slice(fileName.lastIndexOf('.') + 1).toLowerCase() : '';
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

function trimSlashes(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}

function isSafeFileName(fileName: string): boolean {
  if (fileName === '' || fileName.startsWith('/') || fileName.includes('\\')) return false;
  return fileName.split('/').every((part) => part !== '' && part !== '.' && part !== '..' && !part.startsWith('.'));
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.Code === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Builds a StarterTemplate from its files, checking the name, file names and metadata version. */
export function starterTemplateFromFiles(name: string, files: Record<string, Buffer | string>): StarterTemplate {
  if (!TEMPLATE_NAME_PATTERN.test(name)) {
    throw new EngineError('TMPL002', `Starter template folder "${name}" is not a valid template name (letters, digits, "-", "_").`);
  }
  for (const fileName of Object.keys(files)) {
    if (!isSafeFileName(fileName)) {
      throw new EngineError('TMPL002', `Starter template "${name}" has an unsafe file name "${fileName}".`);
    }
  }
  const metadata = files[METADATA_FILE];
  if (metadata === undefined) {
    throw new EngineError('TMPL002', `Starter template "${name}" has no ${METADATA_FILE}.`);
  }
  let version: unknown;
  try {
    version = (JSON.parse(metadata.toString()) as { version?: unknown }).version;
  } catch (cause) {
    throw new EngineError('TMPL002', `Starter template "${name}": ${METADATA_FILE} is not valid JSON.`, { cause });
  }
  if (!isSemver(version)) {
    throw new EngineError('TMPL002', `Starter template "${name}": ${METADATA_FILE} "version" must be a semantic version such as "1.0.0".`);
  }
  return { name, version, files };
}


/** What is installed for a template: absent, or the version field of its metadata.json. */
export async function readInstalledTemplate(s3: S3Client, bucket: string, key: string): Promise<InstalledTemplate> {
  let body: string;
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    body = (await out.Body?.transformToString('utf-8')) ?? '';
  } catch (error) {
    if (isNotFound(error)) return { kind: 'absent' };
    throw error;
  }
  try {
    const parsed = JSON.parse(body) as unknown;
    return { kind: 'present', version: (parsed as { version?: unknown } | null)?.version };
  } catch {
    return { kind: 'present', version: undefined, unreadable: true };
  }
}

async function writeTemplate(s3: S3Client, bucket: string, folder: string, template: StarterTemplate): Promise<void> {
  const names = Object.keys(template.files).sort();
  // metadata.json goes last: an interrupted copy leaves no metadata.json, so the next run installs again.
  const others = names.filter((n) => n !== METADATA_FILE);
  await Promise.all(
    others.map((fileName) =>
      s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${folder}/${fileName}`,
          Body: template.files[fileName],
          ContentType: contentTypeFor(fileName),
        }),
      ),
    ),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${folder}/${METADATA_FILE}`,
      Body: template.files[METADATA_FILE],
      ContentType: contentTypeFor(METADATA_FILE),
    }),
  );
}

/** Seeds `templates` into `bucket`; returns the names installed, updated and skipped (each sorted). */
export async function seedTemplates(
  s3: S3Client,
  bucket: string,
  templates: StarterTemplate[],
  options: SeedOptions = {},
): Promise<SeedResult> {
  const prefix = trimSlashes(options.prefix ?? TEMPLATES_PREFIX);
  const seen = new Set<string>();
  for (const template of templates) {
    starterTemplateFromFiles(template.name, template.files);
    if (!isSemver(template.version)) {
      throw new EngineError('TMPL002', `Starter template "${template.name}" has version "${template.version}", not a semantic version.`);
    }
    if (seen.has(template.name)) throw new EngineError('TMPL002', `Starter template "${template.name}" is listed twice.`);
    seen.add(template.name);
  }

  const result: SeedResult = { installed: [], updated: [], skipped: [] };
  await mapConcurrently(templates, options.concurrency ?? 8, async (template) => {
    const folder = prefix ? `${prefix}/${template.name}` : template.name;
    const installed = await readInstalledTemplate(s3, bucket, `${folder}/${METADATA_FILE}`);
    const decision = decideSeedAction(template.version, installed);
    options.onDecision?.(template.name, decision.action, decision.reason);
    if (decision.action === 'skip') {
      result.skipped.push(template.name);
      return;
    }
    await writeTemplate(s3, bucket, folder, template);
    (decision.action === 'install' ? result.installed : result.updated).push(template.name);
  });
  result.installed.sort();
  result.updated.sort();
  result.skipped.sort();
  return result;
}

/** Reads starter templates stored as `<prefix>/<name>/<file>` in an S3 bucket (the stack's artifacts). */
export async function readStarterTemplatesFromS3(s3: S3Client, bucket: string, prefix: string): Promise<StarterTemplate[]> {
  const base = trimSlashes(prefix);
  const listPrefix = base ? `${base}/` : '';
  const byTemplate = new Map<string, string[]>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: listPrefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      const key = object.Key;
      if (!key || key.endsWith('/')) continue;
      const rest = key.slice(listPrefix.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) continue; // a loose file next to the template folders
      const name = rest.slice(0, slash);
      const fileName = rest.slice(slash + 1);
      if (fileName.split('/').some((part) => part.startsWith('.'))) continue;
      byTemplate.set(name, [...(byTemplate.get(name) ?? []), fileName]);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);

  const names = [...byTemplate.keys()].sort();
  return mapConcurrently(names, 8, async (name) => {
    const fileNames = byTemplate.get(name)!;
    const contents = await Promise.all(
      fileNames.map(async (fileName) => {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${listPrefix}${name}/${fileName}` }));
        return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
      }),
    );
    const files: Record<string, Buffer> = {};
    fileNames.forEach((fileName, i) => {
      files[fileName] = contents[i]!;
    });
    return starterTemplateFromFiles(name, files);
  });
}

async function readFilesRecursively(dir: string, relative = ''): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  const entries = await readdir(join(dir, relative), { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const path = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(files, await readFilesRecursively(dir, path));
    else if (entry.isFile()) files[path] = await readFile(join(dir, path));
  }
  return files;
}

/** Reads starter templates from a directory laid out as `<dir>/<name>/<file>` (the package's starter-templates/). */
export async function readStarterTemplatesFromDirectory(dir: string): Promise<StarterTemplate[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    throw new Error(`Starter template directory ${dir} cannot be read.`, { cause });
  }
  const folders = entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  const templates: StarterTemplate[] = [];
  for (const name of folders) {
    templates.push(starterTemplateFromFiles(name, await readFilesRecursively(join(dir, name))));
  }
  return templates;
}
