import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient } from '@aws-sdk/client-scheduler';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { CliError } from '../../src/errors.js';
import { scheduleCancel } from '../../src/commands/schedule.js';
import { buildRecord, readRecord } from '../../functions/lib/tracking-store.js';
import { scheduleNameFor } from '../../functions/core/scheduling.js';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { captureIo } from '../support/cli-harness.js';
import { FakeCloudFormation } from '../support/fake-cloudformation.js';

/**
 * `sesmailengine schedule cancel` against a deployed stack: CloudFormation (the fake), STS and
 * EventBridge Scheduler mocked (no stand-in has them); the tracking table on dynalite.
 */

const sts = mockClient(STSClient);
const scheduler = mockClient(SchedulerClient);
let aws: StandIns;
let cfn: FakeCloudFormation;
const NOW = new Date('2026-03-01T12:00:00Z');

beforeAll(async () => {
  aws = await startStandIns('schedaws');
  cfn = new FakeCloudFormation();
  cfn.seed('mail', 'UPDATE_COMPLETE', {}, {
    EventBusName: 'mail-EmailBus',
    EmailTrackingTableName: aws.tables.tracking,
    SuppressionTableName: aws.tables.suppression,
    CountersTableName: aws.tables.counters,
    TemplateBucketName: aws.bucket,
  });
});

beforeEach(() => {
  scheduler.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/dev' });
});

afterAll(async () => {
  cfn.restore();
  sts.restore();
  scheduler.restore();
  await aws.stop();
});

async function scheduled(emailId: string, scheduledFor = '2026-06-01T09:00:00.000Z'): Promise<void> {
  const record = buildRecord(
    { emailId, originalEmailId: emailId, retryAttempt: 0, toEmail: 'ann@example.com', templateName: 'welcome', originalSource: 'my.app', scheduledFor },
    'scheduled',
    NOW,
    30,
  );
  await aws.ddb.send(new PutCommand({ TableName: aws.tables.tracking, Item: record }));
}

function cancel(emailId: string, extra: { json?: boolean } = {}) {
  const io = captureIo();
  const run = scheduleCancel({ emailId, stackName: 'mail', region: 'us-east-1', io, clients: { ddb: aws.ddb }, now: () => NOW, ...extra });
  return { io, run };
}

describe('schedule cancel on AWS', () => {
  it("marks the record failed SCH001 and deletes the schedule from the stack's group", async () => {
    await scheduled('far-1');
    scheduler.on(DeleteScheduleCommand).resolves({});
    const { io, run } = cancel('far-1', { json: true });
    await expect(run).resolves.toBe(0);
    expect(scheduler.commandCalls(DeleteScheduleCommand).map((c) => c.args[0].input)).toEqual([{ Name: 'far-1', GroupName: 'mail-scheduled' }]);
    expect(JSON.parse(io.out())).toEqual({ emailId: 'far-1', result: 'cancelled', scheduledFor: '2026-06-01T09:00:00.000Z', schedule: 'deleted', scheduleName: 'far-1' });
    expect(await readRecord(aws.ddb, aws.tables.tracking, 'far-1')).toMatchObject({ status: 'failed', errorCode: 'SCH001' });
  });

  it('names the schedule of an emailId that is not a valid schedule name by its digest', async () => {
    const emailId = 'order:42/ü';
    await scheduled(emailId);
    scheduler.on(DeleteScheduleCommand).resolves({});
    await expect(cancel(emailId).run).resolves.toBe(0);
    expect(scheduler.commandCalls(DeleteScheduleCommand)[0]!.args[0].input.Name).toBe(scheduleNameFor(emailId));
  });

  it('cancels a send held on the queue (no schedule exists) the same way', async () => {
    await scheduled('near-1');
    scheduler.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException({ message: 'Schedule near-1 does not exist.', $metadata: {}, Message: 'Schedule near-1 does not exist.' }));
    const { io, run } = cancel('near-1');
    await expect(run).resolves.toBe(0);
    const printed = io.out() + io.err();
    expect(printed).toContain('Cancelled near-1');
    expect(printed).toContain('tracked failed SCH001');
    expect(printed).not.toContain('Deleted its EventBridge Scheduler schedule');
    expect(await readRecord(aws.ddb, aws.tables.tracking, 'near-1')).toMatchObject({ status: 'failed', errorCode: 'SCH001' });
  });

  it('keeps the send cancelled and warns when the schedule cannot be deleted', async () => {
    await scheduled('denied-1');
    scheduler.on(DeleteScheduleCommand).rejects(Object.assign(new Error('not authorized to perform scheduler:DeleteSchedule'), { name: 'AccessDeniedException' }));
    const { io, run } = cancel('denied-1', { json: true });
    await expect(run).resolves.toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ result: 'cancelled', schedule: 'not-deleted' });
    expect(io.err()).toContain('AccessDeniedException');
    expect(await readRecord(aws.ddb, aws.tables.tracking, 'denied-1')).toMatchObject({ status: 'failed', errorCode: 'SCH001' });
  });

  it('says so when the send was already cancelled', async () => {
    await scheduled('twice-1');
    scheduler.on(DeleteScheduleCommand).resolves({});
    await cancel('twice-1').run;
    const { io, run } = cancel('twice-1', { json: true });
    await expect(run).resolves.toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ result: 'already-cancelled' });
  });

  it('refuses an unknown emailId (SCH101) and one that was already sent (SCH102), touching no schedule', async () => {
    const unknown = await cancel('nobody').run.catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(CliError);
    expect((unknown as CliError).code).toBe('SCH101');
    expect((unknown as CliError).fix).toContain('--stack-name mail');
    const sent = buildRecord({ emailId: 'sent-1', originalEmailId: 'sent-1', retryAttempt: 0, toEmail: 'a@example.com', templateName: 'welcome', originalSource: 'my.app' }, 'sent', NOW, 30);
    await aws.ddb.send(new PutCommand({ TableName: aws.tables.tracking, Item: sent }));
    const late = await cancel('sent-1').run.catch((e: unknown) => e);
    expect((late as CliError).code).toBe('SCH102');
    expect((late as CliError).message).toContain('has been sent');
    expect(scheduler.commandCalls(DeleteScheduleCommand)).toHaveLength(0);
  });
});
