import type { Command } from 'commander';
import type { Runner } from '../shared-options.js';

/**
 * Commander wiring for the commands that operate an installed engine, on AWS or in local
 * mode: send, templates, diagnose, suppression, stats, dlq, webhook, schedule and migrate. Each action imports its
 * module only when it runs (so `--help` loads no AWS SDK) and hands over a typed object.
 */

type Raw = Record<string, unknown>;

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** --stack-name, --region, --profile, --local, --json, --debug: every operating command takes them. */
function common(command: Command, json = true): Command {
  command
    .option('--stack-name <name>', 'CloudFormation stack name (default: sesmailengine)')
    .option('--region <region>', "AWS region (default: AWS_REGION or the profile's region)")
    .option('--profile <name>', 'AWS profile (default: AWS_PROFILE or the default chain)')
    .option('--local [source]', 'use a running `sesmailengine local` instead of AWS: its URL (default http://127.0.0.1:4010), its --json line, or @file');
  if (json) command.option('--json', 'print one JSON object');
  return command.option('--debug', 'on errors, also print the stack trace and the AWS error behind it (HTTP status, request id)');
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Checked here, before any AWS call; loaded on use so that --help reads no more modules. */
async function commonValues(raw: Raw) {
  const { commonFlagValues } = await import('./common-flags.js');
  const local = raw.local;
  return {
    ...commonFlagValues(raw),
    ...(local === true || typeof local === 'string' ? { local: local as string | true } : {}),
    json: Boolean(raw.json),
    debug: Boolean(raw.debug),
  };
}

/** A positional argument that must not be empty (CLI003). */
async function nonEmpty(value: string, what: string, example: string): Promise<string> {
  return (await import('./common-flags.js')).nonEmptyArgument(value, what, example);
}

async function stackName(value: string, flag: string): Promise<string> {
  return (await import('./common-flags.js')).checkStackName(value, flag);
}

export function registerOpsCommands(program: Command, run: Runner): void {
  const flagsOf = (raw: Raw) => ({ debug: Boolean(raw.debug) || Boolean(program.opts().debug), json: Boolean(raw.json) });

  common(program.command('send').description('publish one email request, wait for its tracking record and print it'))
    .requiredOption('--to <address>', 'recipient address')
    .requiredOption('--template <name>', 'template name (its folder under templates/)')
    .option('--data <json|@file>', 'templateData: a JSON object, inline or @file')
    .option('--subject <text>', "subject (overrides the template's)")
    .option('--from <address>', 'sender: "addr" or "Name <addr>" (a verified SES identity)')
    .option('--reply-to <address>', 'Reply-To address')
    .option('--email-id <id>', 'your idempotency key (default: email-<uuid>)')
    .option('--send-at <iso-date-time>', 'schedule it: an ISO-8601 date-time with a zone, at most a year ahead (e.g. 2026-03-01T09:30:00Z)')
    .option('--metadata <json|@file>', 'metadata: a JSON object, inline or @file, echoed on status events and webhooks')
    .option('--attach <file|attachments/key>', 'attach a local file (sent inline) or a key under attachments/ in the template bucket (repeatable)', collect)
    .option('--unsubscribe', 'add List-Unsubscribe headers and the link (default: the template decides)')
    .option('--no-unsubscribe', 'no unsubscribe headers or link, even for a marketing template')
    .option('--no-wait', 'publish and return without waiting for the record')
    .option('--wait-for <stage>', 'sent (SES accepted it) or delivered (wait for SES feedback)', 'sent')
    .option('--timeout <seconds>', 'how long to wait', '60')
    .action(async (raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { send } = await import('./send.js');
        return send({
          ...(await commonValues(raw)),
          to: str(raw.to) ?? '',
          template: str(raw.template) ?? '',
          ...(str(raw.data) !== undefined ? { data: str(raw.data) } : {}),
          ...(str(raw.subject) !== undefined ? { subject: str(raw.subject) } : {}),
          ...(str(raw.from) !== undefined ? { from: str(raw.from) } : {}),
          ...(str(raw.replyTo) !== undefined ? { replyTo: str(raw.replyTo) } : {}),
          ...(str(raw.emailId) !== undefined ? { emailId: str(raw.emailId) } : {}),
          ...(str(raw.sendAt) !== undefined ? { sendAt: str(raw.sendAt) } : {}),
          ...(str(raw.metadata) !== undefined ? { metadata: str(raw.metadata) } : {}),
          ...(Array.isArray(raw.attach) ? { attach: raw.attach as string[] } : {}),
          ...(typeof raw.unsubscribe === 'boolean' ? { unsubscribe: raw.unsubscribe } : {}),
          wait: raw.wait !== false,
          ...(str(raw.waitFor) !== undefined ? { waitFor: str(raw.waitFor) } : {}),
          ...(str(raw.timeout) !== undefined ? { timeout: str(raw.timeout) } : {}),
        });
      });
    });

  const templates = program.command('templates').description('preview, validate, push and pull email templates');
  common(templates.command('preview <name>').description("render a template's subject, text and HTML with the engine's renderer"))
    .option('--data <json|@file>', 'template variables (default: the template\'s sample-data.json)')
    .option('--dir <dir>', 'read the template from this folder instead of the bucket')
    .option('--starter', 'read it from the starter templates shipped with sesmailengine')
    .option('--open <file.html>', 'write the rendered HTML to this file')
    .action(async (name: string, raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { templatesPreview } = await import('./templates.js');
        return templatesPreview({
          ...(await commonValues(raw)),
          name: await nonEmpty(name, 'template name to preview', 'sesmailengine templates preview welcome'),
          ...(str(raw.data) !== undefined ? { data: str(raw.data) } : {}),
          ...(str(raw.dir) !== undefined ? { dir: str(raw.dir) } : {}),
          starter: Boolean(raw.starter),
          ...(str(raw.open) !== undefined ? { open: str(raw.open) } : {}),
        });
      });
    });
  templates
    .command('validate [dir]')
    .description('check template folders: files, metadata.json, syntax, sample-data.json, rendering')
    .option('--json', 'print one JSON object')
    .option('--debug', 'print stack traces')
    .action(async (dir: string | undefined, raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { templatesValidate } = await import('./templates.js');
        return templatesValidate({ json: Boolean(raw.json), debug: Boolean(raw.debug), ...(dir ? { dir } : {}) });
      });
    });
  common(templates.command('push <dir>').description('upload a template folder (or a folder of them) to the bucket, version-checked'))
    .option('--force', 'upload even when the bucket holds the same or a newer version (or the local template has no version)')
    .action(async (dir: string, raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { templatesPush } = await import('./templates.js');
        return templatesPush({ ...(await commonValues(raw)), dir: await nonEmpty(dir, 'template folder to push', 'sesmailengine templates push ./welcome'), force: Boolean(raw.force) });
      });
    });
  common(templates.command('pull <name>').description('download a template from the bucket into <out>/<name>'))
    .option('--out <dir>', 'folder to pull into', '.')
    .option('--force', 'overwrite local files that differ')
    .action(async (name: string, raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { templatesPull } = await import('./templates.js');
        return templatesPull({ ...(await commonValues(raw)), name: await nonEmpty(name, 'template name to pull', 'sesmailengine templates pull welcome'), ...(str(raw.out) !== undefined ? { out: str(raw.out) } : {}), force: Boolean(raw.force) });
      });
    });

  common(
    program
      .command('diagnose <emailIdOrAddress>')
      .description('find out what happened to an email (or to mail for an address) and what to do about it'),
  )
    .option('--limit <n>', 'recent records read for an address', '10')
    .action(async (subject: string, raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { diagnoseCommand } = await import('./diagnose.js');
        return diagnoseCommand({ ...(await commonValues(raw)), subject: await nonEmpty(subject, 'emailId or address to diagnose', 'sesmailengine diagnose order-1234 or sesmailengine diagnose someone@example.com'), ...(str(raw.limit) !== undefined ? { limit: str(raw.limit) } : {}) });
      });
    });

  const suppression = program.command('suppression').description('list, check, add and remove suppressed addresses');
  common(suppression.command('list').description('suppressed addresses, newest first (per type, from suppression-type-date-index)'))
    .option('--type <type>', 'bounce, complaint, unsubscribe or manual (default: all)')
    .option('--since <YYYY-MM-DD>', 'only entries added on or after this day')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { suppressionList } = await import('./suppression.js');
        return suppressionList({
          ...(await commonValues(raw)),
          ...(str(raw.type) !== undefined ? { type: str(raw.type) } : {}),
          ...(str(raw.since) !== undefined ? { since: str(raw.since) } : {}),
          ...(str(raw.limit) !== undefined ? { limit: str(raw.limit) } : {}),
        });
      });
    });
  common(suppression.command('check <address>').description('whether an address is suppressed, and why')).action(async (address: string, raw: Raw) => {
    await run(flagsOf(raw), async () => {
      const { suppressionCheck } = await import('./suppression.js');
      return suppressionCheck({ ...(await commonValues(raw)), address });
    });
  });
  common(suppression.command('add <address>').description('suppress an address by hand (reason "manual")'))
    .option('--reason <text>', 'a note kept with the entry')
    .action(async (address: string, raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { suppressionAdd } = await import('./suppression.js');
        return suppressionAdd({ ...(await commonValues(raw)), address, ...(str(raw.reason) ? { reason: str(raw.reason) } : {}) });
      });
    });
  common(suppression.command('remove <address>').description('take an address off the list (refuses spam complaints without --force)'))
    .option('--force', 'also remove a spam complaint')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (address: string, raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { suppressionRemove } = await import('./suppression.js');
        return suppressionRemove({ ...(await commonValues(raw)), address, force: Boolean(raw.force), yes: Boolean(raw.yes) });
      });
    });

  common(program.command('stats').description('sent, delivered, opened, bounced, complained, failed and rates per day (from the daily counters)'))
    .option('--date <YYYY-MM-DD>', 'last day shown (UTC; default today)')
    .option('--days <n>', 'number of days ending with --date', '1')
    .action(async (raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { stats } = await import('./stats.js');
        return stats({ ...(await commonValues(raw)), ...(str(raw.date) !== undefined ? { date: str(raw.date) } : {}), ...(str(raw.days) !== undefined ? { days: str(raw.days) } : {}) });
      });
    });

  const dlq = program.command('dlq').description('look at and redrive the dead-letter queues');
  common(dlq.command('list').description('messages in the dead-letter queues and why they are there (left in place)'))
    .option('--queue <queue>', 'send, feedback, events, webhook or all', 'all')
    .option('--max <n>', 'messages shown per queue', '10')
    .action(async (raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { dlqList } = await import('./dlq.js');
        return dlqList({ ...(await commonValues(raw)), ...(str(raw.queue) !== undefined ? { queue: str(raw.queue) } : {}), ...(str(raw.max) !== undefined ? { max: str(raw.max) } : {}) });
      });
    });
  common(dlq.command('redrive').description('move dead-letter messages back to their queue once the cause is fixed'))
    .option('--queue <queue>', 'send, feedback, events, webhook or all', 'all')
    .option('--wait <seconds>', 'how long to follow an AWS move task', '30')
    .action(async (raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { dlqRedrive } = await import('./dlq.js');
        return dlqRedrive({ ...(await commonValues(raw)), ...(str(raw.queue) !== undefined ? { queue: str(raw.queue) } : {}), ...(str(raw.wait) !== undefined ? { wait: str(raw.wait) } : {}) });
      });
    });

  const webhook = program.command('webhook').description('signed webhooks: the signing secret, and a test delivery (docs/WEBHOOKS.md)');
  common(webhook.command('secret').description('print the webhook signing secret (whsec_...) your receiver verifies signatures with')).action(async (raw: Raw) => {
    await run(flagsOf(raw), async () => {
      const { webhookSecret } = await import('./webhook.js');
      return webhookSecret(await commonValues(raw));
    });
  });
  common(webhook.command('test').description('publish a "Webhook Test" event on the engine\'s bus; the receiver gets a signed webhook.test POST'))
    .option('--message <text>', 'the text carried in the test event\'s data.message')
    .action(async (raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { webhookTest } = await import('./webhook.js');
        return webhookTest({ ...(await commonValues(raw)), ...(str(raw.message) !== undefined ? { message: str(raw.message) } : {}) });
      });
    });

  const schedule = program.command('schedule').description('scheduled sends (requests with a sendAt)');
  common(schedule.command('cancel <emailId>').description('cancel a scheduled send before it is due (tracked failed SCH001)')).action(async (emailId: string, raw: Raw) => {
    await run(flagsOf(raw), async () => {
      const { scheduleCancel } = await import('./schedule.js');
      return scheduleCancel({ ...(await commonValues(raw)), emailId: await nonEmpty(emailId, 'emailId to cancel', 'sesmailengine schedule cancel order-1234') });
    });
  });

  common(
    program
      .command('migrate')
      .description("copy the original engine's suppression list and tracking history into this engine (dry run unless --apply; never deletes; docs/MIGRATING.md)"),
  )
    .option('--apply', 'copy (default: a dry run that only reads)')
    .option('--source-stack <name>', "the original's stack name; its tables are <name>-EmailTracking and <name>-Suppression", 'sesmailengine')
    .option('--source-tracking-table <name>', "the original's tracking table (default: <source-stack>-EmailTracking)")
    .option('--source-suppression-table <name>', "the original's suppression table (default: <source-stack>-Suppression)")
    .option('--restart', 'ignore the position saved by an interrupted --apply run (sesmailengine-migrate.json) and start from the beginning')
    .action(async (raw: Raw) => {
      await run(flagsOf(raw), async () => {
        const { migrate } = await import('./migrate.js');
        return migrate({
          ...(await commonValues(raw)),
          apply: Boolean(raw.apply),
          restart: Boolean(raw.restart),
          ...(str(raw.sourceStack) !== undefined ? { sourceStack: await stackName(str(raw.sourceStack)!, '--source-stack') } : {}),
          ...(str(raw.sourceTrackingTable) ? { sourceTrackingTable: str(raw.sourceTrackingTable) } : {}),
          ...(str(raw.sourceSuppressionTable) ? { sourceSuppressionTable: str(raw.sourceSuppressionTable) } : {}),
        });
      });
    });
}
