import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { MessageHeader } from '@aws-sdk/client-sesv2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LoadedAttachment } from '../core/attachments.js';
import { bounceBrake, brakeMessage, type BrakeDecision, type BrakeSettings } from '../core/bounce-brake.js';
import { mapConcurrently } from '../core/concurrency.js';
import { datePartition } from '../core/dates.js';
import { suppressionKeys } from '../core/email-address.js';
import { EngineError, type ErrorCode } from '../core/error-codes.js';
import { classifyFailure } from '../core/failure-kind.js';
import type { Outcome } from '../core/outcome.js';
import type { ValidRequest } from '../core/request-validation.js';
import { planSend, type SendPlan } from '../core/scheduling.js';
import { chooseReplyTo, chooseSender } from '../core/sender-identity.js';
import { classifySesError, type SesErrorKind } from '../core/ses-errors.js';
import { DEFERRALS_ATTRIBUTE, deferralDelaySeconds, deferralsOf, rateInForce, tokensPerSecond, type DeferralReason } from '../core/send-pacing.js';
import { compileTemplate, renderEmail, type CompiledTemplate, type RenderedEmail } from '../core/template-render.js';
import { loadAttachments } from '../lib/attachment-store.js';
import { createDynamoDbClient } from '../lib/clients.js';
import { createS3Client } from '../lib/clients-s3.js';
import { createSesClient } from '../lib/clients-ses.js';
import { addDailyCounts, readDailyCounts } from '../lib/counters-store.js';
import { writeLastErrors } from '../lib/last-error-store.js';
import { describeError, jsonLogger, type Logger } from '../lib/logging.js';
import type { HoldClients } from '../lib/scheduled-sends.js';
import { readSendQuota, reserveSendTokens, type SendQuota } from '../lib/send-rate.js';
import { findSuppressed } from '../lib/suppression-store.js';
import { createTemplateStore } from '../lib/template-store.js';
import { buildRecord, claim, failScheduled, markFailed, markSent, putScheduled, releaseClaim, type ClaimToken, type NewRecordFields } from '../lib/tracking-store.js';
import type { CommonHandlerDeps } from '../lib/handler-deps.js';
import { BatchPacer, Semaphore } from './batch-pacer.js';
import { logDailyQuotaHeld, tallyOutcomes, type BatchTally } from './batch-report.js';
import { resolveExistingClaim, writeFailed } from './claims.js';
import { emailSenderConfig, type EmailSenderConfig } from './config.js';
import {
  BRAKE_CACHE_MS,
  DAILY_QUOTA_HOLD_MS,
  MAX_ENG_MESSAGE,
  ORIGINAL_MESSAGE_ID_ATTRIBUTE,
  PACING_WAIT_BUDGET_MS,
  QUOTA_CACHE_MS,
  QUOTA_RETRY_MS,
  RECORD_CONCURRENCY,
  SES_CONCURRENCY,
  UNFORESEEN_ERROR_RECEIVES,
} from './limits.js';
import { sendEmailCommand, unsubscribeHeaders, type PreparedEmail } from './ses-message.js';
import {
  attributeOf,
  Deferred,
  emailIdOf,
  fieldsOf,
  invalidFields,
  keysOrNone,
  parseRecord,
  receiveCountOf,
  requestFields,
  Returned,
  type BatchContext,
  type Parsed,
  type Progress,
  type RecordOutcome,
  type Runtime,
} from './sender-records.js';

export interface HandlerDeps extends CommonHandlerDeps {
  /** Waits for the next second when the rate is used up (tests pass a fake). */
  sleep: (ms: number) => Promise<void>;
}

type DailyCounts = { sent: number; bounced: number };

function brakeSettings(config: EmailSenderConfig): BrakeSettings {
  return { thresholdPercent: config.bounceRateThreshold, minimumSends: config.bounceRateMinSends, maxHardBounces: config.bounceBrakeMaxHardBounces };
}

/**
 * One container's Email Sender (see handler.ts for the flow): its fields hold what lives
 * across batches (the runtime, today's counters, the account's quota, the daily-quota hold,
 * lazily built clients); `handle` runs one batch, the other methods are its steps.
 */
export class EmailSender {
  private readonly now: () => Date;
  private readonly log: Logger;
  private readonly sleep: (ms: number) => Promise<void>;
  private runtime: Runtime | undefined;
  private holdClients: HoldClients | undefined;
  private brakeCache: { day: string; expiresAt: number; counts: Promise<DailyCounts> } | undefined;
  private quotaCache: { expiresAt: number; quota: Promise<SendQuota | undefined> } | undefined;
  /** Until when this container holds sending after SES said the daily quota is used up. */
  private dailyHoldUntil = 0;
  private sqsClient: SQSClient | undefined;

  constructor(private readonly deps: Partial<HandlerDeps> = {}) {
    this.now = deps.now ?? (() => new Date());
    this.log = deps.log ?? jsonLogger('email-sender');
    this.sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  }

  async handle(event: SQSEvent): Promise<SQSBatchResponse> {
    const rt = this.resolve();
    const records = event.Records ?? [];
    const batchNow = this.now();
    const parsed = records.map((record: SQSRecord) => parseRecord(record, batchNow));
    const ctx = await this.batchContext(rt, parsed, records.length, batchNow);
    const outcomes = await mapConcurrently(parsed.map((request, i) => ({ request, record: records[i]! })), RECORD_CONCURRENCY, ({ request, record }) =>
      this.processRecord(rt, ctx, request, record.body ?? '', receiveCountOf(record)),
    );
    const toDefer = outcomes.flatMap((outcome, i) => (outcome.kind === 'deferred' ? [{ record: records[i]!, reason: outcome.reason }] : []));
    const notDeferred = await this.deferRecords(rt, toDefer);
    const tally = tallyOutcomes(outcomes, records, notDeferred, batchNow, this.log);
    if (tally.heldForQuota > 0) logDailyQuotaHeld(this.log, tally.heldForQuota, batchNow, rt.config.stackName);
    await this.writeBatchNotes(rt, tally, batchNow);
    return { batchItemFailures: tally.batchItemFailures };
  }

  private resolve(): Runtime {
    if (!this.runtime) {
      const env = this.deps.env ?? process.env;
      const config = emailSenderConfig(env);
      const clients = {
        ddb: this.deps.clients?.ddb ?? createDynamoDbClient(),
        s3: this.deps.clients?.s3 ?? createS3Client(env),
        ses: this.deps.clients?.ses ?? createSesClient(),
      };
      const templates = createTemplateStore({
        s3: clients.s3,
        bucket: config.templateBucket,
        ttlSeconds: config.templateCacheSeconds,
        prepare: compileTemplate,
        now: () => this.now().getTime(),
      });
      this.runtime = { config, clients, templates, env };
    }
    return this.runtime;
  }

  /** One BatchGetItem for every recipient's suppression entry, the brake read on first need, the batch's share of the rate. */
  private async batchContext(rt: Runtime, parsed: Parsed[], records: number, batchNow: Date): Promise<BatchContext> {
    // A record whose keys cannot be computed here fails on its own, in processRecord.
    const recipients = parsed.flatMap((p) => (p.ok === true ? keysOrNone(p.request) : []));
    const suppressed =
      recipients.length > 0 ? findSuppressed(rt.clients.ddb, rt.config.suppressionTable, recipients) : Promise.resolve(new Map());
    suppressed.catch(() => undefined);
    let brake: Promise<BrakeDecision> | undefined;
    const pacer = await this.batchPacer(rt, records, batchNow.getTime());
    return {
      now: batchNow,
      suppressed,
      brake: () =>
        (brake ??= this.todaysCounts(rt, batchNow).then((counts) =>
          bounceBrake(counts, rt.config.bounceRateThreshold, rt.config.bounceRateMinSends, rt.config.bounceBrakeMaxHardBounces),
        )),
      deferral: this.dailyHoldUntil > batchNow.getTime() ? 'daily-quota' : undefined,
      sesSlots: new Semaphore(SES_CONCURRENCY),
      pace: () => (pacer ? pacer.take() : Promise.resolve(true)),
    };
  }

  /** The last errors for `dlq list`, then the batch's sent/failed on today's counters: one write each. */
  private async writeBatchNotes(rt: Runtime, tally: BatchTally, batchNow: Date): Promise<void> {
    if (tally.lastErrors.length > 0) {
      try {
        await writeLastErrors(rt.clients.ddb, rt.config.countersTable, tally.lastErrors, batchNow);
      } catch (error) {
        // Only the note for `dlq list` is lost; the messages are back on the queue either way.
        this.log({ level: 'error', outcome: 'last-errors-not-written', count: tally.lastErrors.length, error: describeError(error) });
      }
    }
    const { sent, failed } = tally;
    try {
      await addDailyCounts(rt.clients.ddb, rt.config.countersTable, datePartition(batchNow), { sent, failed });
    } catch (error) {
      // The emails are sent and tracked; a lost counter update only skews today's rates.
      this.log({ level: 'error', outcome: 'counters-not-updated', sent, failed, error: describeError(error) });
    }
  }

  private todaysCounts(rt: Runtime, at: Date): Promise<DailyCounts> {
    const day = datePartition(at);
    const nowMs = at.getTime();
    if (this.brakeCache && this.brakeCache.day === day && this.brakeCache.expiresAt > nowMs) return this.brakeCache.counts;
    const entry = {
      day,
      expiresAt: nowMs + BRAKE_CACHE_MS,
      counts: readDailyCounts(rt.clients.ddb, rt.config.countersTable, day),
    };
    entry.counts.catch(() => {
      if (this.brakeCache === entry) this.brakeCache = undefined;
    });
    this.brakeCache = entry;
    return entry.counts;
  }

  /** The account's quota, read at most once per QUOTA_CACHE_MS per container; undefined while GetAccount fails. */
  private sendQuota(rt: Runtime): Promise<SendQuota | undefined> {
    const nowMs = this.now().getTime();
    if (this.quotaCache && this.quotaCache.expiresAt > nowMs) return this.quotaCache.quota;
    const entry = {
      expiresAt: nowMs + QUOTA_CACHE_MS,
      quota: readSendQuota(rt.clients.ses).catch((error: unknown) => {
        entry.expiresAt = this.now().getTime() + QUOTA_RETRY_MS;
        this.log({ level: 'warn', outcome: 'send-quota-unknown', error: describeError(error), cap: rt.config.maxSendRate });
        return undefined;
      }),
    };
    this.quotaCache = entry;
    return entry.quota;
  }

  private async batchPacer(rt: Runtime, records: number, startMs: number): Promise<BatchPacer | undefined> {
    const quota = await this.sendQuota(rt);
    const rate = rateInForce(quota?.maxSendRate, rt.config.maxSendRate);
    if (rate === undefined) return undefined;
    const limit = tokensPerSecond(rate);
    const clock = () => this.now().getTime();
    const reserve = (second: number, asked: number) => reserveSendTokens(rt.clients.ddb, rt.config.countersTable, second, asked, limit);
    return new BatchPacer(records, reserve, limit, startMs + PACING_WAIT_BUDGET_MS, clock, this.sleep);
  }

  /** Imported on first use, like the scheduled sends' clients: most batches defer nothing. */
  private async sqs(): Promise<SQSClient> {
    if (!this.sqsClient) {
      const { createSqsClient } = await import('../lib/clients-sqs.js');
      this.sqsClient = this.deps.clients?.sqs ?? createSqsClient();
    }
    return this.sqsClient;
  }

  /**
   * Puts deferred requests back on the send queue, delayed, with their deferral count: one
   * SendMessageBatch. Returns the message ids that could not be deferred (they are returned
   * to the queue as batch item failures instead).
   */
  private async deferRecords(rt: Runtime, deferred: { record: SQSRecord; reason: DeferralReason }[]): Promise<Set<string>> {
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
      const out = await (await this.sqs()).send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      return new Set((out.Failed ?? []).map((f) => deferred[Number(f.Id)]!.record.messageId));
    } catch (error) {
      this.log({ level: 'error', outcome: 'deferral-failed', count: deferred.length, error: describeError(error) });
      return new Set(deferred.map((d) => d.record.messageId));
    }
  }

  private async processRecord(rt: Runtime, ctx: BatchContext, parsed: Parsed, body: string, receiveCount: number): Promise<RecordOutcome> {
    const emailId = emailIdOf(parsed);
    const progress: Progress = { sesCalled: false };
    try {
      if (parsed.ok === 'crashed') throw parsed.error;
      if (!parsed.ok) {
        return await writeFailed(rt, ctx, invalidFields(parsed.failure), parsed.failure.code, parsed.failure.message);
      }
      return await this.processValid(rt, ctx, parsed.request, body, progress);
    } catch (error) {
      if (error instanceof Returned) return { kind: 'returned', emailId, reason: error.message };
      if (error instanceof Deferred) return { kind: 'deferred', emailId, reason: error.reason, detail: error.message };
      const reason = describeError(error);
      if (receiveCount >= UNFORESEEN_ERROR_RECEIVES && !progress.sesCalled && classifyFailure(error) === 'request') {
        try {
          return await this.trackUnforeseen(rt, ctx, parsed, progress, error, receiveCount);
        } catch (tracking) {
          return { kind: 'returned', emailId, reason: `${reason} (tracking it failed ENG001 failed too: ${tracking instanceof Returned ? tracking.message : describeError(tracking)})` };
        }
      }
      return { kind: 'returned', emailId, reason };
    }
  }

  /**
   * An error the handler did not foresee, on the UNFORESEEN_ERROR_RECEIVES-th receive or later:
   * the request is tracked `failed` ENG001 (on its own claim if it holds one that SES never
   * saw, else as a new record) and the message consumed.
   */
  private async trackUnforeseen(rt: Runtime, ctx: BatchContext, parsed: Parsed, progress: Progress, error: unknown, receiveCount: number): Promise<RecordOutcome> {
    const emailId = emailIdOf(parsed);
    const message = `An error the Email Sender does not handle, on ${receiveCount} receives of this request: ${describeError(error)}`.slice(0, MAX_ENG_MESSAGE);
    if (progress.claim) {
      const marked = await markFailed(rt.clients.ddb, rt.config.trackingTable, emailId, progress.claim, { code: 'ENG001', message });
      if (!marked) throw new Returned(`the claim changed while tracking an unforeseen error; retrying: ${describeError(error)}`);
      return { kind: 'failed', emailId, code: 'ENG001', message };
    }
    return writeFailed(rt, ctx, fieldsOf(parsed, progress), 'ENG001', message);
  }

  /** Steps 2–6 of SPEC §4 for a valid request; one not yet due is held instead. */
  private async processValid(rt: Runtime, ctx: BatchContext, request: ValidRequest, messageBody: string, progress: Progress): Promise<RecordOutcome> {
    if (request.sendAt !== undefined) {
      const plan = planSend(new Date(request.sendAt), ctx.now);
      if (plan.kind !== 'now') return this.holdRequest(rt, ctx, request as ValidRequest & { sendAt: string }, messageBody, plan);
    }
    const fields = requestFields(request);
    progress.fields = fields;
    const prepared = await this.prepareEmail(rt, ctx, request, fields);
    if ('done' in prepared) return prepared.done;
    return this.send(rt, ctx, request, fields, prepared.email, progress);
  }

  /** A request not yet due: tracked `scheduled`, then held on the queue or in EventBridge Scheduler (scheduled-sends.ts). */
  private async holdRequest(rt: Runtime, ctx: BatchContext, request: ValidRequest & { sendAt: string }, body: string, plan: Exclude<SendPlan, { kind: 'now' }>): Promise<RecordOutcome> {
    const put = await putScheduled(rt.clients.ddb, rt.config.trackingTable, buildRecord(requestFields(request), 'scheduled', ctx.now, rt.config.trackingRetentionDays));
    if (!put.written) {
      if (!put.existing) throw new Returned('the scheduled record conflicted with a record that is gone; retrying');
      // Anything but this request's own scheduled record (sent, cancelled, another sendAt) wins.
      if (put.existing.status !== 'scheduled' || put.existing.scheduledFor !== request.sendAt) return { kind: 'duplicate', emailId: request.emailId };
    }
    // Imported on first use (a separate chunk in the Lambda bundle): most requests are not
    // scheduled, and the SQS and Scheduler SDK packages would add to every cold start.
    const { holdUntilDue, schedulingConfig, SchedulingRefused } = await import('../lib/scheduled-sends.js');
    if (!this.holdClients) {
      const [{ createSqsClient }, { createSchedulerClient }] = await Promise.all([
        import('../lib/clients-sqs.js'),
        import('../lib/clients-scheduler.js'),
      ]);
      let sqs = this.deps.clients?.sqs;
      let scheduler = this.deps.clients?.scheduler;
      this.holdClients = { sqs: () => (sqs ??= createSqsClient()), scheduler: () => (scheduler ??= createSchedulerClient()) };
    }
    try {
      const hold = await holdUntilDue(this.holdClients, schedulingConfig(rt.env), request.emailId, body, plan);
      return { kind: 'scheduled', emailId: request.emailId, scheduledFor: request.sendAt, via: hold.via };
    } catch (error) {
      if (!(error instanceof SchedulingRefused)) throw error;
      const marked = await failScheduled(rt.clients.ddb, rt.config.trackingTable, request.emailId, { code: 'SCH002', message: error.message });
      return marked ? { kind: 'failed', emailId: request.emailId, code: 'SCH002', message: error.message } : { kind: 'duplicate', emailId: request.emailId };
    }
  }

  /**
   * Steps 2–5: suppression list, bounce-rate brake, template, From and Reply-To, and the
   * attachments; a request that fails one is tracked failed here (its outcome is `done`).
   */
  private async prepareEmail(rt: Runtime, ctx: BatchContext, request: ValidRequest, fields: NewRecordFields): Promise<{ done: RecordOutcome } | { email: PreparedEmail }> {
    const fail = async (code: ErrorCode, message: string) => ({ done: await writeFailed(rt, ctx, fields, code, message) });

    // 2. Suppression list.
    const suppressed = await ctx.suppressed;
    const entry = suppressionKeys(request.to).map((key) => suppressed.get(key)).find((found) => found !== undefined);
    if (entry) {
      const since = entry.createdAt ? ` since ${entry.createdAt}` : '';
      return fail('SUP001', `The recipient is on the suppression list (reason: ${entry.reason}${since}).`);
    }

    // 3. Bounce-rate brake.
    const brake = await ctx.brake();
    if (brake.over) return fail('BRK001', brakeMessage(brake, brakeSettings(rt.config)));

    // 4. Template.
    const rendered = await this.render(rt, request);
    if (!rendered.ok) return fail(rendered.code, rendered.message);
    const { email, template, headers } = rendered.value;
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
    return { email: { subject: email.subject, html: email.html, text: email.text, fromHeader: sender.value.fromHeader, replyTo: replyTo.value, headers, files } };
  }

  /** The request's template, with the unsubscribe link and headers when it needs them, rendered. */
  private async render(rt: Runtime, request: ValidRequest): Promise<Outcome<{ email: RenderedEmail; template: CompiledTemplate; headers: MessageHeader[] | undefined }>> {
    let compiled: Outcome<CompiledTemplate>;
    try {
      compiled = await rt.templates.get(request.templateName);
    } catch (error) {
      if (error instanceof EngineError) return { ok: false, code: error.code, message: error.message };
      throw error;
    }
    if (!compiled.ok) return { ok: false, code: compiled.code, message: `Template "${request.templateName}": ${compiled.message}` };
    const template = compiled.value;

    const unsubscribeOn = request.unsubscribe ?? template.metadata.category === 'marketing';
    let headers: MessageHeader[] | undefined;
    let data = request.templateData;
    if (unsubscribeOn) {
      const unsubscribe = await unsubscribeHeaders(rt, request);
      if (!unsubscribe.ok) return unsubscribe;
      headers = unsubscribe.value.headers;
      if (!Object.hasOwn(data, 'unsubscribeLink')) data = { ...data, unsubscribeLink: unsubscribe.value.link };
    }

    const rendered = renderEmail(template, data, {
      ...(request.subject !== undefined ? { subjectOverride: request.subject } : {}),
      renderReplyTo: request.replyTo === undefined,
    });
    if (!rendered.ok) return rendered;
    return { ok: true, value: { email: rendered.value, template, headers } };
  }

  /** Step 6: pace, claim, send, record. Waiting for a slot under the rate holds no claim. */
  private async send(rt: Runtime, ctx: BatchContext, request: ValidRequest, fields: NewRecordFields, email: PreparedEmail, progress: Progress): Promise<RecordOutcome> {
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

    const result = await this.callSes(rt, ctx, request, email, progress);
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
      await markSent(rt.clients.ddb, rt.config.trackingTable, request.emailId, { sesMessageId, sentAt: this.now().toISOString() });
    } catch (error) {
      // Sent, but not recorded: leave the claim. SES's Send event raises it to `sent`, and a
      // redelivery that finds it raised is a duplicate.
      throw new Returned(`sent (SES ${sesMessageId}) but the record could not be updated: ${describeError(error)}`);
    }
    return { kind: 'sent', emailId: request.emailId, sesMessageId };
  }

  /** Only the SES call holds a slot; the deferral is set before the slot is handed on. */
  private async callSes(rt: Runtime, ctx: BatchContext, request: ValidRequest, email: PreparedEmail, progress: Progress): Promise<{ sent: string } | { error: SesErrorKind } | 'skipped'> {
    const command = sendEmailCommand(request, email, rt.config.configurationSet);
    await ctx.sesSlots.acquire();
    try {
      if (ctx.deferral) return 'skipped';
      try {
        progress.sesCalled = true;
        const out = await rt.clients.ses.send(command);
        return { sent: out.MessageId ?? '' };
      } catch (error) {
        const result = { error: classifySesError(error) };
        if (result.error.kind === 'throttled') {
          ctx.deferral = result.error.daily ? 'daily-quota' : 'rate';
          if (result.error.daily) this.dailyHoldUntil = this.now().getTime() + DAILY_QUOTA_HOLD_MS;
        }
        return result;
      }
    } finally {
      ctx.sesSlots.release();
    }
  }
}
