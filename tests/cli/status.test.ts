import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetAccountCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { status, todayCounts, type StatusReport } from '../../src/commands/status.js';
import { addDailyCounts } from '../../functions/lib/counters-store.js';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { captureIo } from '../support/cli-harness.js';
import { FakeCloudFormation } from '../support/fake-cloudformation.js';

/** status: counters read from the DynamoDB stand-in; SES, SQS, CloudWatch and CloudFormation mocked. */

const sts = mockClient(STSClient);
const ses = mockClient(SESv2Client);
const sqs = mockClient(SQSClient);
const cw = mockClient(CloudWatchClient);
let aws: StandIns;
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
  await aws.stop();
});

async function report(): Promise<StatusReport> {
  const io = captureIo();
  expect(await status({ region: 'us-east-1', json: true, io, now: () => NOW, clients: { ddb: aws.ddb } })).toBe(0);
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
    await status({ region: 'us-east-1', io, now: () => NOW, clients: { ddb: aws.ddb } });
    const out = io.out();
    expect(out).toContain('UPDATE_COMPLETE');
    expect(out).toContain('sandbox');
    expect(out).toContain('200 sent, 140 delivered, 4 bounced, 1 complaints');
    expect(out).toContain('bounce rate 2%, complaint rate 0.5%');
    expect(out).toMatch(/sesmailengine-feedback-dlq\s+3 messages/);
    expect(out).toContain('sesmailengine-FeedbackDLQ-NotEmpty');
  });
});

describe('todayCounts', () => {
  it('gives 0% rates on a day with nothing sent', () => {
    expect(todayCounts('2026-03-01', {})).toMatchObject({ sent: 0, bounceRate: 0, complaintRate: 0 });
  });
});
