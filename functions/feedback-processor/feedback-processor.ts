import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDynamoDbClient, type AwsClients } from '../lib/clients.js';
import { describeError, jsonLogger, type Logger } from '../lib/logging.js';
import { createSqsClient } from '../lib/clients-sqs.js';
import { createEventBridgeClient } from '../lib/clients-eventbridge.js';
import { addDailyCounts, type DailyCounts } from '../lib/counters-store.js';
import { isThrottledUnapplied } from '../lib/dynamo-errors.js';
import { addSuppression } from '../lib/suppression-store.js';
import { applyFeedback, claimRetry, markRetryEnqueued, readAhead, type FeedbackApplyResult, type ReadAhead } from '../lib/tracking-updates.js';
import { recordSoftBounce, resetSoftBounceStreak } from '../lib/soft-bounce-streak.js';
import { publishStatusChanges, statusChangedDetail, type StatusChangedDetail } from '../lib/status-notifications.js';
import { enqueueRetry, RetryNotPossibleError } from '../lib/retry-queue.js';
import { loadEventAuthenticationKey } from '../lib/secrets.js';
import type { CommonHandlerDeps } from '../lib/handler-deps.js';
import type { Env } from '../lib/env.js';
import { parseFeedbackBody, type FeedbackEvent } from '../core/feedback-event.js';
import type { FeedbackDecision, SuppressAction } from '../core/feedback-rules.js';
import { emailIdFromTags } from '../core/message-tags.js';
import { mapConcurrently } from '../core/concurrency.js';
import { datePartition } from '../core/dates.js';
import { feedbackProcessorConfig, type FeedbackProcessorConfig } from './config.js';

export interface HandlerDeps extends CommonHandlerDeps {
  /** The key that signs status notifications (default: derived from the unsubscribe secret, read once per container). */
  loadEventKey: (env: Env) => Promise<Buffer>;
}

const PARALLEL_GROUPS = 8;

interface Runtime {
  config: FeedbackProcessorConfig;
  clients: Pick<AwsClients, 'ddb' | 'sqs' | 'events'>;
}

type Group = { record: SQSRecord; event: FeedbackEvent }[];

/** What a batch accumulates and writes once at its end. */
class BatchEffects {
  readonly counters = new Map<string, Partial<DailyCounts>>();
  readonly notifications: StatusChangedDetail[] = [];

  addCounters(day: string, deltas: Partial<Record<keyof DailyCounts, number>>): void {
    const current = this.counters.get(day) ?? {};
    for (const [name, n] of Object.entries(deltas)) {
      const key = name as keyof DailyCounts;
      current[key] = (current[key] ?? 0) + (n ?? 0);
    }
    this.counters.set(day, current);
  }
}

/**
 * One container's Feedback Processor (see handler.ts for the flow): its fields hold the
 * runtime built on first use; `handle` runs one batch, the other methods are its steps.
 */
export class FeedbackProcessor {
  private readonly now: () => Date;
  private readonly log: Logger;
  private runtime: Runtime | undefined;

  constructor(private readonly deps: Partial<HandlerDeps> = {}) {
    this.now = deps.now ?? (() => new Date());
    this.log = deps.log ?? jsonLogger('feedback-processor');
  }

  async handle(event: SQSEvent): Promise<SQSBatchResponse> {
    const rt = this.resolve();
    const batch = new BatchEffects();
    const failures: string[] = [];
    const groups = this.groupByEmail(event.Records ?? []);

    // One read for the records of the whole batch instead of one per event. Only each
    // record's first event uses it: later ones read the record their predecessor wrote.
    const ahead = await this.readAheadForBatch(rt, groups);

    await mapConcurrently([...groups.values()], PARALLEL_GROUPS, async (group) => {
      let first = true;
      for (const { record, event: feedback } of group) {
        const read = first ? ahead : undefined;
        first = false;
        try {
          await this.handleEvent(rt, feedback, record.messageId, batch, read);
        } catch (error) {
          failures.push(record.messageId);
          this.log({
            level: 'error',
            message: 'Feedback not applied; the message returns to the queue',
            sqsMessageId: record.messageId,
            eventType: feedback.eventType,
            sesMessageId: feedback.mail.messageId,
            error: describeError(error),
          });
        }
      }
    });

    await this.flush(rt, batch);
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  }

  private resolve(): Runtime {
    if (!this.runtime) {
      const env = this.deps.env ?? process.env;
      const config = feedbackProcessorConfig(env);
      const given = this.deps.clients ?? {};
      this.runtime = {
        config,
        clients: {
          ddb: given.ddb ?? createDynamoDbClient(),
          sqs: given.sqs ?? createSqsClient(),
          events: given.events ?? createEventBridgeClient(),
        },
      };
    }
    return this.runtime;
  }

  /** The batch's events by the message they are about (its emailId tag, else SES's id); a malformed message is logged and dropped. */
  private groupByEmail(records: SQSRecord[]): Map<string, Group> {
    const groups = new Map<string, Group>();
    for (const record of records) {
      const parsed = parseFeedbackBody(record.body);
      if (!parsed.ok) {
        this.log({
          level: 'error',
          code: parsed.error.code,
          message: `Dropped a malformed feedback message: ${parsed.error.message}`,
          sqsMessageId: record.messageId,
          bodyStart: typeof record.body === 'string' ? record.body.slice(0, 200) : undefined,
        });
        continue;
      }
      const key = emailIdFromTags(parsed.event.mail.tags) ?? `ses:${parsed.event.mail.messageId}`;
      const group = groups.get(key) ?? [];
      group.push({ record, event: parsed.event });
      groups.set(key, group);
    }
    return groups;
  }

  private async suppress(rt: Runtime, emails: string[], entry: Omit<SuppressAction, 'emails'>, sourceEmailId: string | undefined): Promise<void> {
    for (const email of emails) {
      const added = await addSuppression(rt.clients.ddb, rt.config.suppressionTable, {
        email,
        reason: entry.reason,
        suppressionType: entry.suppressionType,
        createdAt: this.now().toISOString(),
        details: entry.details,
        ...(sourceEmailId ? { sourceEmailId } : {}),
      });
      if (added) this.log({ level: 'info', message: 'Address suppressed', email, reason: entry.reason, emailId: sourceEmailId });
    }
  }

  private async handleEvent(rt: Runtime, event: FeedbackEvent, holder: string, batch: BatchEffects, ahead: ReadAhead | undefined): Promise<FeedbackApplyResult> {
    const result = await applyFeedback(rt.clients.ddb, rt.config.trackingTable, event, this.now(), ahead);
    const decision = result.decision;
    const context = { eventType: event.eventType, sesMessageId: event.mail.messageId, emailId: result.emailId };

    if (result.outcome === 'unknown-record') {
      this.log({
        level: 'warn',
        message: 'No tracking record for this SES event; only address-level effects applied',
        ...context,
        emailIdTag: emailIdFromTags(event.mail.tags),
      });
    }
    if (result.outcome === 'updated') {
      // Counted only when this write recorded the fact, so redeliveries never count twice.
      const day = datePartition(this.now());
      batch.addCounters(day, decision.counters);
      // The brake's floor counts only the bounces of mail sent the same day (functions/core/bounce-brake.ts).
      const sentDay = event.mail.timestamp?.slice(0, 10) ?? result.before?.sentAt?.slice(0, 10);
      if (decision.counters.bounced && sentDay === day) batch.addCounters(day, { sameDayBounced: decision.counters.bounced });
      if (decision.notify && result.before && result.after) {
        batch.notifications.push(statusChangedDetail(result.before, result.after, decision.notify));
      }
    }

    if (decision.suppress) await this.suppress(rt, decision.suppress.emails, decision.suppress, result.emailId);
    await this.applySoftBounceStreak(rt, event, decision, result.emailId);
    await this.queueRetry(rt, decision, result, holder, context);

    this.log({ level: 'debug', message: 'Feedback applied', ...context, outcome: result.outcome, lookup: result.lookup, conflicts: result.conflicts });
    return result;
  }

  /** A soft bounce adds to each address's streak (suppressed at the threshold); a delivery resets it. */
  private async applySoftBounceStreak(rt: Runtime, event: FeedbackEvent, decision: FeedbackDecision, emailId: string | undefined): Promise<void> {
    const { ddb } = rt.clients;
    const { config } = rt;
    const streak = decision.softBounceStreak;
    if (streak?.action === 'add') {
      for (const email of streak.emails) {
        const outcome = await recordSoftBounce(ddb, config.countersTable, email, { at: streak.at, key: event.eventKey }, {
          threshold: config.softBounceSuppressionThreshold,
          windowDays: config.softBounceWindowDays,
        });
        if (outcome.suppress) {
          await this.suppress(
            rt,
            [email],
            {
              reason: 'consecutive-soft-bounces',
              suppressionType: 'bounce',
              details: `${outcome.count} soft bounces without a delivery within ${config.softBounceWindowDays} days`,
            },
            emailId,
          );
        }
      }
    } else if (streak?.action === 'reset') {
      for (const email of streak.emails) {
        await resetSoftBounceStreak(ddb, config.countersTable, email, streak.at, config.softBounceWindowDays);
      }
    }
  }

  /** A soft bounce the rules retry: claimed on the record (once, whoever holds it), then queued. */
  private async queueRetry(rt: Runtime, decision: FeedbackDecision, result: FeedbackApplyResult, holder: string, context: Record<string, unknown>): Promise<void> {
    const { ddb, sqs } = rt.clients;
    const { config } = rt;
    if (decision.retry && result.after && (await claimRetry(ddb, config.trackingTable, result.after.emailId, holder, this.now()))) {
      try {
        await enqueueRetry(sqs, config.sendQueueUrl, config.retryDelaySeconds, result.after, decision.retry.retryEmailId, this.now());
        await markRetryEnqueued(ddb, config.trackingTable, result.after.emailId, decision.retry.retryEmailId, this.now());
        this.log({ level: 'info', message: 'Soft-bounce retry queued', ...context, retryEmailId: decision.retry.retryEmailId, delaySeconds: config.retryDelaySeconds });
      } catch (error) {
        if (!(error instanceof RetryNotPossibleError)) throw error;
        this.log({ level: 'warn', message: 'Soft bounce not retried', ...context, reason: error.message });
      }
    }
  }

  private async flush(rt: Runtime, batch: BatchEffects): Promise<void> {
    for (const [day, deltas] of batch.counters) {
      for (let attempt = 1; ; attempt++) {
        try {
          await addDailyCounts(rt.clients.ddb, rt.config.countersTable, day, deltas);
          break;
        } catch (error) {
          // The records are already updated, so a redelivery would not count again:
          // failing the batch cannot help. The loss is logged with the numbers. Only a
          // throttled write is tried again: after a timeout or a 5xx the ADD may have been
          // applied, and a second one would count twice (an inflated bounce count trips the
          // bounce-rate brake).
          if (attempt >= 2 || !isThrottledUnapplied(error)) {
            this.log({ level: 'error', message: 'Daily counters not written', day, deltas, error: describeError(error) });
            break;
          }
        }
      }
    }
    if (batch.notifications.length > 0) {
      let key: Buffer | undefined;
      try {
        key = await (this.deps.loadEventKey ?? ((env: Env) => loadEventAuthenticationKey(env)))(this.deps.env ?? process.env);
      } catch (error) {
        // Still published for the bus's other consumers; Webhook Delivery refuses unsigned ones (WHK004).
        this.log({ level: 'error', message: 'Status notifications published unsigned: the event signing key could not be read', error: describeError(error) });
      }
      await publishStatusChanges(rt.clients.events, rt.config.eventBusName, batch.notifications, this.log, key);
    }
  }

  /**
   * The tracking records the batch's events name by tag, read in one BatchGetItem when
   * there are two or more (one is read by its own GetItem, as cheaply). A failed read-ahead
   * only costs that saving: each event then reads its record itself.
   */
  private async readAheadForBatch(rt: Runtime, groups: Map<string, Group>): Promise<ReadAhead | undefined> {
    const ids: string[] = [];
    for (const group of groups.values()) {
      const emailId = emailIdFromTags(group[0]!.event.mail.tags);
      if (emailId !== undefined) ids.push(emailId);
    }
    if (ids.length < 2) return undefined;
    try {
      return await readAhead(rt.clients.ddb, rt.config.trackingTable, ids);
    } catch (error) {
      this.log({ level: 'warn', message: 'Batch read of tracking records failed; each event reads its own', error: describeError(error) });
      return undefined;
    }
  }
}
