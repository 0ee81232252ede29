import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { EngineError } from '../core/error-codes.js';
import { TEMPLATE_NAME_PATTERN } from '../core/template-name.js';
import type { TemplateSource } from '../core/template-render.js';

/**
 * Templates from the template bucket: `templates/<name>/{template.html, template.txt,
 * metadata.json}`, kept in memory per container for TEMPLATE_CACHE_SECONDS so the warm
 * path reads S3 once per template per cache period. Concurrent requests for a template that
 * is being fetched share that fetch. A missing template is remembered briefly too, so a
 * burst of requests for a name that does not exist costs one lookup, not one per email.
 * Other S3 errors are not cached: they are thrown, and the message goes back to the queue.
 */

export const TEMPLATE_FILES = ['template.html', 'template.txt', 'metadata.json'] as const;

/**
 * The S3 key of one file of a template. The name must be a safe identifier (request
 * validation guarantees it; this guards every other caller): a name such as "../x" or
 * "a/b" would reach keys outside the template's own folder.
 */
export function templateKey(name: string, file: (typeof TEMPLATE_FILES)[number]): string {
  if (!TEMPLATE_NAME_PATTERN.test(name)) {
    throw new EngineError('VAL004', `Template name "${name.slice(0, 100)}" is not a safe identifier (letters, digits, "-" and "_", 1-64 characters).`);
  }
  return `templates/${name}/${file}`;
}

function isMissingObject(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

async function readText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!out.Body) return '';
    return await out.Body.transformToString('utf-8');
  } catch (error) {
    if (isMissingObject(error)) return undefined;
    throw error;
  }
}

/** Reads the three files of a template (in parallel). Throws EngineError TMPL001 when any is missing. */
export async function loadTemplateSource(s3: S3Client, bucket: string, name: string): Promise<TemplateSource> {
  const [html, text, metadata] = await Promise.all(TEMPLATE_FILES.map((file) => readText(s3, bucket, templateKey(name, file))));
  const missing = TEMPLATE_FILES.filter((_, i) => [html, text, metadata][i] === undefined);
  if (missing.length === TEMPLATE_FILES.length) {
    throw new EngineError('TMPL001', `Template "${name}" does not exist in bucket ${bucket} (no templates/${name}/).`);
  }
  if (missing.length > 0) {
    throw new EngineError(
      'TMPL001',
      `Template "${name}" is incomplete in bucket ${bucket}: ${missing.map((file) => templateKey(name, file)).join(', ')} missing.`,
    );
  }
  return { name, html: html!, text: text!, metadata: metadata! };
}

export interface TemplateStoreOptions<T> {
  s3: S3Client;
  bucket: string;
  /** How long a loaded template is reused (TEMPLATE_CACHE_SECONDS; 0 = fetch every time). */
  ttlSeconds: number;
  /** How long "this template does not exist" is remembered (default min(ttlSeconds, 30)). */
  missingTtlSeconds?: number;
  /** Turns the files into what callers use (e.g. compiled templates), once per load. */
  prepare: (source: TemplateSource) => T;
  /** Milliseconds clock (default Date.now). */
  now?: () => number;
  /** Names kept at most; the oldest entry goes first (default 500). */
  maxEntries?: number;
}

export interface TemplateStore<T> {
  /** The prepared template, from the cache when fresh. Rejects with EngineError TMPL001 when missing. */
  get(name: string): Promise<T>;
  /** Counts of S3 template loads started (for benchmarks and tests). */
  readonly loads: number;
  clear(): void;
}

interface Entry<T> {
  /** Epoch ms after which the entry is stale; Infinity while the load is in flight. */
  expiresAt: number;
  value: Promise<T>;
}

export function createTemplateStore<T>(options: TemplateStoreOptions<T>): TemplateStore<T> {
  const { s3, bucket, prepare } = options;
  const now = options.now ?? Date.now;
  const ttlMs = Math.max(0, options.ttlSeconds) * 1000;
  const missingTtlMs = Math.max(0, options.missingTtlSeconds ?? Math.min(options.ttlSeconds, 30)) * 1000;
  const maxEntries = options.maxEntries ?? 500;
  const cache = new Map<string, Entry<T>>();
  let loads = 0;

  return {
    get(name: string): Promise<T> {
      // Refused before the cache, so an unsafe name never becomes a cache entry or an S3 request.
      if (!TEMPLATE_NAME_PATTERN.test(name)) return Promise.reject(new EngineError('VAL004', `Template name "${name.slice(0, 100)}" is not a safe identifier.`));
      const key = `${bucket}/${name}`;
      const hit = cache.get(key);
      if (hit && hit.expiresAt > now()) return hit.value;

      loads++;
      const entry: Entry<T> = { expiresAt: Infinity, value: Promise.resolve() as Promise<T> };
      entry.value = loadTemplateSource(s3, bucket, name).then(
        (source) => {
          entry.expiresAt = now() + ttlMs;
          return prepare(source);
        },
        (error: unknown) => {
          if (error instanceof EngineError && error.code === 'TMPL001') {
            entry.expiresAt = now() + missingTtlMs;
          } else if (cache.get(key) === entry) {
            cache.delete(key);
          }
          throw error;
        },
      );
      // Callers may all be gone by the time a load fails; the rejection is theirs to see, not the process's.
      entry.value.catch(() => undefined);
      cache.delete(key);
      cache.set(key, entry);
      if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
      return entry.value;
    },
    get loads() {
      return loads;
    },
    clear() {
      cache.clear();
    },
  };
}
