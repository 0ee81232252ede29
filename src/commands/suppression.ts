import chalk from 'chalk';
import { CliError, UsageError, UserCancelled } from '../errors.js';
import { createPrompter, type Prompter } from '../prompts.js';
import { createUi, processIo } from '../ui.js';
import { parseEmailAddress } from '../../functions/core/email-address.js';
import type { SuppressionEntry, SuppressionType } from '../../functions/core/types.js';
import { addSuppression, getSuppression } from '../../functions/lib/suppression-store.js';
import { SUPPRESSION_ADVICE } from '../ops/diagnosis.js';
import { choiceOption, dayOption, integerOption } from '../ops/input.js';
import { printSuppression, table } from '../ops/print.js';
import { addressKey, listSuppressions, SUPPRESSION_TYPES } from '../ops/records.js';
import { removalRefusal, removalWarning, removeFromSuppression } from '../ops/suppression-removal.js';
import { withTarget, type TargetOptions } from '../ops/target.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine suppression list|check|add|remove`: the engine's suppression list.
 * `list` queries suppression-type-date-index once per type (no scans). `remove` refuses a
 * spam complaint without --force, warns about hard bounces, and asks before removing
 * unless --yes.
 */

export interface SuppressionOptions extends CommonOptions, TargetOptions {
  json?: boolean;
  now?: () => Date;
}

function checkedAddress(address: string | undefined): string {
  const parsed = parseEmailAddress((address ?? '').trim());
  if (!parsed.ok) throw new UsageError('OPS004', `"${address ?? ''}" is not an e-mail address (${parsed.reason}).`, 'Pass one bare address, e.g. jamie@example.com.');
  return addressKey(address!);
}

// ---------------------------------------------------------------------------------------

export interface ListOptions extends SuppressionOptions {
  type?: string;
  limit?: string | number;
  /** Only entries added on or after this day (YYYY-MM-DD). */
  since?: string;
}

export async function suppressionList(options: ListOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const types: SuppressionType[] = options.type
    ? [choiceOption<SuppressionType>(options.type, '--type', SUPPRESSION_TYPES, 'bounce')]
    : [...SUPPRESSION_TYPES];
  const limit = integerOption(options.limit, '--limit', 50, 1, 10_000);
  const since = options.since !== undefined ? dayOption(options.since, '--since') : undefined;
  return withTarget(options, async (target) => {
    const ddb = await target.clients.ddb();
    const entries = await listSuppressions(ddb, target.resources.suppressionTable, types, limit, since).catch((error: unknown) => {
      const e = error as { name?: string; message?: string };
      if (e.name === 'ValidationException' && /index/i.test(e.message ?? '')) {
        // Between the two updates that move the index to addedToSuppressionDate (docs/MIGRATING.md).
        throw new CliError(
          'OPS003',
          `${target.resources.suppressionTable} has no usable suppression-type-date-index (${e.message}).`,
          'The stack is between the two steps of an upgrade from an earlier version: run sesmailengine install again to finish it. suppression check <address> works meanwhile.',
          { cause: error },
        );
      }
      throw error;
    });
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ table: target.resources.suppressionTable, types, limit, count: entries.length, entries })}\n`);
      return 0;
    }
    if (entries.length === 0) {
      ui.out(`No suppressed addresses${options.type ? ` of type ${options.type}` : ''}${since ? ` since ${since}` : ''} in ${target.resources.suppressionTable}.`);
      return 0;
    }
    table(
      ui,
      ['address', 'reason', 'type', 'since', 'email / details'],
      entries.map((e) => [e.email, e.reason, e.suppressionType, e.createdAt, [e.sourceEmailId, e.details].filter(Boolean).join(' ')]),
    );
    ui.info(`${entries.length} shown, newest first${entries.length === limit ? ` (the first ${limit}; --limit shows more)` : ''}.`);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------

export interface CheckOptions extends SuppressionOptions {
  address: string;
}

export async function suppressionCheck(options: CheckOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const address = checkedAddress(options.address);
  return withTarget(options, async (target) => {
    const entry = await getSuppression(await target.clients.ddb(), target.resources.suppressionTable, address);
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ email: address, suppressed: Boolean(entry), entry: entry ?? null })}\n`);
      return 0;
    }
    printSuppression(ui, entry, address);
    if (entry) {
      const advice = SUPPRESSION_ADVICE[entry.reason] ?? SUPPRESSION_ADVICE.manual;
      ui.out(`  Why: ${advice.why}.`);
      ui.out(`  ${advice.fix.replaceAll('<address>', address).replaceAll('{flags}', target.flags)}`);
    }
    return 0;
  });
}

// ---------------------------------------------------------------------------------------

export interface AddOptions extends SuppressionOptions {
  address: string;
  reason?: string;
}

export async function suppressionAdd(options: AddOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const address = checkedAddress(options.address);
  const now = (options.now ?? (() => new Date()))();
  return withTarget(options, async (target) => {
    const ddb = await target.clients.ddb();
    const table = target.resources.suppressionTable;
    // An existing entry keeps its reason: a hard bounce or complaint says more than "manual".
    const existing = await getSuppression(ddb, table, address);
    let entry: SuppressionEntry | undefined = existing;
    let added = false;
    if (!existing) {
      const candidate: SuppressionEntry = {
        email: address,
        reason: 'manual',
        suppressionType: 'manual',
        createdAt: now.toISOString(),
        ...(options.reason ? { details: options.reason } : {}),
      };
      added = await addSuppression(ddb, table, candidate);
      entry = added ? candidate : await getSuppression(ddb, table, address);
    }
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ email: address, added, entry: entry ?? null })}\n`);
      return 0;
    }
    if (added) ui.ok(`${address} added to the suppression list (manual${options.reason ? `: ${options.reason}` : ''}); requests to it now fail with SUP001.`);
    else ui.info(`${address} was already suppressed (${entry?.reason ?? '?'} since ${entry?.createdAt ?? '?'}); left as it was.`);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------

export interface RemoveOptions extends SuppressionOptions {
  address: string;
  force?: boolean;
  yes?: boolean;
  prompter?: Prompter;
  /** Whether questions can be asked (default: stdin is a terminal). */
  interactive?: boolean;
}

export async function suppressionRemove(options: RemoveOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const address = checkedAddress(options.address);
  return withTarget(options, async (target) => {
    const ddb = await target.clients.ddb();
    const table = target.resources.suppressionTable;
    const entry = await getSuppression(ddb, table, address);
    if (!entry) {
      if (options.json) io.stdout.write(`${JSON.stringify({ email: address, removed: false, entry: null })}\n`);
      else ui.info(`${address} is not on the suppression list; nothing to remove.`);
      return 0;
    }
    const refusal = removalRefusal(address, entry, Boolean(options.force));
    if (refusal) throw refusal;
    if (!options.json) {
      printSuppression(ui, entry, address);
      const warning = removalWarning(address, entry);
      if (warning) ui.warn(warning);
    }
    if (!options.yes) {
      const interactive = options.interactive ?? Boolean(process.stdin.isTTY);
      if (!interactive) {
        throw new CliError('SPR002', `Removing ${address} needs a confirmation, and this run cannot ask (no terminal).`, 'Pass --yes to remove it without asking.');
      }
      const prompter = options.prompter ?? createPrompter();
      const ok = await prompter.confirm(`Remove ${address} (${entry.reason}) from the suppression list?`, false);
      if (!ok) throw new UserCancelled(`Kept ${address} on the suppression list.`);
    }
    const removed = await removeFromSuppression(target, address);
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ email: address, removed: Boolean(removed), entry: removed ?? entry })}\n`);
      return 0;
    }
    ui.ok(`${address} removed from the suppression list ${chalk.dim(`(was ${entry.reason})`)}; requests to it are sent again.`);
    if (entry.reason === 'hard-bounce') {
      ui.info(
        target.kind === 'aws'
          ? `SES keeps its own account-level list too: aws sesv2 get-suppressed-destination --email-address ${address} --region ${target.region}`
          : 'On AWS, SES also keeps an account-level suppression list (aws sesv2 get-suppressed-destination).',
      );
    }
    return 0;
  });
}
