import type { Command } from 'commander';
import type { Runner } from '../shared-options.js';
import { checkStackName, collect, commonOptions, commonValues, givenStrings, nonEmptyArgument, runFlags, str, type Raw } from './common-flags.js';

/**
 * Commander wiring for the commands that operate an installed engine, on AWS or in local
 * mode: send, templates, diagnose, suppression, stats, dlq, webhook, schedule and migrate,
 * one register function each. Each action imports its module only when it runs (so `--help`
 * loads no AWS SDK) and hands over a typed object.
 */

/** The flags of an operating command: the common ones with --local and --json. */
function common(command: Command): Command {
  return commonOptions(command, { local: true });
}

export function registerOpsCommands(program: Command, run: Runner): void {
  registerSend(program, run);
  registerTemplates(program, run);
  registerDiagnose(program, run);
  registerSuppression(program, run);
  registerStats(program, run);
  registerDlq(program, run);
  registerWebhook(program, run);
  registerSchedule(program, run);
  registerMigrate(program, run);
}

function registerSend(program: Command, run: Runner): void {
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
      await run(runFlags(program, raw), async () => {
        const { send } = await import('./send.js');
        return send({
          ...commonValues(raw),
          to: str(raw.to) ?? '',
          template: str(raw.template) ?? '',
          ...givenStrings(raw, ['data', 'subject', 'from', 'replyTo', 'emailId', 'sendAt', 'metadata']),
          ...(Array.isArray(raw.attach) ? { attach: raw.attach as string[] } : {}),
          ...(typeof raw.unsubscribe === 'boolean' ? { unsubscribe: raw.unsubscribe } : {}),
          wait: raw.wait !== false,
          ...givenStrings(raw, ['waitFor', 'timeout']),
        });
      });
    });
}

function registerTemplates(program: Command, run: Runner): void {
  const templates = program.command('templates').description('preview, validate, push and pull email templates');
  common(templates.command('preview <name>').description("render a template's subject, text and HTML with the engine's renderer"))
    .option('--data <json|@file>', 'template variables (default: the template\'s sample-data.json)')
    .option('--dir <dir>', 'read the template from this folder instead of the bucket')
    .option('--starter', 'read it from the starter templates shipped with sesmailengine')
    .option('--open <file.html>', 'write the rendered HTML to this file')
    .action(async (name: string, raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { templatesPreview } = await import('./templates.js');
        return templatesPreview({
          ...commonValues(raw),
          name: nonEmptyArgument(name, 'template name to preview', 'sesmailengine templates preview welcome'),
          ...givenStrings(raw, ['data', 'dir']),
          starter: Boolean(raw.starter),
          ...givenStrings(raw, ['open']),
        });
      });
    });
  templates
    .command('validate [dir]')
    .description('check template folders: files, metadata.json, syntax, sample-data.json, rendering')
    .option('--json', 'print one JSON object')
    .option('--debug', 'print stack traces')
    .action(async (dir: string | undefined, raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { templatesValidate } = await import('./templates.js');
        return templatesValidate({ json: Boolean(raw.json), debug: Boolean(raw.debug), ...(dir ? { dir } : {}) });
      });
    });
  common(templates.command('push <dir>').description('upload a template folder (or a folder of them) to the bucket, version-checked'))
    .option('--force', 'upload even when the bucket holds the same or a newer version (or the local template has no version)')
    .action(async (dir: string, raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { templatesPush } = await import('./templates.js');
        return templatesPush({ ...commonValues(raw), dir: nonEmptyArgument(dir, 'template folder to push', 'sesmailengine templates push ./welcome'), force: Boolean(raw.force) });
      });
    });
  common(templates.command('pull <name>').description('download a template from the bucket into <out>/<name>'))
    .option('--out <dir>', 'folder to pull into', '.')
    .option('--force', 'overwrite local files that differ')
    .action(async (name: string, raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { templatesPull } = await import('./templates.js');
        return templatesPull({ ...commonValues(raw), name: nonEmptyArgument(name, 'template name to pull', 'sesmailengine templates pull welcome'), ...givenStrings(raw, ['out']), force: Boolean(raw.force) });
      });
    });
}

function registerDiagnose(program: Command, run: Runner): void {
  common(
    program
      .command('diagnose <emailIdOrAddress>')
      .description('find out what happened to an email (or to mail for an address) and what to do about it'),
  )
    .option('--limit <n>', 'recent records read for an address', '10')
    .action(async (subject: string, raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { diagnoseCommand } = await import('./diagnose.js');
        return diagnoseCommand({
          ...commonValues(raw),
          subject: nonEmptyArgument(subject, 'emailId or address to diagnose', 'sesmailengine diagnose order-1234 or sesmailengine diagnose someone@example.com'),
          ...givenStrings(raw, ['limit']),
        });
      });
    });
}

function registerSuppression(program: Command, run: Runner): void {
  const suppression = program.command('suppression').description('list, check, add and remove suppressed addresses');
  common(suppression.command('list').description('suppressed addresses, newest first (per type, from suppression-type-date-index)'))
    .option('--type <type>', 'bounce, complaint, unsubscribe or manual (default: all)')
    .option('--since <YYYY-MM-DD>', 'only entries added on or after this day')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { suppressionList } = await import('./suppression.js');
        return suppressionList({ ...commonValues(raw), ...givenStrings(raw, ['type', 'since', 'limit']) });
      });
    });
  common(suppression.command('check <address>').description('whether an address is suppressed, and why')).action(async (address: string, raw: Raw) => {
    await run(runFlags(program, raw), async () => {
      const { suppressionCheck } = await import('./suppression.js');
      return suppressionCheck({ ...commonValues(raw), address });
    });
  });
  common(suppression.command('add <address>').description('suppress an address by hand (reason "manual")'))
    .option('--reason <text>', 'a note kept with the entry')
    .action(async (address: string, raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { suppressionAdd } = await import('./suppression.js');
        return suppressionAdd({ ...commonValues(raw), address, ...(str(raw.reason) ? { reason: str(raw.reason) } : {}) });
      });
    });
  common(suppression.command('remove <address>').description('take an address off the list (refuses spam complaints without --force)'))
    .option('--force', 'also remove a spam complaint')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (address: string, raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { suppressionRemove } = await import('./suppression.js');
        return suppressionRemove({ ...commonValues(raw), address, force: Boolean(raw.force), yes: Boolean(raw.yes) });
      });
    });
}

function registerStats(program: Command, run: Runner): void {
  common(program.command('stats').description('sent, delivered, opened, bounced, complained, failed and rates per day (from the daily counters)'))
    .option('--date <YYYY-MM-DD>', 'last day shown (UTC; default today)')
    .option('--days <n>', 'number of days ending with --date', '1')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { stats } = await import('./stats.js');
        return stats({ ...commonValues(raw), ...givenStrings(raw, ['date', 'days']) });
      });
    });
}

function registerDlq(program: Command, run: Runner): void {
  const dlq = program.command('dlq').description('look at and redrive the dead-letter queues');
  common(dlq.command('list').description('messages in the dead-letter queues and why they are there (left in place)'))
    .option('--queue <queue>', 'send, feedback, events, webhook or all', 'all')
    .option('--max <n>', 'messages shown per queue', '10')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { dlqList } = await import('./dlq.js');
        return dlqList({ ...commonValues(raw), ...givenStrings(raw, ['queue', 'max']) });
      });
    });
  common(dlq.command('redrive').description('move dead-letter messages back to their queue once the cause is fixed'))
    .option('--queue <queue>', 'send, feedback, events, webhook or all', 'all')
    .option('--wait <seconds>', 'how long to follow an AWS move task', '30')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { dlqRedrive } = await import('./dlq.js');
        return dlqRedrive({ ...commonValues(raw), ...givenStrings(raw, ['queue', 'wait']) });
      });
    });
}

function registerWebhook(program: Command, run: Runner): void {
  const webhook = program.command('webhook').description('signed webhooks: the signing secret, and a test delivery (docs/WEBHOOKS.md)');
  common(webhook.command('secret').description('print the webhook signing secret (whsec_...) your receiver verifies signatures with')).action(async (raw: Raw) => {
    await run(runFlags(program, raw), async () => {
      const { webhookSecret } = await import('./webhook.js');
      return webhookSecret(commonValues(raw));
    });
  });
  common(webhook.command('test').description('publish a "Webhook Test" event on the engine\'s bus; the receiver gets a signed webhook.test POST'))
    .option('--message <text>', 'the text carried in the test event\'s data.message')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { webhookTest } = await import('./webhook.js');
        return webhookTest({ ...commonValues(raw), ...givenStrings(raw, ['message']) });
      });
    });
}

function registerSchedule(program: Command, run: Runner): void {
  const schedule = program.command('schedule').description('scheduled sends (requests with a sendAt)');
  common(schedule.command('cancel <emailId>').description('cancel a scheduled send before it is due (tracked failed SCH001)')).action(async (emailId: string, raw: Raw) => {
    await run(runFlags(program, raw), async () => {
      const { scheduleCancel } = await import('./schedule.js');
      return scheduleCancel({ ...commonValues(raw), emailId: nonEmptyArgument(emailId, 'emailId to cancel', 'sesmailengine schedule cancel order-1234') });
    });
  });
}

function registerMigrate(program: Command, run: Runner): void {
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
      await run(runFlags(program, raw), async () => {
        const { migrate } = await import('./migrate.js');
        const sourceStack = str(raw.sourceStack);
        return migrate({
          ...commonValues(raw),
          apply: Boolean(raw.apply),
          restart: Boolean(raw.restart),
          ...(sourceStack !== undefined ? { sourceStack: checkStackName(sourceStack, '--source-stack') } : {}),
          ...(str(raw.sourceTrackingTable) ? { sourceTrackingTable: str(raw.sourceTrackingTable) } : {}),
          ...(str(raw.sourceSuppressionTable) ? { sourceSuppressionTable: str(raw.sourceSuppressionTable) } : {}),
        });
      });
    });
}
