import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CliError } from '../errors.js';
import { awsErrorInfo } from '../aws/clients.js';

/**
 * The one bucket the engine uses (artifacts under artifacts/, templates under templates/):
 * created by the installer if absent — encrypted, private, versioned, TLS only — and
 * emptied version by version when the user asks uninstall to delete it.
 */

export type BucketState = { kind: 'ours'; region?: string } | { kind: 'missing' } | { kind: 'foreign' };

/** S3 bucket names: 3-63 characters of a-z, 0-9, "." and "-", starting and ending alphanumeric. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return 'may hold only lower-case letters, digits, "." and "-", and must start and end with a letter or digit';
  if (name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not contain ".." or look like an IP address';
  return undefined;
}

/** The default bucket name, `<stack-name>-<account-id>-<region>`, lower-cased and cut to S3's limit. */
export function defaultBucketName(stackName: string, account: string, region: string): string {
  const suffix = `-${account}-${region}`;
  const base = stackName.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+/, '');
  return `${base.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

export async function bucketState(s3: S3Client, bucket: string): Promise<BucketState> {
  try {
    const out = await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return { kind: 'ours', ...(out.BucketRegion ? { region: out.BucketRegion } : {}) };
  } catch (error) {
    const info = awsErrorInfo(error);
    if (info.status === 404 || info.name === 'NotFound' || info.name === 'NoSuchBucket') return { kind: 'missing' };
    if (info.status === 403 || info.name === 'Forbidden' || info.name === 'AccessDenied') return { kind: 'foreign' };
    throw error;
  }
}

export function bucketTakenError(bucket: string, cause?: unknown): CliError {
  return new CliError(
    'INS005',
    `The bucket name ${bucket} is taken by another AWS account (S3 bucket names are global), or your credentials may not use it.`,
    'Choose another name with --bucket <name> (for example add your company or project to it).',
    { cause },
  );
}

/** The ARN partition of a region: China and GovCloud regions have their own. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** TLS-only access, as the stack's other resources require. */
export function denyInsecureTransportPolicy(bucket: string, region = 'us-east-1'): string {
  const arn = `arn:${partitionOf(region)}:s3:::${bucket}`;
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  });
}

export interface EnsureBucketResult {
  created: boolean;
}

/** Makes sure the bucket exists in `region` and belongs to this account; creates and locks it down if absent. */
export async function ensureBucket(s3: S3Client, bucket: string, region: string): Promise<EnsureBucketResult> {
  const problem = bucketNameProblem(bucket);
  if (problem) throw new CliError('INS003', `The bucket name "${bucket}" is not valid: it ${problem}.`, 'Pass a valid name with --bucket <name>.');

  const state = await bucketState(s3, bucket);
  if (state.kind === 'foreign') throw bucketTakenError(bucket);
  if (state.kind === 'ours') {
    if (state.region && state.region !== region) {
      throw new CliError(
        'INS006',
        `The bucket ${bucket} is in ${state.region}, but the stack goes to ${region}: Lambda loads its code only from a bucket in its own region.`,
        `Install into ${state.region} (--region ${state.region}) or pass another bucket with --bucket <name>.`,
      );
    }
    return { created: false };
  }

  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ObjectOwnership: 'BucketOwnerEnforced',
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
  } catch (error) {
    const info = awsErrorInfo(error);
    if (info.name === 'BucketAlreadyOwnedByYou') return { created: false };
    if (info.name === 'BucketAlreadyExists' || info.status === 409 || info.status === 403) throw bucketTakenError(bucket, error);
    throw error;
  }
  await s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: bucket,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
    }),
  );
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }],
      },
    }),
  );
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: {
        Rules: [
          {
            ID: 'expire-old-versions',
            Status: 'Enabled',
            Filter: { Prefix: '' },
            // Old template versions stay recoverable for 90 days, then stop costing money.
            NoncurrentVersionExpiration: { NoncurrentDays: 90 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
          },
        ],
      },
    }),
  );
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: denyInsecureTransportPolicy(bucket, region) }));
  return { created: true };
}

/**
 * Deletes every object version and delete marker (pages of ListObjectVersions, DeleteObjects
 * in batches of 1,000), then the bucket. Returns how many versions were deleted.
 */
export async function emptyAndDeleteBucket(
  s3: S3Client,
  bucket: string,
  onProgress?: (deleted: number) => void,
): Promise<number> {
  let deleted = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        MaxKeys: 1000,
        ...(keyMarker ? { KeyMarker: keyMarker } : {}),
        ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}),
      }),
    );
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
      .filter((v) => v.Key)
      .map((v) => ({ Key: v.Key as string, ...(v.VersionId ? { VersionId: v.VersionId } : {}) }));
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
      if (out.Errors && out.Errors.length > 0) {
        const first = out.Errors[0]!;
        throw new CliError(
          'INS015',
          `S3 refused to delete ${out.Errors.length} object versions in ${bucket} (first: ${first.Key}: ${first.Code} ${first.Message ?? ''}).`,
          'Check that your credentials may s3:DeleteObjectVersion on the bucket (and that no Object Lock retention holds them), then run uninstall --delete-bucket again.',
        );
      }
      deleted += batch.length;
      onProgress?.(deleted);
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
  try {
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const info = awsErrorInfo(error);
    throw new CliError(
      'INS015',
      `S3 did not delete the bucket ${bucket} (${info.name}: ${info.message}).`,
      info.name === 'BucketNotEmpty'
        ? 'Something wrote to the bucket while it was being emptied (another install?). Run uninstall --delete-bucket again.'
        : 'Check that your credentials may s3:DeleteBucket on it, then run uninstall --delete-bucket again.',
      { cause: error },
    );
  }
  return deleted;
}
