import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { md5Hex, succeededMessages, toSqsEvent, type LocalQueue, type ReceivedMessage } from '../../src/local/local-queue.js';

/**
 * A deterministic stand-in for an SQS queue with a redrive policy and the Lambda event
 * source mapping in front of it, on a virtual clock, for reliability tests:
 *
 * - a message received `maxReceiveCount` times and still not deleted moves to the
 *   dead-letter queue on its next receive (SQS's redrive rule);
 * - a batch's `batchItemFailures` return only those messages; a thrown invocation returns
 *   the whole batch (Lambda's ReportBatchItemFailures rules, from src/local/local-queue.ts);
 * - a returned message is visible again after the visibility timeout, on the virtual clock;
 * - at-least-once delivery: with `duplicateRate`, a message is handed out twice in the
 *   same round (to different batches or the same one), as standard queues sometimes do.
 *
 * Rounds: every visible message is received, shuffled with the seeded generator, cut into
 * batches and handed to `concurrency` containers at once. When nothing is visible the clock
 * jumps to the next message's visibility. Timing never decides an outcome here.
 */

export class VirtualClock {
  constructor(public ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** mulberry32: a small seeded generator, so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A number in [0, 1) fixed by the seed and the parts: the same question always gets the same answer. */
export function chance(seed: number | string, ...parts: (string | number)[]): number {
  const digest = createHash('sha256').update([String(seed), ...parts.map(String)].join('\u0000')).digest();
  return digest.readUInt32BE(0) / 4294967296;
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export interface QueueMessage {
  messageId: string;
  body: string;
  receiveCount: number;
  sentAt: number;
  firstReceiveAt: number;
  /** Virtual ms from which the message may be received. */
  visibleAt: number;
}

export interface SimulatedQueueOptions {
  name: string;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  clock: VirtualClock;
  random: () => number;
  batchSize?: number;
  duplicateRate?: number;
}

/** One Lambda execution environment: it handles one batch at a time. */
export interface Container {
  invoke(event: SQSEvent): Promise<SQSBatchResponse | void>;
}

export interface DrainOptions {
  /** A new execution environment; called at start and to replace one whose invocation threw. */
  newContainer: () => Container;
  /** Batches in flight at once (the event source mapping's maximum concurrency). */
  concurrency: number;
  /** Safety stop: the run fails if the queue is not empty after this many rounds. */
  maxRounds?: number;
  /** Virtual time a round takes. */
  roundMs?: number;
  /** While this holds, an empty queue waits for messages instead of returning (another queue may feed it). */
  keepAliveWhile?: () => boolean;
}

export interface DrainReport {
  rounds: number;
  invocations: number;
  /** Invocations that threw (the whole batch returned). */
  thrown: number;
  /** Deliveries returned through batchItemFailures. */
  returned: number;
  /** Extra deliveries of a message in the same round (at-least-once). */
  duplicates: number;
}

export class SimulatedQueue {
  readonly name: string;
  readonly arn: string;
  readonly region = 'us-east-1';
  readonly deadLetters: QueueMessage[] = [];
  /** Every body ever sent, in order (the "requests in"). */
  readonly sentBodies: { messageId: string; body: string }[] = [];
  /** Message ids deleted after a successful invocation. */
  readonly consumed = new Set<string>();
  private waiting: QueueMessage[] = [];
  private sequence = 0;
  private running = 0;
  private settleWaiters: { ids: string[]; resolve: () => void }[] = [];

  constructor(private readonly options: SimulatedQueueOptions) {
    this.name = options.name;
    this.arn = `arn:aws:sqs:us-east-1:111122223333:${options.name}`;
  }

  send(body: string, delaySeconds = 0): string {
    this.sequence += 1;
    const messageId = `${this.name}-${String(this.sequence).padStart(6, '0')}`;
    const now = this.options.clock.ms;
    this.waiting.push({ messageId, body, receiveCount: 0, sentAt: now, firstReceiveAt: 0, visibleAt: now + delaySeconds * 1000 });
    this.sentBodies.push({ messageId, body });
    return messageId;
  }

  /** Messages not yet deleted and not in the dead-letter queue. */
  get depth(): number {
    return this.waiting.length;
  }

  /** Moves every dead letter back onto the queue, as a DLQ redrive does; receive counts start again. */
  redrive(): number {
    const moved = this.deadLetters.splice(0);
    for (const message of moved) {
      message.receiveCount = 0;
      message.visibleAt = this.options.clock.ms;
      this.waiting.push(message);
    }
    return moved.length;
  }

  /** True while messages wait or a batch is being handled. */
  get busy(): boolean {
    return this.waiting.length > 0 || this.running > 0;
  }

  /** Resolves once each of these messages is deleted or in the dead-letter queue. */
  whenSettled(messageIds: string[]): Promise<void> {
    return new Promise((resolve) => {
      this.settleWaiters.push({ ids: messageIds, resolve });
      this.wakeSettled();
    });
  }

  private isSettled(messageId: string): boolean {
    return this.consumed.has(messageId) || this.deadLetters.some((m) => m.messageId === messageId);
  }

  private wakeSettled(): void {
    this.settleWaiters = this.settleWaiters.filter((waiter) => {
      if (!waiter.ids.every((id) => this.isSettled(id))) return true;
      waiter.resolve();
      return false;
    });
  }

  async drain(options: DrainOptions): Promise<DrainReport> {
    const { clock, random } = this.options;
    const batchSize = this.options.batchSize ?? 10;
    const maxRounds = options.maxRounds ?? 500;
    const roundMs = options.roundMs ?? 1000;
    const report: DrainReport = { rounds: 0, invocations: 0, thrown: 0, returned: 0, duplicates: 0 };
    const containers = Array.from({ length: options.concurrency }, () => options.newContainer());

    for (;;) {
      if (this.waiting.length === 0) {
        if (!options.keepAliveWhile?.()) break;
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      if (report.rounds >= maxRounds) throw new Error(`${this.name}: ${this.waiting.length} messages still queued after ${maxRounds} rounds.`);
      const received = this.receiveVisible();
      this.wakeSettled();
      if (received.length === 0) {
        if (this.waiting.length === 0) continue;
        clock.ms = Math.max(clock.ms, Math.min(...this.waiting.map((m) => m.visibleAt)));
        continue;
      }
      report.rounds += 1;

      const deliveries: QueueMessage[] = [...received];
      for (const message of received) {
        if (random() < (this.options.duplicateRate ?? 0)) {
          deliveries.push(message);
          report.duplicates += 1;
        }
      }
      shuffle(deliveries, random);
      const batches: QueueMessage[][] = [];
      for (let i = 0; i < deliveries.length; i += batchSize) batches.push(deliveries.slice(i, i + batchSize));

      const succeeded = new Set<string>();
      let next = 0;
      await Promise.all(
        containers.map(async (_, slot) => {
          while (next < batches.length) {
            const batch = batches[next++]!;
            const asReceived = batch.map((m, i) => this.asReceived(m, i));
            report.invocations += 1;
            let response: SQSBatchResponse | void;
            this.running += 1;
            try {
              response = await containers[slot]!.invoke(toSqsEvent(this as unknown as LocalQueue, asReceived));
            } catch {
              report.thrown += 1;
              containers[slot] = options.newContainer();
              continue;
            } finally {
              this.running -= 1;
            }
            const ok = succeededMessages(asReceived, response);
            report.returned += asReceived.length - ok.length;
            for (const message of ok) succeeded.add(message.messageId);
          }
        }),
      );

      for (const message of received) {
        if (succeeded.has(message.messageId)) {
          this.consumed.add(message.messageId);
        } else {
          message.visibleAt = clock.ms + this.options.visibilityTimeoutSeconds * 1000;
          this.waiting.push(message);
        }
      }
      this.wakeSettled();
      clock.advance(roundMs);
    }
    return report;
  }

  /** Takes every visible message out of the queue, moving those received too often to the DLQ. */
  private receiveVisible(): QueueMessage[] {
    const now = this.options.clock.ms;
    const visible = this.waiting.filter((m) => m.visibleAt <= now);
    this.waiting = this.waiting.filter((m) => m.visibleAt > now);
    const received: QueueMessage[] = [];
    for (const message of visible) {
      if (message.receiveCount >= this.options.maxReceiveCount) {
        this.deadLetters.push(message);
        continue;
      }
      message.receiveCount += 1;
      if (message.firstReceiveAt === 0) message.firstReceiveAt = now;
      received.push(message);
    }
    return received;
  }

  private asReceived(message: QueueMessage, position: number): ReceivedMessage {
    return {
      messageId: message.messageId,
      receiptHandle: `${message.messageId}#${message.receiveCount}#${position}`,
      body: message.body,
      md5OfBody: md5Hex(message.body),
      receiveCount: message.receiveCount,
      sentTimestamp: message.sentAt,
      firstReceiveTimestamp: message.firstReceiveAt,
    };
  }
}
