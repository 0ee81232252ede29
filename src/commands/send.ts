import { CliError, UsageError } from '../errors.js';
import { EmailClient } from '../client/email-client.js';
import { createUi, processIo } from '../ui.js';
import { parseEmailAddress } from '../../functions/core/email-address.js';
import { parseSendRequest, REQUEST_DETAIL_TYPE, TEMPLATE_NAME_PATTERN } from '../../functions/core/request-validation.js';
import { ATTACHMENT_CONTENT_TYPES, ATTACHMENTS_PREFIX } from '../../functions/core/attachments.js';
import type { EmailAttachment } from '../../functions/core/types.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { readRecord } from '../../functions/lib/tracking-store.js';
import type { EmailRequest } from '../../functions/core/types.js';
import { fixFor } from '../ops/error-fixes.js';
import { choiceOption, jsonObjectOption, secondsOption } from '../ops/input.js';
import { printRecord } from '../ops/print.js';
import type { StoredRecord } from '../ops/records.js';
import { withTarget, type EngineTarget, type TargetOptions } from '../ops/target.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine send`: publishes one "Email Request" through EmailClient, then watches its
 * tracking record until it reaches the wanted stage (`sent` by default, or a delivery
 * outcome with --wait-for delivered) and prints it. A failed email, or no record in time,
 * is a non-zero exit with the fix.
 */

export type WaitFor = 'sent' | 'delivered';

export interface SendOptions extends CommonOptions, TargetOptions {
  to: string;
  template: string;
  /** JSON object inline or @file. */
  data?: string;
  subject?: string;
  /** "addr" or "Name <addr>". */
  from?: string;
  replyTo?: string;
  emailId?: string;
  /** ISO-8601 date-time with a zone: schedule the send (the request's sendAt). */
  sendAt?: string;
  /** JSON object inline or @file: the request's metadata, echoed on status events. */
  metadata?: string;
  /** Each a local file (sent inline, base64) or a key under attachments/ in the template bucket. */
  attach?: string[];
  /** true / false: the request's unsubscribe; absent: the template decides. */
  unsubscribe?: boolean;
  /** Default true; --no-wait publishes and returns. */
  wait?: boolean;
  waitFor?: string;
  /** Seconds (default 60). */
  timeout?: string | number;
  /** The event's source (default sesmailengine.cli). */
  source?: string;
  json?: boolean;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/** Statuses at which each wait ends. */
const DONE: Record<WaitFor, ReadonlySet<string>> = {
  sent: new Set(['sent', 'failed', 'delivered', 'opened', 'bounced', 'complained', 'soft_bounced']),
  delivered: new Set(['failed', 'delivered', 'opened', 'bounced', 'complained']),
};

export function isDone(status: string | undefined, waitFor: WaitFor): boolean {
  return status !== undefined && DONE[waitFor].has(status);
}

/** "Ada <ada@example.com>" or "ada@example.com" → senderOverride. */
export function parseFrom(value: string): { email: string; name?: string } {
  const match = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(value);
  const email = (match ? match[2]! : value).trim();
  const name = match?.[1]?.replace(/^"|"$/g, '').trim();
  const parsed = parseEmailAddress(email);
  if (!parsed.ok) {
    throw new UsageError('OPS004', `--from "${value}": the address ${parsed.reason}.`, 'Pass --from sender@example.com or --from "Sender Name <sender@example.com>" (a verified SES identity).');
  }
  return { email, ...(name ? { name } : {}) };
}

/** The content type the engine allows for a file name's extension (ATTACHMENT_CONTENT_TYPES), if any. */
export function contentTypeFor(filename: string): string | undefined {
  const extension = extname(filename).slice(1).toLowerCase();
  return Object.entries(ATTACHMENT_CONTENT_TYPES).find(([, extensions]) => extensions.includes(extension))?.[0];
}

/**
 * One --attach value: a file on this machine goes inline (base64); `attachments/<key>` names a
 * file already in the template bucket (s3Key). Name and content type come from the extension.
 */
export function attachmentOption(value: string, cwd = process.cwd()): EmailAttachment {
  const file = resolve(cwd, value);
  const isFile = existsSync(file) && statSync(file).isFile();
  if (!isFile && !value.startsWith(ATTACHMENTS_PREFIX)) {
    throw new UsageError(
      'OPS005',
      `--attach ${value}: there is no file ${file}.`,
      `Pass a file on this machine (sent inline, at most 160 KB in all), or a key in the template bucket that starts with ${ATTACHMENTS_PREFIX}, e.g. --attach ${ATTACHMENTS_PREFIX}invoices/42.pdf.`,
    );
  }
  const filename = basename(value);
  const contentType = contentTypeFor(filename);
  if (!contentType) {
    throw new UsageError(
      'OPS004',
      `--attach ${value}: the extension "${extname(filename)}" is not one an attachment may have.`,
      `Attach a file whose extension is one of ${Object.values(ATTACHMENT_CONTENT_TYPES).flat().join(', ')} (docs/SENDING.md, "Attachments").`,
    );
  }
  return isFile ? { filename, contentType, content: readFileSync(file).toString('base64') } : { filename, contentType, s3Key: value };
}

/**
 * The engine's own checks (functions/core/request-validation.ts) on the request before it is
 * published, so that a request the sender would fail (VAL…, ATT…) is refused here as OPS004.
 */
export function checkRequest(request: EmailRequest, now: Date = new Date()): void {
  const body = JSON.stringify({ id: 'cli-check', source: 'sesmailengine.cli', 'detail-type': REQUEST_DETAIL_TYPE, detail: request });
  const parsed = parseSendRequest(body, 'cli-check', now);
  if (!parsed.ok) {
    throw new UsageError('OPS004', `The engine would refuse this request with ${parsed.failure.code}: ${parsed.failure.message}`, fixFor(parsed.failure.code));
  }
}

export function buildRequest(options: SendOptions): EmailRequest {
  const to = parseEmailAddress(options.to ?? '');
  if (!to.ok) throw new UsageError('OPS004', `--to "${options.to}": the address ${to.reason}.`, 'Pass one bare address: --to someone@example.com.');
  if (!TEMPLATE_NAME_PATTERN.test(options.template ?? '')) {
    throw new UsageError(
      'OPS004',
      `--template "${options.template}" is not a template name.`,
      'Pass the template\'s folder name, e.g. --template welcome (sesmailengine templates validate lists yours).',
    );
  }
  if (options.replyTo !== undefined) {
    const reply = parseEmailAddress(options.replyTo);
    if (!reply.ok) throw new UsageError('OPS004', `--reply-to "${options.replyTo}": the address ${reply.reason}.`, 'Pass one bare address: --reply-to support@example.com.');
  }
  return {
    to: options.to.trim(),
    templateName: options.template,
    ...(options.data !== undefined ? { templateData: jsonObjectOption(options.data, '--data', options.cwd) } : {}),
    ...(options.emailId ? { emailId: options.emailId } : {}),
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.from ? { senderOverride: parseFrom(options.from) } : {}),
    ...(options.replyTo ? { replyTo: options.replyTo.trim() } : {}),
    ...(options.metadata !== undefined ? { metadata: jsonObjectOption(options.metadata, '--metadata', options.cwd) } : {}),
    ...(options.sendAt !== undefined ? { sendAt: options.sendAt.trim() } : {}),
    ...(options.attach && options.attach.length > 0 ? { attachments: options.attach.map((value) => attachmentOption(value, options.cwd)) } : {}),
    ...(options.unsubscribe !== undefined ? { unsubscribe: options.unsubscribe } : {}),
  };
}

/** Why a waited-for send did not end as hoped (SND002-SND005), or undefined when it did. */
function outcomeFailure(record: StoredRecord | undefined, emailId: string, waitFor: WaitFor, timeoutMs: number, target: EngineTarget): CliError | undefined {
  const seconds = Math.round(timeoutMs / 1000);
  if (!record) {
    return new CliError(
      'SND002',
      `No tracking record for ${emailId} after ${seconds} s: the request is still queued, or it failed without a record (throttled into the DLQ).`,
      `Run: sesmailengine diagnose ${emailId}${target.flags}  (it checks the send queue and the dead-letter queues).`,
    );
  }
  if (record.status === 'failed') {
    return new CliError('SND003', `The engine tracked ${record.emailId} as failed: ${record.errorCode ?? '?'}: ${record.errorMessage ?? ''}`, fixFor(record.errorCode));
  }
  if (!isDone(record.status, waitFor)) {
    return new CliError(
      'SND004',
      `${record.emailId} is still ${record.status} after ${seconds} s (waited for ${waitFor}).`,
      target.kind === 'local' && record.status === 'sent'
        ? 'Local mode sends feedback only for simulator addresses (success@simulator.amazonses.com, bounce@…, complaint@…); mail to others stays sent.'
        : `Wait longer (--timeout), or run: sesmailengine diagnose ${record.emailId}${target.flags}`,
    );
  }
  if (record.status === 'bounced') {
    return new CliError(
      'SND005',
      `${record.emailId} bounced (${record.bounceType ?? 'Permanent'}/${record.bounceSubType ?? 'General'}${record.bounceReason ? `: ${record.bounceReason}` : ''}); ${record.toEmail} is now suppressed.`,
      `Check the address; sesmailengine diagnose ${record.toEmail}${target.flags} shows its history.`,
    );
  }
  return undefined;
}

export async function send(options: SendOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const request = buildRequest(options);
  checkRequest(request, (options.now ?? (() => new Date()))());
  const waitFor = choiceOption<WaitFor>(options.waitFor, '--wait-for', ['sent', 'delivered'], 'sent');
  const timeoutMs = secondsOption(options.timeout, '--timeout', 60) * 1000;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));

  return withTarget(options, async (target) => {
    const client = new EmailClient({ eventBusName: target.resources.eventBusName, client: await target.clients.events(), source: options.source ?? 'sesmailengine.cli' });
    const outcome = await client.send(request);
    if (!outcome.ok) {
      throw new CliError(
        'SND001',
        `EventBridge refused the request for ${outcome.emailId}: ${outcome.errorCode}: ${outcome.errorMessage}`,
        outcome.errorCode === 'EntryTooLarge'
          ? 'Make templateData smaller (send identifiers, not documents).'
          : `Check that the bus ${target.resources.eventBusName} exists (sesmailengine status) and that your credentials may call events:PutEvents on it.`,
      );
    }
    const published = { emailId: outcome.emailId, eventId: outcome.eventId, eventBusName: target.resources.eventBusName, target: target.kind };
    if (options.wait === false) {
      if (options.json) io.stdout.write(`${JSON.stringify({ ...published, record: null })}\n`);
      else {
        ui.ok(`Published ${outcome.emailId} (event ${outcome.eventId}) to ${target.resources.eventBusName} (${target.description}).`);
        ui.out(outcome.emailId);
      }
      return 0;
    }

    if (!options.json) ui.info(`Published ${outcome.emailId} to ${target.resources.eventBusName} (${target.description}); waiting for it to be ${waitFor}…`);
    const ddb = await target.clients.ddb();
    const deadline = Date.now() + timeoutMs;
    let record: StoredRecord | undefined;
    let delay = 200;
    let announcedSent = false;
    for (;;) {
      record = (await readRecord(ddb, target.resources.trackingTable, outcome.emailId)) as StoredRecord | undefined;
      // A scheduled send is as far as it goes now: its record says scheduled until sendAt.
      if (isDone(record?.status, waitFor) || (request.sendAt !== undefined && record?.status === 'scheduled')) break;
      if (record?.status === 'sent' && waitFor === 'delivered' && !announcedSent && !options.json) {
        ui.info(`Sent (SES message ${record.sesMessageId ?? '?'}); waiting for SES feedback…`);
        announcedSent = true;
      }
      if (Date.now() >= deadline) break;
      await sleep(delay);
      delay = Math.min(1_000, delay * 2);
    }

    const failure = request.sendAt !== undefined && record?.status === 'scheduled' ? undefined : outcomeFailure(record, outcome.emailId, waitFor, timeoutMs, target);
    const result = { ...published, status: record?.status ?? null, record: record ?? null };
    // Under --json the outcome is one object: the result, or the error carrying the result's fields.
    if (options.json) {
      if (failure) throw failure.withDetails(result);
      io.stdout.write(`${JSON.stringify(result)}\n`);
    } else if (record) {
      ui.out(`Email ${record.emailId}:`);
      printRecord(ui, record);
    }
    if (failure) throw failure;
    if (!record) return 0; // unreachable: no record is SND002; narrows the type
    if (!options.json && record.status === 'complained') ui.warn(`${record.toEmail} complained (spam) and is now suppressed.`);
    return 0;
  });
}
