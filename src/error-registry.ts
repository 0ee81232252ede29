import type { ErrorCode } from '../functions/core/error-codes.js';
import { ERROR_FIXES } from './ops/error-fixes.js';

/**
 * One typed registry of every error code a user can meet, with its title, fix and the anchor
 * of its entry in docs/TROUBLESHOOTING.md:
 *
 * - the engine's codes (written into tracking records): their meaning stays in
 *   functions/core/error-codes.ts (ERROR_CODES, used by the handlers) and their terminal fix
 *   in src/ops/error-fixes.ts; the title here is the guide's heading, so the anchor follows;
 * - the CLI's codes (printed as "Error <code>: …"), all in the guide's "CLI error codes"
 *   table: title and fix here are that table's columns, word for word.
 *
 * tests/unit/error-registry.test.ts checks the guide and docs/ai/ERROR_INDEX.md against it
 * (the index is written by scripts/error-index.mjs), and that every code the CLI throws is here.
 */

/** The title of each engine code's entry (its heading in docs/TROUBLESHOOTING.md). */
export const ENGINE_ERROR_TITLES: Record<ErrorCode, string> = {
  VAL001: "The event is not an Email Request",
  VAL002: "A required field is missing",
  VAL003: "The recipient address is not valid",
  VAL004: "templateName is not a safe identifier",
  VAL005: "A header value contains a line break",
  VAL006: "A field has the wrong type",
  VAL007: "The request is too large",
  VAL008: "emailId is not valid",
  VAL009: "Sender override or reply-to address is not valid",
  VAL010: "sendAt is not a date-time with a time zone",
  VAL011: "sendAt is more than a year ahead",
  VAL012: "templateData or metadata holds broken Unicode",
  ATT001: "attachments is malformed",
  ATT002: "An attachment s3Key is not safe",
  ATT003: "An attachment filename is not safe",
  ATT004: "Attachment content type not allowed",
  ATT005: "Inline attachment content is not valid",
  ATT006: "Attachment object not found",
  ATT007: "Attachments too large",
  ATT008: "A retry cannot include an inline attachment",
  SUP001: "The recipient is suppressed",
  BRK001: "The daily bounce-rate brake is on",
  TMPL001: "The template does not exist",
  TMPL002: "metadata.json is invalid",
  TMPL003: "Required template variables are missing",
  TMPL004: "The template failed to render",
  TMPL005: "No sender address",
  TMPL006: "A link uses a script or data URL",
  UNS001: "Unsubscribe link needed but not configured",
  SES001: "SES rejected the message",
  SES002: "Sender not verified, or sandbox recipient not verified",
  SES003: "Sending is paused",
  SES004: "SES refused the request as invalid",
  SCH001: "The scheduled send was cancelled",
  SCH002: "The send could not be scheduled",
  DUP001: "An earlier attempt was interrupted",
  ENG001: "An error the Email Sender does not handle",
  FBK001: "SES rejected the message after accepting it",
  FBK002: "SES could not render the message",
  FBK003: "The soft-bounce retry bounced softly again",
  FBK004: "Unreadable feedback message",
  WHK001: "Unreadable webhook queue message",
  WHK002: "The endpoint answered with a non-2xx status",
  WHK003: "The endpoint could not be reached or did not answer in time",
  WHK004: "Event not published by the engine",
};

export interface CliErrorEntry {
  /** What went wrong (the guide's "meaning" column, Markdown). */
  title: string;
  /** What to do (the guide's "fix" column, Markdown). */
  fix: string;
}

/** Every code the CLI prints; CliError takes only these. */
export const CLI_ERROR_CODES = {
  CLI000: { title: "You declined a confirmation or pressed Ctrl-C; nothing further was changed. Exit code 130", fix: "Run the command again, or pass `--yes` in scripts" },
  CLI001: { title: "A question (e.g. `install`'s \"Stack name\") needs an answer but stdin is closed or not a terminal (a CI job, a pipe). Exit code 2", fix: "Pass the flag the message names, or run non-interactively with every value as a flag and `--yes`" },
  CLI002: { title: "The command line itself is wrong: an unknown command or option, a missing argument or flag value (commander's message). Exit code 2", fix: "`sesmailengine <command> --help` lists what the command takes" },
  CLI003: { title: "`--stack-name`, `--region` or `--profile` is empty or malformed (a stack name starts with a letter and holds letters, digits and `-`, at most 46 characters), or a positional argument (an emailId, a template name or folder) is empty. Checked before any AWS call; exit code 2", fix: "Pass a valid value, or leave the flag out for its default" },
  CLI999: { title: "An error the CLI did not expect (no code of its own), as `--json` reports it; without `--json` it is printed as `Error: \u2026`. Exit code 1", fix: "Run again with `--debug` for the stack and the AWS error behind it; report it if it is not about your setup" },
  AWS001: { title: "No AWS credentials were found (by any command that works on AWS), or the `--profile` / `AWS_PROFILE` named is in no AWS config file", fix: "`aws configure`, `aws sso login --profile <p>`, or set `AWS_PROFILE`; check with `aws sts get-caller-identity`; list the profiles with `aws configure list-profiles`" },
  AWS002: { title: "AWS rejected the credentials (expired, revoked) or could not be reached", fix: "Refresh them (`aws sso login`, `aws configure`); check network and `AWS_ENDPOINT_URL`" },
  AWS003: { title: "No AWS region is configured", fix: "`--region eu-west-1`, `AWS_REGION`, or `aws configure set region <region>`" },
  AWS004: { title: "No stack of that name in that region (for `seed-templates` without `--bucket`, also: the stack names no template bucket in its outputs)", fix: "Check `--stack-name` and `--region`; install it with `sesmailengine install`, point an operating command at local mode with `--local`, or pass `--bucket` to `seed-templates`" },
  INS003: { title: "An option value is invalid: stack name, bucket name, sender or admin address, `--parameter Key=Value`, an unknown parameter, or values missing with `--yes`", fix: "Correct the flag as the message says" },
  INS004: { title: "The sender address (or its domain) is not verified in SES in this region", fix: "Verify it (`aws sesv2 create-email-identity --email-identity you@example.com`, then click the link SES mails), or install anyway with `--skip-sender-check`" },
  INS005: { title: "The bucket name belongs to another AWS account (S3 names are global)", fix: "Choose another name with `--bucket`" },
  INS006: { title: "The bucket is in another region than the stack", fix: "Install into the bucket's region, or pass another `--bucket`" },
  INS007: { title: "A stack left by a failed first install could not be (or was not) deleted", fix: "`sesmailengine uninstall --stack-name <name>`, or install under another `--stack-name`" },
  INS008: { title: "The stack is busy with another operation", fix: "Wait (`sesmailengine status` shows it), then run the command again" },
  INS009: { title: "The stack create/update failed and rolled back; the failing resources and reasons are printed and in `sesmailengine-install.log`. After a failed update (`UPDATE_ROLLBACK_COMPLETE`) the previous version keeps running", fix: "Fix the cause shown (permissions, a limit, an SES identity), then run install again" },
  INS010: { title: "A failed update could not roll back (`UPDATE_ROLLBACK_FAILED`)", fix: "Fix the cause in the stack events, `aws cloudformation continue-update-rollback --stack-name <name>`, then install again" },
  INS013: { title: "Deleting the stack failed", fix: "Read the printed reasons (often a resource changed by hand), fix them and run uninstall again" },
  INS014: { title: "The template bucket does not exist in that region", fix: "Pass the right `--bucket`, or run `sesmailengine install`" },
  INS015: { title: "The bucket cannot be emptied or deleted (access denied, Object Lock)", fix: "Check `s3:DeleteObjectVersion`/`s3:DeleteBucket` permissions and retention, or pass the right `--bucket`" },
  INS016: { title: "Packaging the Lambda handlers failed", fix: "Reinstall the package (`npm install sesmailengine`), or in a clone `npm ci && npm run build`" },
  INS017: { title: "A new install would create resources whose names are already taken: by something the stack does not keep (another stack's bus, a configuration set or function made by hand), or by kept data that cannot come back (a queue without its dead-letter queue, a secret scheduled for deletion). Kept tables, queues, log groups and the secret of an earlier install are imported, not refused", fix: "Install under another `--stack-name`, or delete what is in the way after checking nothing uses it (the message lists the commands)" },
  INS018: { title: "Tables kept by an earlier install of this stack name have a different key schema and cannot be brought back into the stack", fix: "Install under another `--stack-name`, or export what you need and delete the old table (the message gives the command)" },
  INS019: { title: "The upgrade would replace a resource that holds data (for example a table): a new, empty one would take its place", fix: "Keep the version you run; or, once you have copied what you need, install again with `--allow-replacement` (the old resource is kept outside the stack)" },
  INS020: { title: "CloudFormation refused or could not prepare the change set of an update; nothing was changed", fix: "Fix the cause in the message and run install again; the log is in `sesmailengine-install.log`" },
  INS021: { title: "Bringing the tables and other resources kept by an earlier install back into the stack (a CloudFormation import) failed; the kept resources and their data are untouched", fix: "Fix the cause in the message and run install again" },
  INS022: { title: "`uninstall --delete-data` could not delete some of the kept data (tables, queues, log groups, the unsubscribe secret)", fix: "Check the permissions the message names and the tables' deletion protection, then run `sesmailengine uninstall --delete-data` again" },
  INS023: { title: "The webhook URL (`--webhook-url` or `--parameter WebhookUrl=…`) is not acceptable: not `https://`, not absolute, with a user name or password, with spaces, longer than 2048 characters, a host the stack refuses, or given twice with different values", fix: "Pass the receiver's endpoint as `--webhook-url https://hooks.example.com/…`, or `--webhook-url ''` to turn webhooks off; see docs/WEBHOOKS.md" },
  INS024: { title: "An upgrade would create resources (for example the Webhook Delivery function when webhooks are turned on) whose names are taken outside the stack; nothing was changed", fix: "Delete them with the commands the message prints (after checking nothing else uses them) and run install again, or install under another `--stack-name`" },
  INS025: { title: "The webhook event types (`--webhook-events` or `--parameter WebhookEvents=…`) name an unknown type, or are given twice with different values", fix: "Pass a comma-separated list of `delivered`, `opened`, `soft_bounced`, `bounced`, `complained`, `failed` (the `email.` prefix is optional), or `--webhook-events ''` for every type" },
  INS026: { title: "The webhook URL's host is not a public address: a loopback (`127.0.0.0/8`, `::1`), link-local (`169.254.0.0/16`, where instance metadata lives; `fe80::/10`), private (`10/8`, `172.16/12`, `192.168/16`, `fc00::/7`), shared (`100.64.0.0/10`) or unspecified (`0.0.0.0`, `::`) address, in any spelling the URL parser reads as one (`https://2130706433/`, `https://0x7f.1/` are 127.0.0.1; `::ffff:` forms of IPv4), or a `localhost` name. From AWS the Webhook Delivery function would POST your events into its own network", fix: "Give your receiver's public HTTPS address; if you do mean that address, add `--allow-private-webhook` (see docs/WEBHOOKS.md)" },
  LOC001: { title: "A port that `sesmailengine local` needs is already in use", fix: "Stop the other process (another `sesmailengine local`?) or pass another port; `0` picks a free one" },
  LOC002: { title: "A local stand-in (DynamoDB, S3 or SES server) did not start; for DynamoDB, the tables file of `--data-dir` (`<dir>/dynamodb/tables.json`) or its journal (`<dir>/dynamodb/tables.<n>.journal`, damaged before its last line) could not be read", fix: "For the tables: move the `<dir>/dynamodb` folder away (local mode starts with empty tables) or restore it from a copy. Otherwise reinstall the package completely and run again with `--debug` for details" },
  LOC003: { title: "An option of `sesmailengine local` is invalid (port, retry delay over 900 s, sender, stack name, two services on one port, a `--log-format` other than `human` or `json`)", fix: "Correct the flag as the message says" },
  LOC004: { title: "A request to local mode named a `Host` other than `127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>`, or more than one `Host` line (HTTP 421): refused so that a web page cannot reach it through DNS rebinding", fix: "Use the endpoint from local mode's JSON line (`http://127.0.0.1:<port>`) as it is; do not reach local mode under another name or through a proxy that rewrites `Host`. See [LOCAL.md](LOCAL.md#security-what-the-servers-refuse)" },
  LOC005: { title: "A browser request to local mode came from another site (an `Origin` that is not the server's own, or `Sec-Fetch-Site: cross-site`) (HTTP 403)", fix: "Call local mode from your program, tests, the CLI or curl (they send no `Origin`); only the mail viewer's own page may call it from a browser. See [LOCAL.md](LOCAL.md#security-what-the-servers-refuse)" },
  LOC006: { title: "Another `sesmailengine local` is running on the same `--data-dir` (the message names its process id); the directory's `lock` file holds it", fix: "Stop that process, or pass another `--data-dir`. A lock left by a process that was killed is taken over at start, so there is nothing to delete by hand" },
  OPS001: { title: "`--local`: local mode is not reachable at that address, is still starting, or something else answers there", fix: "Start `sesmailengine local` (or wait until it says it is running) and point `--local` at its EventBridge endpoint" },
  OPS002: { title: "`--local`: the value is not local mode's JSON line, its URL or a file holding the line, or the line lacks fields", fix: "Pass the line `sesmailengine local --json` printed (`--local @local.json`) or its URL (`--local=http://127.0.0.1:4010`)" },
  OPS003: { title: "The stack's outputs lack a resource the command needs (the stack is still creating or comes from an older version), or `suppression list` finds no usable `suppression-type-date-index` (an upgrade from an earlier version stopped between its two steps)", fix: "`sesmailengine status`, then upgrade with `sesmailengine install` (it also finishes the index upgrade)" },
  OPS004: { title: "An option value is invalid (exit code 2): `--data` not a JSON object (the message gives line and column), a date not `YYYY-MM-DD`, a number out of range, an unknown choice, an invalid `--to`, `--from`, `--reply-to` or `--template`", fix: "Correct the flag as the message says; quote JSON for your shell or pass `@file.json`" },
  OPS005: { title: "A file given as `@file` (or `--local @file`) cannot be read, or is a folder", fix: "Check the path (relative to the current folder)" },
  SCH101: { title: "`schedule cancel`: there is no tracking record for that emailId (wrong id, other stack, or the sender has not read the request yet)", fix: "`sesmailengine diagnose <emailId>`; check `--stack-name`/`--local`" },
  SCH102: { title: "`schedule cancel`: the email is not scheduled any more (it was due and has been sent, or failed)", fix: "Nothing to cancel; `sesmailengine diagnose <emailId>` shows what happened" },
  SND001: { title: "`send`: EventBridge refused the request (wrong bus, no `events:PutEvents` permission, entry too large)", fix: "Check the bus (`sesmailengine status`) and your permissions; make `templateData` smaller" },
  SND002: { title: "`send`: no tracking record appeared in time: the request is still queued or ended in a dead-letter queue", fix: "`sesmailengine diagnose <emailId>` checks the queues" },
  SND003: { title: "`send`: the engine tracked the email as `failed`; the message gives its email error code", fix: "Look the code up in [Email error codes](#email-error-codes)" },
  SND004: { title: "`send`: the email did not reach the awaited status in time (locally, mail to non-simulator addresses stays `sent`)", fix: "Wait longer (`--timeout`), or `sesmailengine diagnose <emailId>`" },
  SND005: { title: "`send`: the email bounced; the address is now suppressed", fix: "Check the address; `sesmailengine diagnose <address>` shows its history" },
  TMPL101: { title: "`templates`: the folder does not exist or holds no template folder (`template.html`, `template.txt`, `metadata.json`)", fix: "Pass a template folder or a folder of them; `sesmailengine templates pull <name>` downloads one" },
  TMPL102: { title: "`templates validate` (or `push`, which validates first) found problems; each is listed with its file and fix", fix: "Fix each listed problem and run it again" },
  TMPL103: { title: "`templates preview`: the template does not render with the data given (or with its `sample-data.json`)", fix: "Pass the variables with `--data`, or fix the template as the message says" },
  TMPL104: { title: "`templates push`: the bucket holds the same or a newer version of the template (or the local `metadata.json` has no `version` and the bucket already holds the template), so it was not uploaded", fix: "Bump (or add) `version` in `metadata.json`, or pass `--force`" },
  TMPL105: { title: "`templates pull` would overwrite local files that differ (or a newer local version)", fix: "Push your copy, pull into another folder with `--out`, or pass `--force`" },
  TMPL106: { title: "`templates pull` found object keys under `templates/<name>/` that would be written outside the target folder (a key with `..`); nothing was written", fix: "Delete those objects from the bucket and pull again" },
  MIG001: { title: "`migrate`: a source table is one of this engine's own tables (the source stack and `--stack-name` are the same)", fix: "Install this engine under another name and run `migrate --stack-name <that name>`; see [MIGRATING.md](MIGRATING.md#moving-over)" },
  MIG002: { title: "`migrate`: neither of the original's tables (`<source-stack>-EmailTracking`, `<source-stack>-Suppression`) exists in that region", fix: "Check `--source-stack` and `--region`, or name the tables with `--source-tracking-table` / `--source-suppression-table`" },
  MIG003: { title: "`migrate`: a source table is not keyed like the original's (`emailId` for tracking, `email` for suppression)", fix: "Check the name; pass the right table with `--source-tracking-table` / `--source-suppression-table`" },
  MIG004: { title: "`migrate --apply` stopped partway (throttling, permissions, an expired session); what was copied stays, nothing was deleted", fix: "Fix the cause and run the same command again: it carries on from `sesmailengine-migrate.json`" },
  MIG005: { title: "`migrate --apply`: `sesmailengine-migrate.json` in the current folder is not migrate's saved position", fix: "Move the file away or pass `--restart` (starting over is safe: items already copied are left as they are)" },
  SPR001: { title: "`suppression remove` refused to remove a spam complaint", fix: "Leave it; only if the person asked to receive mail again, pass `--force`" },
  SPR002: { title: "`suppression remove` needs a confirmation but cannot ask (no terminal)", fix: "Pass `--yes`" },
  DLQ001: { title: "The chosen dead-letter queue does not exist for this engine (local mode has no event-delivery DLQ; an engine without webhooks has no webhook DLQ) or the stack names none", fix: "Choose another `--queue`; check the stack's outputs with `sesmailengine status`" },
  DLQ002: { title: "A redrive did not finish: a move task failed, or messages could not be sent back", fix: "Check SQS permissions (`sqs:StartMessageMoveTask`, `ReceiveMessage`, `SendMessage`, `DeleteMessage`) and run it again; `sesmailengine dlq list` shows what is left" },
  DSH001: { title: "`dashboard`: its port is in use or cannot be listened on (127.0.0.1)", fix: "Pass another `--port`, or leave it out (the default, `0`, picks a free port)" },
  DSH002: { title: "`dashboard`: `--port` is not a whole number from 0 to 65535 (exit code 2)", fix: "Pass `--port 4020`, or `--port 0` for a free port" },
  DSH003: { title: "A dashboard request carried no token, or the wrong one (HTTP 401): the page holds no token of this run (the dashboard was restarted, or the page was opened in a new tab or without `?token=`)", fix: "Open the URL `sesmailengine dashboard` printed for this run (with its `?token=`); scripts send `Authorization: Bearer <token>`. See [DASHBOARD.md](DASHBOARD.md#security)" },
  DSH004: { title: "A dashboard action was refused before it ran: not `Content-Type: application/json` (HTTP 415), a body over 16 KiB (HTTP 413), a body that is not a JSON object (HTTP 400), no `\"confirm\": true` (HTTP 400), or a field missing or invalid (HTTP 400)", fix: "Post a JSON object with `\"confirm\": true` and the fields the action takes; the page does this after you accept its confirmation. See [DASHBOARD.md](DASHBOARD.md#actions)" },
  DSH005: { title: "A request to the dashboard named a `Host` other than `127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>`, or more than one `Host` line (HTTP 421): refused so that a web page cannot reach it through DNS rebinding", fix: "Open the dashboard at the URL it printed (`http://127.0.0.1:<port>/`), not under another name or through a proxy that rewrites `Host`" },
  DSH006: { title: "A browser request to the dashboard came from another site or another port of 127.0.0.1 (an `Origin` that is not the dashboard's own, or `Sec-Fetch-Site: cross-site` or `same-site` on anything but opening a page) (HTTP 403)", fix: "Use the dashboard's own page; other sites may not call it" },
  DSH007: { title: "A dashboard path or method that does not exist (HTTP 404 for an unknown path, 405 with `Allow` for a method the path does not take)", fix: "Use the page's own links; the API's routes are listed at `GET /api` and in [DASHBOARD.md](DASHBOARD.md#json-api)" },
  DSH008: { title: "The dashboard could not read the engine (HTTP 502): local mode stopped, AWS refused a call (a missing permission), or the network failed; the message names the AWS error. HTTP 504: the engine did not answer within 20 s (45 s for a redrive): local mode paused or an endpoint out of reach", fix: "Restart local mode (then the dashboard, which resolved it at start), or check the permissions the message names; the CLI command for the same panel (`stats`, `diagnose`, `dlq list`, \u2026) shows the same error with `--debug`" },
  WHK101: { title: "`webhook secret` / `webhook test`: webhooks are off for this engine (the stack was installed without `--webhook-url`, or predates webhooks; local mode was started without it)", fix: "`sesmailengine install --webhook-url https://…` (on AWS) or `sesmailengine local --webhook-url http://127.0.0.1:3000/webhooks`; see [WEBHOOKS.md](WEBHOOKS.md)" },
  WHK102: { title: "`webhook secret`: the signing secret cannot be read (no `secretsmanager:GetSecretValue` permission, the secret is missing) or its value is unusable (shorter than 16 characters, `whsec_` not followed by base64)", fix: "Use credentials allowed to read the stack's `WebhookSecretArn`; put a valid value as in [rotating the secret](WEBHOOKS.md#rotating-the-secret)" },
  WHK103: { title: "`webhook test`: EventBridge refused the test event (no `events:PutEvents` permission on the bus, the bus is missing)", fix: "Check the bus (`sesmailengine status`) and your permissions" },
  WHK104: { title: "`webhook test`: the engine's event signing key cannot be read (no `secretsmanager:GetSecretValue` on `<stack>-unsubscribe-signing-key`, the secret is missing, or local mode did not report the key). A test event is signed like the engine's own events; without that, Webhook Delivery would drop it (`WHK004`)", fix: "Use credentials allowed to read that secret (operator credentials), or restart local mode with the same version of sesmailengine" },
} as const satisfies Record<string, CliErrorEntry>;

export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

/**
 * Codes renamed since they were documented, old → new: an old code is still accepted
 * wherever a code is looked up (lookupError) and listed in the index as an alias.
 */
export const ERROR_ALIASES: Record<string, string> = {
  // One prefix per area: the CLI's template codes were TPL, the engine's are TMPL.
  TPL001: 'TMPL101',
  TPL002: 'TMPL102',
  TPL003: 'TMPL103',
  TPL004: 'TMPL104',
  TPL005: 'TMPL105',
  TPL006: 'TMPL106',
  // Scheduled sends: the CLI's schedule codes were SCD, the engine's are SCH.
  SCD001: 'SCH101',
  SCD002: 'SCH102',
  // Reaching the AWS account (credentials, region, the stack) is every AWS command's, not the installer's.
  INS001: 'AWS001',
  INS002: 'AWS002',
  INS011: 'AWS003',
  INS012: 'AWS004',
};

export interface RegistryEntry {
  code: string;
  area: 'engine' | 'cli';
  title: string;
  fix: string;
  /** The anchor of its entry in docs/TROUBLESHOOTING.md (without "#"). */
  anchor: string;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to "-". */
export function headingAnchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

export const CLI_ERRORS_ANCHOR = 'cli-error-codes';

export function registryEntries(): RegistryEntry[] {
  const engine = (Object.keys(ENGINE_ERROR_TITLES) as ErrorCode[]).map((code) => ({
    code,
    area: 'engine' as const,
    title: ENGINE_ERROR_TITLES[code],
    fix: ERROR_FIXES[code],
    anchor: headingAnchor(`\`${code}\` ${ENGINE_ERROR_TITLES[code]}`),
  }));
  const cli = (Object.keys(CLI_ERROR_CODES) as CliErrorCode[]).map((code) => ({
    code,
    area: 'cli' as const,
    title: CLI_ERROR_CODES[code].title,
    fix: CLI_ERROR_CODES[code].fix,
    anchor: CLI_ERRORS_ANCHOR,
  }));
  return [...engine, ...cli];
}

/** The entry for a code (an old code through ERROR_ALIASES), or undefined. */
export function lookupError(code: string): RegistryEntry | undefined {
  const current = ERROR_ALIASES[code] ?? code;
  return registryEntries().find((entry) => entry.code === current);
}

/** docs/ai/ERROR_INDEX.md: one line per code, for tools and assistants that look a code up. */
export function errorIndexMarkdown(): string {
  const line = (e: RegistryEntry) => `| \`${e.code}\` | ${e.area} | ${e.title.replace(/\n/g, ' ')} | [TROUBLESHOOTING.md#${e.anchor}](../TROUBLESHOOTING.md#${e.anchor}) |`;
  const aliases = Object.entries(ERROR_ALIASES).map(([old, now]) => {
    const anchor = lookupError(now)?.anchor ?? CLI_ERRORS_ANCHOR;
    return `| \`${old}\` | alias | ${old} — now \`${now}\` | [TROUBLESHOOTING.md#${anchor}](../TROUBLESHOOTING.md#${anchor}) |`;
  });
  return [
    '# Error index',
    '',
    'Every error code of SESMailEngine: the engine\'s (in tracking records, status events and',
    'webhooks) and the CLI\'s (printed as `Error <code>: …`, or `"code"` under `--json`). Written',
    'from the registry in `src/error-registry.ts` by `node scripts/error-index.mjs` (after',
    '`npm run build`); a test keeps it in step. The fix for each is in the linked entry.',
    '',
    '| code | area | what it means | entry |',
    '|---|---|---|---|',
    ...registryEntries().map(line),
    ...aliases,
    '',
  ].join('\n');
}
