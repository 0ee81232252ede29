import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { LocalQueue, QueuePoller, md5Hex, succeededMessages, toSqsEvent } from '../../../src/local/local-queue.js';

function queues(visibilityTimeoutSeconds = 30, maxReceiveCount = 3) {
  const dlq = new LocalQueue({ name: 'q-dlq', url: 'http://127.0.0.1/0/q-dlq', arn: 'arn:aws:sqs:us-east-1:0:q-dlq' });
  const queue = new LocalQueue({
    name: 'q',
    url: 'http://127.0.0.1/0/q',
    arn: 'arn:aws:sqs:us-east-1:0:q',
    visibilityTimeoutSeconds,
    maxReceiveCount,
    deadLetterQueue: dlq,
  });
  return { queue, dlq };
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('LocalQueue', () => {
  it('returns the MD5 of the body with each sent message, as SQS does', () => {
    const { queue } = queues();
    expect(queue.send('hello').MD5OfMessageBody).toBe(md5Hex('hello'));
    expect(md5Hex('hello')).toBe('5d41402abc4b2a76b9719d911017c592');
  });

  it('hands out at most the requested number of messages, oldest first', () => {
    const { queue } = queues();
    for (let i = 0; i < 25; i += 1) queue.send(`m${i}`);
    expect(queue.receive(10).map((m) => m.body)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(queue.receive(10)).toHaveLength(10);
    expect(queue.receive(10)).toHaveLength(5);
    expect(queue.receive(10)).toHaveLength(0);
  });

  it('hides a received message until its visibility timeout passes, then delivers it again', () => {
    const { queue } = queues(30);
    queue.send('a');
    const [first] = queue.receive();
    expect(queue.receive()).toHaveLength(0);
    jest.advanceTimersByTime(29_999);
    expect(queue.receive()).toHaveLength(0);
    jest.advanceTimersByTime(1);
    const [again] = queue.receive();
    expect(again?.messageId).toBe(first?.messageId);
    expect(again?.receiveCount).toBe(2);
    expect(again?.receiptHandle).not.toBe(first?.receiptHandle);
  });

  it('never delivers a deleted message again', () => {
    const { queue } = queues(30);
    queue.send('a');
    const [message] = queue.receive();
    expect(queue.delete(message!.receiptHandle)).toBe(true);
    jest.advanceTimersByTime(60_000);
    expect(queue.receive()).toHaveLength(0);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('ignores a delete with a stale receipt handle', () => {
    const { queue } = queues(1);
    queue.send('a');
    const [first] = queue.receive();
    jest.advanceTimersByTime(1000);
    const [second] = queue.receive();
    expect(queue.delete(first!.receiptHandle)).toBe(false);
    expect(queue.delete(second!.receiptHandle)).toBe(true);
  });

  it('keeps a delayed message invisible for its DelaySeconds', () => {
    const { queue } = queues();
    queue.send('later', { delaySeconds: 5 });
    queue.send('now');
    expect(queue.counts()).toEqual({ visible: 1, inFlight: 0, delayed: 1 });
    expect(queue.receive().map((m) => m.body)).toEqual(['now']);
    jest.advanceTimersByTime(4_999);
    expect(queue.receive()).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(queue.receive().map((m) => m.body)).toEqual(['later']);
  });

  it('makes a message visible at once when its visibility is changed to 0', () => {
    const { queue } = queues(30);
    queue.send('a');
    const [message] = queue.receive();
    queue.changeVisibility(message!.receiptHandle, 0);
    expect(queue.receive()).toHaveLength(1);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount deliveries', () => {
    const { queue, dlq } = queues(1, 3);
    const { MessageId } = queue.send('poison');
    for (let i = 1; i <= 3; i += 1) {
      const [message] = queue.receive();
      expect(message?.receiveCount).toBe(i);
      jest.advanceTimersByTime(1000);
    }
    expect(queue.receive()).toHaveLength(0);
    const [dead] = dlq.receive();
    expect(dead?.messageId).toBe(MessageId);
    expect(dead?.body).toBe('poison');
  });

  it('tells listeners when messages become visible, including after a delay', () => {
    const { queue } = queues();
    const listener = jest.fn();
    queue.onAvailable(listener);
    queue.send('a');
    queue.send('b', { delaySeconds: 2 });
    expect(listener).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(2000);
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it('cancels its timers when closed', () => {
    const { queue } = queues();
    queue.send('a', { delaySeconds: 10 });
    queue.send('b');
    queue.receive();
    queue.close();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('SQS event for Lambda', () => {
  it('carries each record with the attributes Lambda gives', () => {
    const { queue } = queues();
    queue.send('{"a":1}');
    const event = toSqsEvent(queue, queue.receive());
    expect(event.Records[0]).toMatchObject({
      body: '{"a":1}',
      md5OfBody: md5Hex('{"a":1}'),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:0:q',
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '1' },
    });
  });

  it('treats a batchItemFailures entry naming no record of the batch as a failure of the whole batch', () => {
    const { queue } = queues();
    queue.send('a');
    queue.send('b');
    const batch = queue.receive();
    expect(succeededMessages(batch, undefined)).toHaveLength(2);
    expect(succeededMessages(batch, { batchItemFailures: [{ itemIdentifier: batch[0]!.messageId }] })).toEqual([batch[1]]);
    expect(succeededMessages(batch, { batchItemFailures: [{ itemIdentifier: 'unknown' }] })).toEqual([]);
    expect(succeededMessages(batch, { batchItemFailures: [{ itemIdentifier: '' }] })).toEqual([]);
  });
});

describe('QueuePoller (event source mapping)', () => {
  /** Lets promise chains and setImmediate callbacks run without moving the clock. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 20; i += 1) await jest.advanceTimersByTimeAsync(0);
  }

  it('invokes the handler with batches of up to batchSize and deletes what succeeded', async () => {
    const { queue } = queues();
    const sizes: number[] = [];
    const poller = new QueuePoller(queue, async (event: SQSEvent) => {
      sizes.push(event.Records.length);
      return { batchItemFailures: [] };
    }, { batchSize: 10, maxConcurrency: 1 });
    for (let i = 0; i < 23; i += 1) queue.send(`m${i}`);
    poller.start();
    await settle();
    await settle();
    await settle();
    expect(sizes).toEqual([10, 10, 3]);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await poller.stop();
  });

  it('runs at most maxConcurrency batches at once', async () => {
    const { queue } = queues();
    let running = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const poller = new QueuePoller(queue, async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => release.push(resolve));
      running -= 1;
    }, { batchSize: 1, maxConcurrency: 3 });
    for (let i = 0; i < 10; i += 1) queue.send(`m${i}`);
    poller.start();
    await settle();
    expect(running).toBe(3);
    while (release.length > 0) {
      release.splice(0).forEach((r) => r());
      await settle();
      await settle();
    }
    expect(peak).toBe(3);
    expect(queue.counts().inFlight).toBe(0);
    await poller.stop();
  });

  it('redelivers only the reported batch item failures, after the visibility timeout', async () => {
    const { queue } = queues(30);
    const deliveries: string[] = [];
    let failOnce = true;
    const poller = new QueuePoller(queue, async (event: SQSEvent): Promise<SQSBatchResponse> => {
      deliveries.push(...event.Records.map((r) => r.body));
      const failed = failOnce ? event.Records.filter((r) => r.body === 'b') : [];
      failOnce = false;
      return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
    });
    queue.send('a');
    queue.send('b');
    queue.send('c');
    poller.start();
    await settle();
    expect(deliveries).toEqual(['a', 'b', 'c']);
    expect(queue.counts().inFlight).toBe(1);
    await jest.advanceTimersByTimeAsync(30_000);
    expect(deliveries).toEqual(['a', 'b', 'c', 'b']);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await poller.stop();
  });

  it('returns the whole batch when the handler throws, and dead-letters it after maxReceiveCount', async () => {
    const { queue, dlq } = queues(10, 2);
    const errors: unknown[] = [];
    const deliveries: string[] = [];
    const poller = new QueuePoller(queue, async (event: SQSEvent) => {
      deliveries.push(...event.Records.map((r) => r.body));
      throw new Error('boom');
    }, { onError: (error) => errors.push(error) });
    queue.send('x');
    queue.send('y');
    poller.start();
    await settle();
    await jest.advanceTimersByTimeAsync(10_000);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(deliveries.sort()).toEqual(['x', 'x', 'y', 'y']);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(dlq.counts().visible).toBe(2);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await poller.stop();
  });

  it('picks up delayed messages when they become visible', async () => {
    const { queue } = queues();
    const seen: string[] = [];
    const poller = new QueuePoller(queue, async (event: SQSEvent) => {
      seen.push(...event.Records.map((r) => r.body));
    });
    poller.start();
    queue.send('retry', { delaySeconds: 5 });
    await jest.advanceTimersByTimeAsync(4_000);
    expect(seen).toEqual([]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(seen).toEqual(['retry']);
    await poller.stop();
  });

  it('waits for running batches when stopped and takes no new ones', async () => {
    const { queue } = queues();
    let release: () => void = () => undefined;
    let calls = 0;
    const poller = new QueuePoller(queue, async () => {
      calls += 1;
      await new Promise<void>((resolve) => (release = resolve));
    }, { batchSize: 1, maxConcurrency: 1 });
    queue.send('a');
    queue.send('b');
    poller.start();
    await settle();
    let stopped = false;
    const stopping = poller.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    release();
    await stopping;
    await settle();
    expect(calls).toBe(1);
  });
});
