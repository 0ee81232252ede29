import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { decideSeedAction, type InstalledTemplate, type SeedDecision } from '../../functions/core/seed-plan.js';
import { compareParsed, parseSemver } from '../../functions/core/semver.js';
import { contentTypeFor, METADATA_FILE, readInstalledTemplate, TEMPLATES_PREFIX } from '../../functions/lib/template-seeding.js';
import type { TemplateFiles } from './template-folders.js';

/**
 * Templates in the engine's bucket, under `templates/<name>/`: reading one, listing the
 * names, and uploading with the seeder's version rule (an installed template is replaced
 * only by a strictly newer version unless forced).
 */

export function templateFolderKey(name: string): string {
  return `${TEMPLATES_PREFIX}/${name}/`;
}

/** The files of `templates/<name>/`, or undefined when there are none. */
export async function readTemplateFromBucket(s3: S3Client, bucket: string, name: string): Promise<TemplateFiles | undefined> {
  const prefix = templateFolderKey(name);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const object of page.Contents ?? []) if (object.Key && !object.Key.endsWith('/')) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (keys.length === 0) return undefined;
  const contents = await Promise.all(
    keys.map(async (key) => {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    }),
  );
  const files: Record<string, Buffer> = {};
  keys.forEach((key, i) => {
    files[key.slice(prefix.length)] = contents[i]!;
  });
  return { name, files };
}

/** Names of the templates in the bucket (folders under templates/). */
export async function listTemplateNames(s3: S3Client, bucket: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${TEMPLATES_PREFIX}/`, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }),
    );
    for (const p of page.CommonPrefixes ?? []) {
      const name = p.Prefix?.slice(TEMPLATES_PREFIX.length + 1).replace(/\/$/, '');
      if (name) names.push(name);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return names.sort();
}

function refusal(local: string | undefined, installed: InstalledTemplate): string {
  if (local === undefined) return 'the local metadata.json has no "version" to compare with the copy in the bucket';
  if (installed.kind === 'present' && installed.unreadable) return "the bucket's metadata.json is not valid JSON, so it is left alone";
  const remote = installed.kind === 'present' ? installed.version : undefined;
  if (remote === undefined || remote === null) return "the bucket's metadata.json has no version (treated as customised), so it is left alone";
  const parsed = parseSemver(remote);
  if (!parsed) return "the bucket's metadata.json has no valid version, so it is left alone";
  return compareParsed(parsed, parseSemver(local)!) === 0 ? `the bucket already holds version ${String(remote)}` : `the bucket holds a newer version, ${String(remote)}`;
}

export interface PushOutcome {
  name: string;
  action: 'installed' | 'updated' | 'replaced' | 'refused';
  /** Absent when the local metadata.json has no version. */
  localVersion?: string;
  remoteVersion?: string;
  reason: string;
}

/**
 * Uploads one template unless the bucket holds the same or a newer version (`force` uploads
 * anyway). A template without a version installs where there is none, but replaces an
 * existing one only with `force`: there is nothing to compare.
 */
export async function pushTemplate(s3: S3Client, bucket: string, template: TemplateFiles, localVersion: string | undefined, force: boolean): Promise<PushOutcome> {
  const folder = templateFolderKey(template.name);
  const installed = await readInstalledTemplate(s3, bucket, `${folder}${METADATA_FILE}`);
  const remoteVersion = installed.kind === 'present' ? String(installed.version ?? '(none)') : undefined;
  const decision: SeedDecision =
    localVersion !== undefined
      ? decideSeedAction(localVersion, installed)
      : installed.kind === 'absent'
        ? { action: 'install', reason: 'not installed' }
        : { action: 'skip', reason: 'the local template has no version to compare' };
  const base = { name: template.name, ...(localVersion !== undefined ? { localVersion } : {}), ...(remoteVersion !== undefined ? { remoteVersion } : {}) };
  if (decision.action === 'skip' && !force) return { ...base, action: 'refused', reason: refusal(localVersion, installed) };

  const names = Object.keys(template.files).sort();
  // metadata.json last: an interrupted upload leaves the old metadata (and version) in place.
  await Promise.all(
    names
      .filter((n) => n !== METADATA_FILE)
      .map((fileName) =>
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}${fileName}`, Body: template.files[fileName], ContentType: contentTypeFor(fileName) })),
      ),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: `${folder}${METADATA_FILE}`, Body: template.files[METADATA_FILE], ContentType: contentTypeFor(METADATA_FILE) }),
  );
  const action = decision.action === 'install' ? 'installed' : decision.action === 'update' ? 'updated' : 'replaced';
  return { ...base, action, reason: decision.action === 'skip' ? `${decision.reason}; replaced (--force)` : decision.reason };
}
