import { describe, it, expect, beforeEach, afterEach, jest } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetAccountCommand, GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeTableCommand, DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { CreateChangeSetCommandInput } from '@aws-sdk/client-cloudformation';
import { install, type InstallOptions } from '../../src/commands/install.js';
import { uninstall, type UninstallOptions } from '../../src/commands/uninstall.js';
import { status, type StatusReport } from '../../src/commands/status.js';
import { CliError, UserCancelled } from '../../src/errors.js';
import { memoryLog } from '../../src/install-log.js';
import { templateWithoutSuppressionIndex } from '../../src/installer/suppression-index.js';
import { parseTemplateDocument } from '../../src/installer/template-document.js';
import { packageRoot } from '../../src/package-root.js';
import { VERSION } from '../../src/version.js';
import { parseTemplate } from '../support/cloudformation.js';
import { FakeCloudFormation, templateStoreOf, wireAccountStubs } from '../support/fake-cloudformation.js';
import { captureIo, fakeArtifacts, noDns, scriptedPrompter, settle } from '../support/cli-harness.js';

/**
 * The stack's life after the first install, each path once, against the fake CloudFormation
 * in template mode (it reads the real cloudformation/template.yaml and keeps an account of
 * the named resources): upgrades through a change set, a replacement that would lose data,
 * "no changes", a failed first install, names already taken, a reinstall that imports the
 * kept tables, failed updates, uninstall with and without the data, and status.
 */

const ROOT = packageRoot();
const TEMPLATE = readFileSync(join(ROOT, 'cloudformation', 'template.yaml'), 'utf8');
const STACK = 'sesmailengine';
const TABLES = [`${STACK}-EmailTracking`, `${STACK}-Suppression`, `${STACK}-Counters`];
const TABLE = 'AWS::DynamoDB::Table';

const sts = mockClient(STSClient);
const ses = mockClient(SESv2Client);
const s3 = mockClient(S3Client);
const lambda = mockClient(LambdaClient);
const cloudWatch = mockClient(CloudWatchClient);
const account = {
  dynamodb: mockClient(DynamoDBClient),
  sqs: mockClient(SQSClient),
  logs: mockClient(CloudWatchLogsClient),
  secrets: mockClient(SecretsManagerClient),
  events: mockClient(EventBridgeClient),
};
let cfn: FakeCloudFormation;
let cwd: string;

function awsError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

beforeEach(async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
  for (const stub of [sts, ses, s3, lambda, cloudWatch, ...Object.values(account)]) stub.reset();
  cfn = new FakeCloudFormation({ templates: true });
  cfn.templateStore = templateStoreOf(() => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input));
  cwd = mkdtempSync(join(tmpdir(), 'sme-life-'));
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev' });
  ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: true });
  ses.on(GetAccountCommand).resolves({ ProductionAccessEnabled: true, SendingEnabled: true, SendQuota: { Max24HourSend: 50000, MaxSendRate: 14, SentLast24Hours: 0 } });
  s3.resolves({});
  s3.on(HeadBucketCommand).resolves({ BucketRegion: 'us-east-1' });
  s3.on(HeadObjectCommand).rejects(awsError('NotFound', 404));
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: new TextEncoder().encode('{"installed":[],"updated":[],"skipped":["welcome"]}') as never });
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  await wireAccountStubs(cfn, { ...account, ses, lambda });
});

afterEach(() => {
  cfn.restore();
  jest.useRealTimers();
  rmSync(cwd, { recursive: true, force: true });
});

type Captured = ReturnType<typeof captureIo>;

function installOptions(extra: Partial<InstallOptions> = {}): InstallOptions & { io: Captured; log: ReturnType<typeof memoryLog> } {
  return {
    stackName: STACK,
    region: 'us-east-1',
    yes: true,
    sender: 'noreply@example.com',
    adminEmail: 'ops@example.com',
    root: ROOT,
    cwd,
    buildArtifacts: fakeArtifacts,
    io: captureIo(),
    log: memoryLog(),
    prompter: scriptedPrompter(),
    clients: { dns: noDns },
    ...extra,
  } as InstallOptions & { io: Captured; log: ReturnType<typeof memoryLog> };
}

function uninstallOptions(extra: Partial<UninstallOptions> = {}): UninstallOptions & { io: Captured } {
  return { stackName: STACK, region: 'us-east-1', yes: true, root: ROOT, io: captureIo(), prompter: scriptedPrompter(), ...extra } as UninstallOptions & { io: Captured };
}

async function failure(promise: Promise<unknown>, code: string): Promise<CliError> {
  const error = await settle(promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  expect({ code: (error as CliError).code, message: (error as CliError).message }).toEqual({ code, message: expect.any(String) });
  return error as CliError;
}

/** A stack as an earlier version left it: the real template, older code, version 0.0.9. */
function installedEarlier(template = TEMPLATE) {
  const stack = cfn.seed(
    STACK,
    'UPDATE_COMPLETE',
    {
      DefaultSenderEmail: 'noreply@example.com',
      AdminEmail: 'ops@example.com',
      ArtifactBucket: 'sme-bucket',
      EmailSenderCodeKey: 'artifacts/email-sender-old.zip',
      FeedbackProcessorCodeKey: 'artifacts/feedback-processor-old.zip',
      UnsubscribeCodeKey: 'artifacts/unsubscribe-old.zip',
      TemplateSeederCodeKey: 'artifacts/template-seeder-old.zip',
      StarterTemplatesPrefix: 'artifacts/starter-templates/old',
      EngineVersion: '0.0.9',
    },
    {},
    { template, tags: { 'sesmailengine:version': '0.0.9' } },
  );
  stack.outputs = cfn.outputsFor(STACK);
  cfn.resource(TABLE, `${STACK}-Suppression`)!.items = 1234;
  return stack;
}

const changeSetCalls = () => cfn.calls.filter(([n]) => n === 'CreateChangeSet').map(([, input]) => input as unknown as CreateChangeSetCommandInput);
const lifecycleCalls = () =>
  cfn.callNames().filter((n) => ['CreateStack', 'UpdateStack', 'DeleteStack', 'CreateChangeSet', 'ExecuteChangeSet', 'DeleteChangeSet'].includes(n));

describe('upgrade', () => {
  it('previews a change set, executes it, follows it and reports the engine version before and after', async () => {
    installedEarlier();
    const opts = installOptions({ sender: undefined, adminEmail: undefined });
    expect(await settle(install(opts))).toBe(0);

    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'ExecuteChangeSet']);
    const [changeSet] = changeSetCalls();
    expect(changeSet!.ChangeSetType).toBe('UPDATE');
    expect(changeSet!.Parameters).toEqual(expect.arrayContaining([{ ParameterKey: 'EngineVersion', ParameterValue: VERSION }, { ParameterKey: 'AdminEmail', UsePreviousValue: true }]));
    const err = opts.io.err();
    expect(err).toContain('Upgrading sesmailengine: engine 0.0.9 → ' + VERSION);
    expect(err).toMatch(/~ EmailSenderFunction\s+AWS::Lambda::Function {2}modify {2}\(Properties, Tags\)/);
    expect(err).not.toContain('REPLACE');
    expect(err).toContain(`Engine version: 0.0.9 → ${VERSION}.`);
    const stack = cfn.live(STACK)!;
    expect(stack.status).toBe('UPDATE_COMPLETE');
    expect(stack.outputs.EngineVersion).toBe(VERSION);
    expect(stack.parameters.EmailSenderCodeKey).toMatch(/^artifacts\/email-sender-[0-9a-f]{64}\.zip$/);
    expect(cfn.resource(TABLE, `${STACK}-Suppression`)!.items).toBe(1234);
  });

  it('asks before executing and, told no, deletes the change set and changes nothing', async () => {
    installedEarlier();
    const prompter = scriptedPrompter({ 'Apply these changes': false });
    const opts = installOptions({ yes: false, prompter, sender: 'noreply@example.com', senderName: '', adminEmail: 'ops@example.com', bucket: 'sme-bucket' });
    const error = await settle(install(opts)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserCancelled);
    expect(prompter.asked.at(-1)).toBe('Apply these changes to sesmailengine in us-east-1?');
    expect(prompter.asked.some((q) => q.startsWith('Create stack'))).toBe(false);
    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'DeleteChangeSet']);
    expect(cfn.live(STACK)!.parameters.EngineVersion).toBe('0.0.9');
  });

  it('refuses to replace a table, naming it, and deletes the change set', async () => {
    // The running stack's suppression table has another key, so the current template would replace it.
    installedEarlier(TEMPLATE.replace('KeySchema: [{ AttributeName: email, KeyType: HASH }]', 'KeySchema: [{ AttributeName: address, KeyType: HASH }]'));
    const opts = installOptions();
    const error = await failure(install(opts), 'INS019');
    expect(error.message).toContain('The upgrade would replace SuppressionTable (AWS::DynamoDB::Table sesmailengine-Suppression)');
    expect(error.fix).toContain('--allow-replacement');
    expect(opts.io.err()).toMatch(/! SuppressionTable\s+AWS::DynamoDB::Table {2}REPLACE/);
    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'DeleteChangeSet']);
    expect(cfn.live(STACK)!.status).toBe('UPDATE_COMPLETE');
    expect(cfn.resource(TABLE, `${STACK}-Suppression`)!.items).toBe(1234);
  });

  it('with --allow-replacement goes ahead; CloudFormation cannot replace a named table, rolls back, and the data stays', async () => {
    installedEarlier(TEMPLATE.replace('KeySchema: [{ AttributeName: email, KeyType: HASH }]', 'KeySchema: [{ AttributeName: address, KeyType: HASH }]'));
    const opts = installOptions({ allowReplacement: true });
    const error = await failure(install(opts), 'INS009');
    expect(opts.io.err()).toContain('--allow-replacement: SuppressionTable (AWS::DynamoDB::Table sesmailengine-Suppression) will be replaced');
    expect(error.message).toContain('SuppressionTable (AWS::DynamoDB::Table) failed: CloudFormation cannot update a stack when a custom-named resource requires replacing');
    expect(error.message).toContain('the previous version (engine 0.0.9) keeps running');
    expect(cfn.live(STACK)!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(cfn.resource(TABLE, `${STACK}-Suppression`)!.items).toBe(1234);
  });

  it('treats a change set without changes as success, deletes it and uploads nothing again', async () => {
    installedEarlier();
    await settle(install(installOptions()));
    s3.on(HeadObjectCommand).resolves({});
    const putsBefore = s3.commandCalls(PutObjectCommand).length;
    cfn.calls.length = 0;
    const opts = installOptions();
    expect(await settle(install(opts))).toBe(0);
    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'DeleteChangeSet']);
    expect(s3.commandCalls(PutObjectCommand).length).toBe(putsBefore);
    expect(opts.io.err()).toContain('is up to date (no changes)');
    expect(opts.io.err()).toContain(`Engine version ${VERSION} (unchanged).`);
  });
});

describe('upgrade from suppression-type-date-index on createdAt (earlier versions)', () => {
  const LEGACY_TEMPLATE = TEMPLATE.replace(/AttributeName: addedToSuppressionDate/g, 'AttributeName: createdAt');
  const indexKeys = () => cfn.resource(TABLE, `${STACK}-Suppression`)!.indexes?.map((i) => `${i.IndexName}:${i.KeySchema.map((k) => k.AttributeName).join('+')}`);

  beforeEach(() => {
    account.dynamodb.on(ScanCommand).resolves({ Items: [{ email: { S: 'old@example.com' } }] });
    account.dynamodb.on(UpdateItemCommand).resolves({});
  });

  it('in one update, CloudFormation refuses to change the index and rolls back (the hazard the two steps avoid)', async () => {
    installedEarlier(LEGACY_TEMPLATE);
    // Without DescribeTable the installer cannot see the old index and tries a single update.
    account.dynamodb.on(DescribeTableCommand).rejects(awsError('AccessDeniedException', 400));
    const error = await failure(install(installOptions()), 'INS009');
    expect(error.message).toContain("Cannot update GSI's properties");
    expect(cfn.live(STACK)!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(indexKeys()).toEqual(['suppression-type-date-index:suppressionType+createdAt']);
  });

  it('removes the index, fills addedToSuppressionDate from createdAt, then adds the index on the new key; the items stay', async () => {
    installedEarlier(LEGACY_TEMPLATE);
    expect(indexKeys()).toEqual(['suppression-type-date-index:suppressionType+createdAt']);
    const opts = installOptions({ sender: undefined, adminEmail: undefined });
    expect(await settle(install(opts))).toBe(0);

    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'ExecuteChangeSet', 'CreateChangeSet', 'ExecuteChangeSet']);
    expect(indexKeys()).toEqual(['suppression-type-date-index:suppressionType+addedToSuppressionDate']);
    expect(cfn.live(STACK)!.status).toBe('UPDATE_COMPLETE');
    expect(cfn.resource(TABLE, `${STACK}-Suppression`)!.items).toBe(1234);
    const update = account.dynamodb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(update).toMatchObject({ TableName: `${STACK}-Suppression`, Key: { email: { S: 'old@example.com' } }, UpdateExpression: 'SET addedToSuppressionDate = createdAt' });
    expect(update.ConditionExpression).toContain('attribute_not_exists(addedToSuppressionDate)');
    const err = opts.io.err();
    expect(err).toContain('the upgrade takes two updates');
    expect(err).toContain('Step 1 of 2 done: suppression-type-date-index removed.');
    expect(err).toContain('1 earlier entries of sesmailengine-Suppression got addedToSuppressionDate');
  });

  it('after an interruption between the steps, the next install fills the dates and adds the index in one update', async () => {
    installedEarlier(templateWithoutSuppressionIndex(parseTemplateDocument(LEGACY_TEMPLATE)));
    expect(indexKeys()).toEqual([]);
    expect(await settle(install(installOptions()))).toBe(0);
    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'ExecuteChangeSet']);
    expect(account.dynamodb.commandCalls(UpdateItemCommand)).toHaveLength(1);
    expect(indexKeys()).toEqual(['suppression-type-date-index:suppressionType+addedToSuppressionDate']);
  });
  it('a reinstall over a kept table of an earlier version imports it, then removes the old index before adding the rest', async () => {
    installedEarlier(LEGACY_TEMPLATE);
    expect(await settle(uninstall(uninstallOptions()))).toBe(0);
    expect(indexKeys()).toEqual(['suppression-type-date-index:suppressionType+createdAt']);
    cfn.calls.length = 0;
    const opts = installOptions();
    expect(await settle(install(opts))).toBe(0);
    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'ExecuteChangeSet', 'CreateChangeSet', 'ExecuteChangeSet', 'CreateChangeSet', 'ExecuteChangeSet']);
    expect(changeSetCalls().map((c) => c.ChangeSetType)).toEqual(['IMPORT', 'UPDATE', 'UPDATE']);
    expect(indexKeys()).toEqual(['suppression-type-date-index:suppressionType+addedToSuppressionDate']);
    expect(cfn.live(STACK)!.status).toBe('UPDATE_COMPLETE');
    expect(cfn.resource(TABLE, `${STACK}-Suppression`)!.items).toBe(1234);
    expect(account.dynamodb.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });
});

describe('failed update', () => {
  it('reports UPDATE_ROLLBACK_COMPLETE with the failing resource and its reason: the previous version keeps running', async () => {
    installedEarlier();
    cfn.nextOutcome = 'fail';
    const opts = installOptions();
    const error = await failure(install(opts), 'INS009');
    expect(error.message).toContain('failed and was rolled back (UPDATE_ROLLBACK_COMPLETE): the previous version (engine 0.0.9) keeps running');
    expect(error.message).toContain('EmailSenderFunction (AWS::Lambda::Function) failed: Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey."');
    expect(opts.io.err()).toContain('EmailSenderFunction (AWS::Lambda::Function) UPDATE_FAILED');
    const stack = cfn.live(STACK)!;
    expect(stack.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(stack.parameters.EngineVersion).toBe('0.0.9');
    expect(stack.parameters.EmailSenderCodeKey).toBe('artifacts/email-sender-old.zip');
  });

  it('reports UPDATE_ROLLBACK_FAILED with the exact continue-update-rollback command', async () => {
    installedEarlier();
    cfn.nextOutcome = 'rollback-fails';
    const error = await failure(install(installOptions()), 'INS010');
    expect(error.message).toContain('stuck in UPDATE_ROLLBACK_FAILED');
    expect(error.fix).toContain('aws cloudformation continue-update-rollback --stack-name sesmailengine --region us-east-1');
    expect(cfn.live(STACK)!.status).toBe('UPDATE_ROLLBACK_FAILED');
  });
});

describe('failed first install', () => {
  it('rolls back leaving nothing (RetainExceptOnCreate), then the next install deletes the failed stack and creates it again', async () => {
    cfn.nextOutcome = 'fail';
    await failure(install(installOptions()), 'INS009');
    expect(cfn.live(STACK)!.status).toBe('ROLLBACK_COMPLETE');
    expect(cfn.account.size).toBe(0);

    cfn.calls.length = 0;
    const opts = installOptions();
    expect(await settle(install(opts))).toBe(0);
    expect(lifecycleCalls()).toEqual(['DeleteStack', 'CreateStack']);
    expect(opts.io.err()).toContain('cannot be updated and must be deleted');
    expect(cfn.live(STACK)!.status).toBe('CREATE_COMPLETE');
    expect(cfn.names(TABLE)).toEqual([...TABLES].sort());
  });

  it('a table marked Retain survives the rolled-back create, and the next install imports it instead of colliding', async () => {
    const retainTemplate = TEMPLATE.replace(
      /(  SuppressionTable:\n    Type: AWS::DynamoDB::Table\n    DeletionPolicy: )RetainExceptOnCreate/,
      '$1Retain',
    );
    expect(retainTemplate).not.toBe(TEMPLATE);
    const root = mkdtempSync(join(tmpdir(), 'sme-root-'));
    const { cpSync, writeFileSync } = await import('node:fs');
    cpSync(join(ROOT, 'starter-templates'), join(root, 'starter-templates'), { recursive: true });
    cpSync(join(ROOT, 'cloudformation'), join(root, 'cloudformation'), { recursive: true });
    writeFileSync(join(root, 'cloudformation', 'template.yaml'), retainTemplate);
    try {
      cfn.failing = { ...cfn.failing, logicalId: 'AlarmTopic', type: 'AWS::SNS::Topic' };
      cfn.nextOutcome = 'fail';
      await failure(install(installOptions({ root })), 'INS009');
      expect(cfn.names(TABLE)).toEqual([`${STACK}-Suppression`]);
      expect(cfn.resource(TABLE, `${STACK}-Suppression`)!.owner).toBeUndefined();

      cfn.calls.length = 0;
      expect(await settle(install(installOptions({ root })))).toBe(0);
      expect(lifecycleCalls()).toEqual(['DeleteStack', 'CreateChangeSet', 'ExecuteChangeSet', 'CreateChangeSet', 'ExecuteChangeSet']);
      expect(changeSetCalls()[0]!.ResourcesToImport).toEqual([
        { LogicalResourceId: 'SuppressionTable', ResourceType: TABLE, ResourceIdentifier: { TableName: `${STACK}-Suppression` } },
      ]);
      expect(cfn.live(STACK)!.status).toBe('UPDATE_COMPLETE');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses, before calling CloudFormation, names taken by resources the stack does not keep, with what to do', async () => {
    cfn.putResource('AWS::SES::ConfigurationSet', `${STACK}-tracking`);
    cfn.putResource('AWS::Events::EventBus', `${STACK}-EmailBus`);
    const opts = installOptions();
    const error = await failure(install(opts), 'INS017');
    expect(error.message).toContain('the SES configuration set sesmailengine-tracking: it exists outside any stack of this name');
    expect(error.message).toContain('the EventBridge bus sesmailengine-EmailBus');
    expect(error.fix).toContain('aws sesv2 delete-configuration-set --region us-east-1 --configuration-set-name sesmailengine-tracking');
    expect(error.fix).toContain('aws events delete-event-bus --region us-east-1 --name sesmailengine-EmailBus');
    expect(error.fix).toContain('--stack-name');
    expect(lifecycleCalls()).toEqual([]);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(account.dynamodb.calls().map((c) => (c.args[0].input as { TableName: string }).TableName).sort()).toEqual([...TABLES].sort());
  });
});

describe('reinstall after uninstall', () => {
  it('uninstall keeps the data and says how to bring it back or delete it; install imports it, then adds the rest', async () => {
    expect(await settle(install(installOptions()))).toBe(0);
    cfn.resource(TABLE, `${STACK}-Suppression`)!.items = 77;

    const gone = uninstallOptions();
    expect(await settle(uninstall(gone))).toBe(0);
    expect(cfn.live(STACK)).toBeUndefined();
    const said = gone.io.err();
    expect(said).toContain('DynamoDB table sesmailengine-Suppression (the suppression list)');
    expect(said).toContain('SQS queue sesmailengine-send-dlq');
    expect(said).toContain('install again under the same name (the install imports them): sesmailengine install --stack-name sesmailengine --region us-east-1');
    expect(said).toContain('sesmailengine uninstall --delete-data --stack-name sesmailengine --region us-east-1');
    expect(cfn.names(TABLE)).toEqual([...TABLES].sort());
    expect(cfn.resource(TABLE, `${STACK}-Suppression`)!.owner).toBeUndefined();

    cfn.calls.length = 0;
    const again = installOptions();
    expect(await settle(install(again))).toBe(0);
    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'ExecuteChangeSet', 'CreateChangeSet', 'ExecuteChangeSet']);
    const [imported, rest] = changeSetCalls();
    expect(imported!.ChangeSetType).toBe('IMPORT');
    const toImport = imported!.ResourcesToImport!;
    expect(toImport.filter((r) => r.ResourceType === TABLE)).toEqual([
      { LogicalResourceId: 'TrackingTable', ResourceType: TABLE, ResourceIdentifier: { TableName: `${STACK}-EmailTracking` } },
      { LogicalResourceId: 'SuppressionTable', ResourceType: TABLE, ResourceIdentifier: { TableName: `${STACK}-Suppression` } },
      { LogicalResourceId: 'CountersTable', ResourceType: TABLE, ResourceIdentifier: { TableName: `${STACK}-Counters` } },
    ]);
    expect(toImport.find((r) => r.LogicalResourceId === 'SendQueue')!.ResourceIdentifier).toEqual({
      QueueUrl: `https://sqs.us-east-1.amazonaws.com/123456789012/${STACK}-send`,
    });
    const importTemplate = JSON.parse(imported!.TemplateBody!) as { Resources: Record<string, unknown>; Outputs?: unknown };
    expect(Object.keys(importTemplate.Resources).sort()).toEqual(toImport.map((r) => r.LogicalResourceId).sort());
    expect(importTemplate.Outputs).toBeUndefined();
    expect(rest!.ChangeSetType).toBe('UPDATE');
    expect(rest!.TemplateBody ?? cfn.templateStore!(rest!.TemplateURL!)).toBe(TEMPLATE);

    const err = again.io.err();
    expect(err).toContain('Found 16 resources kept by an earlier install of sesmailengine');
    expect(err).toContain('IMPORT_COMPLETE');
    expect(err).toContain('Brought back 16 resources with their data into sesmailengine.');
    const stack = cfn.live(STACK)!;
    expect(stack.status).toBe('UPDATE_COMPLETE');
    // Everything but the webhook resources: no WebhookUrl was given.
    const withoutWebhooks = Object.entries(parseTemplate(TEMPLATE).Resources).filter(([, r]) => r.Condition !== 'HasWebhook');
    expect(stack.resources.map((r) => r.logicalId).sort()).toEqual(withoutWebhooks.map(([id]) => id).sort());
    const suppression = cfn.resource(TABLE, `${STACK}-Suppression`)!;
    expect(suppression.items).toBe(77);
    expect(suppression.owner).toBe(stack.stackId);
  });

  it('a rolled-back import leaves the kept data untouched, removes the empty stack, and the next install brings the data back', async () => {
    for (const name of TABLES) cfn.putResource(TABLE, name, { keySchema: [{ AttributeName: name.endsWith('Suppression') ? 'email' : name.endsWith('Counters') ? 'pk' : 'emailId', KeyType: 'HASH' }], items: 9 });
    cfn.nextOutcome = 'fail';
    const error = await failure(install(installOptions()), 'INS021');
    expect(error.message).toContain('ended in IMPORT_ROLLBACK_COMPLETE');
    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'ExecuteChangeSet', 'DeleteStack']);
    expect(cfn.live(STACK)).toBeUndefined();
    for (const name of TABLES) {
      expect(cfn.resource(TABLE, name)!.items).toBe(9);
      expect(cfn.resource(TABLE, name)!.owner).toBeUndefined();
    }

    expect(await settle(install(installOptions()))).toBe(0);
    expect(cfn.live(STACK)!.status).toBe('UPDATE_COMPLETE');
    for (const name of TABLES) expect(cfn.resource(TABLE, name)).toMatchObject({ items: 9, owner: cfn.live(STACK)!.stackId });
  });

  it('an import CloudFormation refuses (a kept table now held by another stack) changes nothing and leaves no empty stack', async () => {
    cfn.putResource(TABLE, `${STACK}-Suppression`, { keySchema: [{ AttributeName: 'email', KeyType: 'HASH' }], owner: 'arn:aws:cloudformation:us-east-1:123456789012:stack/other/1' });
    const error = await failure(install(installOptions()), 'INS021');
    expect(error.message).toContain(`already exists in stack arn:aws:cloudformation:us-east-1:123456789012:stack/other/1`);
    expect(error.fix).toContain('Nothing was changed');
    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'DeleteChangeSet', 'DeleteStack']);
    expect(cfn.live(STACK)).toBeUndefined();
  });

  it('refuses to import a kept table whose key schema is not the engine’s', async () => {
    cfn.putResource(TABLE, `${STACK}-Suppression`, { keySchema: [{ AttributeName: 'address', KeyType: 'HASH' }], attributeTypes: { address: 'S' } });
    const error = await failure(install(installOptions()), 'INS018');
    expect(error.message).toContain('the DynamoDB table sesmailengine-Suppression (the suppression list) has the key address (HASH, S); the engine needs email (HASH, S)');
    expect(error.fix).toContain('aws dynamodb delete-table --region us-east-1 --table-name sesmailengine-Suppression');
    expect(lifecycleCalls()).toEqual([]);
  });

  it('status warns about kept data that belongs to no stack', async () => {
    await settle(install(installOptions()));
    await settle(uninstall(uninstallOptions()));
    const io = captureIo();
    expect(await status({ stackName: STACK, region: 'us-east-1', json: true, io, root: ROOT })).toBe(3); // not installed
    const report = JSON.parse(io.out()) as StatusReport;
    expect(report.stack).toBeNull();
    const orphaned = report.orphaned as { name: string; type: string }[];
    expect(orphaned.filter((o) => o.type === TABLE).map((o) => o.name)).toEqual([...TABLES].sort());
    expect(orphaned).toHaveLength(16);

    const text = captureIo();
    await status({ stackName: STACK, region: 'us-east-1', io: text, root: ROOT });
    expect(text.err()).toContain('16 resources with data kept by an earlier install of sesmailengine belong to no stack');
    expect(text.out()).toContain('DynamoDB table sesmailengine-Suppression (the suppression list)');
    expect(text.out()).toContain('sesmailengine uninstall --delete-data --stack-name sesmailengine --region us-east-1');
  });

  it('status lists nothing when the running stack holds its tables', async () => {
    await settle(install(installOptions()));
    const io = captureIo();
    await status({ stackName: STACK, region: 'us-east-1', json: true, io, root: ROOT, clients: { dns: noDns } });
    expect((JSON.parse(io.out()) as StatusReport).orphaned).toEqual([]);
  });
});

describe('uninstall --delete-data', () => {
  it('asks a second time once the stack is gone, then deletes the kept data and says what it deleted', async () => {
    await settle(install(installOptions()));
    const prompter = scriptedPrompter({ 'Delete the stack': true, 'for good': true });
    const opts = uninstallOptions({ yes: false, prompter, deleteData: true });
    expect(await settle(uninstall(opts))).toBe(0);
    expect(prompter.asked).toHaveLength(2);
    expect(prompter.asked[1]).toContain('Delete these 16 resources and their data for good?');
    const err = opts.io.err();
    expect(err).toContain('Deleted the DynamoDB table sesmailengine-Suppression (the suppression list).');
    expect(err).toContain('Deleted the SQS queue sesmailengine-send-dlq.');
    expect(err).toContain('Deleted the secret sesmailengine-unsubscribe-signing-key.');
    expect(cfn.account.size).toBe(0);
  });

  it('keeps the data when the second answer is no (the stack is gone, the data is not)', async () => {
    await settle(install(installOptions()));
    const prompter = scriptedPrompter({ 'Delete the stack': true, 'for good': false });
    const error = await settle(uninstall(uninstallOptions({ yes: false, prompter, deleteData: true }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserCancelled);
    expect((error as UserCancelled).message).toContain('The data is kept (the stack itself is deleted)');
    expect(cfn.live(STACK)).toBeUndefined();
    expect(cfn.names(TABLE)).toEqual([...TABLES].sort());
  });

  it('deletes what it may, and lists what it could not with INS022', async () => {
    await settle(install(installOptions()));
    account.secrets.on(DeleteSecretCommand).rejects(Object.assign(new Error('not allowed to secretsmanager:DeleteSecret'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    const opts = uninstallOptions({ deleteData: true });
    const error = await failure(uninstall(opts), 'INS022');
    expect(error.message).toContain('secret sesmailengine-unsubscribe-signing-key: AccessDeniedException');
    expect(error.fix).toContain('secretsmanager:DeleteSecret');
    expect(opts.io.err()).toContain('Deleted the DynamoDB table sesmailengine-Suppression (the suppression list).');
    expect([...cfn.account.values()].map((r) => r.name)).toEqual([`${STACK}-unsubscribe-signing-key`]);
  });

  it('with no stack left, finds the kept data by name and deletes it', async () => {
    await settle(install(installOptions()));
    await settle(uninstall(uninstallOptions()));
    const opts = uninstallOptions({ deleteData: true });
    expect(await settle(uninstall(opts))).toBe(0);
    expect(opts.io.err()).toContain('There is no stack named sesmailengine in us-east-1; looking for the data an earlier install kept.');
    expect(opts.io.err()).toContain('Deleted the DynamoDB table sesmailengine-EmailTracking (the tracking history).');
    expect(cfn.account.size).toBe(0);
  });
});

describe('webhooks (the WebhookUrl parameter and its conditional resources)', () => {
  const URL = 'https://hooks.example.com/sesmailengine';
  const QUEUE = 'AWS::SQS::Queue';
  const SECRET = 'AWS::SecretsManager::Secret';
  const webhookIds = Object.entries(parseTemplate(TEMPLATE).Resources)
    .filter(([, r]) => r.Condition === 'HasWebhook')
    .map(([id]) => id)
    .sort();
  const heldIds = () => cfn.live(STACK)!.resources.map((r) => r.logicalId);
  const webhookQueues = [`${STACK}-webhook`, `${STACK}-webhook-dlq`];
  /** The signing key has no fixed name, so it is followed in the stack, not by name in the account. */
  const holdsKey = () => heldIds().includes('WebhookSecret');
  const accountSecrets = () => cfn.names(SECRET);

  it('--webhook-url creates them with the stack and sends the URL', async () => {
    expect(await settle(install(installOptions({ webhookUrl: URL })))).toBe(0);
    expect(cfn.live(STACK)!.parameters.WebhookUrl).toBe(URL);
    expect(webhookIds.filter((id) => !heldIds().includes(id))).toEqual([]);
    expect(cfn.names(QUEUE)).toEqual(expect.arrayContaining(webhookQueues));
    expect(holdsKey()).toBe(true);
    expect(accountSecrets()).toEqual([`${STACK}-unsubscribe-signing-key`]);
  });

  it("--webhook-url '' turns them off: the key is deleted, the queues (and failed deliveries in the DLQ) stay in the stack", async () => {
    expect(await settle(install(installOptions({ webhookUrl: URL })))).toBe(0);
    const stackId = cfn.live(STACK)!.stackId;
    expect(await settle(install(installOptions({ webhookUrl: '' })))).toBe(0);
    expect(cfn.live(STACK)!.parameters.WebhookUrl).toBe('');
    expect(webhookIds.filter((id) => heldIds().includes(id))).toEqual([]);
    for (const name of webhookQueues) expect(cfn.resource(QUEUE, name)!.owner).toBe(stackId);
    expect(holdsKey()).toBe(false);
    expect(accountSecrets()).toEqual([`${STACK}-unsubscribe-signing-key`]);
  });

  it('turning them on again works, with a new signing key', async () => {
    expect(await settle(install(installOptions({ webhookUrl: URL })))).toBe(0);
    expect(await settle(install(installOptions({ webhookUrl: '' })))).toBe(0);
    cfn.calls.length = 0;
    const again = installOptions({ webhookUrl: URL });
    expect(await settle(install(again))).toBe(0);
    const stack = cfn.live(STACK)!;
    expect(stack.status).toBe('UPDATE_COMPLETE');
    expect(stack.parameters.WebhookUrl).toBe(URL);
    expect(webhookIds.filter((id) => !heldIds().includes(id))).toEqual([]);
    expect(lifecycleCalls()).toEqual(expect.arrayContaining(['CreateChangeSet', 'ExecuteChangeSet']));
  });

  it('--webhook-events sends the chosen types in canonical form, and an upgrade without it keeps them', async () => {
    expect(await settle(install(installOptions({ webhookUrl: URL, webhookEvents: 'complained, bounced' })))).toBe(0);
    expect(cfn.live(STACK)!.parameters.WebhookEvents).toBe('email.bounced,email.complained');
    cfn.calls.length = 0;
    expect(await settle(install(installOptions()))).toBe(0);
    expect(changeSetCalls()[0]!.Parameters).toContainEqual({ ParameterKey: 'WebhookEvents', UsePreviousValue: true });
    await failure(install(installOptions({ webhookEvents: 'bounced,sent' })), 'INS025');
  });

  it('an upgrade without --webhook-url keeps the URL the stack has', async () => {
    expect(await settle(install(installOptions({ webhookUrl: URL })))).toBe(0);
    cfn.calls.length = 0;
    expect(await settle(install(installOptions()))).toBe(0);
    const [changeSet] = changeSetCalls();
    expect(changeSet!.Parameters).toContainEqual({ ParameterKey: 'WebhookUrl', UsePreviousValue: true });
    expect(cfn.live(STACK)!.parameters.WebhookUrl).toBe(URL);
  });

  it('an upgrade that would create a name taken outside the stack stops before any change, naming it and how to delete it (INS024)', async () => {
    expect(await settle(install(installOptions()))).toBe(0);
    cfn.putResource('AWS::Lambda::Function', `${STACK}-WebhookDelivery`);
    cfn.calls.length = 0;
    const error = await failure(install(installOptions({ webhookUrl: URL })), 'INS024');
    expect(error.message).toContain(`${STACK}-WebhookDelivery`);
    expect(error.fix).toContain(`aws lambda delete-function --region us-east-1 --function-name ${STACK}-WebhookDelivery`);
    expect(lifecycleCalls()).toEqual(['CreateChangeSet', 'DeleteChangeSet']);
    expect(cfn.live(STACK)!.parameters.WebhookUrl ?? '').toBe('');
    expect(holdsKey()).toBe(false);
  });

  it('a reinstall brings the kept webhook queues back into the stack, with or without a URL', async () => {
    expect(await settle(install(installOptions({ webhookUrl: URL })))).toBe(0);
    expect(await settle(uninstall(uninstallOptions()))).toBe(0);
    for (const name of webhookQueues) expect(cfn.resource(QUEUE, name)!.owner).toBeUndefined();
    expect(accountSecrets()).toEqual([`${STACK}-unsubscribe-signing-key`]);

    cfn.calls.length = 0;
    const plain = installOptions();
    expect(await settle(install(plain))).toBe(0);
    const [imported] = changeSetCalls();
    expect(imported!.ResourcesToImport!.map((r) => r.LogicalResourceId).filter((id) => id!.startsWith('Webhook')).sort()).toEqual([
      'WebhookDeadLetterQueue',
      'WebhookDeliveryLogGroup',
      'WebhookQueue',
    ]);
    const stack = cfn.live(STACK)!;
    expect(webhookIds.filter((id) => heldIds().includes(id))).toEqual([]);
    for (const name of webhookQueues) expect(cfn.resource(QUEUE, name)!.owner).toBe(stack.stackId);

    expect(await settle(install(installOptions({ webhookUrl: URL })))).toBe(0);
    expect(webhookIds.filter((id) => !heldIds().includes(id))).toEqual([]);
    expect(holdsKey()).toBe(true);
  });
});


describe('a template over CloudFormation\'s inline limit (51,200 bytes)', () => {
  /** A package root whose template is the real one padded past the limit with a comment. */
  function bigTemplateRoot(): { root: string; body: string } {
    const root = mkdtempSync(join(tmpdir(), 'sme-bigtpl-'));
    for (const entry of ['package.json', 'starter-templates', 'functions']) symlinkSync(join(ROOT, entry), join(root, entry));
    mkdirSync(join(root, 'cloudformation'));
    const body = `${TEMPLATE}\n${'# padding that only makes the template larger\n'.repeat(1400)}`;
    writeFileSync(join(root, 'cloudformation', 'template.yaml'), body);
    return { root, body };
  }

  it('goes to CloudFormation through the bucket (TemplateURL), on create and on upgrade', async () => {
    const { root, body } = bigTemplateRoot();
    expect(Buffer.byteLength(body)).toBeGreaterThan(51_200);
    const stored = () => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input).filter((i) => /^artifacts\/template-[0-9a-f]{16}\.yaml$/.test(i.Key ?? ''));
    try {
      expect(await settle(install(installOptions({ root })))).toBe(0);
      expect(stored()).toHaveLength(1);
      expect(String(stored()[0]!.Body)).toBe(body);
      const created = cfn.calls.find(([n]) => n === 'CreateStack' || n === 'CreateChangeSet')![1] as { TemplateURL?: string; TemplateBody?: string };
      expect(created.TemplateBody).toBeUndefined();
      expect(created.TemplateURL).toBe(`https://sesmailengine-123456789012-us-east-1.s3.us-east-1.amazonaws.com/${stored()[0]!.Key}`);
      expect(cfn.live(STACK)!.status).toBe('CREATE_COMPLETE');
      expect(cfn.live(STACK)!.resources.length).toBeGreaterThan(40);

      cfn.calls.length = 0;
      expect(await settle(install(installOptions({ root, webhookUrl: 'https://hooks.example.com/x' })))).toBe(0);
      const [changeSet] = changeSetCalls();
      expect(changeSet!.TemplateURL).toMatch(/\/artifacts\/template-[0-9a-f]{16}\.yaml$/);
      expect(changeSet!.TemplateBody).toBeUndefined();
      expect(cfn.live(STACK)!.resources.map((r) => r.logicalId)).toContain('WebhookDeliveryFunction');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
