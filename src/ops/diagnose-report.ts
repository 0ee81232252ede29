import { awsErrorInfo } from '../aws/clients.js';
import { bounceBrake } from '../../functions/core/bounce-brake.js';
import { parseEmailAddress } from '../../functions/core/email-address.js';
import type { SuppressionEntry } from '../../functions/core/types.js';
import { readDailyCounts } from '../../functions/lib/counters-store.js';
import { readLastErrors } from '../../functions/lib/last-error-store.js';
import { getSuppression } from '../../functions/lib/suppression-store.js';
import { readRecord } from '../../functions/lib/tracking-store.js';
import { describeDeadLetter, withLastError, type DeadLetterInfo } from './dead-letters.js';
import { diagnose, type BounceRateFacts, type DiagnosisFacts, type Verdict } from './diagnosis.js';
import { peekMessages, queueDepth, type QueueDepth } from './queues.js';
import { addressKey, recordsTo, retryChain, type StoredRecord } from './records.js';
import type { EngineTarget, QueueKind } from './target.js';

/**
 * Gathers the facts `diagnose` decides on (src/ops/diagnosis.ts) and returns them with the
 * verdict: the tracking record (GetItem) and its retry chain (original-email-id-index), or
 * an address's recent records (to-email-timestamp-index), the recipient's suppression entry,
 * today's bounce rate from the O(1) counters, queue and DLQ depths, and, when there is no
 * record, the request in the DLQs. `diagnose` prints it; the dashboard shows it.
 */

export interface DiagnoseReport {
  target: { kind: 'aws' | 'local'; description: string };
  subject: DiagnosisFacts['subject'];
  record: StoredRecord | null;
  retryChain: StoredRecord[];
  recentRecords: StoredRecord[];
  suppression: SuppressionEntry | null;
  bounceRate: BounceRateFacts | null;
  queues: { send: QueueDepth | null; deadLetters: Partial<Record<QueueKind, number>> };
  deadLetters: DeadLetterInfo[];
  /** Parts that could not be read (a missing permission), so the verdict is less sure. */
  notes: string[];
  verdict: Verdict;
}

/** How many dead letters per DLQ are searched for the email when it has no record. */
const DLQ_SEARCH_LIMIT = 100;

async function tryPart<T>(notes: string[], what: string, body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (error) {
    const info = awsErrorInfo(error);
    notes.push(`${what} could not be read (${info.name}: ${info.message}).`);
    return undefined;
  }
}

export async function collectDiagnosis(target: EngineTarget, subjectText: string, now: Date, limit: number): Promise<DiagnoseReport> {
  const ddb = await target.clients.ddb();
  const { trackingTable, suppressionTable, countersTable } = target.resources;
  const notes: string[] = [];
  const subject = subjectText.trim();

  let record = (await readRecord(ddb, trackingTable, subject)) as StoredRecord | undefined;
  const looksLikeAddress = !record && parseEmailAddress(subject).ok;
  const facts: DiagnosisFacts = {
    subject: looksLikeAddress ? { kind: 'address', address: addressKey(subject) } : { kind: 'emailId', emailId: subject },
    targetKind: target.kind,
    now,
    chain: [],
    recent: [],
    deadLetterDepths: {},
    deadLetters: [],
    softBounceRetryDelaySeconds: target.settings.softBounceRetryDelaySeconds,
    eventBusName: target.resources.eventBusName,
    flags: target.flags,
  };
  if (record) facts.record = record;

  const address = facts.subject.kind === 'address' ? facts.subject.address : record?.toEmail;
  const today = now.toISOString().slice(0, 10);
  const sqsParts = async () => {
    const sqs = await target.clients.sqs();
    const dlqs = Object.entries(target.resources.deadLetterQueues) as [QueueKind, string][];
    await Promise.all([
      ...dlqs.map(async ([kind, url]) => {
        const depth = await tryPart(notes, `The ${kind} DLQ depth`, () => queueDepth(sqs, url));
        if (depth) facts.deadLetterDepths[kind] = depth.visible + depth.inFlight;
      }),
      target.resources.sendQueueUrl
        ? tryPart(notes, 'The send queue depth', () => queueDepth(sqs, target.resources.sendQueueUrl!)).then((d) => {
            if (d) facts.sendQueue = d;
          })
        : Promise.resolve(),
    ]);
  };
  await Promise.all([
    record
      ? tryPart(notes, 'The retry chain', () => retryChain(ddb, trackingTable, record!.originalEmailId)).then((chain) => {
          facts.chain = chain ?? [record!];
        })
      : Promise.resolve(),
    facts.subject.kind === 'address'
      ? recordsTo(ddb, trackingTable, facts.subject.address, limit).then((recent) => {
          facts.recent = recent;
        })
      : Promise.resolve(),
    address
      ? tryPart(notes, 'The suppression entry', () => getSuppression(ddb, suppressionTable, address)).then((entry) => {
          if (entry) facts.suppression = entry;
        })
      : Promise.resolve(),
    tryPart(notes, "Today's counters", () => readDailyCounts(ddb, countersTable, today)).then((counts) => {
      if (!counts) return;
      const { bounceRateThreshold: thresholdPercent, bounceRateMinimumSends: minimumSends, bounceBrakeMaxHardBounces: maxHardBounces } = target.settings;
      const brake = bounceBrake(counts, thresholdPercent, minimumSends, maxHardBounces);
      facts.bounceRate = {
        date: today,
        sent: counts.sent,
        bounced: counts.bounced,
        sameDayBounced: brake.sameDayBounced,
        ratePercent: brake.ratePercent,
        thresholdPercent,
        minimumSends,
        maxHardBounces,
        brakeOn: brake.over,
        ...(brake.reason ? { reason: brake.reason } : {}),
      };
    }),
    sqsParts(),
  ]);

  // No record: the request may be sitting in a DLQ (throttled, or undeliverable).
  const noRecord = facts.subject.kind === 'emailId' ? !record : facts.recent.length === 0;
  if (noRecord) {
    const sqs = await target.clients.sqs();
    for (const kind of ['send', 'events'] as const) {
      const url = target.resources.deadLetterQueues[kind];
      if (!url || !facts.deadLetterDepths[kind]) continue;
      const peeked = await tryPart(notes, `The ${kind} DLQ messages`, () =>
        peekMessages(sqs, url, { max: DLQ_SEARCH_LIMIT, waitSeconds: target.kind === 'aws' ? 1 : 0 }),
      );
      for (const message of peeked ?? []) {
        const info = describeDeadLetter(kind, message);
        const matches =
          facts.subject.kind === 'emailId' ? info.emailId === facts.subject.emailId : info.to !== undefined && addressKey(info.to) === facts.subject.address;
        if (matches) facts.deadLetters.push(info);
      }
    }
    const sendLetters = facts.deadLetters.filter((letter) => letter.queue === 'send');
    if (sendLetters.length > 0) {
      const lastErrors = await tryPart(notes, "The Email Sender's last errors", () => readLastErrors(ddb, countersTable, sendLetters.map((letter) => letter.messageId)));
      if (lastErrors) facts.deadLetters = facts.deadLetters.map((letter) => withLastError(letter, lastErrors.get(letter.messageId)));
    }
  }
  record = facts.record;
  return {
    target: { kind: target.kind, description: target.description },
    subject: facts.subject,
    record: record ?? null,
    retryChain: facts.chain,
    recentRecords: facts.recent,
    suppression: facts.suppression ?? null,
    bounceRate: facts.bounceRate ?? null,
    queues: { send: facts.sendQueue ?? null, deadLetters: facts.deadLetterDepths },
    deadLetters: facts.deadLetters,
    notes,
    verdict: diagnose(facts),
  };
}

