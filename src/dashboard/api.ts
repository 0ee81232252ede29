import { isValidEmailId } from '../../functions/core/email-id.js';
import { parseEmailAddress } from '../../functions/core/email-address.js';
import type { SuppressionType } from '../../functions/core/types.js';
import { getSuppression } from '../../functions/lib/suppression-store.js';
import { alarmsInAlarm, sesQuota } from '../ops/account-health.js';
import { dayStats, readDays } from '../ops/daily-figures.js';
import { listDeadLetters, QUEUE_CHOICES, redriveDeadLetters, type QueueChoice } from '../ops/dead-letter-queues.js';
import { checkDeliverability, type TxtResolver } from '../ops/deliverability-gather.js';
import { collectDiagnosis } from '../ops/diagnose-report.js';
import { SUPPRESSION_ADVICE } from '../ops/diagnosis.js';
import { daysEndingWith } from '../ops/input.js';
import { recentEmails } from '../ops/recent-emails.js';
import { addressKey, listSuppressions, SUPPRESSION_TYPES } from '../ops/records.js';
import { sendingHealth } from '../ops/sending-health.js';
import { removalRefusal, removalWarning, removeFromSuppression } from '../ops/suppression-removal.js';
import type { EngineTarget } from '../ops/target.js';
import type { ApiRequest, Route } from './routes.js';
import { HttpError } from './server.js';

/** What the deliverability report means against local mode, where SES is a stand-in. */
const LOCAL_DELIVERABILITY_NOTE =
  "Local mode's SES stand-in answers every identity as verified and DKIM-signed, so DKIM and MAIL FROM here say nothing about your real domain; DMARC is a real DNS lookup of the sender's domain (local mode's --sender). Run `sesmailengine status` against your stack for the real check.";

/**
 * The dashboard's routes over one engine target. Every read is what a CLI command does
 * (stats, diagnose, suppression list, dlq list), through the same src/ops modules; the two
 * actions keep the CLI's safeguards. Inputs from the query or body are checked here and
 * refused with DSH004 (400).
 */

export interface ApiContext {
  target: EngineTarget;
  now?: () => Date;
  /** DNS for the deliverability check's DMARC lookup (default: the system's resolver, short timeouts). */
  dns?: TxtResolver;
}

/** Days shown by the chart: today and the 30 before it. */
export const CHART_DAYS = 31;
const RECENT_LIMIT = 50;
const SUPPRESSION_LIMIT = 200;
/** How long a redrive waits for its move tasks. */
const REDRIVE_WAIT_MS = 30_000;

function bad(message: string): HttpError {
  return new HttpError(400, 'DSH004', `DSH004: ${message}`);
}

function oneParam(query: URLSearchParams, name: string, maxLength = 320): string | undefined {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw bad(`give ${name} once.`);
  const value = values[0]!.trim();
  if (value.length > maxLength) throw bad(`${name} is longer than ${maxLength} characters.`);
  return value === '' ? undefined : value;
}

function address(value: unknown, field: string): string {
  if (typeof value !== 'string' || !parseEmailAddress(value.trim()).ok) throw bad(`${field} must be an e-mail address.`);
  return addressKey(value);
}

/** What the search box takes: an emailId (exact) or a recipient address. */
export function searchSubject(text: string | undefined): string {
  const subject = (text ?? '').trim();
  if (subject === '' || (!isValidEmailId(subject) && !parseEmailAddress(subject).ok)) {
    throw bad('search takes an emailId (1-128 characters, no control characters) or an e-mail address.');
  }
  return subject;
}

export function dashboardRoutes(context: ApiContext): Route[] {
  const { target } = context;
  const now = () => (context.now ?? (() => new Date()))();
  const routes: Route[] = [
    {
      method: 'GET',
      path: '/api',
      summary: 'this list of routes',
      handler: async () => ({ routes: routes.map((r) => ({ method: r.method, path: r.path, summary: r.summary })) }),
    },
    {
      method: 'GET',
      path: '/api/overview',
      summary: "the engine, today and the 30 days before per day (daily counters), today's rates against the brake and SES's thresholds",
      handler: async () => {
        const at = now();
        const today = at.toISOString().slice(0, 10);
        const dates = daysEndingWith(today, CHART_DAYS);
        const counts = await readDays(target, dates);
        const todayCounts = counts[counts.length - 1]!;
        return {
          target: { kind: target.kind, description: target.description, stackName: target.stackName, region: target.region },
          generatedAt: at.toISOString(),
          days: dates.map((date, i) => dayStats(date, counts[i]!)),
          health: sendingHealth(today, todayCounts, target.settings),
        };
      },
    },
    {
      method: 'GET',
      path: '/api/emails',
      summary: 'the newest emails created today and yesterday (date-partition-index), with their status',
      handler: async () => ({
        emails: await recentEmails(await target.clients.ddb(), target.resources.trackingTable, now(), RECENT_LIMIT),
        limit: RECENT_LIMIT,
      }),
    },
    {
      method: 'GET',
      path: '/api/diagnose',
      summary: "diagnose's report and verdict for ?q=<emailId or address>",
      handler: async ({ query }: ApiRequest) => collectDiagnosis(target, searchSubject(oneParam(query, 'q')), now(), 20),
    },
    {
      method: 'GET',
      path: '/api/suppression',
      summary: 'suppressed addresses, newest first (?type=bounce|complaint|unsubscribe|manual, ?address= for one)',
      handler: async ({ query }: ApiRequest) => {
        const typeText = oneParam(query, 'type');
        const addressText = oneParam(query, 'address');
        const ddb = await target.clients.ddb();
        const table = target.resources.suppressionTable;
        if (addressText !== undefined) {
          const key = address(addressText, 'address');
          const entry = await getSuppression(ddb, table, key);
          return { entries: entry ? [entry] : [], limit: 1 };
        }
        if (typeText !== undefined && !(SUPPRESSION_TYPES as readonly string[]).includes(typeText)) throw bad(`type must be one of ${SUPPRESSION_TYPES.join(', ')}.`);
        const types = typeText ? [typeText as SuppressionType] : [...SUPPRESSION_TYPES];
        return { entries: await listSuppressions(ddb, table, types, SUPPRESSION_LIMIT), limit: SUPPRESSION_LIMIT };
      },
    },
    {
      method: 'POST',
      path: '/api/suppression/remove',
      summary: 'take {address} off the list ({force: true} for a spam complaint), as `suppression remove` does',
      handler: async ({ body }: ApiRequest) => {
        const key = address(body.address, 'address');
        if (body.force !== undefined && typeof body.force !== 'boolean') throw bad('force must be true or false.');
        const entry = await getSuppression(await target.clients.ddb(), target.resources.suppressionTable, key);
        if (!entry) return { email: key, removed: false, entry: null };
        const refusal = removalRefusal(key, entry, body.force === true, 'tick "they asked to receive mail again" and remove it again');
        if (refusal) throw refusal;
        const removed = await removeFromSuppression(target, key);
        const advice = SUPPRESSION_ADVICE[entry.reason];
        return { email: key, removed: Boolean(removed), entry: removed ?? entry, warning: removalWarning(key, entry) ?? null, why: advice?.why ?? null };
      },
    },
    {
      method: 'GET',
      path: '/api/dlq',
      summary: 'dead-letter queue depths and their first messages with why they are there (left in place)',
      handler: async () => ({ queues: await listDeadLetters(target, 'all', 10) }),
    },
    {
      method: 'POST',
      path: '/api/dlq/redrive',
      summary: 'move {queue} (send, feedback, events, webhook or all) back, as `dlq redrive` does',
      handler: async ({ body }: ApiRequest) => {
        const queue = body.queue ?? 'all';
        if (typeof queue !== 'string' || !(QUEUE_CHOICES as readonly string[]).includes(queue)) throw bad(`queue must be one of ${QUEUE_CHOICES.join(', ')}.`);
        return redriveDeadLetters(target, queue as QueueChoice, REDRIVE_WAIT_MS);
      },
      timeoutMs: REDRIVE_WAIT_MS + 15_000,
    },
    {
      method: 'GET',
      path: '/api/alarms',
      summary: "the stack's CloudWatch alarms in ALARM (local mode has none)",
      handler: async () => alarmsInAlarm(target),
    },
    {
      method: 'GET',
      path: '/api/deliverability',
      summary: "the default sender's DKIM, custom MAIL FROM, DMARC and one-click unsubscribe, each with its fix (as `status` shows them)",
      handler: async () => {
        const sender = target.resources.senderEmail;
        if (!sender) return { report: null, reason: 'The engine does not say which address it sends from (a stack or local mode of an earlier version).' };
        const [ses, s3] = await Promise.all([target.clients.ses(), target.clients.s3()]);
        const report = await checkDeliverability(
          { sender, region: target.region, bucket: target.resources.templateBucket },
          { ses, s3, ...(context.dns ? { dns: context.dns } : {}) },
        );
        return { report, reason: null, ...(target.kind === 'local' ? { note: LOCAL_DELIVERABILITY_NOTE } : {}) };
      },
    },
    {
      method: 'GET',
      path: '/api/quota',
      summary: "SES's quota (GetAccount: MaxSendRate, Max24HourSend, SentLast24Hours) and the pace the Email Sender keeps",
      handler: async () => sesQuota(target),
    },
  ];
  return routes;
}
