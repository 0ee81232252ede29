import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * Dead-letter queue work for `dlq` and `diagnose`: depths, looking at messages without
 * consuming them, and moving them back.
 *
 * Looking ("peeking"): SQS has no peek, so messages are received with a short visibility
 * timeout (hidden from other readers for that long), collected, and made visible again at
 * once with ChangeMessageVisibility 0. Receiving with a timeout of 0 instead would hand the
 * same messages back on the next call and never reach the rest. A DLQ has no consumer and
 * no redrive policy of its own, so the receive counts this adds change nothing.
 */

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

export interface PeekedMessage {
  messageId: string;
  body: string;
  receiveCount: number;
  /** ISO time SQS first received the message (on a DLQ: when the source queue got it). */
  sentAt?: string;
  /** String message attributes (EventBridge sets ERROR_CODE, ERROR_MESSAGE, RULE_ARN, TARGET_ARN on its DLQ). */
  attributes: Record<string, string>;
}

export async function queueDepth(sqs: SQSClient, url: string): Promise<QueueDepth> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

export async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`SQS returned no QueueArn for ${url}.`);
  return arn;
}

function toPeeked(message: Message): PeekedMessage {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) attributes[name] = value.StringValue;
  }
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    messageId: message.MessageId ?? '',
    body: message.Body ?? '',
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
    attributes,
  };
}

async function inBatches<T>(items: T[], size: number, body: (batch: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await body(items.slice(i, i + size));
}

export interface PeekOptions {
  /** Messages at most. */
  max: number;
  /** How long each message is hidden while being looked at (released right after). */
  hideSeconds?: number;
  /** Long-poll seconds per receive (AWS samples a subset of its servers without it). */
  waitSeconds?: number;
}

/** Looks at up to `max` messages and leaves them on the queue. */
export async function peekMessages(sqs: SQSClient, url: string, options: PeekOptions): Promise<PeekedMessage[]> {
  const seen = new Map<string, { message: PeekedMessage; handle: string }>();
  try {
    while (seen.size < options.max) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: Math.min(10, options.max - seen.size),
          VisibilityTimeout: options.hideSeconds ?? 20,
          WaitTimeSeconds: options.waitSeconds ?? 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const fresh = (out.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
      if (fresh.length === 0) break;
      for (const m of fresh) seen.set(m.MessageId!, { message: toPeeked(m), handle: m.ReceiptHandle ?? '' });
    }
  } finally {
    // Visible again at once, even when a later receive failed.
    await inBatches([...seen.values()], 10, async (batch) => {
      await sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: batch.map((entry, i) => ({ Id: String(i), ReceiptHandle: entry.handle, VisibilityTimeout: 0 })),
          }),
        )
        .catch(() => undefined);
    });
  }
  return [...seen.values()].map((entry) => entry.message);
}

export interface MoveTaskResult {
  method: 'move-task';
  taskHandle?: string;
  /** RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED (SQS's words). */
  status: string;
  moved: number;
  toMove?: number;
  failureReason?: string;
}

/**
 * AWS: StartMessageMoveTask moves a DLQ's messages back to the queues they came from (no
 * destination given), then ListMessageMoveTasks reports progress; waits up to `waitMs`.
 */
export async function redriveWithMoveTask(
  sqs: SQSClient,
  dlqUrl: string,
  waitMs: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<MoveTaskResult> {
  const sourceArn = await queueArn(sqs, dlqUrl);
  const started = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn }));
  const deadline = Date.now() + waitMs;
  let last: MoveTaskResult = { method: 'move-task', ...(started.TaskHandle ? { taskHandle: started.TaskHandle } : {}), status: 'RUNNING', moved: 0 };
  for (;;) {
    const out = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
    const task = out.Results?.[0];
    if (task) {
      last = {
        method: 'move-task',
        ...(started.TaskHandle ? { taskHandle: started.TaskHandle } : {}),
        status: task.Status ?? 'RUNNING',
        moved: task.ApproximateNumberOfMessagesMoved ?? 0,
        ...(task.ApproximateNumberOfMessagesToMove !== undefined ? { toMove: task.ApproximateNumberOfMessagesToMove } : {}),
        ...(task.FailureReason ? { failureReason: task.FailureReason } : {}),
      };
      if (last.status !== 'RUNNING' && last.status !== 'CANCELLING') return last;
    }
    if (Date.now() >= deadline) return last;
    await sleep(1_000);
  }
}

export interface CopyResult {
  method: 'copy';
  moved: number;
  failed: number;
  /** Destination queue URL → messages moved there. */
  byDestination: Record<string, number>;
}

/**
 * Moves messages by hand: receive, send to the destination `destinationFor` picks from the
 * body, delete from the DLQ once sent. Used where StartMessageMoveTask cannot help: local
 * mode (no such API) and the event-delivery DLQ (its messages never came from a queue, and
 * requests and SES events in it go to different queues).
 */
export async function redriveByCopy(
  sqs: SQSClient,
  dlqUrl: string,
  destinationFor: (body: string) => string,
  options: { max?: number; waitSeconds?: number } = {},
): Promise<CopyResult> {
  const max = options.max ?? 10_000;
  const result: CopyResult = { method: 'copy', moved: 0, failed: 0, byDestination: {} };
  let seen = 0;
  while (seen < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - seen),
        VisibilityTimeout: 60,
        WaitTimeSeconds: options.waitSeconds ?? 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    seen += messages.length;
    const groups = new Map<string, Message[]>();
    for (const m of messages) {
      const destination = destinationFor(m.Body ?? '');
      groups.set(destination, [...(groups.get(destination) ?? []), m]);
    }
    const sent: Message[] = [];
    const unsent: Message[] = [];
    for (const [destination, group] of groups) {
      const reply = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: destination,
          Entries: group.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '' })),
        }),
      );
      const ok = new Set((reply.Successful ?? []).map((s) => s.Id));
      group.forEach((m, i) => (ok.has(String(i)) ? sent : unsent).push(m));
      result.byDestination[destination] = (result.byDestination[destination] ?? 0) + group.filter((_, i) => ok.has(String(i))).length;
    }
    if (sent.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: sent.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }),
      );
    }
    result.moved += sent.length;
    if (unsent.length > 0) {
      await sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: dlqUrl,
            Entries: unsent.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '', VisibilityTimeout: 0 })),
          }),
        )
        .catch(() => undefined);
      result.failed += unsent.length;
      // Stop rather than receive the same failing messages again and again.
      break;
    }
  }
  return result;
}
