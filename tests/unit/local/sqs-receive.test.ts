import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { LocalQueue } from '../../../src/local/local-queue.js';
import { handleSqsOperation, queueDirectory } from '../../../src/local/sqs-protocol.js';
import type { AwsJsonError } from '../../../src/local/put-events.js';

/**
 * The SQS operations `sesmailengine dlq` uses on local mode's queues: ReceiveMessage,
 * DeleteMessage(Batch) and ChangeMessageVisibility(Batch), with SQS's JSON shapes.
 */

type Received = { Messages?: { MessageId: string; ReceiptHandle: string; Body: string; MD5OfBody: string; Attributes: Record<string, string> }[] };

function setup() {
  const dlq = new LocalQueue({ name: 'x-send-dlq', url: 'http://127.0.0.1:4010/000000000000/x-send-dlq', arn: 'arn:dlq', visibilityTimeoutSeconds: 30 });
  return { dlq, directory: queueDirectory([dlq]) };
}

function errorOf(fn: () => unknown): AwsJsonError {
  try {
    fn();
  } catch (error) {
    return error as AwsJsonError;
  }
  throw new Error('expected an error');
}

afterEach(() => {
  jest.useRealTimers();
});

describe('ReceiveMessage', () => {
  it('returns up to MaxNumberOfMessages with their attributes and hides them', () => {
    const { dlq, directory } = setup();
    for (const body of ['a', 'b', 'c']) dlq.send(body);
    const out = handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url, MaxNumberOfMessages: 2 }, directory) as Received;
    expect(out.Messages?.map((m) => m.Body)).toEqual(['a', 'b']);
    expect(out.Messages?.[0]?.Attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(out.Messages?.[0]?.Attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(dlq.counts()).toEqual({ visible: 1, inFlight: 2, delayed: 0 });
    dlq.close();
  });

  it('answers an empty object for an empty queue', () => {
    const { dlq, directory } = setup();
    expect(handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url }, directory)).toEqual({});
  });

  it('applies a requested VisibilityTimeout instead of the queue default', () => {
    jest.useFakeTimers();
    const { dlq, directory } = setup();
    dlq.send('a');
    handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url, VisibilityTimeout: 2 }, directory);
    expect(dlq.counts().inFlight).toBe(1);
    jest.advanceTimersByTime(2_001);
    expect(dlq.counts()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    dlq.close();
  });

  it('with VisibilityTimeout 0 leaves the messages visible, counting the receive', () => {
    const { dlq, directory } = setup();
    dlq.send('a');
    handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url, VisibilityTimeout: 0 }, directory);
    const again = handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url }, directory) as Received;
    expect(again.Messages?.[0]?.Attributes.ApproximateReceiveCount).toBe('2');
    dlq.close();
  });

  it('rejects MaxNumberOfMessages over 10 and a negative VisibilityTimeout', () => {
    const { dlq, directory } = setup();
    expect(errorOf(() => handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url, MaxNumberOfMessages: 11 }, directory)).type).toBe(
      'com.amazonaws.sqs#InvalidParameterValue',
    );
    expect(errorOf(() => handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url, VisibilityTimeout: -1 }, directory)).type).toBe(
      'com.amazonaws.sqs#InvalidParameterValue',
    );
  });
});

describe('DeleteMessage and ChangeMessageVisibility', () => {
  it('DeleteMessage removes a received message for good', () => {
    const { dlq, directory } = setup();
    dlq.send('a');
    const out = handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url }, directory) as Received;
    handleSqsOperation('DeleteMessage', { QueueUrl: dlq.url, ReceiptHandle: out.Messages![0]!.ReceiptHandle }, directory);
    expect(dlq.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('DeleteMessageBatch reports each entry and fails one without a receipt handle', () => {
    const { dlq, directory } = setup();
    dlq.send('a');
    dlq.send('b');
    const out = handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url, MaxNumberOfMessages: 10 }, directory) as Received;
    const reply = handleSqsOperation(
      'DeleteMessageBatch',
      { QueueUrl: dlq.url, Entries: [...out.Messages!.map((m, i) => ({ Id: `m${i}`, ReceiptHandle: m.ReceiptHandle })), { Id: 'bad' }] },
      directory,
    ) as { Successful: { Id: string }[]; Failed: { Id: string; Code: string }[] };
    expect(reply.Successful.map((s) => s.Id)).toEqual(['m0', 'm1']);
    expect(reply.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'MissingParameter' })]);
    expect(dlq.counts().inFlight).toBe(0);
  });

  it('ChangeMessageVisibilityBatch with 0 makes messages visible again at once', () => {
    const { dlq, directory } = setup();
    dlq.send('a');
    const out = handleSqsOperation('ReceiveMessage', { QueueUrl: dlq.url, VisibilityTimeout: 60 }, directory) as Received;
    const reply = handleSqsOperation(
      'ChangeMessageVisibilityBatch',
      { QueueUrl: dlq.url, Entries: [{ Id: '0', ReceiptHandle: out.Messages![0]!.ReceiptHandle, VisibilityTimeout: 0 }] },
      directory,
    ) as { Successful: unknown[]; Failed: unknown[] };
    expect(reply.Successful).toHaveLength(1);
    expect(dlq.counts()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    dlq.close();
  });

  it('ChangeMessageVisibility on a message no longer in flight is MessageNotInflight', () => {
    const { dlq, directory } = setup();
    expect(
      errorOf(() => handleSqsOperation('ChangeMessageVisibility', { QueueUrl: dlq.url, ReceiptHandle: 'gone', VisibilityTimeout: 0 }, directory)).type,
    ).toBe('com.amazonaws.sqs#MessageNotInflight');
  });
});
