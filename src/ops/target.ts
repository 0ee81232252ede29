import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { STSClient } from '@aws-sdk/client-sts';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudFormationApi } from '../aws/cloudformation.js';
import { sdkModule } from '../aws/clients.js';
import { CliError } from '../errors.js';
import { viewOutputs } from '../installer/stack-outputs.js';
import { DEFAULT_STACK_NAME } from '../shared-options.js';
import { DEFAULT_LOCAL_URL } from '../local/defaults.js';
import type { LocalInfo } from '../local/info.js';

/**
 * Which engine an operating command talks to, and the clients to reach it:
 *
 * - by default the deployed stack (`--stack-name`, `--region`, `--profile`): resource names
 *   come from the stack's outputs (read with the installer's `viewOutputs`), settings such
 *   as the bounce-rate threshold from its parameters, credentials and endpoints from the
 *   SDK's defaults;
 * - with `--local [source]`, a running `sesmailengine local`: `source` is its URL (default
 *   http://127.0.0.1:4010, whose GET /info answers the --json line), the JSON line itself,
 *   or a file holding it (`@file` or a path).
 *
 * Clients are built on first use and their SDK packages imported only then, so a command
 * loads just the clients it calls.
 */

export { DEFAULT_LOCAL_URL };

/** Local mode's defaults for what its JSON line does not carry (see src/local/engine.ts env). */
export const LOCAL_SETTINGS: EngineSettings = {
  bounceRateThreshold: 5,
  bounceRateMinimumSends: 100,
  bounceBrakeMaxHardBounces: 10,
  templateCacheSeconds: 5,
  softBounceRetryDelaySeconds: 5,
};

export const STACK_DEFAULT_SETTINGS: EngineSettings = {
  bounceRateThreshold: 5,
  bounceRateMinimumSends: 100,
  bounceBrakeMaxHardBounces: 10,
  templateCacheSeconds: 300,
  softBounceRetryDelaySeconds: 900,
};

export type QueueKind = 'send' | 'feedback' | 'events' | 'webhook';

/**
 * Signed webhooks, when the engine has them (a stack installed with --webhook-url, or local
 * mode started with one); absent means webhooks are off, as on stacks from before them.
 */
export interface WebhookResources {
  /** The receiver's endpoint the Webhook Delivery function POSTs to. */
  url: string;
  /** The webhook queue (the dead-letter queue's messages are redriven back to it). */
  queueUrl?: string;
  /** On AWS: the Secrets Manager secret holding the signing secret. */
  secretArn?: string;
  /** In local mode: the signing secret itself (`whsec_` form, from GET /info). */
  secret?: string;
  /** On AWS: the secret the engine derives its event signing key from (the unsubscribe signing key, by name). */
  eventKeySecretId?: string;
  /** In local mode: the event signing key itself (base64url, from GET /info). */
  eventKey?: string;
}

export interface EngineResources {
  eventBusName: string;
  trackingTable: string;
  suppressionTable: string;
  countersTable: string;
  templateBucket: string;
  sendQueueUrl?: string;
  feedbackQueueUrl?: string;
  /** Dead-letter queue URLs: send, feedback, webhook (when on) and (on AWS) the event-delivery DLQ. */
  deadLetterQueues: Partial<Record<QueueKind, string>>;
  webhook?: WebhookResources;
  /** The engine's default sender (the stack's DefaultSenderEmail, local mode's --sender), for the deliverability check. */
  senderEmail?: string;
}

export interface EngineSettings {
  /** Percent. */
  bounceRateThreshold: number;
  bounceRateMinimumSends: number;
  /** Below the minimum sample, today's hard bounces that hold the brake (0: no floor). */
  bounceBrakeMaxHardBounces: number;
  templateCacheSeconds: number;
  softBounceRetryDelaySeconds: number;
  /** The stack's MaxSendRate parameter (0 = the account's rate), when the stack has one. */
  maxSendRate?: number;
}

export interface TargetClients {
  ddb(): Promise<DynamoDBDocumentClient>;
  s3(): Promise<S3Client>;
  sqs(): Promise<SQSClient>;
  events(): Promise<EventBridgeClient>;
  /** EventBridge Scheduler (local mode serves it on its EventBridge endpoint). */
  scheduler(): Promise<SchedulerClient>;
  /** Secrets Manager (AWS only: local mode has none and rejects). */
  secrets(): Promise<SecretsManagerClient>;
  /** SES v2 (GetAccount: quota and pacing); local mode's SES stand-in answers it. */
  ses(): Promise<SESv2Client>;
  /** CloudWatch (the stack's alarms; AWS only: local mode has none and rejects). */
  cloudWatch(): Promise<CloudWatchClient>;
}

export interface EngineTarget {
  kind: 'aws' | 'local';
  /** "stack sesmailengine in eu-west-1" or "local mode at http://127.0.0.1:4010". */
  description: string;
  stackName: string;
  region: string;
  resources: EngineResources;
  settings: EngineSettings;
  clients: TargetClients;
  /** The flags that select this engine again, for commands the CLI suggests (" --local", " --stack-name x"). */
  flags: string;
  /** Closes the clients built so far (keep-alive sockets would hold the process open). */
  close(): void;
}

/** Clients a test (or a caller with its own configuration) hands in instead of the built ones. */
export interface InjectedClients {
  ddb?: DynamoDBDocumentClient;
  s3?: S3Client;
  sqs?: SQSClient;
  events?: EventBridgeClient;
  scheduler?: SchedulerClient;
  secrets?: SecretsManagerClient;
  ses?: SESv2Client;
  cloudWatch?: CloudWatchClient;
  sts?: STSClient;
  cloudFormation?: CloudFormationApi;
}

export interface TargetOptions {
  stackName?: string;
  region?: string;
  profile?: string;
  /** `true` for a bare `--local`, or the source given after it. */
  local?: string | boolean;
  cwd?: string;
  clients?: InjectedClients;
  /** For GET /info (tests inject one). */
  fetch?: typeof fetch;
}

const REQUIRED_LOCAL_FIELDS = [
  'eventBridgeEndpoint',
  'eventBusName',
  'dynamoDbEndpoint',
  'trackingTable',
  'suppressionTable',
  'countersTable',
  's3Endpoint',
  'templateBucket',
  'region',
] as const;

/**
 * A line `--local` read: the fields it requires are checked; the others may be missing
 * from a line written by hand or by another version.
 */
export type LocalInfoLine = Pick<LocalInfo, (typeof REQUIRED_LOCAL_FIELDS)[number]> & Partial<LocalInfo>;

const START_LOCAL = 'Start it in another terminal with: npx sesmailengine local (it listens on 127.0.0.1:4010); with another --port, pass --local http://127.0.0.1:<port>.';

/** Memoises an async factory. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

/** Checks a parsed JSON line and returns it typed. */
export function checkLocalInfo(value: unknown, from: string): LocalInfoLine {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError('OPS002', `The local-mode information from ${from} is not a JSON object.`, 'Pass the line `sesmailengine local --json` printed, or its URL: --local http://127.0.0.1:4010.');
  }
  const record = value as Record<string, unknown>;
  const missing = REQUIRED_LOCAL_FIELDS.filter((key) => typeof record[key] !== 'string' || record[key] === '');
  if (missing.length > 0) {
    throw new CliError(
      'OPS002',
      `The local-mode information from ${from} lacks ${missing.join(', ')}.`,
      'Pass the whole line `sesmailengine local --json` printed (or its URL, --local http://127.0.0.1:4010), from the same version of sesmailengine.',
    );
  }
  return record as unknown as LocalInfoLine;
}

function parseInfoText(text: string, from: string): LocalInfoLine {
  const trimmed = text.trim();
  const candidates = [trimmed, ...trimmed.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'))];
  for (const candidate of candidates) {
    try {
      return checkLocalInfo(JSON.parse(candidate), from);
    } catch (error) {
      if (error instanceof CliError) throw error;
    }
  }
  throw new CliError(
    'OPS002',
    `${from} does not hold local mode's JSON line.`,
    'Save the line with: sesmailengine local --json > local.json (then --local @local.json), or pass the URL: --local http://127.0.0.1:4010.',
  );
}

async function fetchInfo(url: string, fetchImpl: typeof fetch): Promise<LocalInfoLine> {
  const base = url.replace(/\/+$/, '');
  const infoUrl = base.endsWith('/info') ? base : `${base}/info`;
  let response: Response;
  try {
    response = await fetchImpl(infoUrl, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    throw new CliError('OPS001', `Local mode is not reachable at ${base} (${(error as Error).cause ? String((error as { cause: { code?: string } }).cause.code ?? (error as Error).message) : (error as Error).message}).`, START_LOCAL, { cause: error });
  }
  if (response.status === 404) {
    throw new CliError(
      'OPS001',
      `${base} answers, but not with local mode's information (GET /info: 404).`,
      'Point --local at the EventBridge endpoint of `sesmailengine local` (its --port), or pass its JSON line: --local @local.json.',
    );
  }
  if (response.status === 503) {
    throw new CliError('OPS001', `Local mode at ${base} is still starting.`, 'Wait until it prints that it is running, then run the command again.');
  }
  if (!response.ok) {
    throw new CliError('OPS001', `Local mode at ${base} answered GET /info with HTTP ${response.status}.`, START_LOCAL);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new CliError('OPS002', `${infoUrl} did not answer JSON.`, START_LOCAL, { cause: error });
  }
  return checkLocalInfo(body, infoUrl);
}

/** Reads local mode's information from a `--local` value. */
export async function readLocalInfo(source: string | true, cwd = process.cwd(), fetchImpl: typeof fetch = fetch): Promise<LocalInfoLine> {
  const value = source === true ? DEFAULT_LOCAL_URL : source.trim();
  if (/^https?:\/\//i.test(value)) return fetchInfo(value, fetchImpl);
  if (value.startsWith('{')) return parseInfoText(value, '--local');
  const path = value.startsWith('@') ? value.slice(1) : value;
  // An empty name would resolve to the working folder itself.
  if (path.trim() === '') {
    throw new CliError('OPS002', `--local ${JSON.stringify(value)} names no URL, JSON line or file.`, 'Give --local alone for http://127.0.0.1:4010, or a value: --local=http://127.0.0.1:<port>, --local=@local.json.');
  }
  const file = resolvePath(cwd, path);
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new CliError('OPS005', `--local: ${file} is a folder, not the file holding local mode's JSON line.`, 'Save the line with: sesmailengine local --json > local.json, then pass --local @local.json.');
  }
  if (value.startsWith('@') || existsSync(file)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new CliError('OPS005', `--local: the file ${file} cannot be read.`, 'Save the line with: sesmailengine local --json > local.json, then pass --local @local.json.', { cause: error });
    }
    return parseInfoText(text, file);
  }
  throw new CliError(
    'OPS002',
    `--local "${value}" is neither a URL, local mode's JSON line, nor a file.`,
    '--local takes an optional value: put it after the command\'s arguments (sesmailengine diagnose <emailId> --local), or give one with = (--local=http://127.0.0.1:4010, --local=@local.json).',
  );
}

/** Resources of a local-mode engine, from its JSON line. */
export function localResources(info: LocalInfoLine): EngineResources {
  // Local mode names each DLQ after its queue, as the stack does: <stack>-send → <stack>-send-dlq.
  const dlq = (url: string | undefined) => (url ? `${url}-dlq` : undefined);
  const send = dlq(info.sendQueueUrl);
  const feedback = dlq(info.feedbackQueueUrl);
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  const webhookUrl = text(info.webhookUrl);
  const webhookQueueUrl = webhookUrl ? text(info.webhookQueueUrl) : undefined;
  const webhookSecret = webhookUrl ? text(info.webhookSecret) : undefined;
  const eventKey = webhookUrl ? text(info.eventSigningKey) : undefined;
  const webhookDlq = webhookUrl ? (text(info.webhookDeadLetterQueueUrl) ?? dlq(webhookQueueUrl)) : undefined;
  return {
    eventBusName: info.eventBusName,
    trackingTable: info.trackingTable,
    suppressionTable: info.suppressionTable,
    countersTable: info.countersTable,
    templateBucket: info.templateBucket,
    ...(text(info.senderEmail) ? { senderEmail: text(info.senderEmail)! } : {}),
    ...(info.sendQueueUrl ? { sendQueueUrl: info.sendQueueUrl } : {}),
    ...(info.feedbackQueueUrl ? { feedbackQueueUrl: info.feedbackQueueUrl } : {}),
    deadLetterQueues: { ...(send ? { send } : {}), ...(feedback ? { feedback } : {}), ...(webhookDlq ? { webhook: webhookDlq } : {}) },
    ...(webhookUrl
      ? {
          webhook: {
            url: webhookUrl,
            ...(webhookQueueUrl ? { queueUrl: webhookQueueUrl } : {}),
            ...(webhookSecret ? { secret: webhookSecret } : {}),
            ...(eventKey ? { eventKey } : {}),
          },
        }
      : {}),
  };
}

function localTarget(info: LocalInfoLine, injected: InjectedClients = {}): EngineTarget {
  const credentials = info.credentials ?? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const common = { region: info.region, credentials: { ...credentials }, maxAttempts: 2 };
  const built: { destroy(): void }[] = [];
  const track = <T extends { destroy(): void }>(client: T): T => {
    built.push(client);
    return client;
  };
  const clients: TargetClients = {
    ddb: once(async () => {
      if (injected.ddb) return injected.ddb;
      const [{ DynamoDBClient }, { documentClient }] = await Promise.all([
        sdkModule(import('@aws-sdk/client-dynamodb')),
        import('../../functions/lib/clients.js'),
      ]);
      return track(documentClient(new DynamoDBClient({ ...common, endpoint: info.dynamoDbEndpoint })));
    }),
    s3: once(async () => {
      if (injected.s3) return injected.s3;
      const { S3Client } = await sdkModule(import('@aws-sdk/client-s3'));
      return track(new S3Client({ ...common, endpoint: info.s3Endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' }));
    }),
    sqs: once(async () => {
      if (injected.sqs) return injected.sqs;
      const { SQSClient } = await sdkModule(import('@aws-sdk/client-sqs'));
      return track(new SQSClient({ ...common, endpoint: info.sqsEndpoint ?? info.eventBridgeEndpoint }));
    }),
    events: once(async () => {
      if (injected.events) return injected.events;
      const { EventBridgeClient } = await sdkModule(import('@aws-sdk/client-eventbridge'));
      return track(new EventBridgeClient({ ...common, endpoint: info.eventBridgeEndpoint }));
    }),
    scheduler: once(async () => {
      if (injected.scheduler) return injected.scheduler;
      const { SchedulerClient } = await sdkModule(import('@aws-sdk/client-scheduler'));
      return track(new SchedulerClient({ ...common, endpoint: info.eventBridgeEndpoint }));
    }),
    secrets: async () => {
      if (injected.secrets) return injected.secrets;
      throw new Error('Local mode has no Secrets Manager: its webhook secret comes from GET /info.');
    },
    ses: once(async () => {
      if (injected.ses) return injected.ses;
      const { SESv2Client } = await sdkModule(import('@aws-sdk/client-sesv2'));
      return track(new SESv2Client({ ...common, endpoint: info.sesEndpoint ?? info.eventBridgeEndpoint }));
    }),
    cloudWatch: async () => {
      if (injected.cloudWatch) return injected.cloudWatch;
      throw new Error('Local mode has no CloudWatch alarms.');
    },
  };
  const stackName = info.eventBusName.replace(/-EmailBus$/, '');
  return {
    kind: 'local',
    description: `local mode at ${info.eventBridgeEndpoint}`,
    stackName,
    region: info.region,
    resources: localResources(info),
    flags: info.eventBridgeEndpoint === DEFAULT_LOCAL_URL ? ' --local' : ` --local=${info.eventBridgeEndpoint}`,
    settings: {
      ...LOCAL_SETTINGS,
      ...(typeof info.retryDelaySeconds === 'number' ? { softBounceRetryDelaySeconds: info.retryDelaySeconds } : {}),
    },
    clients,
    close: () => built.forEach((c) => c.destroy()),
  };
}

function numberParameter(parameters: Record<string, string>, key: string, fallback: number): number {
  const value = Number(parameters[key]);
  return parameters[key] !== undefined && parameters[key] !== '' && Number.isFinite(value) ? value : fallback;
}

/**
 * The engine's resources from the stack's outputs. Tables and dead-letter queues are
 * recognised by what their output keys say (the installer's `viewOutputs`), so an output
 * added later does not break the CLI.
 */
/** The UnsubscribeSecret's name (the template's `${AWS::StackName}-unsubscribe-signing-key`). */
export const unsubscribeSecretName = (stackName: string): string => `${stackName}-unsubscribe-signing-key`;

export function stackResources(stackName: string, region: string, outputs: Record<string, string>, parameters: Record<string, string> = {}): EngineResources {
  const view = viewOutputs(outputs, parameters);
  const table = (pattern: RegExp) => view.tables.find((t) => pattern.test(t.key))?.name;
  const dlq = (pattern: RegExp) => view.deadLetterQueues.find((q) => pattern.test(q.key))?.url;
  const found = {
    eventBusName: outputs.EventBusName,
    trackingTable: table(/tracking/i),
    suppressionTable: table(/suppression/i),
    countersTable: view.countersTable,
    templateBucket: view.bucket,
  };
  const missing = Object.entries(found)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length > 0) {
    throw new CliError(
      'OPS003',
      `The stack ${stackName} in ${region} does not name ${missing.join(', ')} in its outputs.`,
      `The stack may still be creating, or come from an older version: check it with sesmailengine status --stack-name ${stackName}, and upgrade it with sesmailengine install --stack-name ${stackName}.`,
    );
  }
  const send = dlq(/^send/i);
  const feedback = dlq(/^feedback/i);
  const events = dlq(/event/i);
  // Webhooks exist only on stacks installed with --webhook-url (condition HasWebhook); older stacks have none of these outputs.
  const webhookUrl = outputs.WebhookUrl || undefined;
  const webhookDlq = webhookUrl ? (outputs.WebhookDeadLetterQueueUrl || dlq(/^webhook/i)) : undefined;
  return {
    ...(found as Omit<EngineResources, 'deadLetterQueues' | 'sendQueueUrl' | 'feedbackQueueUrl' | 'webhook' | 'senderEmail'>),
    ...(parameters.DefaultSenderEmail ? { senderEmail: parameters.DefaultSenderEmail } : {}),
    ...(outputs.SendQueueUrl ? { sendQueueUrl: outputs.SendQueueUrl } : {}),
    ...(outputs.FeedbackQueueUrl ? { feedbackQueueUrl: outputs.FeedbackQueueUrl } : {}),
    deadLetterQueues: { ...(send ? { send } : {}), ...(feedback ? { feedback } : {}), ...(events ? { events } : {}), ...(webhookDlq ? { webhook: webhookDlq } : {}) },
    ...(webhookUrl
      ? {
          webhook: {
            url: webhookUrl,
            ...(outputs.WebhookQueueUrl ? { queueUrl: outputs.WebhookQueueUrl } : {}),
            ...(outputs.WebhookSecretArn ? { secretArn: outputs.WebhookSecretArn } : {}),
            eventKeySecretId: unsubscribeSecretName(stackName),
          },
        }
      : {}),
  };
}

export function stackSettings(parameters: Record<string, string>): EngineSettings {
  return {
    bounceRateThreshold: numberParameter(parameters, 'BounceRateThreshold', STACK_DEFAULT_SETTINGS.bounceRateThreshold),
    // Two counts: CloudFormation's Number takes 99.5, and the Email Sender rounds it down
    // (functions/email-sender/config.ts), so the figures shown here do the same.
    bounceRateMinimumSends: Math.floor(numberParameter(parameters, 'BounceRateMinimumSends', STACK_DEFAULT_SETTINGS.bounceRateMinimumSends)),
    // A stack from before the floor has no such parameter, and its sender no floor.
    bounceBrakeMaxHardBounces: Math.floor(numberParameter(parameters, 'BounceBrakeMaxHardBounces', 0)),
    templateCacheSeconds: numberParameter(parameters, 'TemplateCacheSeconds', STACK_DEFAULT_SETTINGS.templateCacheSeconds),
    softBounceRetryDelaySeconds: numberParameter(parameters, 'SoftBounceRetryDelaySeconds', STACK_DEFAULT_SETTINGS.softBounceRetryDelaySeconds),
    ...(parameters.MaxSendRate !== undefined && parameters.MaxSendRate !== '' && Number.isFinite(Number(parameters.MaxSendRate)) ? { maxSendRate: Number(parameters.MaxSendRate) } : {}),
  };
}

async function awsTarget(options: TargetOptions): Promise<EngineTarget> {
  const injected = options.clients ?? {};
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  const [{ STSClient }, { clientConfig, s3Config }, { checkCredentials, requireRegion, stackNotFound }] = await Promise.all([
    sdkModule(import('@aws-sdk/client-sts')),
    import('../aws/clients.js'),
    import('../aws-account.js'),
  ]);
  const region = await requireRegion(options, injected.sts);
  const aws = { region, ...(options.profile ? { profile: options.profile } : {}) };
  const config = clientConfig(aws);
  const built: { destroy(): void }[] = [];
  const track = <T extends { destroy(): void }>(client: T): T => {
    built.push(client);
    return client;
  };
  const sts = injected.sts ?? track(new STSClient(config));
  await checkCredentials(sts, options.profile);

  let cfn = injected.cloudFormation;
  if (!cfn) {
    const [{ CloudFormationClient }, { createCloudFormationApi }] = await Promise.all([
      sdkModule(import('@aws-sdk/client-cloudformation')),
      import('../aws/cloudformation.js'),
    ]);
    cfn = createCloudFormationApi(track(new CloudFormationClient(config)));
  }
  const stack = await cfn.describe(stackName);
  if (!stack) {
    built.forEach((c) => c.destroy());
    throw stackNotFound({ stackName, region }, 'Check --stack-name and --region (or AWS_REGION), install it with sesmailengine install, or use a running local mode with --local.');
  }
  const resources = stackResources(stackName, region, stack.outputs, stack.parameters);
  const clients: TargetClients = {
    ddb: once(async () => {
      if (injected.ddb) return injected.ddb;
      const [{ DynamoDBClient }, { documentClient }] = await Promise.all([
        sdkModule(import('@aws-sdk/client-dynamodb')),
        import('../../functions/lib/clients.js'),
      ]);
      return track(documentClient(new DynamoDBClient(config)));
    }),
    s3: once(async () => {
      if (injected.s3) return injected.s3;
      const { S3Client } = await sdkModule(import('@aws-sdk/client-s3'));
      return track(new S3Client(s3Config(aws)));
    }),
    sqs: once(async () => {
      if (injected.sqs) return injected.sqs;
      const { SQSClient } = await sdkModule(import('@aws-sdk/client-sqs'));
      // As in status: the configured endpoint (SDK defaults, AWS_ENDPOINT_URL) wins over the host in a queue URL.
      return track(new SQSClient({ ...config, useQueueUrlAsEndpoint: false }));
    }),
    events: once(async () => {
      if (injected.events) return injected.events;
      const { EventBridgeClient } = await sdkModule(import('@aws-sdk/client-eventbridge'));
      return track(new EventBridgeClient(config));
    }),
    scheduler: once(async () => {
      if (injected.scheduler) return injected.scheduler;
      const { SchedulerClient } = await sdkModule(import('@aws-sdk/client-scheduler'));
      return track(new SchedulerClient(config));
    }),
    secrets: once(async () => {
      if (injected.secrets) return injected.secrets;
      const { SecretsManagerClient } = await sdkModule(import('@aws-sdk/client-secrets-manager'));
      return track(new SecretsManagerClient(config));
    }),
    ses: once(async () => {
      if (injected.ses) return injected.ses;
      const { SESv2Client } = await sdkModule(import('@aws-sdk/client-sesv2'));
      return track(new SESv2Client(config));
    }),
    cloudWatch: once(async () => {
      if (injected.cloudWatch) return injected.cloudWatch;
      const { CloudWatchClient } = await sdkModule(import('@aws-sdk/client-cloudwatch'));
      return track(new CloudWatchClient(config));
    }),
  };
  return {
    kind: 'aws',
    description: `stack ${stackName} in ${region}`,
    stackName,
    region,
    resources,
    flags: `${stackName === DEFAULT_STACK_NAME ? '' : ` --stack-name ${stackName}`}${options.region ? ` --region ${region}` : ''}${options.profile ? ` --profile ${options.profile}` : ''}`,
    settings: stackSettings(stack.parameters),
    clients,
    close: () => built.forEach((c) => c.destroy()),
  };
}

/** Resolves the engine a command works on: local mode with --local, the stack otherwise. */
export async function resolveTarget(options: TargetOptions): Promise<EngineTarget> {
  if (options.local !== undefined && options.local !== false) {
    const info = await readLocalInfo(options.local, options.cwd, options.fetch ?? fetch);
    return localTarget(info, options.clients);
  }
  return awsTarget(options);
}

/** Runs `body` with the resolved target and closes its clients afterwards. */
export async function withTarget<T>(options: TargetOptions, body: (target: EngineTarget) => Promise<T>): Promise<T> {
  const target = await resolveTarget(options);
  try {
    return await body(target);
  } finally {
    target.close();
  }
}
