import { S3Client } from '@aws-sdk/client-s3';
import { REQUEST_HANDLER, s3UsesCustomEndpoint } from './clients.js';
import type { Env } from './env.js';

export function createS3Client(env: Env): S3Client {
  return new S3Client({
    requestHandler: REQUEST_HANDLER,
    forcePathStyle: s3UsesCustomEndpoint(env),
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}
