import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { LastError } from '../lib/last-error-store.js';
import type { Logger } from '../lib/logging.js';
import { METRICS_NAMESPACE, UNFORESEEN_ERROR_RECEIVES } from './limits.js';
import { receiveCountOf, type RecordOutcome } from './sender-records.js';

/** What a batch's outcomes add up to: the messages to return, the last errors to note, the counts to add. */
export interface BatchTally {
  batchItemFailures: SQSBatchResponse['batchItemFailures'];
  heldForQuota: number;
  lastErrors: LastError[];
  sent: number;
  failed: number;
}

/** Logs one line per record and tallies the batch; a deferral that could not be made returns its message. */
export function tallyOutcomes(outcomes: RecordOutcome[], records: SQSRecord[], notDeferred: Set<string>, batchNow: Date, log: Logger): BatchTally {
  const tally: BatchTally = { batchItemFailures: [], heldForQuota: 0, lastErrors: [], sent: 0, failed: 0 };
  outcomes.forEach((outcome, i) => {
    const messageId = records[i]!.messageId;
    switch (outcome.kind) {
      case 'sent':
        tally.sent++;
        log({ level: 'info', outcome: 'sent', emailId: outcome.emailId, sesMessageId: outcome.sesMessageId, messageId });
        break;
      case 'failed':
        tally.failed++;
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
          tally.batchItemFailures.push({ itemIdentifier: messageId });
          log({ level: 'warn', outcome: 'returned', emailId: outcome.emailId, reason: `${outcome.detail} (deferring it failed)`, messageId });
          break;
        }
        if (outcome.reason === 'daily-quota') tally.heldForQuota++;
        log({ level: outcome.reason === 'daily-quota' ? 'warn' : 'info', outcome: 'deferred', emailId: outcome.emailId, reason: outcome.reason, detail: outcome.detail, messageId });
        break;
      case 'returned': {
        tally.batchItemFailures.push({ itemIdentifier: messageId });
        const receiveCount = receiveCountOf(records[i]!);
        if (receiveCount >= UNFORESEEN_ERROR_RECEIVES) tally.lastErrors.push({ messageId, emailId: outcome.emailId, reason: outcome.reason, receiveCount, at: batchNow.toISOString() });
        log({ level: 'warn', outcome: 'returned', emailId: outcome.emailId, reason: outcome.reason, messageId });
        break;
      }
    }
  });
  return tally;
}

/**
 * An embedded-metric-format line: CloudWatch turns it into the DailyQuotaHeld metric the
 * stack's alarm watches, without a PutMetricData call.
 */
export function logDailyQuotaHeld(log: Logger, heldForQuota: number, batchNow: Date, stackName: string | undefined): void {
  log({
    level: 'warn',
    outcome: 'daily-quota-held',
    count: heldForQuota,
    message: 'SES says the daily sending quota is used up; sending is held and requests are deferred until it allows.',
    _aws: { Timestamp: batchNow.getTime(), CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['Stack']], Metrics: [{ Name: 'DailyQuotaHeld', Unit: 'Count' }] }] },
    Stack: stackName ?? 'local',
    DailyQuotaHeld: heldForQuota,
  });
}
