import type { Command } from 'commander';
import { registerInstallerCommands } from './installer-commands.js';
import { registerOpsCommands } from './ops-commands.js';
import { registerDashboardCommand } from './dashboard.js';
import { LOCAL_DEFAULTS as D } from '../local/defaults.js';
import type { Runner } from '../shared-options.js';

/**
 * Registers every command. Each action imports its module on demand so that
 * `sesmailengine --help` loads neither the AWS SDK nor prompts nor spinners.
 */
export function registerCommands(program: Command, run: Runner): void {
  registerInstallerCommands(program, run);
  program
    .command('local')
    .description(
      'run the whole engine on this machine (no AWS account): local EventBridge, DynamoDB, S3 and SES; prints a line per outcome; stops on Ctrl-C, SIGTERM or when the process that started it ends',
    )
    .option('--json', 'print one JSON line with the endpoints once ready (then only --log-format json lines on stdout)')
    .option('--quiet', 'no log lines after the banner or the JSON line')
    .option('--log-format <format>', 'log lines as human (one short line each) or json (one object per line)', 'human')
    .option('--port <port>', 'EventBridge (and SQS) endpoint port; 0 picks a free one', String(D.port))
    .option('--dynamodb-port <port>', 'DynamoDB stand-in port; 0 picks a free one', String(D.dynamodbPort))
    .option('--s3-port <port>', 'S3 stand-in port; 0 picks a free one', String(D.s3Port))
    .option('--ses-port <port>', 'SES stand-in (and mail viewer) port; 0 picks a free one', String(D.sesPort))
    .option('--data-dir <dir>', 'keep tables and templates in this folder across restarts and kill -9 (one process per folder)')
    .option('--retry-delay-seconds <n>', 'soft-bounce retry delay', String(D.retryDelaySeconds))
    .option('--interrupted-send <policy>', 'an interrupted send with no SES Send event: resend it once, or fail it (DUP001)', D.interruptedSend)
    .option('--sender <email>', 'default sender address', D.sender)
    .option('--stack-name <name>', 'name prefix of the local bus, tables and bucket', D.stackName)
    .option('--webhook-url <url>', 'POST every status change, signed, to this http(s) URL (see docs/WEBHOOKS.md)')
    .option('--webhook-events <types>', 'only these delivery types for --webhook-url, e.g. bounced,complained (default: all)')
    .option('--webhook-secret <secret>', 'whsec_ signing secret for --webhook-url (default: generated; kept in --data-dir)')
    .option('--ses-max-send-rate <n>', 'the SES stand-in refuses SendEmail above this many per second, as SES does (default: unlimited)')
    .option('--ses-max-24-hour-send <n>', 'the SES stand-in refuses SendEmail above this many in 24 hours (default: unlimited)')
    .option('--workers <n>', 'threads running the Email Sender and Feedback Processor; 0 = in the main thread (default: one per core, 2-4)')
    .action(async (options: Record<string, string | boolean | undefined>) => {
      await run({ debug: Boolean(program.opts().debug), json: Boolean(options.json) }, async () => {
        const { localCommand } = await import('./local.js');
        return localCommand(options);
      });
    });
  registerOpsCommands(program, run);
  registerDashboardCommand(program, run);
}
