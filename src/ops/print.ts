import chalk from 'chalk';
import type { SuppressionEntry } from '../../functions/core/types.js';
import type { Ui } from '../ui.js';
import type { CheckState, DeliverabilityItem, DeliverabilityReport } from './deliverability.js';
import type { Verdict } from './diagnosis.js';
import type { StoredRecord } from './records.js';

/** How the operating commands show records, suppressions and verdicts at a terminal. */

const BAD = new Set(['failed', 'bounced', 'complained']);
const GOOD = new Set(['delivered', 'opened']);

export function colourStatus(status: string): string {
  if (BAD.has(status)) return chalk.red(status);
  if (GOOD.has(status)) return chalk.green(status);
  return chalk.yellow(status);
}

/** The record's fields worth reading, as label/value pairs (absent fields skipped). */
export function recordRows(record: StoredRecord): [string, string][] {
  const rows: [string, string | number | undefined][] = [
    ['emailId', record.emailId],
    ['status', record.status],
    ['error', record.errorCode ? `${record.errorCode}: ${record.errorMessage ?? ''}` : undefined],
    ['to', record.toEmail],
    ['template', record.templateName],
    ['subject', record.subject],
    ['from', record.senderEmail],
    ['created', record.timestamp],
    ['sentAt', record.sentAt],
    ['sesMessageId', record.sesMessageId],
    ['deliveredAt', record.deliveredAt],
    ['openedAt', record.openedAt],
    ['opens', record.openCount],
    ['clicks', record.clickCount],
    ['bounce', record.bounceType ? `${record.bounceType}/${record.bounceSubType ?? ''}${record.bounceReason ? ` ${record.bounceReason}` : ''}` : undefined],
    ['complaint', record.complaintFeedbackType ?? (record.complainedAt ? 'yes' : undefined)],
    ['complainedAt', record.complainedAt],
    ['attempt', record.retryAttempt ? `${record.retryAttempt} (retry of ${record.originalEmailId})` : undefined],
    ['source', record.originalSource],
  ];
  return rows.filter((row): row is [string, string | number] => row[1] !== undefined && row[1] !== '').map(([k, v]) => [k, String(v)]);
}

export function printRecord(ui: Ui, record: StoredRecord, indent = '  '): void {
  for (const [label, value] of recordRows(record)) {
    ui.out(`${indent}${label.padEnd(13)} ${label === 'status' ? colourStatus(value) : value}`);
  }
}

export function printSuppression(ui: Ui, entry: SuppressionEntry | undefined, address: string): void {
  if (!entry) {
    ui.out(`Suppression: ${address} is ${chalk.green('not suppressed')}`);
    return;
  }
  const extra = [entry.sourceEmailId ? `email ${entry.sourceEmailId}` : undefined, entry.details].filter(Boolean).join(', ');
  ui.out(`Suppression: ${chalk.red(`${entry.email} suppressed`)} (${entry.reason}, type ${entry.suppressionType}) since ${entry.createdAt}${extra ? ` — ${extra}` : ''}`);
}

export function printVerdict(ui: Ui, verdict: Verdict): void {
  const colour = verdict.level === 'ok' ? chalk.green : verdict.level === 'pending' ? chalk.yellow : chalk.red;
  ui.out('');
  ui.out(`${chalk.bold('VERDICT:')} ${colour(verdict.summary)}`);
  for (const line of verdict.details) ui.out(`  ${line}`);
  if (verdict.fix.length > 0) {
    ui.out(chalk.bold('Fix:'));
    verdict.fix.forEach((step, i) => ui.out(`  ${verdict.fix.length > 1 ? `${i + 1}. ` : ''}${step}`));
  }
  for (const warning of verdict.warnings) ui.out(`${chalk.yellow('!')} ${warning}`);
}

/** Left-aligned columns; the header is bold. */
export function table(ui: Ui, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  ui.out(chalk.bold(line(header)));
  for (const row of rows) ui.out(line(row));
}

export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0;
}

const STATE_COLOUR: Record<CheckState, (text: string) => string> = {
  ok: chalk.green,
  warn: chalk.yellow,
  fail: chalk.red,
  unknown: chalk.yellow,
};

/**
 * Text from outside (SES's answers, template names listed from S3, the stack's sender) as it
 * may reach a terminal: control characters (an ESC starts a sequence that can clear the
 * screen, retitle the window or forge a link) and bidirectional overrides become `?`.
 */
export function terminalText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');
}

/** One check's lines: its state and what was found, then the fix and the DNS records to publish. */
export function deliverabilityLines(item: DeliverabilityItem): string[] {
  const t = terminalText;
  const lines = [`${t(item.title).padEnd(22)} ${STATE_COLOUR[item.state](item.state)}: ${t(item.summary)}`];
  if (item.fix) lines.push(`  fix: ${t(item.fix)}`);
  if (item.note) lines.push(`  note: ${t(item.note)}`);
  for (const r of item.records ?? []) lines.push(`    ${t(r.type).padEnd(5)} ${t(r.name)}  ${t(r.value)}`);
  return lines;
}

/** The Deliverability section of `status`. */
export function printDeliverability(ui: Ui, report: DeliverabilityReport): void {
  ui.out(`Deliverability of ${terminalText(report.sender)}: ${STATE_COLOUR[report.state](report.state)}`);
  for (const item of report.items) for (const line of deliverabilityLines(item)) ui.out(`  ${line}`);
}

/** The same check at the end of an install: what is fine in one line, each problem as a warning. */
export function warnDeliverability(ui: Ui, report: DeliverabilityReport): void {
  const fine = report.items.filter((i) => i.state === 'ok');
  if (fine.length > 0) ui.ok(`Deliverability of ${terminalText(report.sender)}: ${fine.map((i) => i.title).join(', ')} ok.`);
  for (const item of fine.filter((i) => i.note)) ui.info(`  ${item.title}: ${terminalText(item.note!)}`);
  for (const item of report.items.filter((i) => i.state !== 'ok')) ui.warn(deliverabilityLines(item).join('\n'));
}
