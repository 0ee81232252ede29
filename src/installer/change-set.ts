import type { ChangeSetDescription, CloudFormationApi, ResourceChange } from '../aws/cloudformation.js';
import { DATA_BEARING_TYPES } from './named-resources.js';

/**
 * What a change set will do, in words: the resources it adds, modifies, replaces, removes
 * or imports, and the replacements that would leave data behind. Pure, apart from the
 * small loop that waits for CloudFormation to finish computing the change set.
 */

export interface ChangeSummary {
  added: ResourceChange[];
  modified: ResourceChange[];
  /** Modify with Replacement True or Conditional: a new physical resource (possibly). */
  replaced: ResourceChange[];
  removed: ResourceChange[];
  imported: ResourceChange[];
}

/** Replacement 'True' always replaces; 'Conditional' may, depending on values only known at run time. */
export function replaces(change: ResourceChange): boolean {
  return change.action === 'Modify' && (change.replacement === 'True' || change.replacement === 'Conditional');
}

export function summarizeChanges(changes: ResourceChange[]): ChangeSummary {
  const summary: ChangeSummary = { added: [], modified: [], replaced: [], removed: [], imported: [] };
  for (const change of changes) {
    if (change.action === 'Add') summary.added.push(change);
    else if (change.action === 'Remove') summary.removed.push(change);
    else if (change.action === 'Import') summary.imported.push(change);
    else if (replaces(change)) summary.replaced.push(change);
    else summary.modified.push(change);
  }
  return summary;
}

/** Replacements of resources that hold data (tables, queues, log groups, secrets, buckets). */
export function dataReplacements(changes: ResourceChange[]): ResourceChange[] {
  return changes.filter((c) => replaces(c) && DATA_BEARING_TYPES.has(c.type));
}

/** Removals of resources that hold data (their DeletionPolicy decides whether the data stays). */
export function dataRemovals(changes: ResourceChange[]): ResourceChange[] {
  return changes.filter((c) => c.action === 'Remove' && DATA_BEARING_TYPES.has(c.type));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "2 to add, 4 to modify, 1 to replace" (only the kinds present). */
export function summaryLine(summary: ChangeSummary): string {
  const parts = [
    summary.imported.length ? `${summary.imported.length} to import` : '',
    summary.added.length ? `${summary.added.length} to add` : '',
    summary.modified.length ? `${summary.modified.length} to modify` : '',
    summary.replaced.length ? `${summary.replaced.length} to replace` : '',
    summary.removed.length ? `${summary.removed.length} to remove` : '',
  ].filter(Boolean);
  const total = summary.imported.length + summary.added.length + summary.modified.length + summary.replaced.length + summary.removed.length;
  return parts.length > 0 ? `${plural(total, 'resource')}: ${parts.join(', ')}` : 'no resource changes';
}

function line(mark: string, change: ResourceChange, note = ''): string {
  return `  ${mark} ${change.logicalId.padEnd(34)} ${change.type}${note}`;
}

/** A modification that only re-applies the stack's tags (every upgrade changes the version tag). */
function tagsOnly(change: ResourceChange): boolean {
  return change.scope.length === 1 && change.scope[0] === 'Tags';
}

/**
 * One line per resource change, grouped by kind, for the preview before confirming;
 * modifications that only touch tags are counted on one line.
 */
export function changeLines(summary: ChangeSummary): string[] {
  const scope = (c: ResourceChange) => (c.scope.length > 0 ? `  (${c.scope.join(', ')})` : '');
  const retagged = summary.modified.filter(tagsOnly);
  return [
    ...summary.imported.map((c) => line('←', c, '  import')),
    ...summary.added.map((c) => line('+', c, '  add')),
    ...summary.modified.filter((c) => !tagsOnly(c)).map((c) => line('~', c, `  modify${scope(c)}`)),
    ...(retagged.length > 0 ? [`  ~ ${plural(retagged.length, 'other resource')}: tags only (the stack's tags, such as its version)`] : []),
    ...summary.replaced.map((c) => line('!', c, `  REPLACE${c.replacement === 'Conditional' ? ' (conditional)' : ''}${scope(c)}`)),
    ...summary.removed.map((c) => line('-', c, '  remove')),
  ];
}

export interface ChangeSetWaitOptions {
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Gives up after this many polls (CloudFormation computes a change set in seconds). */
  maxPolls?: number;
}

const PENDING = new Set(['CREATE_PENDING', 'CREATE_IN_PROGRESS']);

/** Polls DescribeChangeSet until CloudFormation has finished computing it (CREATE_COMPLETE or FAILED). */
export async function waitForChangeSet(
  api: CloudFormationApi,
  changeSetId: string,
  stackName: string,
  options: ChangeSetWaitOptions = {},
): Promise<ChangeSetDescription> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxPolls = options.maxPolls ?? 200;
  for (let poll = 0; ; poll++) {
    await sleep(options.pollMs ?? 2_000);
    const description = await api.describeChangeSet(changeSetId, stackName);
    if (!PENDING.has(description.status)) return description;
    if (poll >= maxPolls) throw new Error(`the change set was still ${description.status} after ${poll} polls`);
  }
}
