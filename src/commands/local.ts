/**
 * `sesmailengine local`: the whole engine on this machine, no AWS account. Starts local
 * mode (src/local/engine.ts), prints where everything is (a banner, or one JSON line with
 * --json), then one log line per request outcome, retry, webhook delivery and handler
 * warning (src/local/request-log.ts) unless --quiet, and runs until SIGINT/SIGTERM/SIGHUP
 * or until the process that started it ends (src/local/parent-watch.ts); then it stops
 * everything and exits 0.
 *
 * Where output goes: the banner and the log lines on stdout; with --json, stdout holds the
 * JSON line, then the log lines only with --log-format json (human lines go to stderr).
 * Progress and local mode's own errors go to stderr.
 */
import chalk, { chalkStderr } from 'chalk';
import { LOCAL_DEFAULTS } from '../local/defaults.js';
import { CliError, UsageError } from '../errors.js';
import { PortInUseError, StandInStartError } from '../local/stand-ins.js';
import { DataDirLockedError } from '../local/data-dir-lock.js';
import { displaySecret, WebhookSecretError } from '../../functions/core/webhook-signature.js';
import { parseWebhookEventTypes, WebhookEventTypesError } from '../../functions/core/webhook-payload.js';
import { startLocalEngine, type LocalEngine, type LocalEngineOptions } from '../local/engine.js';
import type { LocalInfo } from '../local/info.js';
import { humanLine, jsonLine, type RequestLogEntry } from '../local/request-log.js';
import { LineWriter } from '../local/line-writer.js';
import { waitForStop } from '../local/parent-watch.js';

export interface LocalCommandOptions {
  json?: boolean;
  port?: string | number;
  dynamodbPort?: string | number;
  s3Port?: string | number;
  sesPort?: string | number;
  dataDir?: string;
  retryDelaySeconds?: string | number;
  interruptedSend?: string;
  sender?: string;
  stackName?: string;
  webhookUrl?: string;
  webhookSecret?: string;
  webhookEvents?: string;
  workers?: string | number;
  sesMaxSendRate?: string | number;
  sesMax24HourSend?: string | number;
  /** No log lines after the banner or the JSON line. */
  quiet?: boolean;
  /** `human` (default) or `json`: one JSON object per line. */
  logFormat?: string;
  /** Resolves when local mode should stop (default: SIGINT or SIGTERM). */
  untilStopped?: (engine: LocalEngine) => Promise<void>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

export { LOCAL_DEFAULTS };

export type LogFormat = 'human' | 'json';

/** Engine log lines the user sees on stderr (the rest is progress). */
const WARNINGS = ['handler error', 'handler worker', 'while stopping'];

const PORT_FLAGS: Record<string, string> = {
  eventbridge: '--port',
  dynamodb: '--dynamodb-port',
  s3: '--s3-port',
  ses: '--ses-port',
};

function parsePort(value: string | number | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError('LOC003', `${flag} must be a port number from 0 to 65535, got "${value}".`, `Pass ${flag} <port>; 0 picks a free port.`);
  }
  return port;
}

/** Validates the flags into engine options (exported for tests). */
export function engineOptionsFrom(options: LocalCommandOptions): LocalEngineOptions {
  const retry = options.retryDelaySeconds === undefined ? LOCAL_DEFAULTS.retryDelaySeconds : Number(options.retryDelaySeconds);
  if (!Number.isInteger(retry) || retry < 0 || retry > 900) {
    throw new UsageError(
      'LOC003',
      `--retry-delay-seconds must be a whole number from 0 to 900, got "${options.retryDelaySeconds}".`,
      'SQS delays a message by at most 900 seconds; pass a value in that range.',
    );
  }
  const interruptedSend = options.interruptedSend ?? LOCAL_DEFAULTS.interruptedSend;
  if (interruptedSend !== 'resend' && interruptedSend !== 'fail') {
    throw new UsageError('LOC003', `--interrupted-send must be "resend" or "fail", got "${interruptedSend}".`, 'Pass --interrupted-send resend (the default) or fail.');
  }
  const sender = options.sender ?? LOCAL_DEFAULTS.sender;
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(sender)) {
    throw new UsageError('LOC003', `--sender "${sender}" is not an e-mail address.`, 'Pass --sender you@example.com.');
  }
  const stackName = options.stackName ?? LOCAL_DEFAULTS.stackName;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(stackName)) {
    throw new UsageError(
      'LOC003',
      `--stack-name "${stackName}" is not a valid stack name.`,
      'Use letters, digits and hyphens, starting with a letter (at most 64 characters).',
    );
  }
  const ports = {
    port: parsePort(options.port, LOCAL_DEFAULTS.port, '--port'),
    dynamoDbPort: parsePort(options.dynamodbPort, LOCAL_DEFAULTS.dynamodbPort, '--dynamodb-port'),
    s3Port: parsePort(options.s3Port, LOCAL_DEFAULTS.s3Port, '--s3-port'),
    sesPort: parsePort(options.sesPort, LOCAL_DEFAULTS.sesPort, '--ses-port'),
  };
  const fixed = Object.entries(ports).filter(([, port]) => port !== 0);
  const seen = new Map<number, string>();
  for (const [name, port] of fixed) {
    const other = seen.get(port);
    if (other) {
      throw new UsageError('LOC003', `Two services were given the same port ${port} (${other} and ${name}).`, 'Give each port flag its own value, or 0.');
    }
    seen.set(port, name);
  }
  const sesQuota = {
    ...optionalLimit(options.sesMaxSendRate, '--ses-max-send-rate', 'maxSendRate'),
    ...optionalLimit(options.sesMax24HourSend, '--ses-max-24-hour-send', 'max24HourSend'),
  };
  return { ...ports, dataDir: options.dataDir, retryDelaySeconds: retry, interruptedSend, sender, stackName, workers: parseWorkers(options.workers), sesQuota, ...webhookOptions(options) };
}

/** --ses-max-send-rate / --ses-max-24-hour-send: a positive number; absent = unlimited. */
function optionalLimit<K extends string>(value: string | number | undefined, flag: string, key: K): Partial<Record<K, number>> {
  if (value === undefined) return {};
  const n = Number(value);
  if (String(value).trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new CliError('LOC003', `${flag} must be a positive number, got "${value}".`, `Pass ${flag} <n>, or leave it out for no limit.`);
  }
  return { [key]: n } as Partial<Record<K, number>>;
}

/** --log-format: human or json; undefined with --quiet (no log at all). */
export function logFormatFrom(options: Pick<LocalCommandOptions, 'quiet' | 'logFormat'>): LogFormat | undefined {
  const format = options.logFormat ?? 'human';
  if (format !== 'human' && format !== 'json') {
    throw new UsageError('LOC003', `--log-format must be human or json, got "${format}".`, 'Pass --log-format json for one JSON object per line, or leave it out.');
  }
  return options.quiet ? undefined : format;
}

/** --workers: 0 (handlers in the main thread) to 16; absent = the engine's default (one per core, 2–4). */
function parseWorkers(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const workers = Number(value);
  if (String(value).trim() === '' || !Number.isInteger(workers) || workers < 0 || workers > 16) {
    throw new UsageError('LOC003', `--workers must be a whole number from 0 to 16, got "${value}".`, 'Pass --workers 0 to run the handlers in the main thread, or leave it out for one per core.');
  }
  return workers;
}

/** --webhook-url must be an absolute http(s) URL without credentials; --webhook-secret needs it and a usable value. */
function webhookOptions(options: LocalCommandOptions): Pick<LocalEngineOptions, 'webhookUrl' | 'webhookSecret' | 'webhookEvents'> {
  const { webhookUrl, webhookSecret, webhookEvents } = options;
  if (webhookUrl === undefined || webhookUrl === '') {
    for (const [flag, value] of [['--webhook-secret', webhookSecret], ['--webhook-events', webhookEvents]] as const) {
      if (value !== undefined) throw new UsageError('LOC003', `${flag} was given without --webhook-url.`, `Pass --webhook-url <url> too, or drop ${flag}.`);
    }
    return {};
  }
  let events: string | undefined;
  try {
    const types = parseWebhookEventTypes(webhookEvents);
    events = types ? [...types].join(',') : undefined;
  } catch (error) {
    if (!(error instanceof WebhookEventTypesError)) throw error;
    throw new UsageError('LOC003', `--webhook-events: ${error.message}`, 'Pass a comma-separated list such as --webhook-events bounced,complained, or leave it out for every type.');
  }
  let url: URL | undefined;
  try {
    url = new URL(webhookUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || webhookUrl.length > 2048) {
    throw new UsageError(
      'LOC003',
      `--webhook-url "${webhookUrl.slice(0, 200)}" is not an absolute http(s) URL without a user name or password.`,
      'Pass --webhook-url http://127.0.0.1:3000/webhooks (any http or https URL; receivers check the signature instead of credentials).',
    );
  }
  const chosen = events ? { webhookEvents: events } : {};
  if (webhookSecret === undefined) return { webhookUrl: url.href, ...chosen };
  try {
    displaySecret(webhookSecret);
  } catch (error) {
    if (!(error instanceof WebhookSecretError)) throw error;
    throw new UsageError('LOC003', `--webhook-secret is not usable: ${error.message}`, 'Pass whsec_ followed by base64 of at least 16 random bytes, or leave it out to have one generated.');
  }
  return { webhookUrl: url.href, webhookSecret, ...chosen };
}

function translateStartError(error: unknown): unknown {
  if (error instanceof PortInUseError) {
    const flag = PORT_FLAGS[error.kind] ?? '--port';
    return new CliError(
      'LOC001',
      `Port ${error.port} on 127.0.0.1 is already in use (the ${error.kind === 'eventbridge' ? 'EventBridge endpoint' : `${error.kind} stand-in`} wants it).`,
      `Stop whatever listens on ${error.port} (another "sesmailengine local"?), or pass ${flag} <other port> (0 picks a free one).`,
      { cause: error },
    );
  }
  if (error instanceof DataDirLockedError) {
    return new CliError(
      'LOC006',
      error.message,
      `Stop that process (kill ${error.pid}) or pass another --data-dir. A lock left by a process that no longer runs is taken over by itself.`,
      { cause: error },
    );
  }
  if (error instanceof StandInStartError) {
    // The DynamoDB stand-in fails to start on its own only when its data (snapshot or journal) cannot be read.
    const fix =
      error.kind === 'dynamodb'
        ? 'The tables file or journal of --data-dir named above cannot be used: move the dynamodb folder of --data-dir away (local mode then starts with empty tables) or restore it from a copy.'
        : 'Check that the package was installed completely (npm install) and try again with --debug.';
    return new CliError('LOC002', error.message, fix, { cause: error });
  }
  return error;
}

function firstSend(info: LocalInfo): { detail: Record<string, unknown> } {
  const templateName = info.templates.includes('welcome') ? 'welcome' : (info.templates[0] ?? 'welcome');
  return {
    detail: {
      to: 'success@simulator.amazonses.com',
      templateName,
      templateData: { userName: 'Ada', companyName: 'Acme' },
    },
  };
}

export function banner(info: LocalInfo): string {
  const { detail } = firstSend(info);
  const entries = JSON.stringify([
    { EventBusName: info.eventBusName, Source: 'my.app', DetailType: 'Email Request', Detail: JSON.stringify(detail) },
  ]);
  const b = chalk.bold;
  const d = chalk.dim;
  const c = chalk.cyan;
  const lines = [
    '',
    `${chalk.green('●')} ${b('SESMailEngine is running locally')} ${d('(no AWS account needed; Ctrl-C stops it)')}`,
    '',
    `  ${b('EventBridge endpoint')}  ${c(info.eventBridgeEndpoint)}   bus ${c(info.eventBusName)}`,
    `  ${b('Mail viewer')}           ${c(info.sesWebUrl)}   ${d(`(JSON: ${info.sesStoreUrl})`)}`,
    `  ${b('Status events')}         ${c(info.statusEventsUrl)}`,
    `  ${b('DynamoDB')}              ${c(info.dynamoDbEndpoint)}   tables ${info.trackingTable}, ${info.suppressionTable}, ${info.countersTable}`,
    `  ${b('S3')}                    ${c(info.s3Endpoint)}   bucket ${info.templateBucket}`,
    `  ${b('SES')}                   ${c(info.sesEndpoint)}`,
    `  ${b('Region / credentials')}  ${info.region}, key ${info.credentials.accessKeyId} / ${info.credentials.secretAccessKey} ${d('(any key works except for S3)')}`,
    `  ${b('Data')}                  ${info.dataDir ?? d('in memory (pass --data-dir to keep it)')}`,
    `  ${b('Templates')}             ${info.templates.join(', ')}`,
    ...(info.webhookUrl
      ? [`  ${b('Webhooks')}              ${c(info.webhookUrl)}   secret ${info.webhookSecret ?? ''} ${d('(docs/WEBHOOKS.md)')}`]
      : []),
    '',
    b('Send your first email (AWS CLI):'),
    '',
    `  AWS_ACCESS_KEY_ID=${info.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${info.credentials.secretAccessKey} \\`,
    `  aws events put-events --endpoint-url ${info.eventBridgeEndpoint} --region ${info.region} \\`,
    `    --entries '${entries}'`,
    '',
    b('Or from Node (@aws-sdk/client-eventbridge):'),
    '',
    `  const events = new EventBridgeClient({ endpoint: '${info.eventBridgeEndpoint}', region: '${info.region}',`,
    `    credentials: { accessKeyId: '${info.credentials.accessKeyId}', secretAccessKey: '${info.credentials.secretAccessKey}' } });`,
    `  await events.send(new PutEventsCommand({ Entries: [{ EventBusName: '${info.eventBusName}', Source: 'my.app',`,
    `    DetailType: 'Email Request', Detail: JSON.stringify(${JSON.stringify(detail)}) }] }));`,
    '',
    d(`Then open ${info.sesWebUrl} to see the mail, and ${info.statusEventsUrl} for its status changes.`),
    d('Simulator addresses: success@ bounce@ complaint@ ooto@ suppressionlist@ simulator.amazonses.com'),
    '',
  ];
  return lines.join('\n');
}

/**
 * Where the log lines go and how they look: stdout, except human lines under --json
 * (stdout stays JSON); coloured only where that stream is a terminal that wants colour.
 */
function requestLogWriter(options: LocalCommandOptions, format: LogFormat, stdout: (text: string) => void, stderr: (text: string) => void) {
  const toStderr = format === 'human' && options.json;
  const writer = new LineWriter(toStderr ? stderr : stdout);
  const colors = toStderr ? chalkStderr : chalk;
  const render = format === 'json' ? jsonLine : (entry: RequestLogEntry) => humanLine(entry, colors);
  return { writer, log: (entry: RequestLogEntry) => writer.line(render(entry)) };
}

/**
 * A reader that went away (the harness that started local mode died) must not turn the
 * next write into an uncaught EPIPE: local mode still stops cleanly and saves --data-dir.
 */
function ignoreBrokenStreams(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  }
}

export async function localCommand(options: LocalCommandOptions): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const stdout = options.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = options.stderr ?? ((text: string) => process.stderr.write(text));
  const engineOptions = engineOptionsFrom(options);
  const format = logFormatFrom(options);
  if (!options.stdout) ignoreBrokenStreams();
  // Listen for signals before starting, so a Ctrl-C during start-up still stops the children.
  const stopped = options.untilStopped ? undefined : waitForStop();
  if (!options.json) stderr(chalk.dim('Starting local mode (DynamoDB, S3 and SES stand-ins)…\n'));
  const requestLog = format ? requestLogWriter(options, format, stdout, stderr) : undefined;
  let engine: LocalEngine;
  try {
    engine = await startLocalEngine({
      ...engineOptions,
      log: (line) => {
        if (WARNINGS.some((prefix) => line.startsWith(prefix))) stderr(`${options.json ? '' : chalk.yellow('! ')}${line}\n`);
      },
      requestLog: requestLog?.log,
    });
  } catch (error) {
    throw translateStartError(error);
  }
  // The JSON line (or the banner) comes first; log lines written meanwhile wait in the writer.
  if (options.json) stdout(`${JSON.stringify(engine.info)}\n`);
  else stdout(banner(engine.info));
  requestLog?.writer.start();
  const why = await (options.untilStopped ? options.untilStopped(engine).then(() => undefined) : stopped);
  requestLog?.writer.flush();
  if (!options.json) stderr(chalk.dim(`\nStopping local mode${why && !why.startsWith('SIG') ? `: ${why}` : ''}…\n`));
  await engine.stop();
  requestLog?.writer.flush();
  if (!options.json) stderr(chalk.dim('Stopped.\n'));
  return 0;
}
