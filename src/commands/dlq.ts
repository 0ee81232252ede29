import chalk from 'chalk';
import { CliError } from '../errors.js';
import { queueNameFromUrl } from '../installer/stack-outputs.js';
import { createUi, processIo } from '../ui.js';
import { listDeadLetters, QUEUE_CHOICES, QUEUE_LABEL, redriveDeadLetters, type QueueChoice } from '../ops/dead-letter-queues.js';
import { choiceOption, integerOption, secondsOption } from '../ops/input.js';
import { withTarget, type TargetOptions } from '../ops/target.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine dlq list|redrive`: what is in the dead-letter queues and why, and moving
 * it back once the cause is fixed. On AWS the send, feedback and webhook DLQs are redriven
 * with SQS's StartMessageMoveTask (back to the queue each message came from); the
 * event-delivery DLQ, and every DLQ in local mode, by receiving, sending to the right queue
 * (requests to the send queue, SES events to the feedback queue, the engine's status and
 * test events to the webhook queue) and deleting.
 */

export interface DlqOptions extends CommonOptions, TargetOptions {
  queue?: string;
  json?: boolean;
}

export interface DlqListOptions extends DlqOptions {
  max?: string | number;
}

export async function dlqList(options: DlqListOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const choice = choiceOption<QueueChoice>(options.queue, '--queue', QUEUE_CHOICES, 'all');
  const max = integerOption(options.max, '--max', 10, 1, 1000);
  return withTarget(options, async (target) => {
    const queues = await listDeadLetters(target, choice, max);
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ target: target.kind, queues })}\n`);
      return 0;
    }
    for (const q of queues) {
      const count = q.depth.visible + q.depth.inFlight;
      ui.out(`${chalk.bold(QUEUE_LABEL[q.queue])} ${q.name}: ${count === 0 ? chalk.green('empty') : chalk.red(`${count} message${count === 1 ? '' : 's'}`)}${q.messages.length > 0 && q.messages.length < count ? ` (showing ${q.messages.length}; --max shows more)` : ''}`);
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


export async function dlqRedrive(options: DlqRedriveOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const choice = choiceOption<QueueChoice>(options.queue, '--queue', QUEUE_CHOICES, 'all');
  const waitMs = secondsOption(options.wait, '--wait', 30, 900) * 1000;
  return withTarget(options, async (target) => {
    const { results, failures } = await redriveDeadLetters(target, choice, waitMs, options.sleep);

    const incomplete = failures.length > 0
      ? new CliError('DLQ002', `Redrive incomplete: ${failures.join('; ')}.`, `Check your permissions (sqs:StartMessageMoveTask, sqs:ReceiveMessage, sqs:SendMessage, sqs:DeleteMessage) and run it again; sesmailengine dlq list${target.flags} shows what is left.`)
      : undefined;
    // Under --json the outcome is one object: the results, or the DLQ002 error carrying them.
    if (options.json) {
      if (incomplete) throw incomplete.withDetails({ target: target.kind, results, failures });
      io.stdout.write(`${JSON.stringify({ target: target.kind, results, failures })}\n`);
    } else {
      for (const r of results) {
        if (r.before === 0) ui.out(`${QUEUE_LABEL[r.queue]} ${r.name}: empty, nothing to move`);
        else if (r.method === 'move-task') {
          const of = r.toMove !== undefined ? ` of ${r.toMove}` : '';
          ui.out(
            r.status === 'COMPLETED'
              ? `${chalk.green('✔')} ${QUEUE_LABEL[r.queue]} ${r.name}: moved ${r.moved}${of} message(s) back to their source queue`
              : `${QUEUE_LABEL[r.queue]} ${r.name}: move task ${r.status}, ${r.moved}${of} moved so far${r.status === 'RUNNING' ? ' (it goes on in the background; sesmailengine dlq list shows what is left)' : ''}`,
          );
        } else {
          const where = Object.entries(r.byDestination)
            .map(([u, n]) => `${n} to ${queueNameFromUrl(u)}`)
            .join(', ');
          ui.out(`${r.failed > 0 ? chalk.red('✖') : chalk.green('✔')} ${QUEUE_LABEL[r.queue]} ${r.name}: moved ${r.moved} message(s)${where ? ` (${where})` : ''}${r.failed > 0 ? `, ${r.failed} failed` : ''}`);
        }
      }
      if (results.some((r) => r.before > 0)) ui.info('Redriven requests whose emailId already has a record are not sent again.');
    }
    if (incomplete) throw incomplete;
    return 0;
  });
}
