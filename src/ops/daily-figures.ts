import { mapConcurrently } from '../../functions/core/concurrency.js';
import { emptyCounts, readDailyCounts, type DailyCounts } from '../../functions/lib/counters-store.js';
import { percent } from './print.js';
import type { EngineTarget } from './target.js';

/**
 * Per-day sending figures from the daily counters (functions/lib/counters-store.ts): one
 * BatchGetItem per day whatever the day's volume, never a count over the tracking table.
 * Rates are percentages of the day's sent emails. `stats` prints them; the dashboard draws them.
 */

export interface DayStats extends DailyCounts {
  date: string;
  deliveryRate: number;
  openRate: number;
  clickRate: number;
  bounceRate: number;
  complaintRate: number;
}

export function dayStats(date: string, counts: DailyCounts): DayStats {
  return {
    date,
    ...counts,
    deliveryRate: percent(counts.delivered, counts.sent),
    openRate: percent(counts.opened, counts.sent),
    clickRate: percent(counts.clicked, counts.sent),
    bounceRate: percent(counts.bounced, counts.sent),
    complaintRate: percent(counts.complained, counts.sent),
  };
}

export function sumCounts(days: DailyCounts[]): DailyCounts {
  const total = emptyCounts();
  for (const day of days) for (const key of Object.keys(total) as (keyof DailyCounts)[]) total[key] += day[key];
  return total;
}

/** The counters of each date (YYYY-MM-DD, UTC), in the order given; eight days read at a time. */
export async function readDays(target: EngineTarget, dates: readonly string[]): Promise<DailyCounts[]> {
  const ddb = await target.clients.ddb();
  return mapConcurrently([...dates], 8, (date) => readDailyCounts(ddb, target.resources.countersTable, date));
}
