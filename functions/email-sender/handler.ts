import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { SendEmailCommand, type Attachment, type MessageHeader, type MessageTag } from '@aws-sdk/client-sesv2';
import type { LoadedAttachment } from '../core/attachments.js';
import { bounceBrake, brakeMessage, type BrakeDecision } from '../core/bounce-brake.js';
import { mapConcurrently } from '../core/concurrency.js';
import { datePartition } from '../core/dates.js';
import { suppressionKeys } from '../core/email-address.js';
import { EngineError, type ErrorCode } from '../core/error-codes.js';
import { classifyFailure } from '../core/failure-kind.js';
import { engineMessageTags } from '../core/message-tags.js';
import { MISSING_VALUE, parseSendRequest, type InvalidRequest, type ParsedRequest, type ValidRequest } from '../core/request-validation.js';
import { chooseReplyTo, chooseSender } from '../core/sender-identity.js';
import { classifySesError, type SesErrorKind } from '../core/ses-errors.js';
import {
  DEFERRALS_ATTRIBUTE,
  deferralDelaySeconds,
  deferralsOf,
  msToNextSecond,
  rateInForce,
  tokensPerSecond,
  type DeferralReason,
} from '../core/send-pacing.js';
import { readSendQuota, reserveSendTokens, type SendQuota } from '../lib/send-rate.js';
import { compileTemplate, renderEmail, type CompiledTemplate } from '../core/template-render.js';
import type { Outcome } from '../core/outcome.js';
import type { SuppressionEntry } from '../core/types.js';
import { signUnsubscribeToken, unsubscribeUrl } from '../core/unsubscribe-token.js';
import { createDynamoDbClient, type AwsClients } from '../lib/clients.js';
import { createS3Client } from '../lib/clients-s3.js';
import { createSesClient } from '../lib/clients-ses.js';
import { planSend, type SendPlan } from '../core/scheduling.js';
import type { HoldClients } from '../lib/scheduled-sends.js';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { loadAttachments } from '../lib/attachment-store.js';
import { writeLastErrors, type LastError } from '../lib/last-error-store.js';
import { addDailyCounts, readDailyCounts } from '../lib/counters-store.js';
import { ConfigError, type Env } from '../lib/env.js';
import { describeError, jsonLogger } from '../lib/logging.js';
import { loadUnsubscribeSecret } from '../lib/secrets.js';
import { findSuppressed } from '../lib/suppression-store.js';
import { createTemplateStore, type TemplateStore } from '../lib/template-store.js';
import type { CommonHandlerDeps } from '../lib/handler-deps.js';
import {
  buildRecord,
  claim,
  claimTokenOf,
  failScheduled,
  lastAttemptAt,
  markFailed,
  markSent,
  putFailed,
  putScheduled,
  readRecord,
  reclaim,
  releaseClaim,
  type ClaimToken,
  type NewRecordFields,
  type SenderTrackingRecord,
} from '../lib/tracking-store.js';
import { emailSenderConfig, type EmailSenderConfig } from './config.js';

/**
 * Email Sender: consumes the send queue (SQS, partial batch responses).
 *
 * Per batch: one BatchGetItem for every recipient's suppression entry, today's counters
 * read at most once per BRAKE_CACHE_MS per container, templates from the in-memory cache,
 * records processed concurrently, and one counter write for the batch's sent/failed.
 * Per record (SPEC §4): validate → suppressed? → bounce brake → template → sender →
 * claim the emailId → SES SendEmail → mark sent. Every consumed record leaves exactly one
 * tracking record; a record whose outcome is not final (throttling, transient errors,
 * DynamoDB faults, a claim in flight elsewhere) is returned to the queue as a batch item
 * failure, without touching its batch-mates. A record SES throttles, or one the pacing cannot
 * fit into this invocation, is deferred instead: put back on the send queue with a delay and
 * a deferral count (one SendMessageBatch per batch) and the original deleted, so throttling
 * never counts toward the queue's maxReceiveCount. Sends are paced to the SES account's rate
 * across all containers (core/send-pacing.ts): one token reservation per batch. A claim left by an interrupted attempt (a dead
 * container, an ambiguous SES answer) is resolved after INTERRUPTED_SEND_WINDOW_SECONDS
 * from SES's `Send` event: sent if it came, re-claimed and sent once if it did not.
 */

export interface HandlerDeps extends CommonHandlerDeps {
  /** Waits for the next second when the rate is used up (tests pass a fake). */
  sleep: (ms: number) => Promise<void>;
}

/** The CloudWatch namespace of the engine's own metrics (written as embedded-metric-format log lines). */
export const METRICS_NAMESPACE = 'SESMailEngine';

/** How long today's counters are reused for the bounce-rate brake. */
export const BRAKE_CACHE_MS = 5_000;
/**
 * From this receive of a message on, an error the handler did not foresee and that is not a
 * transient or environment fault (core/failure-kind.ts) is tracked `failed` ENG001 instead of
 * returning the message again; from it on, each return also leaves the message's last error
 * (lib/last-error-store.ts). Well below the send queue's 10 receives, so throttling and
 * transient faults still get their retries.
 */
export const UNFORESEEN_ERROR_RECEIVES = 3;
const MAX_ENG_MESSAGE = 500;
/** Records of one batch in flight at once. */
const RECORD_CONCURRENCY = 10;
/**
 * SES calls of one batch in flight at once. Fewer than the records, so that when SES starts
 * throttling, the records still waiting go back to the queue without another call.
 */
const SES_CONCURRENCY = 5;
/** How long the account's sending quota (SES GetAccount) is reused. */
export const QUOTA_CACHE_MS = 5 * 60_000;
/** After a failed GetAccount, how long the engine paces by the stack's cap alone before asking again. */
const QUOTA_RETRY_MS = 60_000;
/**
 * The longest a batch waits, in all, for room under the rate; what has not fitted by then is
 * deferred, well before the function's 30 s timeout.
 */
export const PACING_WAIT_BUDGET_MS = 10_000;
/** Spread of the waits for the next second, so that waiting containers do not all write at once. */
const PACING_JITTER_MS = 100;
/**
 * No reservation in the last part of a second: the send it allows must reach SES within the
 * same second (after the claim), or SES would count it in the next one, on top of that
 * second's own reservations.
 */
export const PACING_SECOND_MARGIN_MS = 150;
/** After SES answers "Daily message quota exceeded.", this container holds sending this long before trying SES again. */
export const DAILY_QUOTA_HOLD_MS = 15 * 60_000;
/** The message attribute that keeps a deferred request's first SQS message id (its fallback emailId). */
export const ORIGINAL_MESSAGE_ID_ATTRIBUTE = 'sesmailengine-message-id';

type RecordOutcome =
  | { kind: 'sent'; emailId: string; sesMessageId: string }
  | { kind: 'failed'; emailId: string; code: ErrorCode; message: string }
  | { kind: 'duplicate'; emailId: string }
  | { kind: 'scheduled'; emailId: string; scheduledFor: string; via: string }
  | { kind: 'returned'; emailId: string; reason: string }
  | { kind: 'deferred'; emailId: string; reason: DeferralReason; detail: string };

interface Runtime {
  config: EmailSenderConfig;
  clients: Pick<AwsClients, 'ddb' | 's3' | 'ses'>;
  templates: TemplateStore<Outcome<CompiledTemplate>>;
  env: Env;
}

interface BatchContext {
  now: Date;
  suppressed: Promise<Map<string, SuppressionEntry>>;
  brake: () => Promise<BrakeDecision>;
  /** Set once SES throttles (or the daily quota holds): the rest of the batch is deferred unsent. */
  deferral: DeferralReason | undefined;
  sesSlots: Semaphore;
  /** A send slot under the rate in force: false when none came within the batch's budget. */
  pace: () => Promise<boolean>;
}

/**
 * One batch's share of the rate: tokens reserved for the current second on the shared
 * counter item, asked for as many as the batch's records still waiting (at most a second's
 * worth), so a batch usually makes one reservation.
 */
class BatchPacer {
  private tokens = 0;
  /** The epoch second the tokens are for; they lapse with it. */
  private second = -1;
  private refilling: Promise<void> | undefined;
  /** Reservations that found the second full; bounded too, so that a stopped clock cannot wait forever. */
  private misses = 0;
  waiting: number;
  constructor(
    records: number,
    private readonly reserve: (second: number, asked: number) => Promise<number>,
    private readonly limit: number,
    private readonly deadline: number,
    private readonly clock: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    this.waiting = records;
  }

  async take(): Promise<boolean> {
    for (;;) {
      if (this.tokens > 0 && Math.floor(this.clock() / 1000) !== this.second) this.tokens = 0;
      if (this.tokens > 0) break;
      if (this.clock() >= this.deadline || this.misses > PACING_WAIT_BUDGET_MS / 100) return false;
      this.refilling ??= this.refill().finally(() => {
        this.refilling = undefined;
      });
      await this.refilling;
    }
    this.tokens--;
    this.waiting--;
    return true;
  }

  private async refill(): Promise<void> {
    const intoSecond = this.clock() % 1000;
    if (intoSecond > 1000 - PACING_SECOND_MARGIN_MS) {
      await this.sleep(1000 - intoSecond);
      return;
    }
    const second = Math.floor(this.clock() / 1000);
    const got = await this.reserve(second, Math.max(1, Math.min(this.waiting, this.limit)));
    if (got > 0) {
      this.tokens = got;
      this.second = second;
      return;
    }
    this.misses++;
    const wait = msToNextSecond(this.clock(), PACING_JITTER_MS);
    if (this.clock() + wait < this.deadline) await this.sleep(wait);
    else await this.sleep(Math.max(0, this.deadline - this.clock()));
  }
}

class Deferred extends Error {
  constructor(
    readonly reason: DeferralReason,
    message: string,
  ) {
    super(message);
  }
}

class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

class Returned extends Error {}

/** How far one record got, so an unforeseen error can be judged: never ENG001 once SES may have the message. */
interface Progress {
  fields?: NewRecordFields;
  claim?: ClaimToken;
  sesCalled: boolean;
}

/** A record whose body the parser could not even judge (it threw). */
type Parsed = ParsedRequest | { ok: 'crashed'; error: unknown; emailId: string };


/** SES builds the MIME part (base64, RFC 2231 filename encoding) from these fields. */
function sesAttachment(file: LoadedAttachment): Attachment {
  return { RawContent: file.content, FileName: file.filename, ContentType: file.contentType, ContentDisposition: 'ATTACHMENT', ContentTransferEncoding: 'BASE64' };
}

function emailIdOf(parsed: Parsed): string {
  if (parsed.ok === 'crashed') return parsed.emailId;
  return parsed.ok ? parsed.request.emailId : parsed.failure.emailId;
}

function attributeOf(record: SQSRecord, name: string): string | undefined {
  const value = record.messageAttributes?.[name]?.stringValue;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** SQS's ApproximateReceiveCount (1 when absent or unreadable). */
function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(count) && count > 0 ? count : 1;
}

function keysOrNone(request: ValidRequest): string[] {
  try {
    return suppressionKeys(request.to);
  } catch {
    return [];
  }
}

/** One record's request; a parser that throws fails that record only, never its batch. */
function parseRecord(record: SQSRecord, now: Date): Parsed {
  try {
    // A deferred copy keeps the first message's id, the emailId of a request without an event id.
    return parseSendRequest(record.body ?? '', attributeOf(record, ORIGINAL_MESSAGE_ID_ATTRIBUTE) ?? record.messageId, now);
  } catch (error) {
    return { ok: 'crashed', error, emailId: `email-${typeof record.messageId === 'string' ? record.messageId : 'unknown'}` };
  }
}

export function createEmailSenderHandler(deps: Partial<HandlerDeps> = {}): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? jsonLogger('email-sender');
  let runtime: Runtime | undefined;
  let holdClients: HoldClients | undefined;
  let brakeCache: { day: string; expiresAt: number; counts: Promise<{ sent: number; bounced: number }> } | undefined;
  let quotaCache: { expiresAt: number; quota: Promise<SendQuota | undefined> } | undefined;
  /** Until when this container holds sending after SES said the daily quota is used up. */
  let dailyHoldUntil = 0;
  let sqsClient: SQSClient | undefined;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  function resolve(): Runtime {
    if (!runtime) {
      const env = deps.env ?? process.env;
      const config = emailSenderConfig(env);
      const clients = {
        ddb: deps.clients?.ddb ?? createDynamoDbClient(),
        s3: deps.clients?.s3 ?? createS3Client(env),
        ses: deps.clients?.ses ?? createSesClient(),
      };
      const templates = createTemplateStore({
        s3: clients.s3,
        bucket: config.templateBucket,
        ttlSeconds: config.templateCacheSeconds,
        prepare: compileTemplate,
        now: () => now().getTime(),
      });
      runtime = { config, clients, templates, env };
    }
    return runtime;
  }

  function todaysCounts(rt: Runtime, at: Date): Promise<{ sent: number; bounced: number }> {
    const day = datePartition(at);
    const nowMs = at.getTime();
    if (brakeCache && brakeCache.day === day && brakeCache.expiresAt > nowMs) return brakeCache.counts;
    const entry = {
      day,
      expiresAt: nowMs + BRAKE_CACHE_MS,
      counts: readDailyCounts(rt.clients.ddb, rt.config.countersTable, day),
    };
    entry.counts.catch(() => {
      if (brakeCache === entry) brakeCache = undefined;
    });
    brakeCache = entry;
    return entry.counts;
  }

  /** The account's quota, read at most once per QUOTA_CACHE_MS per container; undefined while GetAccount fails. */
  function sendQuota(rt: Runtime): Promise<SendQuota | undefined> {
    const nowMs = now().getTime();
    if (quotaCache && quotaCache.expiresAt > nowMs) return quotaCache.quota;
    const entry = {
      expiresAt: nowMs + QUOTA_CACHE_MS,
      quota: readSendQuota(rt.clients.ses).catch((error: unknown) => {
        entry.expiresAt = now().getTime() + QUOTA_RETRY_MS;
        log({ level: 'warn', outcome: 'send-quota-unknown', error: describeError(error), cap: rt.config.maxSendRate });
        return undefined;
      }),
    };
    quotaCache = entry;
    return entry.quota;
  }

  async function batchPacer(rt: Runtime, records: number, startMs: number): Promise<BatchPacer | undefined> {
    const quota = await sendQuota(rt);
    const rate = rateInForce(quota?.maxSendRate, rt.config.maxSendRate);
    if (rate === undefined) return undefined;
    const limit = tokensPerSecond(rate);
    const clock = () => now().getTime();
    const reserve = (second: number, asked: number) => reserveSendTokens(rt.clients.ddb, rt.config.countersTable, second, asked, limit);
    return new BatchPacer(records, reserve, limit, startMs + PACING_WAIT_BUDGET_MS, clock, sleep);
  }

  /** Imported on first use, like the scheduled sends' clients: most batches defer nothing. */
  async function sqs(): Promise<SQSClient> {
    if (!sqsClient) {
      const { createSqsClient } = await import('../lib/clients-sqs.js');
      sqsClient = deps.clients?.sqs ?? createSqsClient();
    }
    return sqsClient;
  }

  /**
   * Puts deferred requests back on the send queue, delayed, with their deferral count: one
   * SendMessageBatch. Returns the message ids that could not be deferred (they are returned
   * to the queue as batch item failures instead).
   */
  async function deferRecords(rt: Runtime, deferred: { record: SQSRecord; reason: DeferralReason }[]): Promise<Set<string>> {
    if (deferred.length === 0) return new Set();
    const queueUrl = rt.config.sendQueueUrl;
    if (!queueUrl) return new Set(deferred.map((d) => d.record.messageId));
    const entries = deferred.map(({ record, reason }, i) => {
      const deferrals = deferralsOf(attributeOf(record, DEFERRALS_ATTRIBUTE)) + 1;
      return {
        Id: String(i),
        MessageBody: record.body ?? '',
        DelaySeconds: deferralDelaySeconds(reason, deferrals - 1),
        MessageAttributes: {
          [DEFERRALS_ATTRIBUTE]: { DataType: 'Number', StringValue: String(deferrals) },
          [ORIGINAL_MESSAGE_ID_ATTRIBUTE]: { DataType: 'String', StringValue: attributeOf(record, ORIGINAL_MESSAGE_ID_ATTRIBUTE) ?? record.messageId },
        },
      };
    });
    try {
      const { SendMessageBatchCommand } = await import('../lib/clients-sqs.js');
      const out = await (await sqs()).send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      return new Set((out.Failed ?? []).map((f) => deferred[Number(f.Id)]!.record.messageId));
    } catch (error) {
      log({ level: 'error', outcome: 'deferral-failed', count: deferred.length, error: describeError(error) });
      return new Set(deferred.map((d) => d.record.messageId));
    }
  }

  async function writeFailed(rt: Runtime, ctx: BatchContext, fields: NewRecordFields, code: ErrorCode, message: string): Promise<RecordOutcome> {
    const record = buildRecord(fields, 'failed', ctx.now, rt.config.trackingRetentionDays, { code, message });
    const written = await putFailed(rt.clients.ddb, rt.config.trackingTable, record);
    if (written) return { kind: 'failed', emailId: fields.emailId, code, message };
    // A record exists. A finished one wins; a `sending` claim an interrupted attempt left is
    // settled like any other (SES's Send event, else the window), with this failure once
    // SES is known never to have accepted it.
    const existing = await readRecord(rt.clients.ddb, rt.config.trackingTable, fields.emailId);
    if (existing?.status !== 'sending') return { kind: 'duplicate', emailId: fields.emailId };
    const settled = await settleInterruptedClaim(rt, ctx, fields.emailId, existing);
    if (settled !== 'unsent') return settled;
    const marked = await markFailed(rt.clients.ddb, rt.config.trackingTable, fields.emailId, claimTokenOf(existing), { code, message });
    return marked ? { kind: 'failed', emailId: fields.emailId, code, message } : { kind: 'duplicate', emailId: fields.emailId };
  }

  function invalidFields(failure: InvalidRequest): NewRecordFields {
    return {
      emailId: failure.emailId,
      originalEmailId: failure.originalEmailId,
      retryAttempt: failure.retryAttempt,
      toEmail: failure.toEmail,
      templateName: failure.templateName,
      originalSource: failure.source,
      ...(failure.subject !== undefined ? { subject: failure.subject } : {}),
      ...(failure.metadata !== undefined ? { metadata: failure.metadata } : {}),
    };
  }

  function crashedFields(parsed: { emailId: string }): NewRecordFields {
    return { emailId: parsed.emailId, originalEmailId: parsed.emailId, retryAttempt: 0, toEmail: MISSING_VALUE, templateName: MISSING_VALUE, originalSource: MISSING_VALUE };
  }

  function requestFields(request: ValidRequest): NewRecordFields {
    return {
      emailId: request.emailId,
      originalEmailId: request.originalEmailId,
      retryAttempt: request.retryAttempt,
      toEmail: request.to.normalized,
      templateName: request.templateName,
      originalSource: request.source,
      ...(request.subject !== undefined ? { subject: request.subject } : {}),
      ...(request.metadata !== undefined ? { metadata: request.metadata } : {}),
      request: request.stored,
      ...(request.sendAt !== undefined ? { scheduledFor: request.sendAt } : {}),
    };
  }

  /** A request not yet due: tracked `scheduled`, then held on the queue or in EventBridge Scheduler (scheduled-sends.ts). */
  async function holdRequest(rt: Runtime, ctx: BatchContext, request: ValidRequest & { sendAt: string }, body: string, plan: Exclude<SendPlan, { kind: 'now' }>): Promise<RecordOutcome> {
    const put = await putScheduled(rt.clients.ddb, rt.config.trackingTable, buildRecord(requestFields(request), 'scheduled', ctx.now, rt.config.trackingRetentionDays));
    if (!put.written) {
      if (!put.existing) throw new Returned('the scheduled record conflicted with a record that is gone; retrying');
      // Anything but this request's own scheduled record (sent, cancelled, another sendAt) wins.
      if (put.existing.status !== 'scheduled' || put.existing.scheduledFor !== request.sendAt) return { kind: 'duplicate', emailId: request.emailId };
    }
    // Imported on first use (a separate chunk in the Lambda bundle): most requests are not
    // scheduled, and the SQS and Scheduler SDK packages would add to every cold start.
    const { holdUntilDue, schedulingConfig, SchedulingRefused } = await import('../lib/scheduled-sends.js');
    if (!holdClients) {
      const [{ createSqsClient }, { createSchedulerClient }] = await Promise.all([
        import('../lib/clients-sqs.js'),
        import('../lib/clients-scheduler.js'),
      ]);
      let sqs = deps.clients?.sqs;
      let scheduler = deps.clients?.scheduler;
      holdClients = { sqs: () => (sqs ??= createSqsClient()), scheduler: () => (scheduler ??= createSchedulerClient()) };
    }
    try {
      const hold = await holdUntilDue(holdClients, schedulingConfig(rt.env), request.emailId, body, plan);
      return { kind: 'scheduled', emailId: request.emailId, scheduledFor: request.sendAt, via: hold.via };
    } catch (error) {
      if (!(error instanceof SchedulingRefused)) throw error;
      const marked = await failScheduled(rt.clients.ddb, rt.config.trackingTable, request.emailId, { code: 'SCH002', message: error.message });
      return marked ? { kind: 'failed', emailId: request.emailId, code: 'SCH002', message: error.message } : { kind: 'duplicate', emailId: request.emailId };
    }
  }

  async function unsubscribeHeaders(rt: Runtime, request: ValidRequest): Promise<Outcome<{ link: string; headers: MessageHeader[] }>> {
    const url = rt.config.unsubscribeUrl;
    if (url === undefined) {
      return { ok: false, code: 'UNS001', message: 'This email needs an unsubscribe link, but UNSUBSCRIBE_URL is not set.' };
    }
    let secret: string;
    try {
      secret = await loadUnsubscribeSecret(rt.env);
    } catch (error) {
      if (error instanceof ConfigError) return { ok: false, code: 'UNS001', message: error.message };
      throw error;
    }
    const link = unsubscribeUrl(url, signUnsubscribeToken(secret, request.to.address));
    const targets = [`<${link}>`];
    if (rt.config.unsubscribeMailto) targets.push(`<mailto:${rt.config.unsubscribeMailto}?subject=unsubscribe>`);
    return {
      ok: true,
      value: {
        link,
        headers: [
          { Name: 'List-Unsubscribe', Value: targets.join(', ') },
          { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
        ],
      },
    };
  }

  /**
   * The emailId is claimed already. A record past `sending` is a finished duplicate. A
   * `sending` claim is an attempt in flight until the interrupted-send window has passed
   * since it was made; after that, SES's `Send` event is the evidence: the Feedback Processor
   * raises the record to `sent` (and sets sesMessageId) on it, so a claim still `sending`
   * without a sesMessageId was never accepted by SES, and is re-claimed and sent (policy
   * `resend`) or marked failed DUP001 (policy `fail`).
   */
  /**
   * A `sending` claim someone else made: an attempt in flight until the interrupted-send
   * window has passed since it was made; after that, SES's `Send` event is the evidence: the
   * Feedback Processor raises the record to `sent` (and sets sesMessageId) on it. Returns the
   * outcome when the claim is settled or must wait, 'unsent' when SES never accepted it.
   */
  async function settleInterruptedClaim(rt: Runtime, ctx: BatchContext, emailId: string, existing: SenderTrackingRecord): Promise<RecordOutcome | 'unsent'> {
    if (existing.sesMessageId !== undefined) {
      // SES accepted it (its MessageId is known); only the status lags behind.
      await markSent(rt.clients.ddb, rt.config.trackingTable, emailId, { sesMessageId: existing.sesMessageId, sentAt: existing.sentAt ?? ctx.now.toISOString() });
      return { kind: 'duplicate', emailId };
    }
    const since = lastAttemptAt(existing);
    const decidesAt = Date.parse(since) + rt.config.interruptedSendWindowSeconds * 1000;
    if (!(ctx.now.getTime() >= decidesAt)) {
      throw new Returned(`attempt ${existing.sendAttempts ?? 1} claimed this emailId at ${since} and has not finished; waiting for SES's Send event until ${new Date(decidesAt).toISOString()}`);
    }
    return 'unsent';
  }

  /**
   * The emailId is claimed already. A record past `sending` is a finished duplicate. A
   * `sending` claim that SES never accepted (settleInterruptedClaim) is re-claimed and sent
   * (policy `resend`) or marked failed DUP001 (policy `fail`).
   */
  async function resolveExistingClaim(
    rt: Runtime,
    ctx: BatchContext,
    emailId: string,
    existing: SenderTrackingRecord | undefined,
  ): Promise<{ token: ClaimToken } | { outcome: RecordOutcome }> {
    if (!existing) throw new Returned('the claim conflicted with a record that is gone; retrying');
    if (existing.status !== 'sending') return { outcome: { kind: 'duplicate', emailId } };
    const settled = await settleInterruptedClaim(rt, ctx, emailId, existing);
    if (settled !== 'unsent') return { outcome: settled };
    const held = claimTokenOf(existing);
    const since = lastAttemptAt(existing);
    const waited = `no Send event from SES within ${rt.config.interruptedSendWindowSeconds} s`;
    if (rt.config.interruptedSendPolicy === 'fail') {
      const message = `An attempt claimed this emailId at ${since} and never finished (${waited}); the interrupted-send policy is "fail", so it is not sent again.`;
      const marked = await markFailed(rt.clients.ddb, rt.config.trackingTable, emailId, held, { code: 'DUP001', message });
      return { outcome: marked ? { kind: 'failed', emailId, code: 'DUP001', message } : { kind: 'duplicate', emailId } };
    }
    const note = `resent after an interrupted attempt (attempt ${held.attempt} claimed at ${since}; ${waited})`;
    const token = await reclaim(rt.clients.ddb, rt.config.trackingTable, emailId, held, ctx.now.toISOString(), note);
    if (!token) throw new Returned('the interrupted claim changed (SES feedback raised it, or another sender re-claimed it); retrying to find out');
    return { token };
  }

  async function processValid(rt: Runtime, ctx: BatchContext, request: ValidRequest, messageBody: string, progress: Progress): Promise<RecordOutcome> {
    if (request.sendAt !== undefined) {
      const plan = planSend(new Date(request.sendAt), ctx.now);
      if (plan.kind !== 'now') return holdRequest(rt, ctx, request as ValidRequest & { sendAt: string }, messageBody, plan);
    }
    const fields = requestFields(request);
    progress.fields = fields;
    const fail = (code: ErrorCode, message: string) => writeFailed(rt, ctx, fields, code, message);

    // 2. Suppression list.
    const suppressed = await ctx.suppressed;
    const entry = suppressionKeys(request.to).map((key) => suppressed.get(key)).find((found) => found !== undefined);
    if (entry) {
      const since = entry.createdAt ? ` since ${entry.createdAt}` : '';
      return fail('SUP001', `The recipient is on the suppression list (reason: ${entry.reason}${since}).`);
    }

    // 3. Bounce-rate brake.
    const brake = await ctx.brake();
    if (brake.over) return fail('BRK001', brakeMessage(brake, rt.config.bounceRateThreshold));

    // 4. Template.
    let compiled: Outcome<CompiledTemplate>;
    try {
      compiled = await rt.templates.get(request.templateName);
    } catch (error) {
      if (error instanceof EngineError) return fail(error.code, error.message);
      throw error;
    }
    if (!compiled.ok) return fail(compiled.code, `Template "${request.templateName}": ${compiled.message}`);
    const template = compiled.value;

    const unsubscribeOn = request.unsubscribe ?? template.metadata.category === 'marketing';
    let headers: MessageHeader[] | undefined;
    let data = request.templateData;
    if (unsubscribeOn) {
      const unsubscribe = await unsubscribeHeaders(rt, request);
      if (!unsubscribe.ok) return fail(unsubscribe.code, unsubscribe.message);
      headers = unsubscribe.value.headers;
      if (!Object.hasOwn(data, 'unsubscribeLink')) data = { ...data, unsubscribeLink: unsubscribe.value.link };
    }

    const rendered = renderEmail(template, data, {
      ...(request.subject !== undefined ? { subjectOverride: request.subject } : {}),
      renderReplyTo: request.replyTo === undefined,
    });
    if (!rendered.ok) return fail(rendered.code, rendered.message);
    const email = rendered.value;
    fields.subject = email.subject;

    // 5. From and Reply-To.
    const sender = chooseSender({
      ...(request.senderOverride ? { request: request.senderOverride } : {}),
      template: { ...(template.senderAddress ? { address: template.senderAddress } : {}), ...(template.metadata.senderName ? { name: template.metadata.senderName } : {}) },
      ...(rt.config.defaultSender ? { stackDefault: rt.config.defaultSender } : {}),
    });
    if (!sender.ok) return fail(sender.code, sender.message);
    fields.senderEmail = sender.value.address.address;
    const replyTo = chooseReplyTo(request.replyTo, email.replyTo);
    if (!replyTo.ok) return fail(replyTo.code, replyTo.message);

    // Attachments: read (sizes checked before any file is downloaded) before the claim, so a
    // missing or oversized file is tracked failed like any other bad request.
    let files: LoadedAttachment[] = [];
    if (request.attachments.length > 0) {
      const loaded = await loadAttachments(request.attachments, {
        s3: rt.clients.s3,
        bucket: rt.config.templateBucket,
        bodyBytes: Buffer.byteLength(email.html, 'utf8') + Buffer.byteLength(email.text, 'utf8'),
        maxAttachmentBytes: rt.config.maxAttachmentBytes,
      });
      if (!loaded.ok) return fail(loaded.code, loaded.message);
      files = loaded.value;
    }

    // 6. Pace, claim, send, record. Waiting for a slot under the rate holds no claim.
    if (ctx.deferral) throw new Deferred(ctx.deferral, 'SES is throttling; deferred unsent');
    if (!(await ctx.pace())) throw new Deferred('pacing', `no room under the SES send rate within ${PACING_WAIT_BUDGET_MS / 1000} s; deferred unsent`);
    if (ctx.deferral) throw new Deferred(ctx.deferral, 'SES is throttling; deferred unsent');
    const claimRecord = buildRecord(fields, 'sending', ctx.now, rt.config.trackingRetentionDays);
    claimRecord.sendAttempts = 1;
    const claimed = await claim(rt.clients.ddb, rt.config.trackingTable, claimRecord);
    let token: ClaimToken;
    if (claimed.claimed) {
      token = { claimedAt: claimRecord.timestamp, attempt: 1 };
    } else {
      const taken = await resolveExistingClaim(rt, ctx, request.emailId, claimed.existing);
      if ('outcome' in taken) return taken.outcome;
      token = taken.token;
    }
    progress.claim = token;

    const release = async (reason: string): Promise<never> => {
      await releaseClaim(rt.clients.ddb, rt.config.trackingTable, request.emailId, token);
      throw new Returned(reason);
    };
    // The claim is released before the request goes back on the queue, so its copy claims afresh.
    const defer = async (reason: DeferralReason, detail: string): Promise<never> => {
      await releaseClaim(rt.clients.ddb, rt.config.trackingTable, request.emailId, token);
      throw new Deferred(reason, detail);
    };

    const tags: MessageTag[] = engineMessageTags(request.emailId, request.templateName);
    const body = {
      ...(email.html.trim() !== '' ? { Html: { Data: email.html, Charset: 'UTF-8' } } : {}),
      ...(email.text.trim() !== '' ? { Text: { Data: email.text, Charset: 'UTF-8' } } : {}),
    };
    const command = new SendEmailCommand({
      FromEmailAddress: sender.value.fromHeader,
      Destination: { ToAddresses: [request.to.address] },
      ...(replyTo.value ? { ReplyToAddresses: [replyTo.value.address] } : {}),
      ConfigurationSetName: rt.config.configurationSet,
      EmailTags: tags,
      Content: {
        Simple: {
          Subject: { Data: email.subject, Charset: 'UTF-8' },
          Body: body,
          ...(headers ? { Headers: headers } : {}),
          ...(files.length > 0 ? { Attachments: files.map(sesAttachment) } : {}),
        },
      },
    });
    // Only the SES call holds a slot; the deferral is set before the slot is handed on.
    let result: { sent: string } | { error: SesErrorKind } | 'skipped';
    await ctx.sesSlots.acquire();
    try {
      if (ctx.deferral) {
        result = 'skipped';
      } else {
        try {
          progress.sesCalled = true;
          const out = await rt.clients.ses.send(command);
          result = { sent: out.MessageId ?? '' };
        } catch (error) {
          result = { error: classifySesError(error) };
          if (result.error.kind === 'throttled') {
            ctx.deferral = result.error.daily ? 'daily-quota' : 'rate';
            if (result.error.daily) dailyHoldUntil = now().getTime() + DAILY_QUOTA_HOLD_MS;
          }
        }
      }
    } finally {
      ctx.sesSlots.release();
    }
    if (result === 'skipped') return defer(ctx.deferral ?? 'rate', 'SES is throttling; deferred unsent');
    if ('error' in result) {
      const kind = result.error;
      if (kind.kind === 'throttled') return defer(kind.daily ? 'daily-quota' : 'rate', `SES throttled the send: ${kind.message}`);
      if (kind.kind === 'ambiguous') {
        // SES may have accepted it: keep the claim. The message comes back after the visibility
        // timeout and finds the claim; after the window, SES's Send event (or none) decides.
        throw new Returned(`ambiguous SES answer, the claim is kept until SES's Send event or the window decides: ${kind.message}`);
      }
      if (kind.kind !== 'permanent') return release(`${kind.kind} SES error: ${kind.message}`);
      const marked = await markFailed(rt.clients.ddb, rt.config.trackingTable, request.emailId, token, { code: kind.code, message: kind.message });
      if (!marked) throw new Returned('the claim changed while SES refused the message; retrying');
      return { kind: 'failed', emailId: request.emailId, code: kind.code, message: kind.message };
    }
    const sesMessageId = result.sent;

    try {
      await markSent(rt.clients.ddb, rt.config.trackingTable, request.emailId, { sesMessageId, sentAt: now().toISOString() });
    } catch (error) {
      // Sent, but not recorded: leave the claim. SES's Send event raises it to `sent`, and a
      // redelivery that finds it raised is a duplicate.
      throw new Returned(`sent (SES ${sesMessageId}) but the record could not be updated: ${describeError(error)}`);
    }
    return { kind: 'sent', emailId: request.emailId, sesMessageId };
  }

  /**
   * An error the handler did not foresee, on the UNFORESEEN_ERROR_RECEIVES-th receive or later:
   * the request is tracked `failed` ENG001 (on its own claim if it holds one that SES never
   * saw, else as a new record) and the message consumed.
   */
  async function trackUnforeseen(rt: Runtime, ctx: BatchContext, parsed: Parsed, progress: Progress, error: unknown, receiveCount: number): Promise<RecordOutcome> {
    const emailId = emailIdOf(parsed);
    const message = `An error the Email Sender does not handle, on ${receiveCount} receives of this request: ${describeError(error)}`.slice(0, MAX_ENG_MESSAGE);
    if (progress.claim) {
      const marked = await markFailed(rt.clients.ddb, rt.config.trackingTable, emailId, progress.claim, { code: 'ENG001', message });
      if (!marked) throw new Returned(`the claim changed while tracking an unforeseen error; retrying: ${describeError(error)}`);
      return { kind: 'failed', emailId, code: 'ENG001', message };
    }
    const fields = progress.fields ?? (parsed.ok === true ? requestFields(parsed.request) : parsed.ok === false ? invalidFields(parsed.failure) : crashedFields(parsed));
    return writeFailed(rt, ctx, fields, 'ENG001', message);
  }

  async function processRecord(rt: Runtime, ctx: BatchContext, parsed: Parsed, body: string, receiveCount: number): Promise<RecordOutcome> {
    const emailId = emailIdOf(parsed);
    const progress: Progress = { sesCalled: false };
    try {
      if (parsed.ok === 'crashed') throw parsed.error;
      if (!parsed.ok) {
        return await writeFailed(rt, ctx, invalidFields(parsed.failure), parsed.failure.code, parsed.failure.message);
      }
      return await processValid(rt, ctx, parsed.request, body, progress);
    } catch (error) {
      if (error instanceof Returned) return { kind: 'returned', emailId, reason: error.message };
      if (error instanceof Deferred) return { kind: 'deferred', emailId, reason: error.reason, detail: error.message };
      const reason = describeError(error);
      if (receiveCount >= UNFORESEEN_ERROR_RECEIVES && !progress.sesCalled && classifyFailure(error) === 'request') {
        try {
          return await trackUnforeseen(rt, ctx, parsed, progress, error, receiveCount);
        } catch (tracking) {
          return { kind: 'returned', emailId, reason: `${reason} (tracking it failed ENG001 failed too: ${tracking instanceof Returned ? tracking.message : describeError(tracking)})` };
        }
      }
      return { kind: 'returned', emailId, reason };
    }
  }

  return async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    const rt = resolve();
    const records = event.Records ?? [];
    const batchNow = now();
    const parsed = records.map((record: SQSRecord) => parseRecord(record, batchNow));
    // A record whose keys cannot be computed here fails on its own, in processRecord.
    const recipients = parsed.flatMap((p) => (p.ok === true ? keysOrNone(p.request) : []));
    const suppressed =
      recipients.length > 0 ? findSuppressed(rt.clients.ddb, rt.config.suppressionTable, recipients) : Promise.resolve(new Map());
    suppressed.catch(() => undefined);
    let brake: Promise<BrakeDecision> | undefined;
    const pacer = await batchPacer(rt, records.length, batchNow.getTime());
    const ctx: BatchContext = {
      now: batchNow,
      suppressed,
      brake: () =>
        (brake ??= todaysCounts(rt, batchNow).then((counts) =>
          bounceBrake(counts, rt.config.bounceRateThreshold, rt.config.bounceRateMinSends),
        )),
      deferral: dailyHoldUntil > batchNow.getTime() ? 'daily-quota' : undefined,
      sesSlots: new Semaphore(SES_CONCURRENCY),
      pace: () => (pacer ? pacer.take() : Promise.resolve(true)),
    };

    const outcomes = await mapConcurrently(parsed.map((request, i) => ({ request, record: records[i]! })), RECORD_CONCURRENCY, ({ request, record }) =>
      processRecord(rt, ctx, request, record.body ?? '', receiveCountOf(record)),
    );

    const toDefer = outcomes.flatMap((outcome, i) => (outcome.kind === 'deferred' ? [{ record: records[i]!, reason: outcome.reason }] : []));
    const notDeferred = await deferRecords(rt, toDefer);
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    let heldForQuota = 0;
    const lastErrors: LastError[] = [];
    let sent = 0;
    let failed = 0;
    outcomes.forEach((outcome, i) => {
      const messageId = records[i]!.messageId;
      switch (outcome.kind) {
        case 'sent':
          sent++;
          log({ level: 'info', outcome: 'sent', emailId: outcome.emailId, sesMessageId: outcome.sesMessageId, messageId });
          break;
        case 'failed':
          failed++;
          log({ level: 'warn', outcome: 'failed', emailId: outcome.emailId, errorCode: outcome.code, errorMessage: outcome.message, messageId });
          break;
        case 'duplicate':
          log({ level: 'info', outcome: 'duplicate', emailId: outcome.emailId, messageId });
          break;
        case 'scheduled':
          log({ level: 'info', outcome: 'scheduled', emailId: outcome.emailId, scheduledFor: outcome.scheduledFor, via: outcome.via, messageId });
          break;
        case 'deferred':
          if (notDeferred.has(messageId)) {
            batchItemFailures.push({ itemIdentifier: messageId });
            log({ level: 'warn', outcome: 'returned', emailId: outcome.emailId, reason: `${outcome.detail} (deferring it failed)`, messageId });
            break;
          }
          if (outcome.reason === 'daily-quota') heldForQuota++;
          log({ level: outcome.reason === 'daily-quota' ? 'warn' : 'info', outcome: 'deferred', emailId: outcome.emailId, reason: outcome.reason, detail: outcome.detail, messageId });
          break;
        case 'returned': {
          batchItemFailures.push({ itemIdentifier: messageId });
          const receiveCount = receiveCountOf(records[i]!);
          if (receiveCount >= UNFORESEEN_ERROR_RECEIVES) lastErrors.push({ messageId, emailId: outcome.emailId, reason: outcome.reason, receiveCount, at: batchNow.toISOString() });
          log({ level: 'warn', outcome: 'returned', emailId: outcome.emailId, reason: outcome.reason, messageId });
          break;
        }
      }
    });

    if (heldForQuota > 0) {
      // An embedded-metric-format line: CloudWatch turns it into the DailyQuotaHeld metric the
      // stack's alarm watches, without a PutMetricData call.
      log({
        level: 'warn',
        outcome: 'daily-quota-held',
        count: heldForQuota,
        message: 'SES says the daily sending quota is used up; sending is held and requests are deferred until it allows.',
        _aws: { Timestamp: batchNow.getTime(), CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['Stack']], Metrics: [{ Name: 'DailyQuotaHeld', Unit: 'Count' }] }] },
        Stack: rt.config.stackName ?? 'local',
        DailyQuotaHeld: heldForQuota,
      });
    }

    if (lastErrors.length > 0) {
      try {
        await writeLastErrors(rt.clients.ddb, rt.config.countersTable, lastErrors, batchNow);
      } catch (error) {
        // Only the note for `dlq list` is lost; the messages are back on the queue either way.
        log({ level: 'error', outcome: 'last-errors-not-written', count: lastErrors.length, error: describeError(error) });
      }
    }

    try {
      await addDailyCounts(rt.clients.ddb, rt.config.countersTable, datePartition(batchNow), { sent, failed });
    } catch (error) {
      // The emails are sent and tracked; a lost counter update only skews today's rates.
      log({ level: 'error', outcome: 'counters-not-updated', sent, failed, error: describeError(error) });
    }
    return { batchItemFailures };
  };
}

export const handler = createEmailSenderHandler();
