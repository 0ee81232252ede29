import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { requestEvent, scanTracking, uploadStarterTemplates } from '../support/sender-events.js';
import { adjust, emailIdTagMap, eventBridgeEnvelope, sesFixture, type FixtureType, type SesEventJson } from '../support/ses-events.js';
import { SimulatedQueue, VirtualClock, chance, seededRandom, type Container, type DrainReport } from '../support/sqs-driver.js';
import {
  CrashGate,
  dynamoFaults,
  fakeEventBus,
  fakeSqs,
  gateClient,
  instrumentDynamo,
  instrumentSes,
  isRegression,
  sesThrottle,
  standInClients,
  type BusBehaviour,
  type DynamoCall,
  type Fault,
  type SesSend,
  type StatusWrite,
} from '../support/fault-injection.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { createFeedbackProcessorHandler } from '../../functions/feedback-processor/handler.js';
import { readDailyCounts } from '../../functions/lib/counters-store.js';
import { getSuppression } from '../../functions/lib/suppression-store.js';
import { statusRank } from '../../functions/core/status-priority.js';
import { datePartition } from '../../functions/core/dates.js';
import type { RecordStatus } from '../../functions/core/types.js';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';

/**
 * SPEC §8 "no silent loss", measured on the real handlers against dynalite, s3rver and
 * aws-ses-v2-local, with SQS and Lambda's event source mapping simulated on a virtual
 * clock (tests/support/sqs-driver.ts: redelivery of batch item failures, the DLQ after
 * maxReceiveCount, at-least-once duplicates) and faults put into the SDK clients
 * (tests/support/fault-injection.ts). Every fault decision is a hash of the run's seed and
 * the call, so a failing seed replays.
 *
 * One run: requests → Email Sender → SES; each accepted send at once puts its SES events
 * (possibly twice) on the feedback queue, so feedback races the sender's own update → the
 * Feedback Processor, whose soft-bounce retries go back on the send queue. Both queues are
 * drained side by side, shuffled, until both are empty. After it, per run:
 * - every request message is consumed or in the send DLQ, and requests in = final
 *   tracking records + DLQ messages, exactly; a consumed request always has a final record;
 * - SES accepted at most one message per emailId (and the SES stand-in holds just those);
 * - no write ever lowered a record's status (each write's previous status is read by the
 *   write itself), and only `sending` claims are ever deleted;
 * - every feedback message is consumed or in the feedback DLQ; each record's status is at
 *   least what its consumed events demand and at most what any of its events allow;
 *   hard bounces and complaints that were consumed suppressed their address;
 * - daily counters never count a fact twice (counter ≤ records carrying the fact).
 */

let env: StandIns;
const destroyers: (() => void)[] = [];

beforeAll(async () => {
  env = await startStandIns('reliability');
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome', 'newsletter']);
});

afterAll(async () => {
  for (const destroy of destroyers) destroy();
  await env?.stop();
});

interface Profile {
  seed: number;
  requests: number;
  /** Share of SES SendEmail calls refused with TooManyRequests. */
  sesThrottle?: number;
  /** Share of DynamoDB calls that fail (before the call, or for writes also after it). */
  ddbFault?: number;
  /** Share of invocations whose container dies at a random AWS call. */
  crash?: number;
  /** Share of messages SQS hands out twice in a round. */
  duplicates?: number;
  /** Share of SES events published twice (as separate messages). */
  eventCopies?: number;
  /** Share of soft-bounce retry SendMessage calls that fail. */
  sqsFault?: number;
  bus?: 'accept' | 'flaky' | 'reject-all';
  concurrency: number;
}

type EventKind = 'send' | 'delivery' | 'open1' | 'open2' | 'click' | 'hard' | 'soft' | 'complaint' | 'reject' | 'delay';

/** What SES sends back for a first attempt (one plan per email, chosen by its emailId), and for a retry. */
const FIRST_PLANS: EventKind[][] = [
  ['delivery', 'open1', 'open2', 'click'],
  ['hard'],
  ['soft'],
  ['delivery', 'complaint'],
  ['send', 'delay', 'delivery'],
  ['reject', 'open1'],
];
const RETRY_PLANS: EventKind[][] = [['soft'], ['delivery', 'open1']];

function target(kind: EventKind, retryAttempt: number): RecordStatus | undefined {
  switch (kind) {
    case 'delivery':
      return 'delivered';
    case 'open1':
    case 'open2':
    case 'click':
      return 'opened';
    case 'hard':
      return 'bounced';
    case 'soft':
      return retryAttempt > 0 ? 'failed' : 'soft_bounced';
    case 'complaint':
      return 'complained';
    case 'reject':
      return 'failed';
    default:
      return undefined;
  }
}

function sesEvent(kind: EventKind, send: SesSend): SesEventJson {
  const type: FixtureType = (
    { send: 'Send', delivery: 'Delivery', open1: 'Open', open2: 'Open', click: 'Click', hard: 'Bounce', soft: 'Bounce', complaint: 'Complaint', reject: 'Reject', delay: 'DeliveryDelay' } as const
  )[kind];
  const detail = adjust(sesFixture(type), { messageId: send.messageId, to: send.to, tags: emailIdTagMap(send.emailId) });
  if (kind === 'open2') detail.open.timestamp = '2017-08-10T09:00:00.000Z';
  if (kind === 'soft') {
    detail.bounce.bounceType = 'Transient';
    detail.bounce.bounceSubType = 'MailboxFull';
    detail.bounce.feedbackId = `fb-${send.messageId}`;
  }
  return eventBridgeEnvelope(detail);
}

interface FeedbackMessage {
  emailId: string;
  kind: EventKind;
}

class Run {
  readonly clock: VirtualClock;
  readonly random: () => number;
  readonly sendQueue: SimulatedQueue;
  readonly feedbackQueue: SimulatedQueue;
  readonly statusWrites: StatusWrite[] = [];
  readonly sends: SesSend[] = [];
  readonly sesAttempts = new Map<string, number>();
  readonly published: Record<string, unknown>[] = [];
  readonly feedbackMessages = new Map<string, FeedbackMessage>();
  readonly requestIds: string[] = [];
  readonly logs: Record<string, unknown>[] = [];
  readonly reports: DrainReport[] = [];
  private readonly ddbCalls = new Map<string, number>();
  private sqsCalls = 0;
  private busCalls = 0;
  /** Off for the redrive after the faulty run: the DLQs are replayed against healthy services. */
  faultsOn = true;

  constructor(
    readonly name: string,
    readonly profile: Profile,
    readonly day: Date,
  ) {
    this.clock = new VirtualClock(day.getTime());
    this.random = seededRandom(profile.seed);
    const common = { clock: this.clock, random: this.random, duplicateRate: profile.duplicates ?? 0 };
    this.sendQueue = new SimulatedQueue({ ...common, name: `${name}-send`, maxReceiveCount: 10, visibilityTimeoutSeconds: 180 });
    this.feedbackQueue = new SimulatedQueue({ ...common, name: `${name}-feedback`, maxReceiveCount: 5, visibilityTimeoutSeconds: 180 });
  }

  private ddbFault = (call: DynamoCall): Fault | undefined => {
    const rate = this.faultsOn ? (this.profile.ddbFault ?? 0) : 0;
    if (rate === 0) return undefined;
    const id = `${call.command}|${call.table}|${call.key}`;
    const n = this.ddbCalls.get(id) ?? 0;
    this.ddbCalls.set(id, n + 1);
    const seed = this.profile.seed;
    if (chance(seed, 'ddb', id, n) >= rate) return undefined;
    // Throttling means "not applied"; only an error or a timeout can follow a write that happened.
    const after = call.write && chance(seed, 'ddb-phase', id, n) < 0.4;
    const kinds = after
      ? [dynamoFaults.internal, dynamoFaults.timeout]
      : [dynamoFaults.throttled, dynamoFaults.throttling, dynamoFaults.internal, dynamoFaults.timeout];
    const error = kinds[Math.floor(chance(seed, 'ddb-kind', id, n) * kinds.length)]!();
    return { phase: after ? 'after' : 'before', error };
  };

  private sesFault = (emailId: string, attempt: number): Error | undefined =>
    this.faultsOn && chance(this.profile.seed, 'ses', emailId, attempt) < (this.profile.sesThrottle ?? 0) ? sesThrottle() : undefined;

  private busBehaviour = (): BusBehaviour => {
    this.busCalls += 1;
    if (!this.faultsOn) return 'accept';
    if (this.profile.bus === 'reject-all') return this.busCalls % 2 === 0 ? 'throw' : 'refuse-entries';
    if (this.profile.bus === 'flaky') {
      const roll = chance(this.profile.seed, 'bus', this.busCalls);
      return roll < 0.25 ? 'throw' : roll < 0.5 ? 'refuse-entries' : 'accept';
    }
    return 'accept';
  };

  /** A container whose invocations may die at a seeded AWS call. */
  private container(build: (gate: CrashGate) => (event: never) => Promise<unknown>): Container {
    const gate = new CrashGate();
    const handler = build(gate);
    return {
      invoke: async (event) => {
        const first = event.Records[0]!;
        const key = `${first.messageId}#${first.attributes.ApproximateReceiveCount}#${event.Records.length}`;
        const dies = this.faultsOn && chance(this.profile.seed, 'crash', key) < (this.profile.crash ?? 0);
        // At one of the first 12 AWS calls: a batch of feedback makes few calls (its records
        // are read in one BatchGetItem), and a later call would often never come.
        gate.arm(dies ? 1 + Math.floor(chance(this.profile.seed, 'crash-at', key) * 12) : undefined);
        const outcome = await Promise.race([
          handler(event as never).then((response) => ({ response })),
          gate.signal.then(() => 'crashed' as const),
        ]);
        if (outcome === 'crashed') {
          await gate.idle();
          throw new Error('the container died mid-batch');
        }
        return outcome.response as never;
      },
    };
  }

  private clients(gate: CrashGate) {
    const clients = standInClients(env);
    destroyers.push(() => clients.destroy());
    instrumentDynamo(clients.ddb, {
      trackingTable: env.tables.tracking,
      gate,
      fault: this.ddbFault,
      onStatusWrite: (write) => this.statusWrites.push(write),
    });
    instrumentSes(clients.ses, { gate, fault: this.sesFault, sends: this.sends, onSend: (send) => this.publishFeedback(send) }, this.sesAttempts);
    gateClient(clients.s3, gate);
    return clients;
  }

  senderContainer = (): Container =>
    this.container((gate) => {
      const clients = this.clients(gate);
      return createEmailSenderHandler({
        clients: { ddb: clients.ddb, s3: clients.s3, ses: clients.ses },
        env: {
          TRACKING_TABLE: env.tables.tracking,
          SUPPRESSION_TABLE: env.tables.suppression,
          COUNTERS_TABLE: env.tables.counters,
          TEMPLATE_BUCKET: env.bucket,
          CONFIGURATION_SET: 'reliability-tracking',
          DEFAULT_SENDER_EMAIL: 'noreply@app.example',
          UNSUBSCRIBE_URL: 'https://unsubscribe.app.example/u',
          UNSUBSCRIBE_SECRET: 'reliability-secret',
        },
        now: () => this.clock.now(),
        log: (entry) => this.logs.push(entry),
      }) as never;
    });

  feedbackContainer = (): Container =>
    this.container((gate) => {
      const clients = this.clients(gate);
      const sqs = fakeSqs((body, delay) => this.sendQueue.send(body, delay), {
        gate,
        fault: () =>
          this.faultsOn && chance(this.profile.seed, 'sqs', ++this.sqsCalls) < (this.profile.sqsFault ?? 0) ? dynamoFaults.internal() : undefined,
      });
      const events = fakeEventBus(this.busBehaviour, this.published, { gate });
      return createFeedbackProcessorHandler({
        clients: { ddb: clients.ddb, sqs: sqs as unknown as SQSClient, events: events as unknown as EventBridgeClient },
        env: {
          TRACKING_TABLE: env.tables.tracking,
          SUPPRESSION_TABLE: env.tables.suppression,
          COUNTERS_TABLE: env.tables.counters,
          EVENT_BUS_NAME: 'reliability-EmailBus',
          SEND_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/reliability-send',
          SOFT_BOUNCE_RETRY_DELAY_SECONDS: '900',
        },
        now: () => this.clock.now(),
        log: (entry) => this.logs.push(entry),
      }) as never;
    });

  publishRequests(): void {
    for (let i = 0; i < this.profile.requests; i++) {
      const emailId = `${this.name}-${i}`;
      this.requestIds.push(emailId);
      const to = i % 10 === 9 ? 'not-an-address' : `reader-${this.name}-${i}@customer.example`;
      const templateName = i % 10 === 8 ? 'newsletter' : 'welcome';
      const templateData = templateName === 'newsletter' ? { firstName: 'Ann' } : { userName: 'Ann', companyName: 'Acme' };
      this.sendQueue.send(requestEvent({ emailId, to, templateName, templateData }));
    }
  }

  /**
   * SES's events for a send, as soon as SES accepts it (so they may overtake the sender's
   * own `sent` update), each possibly published twice. The plan is fixed by the emailId.
   */
  publishFeedback(send: SesSend): Promise<void> | void {
    const retry = !this.requestIds.includes(send.emailId);
    const plans = retry ? RETRY_PLANS : FIRST_PLANS;
    const plan = plans[Math.floor(chance(this.profile.seed, 'plan', send.emailId) * plans.length)]!;
    const ids: string[] = [];
    for (const kind of plan) {
      const copies = chance(this.profile.seed, 'copy', send.emailId, kind) < (this.profile.eventCopies ?? 0) ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        const id = this.feedbackQueue.send(JSON.stringify(sesEvent(kind, send)));
        this.feedbackMessages.set(id, { emailId: send.emailId, kind });
        ids.push(id);
      }
    }
    // For half the sends, SES's events are handled before the sender hears back from SES.
    if (chance(this.profile.seed, 'overtake', send.emailId) < 0.5) return this.feedbackQueue.whenSettled(ids);
  }

  /** emailIds of the soft-bounce retries the Feedback Processor queued. */
  retryIds(): Set<string> {
    const originals = new Set(this.requestIds);
    return new Set(this.sendQueue.sentBodies.map((m) => emailIdOf(m.body)).filter((id) => !originals.has(id)));
  }

  /** Both queues drained side by side until neither holds anything (retries re-fill the send queue). */
  async play(): Promise<void> {
    const { concurrency } = this.profile;
    while (this.sendQueue.depth + this.feedbackQueue.depth > 0) {
      const reports = await Promise.all([
        this.sendQueue.drain({ newContainer: this.senderContainer, concurrency, keepAliveWhile: () => this.feedbackQueue.busy }),
        this.feedbackQueue.drain({ newContainer: this.feedbackContainer, concurrency, keepAliveWhile: () => this.sendQueue.busy }),
      ]);
      this.reports.push(...reports);
    }
  }
}

async function records(): Promise<Map<string, SenderTrackingRecord & Record<string, unknown>>> {
  return new Map((await scanTracking(env.ddb, env.tables.tracking)).map((r) => [r.emailId, r as SenderTrackingRecord & Record<string, unknown>]));
}

function emailIdOf(body: string): string {
  return (JSON.parse(body) as { detail: { emailId: string } }).detail.emailId;
}

type Tracked = Awaited<ReturnType<typeof records>>;

const isFinal = (tracked: Tracked, id: string) => {
  const status = tracked.get(id)?.status;
  return status !== undefined && status !== 'sending';
};

/** What both the faulty run and the redrive must leave: checked after each. */
async function checkCommon(run: Run, tracked: Tracked, exact: boolean): Promise<void> {
  // Nothing stalled: every message of both queues was deleted or dead-lettered, never both.
  expect({ send: run.sendQueue.depth, feedback: run.feedbackQueue.depth }).toEqual({ send: 0, feedback: 0 });
  for (const queue of [run.sendQueue, run.feedbackQueue]) {
    for (const { messageId } of queue.sentBodies) {
      const dead = queue.deadLetters.some((m) => m.messageId === messageId);
      expect({ messageId, handled: queue.consumed.has(messageId) !== dead }).toEqual({ messageId, handled: true });
    }
  }
  // A consumed request always left a final record.
  for (const { messageId, body } of run.sendQueue.sentBodies) {
    const id = emailIdOf(body);
    if (run.sendQueue.consumed.has(messageId)) expect({ id, final: isFinal(tracked, id) }).toEqual({ id, final: true });
  }

  // No emailId sent twice, and SES holds exactly the sends it accepted.
  const perId = new Map<string, number>();
  for (const send of run.sends) perId.set(send.emailId, (perId.get(send.emailId) ?? 0) + 1);
  expect([...perId].filter(([, n]) => n > 1)).toEqual([]);
  const mail = (await env.sentMail()).filter((m) => m.destination.to.some((to) => to.includes(`-${run.name}-`)));
  expect(mail).toHaveLength(run.sends.length);

  // No write lowered a status; only `sending` claims were deleted.
  expect(run.statusWrites.filter(isRegression)).toEqual([]);

  // Feedback: each record's status is at least what its consumed events demand, at most what any allows.
  const byRecord = new Map<string, { consumed: EventKind[]; all: EventKind[] }>();
  for (const [messageId, { emailId, kind }] of run.feedbackMessages) {
    const entry = byRecord.get(emailId) ?? { consumed: [], all: [] };
    entry.all.push(kind);
    if (run.feedbackQueue.consumed.has(messageId)) entry.consumed.push(kind);
    byRecord.set(emailId, entry);
  }
  const rankOf = (kinds: EventKind[], attempt: number) =>
    Math.max(-1, ...kinds.map((k) => target(k, attempt)).filter((t): t is RecordStatus => t !== undefined).map(statusRank));
  for (const [emailId, { consumed, all }] of byRecord) {
    const record = tracked.get(emailId)!;
    // SES only sends after the sender's claim, and nothing deletes a claim that was sent.
    expect({ emailId, tracked: record !== undefined }).toEqual({ emailId, tracked: true });
    const attempt = record.retryAttempt ?? 0;
    const rank = statusRank(record.status);
    expect({ emailId, atLeast: rank >= rankOf(consumed, attempt) }).toEqual({ emailId, atLeast: true });
    expect({ emailId, atMost: rank <= Math.max(rankOf(all, attempt), statusRank('failed')) }).toEqual({ emailId, atMost: true });
    if (exact) expect({ emailId, rank }).toEqual({ emailId, rank: rankOf(all, attempt) });
    if (consumed.includes('hard') || consumed.includes('complaint')) {
      const entry = await getSuppression(env.ddb, env.tables.suppression, record.toEmail);
      expect({ emailId, suppressed: entry !== undefined }).toEqual({ emailId, suppressed: true });
    }
  }

  // Counters never count a fact twice (and, without faults, count every one).
  const day = datePartition(run.day);
  expect(datePartition(run.clock.now())).toBe(day);
  const counts = await readDailyCounts(env.ddb, env.tables.counters, day);
  const mine = [...tracked.values()].filter((r) => r.emailId.startsWith(`${run.name}-`) || run.retryIds().has(r.emailId));
  const carrying = (field: string) => mine.filter((r) => r[field] !== undefined).length;
  const facts = { delivered: carrying('deliveredAt'), complained: carrying('complainedAt'), bounced: carrying('bounceCountedAt'), sent: run.sends.length };
  const counted = { delivered: counts.delivered, complained: counts.complained, bounced: counts.bounced, sent: counts.sent };
  for (const key of Object.keys(facts) as (keyof typeof facts)[]) {
    expect({ key, overcounted: counted[key] > facts[key] }).toEqual({ key, overcounted: false });
  }
  if (exact) expect(counted).toEqual(facts);
}

/**
 * After the faulty run: no request lost. Each is tracked final or has its message in the
 * DLQ. Both at once happens when SES accepted the email on its last receive, the `sent`
 * update failed and the SES events then raised the claim (tracked, sent once), or when a
 * duplicate copy resent a dead container's claim after the window (tracked, sent once) or,
 * under the `fail` policy, turned it into DUP001 (tracked, never sent); either way the copy
 * in the DLQ is consumed by a redrive as a duplicate.
 */
async function checkAfterFaults(run: Run, exact: boolean) {
  const tracked = await records();
  await checkCommon(run, tracked, exact);
  const dead = new Set(run.sendQueue.deadLetters.map((m) => emailIdOf(m.body)));
  const final = run.requestIds.filter((id) => isFinal(tracked, id));
  const inDlq = run.requestIds.filter((id) => dead.has(id));
  const both = final.filter((id) => dead.has(id));
  expect(run.requestIds.filter((id) => !isFinal(tracked, id) && !dead.has(id))).toEqual([]);
  expect(final.length + inDlq.length - both.length).toBe(run.requestIds.length);
  // Or, under the `fail` policy: a duplicate copy found the claim stale (the container died
  // before the send) and tracked it failed DUP001, never sent, while the other copy was dead-lettered.
  for (const id of both) {
    const record = tracked.get(id);
    const sent = run.sends.some((s) => s.emailId === id);
    const abandonedClaim = !sent && record?.status === 'failed' && record.errorCode === 'DUP001';
    expect({ id, sentOrAbandoned: sent || abandonedClaim, status: record?.status, errorCode: record?.errorCode }).toMatchObject({
      id,
      sentOrAbandoned: true,
    });
  }
  for (const id of run.retryIds()) {
    const messages = run.sendQueue.sentBodies.filter((m) => emailIdOf(m.body) === id);
    const allDead = messages.every((m) => run.sendQueue.deadLetters.some((d) => d.messageId === m.messageId));
    expect({ id, settled: isFinal(tracked, id) || allDead }).toEqual({ id, settled: true });
  }
  return { tracked, final: final.length, sendDlq: inDlq.length, both: both.length, feedbackDlq: run.feedbackQueue.deadLetters.length };
}

/** After redriving both DLQs against healthy services: requests in = final records, exactly. */
async function checkAfterRedrive(run: Run, exact: boolean) {
  const tracked = await records();
  expect({ send: run.sendQueue.deadLetters.length, feedback: run.feedbackQueue.deadLetters.length }).toEqual({ send: 0, feedback: 0 });
  await checkCommon(run, tracked, exact);
  expect(run.requestIds.filter((id) => isFinal(tracked, id))).toHaveLength(run.requestIds.length);
  expect([...run.retryIds()].filter((id) => !isFinal(tracked, id))).toEqual([]);
  return { tracked };
}

/** One line per run (RELIABILITY_REPORT=1): what happened, for docs/BENCHMARKS.md. */
function summary(
  name: string,
  run: Run,
  outcome: Awaited<ReturnType<typeof checkAfterFaults>>,
  redriven: { send: number; feedback: number },
  finalRecords: Tracked,
): string {
  // Statuses after the redrive.
  const statuses: Record<string, number> = {};
  for (const record of finalRecords.values()) {
    if (!record.emailId.startsWith(`${run.name}-`) && !run.retryIds().has(record.emailId)) continue;
    const key = `${record.status}${record.errorCode ? `/${record.errorCode}` : ''}`;
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  const total = (key: 'invocations' | 'thrown' | 'returned' | 'duplicates') => run.reports.reduce((sum, r) => sum + r[key], 0);
  return JSON.stringify({
    run: name,
    requests: run.profile.requests,
    sesCalls: [...run.sesAttempts.values()].reduce((a, b) => a + b, 0),
    sesAccepted: run.sends.length,
    retries: run.retryIds().size,
    finalAfterFaults: outcome.final,
    sendDlq: outcome.sendDlq,
    finalAndDlq: outcome.both,
    feedbackEvents: run.feedbackMessages.size,
    feedbackDlq: outcome.feedbackDlq,
    redriven,
    invocations: total('invocations'),
    crashed: total('thrown'),
    returnedItems: total('returned'),
    duplicateDeliveries: total('duplicates'),
    statusWrites: run.statusWrites.length,
    notificationsPublished: run.published.length,
    statuses,
  });
}

const PROFILES: [string, Profile, boolean][] = [
  ['events out of order and delivered twice, no faults', { seed: 11, requests: 30, duplicates: 0.3, eventCopies: 0.3, concurrency: 3 }, true],
  ['SES throttles half of all sends', { seed: 12, requests: 30, sesThrottle: 0.5, concurrency: 2 }, false],
  ['DynamoDB throttles and fails 8% of calls, some after the write', { seed: 13, requests: 30, ddbFault: 0.08, sqsFault: 0.2, concurrency: 2 }, false],
  ['containers die mid-batch', { seed: 14, requests: 30, crash: 0.3, concurrency: 2 }, false],
  ['the bus rejects every status notification', { seed: 15, requests: 20, bus: 'reject-all', concurrency: 2 }, true],
  [
    'everything at once',
    { seed: 16, requests: 30, sesThrottle: 0.5, ddbFault: 0.05, crash: 0.15, duplicates: 0.2, eventCopies: 0.2, sqsFault: 0.1, bus: 'flaky', concurrency: 3 },
    false,
  ],
];

describe('no silent loss, no double send, no regressed status', () => {
  it.each(PROFILES)('%s', async (name, profile, exact) => {
    const slug = name.replace(/[^a-z]+/gi, '').slice(0, 12).toLowerCase() + profile.seed;
    const run = new Run(slug, profile, new Date(Date.UTC(2031, 0, profile.seed, 1, 0, 0)));
    run.publishRequests();
    await run.play();
    const outcome = await checkAfterFaults(run, exact);

    // The run exercised what it claims to (the numbers are printed when it did not).
    const exercised = {
      sends: run.sends.length,
      retries: run.retryIds().size,
      sesAttempts: [...run.sesAttempts.values()].reduce((a, b) => a + b, 0),
      crashed: run.reports.reduce((sum, r) => sum + r.thrown, 0),
    };
    expect({
      exercised,
      enoughSends: exercised.sends > profile.requests / 3,
      retried: exercised.retries > 0,
      throttled: !profile.sesThrottle || exercised.sesAttempts > exercised.sends,
      crashed: !profile.crash || exercised.crashed > 0,
    }).toEqual({ exercised, enoughSends: true, retried: true, throttled: true, crashed: true });
    if (profile.bus === 'reject-all') {
      expect(run.published).toEqual([]);
      expect(run.logs.some((l) => l.message === 'Status notifications not published')).toBe(true);
      expect(outcome.feedbackDlq).toBe(0);
    }
    if (exact) expect({ sendDlq: outcome.sendDlq, feedbackDlq: outcome.feedbackDlq }).toEqual({ sendDlq: 0, feedbackDlq: 0 });

    // The dead letters replayed once the faults are gone: every request ends final, none sent twice.
    run.faultsOn = false;
    run.clock.advance(16 * 60_000);
    const redriven = { send: run.sendQueue.redrive(), feedback: run.feedbackQueue.redrive() };
    await run.play();
    const { tracked } = await checkAfterRedrive(run, exact);
    if (process.env.RELIABILITY_REPORT) console.log(summary(name, run, outcome, redriven, tracked));
  });
});
