import { describe, expect, it } from '@jest/globals';
import { LocalQueue, md5Hex } from '../../../src/local/local-queue.js';
import { handleSqsOperation, queueDirectory } from '../../../src/local/sqs-protocol.js';
import type { AwsJsonError } from '../../../src/local/put-events.js';

function setup() {
  const dlq = new LocalQueue({ name: 'send-dlq', url: 'http://127.0.0.1:4010/000000000000/send-dlq', arn: 'arn:dlq' });
  const queue = new LocalQueue({ name: 'send', url: 'http://127.0.0.1:4010/000000000000/send', arn: 'arn:send', deadLetterQueue: dlq, maxReceiveCount: 3 });
  return { queue, directory: queueDirectory([queue, dlq]) };
}

function errorOf(fn: () => unknown): AwsJsonError {
  try {
    fn();
  } catch (error) {
    return error as AwsJsonError;
  }
  throw new Error('expected an error');
}

describe('SQS operations', () => {
  it('SendMessage enqueues with the delay and answers MessageId and MD5OfMessageBody', () => {
    const { queue, directory } = setup();
    const out = handleSqsOperation('SendMessage', { QueueUrl: queue.url, MessageBody: 'retry', DelaySeconds: 5 }, directory) as Record<string, string>;
    expect(out.MD5OfMessageBody).toBe(md5Hex('retry'));
    expect(out.MessageId).toEqual(expect.any(String));
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
    queue.close();
  });

  it('finds a queue by the path of its URL, whatever the host', () => {
    const { queue, directory } = setup();
    handleSqsOperation('SendMessage', { QueueUrl: 'http://localhost:4010/000000000000/send', MessageBody: 'x' }, directory);
    expect(queue.counts().visible).toBe(1);
  });

  it('rejects an unknown queue, a missing body and a delay over 900 seconds as SQS does', () => {
    const { queue, directory } = setup();
    expect(errorOf(() => handleSqsOperation('SendMessage', { QueueUrl: 'http://127.0.0.1/0/nope', MessageBody: 'x' }, directory)).type).toBe(
      'com.amazonaws.sqs#QueueDoesNotExist',
    );
    expect(errorOf(() => handleSqsOperation('SendMessage', { QueueUrl: queue.url }, directory)).type).toBe('com.amazonaws.sqs#MissingParameter');
    expect(errorOf(() => handleSqsOperation('SendMessage', { QueueUrl: queue.url, MessageBody: 'x', DelaySeconds: 901 }, directory)).type).toBe(
      'com.amazonaws.sqs#InvalidParameterValue',
    );
  });

  it('SendMessageBatch reports each entry, failing only the bad ones', () => {
    const { queue, directory } = setup();
    const out = handleSqsOperation(
      'SendMessageBatch',
      { QueueUrl: queue.url, Entries: [{ Id: 'a', MessageBody: 'one' }, { Id: 'b', MessageBody: 'two', DelaySeconds: 1000 }] },
      directory,
    ) as { Successful: { Id: string }[]; Failed: { Id: string; Code: string }[] };
    expect(out.Successful.map((s) => s.Id)).toEqual(['a']);
    expect(out.Failed).toEqual([expect.objectContaining({ Id: 'b', Code: 'InvalidParameterValue', SenderFault: true })]);
  });

  it('GetQueueUrl and GetQueueAttributes describe the queue and its redrive policy', () => {
    const { queue, directory } = setup();
    expect(handleSqsOperation('GetQueueUrl', { QueueName: 'send' }, directory)).toEqual({ QueueUrl: queue.url });
    const attrs = (handleSqsOperation('GetQueueAttributes', { QueueUrl: queue.url }, directory) as { Attributes: Record<string, string> }).Attributes;
    expect(attrs.ApproximateNumberOfMessages).toBe('0');
    expect(JSON.parse(attrs.RedrivePolicy!)).toEqual({ deadLetterTargetArn: 'arn:dlq', maxReceiveCount: 3 });
  });

  it('answers other operations with UnknownOperationException', () => {
    const { directory } = setup();
    expect(errorOf(() => handleSqsOperation('PurgeQueue', {}, directory)).type).toBe('UnknownOperationException');
  });
});
