import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { seedTemplatesCommand } from '../../src/commands/seed-templates.js';
import { CliError } from '../../src/errors.js';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { captureIo, fixtureRoot } from '../support/cli-harness.js';
import { FakeCloudFormation } from '../support/fake-cloudformation.js';

/** seed-templates against the S3 stand-in: installs, then skips, never downgrades a customised template. */

const sts = mockClient(STSClient);
let aws: StandIns;
let root: string;

beforeAll(async () => {
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev' });
  aws = await startStandIns('seedcli');
  root = fixtureRoot();
});
afterAll(async () => {
  await aws.stop();
  sts.restore();
  rmSync(root, { recursive: true, force: true });
});

function run(extra: Record<string, unknown> = {}) {
  const io = captureIo();
  const promise = seedTemplatesCommand({
    region: 'us-east-1',
    bucket: aws.bucket,
    source: join(root, 'starter-templates'),
    io,
    clients: { s3: aws.s3 },
    ...extra,
  });
  return { io, promise };
}

describe('seed-templates', () => {
  it('installs the starter templates, then reports them skipped on a second run (--json)', async () => {
    const first = run({ json: true });
    expect(await first.promise).toBe(0);
    expect(JSON.parse(first.io.out())).toEqual({ bucket: aws.bucket, installed: ['welcome'], updated: [], skipped: [] });
    const stored = await aws.s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'templates/welcome/template.html' }));
    expect(await stored.Body?.transformToString()).toContain('Hello {{ userName }}');

    const second = run({ json: true });
    await second.promise;
    expect(JSON.parse(second.io.out()).skipped).toEqual(['welcome']);
  });

  it('leaves a customised template with a newer version alone', async () => {
    await aws.s3.send(
      new PutObjectCommand({ Bucket: aws.bucket, Key: 'templates/welcome/metadata.json', Body: JSON.stringify({ subject: 'Mine', version: '2.0.0', requiredVariables: [] }) }),
    );
    const { io, promise } = run();
    await promise;
    expect(io.err()).toContain('0 installed, 0 updated, 1 skipped');
    const meta = await aws.s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'templates/welcome/metadata.json' }));
    expect(JSON.parse((await meta.Body?.transformToString()) ?? '{}').version).toBe('2.0.0');
  });

  it('leaves a template without a version alone, as customised, and says so', async () => {
    const original = JSON.stringify({ subject: 'Contact Form: {{ formSenderName }}', senderEmail: 'noreply@company.com', replyTo: '{{ formSenderEmail }}' });
    await aws.s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'templates/welcome/metadata.json', Body: original }));
    const { io, promise } = run();
    expect(await promise).toBe(0);
    expect(io.err()).toContain('0 installed, 0 updated, 1 skipped');
    expect(io.out()).toMatch(/skipped: +welcome \(no "version" in the installed metadata.json: treated as customised, never overwritten\)/);
    const meta = await aws.s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'templates/welcome/metadata.json' }));
    expect(await meta.Body?.transformToString()).toBe(original);
  });

  it('takes the bucket from the stack outputs when --bucket is not given', async () => {
    const cfn = new FakeCloudFormation();
    try {
      cfn.seed('sesmailengine', 'CREATE_COMPLETE', {}, { TemplateBucketName: aws.bucket });
      const { io, promise } = run({ bucket: undefined, json: true });
      await promise;
      expect(JSON.parse(io.out()).bucket).toBe(aws.bucket);
    } finally {
      cfn.restore();
    }
  });

  it('fails with the fix when there is no stack to take the bucket from', async () => {
    const cfn = new FakeCloudFormation();
    try {
      const error = await run({ bucket: undefined }).promise.catch((e: unknown) => e);
      expect((error as CliError).code).toBe('AWS004');
      expect((error as CliError).fix).toContain('--bucket');
    } finally {
      cfn.restore();
    }
  });

  it('names a missing bucket', async () => {
    const error = await run({ bucket: 'no-such-bucket-here' }).promise.catch((e: unknown) => e);
    expect((error as CliError).code).toBe('INS014');
  });
});
