import { statusRank } from '../../functions/core/status-priority.js';
import type { RecordStatus } from '../../functions/core/types.js';
import { suppressionFromItem, suppressionItem } from '../../functions/lib/suppression-store.js';

/**
 * What `sesmailengine migrate` does to one item, and the bookkeeping of a run: pure, tested
 * without DynamoDB. Items keep every attribute they had; what this engine's own writes
 * rely on is added only where it is missing.
 */

/** The original's tables, by the names its documents give them. */
export function originalTableNames(sourceStack: string): { tracking: string; suppression: string } {
  return { tracking: `${sourceStack}-EmailTracking`, suppression: `${sourceStack}-Suppression` };
}

const STATUSES: readonly RecordStatus[] = ['sending', 'scheduled', 'sent', 'failed', 'soft_bounced', 'complained', 'bounced', 'delivered', 'opened'];

/**
 * A tracking record of the original as this engine stores it: `statusRank` (conditional
 * updates compare it), `originalEmailId` and `retryAttempt` (the retry chain),
 * `datePartition` (date-partition-index) when missing, and `migratedFrom`.
 */
export function trackingFromOriginal(item: Record<string, unknown>, sourceTable: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...item, migratedFrom: sourceTable };
  const status = item.status as RecordStatus;
  if (out.statusRank === undefined && STATUSES.includes(status)) out.statusRank = statusRank(status);
  if (out.originalEmailId === undefined && typeof item.emailId === 'string') out.originalEmailId = item.emailId;
  if (out.retryAttempt === undefined) out.retryAttempt = 0;
  if (out.datePartition === undefined && typeof item.timestamp === 'string' && /^\d{4}-\d{2}-\d{2}/.test(item.timestamp)) {
    out.datePartition = item.timestamp.slice(0, 10);
  }
  return out;
}

/**
 * A suppression entry of the original with both date attributes, a type, and `migratedFrom`.
 * An entry without a date (one added by hand with only `email` and `reason`) is copied
 * without one: an empty string is refused as a key of suppression-type-date-index, which
 * stopped the whole copy, while the entry still has to suppress.
 */
export function suppressionFromOriginal(item: Record<string, unknown>, sourceTable: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...suppressionItem(suppressionFromItem(item)), migratedFrom: sourceTable };
  for (const key of ['addedToSuppressionDate', 'createdAt']) if (out[key] === '') delete out[key];
  return out;
}

export type TableKind = 'tracking' | 'suppression';

export const KEY_OF: Record<TableKind, string> = { tracking: 'emailId', suppression: 'email' };

/** Where one table's copy stands: saved after every page so an interrupted run resumes. */
export interface TableProgress {
  source: string;
  target: string;
  /** The scan's LastEvaluatedKey after the last finished page; absent at the start and once done. */
  lastKey?: Record<string, unknown>;
  scanned: number;
  /** Items written (with --apply) or that would be (dry run). */
  copied: number;
  /** Items this engine already had, left as they are. */
  present: number;
  /** Items that cannot be copied (no key). */
  skipped: number;
  /**
   * Items DynamoDB refused to write (with --apply): an attribute of the wrong type for one
   * of this engine's index keys, an item grown over 400 KB. Left out, so one such item does
   * not stop the copy of every other; the first few are named in `refusals`.
   */
  refused?: number;
  refusals?: { key: string; reason: string }[];
  done: boolean;
}

export interface Checkpoint {
  version: 1;
  tables: Record<string, TableProgress>;
}

export function emptyCheckpoint(): Checkpoint {
  return { version: 1, tables: {} };
}

export function checkpointKey(source: string, target: string): string {
  return `${source} -> ${target}`;
}

/**
 * Where a table's run starts: the saved position of an interrupted run, or the beginning
 * (nothing saved, the last run finished, or `restart`).
 */
export function startingPoint(saved: TableProgress | undefined, source: string, target: string, restart: boolean): TableProgress {
  if (saved && !saved.done && !restart && saved.lastKey) return { ...saved };
  return { source, target, scanned: 0, copied: 0, present: 0, skipped: 0, done: false };
}

/** `[########------------]  40%  4,000 / 10,000` (the total is DynamoDB's approximate count). */
export function progressBar(done: number, total: number | undefined, width = 20): string {
  const n = done.toLocaleString('en-US');
  if (!total || total <= 0) return `${n} items`;
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%  ${n} / ~${total.toLocaleString('en-US')}`;
}
