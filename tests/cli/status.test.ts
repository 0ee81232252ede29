import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetAccountCommand, GetEmailIdentityCommand, SESv2Client, type MailFromAttributes } from '@aws-sdk/client-sesv2';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { SecretsManagerClient, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { pacingView, status, todayCounts, type StatusReport } from '../../src/commands/status.js';
import type { DeliverabilityReport } from '../../src/ops/deliverability.js';
import type { TxtResolver } from '../../src/ops/deliverability-gather.js';
import { addDailyCounts } from '../../functions/lib/counters-store.js';
import { COUNTERS_TABLE, SUPPRESSION_TABLE, createTableInput } from '../../functions/lib/table-schemas.js';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { captureIo } from '../support/cli-harness.js';
import { DEFAULT_RESOURCES, FakeCloudFormation, serviceError } from '../support/fake-cloudformation.js';

/**
 * status: counters and kept tables read from the DynamoDB stand-in; SES, SQS, CloudWatch,
 * CloudWatch Logs, Secrets Manager and CloudFormation mocked.
 */

const sts = mockClient(STSClient);
const ses = mockClient(SESv2Client);
const sqs = mockClient(SQSClient);
const cw = mockClient(CloudWatchClient);
const logs = mockClient(CloudWatchLogsClient);
const secrets = mockClient(SecretsManagerClient);
const s3 = mockClient(S3Client);
let aws: StandIns;
let dynamodb: DynamoDBClient;
let cfn: FakeCloudFormation;
const NOW = new Date('2026-03-01T12:00:00Z');

function alarmsFire() {
  cw.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: [{ AlarmName: 'sesmailengine-FeedbackDLQ-NotEmpty', StateValue: 'ALARM', StateReason: 'Threshold Crossed', StateUpdatedTimestamp: NOW }],
  });
}

beforeAll(async () => {
  aws = await startStandIns('statuscli');
  cfn = new FakeCloudFormation();
  const stack = cfn.seed('sesmailengine', 'UPDATE_COMPLETE');
  stack.outputs = {
    ...cfn.outputsFor('sesmailengine'),
    CountersTableName: aws.tables.counters,
    FeedbackDeadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/sesmailengine-feedback-dlq',
  };
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev' });
  ses.on(GetAccountCommand).resolves({ ProductionAccessEnabled: false, SendingEnabled: true, SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 40 } });
  sqs.on(GetQueueAttributesCommand, { QueueUrl: stack.outputs.SendDeadLetterQueueUrl }).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
  sqs.on(GetQueueAttributesCommand, { QueueUrl: stack.outputs.FeedbackDeadLetterQueueUrl }).resolves({ Attributes: { ApproximateNumberOfMessages: '3' } });
  alarmsFire();
  logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
  sqs.on(GetQueueUrlCommand).rejects(serviceError('QueueDoesNotExist', 'The specified queue does not exist.'));
  secrets.on(DescribeSecretCommand).rejects(serviceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret."));
  dynamodb = new DynamoDBClient({ region: aws.region, credentials: aws.credentials, endpoint: aws.dynamoDbEndpoint });
  // Tables an uninstall left: one of a stack that is gone, one the stack "partial" does not hold.
  await dynamodb.send(new CreateTableCommand(createTableInput('gone-Suppression', SUPPRESSION_TABLE)));
  await dynamodb.send(new CreateTableCommand(createTableInput('partial-Counters', COUNTERS_TABLE)));
  await dynamodb.send(new CreateTableCommand(createTableInput('partial-Suppression', SUPPRESSION_TABLE)));
  cfn.resources = DEFAULT_RESOURCES.filter((r) => r.logicalId !== 'CountersTable');
  cfn.seed('partial', 'UPDATE_COMPLETE');
  cfn.resources = DEFAULT_RESOURCES;
  // Two writers on different shards: status must sum them.
  await addDailyCounts(aws.ddb, aws.tables.counters, '2026-03-01', { sent: 150, delivered: 140, bounced: 3 }, 1);
  await addDailyCounts(aws.ddb, aws.tables.counters, '2026-03-01', { sent: 50, complained: 1, bounced: 1 }, 7);
  await addDailyCounts(aws.ddb, aws.tables.counters, '2026-02-28', { sent: 999, bounced: 999 }, 1);
});

afterAll(async () => {
  cfn.restore();
  sts.restore();
  ses.restore();
  sqs.restore();
  cw.restore();
  logs.restore();
  secrets.restore();
  s3.restore();
  dynamodb.destroy();
  await aws.stop();
});

async function report(stackName = 'sesmailengine', exitCode = 0): Promise<StatusReport> {
  const io = captureIo();
  expect(await status({ stackName, region: 'us-east-1', json: true, io, now: () => NOW, clients: { ddb: aws.ddb, dynamodb } })).toBe(exitCode);
  return JSON.parse(io.out()) as StatusReport;
}

describe('status --json', () => {
  it('prints one JSON object with stack, SES, today, DLQs and alarms', async () => {
    const r = await report();
    expect(r.stack?.status).toBe('UPDATE_COMPLETE');
    expect(r.stack?.outputs.EventBusName).toBe('sesmailengine-EmailBus');
    expect(r.ses).toMatchObject({ productionAccess: false, sendingEnabled: true, max24HourSend: 200, maxSendRate: 1, sentLast24Hours: 40 });
    expect(r.today).toEqual({ date: '2026-03-01', sent: 200, delivered: 140, bounced: 4, complained: 1, failed: 0, bounceRate: 2, complaintRate: 0.5 });
    expect(r.deadLetterQueues).toEqual([
      { name: 'sesmailengine-feedback-dlq', url: 'https://sqs.us-east-1.amazonaws.com/123456789012/sesmailengine-feedback-dlq', messages: 3 },
      { name: 'sesmailengine-send-dlq', url: 'https://sqs.us-east-1.amazonaws.com/123456789012/sesmailengine-send-dlq', messages: 0 },
    ]);
    expect(r.alarms).toEqual([{ name: 'sesmailengine-FeedbackDLQ-NotEmpty', reason: 'Threshold Crossed', since: NOW.toISOString() }]);
    expect(cw.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input).toMatchObject({ AlarmNamePrefix: 'sesmailengine', StateValue: 'ALARM' });
  });

  it('reports a part it could not read as that part\'s error, not a failed command', async () => {
    cw.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('not allowed'), { name: 'AccessDenied' }));
    const r = await report();
    alarmsFire();
    expect(r.alarms).toEqual({ error: 'AccessDenied: not allowed' });
    expect(r.stack?.status).toBe('UPDATE_COMPLETE');
  });

  it('prints a readable report without --json', async () => {
    const io = captureIo();
    await status({ region: 'us-east-1', io, now: () => NOW, clients: { ddb: aws.ddb, dynamodb } });
    const out = io.out();
    expect(out).toContain('UPDATE_COMPLETE');
    expect(out).toContain('sandbox');
    expect(out).toContain('200 sent, 140 delivered, 4 bounced, 1 complaints');
    expect(out).toContain('bounce rate 2%, complaint rate 0.5%');
    expect(out).toMatch(/sesmailengine-feedback-dlq\s+3 messages/);
    expect(out).toContain('sesmailengine-FeedbackDLQ-NotEmpty');
    expect(out).toContain("Pacing:   1/s across all containers (the account's maximum send rate); 20% of the 24-hour quota used");
    expect(out).not.toContain('sending held');
  });

  it('shows the pacing in force and the share of the 24-hour quota used', async () => {
    const r = await report();
    expect(r.pacing).toEqual({ rate: 1, source: 'account', quotaUsedPercent: 20, held: false });
  });
});

describe('pacingView', () => {
  const account = { productionAccess: true, sendingEnabled: true, max24HourSend: 50_000, maxSendRate: 14, sentLast24Hours: 12_500 };
  it("caps the account's rate with a lower MaxSendRate parameter", () => {
    expect(pacingView(account, '5', [])).toEqual({ rate: 5, source: 'MaxSendRate parameter', maxSendRateParameter: 5, quotaUsedPercent: 25, held: false });
  });
  it("keeps the account's rate when the parameter is 0 or higher", () => {
    expect(pacingView(account, '0', []).rate).toBe(14);
    expect(pacingView(account, '100', [])).toMatchObject({ rate: 14, source: 'account' });
  });
  it('says sending is held when the quota is used up or the DailyQuotaHeld alarm is on', () => {
    expect(pacingView({ ...account, sentLast24Hours: 50_000 }, '0', []).held).toBe(true);
    expect(pacingView(account, '0', [{ name: 'sesmailengine-DailyQuotaHeld' }]).held).toBe(true);
  });
  it('is unpaced when SES reports no limit and no parameter caps it', () => {
    expect(pacingView({ productionAccess: true, sendingEnabled: true, maxSendRate: -1, max24HourSend: -1, sentLast24Hours: 3 }, undefined, [])).toEqual({ rate: null, source: 'none', held: false });
  });
});

describe('status on data kept by an earlier install', () => {
  it('lists nothing when the stack holds its tables', async () => {
    expect((await report()).orphaned).toEqual([]);
  });

  it('warns about a kept table whose stack is gone, with how to bring it back or delete it', async () => {
    const r = await report('gone', 3);
    expect(r.stack).toBeNull();
    expect(r.installed).toBe(false);
    expect(r.orphaned).toEqual([
      { logicalId: 'SuppressionTable', type: 'AWS::DynamoDB::Table', name: 'gone-Suppression', description: 'DynamoDB table gone-Suppression (the suppression list)' },
    ]);
    const io = captureIo();
    await status({ stackName: 'gone', region: 'us-east-1', io, now: () => NOW, clients: { ddb: aws.ddb, dynamodb } });
    expect(io.err()).toContain('1 resource with data kept by an earlier install of gone belongs to no stack');
    expect(io.out()).toContain('sesmailengine install --stack-name gone --region us-east-1');
    expect(io.out()).toContain('sesmailengine uninstall --delete-data --stack-name gone --region us-east-1');
  });

  it('warns about a kept table that the running stack does not list among its resources', async () => {
    const r = await report('partial');
    expect((r.orphaned as { name: string }[]).map((o) => o.name)).toEqual(['partial-Counters']);
  });
});

describe('todayCounts', () => {
  it('gives 0% rates on a day with nothing sent', () => {
    expect(todayCounts('2026-03-01', {})).toMatchObject({ sent: 0, bounceRate: 0, complaintRate: 0 });
  });
});

describe('the Deliverability section', () => {
  const SENDER = 'noreply@news.example.com';
  const TOKENS = ['ab3dxf7ig4qkjg4z6szh5ra2ohyoqmqd', 'i5jhzpjqyg6qr2jbarxi4bahvkbm4vgh', 'pvz6y2hu2wlbjqudtmbdnmcgolvfjuqm'];
  /** DNS with a DMARC record at the organisational domain only, and a count of the names asked. */
  const dns: TxtResolver & { asked: string[] } = {
    asked: [],
    async resolveTxt(name: string) {
      dns.asked.push(name);
      if (name === '_dmarc.example.com') return [['v=DMARC1; p=none; rua=mailto:d@example.com']];
      throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    },
  };
  const text = (t: string) => ({ Body: { transformToString: async () => t, transformToByteArray: async () => Buffer.from(t) } as never });

  beforeAll(() => {
    const stack = cfn.seed('deliver', 'CREATE_COMPLETE', { DefaultSenderEmail: SENDER, ArtifactBucket: 'deliver-bucket' });
    stack.outputs = cfn.outputsFor('deliver');
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'news.example.com' }).resolves({
      IdentityType: 'DOMAIN',
      VerifiedForSendingStatus: false,
      VerificationStatus: 'PENDING',
      DkimAttributes: { SigningEnabled: true, Status: 'PENDING', Tokens: TOKENS, SigningAttributesOrigin: 'AWS_SES' },
      // Without a custom MAIL FROM, SES answers only the behaviour (the SDK's type marks the other two required).
      MailFromAttributes: { BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' } as MailFromAttributes,
    });
    ses.on(GetEmailIdentityCommand, { EmailIdentity: SENDER }).rejects(serviceError('NotFoundException', 'Email identity does not exist.'));
    s3.on(ListObjectsV2Command).resolves({ CommonPrefixes: [{ Prefix: 'templates/digest/' }] });
    s3.on(GetObjectCommand).resolves(text(''));
    s3.on(GetObjectCommand, { Key: 'templates/digest/metadata.json' }).resolves(text('{"subject":"Digest","category":"transactional"}'));
    s3.on(GetObjectCommand, { Key: 'templates/digest/template.html' }).resolves(text('<a href="{{ unsubscribeLink }}">Unsubscribe</a>'));
  });

  const run = (json: boolean) => {
    const io = captureIo();
    return status({ stackName: 'deliver', region: 'us-east-1', json, io, now: () => NOW, clients: { ddb: aws.ddb, dynamodb, dns } }).then(() => io);
  };

  it('checks the stack\'s sender in --json: DKIM, MAIL FROM, DMARC and unsubscribe, each with its state', async () => {
    const r = JSON.parse((await run(true)).out()) as StatusReport;
    const d = r.deliverability as DeliverabilityReport;

    expect(d.sender).toBe(SENDER);
    expect(d.items.map((i) => `${i.id}=${i.state}`)).toEqual(['dkim=warn', 'mail-from=warn', 'dmarc=ok', 'unsubscribe=warn']);
    expect(d.items[0]!.records?.[0]).toEqual({ type: 'CNAME', name: `${TOKENS[0]}._domainkey.news.example.com`, value: `${TOKENS[0]}.dkim.amazonses.com` });
    expect(d.items[3]!.subjects).toEqual(['digest']);
    expect(dns.asked).toEqual(['_dmarc.news.example.com', '_dmarc.example.com']);
    expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input.Bucket).toBe('deliver-bucket');
  });

  it('prints the section with the fixes and the records to publish', async () => {
    const out = (await run(false)).out();

    expect(out).toContain(`Deliverability of ${SENDER}: warn`);
    expect(out).toMatch(/DKIM\s+warn: DKIM for news\.example\.com is PENDING/);
    expect(out).toContain(`CNAME ${TOKENS[1]}._domainkey.news.example.com  ${TOKENS[1]}.dkim.amazonses.com`);
    expect(out).toContain('MX    mail.news.example.com  10 feedback-smtp.us-east-1.amazonses.com');
    expect(out).toContain('DMARC policy p=none (from _dmarc.example.com)');
    expect(out).toContain('note: Once the aggregate (rua) reports show your mail passing, move to p=quarantine and then p=reject.');
    expect(out).toContain('digest: links to unsubscribeLink but is "transactional"');
  });

  it('is absent for a stack without a sender parameter', async () => {
    expect((await report()).deliverability).toBeNull();
  });
});
