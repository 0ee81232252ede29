import { describe, it, expect, beforeEach, afterEach, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetAccountCommand, GetEmailIdentityCommand, SESv2Client, type MailFromAttributes } from '@aws-sdk/client-sesv2';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Parameter } from '@aws-sdk/client-cloudformation';
import { install, type InstallOptions } from '../../src/commands/install.js';
import { CliError, UserCancelled } from '../../src/errors.js';
import { memoryLog } from '../../src/install-log.js';
import { packageRoot } from '../../src/package-root.js';
import { FakeCloudFormation, templateStoreOf, wireAccountStubs } from '../support/fake-cloudformation.js';
import { captureIo, fakeArtifacts, fixtureRoot, noDns, scriptedPrompter, settle, TEMPLATE_PARAMETERS } from '../support/cli-harness.js';

/**
 * `install` end to end against mocked AWS: STS, SES, S3 and Lambda through
 * aws-sdk-client-mock, CloudFormation through the in-memory fake that walks real status
 * sequences, with fake timers standing in for the minutes a stack takes.
 */

const sts = mockClient(STSClient);
const ses = mockClient(SESv2Client);
const s3 = mockClient(S3Client);
const lambda = mockClient(LambdaClient);
// The services the installer asks whether a named resource exists, answering from the fake account.
const account = {
  dynamodb: mockClient(DynamoDBClient),
  sqs: mockClient(SQSClient),
  logs: mockClient(CloudWatchLogsClient),
  secrets: mockClient(SecretsManagerClient),
  events: mockClient(EventBridgeClient),
};
let cfn: FakeCloudFormation;
let root: string;
let cwd: string;

function awsError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

function healthyAws() {
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev', UserId: 'AID' });
  ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: true, VerificationStatus: 'SUCCESS' });
  ses.on(GetAccountCommand).resolves({
    ProductionAccessEnabled: true,
    SendingEnabled: true,
    SendQuota: { Max24HourSend: 50000, MaxSendRate: 14, SentLast24Hours: 12 },
  });
  s3.resolves({});
  s3.on(HeadBucketCommand).rejects(awsError('NotFound', 404));
  s3.on(HeadObjectCommand).rejects(awsError('NotFound', 404));
  lambda.on(InvokeCommand).resolves({
    StatusCode: 200,
    Payload: new TextEncoder().encode(JSON.stringify({ installed: ['welcome'], updated: [], skipped: [] })) as never,
  });
}

function options(extra: Partial<InstallOptions> = {}): InstallOptions & { io: ReturnType<typeof captureIo>; log: ReturnType<typeof memoryLog> } {
  return {
    clients: { dns: noDns },
    stackName: 'sesmailengine',
    region: 'us-east-1',
    yes: true,
    sender: 'noreply@example.com',
    adminEmail: 'ops@example.com',
    root,
    cwd,
    buildArtifacts: fakeArtifacts,
    io: captureIo(),
    log: memoryLog(),
    prompter: scriptedPrompter(),
    ...extra,
  } as InstallOptions & { io: ReturnType<typeof captureIo>; log: ReturnType<typeof memoryLog> };
}

function sentParameters(command: 'CreateStack' | 'CreateChangeSet'): Record<string, string | true> {
  const call = cfn.calls.filter(([name]) => name === command).at(-1);
  const params = (call?.[1].Parameters ?? []) as Parameter[];
  return Object.fromEntries(params.map((p) => [p.ParameterKey!, p.UsePreviousValue ? true : p.ParameterValue!]));
}

async function expectCliError(promise: Promise<unknown>, code: string): Promise<CliError> {
  const error = await settle(promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  expect((error as CliError).code).toBe(code);
  return error as CliError;
}

beforeEach(async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
  sts.reset();
  ses.reset();
  s3.reset();
  lambda.reset();
  for (const stub of Object.values(account)) stub.reset();
  cfn = new FakeCloudFormation();
  cfn.templateStore = templateStoreOf(() => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input));
  root = fixtureRoot(cfn.resources.length);
  cwd = mkdtempSync(join(tmpdir(), 'sme-cwd-'));
  healthyAws();
  await wireAccountStubs(cfn, { ...account, ses, lambda });
});

afterEach(() => {
  cfn.restore();
  jest.useRealTimers();
  rmSync(root, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

describe('install: credentials come first', () => {
  it('reports missing credentials before asking anything or touching other services', async () => {
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
    );
    const prompter = scriptedPrompter();
    const error = await expectCliError(install(options({ yes: false, prompter, sender: undefined })), 'AWS001');
    expect(error.fix).toContain('aws configure');
    expect(error.fix).toContain('aws sts get-caller-identity');
    expect(prompter.asked).toEqual([]);
    expect(cfn.calls).toEqual([]);
    expect(ses.calls()).toHaveLength(0);
    expect(s3.calls()).toHaveLength(0);
  });

  it('explains rejected credentials with the SSO refresh command for the profile', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('ExpiredToken', 403, 'The security token included in the request is expired'));
    const error = await expectCliError(install(options({ profile: 'work' })), 'AWS002');
    expect(error.fix).toContain('aws sso login --profile work');
  });
});

describe('install --yes', () => {
  it('fails naming every missing value and its flag', async () => {
    const error = await expectCliError(install(options({ sender: undefined, adminEmail: undefined })), 'INS003');
    expect(error.message).toContain('--sender <address>');
    expect(error.message).toContain('--admin-email <address>');
    expect(cfn.callNames()).toEqual(['DescribeStacks']);
  });

  it('rejects a malformed address before any AWS call', async () => {
    const error = await expectCliError(install(options({ sender: 'not-an-address' })), 'INS003');
    expect(error.fix).toContain('--sender');
    expect(sts.calls()).toHaveLength(0);
  });
});

describe('install: a first install', () => {
  it('creates the bucket and the stack, follows CREATE_IN_PROGRESS to CREATE_COMPLETE and prints what to do next', async () => {
    const opts = options();
    const code = await settle(install(opts));
    expect(code).toBe(0);

    // bucket created and locked down
    expect(s3.commandCalls(CreateBucketCommand)).toHaveLength(1);
    expect(s3.commandCalls(PutPublicAccessBlockCommand)).toHaveLength(1);
    expect(s3.commandCalls(PutBucketEncryptionCommand)[0]!.args[0].input.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
    expect(s3.commandCalls(PutBucketVersioningCommand)[0]!.args[0].input.VersioningConfiguration?.Status).toBe('Enabled');
    expect(s3.commandCalls(PutBucketPolicyCommand)[0]!.args[0].input.Policy).toContain('aws:SecureTransport');
    const bucket = 'sesmailengine-123456789012-us-east-1';
    expect(s3.commandCalls(CreateBucketCommand)[0]!.args[0].input.Bucket).toBe(bucket);

    // five handler zips and the starter templates uploaded under content-hashed keys
    const keys = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key!);
    expect(keys.filter((k) => /^artifacts\/[a-z-]+-[0-9a-f]{64}\.zip$/.test(k))).toHaveLength(5);
    expect(keys.some((k) => /^artifacts\/starter-templates\/[0-9a-f]{16}\/welcome\/metadata\.json$/.test(k))).toBe(true);

    // the stack call: every parameter, both IAM capabilities, a request token
    const create = cfn.calls.find(([n]) => n === 'CreateStack')![1];
    expect(create.Capabilities).toEqual(['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']);
    expect(create.ClientRequestToken).toMatch(/^sesmailengine-install-/);
    const params = sentParameters('CreateStack');
    expect(params).toMatchObject({
      DefaultSenderEmail: 'noreply@example.com',
      AdminEmail: 'ops@example.com',
      ArtifactBucket: bucket,
    });
    for (const p of ['EmailSenderCodeKey', 'FeedbackProcessorCodeKey', 'UnsubscribeCodeKey', 'TemplateSeederCodeKey', 'WebhookDeliveryCodeKey']) {
      expect(keys).toContain(params[p]);
    }
    expect(params.StarterTemplatesPrefix).toMatch(/^artifacts\/starter-templates\/[0-9a-f]{16}$/);
    expect(Object.keys(params).every((k) => TEMPLATE_PARAMETERS.includes(k))).toBe(true);

    // progress, outputs, first send, seeder
    const err = opts.io.err();
    expect(err).toContain('EmailSenderFunction');
    expect(err).toMatch(/CREATE_COMPLETE \(9\/9 resources\)/);
    expect(err).toContain('Starter templates: 1 installed, 0 updated, 0 skipped');
    const out = opts.io.out();
    expect(out).toContain('sesmailengine-EmailBus');
    expect(out).toContain('"events:PutEvents"');
    expect(out).toContain("aws events put-events --region us-east-1 --entries '[{\"EventBusName\":\"sesmailengine-EmailBus\"");
    expect(lambda.commandCalls(InvokeCommand)[0]!.args[0].input.FunctionName).toBe('sesmailengine-TemplateSeeder');

    // the log keeps every step and every stack event
    const log = opts.log.lines.join('\n');
    expect(log).toContain('step credentials');
    expect(log).toMatch(/stack event EmailSenderFunction AWS::Lambda::Function CREATE_COMPLETE/);
    expect(log).toContain('stack sesmailengine ended CREATE_COMPLETE');
  });

  it('ends with the deliverability of the sender as warnings, and still succeeds', async () => {
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves({
      IdentityType: 'DOMAIN',
      VerifiedForSendingStatus: true,
      DkimAttributes: { SigningEnabled: true, Status: 'SUCCESS', Tokens: ['t1', 't2', 't3'], SigningAttributesOrigin: 'AWS_SES' },
      // Without a custom MAIL FROM, SES answers only the behaviour (the SDK's type marks the other two required).
      MailFromAttributes: { BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' } as MailFromAttributes,
    });
    const asked: string[] = [];
    const dns = {
      resolveTxt: async (name: string): Promise<string[][]> => {
        asked.push(name);
        // The domain exists (it has an SPF record); it has no DMARC record.
        if (name === 'example.com') return [['v=spf1 include:amazonses.com ~all']];
        throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      },
    };
    const opts = options({ clients: { dns } });

    expect(await settle(install(opts))).toBe(0);

    const err = opts.io.err();
    expect(err).toContain('Deliverability of noreply@example.com: DKIM, One-click unsubscribe ok.');
    expect(err).toContain('Custom MAIL FROM');
    expect(err).toContain('No DMARC record at _dmarc.example.com: Gmail and Yahoo require DMARC for bulk senders since February 2024.');
    expect(err).toContain('TXT   _dmarc.example.com  "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"');
    expect(asked).toEqual(['_dmarc.example.com', 'example.com']);
    expect(opts.log.lines.join('\n')).toContain('deliverability fail: dkim=ok mail-from=warn dmarc=fail unsubscribe=ok');
  });

  it('writes sesmailengine-install.log in the working directory when no log is given', async () => {
    const opts = options();
    delete (opts as Partial<typeof opts>).log;
    await settle(install(opts));
    const text = readFileSync(join(cwd, 'sesmailengine-install.log'), 'utf8');
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT.*sesmailengine .* install/);
    expect(text).toContain('stack event');
    expect(text).not.toMatch(/secret|AKIA/i);
  });

  it('skips uploads whose content-hashed keys are already there', async () => {
    s3.on(HeadObjectCommand).resolves({});
    // The template in the bucket is the one this install would upload.
    const template = readFileSync(join(packageRoot(), 'cloudformation', 'template.yaml'), 'utf8');
    cfn.templateStore = (url) => (/\/artifacts\/template-[0-9a-f]{16}\.yaml$/.test(url) ? template : undefined);
    s3.on(HeadBucketCommand).resolves({ BucketRegion: 'us-east-1' });
    await settle(install(options()));
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(CreateBucketCommand)).toHaveLength(0);
  });

  it('prints each failing resource with its type and reason when the create rolls back', async () => {
    cfn.nextOutcome = 'fail';
    const opts = options();
    const error = await expectCliError(install(opts), 'INS009');
    expect(error.message).toContain('ROLLBACK_COMPLETE');
    expect(error.fix).toContain('run install again');
    const err = opts.io.err();
    expect(err).toContain('EmailSenderFunction (AWS::Lambda::Function) CREATE_FAILED: Resource handler returned message');
    expect(err).not.toMatch(/\(AWS::[A-Za-z:]+\) CREATE_FAILED: Resource creation cancelled/);
    expect(err).toContain('Lambda could not read its code');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(cfn.live('sesmailengine')?.status).toBe('ROLLBACK_COMPLETE');
  });
});

describe('install --webhook-url', () => {
  it('refuses a URL that is not https before touching AWS (INS023)', async () => {
    const error = await expectCliError(install(options({ webhookUrl: 'http://hooks.example.com/x' })), 'INS023');
    expect(error.message).toContain('https only');
    expect(sts.calls()).toHaveLength(0);
    expect(cfn.calls).toHaveLength(0);
  });

  it('validates --parameter WebhookUrl=... the same way', async () => {
    await expectCliError(install(options({ parameter: ['WebhookUrl=https://user:pw@hooks.example.com/x'] })), 'INS023');
    expect(sts.calls()).toHaveLength(0);
  });

  it('sends the URL as the WebhookUrl parameter and asks no extra question', async () => {
    expect(await settle(install(options({ webhookUrl: 'https://hooks.example.com/x' })))).toBe(0);
    expect(sentParameters('CreateStack').WebhookUrl).toBe('https://hooks.example.com/x');
  });

  it('refuses the metadata address, however spelled, before touching AWS (INS026)', async () => {
    for (const webhookUrl of ['https://169.254.169.254/latest/meta-data/', 'https://2852039166/']) {
      const error = await expectCliError(install(options({ webhookUrl })), 'INS026');
      expect(error.message).toContain('points at 169.254.169.254, a link-local address');
      expect(error.fix).toContain('--allow-private-webhook');
    }
    await expectCliError(install(options({ parameter: ['WebhookUrl=https://127.0.0.1:9001/'] })), 'INS026');
    expect(sts.calls()).toHaveLength(0);
    expect(cfn.calls).toHaveLength(0);
  });

  it('sends a private address with --allow-private-webhook', async () => {
    expect(await settle(install(options({ webhookUrl: 'https://10.0.0.5/hooks', allowPrivateWebhook: true })))).toBe(0);
    expect(sentParameters('CreateStack').WebhookUrl).toBe('https://10.0.0.5/hooks');
  });
});

describe('install over an existing stack', () => {
  const previous = {
    DefaultSenderEmail: 'old@example.com',
    DefaultSenderName: 'Old Name',
    AdminEmail: 'admin@example.com',
    BounceRateThreshold: '3',
    ArtifactBucket: 'my-bucket',
    EmailSenderCodeKey: 'artifacts/email-sender-old.zip',
  };

  it('updates through UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, keeping earlier answers with UsePreviousValue', async () => {
    cfn.seed('sesmailengine', 'CREATE_COMPLETE', previous, cfn.outputsFor('sesmailengine'));
    s3.on(HeadBucketCommand).resolves({ BucketRegion: 'us-east-1' });
    const opts = options({ sender: undefined, adminEmail: undefined });
    expect(await settle(install(opts))).toBe(0);

    const params = sentParameters('CreateChangeSet');
    expect(params.DefaultSenderEmail).toBe(true);
    expect(params.AdminEmail).toBe(true);
    expect(params.BounceRateThreshold).toBe(true);
    expect(params.ArtifactBucket).toBe('my-bucket');
    expect(params.EmailSenderCodeKey).toMatch(/^artifacts\/email-sender-[0-9a-f]{64}\.zip$/);
    // parameters the old stack did not have take the template default (UsePreviousValue would fail)
    expect('TemplateCacheSeconds' in params).toBe(false);
    expect(cfn.live('sesmailengine')?.status).toBe('UPDATE_COMPLETE');
    expect(opts.io.err()).toContain('UPDATE_COMPLETE (');
    // the existing sender is still checked
    expect(ses.commandCalls(GetEmailIdentityCommand)[0]!.args[0].input.EmailIdentity).toBe('old@example.com');
  });

  it('treats "No updates are to be performed." as success and still seeds templates', async () => {
    cfn.seed('sesmailengine', 'CREATE_COMPLETE', previous, cfn.outputsFor('sesmailengine'));
    s3.on(HeadBucketCommand).resolves({ BucketRegion: 'us-east-1' });
    // First run brings the stack to the current artifacts; the second finds nothing to change.
    await settle(install(options({ sender: undefined, adminEmail: undefined })));
    const opts = options({ sender: undefined, adminEmail: undefined });
    expect(await settle(install(opts))).toBe(0);
    expect(opts.io.err()).toContain('is up to date (no changes)');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
    expect(opts.io.out()).toContain('aws events put-events');
  });

  it('reports a failed update as rolled back with the previous version still running', async () => {
    cfn.seed('sesmailengine', 'UPDATE_COMPLETE', previous, cfn.outputsFor('sesmailengine'));
    s3.on(HeadBucketCommand).resolves({ BucketRegion: 'us-east-1' });
    cfn.nextOutcome = 'fail';
    const error = await expectCliError(install(options()), 'INS009');
    expect(error.message).toContain('UPDATE_ROLLBACK_COMPLETE');
    expect(error.fix).toContain('previous version keeps running');
  });

  it('with --yes deletes a stack left in ROLLBACK_COMPLETE, then creates it again', async () => {
    cfn.seed('sesmailengine', 'ROLLBACK_COMPLETE', { DefaultSenderEmail: 'old@example.com' });
    const opts = options();
    expect(await settle(install(opts))).toBe(0);
    expect(cfn.callNames().filter((n) => ['DeleteStack', 'CreateStack', 'UpdateStack'].includes(n))).toEqual(['DeleteStack', 'CreateStack']);
    expect(opts.io.err()).toContain('cannot be updated and must be deleted');
    expect(cfn.live('sesmailengine')?.status).toBe('CREATE_COMPLETE');
  });

  it('asks before deleting a failed stack and stops when told no', async () => {
    cfn.seed('sesmailengine', 'ROLLBACK_COMPLETE');
    const prompter = scriptedPrompter({ 'Delete the failed stack': false, 'stack sesmailengine in us-east-1 now': true });
    const error = await expectCliError(install(options({ yes: false, prompter, stackName: 'sesmailengine', region: 'us-east-1', senderName: '', bucket: 'b-bucket' })), 'INS007');
    expect(error.fix).toContain('uninstall');
    expect(cfn.callNames()).not.toContain('DeleteStack');
  });

  it('refuses to start while another operation runs', async () => {
    cfn.seed('sesmailengine', 'UPDATE_IN_PROGRESS', previous);
    const error = await expectCliError(install(options()), 'INS008');
    expect(error.fix).toContain('status');
  });

  it('gives the continue-update-rollback command for UPDATE_ROLLBACK_FAILED', async () => {
    cfn.seed('sesmailengine', 'UPDATE_ROLLBACK_FAILED', previous);
    const error = await expectCliError(install(options()), 'INS010');
    expect(error.fix).toContain('aws cloudformation continue-update-rollback --stack-name sesmailengine --region us-east-1');
  });
});

describe('install pre-flight checks', () => {
  it('stops on an unverified sender with the exact command to verify it', async () => {
    ses.on(GetEmailIdentityCommand).rejects(awsError('NotFoundException', 404));
    const error = await expectCliError(install(options()), 'INS004');
    expect(error.message).toContain('noreply@example.com is not a verified SES identity');
    expect(error.fix).toContain('aws sesv2 create-email-identity --email-identity noreply@example.com --region us-east-1');
    expect(error.fix).toContain('Configuration → Identities');
    expect(error.fix).toContain('--skip-sender-check');
    expect(cfn.callNames()).not.toContain('CreateStack');
  });

  it('accepts a sender whose domain is verified', async () => {
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'noreply@example.com' }).rejects(awsError('NotFoundException', 404));
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves({ VerifiedForSendingStatus: true });
    const opts = options();
    expect(await settle(install(opts))).toBe(0);
    expect(opts.io.err()).toContain('through the domain example.com');
  });

  it('warns about the sandbox, with how to leave it, and shows the quota', async () => {
    ses.on(GetAccountCommand).resolves({ ProductionAccessEnabled: false, SendingEnabled: true, SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 0 } });
    const opts = options();
    await settle(install(opts));
    const err = opts.io.err();
    expect(err).toContain('is in the sandbox');
    expect(err).toContain('aws sesv2 put-account-details --production-access-enabled');
    expect(err).toContain('SES quota: 200 emails/24h, 1/s; 0 sent in the last 24h.');
  });

  it('says a bucket name taken by another account is taken and suggests --bucket', async () => {
    s3.on(HeadBucketCommand).rejects(awsError('Forbidden', 403));
    const error = await expectCliError(install(options({ bucket: 'popular-name' })), 'INS005');
    expect(error.message).toContain('popular-name is taken by another AWS account');
    expect(error.fix).toContain('--bucket');
  });

  it('treats BucketAlreadyExists on create the same way', async () => {
    s3.on(CreateBucketCommand).rejects(awsError('BucketAlreadyExists', 409));
    await expectCliError(install(options({ bucket: 'popular-name' })), 'INS005');
  });

  it('refuses a bucket in another region than the stack', async () => {
    s3.on(HeadBucketCommand).resolves({ BucketRegion: 'eu-west-1' });
    const error = await expectCliError(install(options({ bucket: 'far-away' })), 'INS006');
    expect(error.fix).toContain('--region eu-west-1');
  });
});

describe('install, interactive', () => {
  it('asks the questions in order with sensible defaults and installs with the answers', async () => {
    const prompter = scriptedPrompter({
      'Default sender address': 'hello@example.com',
      'Default sender name': 'Example',
      'now?': true,
    });
    const opts = options({ yes: false, prompter, stackName: undefined, region: undefined, sender: undefined, adminEmail: undefined });
    // region comes from the profile: the STS probe reports it
    const stsInstance = new STSClient({ region: 'eu-west-1' });
    opts.clients = { sts: stsInstance, dns: noDns };
    expect(await settle(install(opts))).toBe(0);
    expect(prompter.asked).toEqual([
      'Stack name',
      'AWS region',
      'Default sender address (a verified SES identity)',
      'Default sender name (optional)',
      'Admin e-mail for alarms',
      'Bucket for code and templates (created if absent)',
      'Create stack sesmailengine in eu-west-1 now?',
    ]);
    const params = sentParameters('CreateStack');
    expect(params).toMatchObject({
      DefaultSenderEmail: 'hello@example.com',
      DefaultSenderName: 'Example',
      AdminEmail: 'hello@example.com',
      ArtifactBucket: 'sesmailengine-123456789012-eu-west-1',
    });
  });

  it('stops cleanly when the person declines the final confirmation', async () => {
    const prompter = scriptedPrompter({ 'now?': false });
    const error = await settle(install(options({ yes: false, prompter, senderName: '', bucket: 'b-bucket' }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe('CLI000');
    expect(cfn.callNames()).not.toContain('CreateStack');
  });

  it('passes Ctrl-C at a prompt on as UserCancelled', async () => {
    const prompter = scriptedPrompter();
    prompter.text = async () => {
      throw new UserCancelled();
    };
    const error = await settle(install(options({ yes: false, prompter }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserCancelled);
  });
});
