import chalk from 'chalk';
import { brakeOffText, brakeReasonText } from '../../functions/core/bounce-brake.js';
import { createUi, processIo } from '../ui.js';
import { parseEmailAddress } from '../../functions/core/email-address.js';
import { isValidEmailId } from '../../functions/core/email-id.js';
import { CliError } from '../errors.js';
import { integerOption } from '../ops/input.js';
import { collectDiagnosis, type DiagnoseReport } from '../ops/diagnose-report.js';
import { withTarget, type TargetOptions } from '../ops/target.js';
import { printRecord, printSuppression, printVerdict, table } from '../ops/print.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine diagnose <emailId|address>`: the support guide's decision tree, run
 * against the engine. It reads the tracking record (GetItem) and its retry chain
 * (original-email-id-index), or an address's recent records (to-email-timestamp-index),
 * the recipient's suppression entry, today's bounce rate from the O(1) counters, queue and
 * DLQ depths, and, when there is no record, looks for the request in the DLQs; then it
 * prints a verdict with the fix (src/ops/diagnosis.ts decides).
 */

export type { DiagnoseReport };

export interface DiagnoseOptions extends CommonOptions, TargetOptions {
  /** An emailId or a recipient address. */
  subject: string;
  /** Address mode: how many recent records to read (default 10). */
  limit?: string | number;
  json?: boolean;
  now?: () => Date;
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
    const brake = { over: rate.brakeOn, ratePercent: rate.ratePercent, sent: rate.sent, bounced: rate.bounced, sameDayBounced: rate.sameDayBounced ?? rate.bounced, ...(rate.reason ? { reason: rate.reason } : {}) };
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
