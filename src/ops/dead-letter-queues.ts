import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { awsErrorInfo } from '../aws/clients.js';
import { CliError } from '../errors.js';
import { queueNameFromUrl } from '../installer/stack-outputs.js';
import { readLastErrors } from '../../functions/lib/last-error-store.js';
import { describeDeadLetter, isWebhookEventBody, withLastError, type DeadLetterInfo } from './dead-letters.js';
import { peekMessages, queueDepth, redriveByCopy, redriveWithMoveTask, type CopyResult, type MoveTaskResult, type QueueDepth } from './queues.js';
import type { EngineTarget, QueueKind } from './target.js';

/**
 * The dead-letter queues of a target: which a choice names, what their messages are and why
 * they are there (with the Email Sender's last-error notes and the tracking record each
 * request already has), and moving them back. On AWS the send, feedback and webhook DLQs
 * are redriven with SQS's StartMessageMoveTask (back to the queue each message came from);
 * the event-delivery DLQ, and every DLQ in local mode, by receiving, sending to the right
 * queue (requests to the send queue, SES events to the feedback queue, the engine's status
 * and test events to the webhook queue) and deleting. `dlq` prints it; the dashboard shows it.
 */

export type QueueChoice = QueueKind | 'all';
export const QUEUE_CHOICES: readonly QueueChoice[] = ['send', 'feedback', 'events', 'webhook', 'all'];
export const QUEUE_LABEL: Record<QueueKind, string> = { send: 'send DLQ', feedback: 'feedback DLQ', events: 'event-delivery DLQ', webhook: 'webhook DLQ' };

const WEBHOOKS_OFF_FIX = (target: EngineTarget): string =>
  target.kind === 'local'
    ? 'Start local mode with a receiver: sesmailengine local --webhook-url http://127.0.0.1:3000/webhooks (see docs/WEBHOOKS.md).'
    : `Install (or upgrade) the stack with one: sesmailengine install --webhook-url https://...${target.flags} (see docs/WEBHOOKS.md).`;

/** The DLQs a --queue choice names, with their URLs (an explicit choice must exist). */
export function selectQueues(target: EngineTarget, choice: QueueChoice): { kind: QueueKind; url: string }[] {
  const dlqs = target.resources.deadLetterQueues;
  const kinds: QueueKind[] = choice === 'all' ? ['send', 'feedback', 'events', 'webhook'] : [choice];
  const selected = kinds.filter((k) => dlqs[k]).map((kind) => ({ kind, url: dlqs[kind]! }));
  if (choice === 'webhook' && selected.length === 0) {
    throw new CliError('DLQ001', `Webhooks are off for the ${target.description}, so it has no webhook DLQ.`, WEBHOOKS_OFF_FIX(target));
  }
  if (choice !== 'all' && selected.length === 0) {
    throw new CliError(
      'DLQ001',
      choice === 'events' && target.kind === 'local'
        ? 'Local mode has no event-delivery DLQ: its bus puts events on the queues in-process.'
        : `The ${target.description} names no ${QUEUE_LABEL[choice]} URL.`,
      choice === 'events' && target.kind === 'local' ? 'Use --queue send or --queue feedback.' : `Check the stack's outputs with sesmailengine status${target.flags}; sesmailengine install upgrades an older stack.`,
    );
  }
  if (selected.length === 0) {
    throw new CliError('DLQ001', `The ${target.description} names no dead-letter queues.`, `Check the stack's outputs with sesmailengine status${target.flags}.`);
  }
  return selected;
}

export interface ListedQueue {
  queue: QueueKind;
  name: string;
  url: string;
  depth: QueueDepth;
  messages: (DeadLetterInfo & { record?: { status: string; errorCode?: string } })[];
}

/** Looks at the messages of the selected DLQs and explains each. */
export async function listDeadLetters(target: EngineTarget, choice: QueueChoice, max: number): Promise<ListedQueue[]> {
  const sqs = await target.clients.sqs();
  const waitSeconds = target.kind === 'aws' ? 1 : 0;
  const queues = await Promise.all(
    selectQueues(target, choice).map(async ({ kind, url }) => {
      const depth = await queueDepth(sqs, url);
      const peeked = depth.visible > 0 ? await peekMessages(sqs, url, { max, waitSeconds }) : [];
      return { queue: kind, name: queueNameFromUrl(url), url, depth, messages: peeked.map((m) => describeDeadLetter(kind, m)) } as ListedQueue;
    }),
  );
  // The Email Sender's note of why it last returned each send-DLQ message.
  const sendIds = queues.filter((q) => q.queue === 'send').flatMap((q) => q.messages.map((m) => m.messageId));
  if (sendIds.length > 0) {
    try {
      const notes = await readLastErrors(await target.clients.ddb(), target.resources.countersTable, sendIds);
      for (const queue of queues) {
        if (queue.queue === 'send') queue.messages = queue.messages.map((m) => withLastError(m, notes.get(m.messageId)));
      }
    } catch {
      // Without the notes, each message keeps the explanation its body gives.
    }
  }
  // Requests that already have a record are harmless to redrive: the sender will not send them twice.
  const isRequest = (m: DeadLetterInfo) => (m.kind === 'email-request' || m.kind === 'email-retry') && m.emailId !== undefined;
  const ids = [...new Set(queues.flatMap((q) => q.messages.filter(isRequest).map((m) => m.emailId!)))];
  if (ids.length > 0) {
    const ddb = await target.clients.ddb();
    const table = target.resources.trackingTable;
    const found = new Map<string, { status: string; errorCode?: string }>();
    for (let i = 0; i < ids.length; i += 100) {
      const out = await ddb.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: { Keys: ids.slice(i, i + 100).map((emailId) => ({ emailId })), ProjectionExpression: 'emailId, #s, errorCode', ExpressionAttributeNames: { '#s': 'status' } },
          },
        }),
      );
      for (const item of out.Responses?.[table] ?? []) {
        found.set(item.emailId as string, { status: item.status as string, ...(item.errorCode ? { errorCode: item.errorCode as string } : {}) });
      }
    }
    for (const queue of queues) {
      for (const message of queue.messages) {
        const record = isRequest(message) ? found.get(message.emailId!) : undefined;
        if (!record) continue;
        message.record = record;
        message.why += ` It already has a tracking record (${record.status}${record.errorCode ? ` ${record.errorCode}` : ''}): a redrive will not send it again.`;
      }
    }
  }
  return queues;
}

export type RedriveResult = { queue: QueueKind; name: string; before: number } & (MoveTaskResult | CopyResult);

/** Moves the selected DLQs' messages back; what could not be moved is in `failures` (a refusal before any receive throws DLQ001). */
export async function redriveDeadLetters(
  target: EngineTarget,
  choice: QueueChoice,
  waitMs: number,
  sleep?: (ms: number) => Promise<void>,
): Promise<{ results: RedriveResult[]; failures: string[] }> {
    const sqs = await target.clients.sqs();
    const { sendQueueUrl, feedbackQueueUrl } = target.resources;
    const webhookQueueUrl = target.resources.webhook?.queueUrl;
    const results: RedriveResult[] = [];
    const failures: string[] = [];
    for (const { kind, url } of selectQueues(target, choice)) {
      const name = queueNameFromUrl(url);
      const before = (await queueDepth(sqs, url)).visible;
      if (before === 0) {
        results.push({ queue: kind, name, before, method: 'copy', moved: 0, failed: 0, byDestination: {} });
        continue;
      }
      try {
        if (target.kind === 'aws' && kind !== 'events') {
          results.push({ queue: kind, name, before, ...(await redriveWithMoveTask(sqs, url, waitMs, sleep)) });
        } else {
          const noWebhookQueue = (what: string) =>
            new CliError(
              'DLQ001',
              `The ${target.description} names no webhook queue URL to move ${what} to.`,
              target.resources.webhook ? `Check the stack's outputs with sesmailengine status${target.flags}.` : WEBHOOKS_OFF_FIX(target),
            );
          // Checked before anything is received, so no message is left hidden by a refusal.
          if (kind === 'webhook' && !webhookQueueUrl) throw noWebhookQueue('messages');
          const destination = (body: string): string => {
            if (kind === 'webhook' || (kind === 'events' && isWebhookEventBody(body))) {
              if (!webhookQueueUrl) throw noWebhookQueue('status events');
              return webhookQueueUrl;
            }
            const toFeedback = kind === 'feedback' || (kind === 'events' && /"source"\s*:\s*"aws\.ses"/.test(body));
            const url = toFeedback ? feedbackQueueUrl : sendQueueUrl;
            if (!url) throw new CliError('DLQ001', `The ${target.description} names no ${toFeedback ? 'feedback' : 'send'} queue URL to move messages to.`, `Check the stack's outputs with sesmailengine status${target.flags}.`);
            return url;
          };
          results.push({ queue: kind, name, before, ...(await redriveByCopy(sqs, url, destination, { waitSeconds: target.kind === 'aws' ? 1 : 0 })) });
        }
      } catch (error) {
        if (error instanceof CliError) throw error;
        const info = awsErrorInfo(error);
        failures.push(`${QUEUE_LABEL[kind]}: ${info.name}: ${info.message}`);
      }
    }
    for (const r of results) {
      if (r.method === 'move-task' && (r.status === 'FAILED' || r.status === 'CANCELLED')) failures.push(`${QUEUE_LABEL[r.queue]}: move task ${r.status}${r.failureReason ? ` (${r.failureReason})` : ''}`);
      if (r.method === 'copy' && r.failed > 0) failures.push(`${QUEUE_LABEL[r.queue]}: ${r.failed} message(s) could not be sent back`);
    }

  return { results, failures };
}
