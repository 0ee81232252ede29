import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { rateInForce } from '../../functions/core/send-pacing.js';
import { readSesAccount, type SesAccount } from '../installer/preflight.js';
import { percent } from './print.js';
import type { EngineTarget } from './target.js';

/**
 * The account side of a target, as `status` shows it: the stack's CloudWatch alarms in
 * ALARM (DescribeAlarms by the stack's name prefix; local mode has no alarms), and SES's
 * quota from GetAccount (local mode's SES stand-in answers it, -1 meaning no limit) with
 * the pacing the Email Sender applies.
 */

export interface AlarmInAlarm {
  name: string;
  reason: string;
  since?: string;
}

export type AlarmsView = { available: true; alarms: AlarmInAlarm[] } | { available: false; reason: string };

/** The alarms (metric and composite) in ALARM whose names start with `prefix`, every page. */
export async function listAlarmsInAlarm(cloudWatch: CloudWatchClient, prefix: string): Promise<AlarmInAlarm[]> {
  const alarms: AlarmInAlarm[] = [];
  let token: string | undefined;
  do {
    const out = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix, StateValue: 'ALARM', ...(token ? { NextToken: token } : {}) }));
    for (const alarm of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
      alarms.push({
        name: alarm.AlarmName ?? '?',
        reason: alarm.StateReason ?? '',
        ...(alarm.StateUpdatedTimestamp ? { since: new Date(alarm.StateUpdatedTimestamp).toISOString() } : {}),
      });
    }
    token = out.NextToken;
  } while (token);
  return alarms;
}

export async function alarmsInAlarm(target: EngineTarget): Promise<AlarmsView> {
  if (target.kind === 'local') return { available: false, reason: 'Local mode has no CloudWatch alarms; on AWS this lists the stack\'s alarms in ALARM.' };
  return { available: true, alarms: await listAlarmsInAlarm(await target.clients.cloudWatch(), target.stackName) };
}

export interface QuotaView extends SesAccount {
  available: true;
  /** Percent of Max24HourSend used in the last 24 hours; absent when there is no daily limit. */
  quotaUsedPercent?: number;
  /** Emails per second the Email Sender paces to; null = no limit. */
  pacedRate: number | null;
  /** One line saying where the pace comes from. */
  pacing: string;
}

/** Pure: the quota and the pace in force from GetAccount's answer and the stack's MaxSendRate. */
export function quotaView(account: SesAccount, maxSendRate: number | undefined): QuotaView {
  const accountRate = account.maxSendRate !== undefined && account.maxSendRate > 0 ? account.maxSendRate : undefined;
  const cap = maxSendRate !== undefined && Number.isFinite(maxSendRate) ? maxSendRate : 0;
  const rate = rateInForce(accountRate, cap);
  const max = account.max24HourSend !== undefined && account.max24HourSend > 0 ? account.max24HourSend : undefined;
  const pacing =
    rate === undefined
      ? 'no limit reported: the Email Sender sends as fast as it can'
      : accountRate !== undefined && rate === accountRate
        ? `${rate}/s, the account's maximum send rate`
        : `${rate}/s, the stack's MaxSendRate (below the account's rate)`;
  return {
    ...account,
    available: true,
    ...(max !== undefined ? { quotaUsedPercent: percent(account.sentLast24Hours ?? 0, max) } : {}),
    pacedRate: rate ?? null,
    pacing,
  };
}

export async function sesQuota(target: EngineTarget): Promise<QuotaView> {
  return quotaView(await readSesAccount(await target.clients.ses()), target.settings.maxSendRate);
}
