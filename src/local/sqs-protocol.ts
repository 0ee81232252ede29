/**
 * The few SQS operations local mode serves over the AWS JSON 1.0 protocol (what AWS SDK
 * v3's SQS client speaks): SendMessage and SendMessageBatch (the Feedback Processor puts
 * soft-bounce retries on the send queue), GetQueueUrl and GetQueueAttributes (handy for
 * tests), and ReceiveMessage, DeleteMessage(Batch) and ChangeMessageVisibility(Batch), which
 * `sesmailengine dlq list|redrive` use on the dead-letter queues. Errors are SQS's JSON
 * errors (`__type` with the `com.amazonaws.sqs#` prefix).
 */
import { AwsJsonError } from './put-events.js';
import { MAX_DELAY_SECONDS, type LocalQueue, type MessageAttribute } from './local-queue.js';

const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_BATCH = 10;

function sqsError(code: string, message: string): AwsJsonError {
  return new AwsJsonError(`com.amazonaws.sqs#${code}`, message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface QueueDirectory {
  byUrl(url: string): LocalQueue | undefined;
  byName(name: string): LocalQueue | undefined;
}

/** Queue URLs are matched on their path, so `localhost` and `127.0.0.1` forms both work. */
export function queueDirectory(queues: LocalQueue[]): QueueDirectory {
  const pathOf = (url: string): string => {
    try {
      return new URL(url).pathname.replace(/\/+$/, '');
    } catch {
      return url;
    }
  };
  const byPath = new Map(queues.map((q) => [pathOf(q.url), q]));
  const byName = new Map(queues.map((q) => [q.name, q]));
  return {
    byUrl: (url) => byPath.get(pathOf(url)),
    byName: (name) => byName.get(name),
  };
}

function queueFor(directory: QueueDirectory, body: Record<string, unknown>): LocalQueue {
  const url = body.QueueUrl;
  if (typeof url !== 'string' || url === '') throw sqsError('MissingParameter', 'The request must contain the parameter QueueUrl.');
  const queue = directory.byUrl(url);
  if (!queue) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
  return queue;
}

function checkMessage(body: unknown, delay: unknown): { body: string; delaySeconds: number } {
  if (typeof body !== 'string' || body.length === 0) {
    throw sqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
  }
  if (Buffer.byteLength(body, 'utf8') > MAX_MESSAGE_BYTES) {
    throw sqsError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
  }
  const delaySeconds = delay === undefined || delay === null ? 0 : Number(delay);
  if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS) {
    throw sqsError(
      'InvalidParameterValue',
      `Value ${String(delay)} for parameter DelaySeconds is invalid. Reason: must be between 0 and ${MAX_DELAY_SECONDS}, if provided.`,
    );
  }
  return { body, delaySeconds };
}

/** String and Number message attributes (Binary ones are not kept). */
function messageAttributes(value: unknown): Record<string, MessageAttribute> {
  const out: Record<string, MessageAttribute> = {};
  if (!isRecord(value)) return out;
  for (const [name, attribute] of Object.entries(value)) {
    if (!isRecord(attribute) || typeof attribute.StringValue !== 'string') continue;
    const dataType = typeof attribute.DataType === 'string' ? attribute.DataType : 'String';
    if (!dataType.startsWith('String') && !dataType.startsWith('Number')) continue;
    out[name] = { dataType, stringValue: attribute.StringValue };
  }
  return out;
}

const MAX_VISIBILITY_SECONDS = 43_200;

function checkVisibility(value: unknown): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_SECONDS) {
    throw sqsError('InvalidParameterValue', `Value ${String(value)} for parameter VisibilityTimeout is invalid. Reason: must be between 0 and ${MAX_VISIBILITY_SECONDS}.`);
  }
  return seconds;
}

function receiptHandleOf(entry: Record<string, unknown>): string {
  const handle = entry.ReceiptHandle;
  if (typeof handle !== 'string' || handle === '') throw sqsError('MissingParameter', 'The request must contain the parameter ReceiptHandle.');
  return handle;
}

function batchEntries(body: Record<string, unknown>, name: string): Record<string, unknown>[] {
  const entries = body.Entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw sqsError('EmptyBatchRequest', `There should be at least one ${name} in the request.`);
  }
  if (entries.length > MAX_BATCH) {
    throw sqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${MAX_BATCH}. You have sent ${entries.length}.`);
  }
  const records = entries.map((e: unknown) => (isRecord(e) ? e : {}));
  const ids = records.map((e) => e.Id);
  if (new Set(ids).size !== ids.length) throw sqsError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');
  return records;
}

/** Runs one SQS operation; returns the JSON response body or throws AwsJsonError. */
export function handleSqsOperation(operation: string, input: unknown, directory: QueueDirectory): unknown {
  const body = isRecord(input) ? input : {};
  switch (operation) {
    case 'SendMessage': {
      const queue = queueFor(directory, body);
      const message = checkMessage(body.MessageBody, body.DelaySeconds);
      return queue.send(message.body, { delaySeconds: message.delaySeconds, attributes: messageAttributes(body.MessageAttributes) });
    }
    case 'SendMessageBatch': {
      const queue = queueFor(directory, body);
      const entries = body.Entries;
      if (!Array.isArray(entries) || entries.length === 0) {
        throw sqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
      }
      if (entries.length > MAX_BATCH) {
        throw sqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${MAX_BATCH}. You have sent ${entries.length}.`);
      }
      const ids = entries.map((e: unknown) => (isRecord(e) ? e.Id : undefined));
      if (new Set(ids).size !== ids.length) throw sqsError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of entries as Record<string, unknown>[]) {
        try {
          const message = checkMessage(entry.MessageBody, entry.DelaySeconds);
          Successful.push({ Id: entry.Id, ...queue.send(message.body, { delaySeconds: message.delaySeconds, attributes: messageAttributes(entry.MessageAttributes) }) });
        } catch (error) {
          const err = error as AwsJsonError;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: err.type.split('#').pop(), Message: err.message });
        }
      }
      return { Successful, Failed };
    }
    case 'GetQueueUrl': {
      const name = body.QueueName;
      const queue = typeof name === 'string' ? directory.byName(name) : undefined;
      if (!queue) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
      return { QueueUrl: queue.url };
    }
    case 'GetQueueAttributes': {
      const queue = queueFor(directory, body);
      const counts = queue.counts();
      return {
        Attributes: {
          QueueArn: queue.arn,
          ApproximateNumberOfMessages: String(counts.visible),
          ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
          ApproximateNumberOfMessagesDelayed: String(counts.delayed),
          VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
          ...(queue.deadLetterQueue
            ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queue.deadLetterQueue.arn, maxReceiveCount: queue.maxReceiveCount }) }
            : {}),
        },
      };
    }
    case 'ReceiveMessage': {
      const queue = queueFor(directory, body);
      const max = body.MaxNumberOfMessages === undefined ? 1 : Number(body.MaxNumberOfMessages);
      if (!Number.isInteger(max) || max < 1 || max > MAX_BATCH) {
        throw sqsError('InvalidParameterValue', `Value ${String(body.MaxNumberOfMessages)} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and ${MAX_BATCH}, if provided.`);
      }
      const visibility = body.VisibilityTimeout === undefined ? undefined : checkVisibility(body.VisibilityTimeout);
      // No long polling: an empty queue answers at once, as with WaitTimeSeconds 0.
      const received = queue.receive(max);
      const Messages = received.map((m) => ({
        MessageId: m.messageId,
        ReceiptHandle: m.receiptHandle,
        MD5OfBody: m.md5OfBody,
        Body: m.body,
        Attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentTimestamp),
          ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp),
        },
      }));
      // The queue hid them for its own timeout; a requested timeout replaces it.
      if (visibility !== undefined) for (const m of received) queue.changeVisibility(m.receiptHandle, visibility);
      return Messages.length > 0 ? { Messages } : {};
    }
    case 'DeleteMessage': {
      const queue = queueFor(directory, body);
      // A handle whose message was delivered again since is ignored, as SQS does.
      queue.delete(receiptHandleOf(body));
      return {};
    }
    case 'DeleteMessageBatch': {
      const queue = queueFor(directory, body);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of batchEntries(body, 'DeleteMessageBatchRequestEntry')) {
        if (typeof entry.ReceiptHandle !== 'string' || entry.ReceiptHandle === '') {
          Failed.push({ Id: entry.Id, SenderFault: true, Code: 'MissingParameter', Message: 'The request must contain the parameter ReceiptHandle.' });
          continue;
        }
        queue.delete(entry.ReceiptHandle);
        Successful.push({ Id: entry.Id });
      }
      return { Successful, Failed };
    }
    case 'ChangeMessageVisibility': {
      const queue = queueFor(directory, body);
      const seconds = checkVisibility(body.VisibilityTimeout);
      if (!queue.changeVisibility(receiptHandleOf(body), seconds)) {
        throw sqsError('MessageNotInflight', 'The message referred to is not in flight.');
      }
      return {};
    }
    case 'ChangeMessageVisibilityBatch': {
      const queue = queueFor(directory, body);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of batchEntries(body, 'ChangeMessageVisibilityBatchRequestEntry')) {
        try {
          const seconds = checkVisibility(entry.VisibilityTimeout);
          if (!queue.changeVisibility(receiptHandleOf(entry), seconds)) {
            throw sqsError('MessageNotInflight', 'The message referred to is not in flight.');
          }
          Successful.push({ Id: entry.Id });
        } catch (error) {
          const err = error as AwsJsonError;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: err.type.split('#').pop(), Message: err.message });
        }
      }
      return { Successful, Failed };
    }
    default:
      throw new AwsJsonError('UnknownOperationException', `Local mode does not serve the SQS operation ${operation}.`);
  }
}
