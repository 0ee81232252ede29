import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapConcurrently } from '../../functions/core/concurrency.js';
import { createHash } from 'node:crypto';
import { contentTypeFor, type StarterTemplate } from '../../functions/lib/template-seeding.js';
import { ARTIFACT_PREFIX, type HandlerArtifact } from './build.js';

/**
 * Uploads content-addressed artifacts: a key names its content, so an existing key is
 * never uploaded again (re-running install with unchanged code uploads nothing).
 */

export interface UploadReport {
  key: string;
  uploaded: boolean;
  bytes: number;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export async function uploadHandlerArtifact(s3: S3Client, bucket: string, artifact: HandlerArtifact): Promise<UploadReport> {
  const bytes = artifact.zip.length;
  if (await objectExists(s3, bucket, artifact.key)) return { key: artifact.key, uploaded: false, bytes };
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: artifact.key,
      Body: artifact.zip,
      ContentType: 'application/zip',
      ChecksumSHA256: Buffer.from(artifact.sha256, 'hex').toString('base64'),
    }),
  );
  return { key: artifact.key, uploaded: true, bytes };
}

export const STARTER_TEMPLATES_ARTIFACT_PREFIX = `${ARTIFACT_PREFIX}starter-templates/`;
/** Written last, next to the template folders: its presence means the whole set is there. */
export const STARTER_MANIFEST = 'manifest.json';

/** A hash over every file of every template (names and bytes), independent of read order. */
export function starterTemplatesHash(templates: StarterTemplate[]): string {
  const hash = createHash('sha256');
  const lines: string[] = [];
  for (const template of templates) {
    for (const [file, content] of Object.entries(template.files)) {
      lines.push(`${template.name}/${file}\0${createHash('sha256').update(content).digest('hex')}`);
    }
  }
  for (const line of lines.sort()) hash.update(`${line}\n`);
  return hash.digest('hex');
}

export interface StarterUpload {
  /** The StarterTemplatesPrefix stack parameter: `artifacts/starter-templates/<hash>` (no trailing slash). */
  prefix: string;
  uploaded: boolean;
  files: number;
}

export async function uploadStarterTemplates(
  s3: S3Client,
  bucket: string,
  templates: StarterTemplate[],
  concurrency = 8,
): Promise<StarterUpload> {
  const hash = starterTemplatesHash(templates).slice(0, 16);
  const prefix = `${STARTER_TEMPLATES_ARTIFACT_PREFIX}${hash}`;
  const files = templates.flatMap((t) => Object.entries(t.files).map(([file, body]) => ({ key: `${prefix}/${t.name}/${file}`, body })));
  if (await objectExists(s3, bucket, `${prefix}/${STARTER_MANIFEST}`)) return { prefix, uploaded: false, files: files.length };

  await mapConcurrently(files, concurrency, (file) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: file.key, Body: file.body, ContentType: contentTypeFor(file.key) })),
  );
  const manifest = {
    hash,
    templates: templates.map((t) => ({ name: t.name, version: t.version, files: Object.keys(t.files).sort() })),
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${prefix}/${STARTER_MANIFEST}`,
      Body: JSON.stringify(manifest, null, 2),
      ContentType: 'application/json',
    }),
  );
  return { prefix, uploaded: true, files: files.length };
}
