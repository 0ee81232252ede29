import { describe, it, expect, beforeEach, afterEach, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DeleteBucketCommand, DeleteObjectsCommand, HeadBucketCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { uninstall, type UninstallOptions } from '../../src/commands/uninstall.js';
import { CliError, UserCancelled } from '../../src/errors.js';
import { FakeCloudFormation } from '../support/fake-cloudformation.js';
import { captureIo, scriptedPrompter, settle } from '../support/cli-harness.js';

const sts = mockClient(STSClient);
const s3 = mockClient(S3Client);
let cfn: FakeCloudFormation;

function options(extra: Partial<UninstallOptions> = {}) {
  return { stackName: 'sesmailengine', region: 'us-east-1', yes: true, io: captureIo(), prompter: scriptedPrompter(), ...extra } as UninstallOptions & { io: ReturnType<typeof captureIo> };
}

function installed() {
  const stack = cfn.seed('sesmailengine', 'CREATE_COMPLETE', { ArtifactBucket: 'sme-bucket' });
  stack.outputs = { ...cfn.outputsFor('sesmailengine'), TemplateBucketName: 'sme-bucket' };
  return stack;
}

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
  sts.reset();
  s3.reset();
  cfn = new FakeCloudFormation();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev' });
});
afterEach(() => {
  cfn.restore();
  jest.useRealTimers();
});

describe('uninstall', () => {
  it('deletes the stack through DELETE_IN_PROGRESS to DELETE_COMPLETE and says what was kept', async () => {
    installed();
    const opts = options();
    expect(await settle(uninstall(opts))).toBe(0);
    expect(cfn.callNames()).toContain('DeleteStack');
    expect(cfn.live('sesmailengine')).toBeUndefined();
    const err = opts.io.err();
    expect(err).toContain('Deleted the stack sesmailengine');
    expect(err).toContain('DynamoDB table sesmailengine-EmailTracking');
    expect(err).toContain('DynamoDB table sesmailengine-Suppression');
    expect(err).toContain('DynamoDB table sesmailengine-Counters');
    expect(err).toContain('S3 bucket sme-bucket');
    expect(s3.calls()).toHaveLength(0);
  });

  it('asks first and deletes nothing when the answer is no', async () => {
    installed();
    const prompter = scriptedPrompter({ Delete: false });
    const error = await settle(uninstall(options({ yes: false, prompter }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserCancelled);
    expect(prompter.asked[0]).toContain('The tables and the bucket are kept');
    expect(cfn.callNames()).not.toContain('DeleteStack');
  });

  it('with --delete-bucket empties every version and delete marker in batches of 1,000, then deletes the bucket', async () => {
    installed();
    s3.on(HeadBucketCommand).resolves({ BucketRegion: 'us-east-1' });
    const versions = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ Key: `k${from + i}`, VersionId: `v${from + i}` }));
    s3.on(ListObjectVersionsCommand)
      .resolvesOnce({ Versions: versions(0, 900), DeleteMarkers: versions(900, 300), IsTruncated: true, NextKeyMarker: 'k1199', NextVersionIdMarker: 'v1199' })
      .resolvesOnce({ Versions: versions(1200, 50), IsTruncated: false });
    s3.on(DeleteObjectsCommand).resolves({});
    s3.on(DeleteBucketCommand).resolves({});
    const opts = options({ deleteBucket: true });
    expect(await settle(uninstall(opts))).toBe(0);
    const batches = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete!.Objects!.length);
    expect(batches).toEqual([1000, 200, 50]);
    expect(s3.commandCalls(ListObjectVersionsCommand)[1]!.args[0].input).toMatchObject({ KeyMarker: 'k1199', VersionIdMarker: 'v1199' });
    expect(s3.commandCalls(DeleteBucketCommand)[0]!.args[0].input.Bucket).toBe('sme-bucket');
    expect(opts.io.err()).toContain('Deleted the bucket sme-bucket (1250 object versions and delete markers)');
  });

  it('keeps the bucket when the stack deletion fails, and shows why', async () => {
    installed();
    cfn.nextOutcome = 'fail';
    const opts = options({ deleteBucket: true });
    const error = await settle(uninstall(opts)).catch((e: unknown) => e);
    expect((error as CliError).code).toBe('INS013');
    expect((error as CliError).fix).toContain('--retain-resources');
    expect(opts.io.err()).toContain('SendQueue (AWS::SQS::Queue) DELETE_FAILED: Access Denied');
    expect(s3.commandCalls(DeleteBucketCommand)).toHaveLength(0);
  });

  it('says so when there is no such stack', async () => {
    const error = await settle(uninstall(options())).catch((e: unknown) => e);
    expect((error as CliError).code).toBe('AWS004');
    expect((error as CliError).message).toContain('no stack named sesmailengine in us-east-1');
  });
});
