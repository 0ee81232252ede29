/**
 * What local mode prints while it runs: one entry per request outcome, soft-bounce
 * retries, webhook deliveries and failures, and the handlers' other entries (warnings,
 * errors, suppressions, unsubscribes; never their debug entries). The entries come from
 * the handlers' own structured log (functions/lib/logging.ts); an outcome of the Email
 * Sender is completed with the request's recipient, template and time from its arrival on
 * the send queue, which only local mode knows (`InFlightRequests`).
 *
 * `requestLogEntry` and the two formats are pure; src/commands/local.ts writes the lines.
 */
import type { SQSRecord } from 'aws-lambda';
import type { SqsHandler } from './local-queue.js';

export type LogComponent = 'email-sender' | 'feedback-processor' | 'webhook-delivery' | 'unsubscribe';

export type RequestLogEvent = 'request' | 'retry' | 'webhook' | 'log';

/** One line of local mode's log; the JSON format prints exactly these fields. */
export interface RequestLogEntry {
  /** ISO 8601, UTC. */
  time: string;
  level: 'info' | 'warn' | 'error';
  component: LogComponent;
  /** request: an Email Request's outcome; retry: a soft-bounce retry queued; webhook: a delivery attempt; log: anything else. */
  event: RequestLogEvent;
  emailId?: string;
  to?: string;
  template?: string;
  /** request: sent | failed | duplicate | scheduled | returned | deferred (SES throttling or the daily quota); retry: queued; webhook: delivered | failed. */
  status?: string;
  errorCode?: string;
  /** Milliseconds from the request's arrival on the send queue to this outcome. */
  ms?: number;
  message?: string;
  retryEmailId?: string;
  delaySeconds?: number;
  webhookType?: string;
  attempt?: number;
  httpStatus?: number;
  nextAttemptInSeconds?: number;
  /** The handler entry's other fields (log events only). */
  details?: Record<string, unknown>;
}

/** What local mode knows about a request on the send queue. */
export interface RequestContext {
  to?: string;
  template?: string;
  /** Epoch ms when it arrived on the send queue. */
  arrivedAt?: number;
}

const OUTCOMES = new Set(['sent', 'failed', 'duplicate', 'scheduled', 'returned', 'deferred']);
/** Fields a log event shows as its own, not among `details`. */
const OWN_FIELDS = new Set(['level', 'message', 'code', 'emailId']);

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** Drops undefined fields, so a JSON line holds only what is known. */
function compact(entry: RequestLogEntry): RequestLogEntry {
  for (const key of Object.keys(entry) as (keyof RequestLogEntry)[]) if (entry[key] === undefined) delete entry[key];
  return entry;
}

/**
 * A handler's log entry as a line of local mode's log, or undefined for entries it does
 * not show (debug). `context` finds the request behind an Email Sender outcome by its SQS
 * message id.
 */
export function requestLogEntry(
  component: LogComponent,
  raw: Record<string, unknown>,
  now: number,
  context: (messageId: string) => RequestContext | undefined = () => undefined,
): RequestLogEntry | undefined {
  const level = raw.level === 'warn' || raw.level === 'error' ? raw.level : raw.level === undefined || raw.level === 'info' ? 'info' : undefined;
  if (!level) return undefined;
  const time = new Date(now).toISOString();
  const outcome = str(raw.outcome);
  if (component === 'email-sender' && outcome && OUTCOMES.has(outcome)) {
    const messageId = str(raw.messageId);
    const request = messageId ? context(messageId) : undefined;
    const message =
      outcome === 'failed'
        ? str(raw.errorMessage)
        : outcome === 'returned'
          ? str(raw.reason)
          : outcome === 'scheduled'
            ? `for ${String(raw.scheduledFor)}`
            : outcome === 'deferred'
              ? `${String(raw.reason)}: ${String(raw.detail)}`
              : undefined;
    return compact({
      time,
      level,
      component,
      event: 'request',
      emailId: str(raw.emailId),
      to: request?.to,
      template: request?.template,
      status: outcome,
      errorCode: outcome === 'failed' ? str(raw.errorCode) : undefined,
      ms: request?.arrivedAt !== undefined ? Math.max(0, now - request.arrivedAt) : undefined,
      message,
    });
  }
  if (typeof raw.retryEmailId === 'string') {
    return compact({
      time,
      level,
      component,
      event: 'retry',
      emailId: str(raw.emailId),
      status: 'queued',
      retryEmailId: raw.retryEmailId,
      delaySeconds: num(raw.delaySeconds),
      message: str(raw.message),
    });
  }
  if (component === 'webhook-delivery' && typeof raw.webhookId === 'string' && (level === 'info' || typeof raw.code === 'string')) {
    const delivered = level === 'info';
    return compact({
      time,
      level,
      component,
      event: 'webhook',
      emailId: str(raw.emailId),
      status: delivered ? 'delivered' : 'failed',
      errorCode: delivered ? undefined : str(raw.code),
      // A failed attempt (WHK002/WHK003) says why in `detail`; a refusal (WHK004) in `message`.
      message: delivered ? undefined : str(raw.detail) ?? str(raw.message),
      webhookType: str(raw.type),
      attempt: num(raw.attempt),
      httpStatus: delivered ? num(raw.status) : undefined,
      nextAttemptInSeconds: num(raw.nextAttemptInSeconds),
    });
  }
  const details = Object.fromEntries(Object.entries(raw).filter(([key, value]) => !OWN_FIELDS.has(key) && value !== undefined));
  return compact({
    time,
    level,
    component,
    event: 'log',
    emailId: str(raw.emailId),
    errorCode: str(raw.code),
    message: str(raw.message),
    details: Object.keys(details).length > 0 ? details : undefined,
  });
}

export function jsonLine(entry: RequestLogEntry): string {
  return JSON.stringify(entry);
}

/** The colours of the human format (a chalk instance, or plain text). */
export interface LineColors {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
}

export const NO_COLORS: LineColors = { green: (t) => t, red: (t) => t, yellow: (t) => t, cyan: (t) => t, dim: (t) => t };

/**
 * Request fields are the publisher's text: no control characters (no forged lines or
 * escapes), no line separators and no bidirectional overrides (an emailId ending in U+202E
 * shows the rest of the line reversed), bounded.
 */
function safe(value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function clock(time: string): string {
  const at = new Date(time);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
}

function statusColor(entry: RequestLogEntry, colors: LineColors): (text: string) => string {
  if (entry.level === 'error' || entry.status === 'failed') return colors.red;
  if (entry.level === 'warn' || entry.status === 'returned') return colors.yellow;
  if (entry.status === 'sent' || entry.status === 'delivered') return colors.green;
  return colors.cyan;
}

/**
 * One short line, for example
 * `14:03:07.412 sent      welcome-42 success@simulator.amazonses.com welcome 38 ms`.
 */
export function humanLine(entry: RequestLogEntry, colors: LineColors = NO_COLORS): string {
  const color = statusColor(entry, colors);
  const parts: string[] = [colors.dim(clock(entry.time))];
  const label = (text: string) => color(text.padEnd(9));
  const problem = [entry.errorCode, entry.message].filter((p) => p !== undefined).map((p) => safe(p, 300)).join(' ');
  switch (entry.event) {
    case 'request':
      parts.push(label(entry.status ?? 'outcome'), safe(entry.emailId ?? '-'), safe(entry.to ?? '-'), safe(entry.template ?? '-'));
      if (problem) parts.push(entry.status === 'failed' ? colors.red(problem) : problem);
      if (entry.ms !== undefined) parts.push(colors.dim(`${entry.ms} ms`));
      break;
    case 'retry':
      parts.push(label('retry'), `${safe(entry.emailId ?? '-')} → ${safe(entry.retryEmailId ?? '-')}`);
      if (entry.delaySeconds !== undefined) parts.push(colors.dim(`in ${entry.delaySeconds} s`));
      break;
    case 'webhook': {
      parts.push(label(`webhook`), entry.status === 'delivered' ? colors.green('delivered') : colors.red(`failed ${entry.errorCode ?? ''}`.trim()));
      parts.push(safe(entry.webhookType ?? '-'), safe(entry.emailId ?? '-'));
      const notes = [
        entry.attempt !== undefined ? `attempt ${entry.attempt}` : undefined,
        entry.httpStatus !== undefined ? `HTTP ${entry.httpStatus}` : undefined,
        entry.status === 'failed' && entry.message ? safe(entry.message, 300) : undefined,
        entry.nextAttemptInSeconds !== undefined ? `next in ${entry.nextAttemptInSeconds} s` : undefined,
      ].filter(Boolean);
      if (notes.length > 0) parts.push(colors.dim(`(${notes.join(', ')})`));
      break;
    }
    default: {
      parts.push(label(entry.level), `${entry.component}:`, [entry.errorCode, entry.message].filter(Boolean).map((p) => safe(p, 300)).join(' ') || '-');
      const fields = { ...(entry.emailId !== undefined ? { emailId: entry.emailId } : {}), ...entry.details };
      const shown = Object.entries(fields).map(([key, value]) => `${key}=${safe(value, 120)}`);
      if (shown.length > 0) parts.push(colors.dim(shown.join(' ')));
    }
  }
  return parts.join(' ');
}

/**
 * The send queue's messages that a handler holds right now, so an outcome logged by the
 * Email Sender can be completed with its request's recipient and template. A message is
 * read only when its outcome is logged.
 */
export class InFlightRequests {
  private readonly records = new Map<string, SQSRecord>();

  track(handler: SqsHandler): SqsHandler {
    return async (event) => {
      const records = event.Records ?? [];
      for (const record of records) this.records.set(record.messageId, record);
      try {
        return await handler(event);
      } finally {
        // A message given out again (visibility timeout) while this batch still ran stays tracked.
        for (const record of records) if (this.records.get(record.messageId) === record) this.records.delete(record.messageId);
      }
    };
  }

  get size(): number {
    return this.records.size;
  }

  context(messageId: string): RequestContext | undefined {
    const record = this.records.get(messageId);
    if (!record) return undefined;
    const arrived = Number(record.attributes?.SentTimestamp);
    const context: RequestContext = Number.isFinite(arrived) && arrived > 0 ? { arrivedAt: arrived } : {};
    try {
      const detail = (JSON.parse(record.body) as { detail?: Record<string, unknown> }).detail;
      if (detail && typeof detail === 'object') {
        if (typeof detail.to === 'string') context.to = detail.to;
        if (typeof detail.templateName === 'string') context.template = detail.templateName;
      }
    } catch {
      // Not JSON: the Email Sender tracks it as failed; the line shows what is known.
    }
    return context;
  }
}
