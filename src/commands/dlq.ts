import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import chalk from 'chalk';
import { CliError } from '../errors.js';
import { awsErrorInfo } from '../aws/clients.js';
import { queueNameFromUrl } from '../installer/stack-outputs.js';
import { createUi, processIo } from '../ui.js';
import { describeDeadLetter, isWebhookEventBody, withLastError, type DeadLetterInfo } from '../ops/dead-letters.js';
import { readLastErrors } from '../../functions/lib/last-error-store.js';
import { choiceOption, integerOption, secondsOption } from '../ops/input.js';
import { peekMessages, queueDepth, redriveByCopy, redriveWithMoveTask, type CopyResult, type MoveTaskResult, type QueueDepth } from '../ops/queues.js';
import { withTarget, type EngineTarget, type QueueKind, type TargetOptions } from '../ops/target.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine dlq list|redrive`: what is in the dead-letter queues and why, and moving
 * it back once the cause is fixed. On AWS the send, feedback and webhook DLQs are redriven
 * with SQS's StartMessageMoveTask (back to the queue each message came from); the
 * event-delivery DLQ, and every DLQ in local mode, by receiving, sending to the right queue
 * (requests to the send queue, SES events to the feedback queue, the engine's status and
 * test events to the webhook queue) and deleting.
 */

export type QueueChoice = QueueKind | 'all';
const CHOICES: readonly QueueChoice[] = ['send', 'feedback', 'events', 'webhook', 'all'];
const LABEL: Record<QueueKind, string> = { send: 'send DLQ', feedback: 'feedback DLQ', events: 'event-delivery DLQ', webhook: 'webhook DLQ' };

const WEBHOOKS_OFF_FIX = (target: EngineTarget): string =>
  target.kind === 'local'
    ? 'Start local mode with a receiver: sesmailengine local --webhook-url http://127.0.0.1:3000/webhooks (see docs/WEBHOOKS.md).'
    : `Install (or upgrade) the stack with one: sesmailengine install --webhook-url https://...${target.flags} (see docs/WEBHOOKS.md).`;

export interface DlqOptions extends CommonOptions, TargetOptions {
  queue?: string;
  json?: boolean;
}

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
        : `The ${target.description} names no ${LABEL[choice]} URL.`,
      choice === 'events' && target.kind === 'local' ? 'Use --queue send or --queue feedback.' : `Check the stack's outputs with sesmailengine status${target.flags}; sesmailengine install upgrades an older stack.`,
    );
  }
  if (selected.length === 0) {
    throw new CliError('DLQ001', `The ${target.description} names no dead-letter queues.`, `Check the stack's outputs with sesmailengine status${target.flags}.`);
  }
  return selected;
}

// ---------------------------------------------------------------------------------------

export interface DlqListOptions extends DlqOptions {
  max?: string | number;
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

export async function dlqList(options: DlqListOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const choice = choiceOption<QueueChoice>(options.queue, '--queue', CHOICES, 'all');
  const max = integerOption(options.max, '--max', 10, 1, 1000);
  return withTarget(options, async (target) => {
    const queues = await listDeadLetters(target, choice, max);
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ target: target.kind, queues })}\n`);
      return 0;
    }
    for (const q of queues) {
      const count = q.depth.visible + q.depth.inFlight;
      ui.out(`${chalk.bold(LABEL[q.queue])} ${q.name}: ${count === 0 ? chalk.green('empty') : chalk.red(`${count} message${count === 1 ? '' : 's'}`)}${q.messages.length > 0 && q.messages.length < count ? ` (showing ${q.messages.length}; --max shows more)` : ''}`);
      q.messages.forEach((m, i) => {
        const what =
          m.kind === 'ses-event'
            ? `SES ${m.sesEventType ?? 'event'}${m.emailId ? ` for ${m.emailId}` : ''}${m.to ? ` to ${m.to}` : ''}${m.sesMessageId ? ` (SES ${m.sesMessageId})` : ''}`
            : m.kind === 'webhook-event'
              ? `webhook ${m.webhookType}${m.emailId ? ` for ${m.emailId}` : ''}${m.to ? ` to ${m.to}` : ''}${m.webhookId ? ` (webhook-id ${m.webhookId})` : ''}`
              : m.kind === 'unreadable'
              ? 'unreadable message'
              : `${m.kind === 'email-retry' ? 'retry ' : ''}${m.emailId ?? '?'}${m.to ? ` to ${m.to}` : ''}${m.templateName ? ` template ${m.templateName}` : ''}`;
        ui.out(`  ${i + 1}. ${what} — received ${m.receiveCount} time${m.receiveCount === 1 ? '' : 's'}${m.sentAt ? `, first queued ${m.sentAt}` : ''}`);
        if (m.validation && !m.validation.ok) ui.out(`     validation: ${m.validation.code} ${m.validation.message}`);
        if (m.lastError) ui.out(`     last error: ${m.lastError.reason} (receive ${m.lastError.receiveCount}${m.lastError.at ? `, ${m.lastError.at}` : ''})`);
        ui.out(`     why: ${m.why}`);
      });
    }
    const total = queues.reduce((n, q) => n + q.depth.visible, 0);
    if (total > 0) ui.info(`Once the cause is fixed: sesmailengine dlq redrive${choice === 'all' ? '' : ` --queue ${choice}`}${target.flags}`);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------

export interface DlqRedriveOptions extends DlqOptions {
  /** Seconds to wait for an AWS move task to finish (default 30). */
  wait?: string | number;
  sleep?: (ms: number) => Promise<void>;
}

export type RedriveResult = { queue: QueueKind; name: string; before: number } & (MoveTaskResult | CopyResult);

export async function dlqRedrive(options: DlqRedriveOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const choice = choiceOption<QueueChoice>(options.queue, '--queue', CHOICES, 'all');
  const waitMs = secondsOption(options.wait, '--wait', 30, 900) * 1000;
  return withTarget(options, async (target) => {
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
          results.push({ queue: kind, name, before, ...(await redriveWithMoveTask(sqs, url, waitMs, options.sleep)) });
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
        failures.push(`${LABEL[kind]}: ${info.name}: ${info.message}`);
      }
    }
    for (const r of results) {
      if (r.method === 'move-task' && (r.status === 'FAILED' || r.status === 'CANCELLED')) failures.push(`${LABEL[r.queue]}: move task ${r.status}${r.failureReason ? ` (${r.failureReason})` : ''}`);
      if (r.method === 'copy' && r.failed > 0) failures.push(`${LABEL[r.queue]}: ${r.failed} message(s) could not be sent back`);
    }

    const incomplete = failures.length > 0
      ? new CliError('DLQ002', `Redrive incomplete: ${failures.join('; ')}.`, `Check your permissions (sqs:StartMessageMoveTask, sqs:ReceiveMessage, sqs:SendMessage, sqs:DeleteMessage) and run it again; sesmailengine dlq list${target.flags} shows what is left.`)
      : undefined;
    // Under --json the outcome is one object: the results, or the DLQ002 error carrying them.
    if (options.json) {
      if (incomplete) throw incomplete.withDetails({ target: target.kind, results, failures });
      io.stdout.write(`${JSON.stringify({ target: target.kind, results, failures })}\n`);
    } else {
      for (const r of results) {
        if (r.before === 0) ui.out(`${LABEL[r.queue]} ${r.name}: empty, nothing to move`);
        else if (r.method === 'move-task') {
          const of = r.toMove !== undefined ? ` of ${r.toMove}` : '';
          ui.out(
            r.status === 'COMPLETED'
              ? `${chalk.green('✔')} ${LABEL[r.queue]} ${r.name}: moved ${r.moved}${of} message(s) back to their source queue`
              : `${LABEL[r.queue]} ${r.name}: move task ${r.status}, ${r.moved}${of} moved so far${r.status === 'RUNNING' ? ' (it goes on in the background; sesmailengine dlq list shows what is left)' : ''}`,
          );
        } else {
          const where = Object.entries(r.byDestination)
            .map(([u, n]) => `${n} to ${queueNameFromUrl(u)}`)
            .join(', ');
          ui.out(`${r.failed > 0 ? chalk.red('✖') : chalk.green('✔')} ${LABEL[r.queue]} ${r.name}: moved ${r.moved} message(s)${where ? ` (${where})` : ''}${r.failed > 0 ? `, ${r.failed} failed` : ''}`);
        }
      }
      if (results.some((r) => r.before > 0)) ui.info('Redriven requests whose emailId already has a record are not sent again.');
    }
    if (incomplete) throw incomplete;
    return 0;
  });
}
