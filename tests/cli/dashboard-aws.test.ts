import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetAccountCommand, GetEmailIdentityCommand, NotFoundException, SESv2Client } from '@aws-sdk/client-sesv2';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { addDailyCounts } from '../../functions/lib/counters-store.js';
import { buildRecord } from '../../functions/lib/tracking-store.js';
import { addSuppression } from '../../functions/lib/suppression-store.js';
import { streakKey } from '../../functions/lib/soft-bounce-streak.js';
import { dashboardRoutes } from '../../src/dashboard/api.js';
import type { Route } from '../../src/dashboard/routes.js';
import { resolveTarget, type EngineTarget } from '../../src/ops/target.js';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { FakeCloudFormation } from '../support/fake-cloudformation.js';

/**
 * The dashboard's routes over a deployed stack: CloudFormation (the fake), STS, SQS,
 * CloudWatch and SES mocked, DynamoDB on the dynalite stand-in. Each route reads what its
 * CLI command reads, with the stack's settings; the actions keep the CLI's safeguards.
 */

const sts = mockClient(STSClient);
const sqs = mockClient(SQSClient);
const cloudWatch = mockClient(CloudWatchClient);
const ses = mockClient(SESv2Client);
let aws: StandIns;
let cfn: FakeCloudFormation;
let target: EngineTarget;
let routes: Route[];
const NOW = new Date('2026-03-10T12:00:00Z');
const Q = 'https://sqs.us-east-1.amazonaws.com/123456789012';

function route(path: string, method: 'GET' | 'POST' = 'GET'): Route {
  const found = routes.find((r) => r.path === path && r.method === method);
  if (!found) throw new Error(`no route ${method} ${path}`);
  return found;
}

const get = (path: string, query: Record<string, string> = {}) => route(path).handler({ query: new URLSearchParams(query), body: {} }) as Promise<any>;
const post = (path: string, body: Record<string, unknown>) => route(path, 'POST').handler({ query: new URLSearchParams(), body: { confirm: true, ...body } }) as Promise<any>;

function record(emailId: string, at: string, toEmail = 'ada@example.com') {
  return buildRecord({ emailId, originalEmailId: emailId, retryAttempt: 0, toEmail, templateName: 'welcome', originalSource: 'my.app' }, 'delivered', new Date(at), 90);
}

beforeAll(async () => {
  aws = await startStandIns('dashaws');
  cfn = new FakeCloudFormation();
  cfn.seed(
    'sesmailengine',
    'UPDATE_COMPLETE',
    { BounceRateThreshold: '3', BounceRateMinimumSends: '10', MaxSendRate: '5', DefaultSenderEmail: 'news@mail.example.com' },
    {
      EventBusName: 'sesmailengine-EmailBus',
      EmailTrackingTableName: aws.tables.tracking,
      SuppressionTableName: aws.tables.suppression,
      CountersTableName: aws.tables.counters,
      TemplateBucketName: aws.bucket,
      SendQueueUrl: `${Q}/sesmailengine-send`,
      SendDeadLetterQueueUrl: `${Q}/sesmailengine-send-dlq`,
    },
  );
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev' });
  target = await resolveTarget({ region: 'us-east-1', clients: { ddb: aws.ddb, s3: aws.s3, cloudWatch: new CloudWatchClient({ region: 'us-east-1' }), ses: new SESv2Client({ region: 'us-east-1' }) } });
  const dns = {
    resolveTxt: async (name: string) => {
      if (name === '_dmarc.example.com') return [['v=DMARC1; p=quarantine; rua=mailto:d@example.com']];
      throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    },
  };
  routes = dashboardRoutes({ target, now: () => NOW, dns });
});

beforeEach(() => {
  sqs.reset();
  cloudWatch.reset();
  ses.reset();
  sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } });
});

afterAll(async () => {
  target?.close();
  cfn.restore();
  for (const mock of [sts, sqs, cloudWatch, ses]) mock.restore();
  await aws.stop();
});

describe('GET /api/overview', () => {
  it("reads 31 days of counters ending today and judges today's rates with the stack's settings", async () => {
    await addDailyCounts(aws.ddb, aws.tables.counters, '2026-03-10', { sent: 40, delivered: 35, bounced: 2, complained: 1 }, 2);
    await addDailyCounts(aws.ddb, aws.tables.counters, '2026-03-10', { sent: 10, opened: 4 }, 9);
    await addDailyCounts(aws.ddb, aws.tables.counters, '2026-02-08', { sent: 7 }, 0);
    await addDailyCounts(aws.ddb, aws.tables.counters, '2026-02-07', { sent: 99 }, 0);

    const overview = await get('/api/overview');

    expect(overview.target).toMatchObject({ kind: 'aws', stackName: 'sesmailengine', region: 'us-east-1' });
    expect(overview.days).toHaveLength(31);
    expect(overview.days[0]).toMatchObject({ date: '2026-02-08', sent: 7 });
    expect(overview.days.at(-1)).toMatchObject({ date: '2026-03-10', sent: 50, delivered: 35, opened: 4, bounced: 2, complained: 1, bounceRate: 4 });
    expect(overview.days.reduce((n: number, d: { sent: number }) => n + d.sent, 0)).toBe(57);
    expect(overview.health.bounce).toMatchObject({ ratePercent: 4, ses: { level: 'healthy' }, brake: { thresholdPercent: 3, minimumSends: 10, on: true, armed: true } });
    expect(overview.health.complaint).toMatchObject({ ratePercent: 2, ses: { level: 'at-risk' } });
  });
});

describe('GET /api/emails', () => {
  it('lists the newest emails created today and yesterday, newest first, from date-partition-index', async () => {
    for (const [id, at] of [
      ['dash-old', '2026-03-07T09:00:00Z'],
      ['dash-yesterday', '2026-03-09T23:00:00Z'],
      ['dash-today-1', '2026-03-10T08:00:00Z'],
      ['dash-today-2', '2026-03-10T11:00:00Z'],
    ] as const) {
      await aws.ddb.send(new PutCommand({ TableName: aws.tables.tracking, Item: record(id, at) }));
    }

    const { emails } = await get('/api/emails');

    expect(emails.map((e: { emailId: string }) => e.emailId)).toEqual(['dash-today-2', 'dash-today-1', 'dash-yesterday']);
    expect(emails[0]).toEqual({ emailId: 'dash-today-2', toEmail: 'ada@example.com', templateName: 'welcome', status: 'delivered', timestamp: '2026-03-10T11:00:00.000Z' });
  });
});

describe('GET /api/diagnose', () => {
  it("answers diagnose's report for an emailId, and refuses what is neither an emailId nor an address", async () => {
    const report = await get('/api/diagnose', { q: 'dash-today-1' });

    expect(report.record.emailId).toBe('dash-today-1');
    expect(report.verdict.level).toBe('ok');
    await expect(get('/api/diagnose', {})).rejects.toMatchObject({ status: 400, code: 'DSH004' });
    await expect(get('/api/diagnose', { q: 'x'.repeat(400) })).rejects.toMatchObject({ status: 400, code: 'DSH004' });
  });
});

describe('suppression', () => {
  it('lists by type, finds one address, and refuses an unknown type or a non-address', async () => {
    await addSuppression(aws.ddb, aws.tables.suppression, { email: 'gone@example.com', reason: 'hard-bounce', suppressionType: 'bounce', createdAt: '2026-03-10T10:00:00Z' });
    await addSuppression(aws.ddb, aws.tables.suppression, { email: 'angry@example.com', reason: 'spam-complaint', suppressionType: 'complaint', createdAt: '2026-03-10T10:01:00Z' });

    expect((await get('/api/suppression', { type: 'bounce' })).entries.map((e: { email: string }) => e.email)).toEqual(['gone@example.com']);
    expect((await get('/api/suppression')).entries.map((e: { email: string }) => e.email)).toEqual(['angry@example.com', 'gone@example.com']);
    expect((await get('/api/suppression', { address: 'Angry@Example.com' })).entries).toHaveLength(1);
    await expect(get('/api/suppression', { type: 'nope' })).rejects.toMatchObject({ status: 400, code: 'DSH004' });
    await expect(get('/api/suppression', { address: 'not an address' })).rejects.toMatchObject({ status: 400, code: 'DSH004' });
  });

  it('removes a hard bounce and its soft-bounce streak', async () => {
    await aws.ddb.send(new PutCommand({ TableName: aws.tables.counters, Item: { pk: streakKey('gone@example.com'), count: 2 } }));

    const result = await post('/api/suppression/remove', { address: 'gone@example.com' });

    expect(result).toMatchObject({ email: 'gone@example.com', removed: true, warning: expect.stringContaining('hard-bounced') });
    expect((await get('/api/suppression', { address: 'gone@example.com' })).entries).toEqual([]);
    expect((await aws.ddb.send(new GetCommand({ TableName: aws.tables.counters, Key: { pk: streakKey('gone@example.com') } }))).Item).toBeUndefined();
  });

  it('refuses a spam complaint (SPR001) unless forced', async () => {
    await expect(post('/api/suppression/remove', { address: 'angry@example.com' })).rejects.toMatchObject({ code: 'SPR001' });
    await expect(post('/api/suppression/remove', { address: 'angry@example.com', force: 'yes' })).rejects.toMatchObject({ status: 400, code: 'DSH004' });
    expect((await get('/api/suppression', { address: 'angry@example.com' })).entries).toHaveLength(1);

    expect(await post('/api/suppression/remove', { address: 'angry@example.com', force: true })).toMatchObject({ removed: true });
    expect(await post('/api/suppression/remove', { address: 'angry@example.com' })).toEqual({ email: 'angry@example.com', removed: false, entry: null });
  });
});

describe('DLQs', () => {
  it('lists depths and refuses an unknown queue to redrive', async () => {
    const { queues } = await get('/api/dlq');

    expect(queues.map((q: { queue: string; depth: { visible: number } }) => [q.queue, q.depth.visible])).toEqual([['send', 0]]);
    await expect(post('/api/dlq/redrive', { queue: 'everything' })).rejects.toMatchObject({ status: 400, code: 'DSH004' });
    expect(await post('/api/dlq/redrive', { queue: 'send' })).toEqual({ results: [expect.objectContaining({ queue: 'send', before: 0, moved: 0 })], failures: [] });
  });
});

describe('alarms and quota', () => {
  it("lists the stack's alarms in ALARM, every page of them", async () => {
    cloudWatch
      .on(DescribeAlarmsCommand, { AlarmNamePrefix: 'sesmailengine', StateValue: 'ALARM' })
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'sesmailengine-BounceRateHigh', StateReason: 'Threshold Crossed', StateUpdatedTimestamp: new Date('2026-03-10T11:00:00Z') }], NextToken: 'p2' })
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'sesmailengine-SendDlqNotEmpty', StateReason: '1 message' }] });

    expect(await get('/api/alarms')).toEqual({
      available: true,
      alarms: [
        { name: 'sesmailengine-BounceRateHigh', reason: 'Threshold Crossed', since: '2026-03-10T11:00:00.000Z' },
        { name: 'sesmailengine-SendDlqNotEmpty', reason: '1 message' },
      ],
    });
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)[1]!.args[0].input.NextToken).toBe('p2');
  });

  it("reports SES's quota and paces to the stack's lower MaxSendRate", async () => {
    ses.on(GetAccountCommand).resolves({ ProductionAccessEnabled: true, SendingEnabled: true, SendQuota: { MaxSendRate: 14, Max24HourSend: 50_000, SentLast24Hours: 500 } });

    expect(await get('/api/quota')).toMatchObject({ available: true, maxSendRate: 14, max24HourSend: 50_000, sentLast24Hours: 500, quotaUsedPercent: 1, pacedRate: 5 });
  });

  it("checks the stack's DefaultSenderEmail: DKIM and MAIL FROM from SES, DMARC from the organisational domain", async () => {
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'mail.example.com' }).resolves({
      IdentityType: 'DOMAIN',
      VerifiedForSendingStatus: true,
      DkimAttributes: { SigningEnabled: true, Status: 'SUCCESS', Tokens: ['a', 'b', 'c'] },
    } as never);
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'news@mail.example.com' }).rejects(new NotFoundException({ message: 'not found', $metadata: {} }));

    const { report, reason } = await get('/api/deliverability');

    expect(reason).toBeNull();
    expect(report).toMatchObject({ sender: 'news@mail.example.com', domain: 'mail.example.com' });
    const state = Object.fromEntries(report.items.map((item: { id: string; state: string }) => [item.id, item.state]));
    expect(state).toMatchObject({ dkim: 'ok', 'mail-from': 'warn', dmarc: 'ok' });
    expect(report.items.find((item: { id: string }) => item.id === 'mail-from').records.map((r: { type: string }) => r.type).sort()).toEqual(['MX', 'TXT']);
  });

  it('is a failure behind the route when AWS refuses, not a bad request', async () => {
    cloudWatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('User is not authorized to perform: cloudwatch:DescribeAlarms'), { name: 'AccessDenied' }));

    await expect(get('/api/alarms')).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});
