import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { SuppressionEntry } from '../../functions/core/types.js';
import { streakKey } from '../../functions/lib/soft-bounce-streak.js';
import { removeSuppression } from '../../functions/lib/suppression-store.js';
import { CliError } from '../errors.js';
import type { EngineTarget } from './target.js';

/**
 * Taking an address off the suppression list, with the safeguards every way of doing it
 * shares (`suppression remove`, the dashboard): a spam complaint is refused unless forced,
 * and the address's soft-bounce streak goes with its entry.
 */

/** SPR001 for a spam complaint removed without force; undefined when the removal may go ahead. */
export function removalRefusal(address: string, entry: SuppressionEntry, force: boolean, forceHint = 'run this again with --force'): CliError | undefined {
  if (entry.reason !== 'spam-complaint' || force) return undefined;
  return new CliError(
    'SPR001',
    `${address} is suppressed because the recipient reported your email as spam (${entry.createdAt}); it was not removed.`,
    `Do not mail people who complained: it damages your SES reputation (AWS reviews accounts at a 0.1% complaint rate) and may break anti-spam law. Only if the person asked to receive mail again, ${forceHint}.`,
  );
}

/** What to tell the operator before removing an entry of this reason, if anything. */
export function removalWarning(address: string, entry: SuppressionEntry): string | undefined {
  if (entry.reason === 'hard-bounce') {
    return `${address} hard-bounced${entry.details ? ` (${entry.details})` : ''}. If it still does not exist, the next email bounces again and SES counts it against your account's bounce rate. Remove it only if the recipient confirmed the address works.`;
  }
  if (entry.reason === 'spam-complaint') return `${address} complained about your email. Removing it with --force: be sure the person asked to receive mail again.`;
  if (entry.reason === 'unsubscribed') return `${address} unsubscribed. Remove it only if the person subscribed again.`;
  return undefined;
}

/** Deletes the entry and the address's soft-bounce streak; returns the entry deleted, if there was one. */
export async function removeFromSuppression(target: EngineTarget, address: string): Promise<SuppressionEntry | undefined> {
  const ddb = await target.clients.ddb();
  const removed = await removeSuppression(ddb, target.resources.suppressionTable, address);
  // A fresh start: a soft-bounce streak left in the counters table would re-suppress at the next soft bounce.
  await ddb.send(new DeleteCommand({ TableName: target.resources.countersTable, Key: { pk: streakKey(address) } }));
  return removed;
}
