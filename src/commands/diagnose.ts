import chalk from 'chalk';
import { awsErrorInfo } from '../aws/clients.js';
import { createUi, processIo } from '../ui.js';
import { bounceBrake, brakeOffText, brakeReasonText } from '../../functions/core/bounce-brake.js';
import { parseEmailAddress } from '../../functions/core/email-address.js';
import type { SuppressionEntry } from '../../functions/core/types.js';
import { readDailyCounts } from '../../functions/lib/counters-store.js';
import { getSuppression } from '../../functions/lib/suppression-store.js';
import { readRecord } from '../../functions/lib/tracking-store.js';
import { describeDeadLetter, withLastError, type DeadLetterInfo } from '../ops/dead-letters.js';
import { readLastErrors } from '../../functions/lib/last-error-store.js';
import { diagnose, type BounceRateFacts, type DiagnosisFacts, type Verdict } from '../ops/diagnosis.js';
import { isValidEmailId } from '../../functions/core/email-id.js';
import { CliError } from '../errors.js';
import { integerOption } from '../ops/input.js';
import { printRecord, printSuppression, printVerdict, table } from '../ops/print.js';
import { peekMessages, queueDepth, type QueueDepth } from '../ops/queues.js';
import { addressKey, recordsTo, retryChain, type StoredRecord } from '../ops/records.js';
import { withTarget, type EngineTarget, type QueueKind, type TargetOptions } from '../ops/target.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine diagnose <emailId|address>`: the support guide's decision tree, run
 * against the engine. It reads the tracking record (GetItem) and its retry chain
 * (original-email-id-index), or an address's recent records (to-email-timestamp-index),
 * the recipient's suppression entry, today's bounce rate from the O(1) counters, queue and
 * DLQ depths, and, when there is no record, looks for the request in the DLQs; then it
 * prints a verdict with the fix (src/ops/diagnosis.ts decides).
 */

export interface DiagnoseOptions extends CommonOptions, TargetOptions {
  /** An emailId or a recipient address. */
  subject: string;
  /** Address mode: how many recent records to read (default 10). */
  limit?: string | number;
  json?: boolean;
  now?: () => Date;
}

export interface DiagnoseReport {
  target: { kind: 'aws' | 'local'; description: string };
  subject: DiagnosisFacts['subject'];
  record: StoredRecord | null;
  retryChain: StoredRecord[];
  recentRecords: StoredRecord[];
  suppression: SuppressionEntry | null;
  bounceRate: BounceRateFacts | null;
  queues: { send: QueueDepth | null; deadLetters: Partial<Record<QueueKind, number>> };
  deadLetters: DeadLetterInfo[];
  /** Parts that could not be read (a missing permission), so the verdict is less sure. */
  notes: string[];
  verdict: Verdict;
}

/** How many dead letters per DLQ are searched for the email when it has no record. */
const DLQ_SEARCH_LIMIT = 100;

async function tryPart<T>(notes: string[], what: string, body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (error) {
    const info = awsErrorInfo(error);
    notes.push(`${what} could not be read (${info.name}: ${info.message}).`);
    return undefined;
  }
}

export async function collectDiagnosis(target: EngineTarget, subjectText: string, now: Date, limit: number): Promise<DiagnoseReport> {
  const ddb = await target.clients.ddb();
  const { trackingTable, suppressionTable, countersTable } = target.resources;
  const notes: string[] = [];
  const subject = subjectText.trim();

  let record = (await readRecord(ddb, trackingTable, subject)) as StoredRecord | undefined;
  const looksLikeAddress = !record && parseEmailAddress(subject).ok;
  const facts: DiagnosisFacts = {
    subject: looksLikeAddress ? { kind: 'address', address: addressKey(subject) } : { kind: 'emailId', emailId: subject },
    targetKind: target.kind,
    now,
    chain: [],
    recent: [],
    deadLetterDepths: {},
    deadLetters: [],
    softBounceRetryDelaySeconds: target.settings.softBounceRetryDelaySeconds,
    eventBusName: target.resources.eventBusName,
    flags: target.flags,
  };
  if (record) facts.record = record;

  const address = facts.subject.kind === 'address' ? facts.subject.address : record?.toEmail;
  const today = now.toISOString().slice(0, 10);
  const sqsParts = async () => {
    const sqs = await target.clients.sqs();
    const dlqs = Object.entries(target.resources.deadLetterQueues) as [QueueKind, string][];
    await Promise.all([
      ...dlqs.map(async ([kind, url]) => {
        const depth = await tryPart(notes, `The ${kind} DLQ depth`, () => queueDepth(sqs, url));
        if (depth) facts.deadLetterDepths[kind] = depth.visible + depth.inFlight;
      }),
      target.resources.sendQueueUrl
        ? tryPart(notes, 'The send queue depth', () => queueDepth(sqs, target.resources.sendQueueUrl!)).then((d) => {
            if (d) facts.sendQueue = d;
          })
        : Promise.resolve(),
    ]);
  };
  await Promise.all([
    record
      ? tryPart(notes, 'The retry chain', () => retryChain(ddb, trackingTable, record!.originalEmailId)).then((chain) => {
          facts.chain = chain ?? [record!];
        })
      : Promise.resolve(),
    facts.subject.kind === 'address'
      ? recordsTo(ddb, trackingTable, facts.subject.address, limit).then((recent) => {
          facts.recent = recent;
        })
      : Promise.resolve(),
    address
      ? tryPart(notes, 'The suppression entry', () => getSuppression(ddb, suppressionTable, address)).then((entry) => {
          if (entry) facts.suppression = entry;
        })
      : Promise.resolve(),
    tryPart(notes, "Today's counters", () => readDailyCounts(ddb, countersTable, today)).then((counts) => {
      if (!counts) return;
      const { bounceRateThreshold: thresholdPercent, bounceRateMinimumSends: minimumSends, bounceBrakeMaxHardBounces: maxHardBounces } = target.settings;
      const brake = bounceBrake(counts, thresholdPercent, minimumSends, maxHardBounces);
      facts.bounceRate = {
        date: today,
        sent: counts.sent,
        bounced: counts.bounced,
        ratePercent: brake.ratePercent,
        thresholdPercent,
        minimumSends,
        maxHardBounces,
        brakeOn: brake.over,
        ...(brake.reason ? { reason: brake.reason } : {}),
      };
    }),
    sqsParts(),
  ]);

  // No record: the request may be sitting in a DLQ (throttled, or undeliverable).
  const noRecord = facts.subject.kind === 'emailId' ? !record : facts.recent.length === 0;
  if (noRecord) {
    const sqs = await target.clients.sqs();
    for (const kind of ['send', 'events'] as const) {
      const url = target.resources.deadLetterQueues[kind];
      if (!url || !facts.deadLetterDepths[kind]) continue;
      const peeked = await tryPart(notes, `The ${kind} DLQ messages`, () =>
        peekMessages(sqs, url, { max: DLQ_SEARCH_LIMIT, waitSeconds: target.kind === 'aws' ? 1 : 0 }),
      );
      for (const message of peeked ?? []) {
        const info = describeDeadLetter(kind, message);
        const matches =
          facts.subject.kind === 'emailId' ? info.emailId === facts.subject.emailId : info.to !== undefined && addressKey(info.to) === facts.subject.address;
        if (matches) facts.deadLetters.push(info);
      }
    }
    const sendLetters = facts.deadLetters.filter((letter) => letter.queue === 'send');
    if (sendLetters.length > 0) {
      const lastErrors = await tryPart(notes, "The Email Sender's last errors", () => readLastErrors(ddb, countersTable, sendLetters.map((letter) => letter.messageId)));
      if (lastErrors) facts.deadLetters = facts.deadLetters.map((letter) => withLastError(letter, lastErrors.get(letter.messageId)));
    }
  }
  record = facts.record;
  return {
    target: { kind: target.kind, description: target.description },
    subject: facts.subject,
    record: record ?? null,
    retryChain: facts.chain,
    recentRecords: facts.recent,
    suppression: facts.suppression ?? null,
    bounceRate: facts.bounceRate ?? null,
    queues: { send: facts.sendQueue ?? null, deadLetters: facts.deadLetterDepths },
    deadLetters: facts.deadLetters,
    notes,
    verdict: diagnose(facts),
  };
}

function printReport(report: DiagnoseReport, print: ReturnType<typeof createUi>): void {
  const ui = print;
  const s = report.subject;
  ui.out(chalk.bold(`Diagnosis of ${s.kind === 'emailId' ? `email ${s.emailId}` : `address ${s.address}`}`) + chalk.dim(` — ${report.target.description}`));
  ui.out('');
  if (report.record) {
    ui.out('Tracking record:');
    printRecord(ui, report.record);
  } else if (s.kind === 'emailId') {
    ui.out(`Tracking record: ${chalk.red('none')} for ${s.emailId}`);
  }
  if (report.retryChain.length > 1) {
    ui.out('Retry chain (original-email-id-index):');
    table(
      ui,
      ['  attempt', 'emailId', 'status', 'code', 'created'],
      report.retryChain.map((r) => [`  ${r.retryAttempt ?? 0}`, r.emailId, r.status, r.errorCode ?? '', r.timestamp]),
    );
  }
  if (s.kind === 'address') {
    if (report.recentRecords.length === 0) ui.out(`Recent emails to ${s.address}: ${chalk.red('none tracked')}`);
    else {
      ui.out(`Recent emails to ${s.address} (newest first):`);
      table(
        ui,
        ['  created', 'emailId', 'status', 'code', 'template'],
        report.recentRecords.map((r) => [`  ${r.timestamp}`, r.emailId, r.status, r.errorCode ?? '', r.templateName]),
      );
    }
  }
  const address = s.kind === 'address' ? s.address : report.record?.toEmail;
  if (address) printSuppression(ui, report.suppression ?? undefined, address);
  const rate = report.bounceRate;
  if (rate) {
    const settings = { thresholdPercent: rate.thresholdPercent, minimumSends: rate.minimumSends, maxHardBounces: rate.maxHardBounces };
    const brake = { over: rate.brakeOn, ratePercent: rate.ratePercent, sent: rate.sent, bounced: rate.bounced, ...(rate.reason ? { reason: rate.reason } : {}) };
    const off = brakeOffText(brake, settings);
    const state = rate.brakeOn ? `${chalk.red('ON')} (${brakeReasonText(brake, settings)})` : off === 'off' ? chalk.green('off') : off;
    ui.out(`Bounce rate today (${rate.date} UTC): ${rate.ratePercent.toFixed(2)}% (${rate.bounced} of ${rate.sent} sent); threshold ${rate.thresholdPercent}%, brake ${state}`);
  }
  const dl = Object.entries(report.queues.deadLetters).map(([k, n]) => `${k} ${n}`);
  const send = report.queues.send;
  ui.out(
    `Queues: ${send ? `send queue ${send.visible + send.delayed + send.inFlight} waiting` : 'send queue unknown'}; dead-letter queues: ${dl.length > 0 ? dl.join(', ') : 'unknown'}`,
  );
  for (const letter of report.deadLetters) ui.out(`Dead letter in the ${letter.queue} DLQ: ${letter.emailId ?? letter.messageId} (received ${letter.receiveCount} time${letter.receiveCount === 1 ? '' : 's'})`);
  for (const note of report.notes) ui.warn(note);
  printVerdict(ui, report.verdict);
}

/**
 * Refuses, before any call, what can be neither an emailId the engine accepts nor an
 * address: DynamoDB would otherwise answer an empty or over-long key with a raw
 * ValidationException.
 */
export function checkDiagnoseSubject(subjectText: string): void {
  const subject = subjectText.trim();
  if (isValidEmailId(subject) || parseEmailAddress(subject).ok) return;
  throw new CliError(
    'OPS004',
    `diagnose takes an emailId (1-128 characters, no control characters) or an e-mail address, got ${subject === '' ? 'an empty value' : `"${subject.slice(0, 40).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')}${subject.length > 40 ? '…' : ''}" (${subject.length} characters)`}.`,
    'Pass the emailId of the request (the tracking record\'s key) or the recipient\'s address, for example: sesmailengine diagnose email-123',
  );
}

export async function diagnoseCommand(options: DiagnoseOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  checkDiagnoseSubject(options.subject);
  const limit = integerOption(options.limit, '--limit', 10, 1, 100);
  const now = (options.now ?? (() => new Date()))();
  return withTarget(options, async (target) => {
    const report = await collectDiagnosis(target, options.subject, now, limit);
    if (options.json) io.stdout.write(`${JSON.stringify(report)}\n`);
    else printReport(report, ui);
    return 0;
  });
}
