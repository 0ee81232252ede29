import { EXIT_NOT_INSTALLED, EXIT_OK } from '../errors.js';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { listAlarmsInAlarm } from '../ops/account-health.js';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import chalk from 'chalk';
import { connectAccount } from '../aws-account.js';
import { s3Config } from '../aws/clients.js';
import { createCloudFormationApi, type CloudFormationApi, type StackDescription } from '../aws/cloudformation.js';
import { describeResource, displayName, findExisting, listOrder, namedResources } from '../installer/named-resources.js';
import { readSesAccount, type SesAccount } from '../installer/preflight.js';
import { queueNameFromUrl, viewOutputs } from '../installer/stack-outputs.js';
import { loadStackTemplate } from '../installer/stack-template.js';
import { packageRoot } from '../package-root.js';
import type { DeliverabilityReport } from '../ops/deliverability.js';
import { checkDeliverability, systemResolver, type TxtResolver } from '../ops/deliverability-gather.js';
import { printDeliverability } from '../ops/print.js';
import { createUi, processIo, type Ui } from '../ui.js';
import { documentClient } from '../../functions/lib/clients.js';
import { readDailyCounts } from '../../functions/lib/counters-store.js';
import { rateInForce } from '../../functions/core/send-pacing.js';
import { DEFAULT_STACK_NAME, type CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine status`: the stack, the SES account, today's sending from the O(1) daily
 * counters, dead-letter queue depths, alarms in ALARM and the sender's deliverability. Each part is fetched on its own,
 * so one missing permission shows as that part's error instead of failing the report.
 */

export interface StatusClients {
  sts: STSClient;
  cloudFormation: CloudFormationApi;
  ses: SESv2Client;
  ddb: DynamoDBDocumentClient;
  sqs: SQSClient;
  cloudWatch: CloudWatchClient;
  dynamodb: DynamoDBClient;
  logs: CloudWatchLogsClient;
  secrets: SecretsManagerClient;
  /** The template bucket, for the deliverability check's unsubscribe part. */
  s3: S3Client;
  /** DNS for the deliverability check's DMARC lookup. */
  dns: TxtResolver;
}

export interface StatusOptions extends CommonOptions {
  json?: boolean;
  clients?: Partial<StatusClients>;
  now?: () => Date;
  /** The package root holding cloudformation/ (the names of the resources a stack keeps). */
  root?: string;
}

/** A resource a stack keeps on delete that exists in the account but belongs to no stack of that name. */
export interface OrphanedResource {
  logicalId: string;
  type: string;
  name: string;
  description: string;
}

type Part<T> = T | { error: string };

export interface TodayCounts {
  date: string;
  sent: number;
  delivered: number;
  bounced: number;
  complained: number;
  failed: number;
  /** Percent of today's sent mail, rounded to 2 decimals. */
  bounceRate: number;
  complaintRate: number;
}

/** The pacing the Email Sender applies (SENDING.md, "Pacing and quotas") and the share of the 24-hour quota used. */
export interface PacingView {
  /** Emails per second across all containers; null = no limit. */
  rate: number | null;
  /** Where the rate comes from. */
  source: 'account' | 'MaxSendRate parameter' | 'none';
  /** The stack's MaxSendRate parameter (0 = the account's rate), when the stack has it. */
  maxSendRateParameter?: number;
  /** Percent of Max24HourSend sent in the last 24 hours (2 decimals); absent when SES reports no daily limit. */
  quotaUsedPercent?: number;
  /** Sending is held for the daily quota: the quota is used up, or the DailyQuotaHeld alarm is on. */
  held: boolean;
}

export function pacingView(account: SesAccount, parameter: string | undefined, alarms: { name: string }[]): PacingView {
  const cap = parameter === undefined ? 0 : Number(parameter);
  const accountRate = account.maxSendRate !== undefined && account.maxSendRate > 0 ? account.maxSendRate : undefined;
  const rate = rateInForce(accountRate, Number.isFinite(cap) ? cap : 0);
  const source = rate === undefined ? 'none' : accountRate !== undefined && rate === accountRate ? 'account' : 'MaxSendRate parameter';
  const max = account.max24HourSend !== undefined && account.max24HourSend > 0 ? account.max24HourSend : undefined;
  const used = max !== undefined ? percent(account.sentLast24Hours ?? 0, max) : undefined;
  const alarmOn = alarms.some((a) => a.name.endsWith('-DailyQuotaHeld'));
  return {
    rate: rate ?? null,
    source,
    ...(parameter !== undefined && Number.isFinite(cap) ? { maxSendRateParameter: cap } : {}),
    ...(used !== undefined ? { quotaUsedPercent: used } : {}),
    held: alarmOn || (used !== undefined && used >= 100),
  };
}

export interface StatusReport {
  stackName: string;
  region: string;
  account: string;
  /** False when there is no stack of that name: the stack's own sections (today, DLQs, alarms) are then empty and not shown. */
  installed: boolean;
  stack: { status: string; reason?: string; outputs: Record<string, string> } | null;
  ses: Part<SesAccount>;
  /** Derived from the SES account and the stack's MaxSendRate; null when the account could not be read. */
  pacing: PacingView | null;
  today: Part<TodayCounts> | null;
  deadLetterQueues: Part<{ name: string; url: string; messages: number }[]>;
  alarms: Part<{ name: string; reason: string; since?: string }[]>;
  /** Kept data (tables, queues, log groups, the unsubscribe key) that no stack of this name holds. */
  orphaned: Part<OrphanedResource[]>;
  /** DKIM, MAIL FROM, DMARC and one-click unsubscribe for the stack's DefaultSenderEmail; null without a stack or sender. */
  deliverability: Part<DeliverabilityReport> | null;
}

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0;
}

export function todayCounts(date: string, counts: Record<string, number>): TodayCounts {
  const sent = counts.sent ?? 0;
  return {
    date,
    sent,
    delivered: counts.delivered ?? 0,
    bounced: counts.bounced ?? 0,
    complained: counts.complained ?? 0,
    failed: counts.failed ?? 0,
    bounceRate: percent(counts.bounced ?? 0, sent),
    complaintRate: percent(counts.complained ?? 0, sent),
  };
}

async function part<T>(body: () => Promise<T>): Promise<Part<T>> {
  try {
    return await body();
  } catch (error) {
    const e = error as { name?: string; message?: string };
    return { error: `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}` };
  }
}

function isError<T>(value: Part<T> | null): value is { error: string } {
  return value !== null && typeof value === 'object' && 'error' in value && Object.keys(value).length === 1;
}

/**
 * The resources the template keeps on delete that exist under this stack's names but are
 * not the stack's own: left by an uninstall (or by hand), waiting to be imported back or deleted.
 */
export async function findOrphaned(
  clients: Pick<StatusClients, 'cloudFormation' | 'dynamodb' | 'sqs' | 'logs' | 'secrets'>,
  stackName: string,
  stack: StackDescription | undefined,
  root: string,
): Promise<OrphanedResource[]> {
  const template = await loadStackTemplate(root);
  const kept = namedResources(template.document, stackName).filter((r) => r.kept);
  const probe = await findExisting(clients, kept);
  if (probe.unchecked.length > 0) throw new Error(probe.unchecked.map((u) => `${u.resource.name}: ${u.error}`).join('; '));
  let owned = new Set<string>();
  if (stack && !stack.status.isDeleted) {
    const resources = await clients.cloudFormation.resources(stack.stackId);
    owned = new Set(resources.filter((r) => r.physicalId).map((r) => `${r.type}|${displayName(r.type, r.physicalId!)}`));
  }
  return listOrder(probe.found)
    .filter((f) => !owned.has(`${f.type}|${f.name}`))
    .map((f) => ({ logicalId: f.logicalId, type: f.type, name: f.name, description: describeResource(f) }));
}

export async function collectStatus(
  clients: StatusClients,
  stackName: string,
  region: string,
  account: string,
  now: Date,
  root: string = packageRoot(),
): Promise<StatusReport> {
  const stack: StackDescription | undefined = await clients.cloudFormation.describe(stackName);
  const view = stack ? viewOutputs(stack.outputs, stack.parameters) : undefined;
  const date = now.toISOString().slice(0, 10);
  const installed = stack !== undefined && !stack.status.isDeleted;

  const sender = installed ? stack.parameters?.DefaultSenderEmail : undefined;
  const [ses, today, dlqs, alarms, orphaned, deliverability] = await Promise.all([
    part(() => readSesAccount(clients.ses)),
    view?.countersTable
      ? part(async () => todayCounts(date, await readDailyCounts(clients.ddb, view.countersTable as string, date)))
      : Promise.resolve(null),
    part(() =>
      Promise.all(
        (view?.deadLetterQueues ?? []).map(async (q) => {
          const out = await clients.sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: ['ApproximateNumberOfMessages'] }),
          );
          return { name: queueNameFromUrl(q.url), url: q.url, messages: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) };
        }),
      ),
    ),
    part(async () => (installed ? listAlarmsInAlarm(clients.cloudWatch, stackName) : [])),
    part(() => findOrphaned(clients, stackName, stack, root)),
    sender
      ? part(() => checkDeliverability({ sender, region, ...(view?.bucket ? { bucket: view.bucket } : {}) }, clients))
      : Promise.resolve(null),
  ]);

  return {
    stackName,
    region,
    account,
    installed,
    pacing: isError(ses) ? null : pacingView(ses, stack?.parameters?.MaxSendRate, isError(alarms) ? [] : alarms),
    stack: stack
      ? { status: stack.status.name, ...(stack.status.reason ? { reason: stack.status.reason } : {}), outputs: stack.outputs }
      : null,
    ses,
    today,
    deadLetterQueues: dlqs,
    alarms,
    orphaned,
    deliverability,
  };
}

function printReport(ui: Ui, report: StatusReport): void {
  const bad = (s: string) => chalk.red(s);
  const good = (s: string) => chalk.green(s);
  ui.out(chalk.bold(`SESMailEngine ${report.stackName} — ${report.region}, account ${report.account}`));
  ui.out('');
  if (!report.installed || !report.stack) {
    ui.out(`Stack:    ${bad('not installed')} (sesmailengine install --stack-name ${report.stackName} --region ${report.region})`);
  } else {
    const ok = /_COMPLETE$/.test(report.stack.status) && !/ROLLBACK|DELETE/.test(report.stack.status);
    ui.out(`Stack:    ${ok ? good(report.stack.status) : bad(report.stack.status)}${report.stack.reason ? ` — ${report.stack.reason}` : ''}`);
    for (const [key, value] of Object.entries(report.stack.outputs).sort(([a], [b]) => a.localeCompare(b))) {
      if (key === 'CustomerIAMPolicy') continue;
      ui.out(`  ${key.padEnd(28)} ${value}`);
    }
  }
  ui.out('');
  if (isError(report.ses)) ui.out(`SES:      ${bad(report.ses.error)}`);
  else {
    const s = report.ses;
    ui.out(`SES:      ${s.productionAccess ? good('production access') : bad('sandbox (verified recipients only)')}, sending ${s.sendingEnabled ? good('enabled') : bad('disabled')}`);
    ui.out(`  quota ${s.max24HourSend ?? '?'} per 24h, ${s.maxSendRate ?? '?'}/s; sent in the last 24h: ${s.sentLast24Hours ?? '?'}`);
  }
  if (report.pacing) {
    const p = report.pacing;
    const why = p.source === 'account' ? "the account's maximum send rate" : p.source === 'MaxSendRate parameter' ? "the stack's MaxSendRate, below the account's rate" : 'no limit reported';
    const rate = p.rate === null ? 'unpaced' : `${p.rate}/s across all containers`;
    const used = p.quotaUsedPercent === undefined ? '' : `; ${p.quotaUsedPercent}% of the 24-hour quota used`;
    ui.out(`Pacing:   ${rate} (${why})${used}`);
    if (p.held) ui.out(`  ${bad('sending held: the daily quota is used up')}; requests wait on the send queue until the 24-hour window allows (docs/TROUBLESHOOTING.md)`);
  }
  ui.out('');
  // Today's counters, the queues and the alarms belong to a stack: with none installed there is nothing to show.
  if (report.installed) printStackSections(ui, report);
  if (report.deliverability) {
    ui.out('');
    if (isError(report.deliverability)) ui.out(`Deliverability: ${bad(`could not check (${report.deliverability.error})`)}`);
    else printDeliverability(ui, report.deliverability);
  }
  printOrphaned(ui, report);
}

function printStackSections(ui: Ui, report: StatusReport): void {
  const bad = (s: string) => chalk.red(s);
  const good = (s: string) => chalk.green(s);
  if (report.today === null) ui.out('Today:    no counters table in the stack outputs');
  else if (isError(report.today)) ui.out(`Today:    ${bad(report.today.error)}`);
  else {
    const t = report.today;
    ui.out(`Today (${t.date} UTC): ${t.sent} sent, ${t.delivered} delivered, ${t.bounced} bounced, ${t.complained} complaints, ${t.failed} failed`);
    ui.out(`  bounce rate ${t.bounceRate}%, complaint rate ${t.complaintRate}%`);
  }
  ui.out('');
  if (isError(report.deadLetterQueues)) ui.out(`DLQs:     ${bad(report.deadLetterQueues.error)}`);
  else if (report.deadLetterQueues.length === 0) ui.out('DLQs:     none found in the stack outputs');
  else {
    ui.out('DLQs:');
    for (const q of report.deadLetterQueues) ui.out(`  ${q.name.padEnd(40)} ${q.messages === 0 ? good('0') : bad(String(q.messages))} messages`);
  }
  ui.out('');
  if (isError(report.alarms)) ui.out(`Alarms:   ${bad(report.alarms.error)}`);
  else if (report.alarms.length === 0) ui.out(`Alarms:   ${good('none in ALARM')}`);
  else {
    ui.out(`Alarms in ALARM: ${bad(String(report.alarms.length))}`);
    for (const a of report.alarms) ui.out(`  ${a.name}${a.since ? ` (since ${a.since})` : ''}: ${a.reason}`);
  }
}

function printOrphaned(ui: Ui, report: StatusReport): void {
  const bad = (s: string) => chalk.red(s);
  if (isError(report.orphaned)) {
    ui.out('');
    ui.out(`Kept data: ${bad(`could not check (${report.orphaned.error})`)}`);
  } else if (report.orphaned.length > 0) {
    ui.out('');
    ui.out(bad(`Kept data that belongs to no stack (${report.orphaned.length}), left by an earlier uninstall:`));
    for (const o of report.orphaned) ui.out(`  ${o.description}`);
    ui.out(`  Bring it back with its data: sesmailengine install --stack-name ${report.stackName} --region ${report.region}`);
    ui.out(`  Or delete it for good:       sesmailengine uninstall --delete-data --stack-name ${report.stackName} --region ${report.region}`);
  }
}

export async function status(options: StatusOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  const { region, target, config, sts, identity } = await connectAccount(options, options.clients?.sts);
  const clients: StatusClients = {
    sts,
    cloudFormation: options.clients?.cloudFormation ?? createCloudFormationApi(new CloudFormationClient(config)),
    ses: options.clients?.ses ?? new SESv2Client(config),
    ddb: options.clients?.ddb ?? documentClient(new DynamoDBClient(config)),
    // The configured endpoint (SDK defaults, AWS_ENDPOINT_URL) wins over the host in a queue URL.
    sqs: options.clients?.sqs ?? new SQSClient({ ...config, useQueueUrlAsEndpoint: false }),
    cloudWatch: options.clients?.cloudWatch ?? new CloudWatchClient(config),
    dynamodb: options.clients?.dynamodb ?? new DynamoDBClient(config),
    logs: options.clients?.logs ?? new CloudWatchLogsClient(config),
    secrets: options.clients?.secrets ?? new SecretsManagerClient(config),
    s3: options.clients?.s3 ?? new S3Client(s3Config(target)),
    dns: options.clients?.dns ?? systemResolver(),
  };
  const report = await collectStatus(clients, stackName, region, identity.account, (options.now ?? (() => new Date()))(), options.root);
  if (!options.json && !isError(report.orphaned) && report.orphaned.length > 0) {
    const n = report.orphaned.length;
    ui.warn(`${n} resource${n === 1 ? '' : 's'} with data kept by an earlier install of ${stackName} belong${n === 1 ? 's' : ''} to no stack (see below).`);
  }
  if (options.json) io.stdout.write(`${JSON.stringify(report)}\n`);
  else printReport(ui, report);
  return report.installed ? EXIT_OK : EXIT_NOT_INSTALLED;
}
