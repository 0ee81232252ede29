import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { CLI, eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';

/**
 * Scheduled sends end to end through `sesmailengine local` (the built CLI in a child
 * process): a near sendAt is held on the send queue, a far one becomes a schedule in local
 * mode's in-process EventBridge Scheduler, and `sesmailengine schedule cancel --local`
 * stops either.
 */

const run = promisify(execFile);
let local: LocalMode;

beforeAll(async () => {
  local = await startLocalMode(['--stack-name', 'sched']);
}, 90_000);
afterAll(async () => {
  await local?.stop();
}, 30_000);

const welcome = (to: string, emailId: string, sendAt: string) => ({
  emailId,
  to,
  templateName: 'welcome',
  templateData: { userName: 'Ada', companyName: 'Acme' },
  sendAt,
});

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

async function publish(detail: Record<string, unknown>): Promise<void> {
  const out = await local.publish([local.request(detail)]);
  expect(out.FailedEntryCount).toBe(0);
}

async function status(emailId: string, wanted: string, timeoutMs = 15_000): Promise<Record<string, any>> {
  return eventually(
    async () => {
      const record = await local.record(emailId);
      return record?.status === wanted ? record : undefined;
    },
    timeoutMs,
    `${emailId} to be ${wanted}`,
  );
}

async function mailTo(address: string) {
  return (await local.mail()).filter((m) => m.destination.to.includes(address));
}

async function schedules(): Promise<{ Name: string; GroupName: string }[]> {
  const response = await fetch(`${local.info.eventBridgeEndpoint}/schedules?ScheduleGroup=sched-scheduled`);
  return ((await response.json()) as { Schedules: { Name: string; GroupName: string }[] }).Schedules;
}

async function cancel(emailId: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'schedule', 'cancel', emailId, '--json', `--local=${local.info.eventBridgeEndpoint}`]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('a request with sendAt 3 seconds ahead', () => {
  it('is tracked scheduled, then sent once due', async () => {
    const emailId = `soon-${randomUUID()}`;
    const sendAt = inSeconds(3);
    await publish(welcome('soon@example.com', emailId, sendAt));

    const held = await status(emailId, 'scheduled');
    expect(held.scheduledFor).toBe(new Date(sendAt).toISOString());
    expect(await mailTo('soon@example.com')).toEqual([]);

    const sent = await status(emailId, 'sent');
    expect(Date.parse(sent.sentAt)).toBeGreaterThanOrEqual(Date.parse(sendAt) - 1000);
    expect(await mailTo('soon@example.com')).toHaveLength(1);
  }, 30_000);

  it('is never sent when cancelled before it is due', async () => {
    const emailId = `cancel-soon-${randomUUID()}`;
    await publish(welcome('cancelled@example.com', emailId, inSeconds(4)));
    await status(emailId, 'scheduled');

    const result = await cancel(emailId);
    expect(result).toMatchObject({ code: 0 });
    expect(JSON.parse(result.stdout)).toMatchObject({ emailId, result: 'cancelled', schedule: 'none' });

    await new Promise((done) => setTimeout(done, 6_000));
    expect(await local.record(emailId)).toMatchObject({ status: 'failed', errorCode: 'SCH001' });
    expect(await mailTo('cancelled@example.com')).toEqual([]);
  }, 30_000);
});

describe('a request with sendAt hours ahead', () => {
  it('becomes a schedule in the stack group; cancel deletes it and marks the record', async () => {
    const emailId = `later-${randomUUID()}`;
    await publish(welcome('later@example.com', emailId, inSeconds(3 * 3600)));
    await status(emailId, 'scheduled');
    // The record is written before the schedule is created (as on AWS): wait for both.
    await eventually(async () => ((await schedules()).some((s) => s.Name === emailId) ? true : undefined), 20_000, `the schedule of ${emailId}`);

    const result = await cancel(emailId);
    expect(JSON.parse(result.stdout)).toMatchObject({ emailId, result: 'cancelled', schedule: 'deleted', scheduleName: emailId });
    expect((await schedules()).map((s) => s.Name)).not.toContain(emailId);
    expect(await local.record(emailId)).toMatchObject({ status: 'failed', errorCode: 'SCH001' });

    const again = await cancel(emailId);
    expect(JSON.parse(again.stdout)).toMatchObject({ result: 'already-cancelled' });
  }, 30_000);

  it('refuses to cancel an email that is not scheduled (SCH101 / SCH102)', async () => {
    const unknown = await cancel(`nope-${randomUUID()}`);
    expect(unknown.code).not.toBe(0);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ ok: false, code: 'SCH101' });

    const emailId = `now-${randomUUID()}`;
    await publish(welcome('now@example.com', emailId, inSeconds(-60)));
    await status(emailId, 'sent');
    const late = await cancel(emailId);
    expect(late.code).not.toBe(0);
    expect(JSON.parse(late.stdout)).toMatchObject({ ok: false, code: 'SCH102' });
  }, 30_000);
});
