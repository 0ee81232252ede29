import { DeleteScheduleCommand } from '@aws-sdk/client-scheduler';
import { createUi, processIo } from '../ui.js';
import { CliError, UsageError } from '../errors.js';
import { scheduleNameFor } from '../../functions/core/scheduling.js';
import { failScheduled, readRecord } from '../../functions/lib/tracking-store.js';
import { withTarget, type TargetOptions } from '../ops/target.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine schedule cancel <emailId>`: stops a scheduled send (a request with a
 * sendAt) before it is due. The tracking record is marked first (`failed` SCH001, only while
 * it is still `scheduled`), so whichever way the request is held — a delayed message on the
 * send queue or an EventBridge Scheduler schedule — the sender skips it when it arrives; the
 * schedule, if there is one, is then deleted so it never fires.
 */

export interface ScheduleCancelOptions extends CommonOptions, TargetOptions {
  emailId: string;
  json?: boolean;
  now?: () => Date;
}

export interface CancelOutcome {
  emailId: string;
  /** cancelled now, or already cancelled earlier. */
  result: 'cancelled' | 'already-cancelled';
  scheduledFor?: string;
  /** deleted: a Scheduler schedule was removed; none: it was held on the queue (or had fired). */
  schedule: 'deleted' | 'none' | 'not-deleted';
  scheduleName: string;
}

/** The schedule group of a stack's scheduled sends (cloudformation/template.yaml, ScheduleGroup). */
export function scheduleGroupName(stackName: string): string {
  return `${stackName}-scheduled`;
}

export async function scheduleCancel(options: ScheduleCancelOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const emailId = options.emailId;
  if (emailId.trim() === '') throw new UsageError('OPS004', 'schedule cancel needs the emailId of the scheduled send.', 'Run: sesmailengine schedule cancel <emailId>');
  const now = (options.now ?? (() => new Date()))();

  return withTarget(options, async (target) => {
    const ddb = await target.clients.ddb();
    const table = target.resources.trackingTable;
    const record = await readRecord(ddb, table, emailId);
    const fix = `Check the emailId with: sesmailengine diagnose ${emailId}${target.flags}`;
    if (!record) {
      throw new CliError('SCH101', `There is no tracking record for ${emailId} in ${target.description}.`, `${fix} (a request is tracked once the sender has read it, usually within a second of publishing).`);
    }
    let result: CancelOutcome['result'];
    if (record.status === 'failed' && record.errorCode === 'SCH001') {
      result = 'already-cancelled';
    } else if (record.status !== 'scheduled') {
      throw new CliError('SCH102', `${emailId} is not scheduled: its status is ${record.status}${record.status === 'sending' || record.status === 'sent' ? ' (it was due and has been sent)' : ''}.`, fix);
    } else {
      const message = `Cancelled with sesmailengine schedule cancel at ${now.toISOString()}, before its sendAt ${record.scheduledFor ?? ''}.`.replace(' ,', ',');
      const marked = await failScheduled(ddb, table, emailId, { code: 'SCH001', message });
      if (!marked) {
        const after = await readRecord(ddb, table, emailId);
        throw new CliError('SCH102', `${emailId} became due while it was being cancelled; its status is now ${after?.status ?? 'gone'}.`, fix);
      }
      result = 'cancelled';
    }

    const scheduler = await target.clients.scheduler();
    const name = scheduleNameFor(emailId);
    let schedule: CancelOutcome['schedule'] = 'none';
    try {
      await scheduler.send(new DeleteScheduleCommand({ Name: name, GroupName: scheduleGroupName(target.stackName) }));
      schedule = 'deleted';
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceNotFoundException') {
        // The record already says cancelled, so the sender drops the request if the schedule fires.
        schedule = 'not-deleted';
        ui.warn(`The schedule ${name} could not be deleted (${(error as Error).name}: ${(error as Error).message}); the send stays cancelled: the sender skips it when it fires.`);
      }
    }

    const outcome: CancelOutcome = {
      emailId,
      result,
      ...(record.scheduledFor ? { scheduledFor: record.scheduledFor } : {}),
      schedule,
      scheduleName: name,
    };
    if (options.json) {
      io.stdout.write(`${JSON.stringify(outcome)}\n`);
      return 0;
    }
    const when = record.scheduledFor ? ` (was due ${record.scheduledFor})` : '';
    ui.ok(result === 'cancelled' ? `Cancelled ${emailId}${when}: tracked failed SCH001, it will not be sent.` : `${emailId} was already cancelled${when}.`);
    if (schedule === 'deleted') ui.out(`Deleted its EventBridge Scheduler schedule ${scheduleGroupName(target.stackName)}/${name}.`);
    return 0;
  });
}
