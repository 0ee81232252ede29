/**
 * An in-process stand-in for the two SQS queues and their Lambda event source mappings,
 * with the semantics the stack relies on:
 * - per-message delay (DelaySeconds; soft-bounce retries and deferred sends use it),
 * - string and number message attributes, passed to the handler as Lambda does,
 * - a visibility timeout: a received message is hidden until it is deleted or the
 *   timeout passes, then it is delivered again,
 * - a redrive policy: a message received `maxReceiveCount` times and still not deleted
 *   moves to the dead-letter queue on its next receive,
 * - an event source mapping (QueuePoller): batches of up to `batchSize`, at most
 *   `maxConcurrency` batches at once, `batchItemFailures` → only those records return
 *   (after the visibility timeout), a thrown error → the whole batch returns.
 *
 * Timers are the global ones, so tests drive it with jest's fake timers.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface QueueOptions {
  name: string;
  url: string;
  arn: string;
  region?: string;
  visibilityTimeoutSeconds?: number;
  /** With a dead-letter queue: deliveries before a message moves there. */
  maxReceiveCount?: number;
  deadLetterQueue?: LocalQueue;
}

export interface SendResult {
  MessageId: string;
  MD5OfMessageBody: string;
}

/** A message attribute as SQS keeps it (String and Number types). */
export interface MessageAttribute {
  dataType: string;
  stringValue: string;
}

export interface ReceivedMessage {
  attributes?: Record<string, MessageAttribute>;
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  receiveCount: number;
  sentTimestamp: number;
  firstReceiveTimestamp: number;
}

interface StoredMessage {
  attributes?: Record<string, MessageAttribute>;
  messageId: string;
  body: string;
  md5OfBody: string;
  sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp: number;
  receiptHandle?: string;
  timer?: ReturnType<typeof setTimeout>;
}

export interface QueueCounts {
  visible: number;
  inFlight: number;
  delayed: number;
}

export const MAX_DELAY_SECONDS = 900;

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export class LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly region: string;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number | undefined;
  readonly deadLetterQueue: LocalQueue | undefined;

  // A FIFO of visible messages: an array with a moving head avoids O(n) shifts under bursts.
  private visible: StoredMessage[] = [];
  private head = 0;
  private readonly inFlight = new Map<string, StoredMessage>();
  private readonly delayed = new Set<StoredMessage>();
  private readonly listeners = new Set<() => void>();
  private closed = false;

  constructor(options: QueueOptions) {
    this.name = options.name;
    this.url = options.url;
    this.arn = options.arn;
    this.region = options.region ?? 'us-east-1';
    this.visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
    this.maxReceiveCount = options.deadLetterQueue ? (options.maxReceiveCount ?? 3) : undefined;
    this.deadLetterQueue = options.deadLetterQueue;
  }

  /** Adds a message; `delayMs` (local use) takes precedence over `delaySeconds`. */
  send(body: string, options: { delaySeconds?: number; delayMs?: number; attributes?: Record<string, MessageAttribute> } = {}): SendResult {
    const message: StoredMessage = {
      ...(options.attributes && Object.keys(options.attributes).length > 0 ? { attributes: options.attributes } : {}),
      messageId: randomUUID(),
      body,
      md5OfBody: md5Hex(body),
      sentTimestamp: Date.now(),
      receiveCount: 0,
      firstReceiveTimestamp: 0,
    };
    this.enqueue(message, options.delayMs ?? (options.delaySeconds ?? 0) * 1000);
    return { MessageId: message.messageId, MD5OfMessageBody: message.md5OfBody };
  }

  /** Takes up to `max` visible messages and hides them for the visibility timeout. */
  receive(max = 10): ReceivedMessage[] {
    const out: ReceivedMessage[] = [];
    while (out.length < max && this.head < this.visible.length) {
      const message = this.visible[this.head]!;
      this.visible[this.head] = undefined as unknown as StoredMessage;
      this.head += 1;
      if (this.maxReceiveCount !== undefined && this.deadLetterQueue && message.receiveCount >= this.maxReceiveCount) {
        this.deadLetterQueue.adopt(message);
        continue;
      }
      message.receiveCount += 1;
      if (message.firstReceiveTimestamp === 0) message.firstReceiveTimestamp = Date.now();
      message.receiptHandle = `${message.messageId}#${message.receiveCount}#${randomUUID()}`;
      this.inFlight.set(message.receiptHandle, message);
      message.timer = setTimeout(() => this.returnToQueue(message), this.visibilityTimeoutSeconds * 1000);
      out.push({
        ...(message.attributes ? { attributes: message.attributes } : {}),
        messageId: message.messageId,
        receiptHandle: message.receiptHandle,
        body: message.body,
        md5OfBody: message.md5OfBody,
        receiveCount: message.receiveCount,
        sentTimestamp: message.sentTimestamp,
        firstReceiveTimestamp: message.firstReceiveTimestamp,
      });
    }
    this.compact();
    return out;
  }

  /** Deletes a received message. A stale handle (the message was delivered again since) is ignored, as in SQS. */
  delete(receiptHandle: string): boolean {
    const message = this.inFlight.get(receiptHandle);
    if (!message) return false;
    clearTimeout(message.timer);
    this.inFlight.delete(receiptHandle);
    return true;
  }

  /** Changes a received message's visibility; 0 makes it visible at once. */
  changeVisibility(receiptHandle: string, seconds: number): boolean {
    const message = this.inFlight.get(receiptHandle);
    if (!message) return false;
    clearTimeout(message.timer);
    if (seconds <= 0) {
      this.returnToQueue(message);
    } else {
      message.timer = setTimeout(() => this.returnToQueue(message), seconds * 1000);
    }
    return true;
  }

  counts(): QueueCounts {
    return { visible: this.visible.length - this.head, inFlight: this.inFlight.size, delayed: this.delayed.size };
  }

  /** Every message body currently held (visible, in flight or delayed), for inspection. */
  peekBodies(): string[] {
    return [
      ...this.visible.slice(this.head).map((m) => m.body),
      ...[...this.inFlight.values()].map((m) => m.body),
      ...[...this.delayed].map((m) => m.body),
    ];
  }

  /** Calls `listener` whenever messages become visible. Returns the unsubscribe function. */
  onAvailable(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Cancels every timer; the queue keeps no more work alive. */
  close(): void {
    this.closed = true;
    for (const message of this.inFlight.values()) clearTimeout(message.timer);
    for (const message of this.delayed) clearTimeout(message.timer);
    this.listeners.clear();
  }

  /** Takes over a message redriven from a source queue (kept with its id and receive count). */
  private adopt(message: StoredMessage): void {
    message.receiptHandle = undefined;
    this.enqueue(message, 0);
  }

  private enqueue(message: StoredMessage, delayMs: number): void {
    if (this.closed) return;
    if (delayMs > 0) {
      this.delayed.add(message);
      message.timer = setTimeout(() => {
        this.delayed.delete(message);
        this.makeVisible(message);
      }, delayMs);
      return;
    }
    this.makeVisible(message);
  }

  private returnToQueue(message: StoredMessage): void {
    if (!message.receiptHandle || !this.inFlight.delete(message.receiptHandle)) return;
    message.receiptHandle = undefined;
    this.makeVisible(message);
  }

  private makeVisible(message: StoredMessage): void {
    if (this.closed) return;
    this.visible.push(message);
    for (const listener of this.listeners) listener();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.visible.length) {
      this.visible = this.visible.slice(this.head);
      this.head = 0;
    }
  }
}

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void | undefined>;

export interface PollerOptions {
  batchSize?: number;
  maxConcurrency?: number;
  /** Called when the handler throws (the batch then returns after the visibility timeout). */
  onError?: (error: unknown, queue: LocalQueue) => void;
}

/** Builds the SQS event Lambda passes to a function for a batch. */
export function toSqsEvent(queue: LocalQueue, batch: ReceivedMessage[]): SQSEvent {
  return {
    Records: batch.map(
      (message): SQSRecord => ({
        messageId: message.messageId,
        receiptHandle: message.receiptHandle,
        body: message.body,
        attributes: {
          ApproximateReceiveCount: String(message.receiveCount),
          SentTimestamp: String(message.sentTimestamp),
          SenderId: 'AIDALOCALSESMAILENGINE',
          ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
        },
        messageAttributes: Object.fromEntries(
          Object.entries(message.attributes ?? {}).map(([name, a]) => [name, { dataType: a.dataType, stringValue: a.stringValue, stringListValues: [], binaryListValues: [] }]),
        ),
        md5OfBody: message.md5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: queue.region,
      }),
    ),
  };
}

/** Which messages of a batch succeeded, by Lambda's rules for ReportBatchItemFailures. */
export function succeededMessages(batch: ReceivedMessage[], response: SQSBatchResponse | void | undefined): ReceivedMessage[] {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return batch;
  const ids = new Set(batch.map((m) => m.messageId));
  // An identifier that names no record of the batch (or none at all) fails the whole batch.
  if (failures.some((f) => typeof f?.itemIdentifier !== 'string' || !ids.has(f.itemIdentifier))) return [];
  const failed = new Set(failures.map((f) => f.itemIdentifier));
  return batch.filter((m) => !failed.has(m.messageId));
}

/** The Lambda event source mapping: polls a queue and invokes a handler with batches. */
export class QueuePoller {
  private running = 0;
  private scheduled = false;
  private stopped = true;
  private unsubscribe: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  readonly batchSize: number;
  readonly maxConcurrency: number;

  constructor(
    private readonly queue: LocalQueue,
    private readonly handler: SqsHandler,
    private readonly options: PollerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 10;
    this.maxConcurrency = options.maxConcurrency ?? 2;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.queue.onAvailable(() => this.schedule());
    this.schedule();
  }

  /** Stops taking new batches and waits for the running ones to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.running === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  get inFlightBatches(): number {
    return this.running;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    // After the current synchronous work, so messages sent together (one PutEvents
    // request) share a batch. A promise job rather than a timer: fake timers leave it alone.
    void Promise.resolve().then(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.stopped && this.running < this.maxConcurrency) {
      const batch = this.queue.receive(this.batchSize);
      if (batch.length === 0) return;
      this.running += 1;
      void this.invoke(batch).finally(() => {
        this.running -= 1;
        if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        this.schedule();
      });
    }
  }

  private async invoke(batch: ReceivedMessage[]): Promise<void> {
    let response: SQSBatchResponse | void | undefined;
    try {
      response = await this.handler(toSqsEvent(this.queue, batch));
    } catch (error) {
      this.options.onError?.(error, this.queue);
      return;
    }
    for (const message of succeededMessages(batch, response)) this.queue.delete(message.receiptHandle);
  }
}
