import type { Command } from 'commander';
import type { Runner } from '../shared-options.js';
import { collect, commonOptions, commonValues, runFlags, str, type Raw } from './common-flags.js';

/**
 * Commander wiring for the deploy-side commands: install, uninstall, seed-templates and
 * status. Each action imports its module only when it runs, so `--help` loads no AWS SDK,
 * prompts or spinners. Options are parsed here and handed over as a typed object.
 */

/** The flag answering each of install's questions, for the error when there is no terminal to ask on. */
const INSTALL_FLAGS: Record<string, string> = {
  'Stack name': '--stack-name <name>',
  'AWS region': '--region <region>',
  'Default sender address': '--sender <address>',
  'Default sender name': '--sender-name <name>',
  'Admin e-mail': '--admin-email <address>',
  'Bucket for code': '--bucket <name>',
};

export function registerInstallerCommands(program: Command, run: Runner): void {
  commonOptions(
    program
      .command('install')
      .description('install or upgrade the engine in your AWS account (asks a few questions; --yes for CI)'),
  )
    .option('--sender <address>', 'default sender address (a verified SES identity)')
    .option('--sender-name <name>', 'default sender display name')
    .option('--admin-email <address>', 'where alarms are e-mailed')
    .option('--bucket <name>', 'bucket for code and templates (default: <stack-name>-<account>-<region>)')
    .option('--parameter <Key=Value>', 'set a stack parameter, e.g. BounceRateThreshold=3 (repeatable)', collect)
    .option('--webhook-url <https-url>', "POST each email status change, signed, to this endpoint ('' turns webhooks off; default: keep the stack's)")
    .option('--allow-private-webhook', 'accept a --webhook-url at a loopback, link-local or private address, or a localhost name (refused otherwise)')
    .option('--webhook-events <types>', "only these delivery types, e.g. bounced,complained ('' for all; default: keep the stack's)")
    .option('--interrupted-send <policy>', "an interrupted send SES never reported: resend it once, or fail it DUP001 (default: keep the stack's; resend on a new stack)")
    .option('--skip-sender-check', 'install even if the sender is not verified in SES yet')
    .option('--allow-replacement', 'let an upgrade replace a resource that holds data (a table, a queue); refused otherwise')
    .option('-y, --yes', 'ask nothing; take every value from flags or the existing stack')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const [{ install }, { createPrompter }] = await Promise.all([import('./install.js'), import('../prompts.js')]);
        return install({
          ...commonValues(raw),
          prompter: createPrompter({ flags: INSTALL_FLAGS, scripted: 'sesmailengine install --yes' }),
          ...(str(raw.sender) ? { sender: str(raw.sender) } : {}),
          ...(str(raw.senderName) !== undefined ? { senderName: str(raw.senderName) } : {}),
          ...(str(raw.adminEmail) ? { adminEmail: str(raw.adminEmail) } : {}),
          ...(str(raw.bucket) ? { bucket: str(raw.bucket) } : {}),
          parameter: (raw.parameter as string[] | undefined) ?? [],
          ...(str(raw.webhookUrl) !== undefined ? { webhookUrl: str(raw.webhookUrl) } : {}),
          ...(str(raw.webhookEvents) !== undefined ? { webhookEvents: str(raw.webhookEvents) } : {}),
          allowPrivateWebhook: Boolean(raw.allowPrivateWebhook),
          ...(str(raw.interruptedSend) !== undefined ? { interruptedSend: str(raw.interruptedSend) } : {}),
          skipSenderCheck: Boolean(raw.skipSenderCheck),
          allowReplacement: Boolean(raw.allowReplacement),
          yes: Boolean(raw.yes),
        });
      });
    });

  commonOptions(program.command('uninstall').description('delete the stack (its data and the bucket are kept unless --delete-data / --delete-bucket)'))
    .option('--delete-data', 'also delete what the stack keeps: the tables (tracking history, suppression list), queues, log groups and the unsubscribe key')
    .option('--delete-bucket', 'also empty (every object version) and delete the bucket')
    .option('--bucket <name>', 'the bucket to delete (default: from the stack)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { uninstall } = await import('./uninstall.js');
        return uninstall({
          ...commonValues(raw),
          deleteBucket: Boolean(raw.deleteBucket),
          deleteData: Boolean(raw.deleteData),
          ...(str(raw.bucket) ? { bucket: str(raw.bucket) } : {}),
          yes: Boolean(raw.yes),
        });
      });
    });

  commonOptions(
    program
      .command('seed-templates')
      .description('install or update the starter templates in the bucket (never overwrites a customised one: same or newer version, or none)'),
  )
    .option('--bucket <name>', 'template bucket (default: from the stack outputs)')
    .option('--json', 'print the result as JSON')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { seedTemplatesCommand } = await import('./seed-templates.js');
        return seedTemplatesCommand({
          ...commonValues(raw),
          ...(str(raw.bucket) ? { bucket: str(raw.bucket) } : {}),
        });
      });
    });

  commonOptions(
    program
      .command('status')
      .description('stack, SES account, today\'s sending and bounce rates, queues, alarms and the sender\'s deliverability (DKIM, MAIL FROM, DMARC, unsubscribe) at a glance'),
  )
    .option('--json', 'print one JSON object')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () => {
        const { status } = await import('./status.js');
        return status(commonValues(raw));
      });
    });
}
