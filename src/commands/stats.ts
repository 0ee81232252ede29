import { createUi, processIo } from '../ui.js';
import { bounceBrake, brakeOffText, brakeReasonText } from '../../functions/core/bounce-brake.js';
import { dayStats, readDays, sumCounts, type DayStats } from '../ops/daily-figures.js';
import { dayOption, daysEndingWith, integerOption } from '../ops/input.js';
import { table } from '../ops/print.js';
import { withTarget, type TargetOptions } from '../ops/target.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine stats`: per-day sending figures from the daily counters: one BatchGetItem
 * per day whatever the day's volume (functions/lib/counters-store.ts), never a count over
 * the tracking table. Rates are percentages of the day's sent emails.
 */

export interface StatsOptions extends CommonOptions, TargetOptions {
  /** The last day shown (YYYY-MM-DD, UTC; default today). */
  date?: string;
  /** How many days, ending with --date (default 1). */
  days?: string | number;
  json?: boolean;
  now?: () => Date;
}

export async function stats(options: StatsOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const now = (options.now ?? (() => new Date()))();
  const today = now.toISOString().slice(0, 10);
  const last = options.date !== undefined ? dayOption(options.date, '--date') : today;
  const count = integerOption(options.days, '--days', 1, 1, 400);
  const dates = daysEndingWith(last, count);

  return withTarget(options, async (target) => {
    const counts = await readDays(target, dates);
    const days = dates.map((date, i) => dayStats(date, counts[i]!));
    const total = count > 1 ? dayStats(`${dates[0]}..${last}`, sumCounts(counts)) : undefined;
    const { bounceRateThreshold: threshold, bounceRateMinimumSends: minimumSends, bounceBrakeMaxHardBounces: maxHardBounces } = target.settings;
    const settings = { thresholdPercent: threshold, minimumSends, maxHardBounces };
    const todayCounts = dates.includes(today) ? counts[dates.indexOf(today)]! : undefined;
    const brake = todayCounts ? bounceBrake(todayCounts, threshold, minimumSends, maxHardBounces) : undefined;

    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({
          target: target.kind,
          countersTable: target.resources.countersTable,
          bounceRateThreshold: threshold,
          bounceRateMinimumSends: minimumSends,
          bounceBrakeMaxHardBounces: maxHardBounces,
          ...(brake ? { brakeOnToday: brake.over, ...(brake.reason ? { brakeReason: brake.reason } : {}) } : {}),
          days,
          ...(total ? { total } : {}),
        })}\n`,
      );
      return 0;
    }
    const row = (d: DayStats) => [
      d.date,
      String(d.sent),
      String(d.delivered),
      String(d.opened),
      String(d.clicked),
      String(d.bounced),
      String(d.softBounced),
      String(d.complained),
      String(d.failed),
      `${d.deliveryRate}%`,
      `${d.openRate}%`,
      `${d.bounceRate}%`,
      `${d.complaintRate}%`,
    ];
    ui.out(`Sending figures (UTC days) — ${target.description}`);
    table(
      ui,
      ['date', 'sent', 'delivered', 'opened', 'clicked', 'bounced', 'soft-bounced', 'complained', 'failed', 'delivery', 'open', 'bounce', 'complaint'],
      [...days.map(row), ...(total ? [row(total)] : [])],
    );
    ui.out('Rates are percentages of sent; bounced counts hard bounces only (soft bounces are retried).');
    if (brake) {
      const state = brake.over ? `ON (${brakeReasonText(brake, settings)}): every email fails BRK001 until 00:00 UTC` : brakeOffText(brake, settings);
      ui.out(`Bounce-rate brake today: ${brake.ratePercent.toFixed(2)}% against a threshold of ${threshold}% — ${state}.`);
    }
    return 0;
  });
}
