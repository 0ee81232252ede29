/**
 * Local mode's assembly: starts the stand-ins (DynamoDB, S3, SES), creates the tables and
 * the template bucket, loads the starter templates, and runs the engine's handlers
 * unchanged behind in-process queues, fed by a local EventBridge endpoint.
 *
 *   app ──PutEvents──▶ local bus ──"Email Request"──▶ send queue ──▶ Email Sender ──▶ SES stand-in
 *                         ▲  │                           ▲                              │ (simulator)
 *                         │  └──aws.ses──▶ feedback queue ─▶ Feedback Processor ◀────────┘
 *                         └──"Email Status Changed"─────────────┘   (soft-bounce retry: SQS SendMessage)
 *                            │
 *                            └──(with --webhook-url) webhook queue ──▶ Webhook Delivery ──signed POST──▶ your endpoint
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { suppressionIndexState } from '../../functions/lib/suppression-index.js';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AwsClients } from '../../functions/lib/clients.js';
import type { Env } from '../../functions/lib/env.js';
import {
  COUNTERS_TABLE,
  SUPPRESSION_TABLE,
  TRACKING_TABLE,
  createTableInput,
  type TableSchema,
} from '../../functions/lib/table-schemas.js';
import { LocalQueue, QueuePoller, type SqsHandler } from './local-queue.js';
import { LocalEventBus } from './local-bus.js';
import { LocalScheduler } from './local-scheduler.js';
import { StatusLog } from './status-log.js';
import { queueDirectory } from './sqs-protocol.js';
import { closeLocal, createLocalServer, handleAwsRequest, listenLocal, type LocalServerOptions, type UnsubscribeHandler } from './local-server.js';
import { simulatingSesRoute } from './ses-simulator.js';
import { HandlerWorkers, type HandlerWorkersOptions } from './handler-workers.js';
import { buildLocalClients } from './local-clients.js';
import { startStandIn, type RunningStandIn } from './stand-ins.js';
import { startSesStandIn, type RunningSesStandIn } from './ses-stand-in.js';
import type { SesQuota, SesQuotaOptions } from './ses-quota.js';
import { startDynamoDbStandIn, type RunningDynamoDbStandIn } from './dynamodb-stand-in.js';
import { amzTarget, type InProcessRoute } from './in-process-handler.js';
import { InFlightRequests, requestLogEntry, type LogComponent, type RequestLogEntry } from './request-log.js';
import { lockDataDir } from './data-dir-lock.js';
import { DEFAULT_MAX_REQUEST_BYTES } from './put-events.js';
import { LOCAL_DEFAULTS } from './defaults.js';
import { displaySecret, SECRET_PREFIX } from '../../functions/core/webhook-signature.js';
import { eventAuthenticationKey } from '../../functions/core/event-authentication.js';
import { MAX_ATTEMPTS } from '../../functions/core/webhook-payload.js';
import type { LocalInfo } from './info.js';

export const LOCAL_HOST = '127.0.0.1';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
/** s3rver accepts only this key pair; the DynamoDB and SES stand-ins and local mode accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface HandlerDeps {
  clients: Partial<AwsClients>;
  env: Env;
  now: () => Date;
  /** The handlers' structured log lines (one object per outcome). */
  log?: (entry: Record<string, unknown>) => void;
}

/** The handler factories local mode runs (the engine's own, unless a test swaps them). */
export interface EngineHandlers {
  emailSender(deps: HandlerDeps): SqsHandler;
  feedbackProcessor(deps: HandlerDeps): SqsHandler;
  unsubscribe?(deps: HandlerDeps): UnsubscribeHandler;
  webhookDelivery?(deps: WebhookDeps): SqsHandler;
}

export interface WebhookDeps extends HandlerDeps {
  /** Seconds between attempts (default: the stack's schedule, 30 s up to 12 h). */
  retrySchedule?: readonly number[];
}

export interface LocalEngineOptions {
  /** EventBridge/SQS endpoint port; 0 picks a free one. */
  port: number;
  dynamoDbPort: number;
  s3Port: number;
  sesPort: number;
  /** Keeps DynamoDB and S3 state here across restarts; a temporary, removed state otherwise. */
  dataDir?: string;
  retryDelaySeconds: number;
  /** `resend` (default) or `fail`: the stack's InterruptedSendPolicy. */
  interruptedSend?: 'resend' | 'fail';
  interruptedSendWindowSeconds?: number;
  sender: string;
  senderName?: string;
  stackName: string;
  /** Send-queue batches processed at once (the stack's EmailSenderConcurrency). */
  senderConcurrency?: number;
  /** The SES account's quota the SES stand-in enforces (--ses-max-send-rate, --ses-max-24-hour-send); unlimited when absent. */
  sesQuota?: SesQuotaOptions;
  feedbackConcurrency?: number;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  maxRequestBytes?: number;
  /** Spacing of simulated SES events after a send (Delivery, then Open/Complaint). */
  simulatorStepMs?: number;
  templateCacheSeconds?: number;
  statusLogCapacity?: number;
  handlers?: EngineHandlers;
  /** Worker threads for the Email Sender and Feedback Processor; 0 runs them in this thread (default: one per core, 2–4). Ignored with `handlers`. */
  workers?: number;
  /** Forward "Email Status Changed" events, signed, to this http(s) URL (as the stack's WebhookUrl does). */
  webhookUrl?: string;
  /** The signing secret (whsec_…); generated (and kept in dataDir) when absent. */
  webhookSecret?: string;
  /** Only these delivery types go out (comma-separated, as the stack's WebhookEvents); all when absent. */
  webhookEvents?: string;
  /** Seconds between webhook attempts (tests shorten it). */
  webhookRetrySchedule?: readonly number[];
  /** Progress and handler errors. */
  log?: (line: string) => void;
  /** Receives the handlers' structured log entries (dropped by default). */
  handlerLog?: (entry: Record<string, unknown>) => void;
  /** Receives local mode's log: request outcomes, retries, webhooks, the handlers' warnings and errors (request-log.ts). */
  requestLog?: (entry: RequestLogEntry) => void;
}

export interface LocalEngine {
  info: LocalInfo;
  bus: LocalEventBus;
  queues: { send: LocalQueue; sendDlq: LocalQueue; feedback: LocalQueue; feedbackDlq: LocalQueue; webhook?: LocalQueue; webhookDlq?: LocalQueue };
  statusLog: StatusLog;
  scheduler: LocalScheduler;
  /** The SES account's sending quota as the SES stand-in keeps it (sends accepted, refusals). */
  sesQuota: SesQuota;
  /** Process ids of the stand-ins (for diagnostics such as CPU accounting). */
  standInPids: Record<'s3', number | undefined>;
  stop(): Promise<void>;
}

/** The folder holding package.json and starter-templates/, from this module's location. */
export function starterTemplatesDir(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'starter-templates');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Cannot find starter-templates/ above ${from}.`);
    dir = parent;
  }
}

/** The engine's own handlers, imported when local mode starts (the CLI's --help never loads them). */
async function defaultHandlers(withWebhooks: boolean): Promise<EngineHandlers> {
  const [sender, feedback, unsubscribe, webhook] = await Promise.all([
    import('../../functions/email-sender/handler.js'),
    import('../../functions/feedback-processor/handler.js'),
    import('../../functions/unsubscribe/handler.js'),
    withWebhooks ? import('../../functions/webhook-delivery/handler.js') : undefined,
  ]);
  return {
    emailSender: (deps) => sender.createEmailSenderHandler(deps),
    feedbackProcessor: (deps) => feedback.createFeedbackProcessorHandler(deps),
    unsubscribe: (deps) => unsubscribe.createUnsubscribeHandler(deps),
    ...(webhook ? { webhookDelivery: (deps: WebhookDeps) => webhook.createWebhookDeliveryHandler(deps) } : {}),
  };
}

async function createTable(client: DynamoDBClient, name: string, schema: TableSchema): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(name, schema)));
  } catch (error) {
    // With --data-dir the tables survive a restart.
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
    if (schema === SUPPRESSION_TABLE) await upgradeSuppressionTable(client, name);
  }
}

/**
 * A suppression table kept in --data-dir by an earlier version has its index on createdAt.
 * The stand-in has no UpdateTable, so the table is made again with the current index and
 * its items put back, each with addedToSuppressionDate (from createdAt) if it lacked it.
 */
async function upgradeSuppressionTable(client: DynamoDBClient, name: string): Promise<void> {
  const described = await client.send(new DescribeTableCommand({ TableName: name }));
  if (suppressionIndexState(described.Table) !== 'legacy') return;
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: name, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  await client.send(new DeleteTableCommand({ TableName: name }));
  await client.send(new CreateTableCommand(createTableInput(name, SUPPRESSION_TABLE)));
  const upgraded = items.map((item) => (item.addedToSuppressionDate || !item.createdAt ? item : { ...item, addedToSuppressionDate: item.createdAt }));
  for (let i = 0; i < upgraded.length; i += 25) {
    let pending = upgraded.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [name]: pending } }));
      pending = (out.UnprocessedItems?.[name] ?? []) as typeof pending;
    }
  }
}

async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

/** Loads the starter templates version-aware (customised templates in a --data-dir survive). */
async function seedStarterTemplates(s3: S3Client, bucket: string): Promise<string[]> {
  const dir = starterTemplatesDir();
  const seeding = await import('../../functions/lib/template-seeding.js');
  const templates = await seeding.readStarterTemplatesFromDirectory(dir);
  const result = await seeding.seedTemplates(s3, bucket, templates);
  return [...result.installed, ...result.updated, ...result.skipped].sort();
}

/**
 * A secret kept with the data (so unsubscribe links in stored mail stay valid, and a
 * webhook receiver keeps its secret, across restarts), or a new one without --data-dir.
 */
function keptSecret(dataDir: string | undefined, file: string, create: () => string): string {
  if (!dataDir) return create();
  const path = join(dataDir, file);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const secret = create();
  writeFileSync(path, secret, { mode: 0o600 });
  return secret;
}

function webhookSecretFor(options: LocalEngineOptions, dataDir: string | undefined): string {
  if (options.webhookSecret !== undefined) return displaySecret(options.webhookSecret);
  return keptSecret(dataDir, 'webhook-secret', () => SECRET_PREFIX + randomBytes(32).toString('base64'));
}

/** Handler workers by default: one per core, two at least (a burst spreads over them), four at most. */
function defaultWorkerCount(): number {
  return Math.min(4, Math.max(2, availableParallelism()));
}

/** Where the stand-ins keep their data: the --data-dir (locked while the engine runs), else a temporary folder. */
function prepareStorage(dataDir: string | undefined, cleanups: (() => Promise<void> | void)[]): { s3Dir: string; dynamoFile: string | undefined } {
  if (dataDir) {
    const s3Dir = join(dataDir, 's3');
    mkdirSync(s3Dir, { recursive: true });
    mkdirSync(join(dataDir, 'dynamodb'), { recursive: true });
    // Before anything reads or writes there; released last when stopping.
    const lock = lockDataDir(dataDir);
    cleanups.push(() => lock.release());
    return { s3Dir, dynamoFile: join(dataDir, 'dynamodb', 'tables.json') };
  }
  const s3Dir = mkdtempSync(join(tmpdir(), 'sesmailengine-local-s3-'));
  cleanups.push(() => rmSync(s3Dir, { recursive: true, force: true }));
  return { s3Dir, dynamoFile: undefined };
}

/** The stand-ins, in parallel; if one fails the others are stopped again (through the cleanups). */
async function startStandIns(
  options: LocalEngineOptions,
  s3Dir: string,
  dynamoFile: string | undefined,
  cleanups: (() => Promise<void> | void)[],
): Promise<[RunningDynamoDbStandIn, RunningStandIn, RunningSesStandIn]> {
  const started = await Promise.allSettled([
    startDynamoDbStandIn({ host: LOCAL_HOST, port: options.dynamoDbPort, region: LOCAL_REGION, account: LOCAL_ACCOUNT, dataFile: dynamoFile }),
    startStandIn('s3', { host: LOCAL_HOST, port: options.s3Port, path: s3Dir }),
    startSesStandIn(LOCAL_HOST, options.sesPort, options.sesQuota ?? {}),
  ]);
  for (const result of started) if (result.status === 'fulfilled') cleanups.push(() => result.value.stop());
  const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [RunningDynamoDbStandIn, RunningStandIn, RunningSesStandIn];
}

interface LocalQueues {
  send: LocalQueue;
  sendDlq: LocalQueue;
  feedback: LocalQueue;
  feedbackDlq: LocalQueue;
  webhook: LocalQueue | undefined;
  webhookDlq: LocalQueue | undefined;
  /** Every queue, as ListQueues shows them. */
  listed: LocalQueue[];
}

function localQueues(stackName: string, endpoint: string, options: LocalEngineOptions): LocalQueues {
  const queueUrl = (name: string) => `${endpoint}/${LOCAL_ACCOUNT}/${name}`;
  const queueArn = (name: string) => `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
  const queue = (name: string, dlq?: LocalQueue, maxReceiveCount?: number) =>
    new LocalQueue({
      name,
      url: queueUrl(name),
      arn: queueArn(name),
      region: LOCAL_REGION,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      maxReceiveCount: options.maxReceiveCount ?? maxReceiveCount,
      deadLetterQueue: dlq,
    });
  // Names and redrive counts as in cloudformation/template.yaml; the visibility timeout is
  // shorter than the stack's 180 s so a returned message comes back quickly locally.
  const sendDlq = queue(`${stackName}-send-dlq`);
  const send = queue(`${stackName}-send`, sendDlq, 10);
  const feedbackDlq = queue(`${stackName}-feedback-dlq`);
  const feedback = queue(`${stackName}-feedback`, feedbackDlq, 5);
  // With a webhook URL, the stack's webhook queue (10 attempts, then its DLQ).
  const webhookUrl = options.webhookUrl;
  const webhookDlq = webhookUrl ? queue(`${stackName}-webhook-dlq`) : undefined;
  const webhook = webhookUrl ? queue(`${stackName}-webhook`, webhookDlq, MAX_ATTEMPTS) : undefined;
  const listed = [send, sendDlq, feedback, feedbackDlq, ...(webhook && webhookDlq ? [webhook, webhookDlq] : [])];
  return { send, sendDlq, feedback, feedbackDlq, webhook, webhookDlq, listed };
}

/** The names the stack would give its resources, and the local endpoint's unsubscribe URL. */
interface LocalNames {
  eventBusName: string;
  configurationSet: string;
  tables: { tracking: string; suppression: string; counters: string };
  templateBucket: string;
  unsubscribeUrl: string;
  scheduleGroupName: string;
}

function localNames(stackName: string, endpoint: string): LocalNames {
  return {
    eventBusName: `${stackName}-EmailBus`,
    configurationSet: `${stackName}-tracking`,
    tables: {
      tracking: `${stackName}-EmailTracking`,
      suppression: `${stackName}-Suppression`,
      counters: `${stackName}-Counters`,
    },
    templateBucket: `${stackName.toLowerCase()}-templates`,
    unsubscribeUrl: `${endpoint}/unsubscribe`,
    scheduleGroupName: `${stackName}-scheduled`,
  };
}

/** The handlers' environment, as the stack's functions get it (the unsubscribe secret kept with the data). */
function localEnv(options: LocalEngineOptions, names: LocalNames, send: LocalQueue, dataDir: string | undefined): Env {
  const { tables, templateBucket, configurationSet, unsubscribeUrl, eventBusName, scheduleGroupName } = names;
  const stackName = options.stackName;
  return {
    TRACKING_TABLE: tables.tracking,
    SUPPRESSION_TABLE: tables.suppression,
    COUNTERS_TABLE: tables.counters,
    TEMPLATE_BUCKET: templateBucket,
    CONFIGURATION_SET: configurationSet,
    DEFAULT_SENDER_EMAIL: options.sender,
    DEFAULT_SENDER_NAME: options.senderName ?? '',
    BOUNCE_RATE_THRESHOLD: '5',
    BOUNCE_RATE_MIN_SENDS: '100',
    BOUNCE_BRAKE_MAX_HARD_BOUNCES: '10',
    TEMPLATE_CACHE_SECONDS: String(options.templateCacheSeconds ?? 5),
    TRACKING_RETENTION_DAYS: '365',
    INTERRUPTED_SEND_POLICY: options.interruptedSend ?? LOCAL_DEFAULTS.interruptedSend,
    INTERRUPTED_SEND_WINDOW_SECONDS: String(options.interruptedSendWindowSeconds ?? LOCAL_DEFAULTS.interruptedSendWindowSeconds),
    UNSUBSCRIBE_URL: unsubscribeUrl,
    UNSUBSCRIBE_SECRET: keptSecret(dataDir, 'unsubscribe-secret', () => randomBytes(32).toString('hex')),
    UNSUBSCRIBE_MAILTO: '',
    EVENT_BUS_NAME: eventBusName,
    SEND_QUEUE_URL: send.url,
    MAX_SEND_RATE: '0',
    STACK_NAME: stackName,
    SEND_QUEUE_ARN: send.arn,
    SCHEDULE_GROUP_NAME: scheduleGroupName,
    SCHEDULER_ROLE_ARN: `arn:aws:iam::${LOCAL_ACCOUNT}:role/${stackName}-scheduler`,
    SOFT_BOUNCE_RETRY_DELAY_SECONDS: String(options.retryDelaySeconds),
    SOFT_BOUNCE_SUPPRESSION_THRESHOLD: '3',
    SOFT_BOUNCE_WINDOW_DAYS: '30',
    AWS_REGION: LOCAL_REGION,
  };
}

interface InfoParts {
  options: LocalEngineOptions;
  names: LocalNames;
  endpoint: string;
  send: LocalQueue;
  feedback: LocalQueue;
  dynamo: RunningDynamoDbStandIn;
  s3Stand: RunningStandIn;
  ses: RunningSesStandIn;
  dataDir: string | undefined;
  templates: string[];
  env: Env;
  webhook: { url: string; queue: LocalQueue; dlq: LocalQueue; secret: string } | undefined;
}

/** What `local` prints and writes for clients: endpoints, names, credentials. */
function engineInfo(parts: InfoParts): LocalInfo {
  const { options, endpoint, send, feedback, dynamo, s3Stand, ses, dataDir, templates, env, webhook } = parts;
  const { eventBusName, tables, templateBucket, unsubscribeUrl, configurationSet, scheduleGroupName } = parts.names;
  return {
    eventBridgeEndpoint: endpoint,
    eventBusName,
    eventBusArn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${eventBusName}`,
    sqsEndpoint: endpoint,
    sendQueueUrl: send.url,
    feedbackQueueUrl: feedback.url,
    statusEventsUrl: `${endpoint}/events`,
    queuesUrl: `${endpoint}/queues`,
    unsubscribeUrl,
    dynamoDbEndpoint: dynamo.endpoint,
    trackingTable: tables.tracking,
    suppressionTable: tables.suppression,
    countersTable: tables.counters,
    s3Endpoint: s3Stand.endpoint,
    templateBucket,
    sesEndpoint: ses.endpoint,
    sesWebUrl: `${ses.endpoint}/`,
    sesStoreUrl: `${ses.endpoint}/store`,
    configurationSet,
    scheduleGroupName,
    ...(webhook
      ? {
          webhookUrl: webhook.url,
          webhookQueueUrl: webhook.queue.url,
          webhookDeadLetterQueueUrl: webhook.dlq.url,
          webhookSecret: webhook.secret,
          eventSigningKey: eventAuthenticationKey(env.UNSUBSCRIBE_SECRET!).toString('base64url'),
        }
      : {}),
    region: LOCAL_REGION,
    credentials: { ...LOCAL_CREDENTIALS },
    dataDir: dataDir ?? null,
    retryDelaySeconds: options.retryDelaySeconds,
    templates,
    senderEmail: options.sender,
  };
}

interface PollerParts {
  options: LocalEngineOptions;
  log: (line: string) => void;
  send: LocalQueue;
  feedback: LocalQueue;
  webhook: LocalQueue | undefined;
  workers: HandlerWorkers | undefined;
  handlers: EngineHandlers;
  depsFor: (component: LogComponent) => HandlerDeps;
  inFlight: InFlightRequests | undefined;
}

/** The queues' consumers, as the stack's event source mappings (batch size, maximum concurrency), started. */
function startPollers(parts: PollerParts): QueuePoller[] {
  const { options, log, send, feedback, webhook, workers, handlers, depsFor, inFlight } = parts;
  const onError = (error: unknown, q: LocalQueue) => {
    log(`handler error on ${q.name}: ${error instanceof Error ? error.message : String(error)}`);
  };
  const senderHandler = workers ? workers.handler('emailSender') : handlers.emailSender(depsFor('email-sender'));
  const senderPoller = new QueuePoller(send, inFlight ? inFlight.track(senderHandler) : senderHandler, {
    batchSize: 10,
    maxConcurrency: options.senderConcurrency ?? 14,
    onError,
  });
  const feedbackPoller = new QueuePoller(feedback, workers ? workers.handler('feedbackProcessor') : handlers.feedbackProcessor(depsFor('feedback-processor')), {
    batchSize: 10,
    maxConcurrency: options.feedbackConcurrency ?? 10,
    onError,
  });
  const webhookHandler = webhook ? handlers.webhookDelivery?.({ ...depsFor('webhook-delivery'), retrySchedule: options.webhookRetrySchedule }) : undefined;
  if (webhook && !webhookHandler) throw new Error('A webhook URL was given but the handlers include no webhook delivery.');
  const webhookPoller = webhook && webhookHandler ? new QueuePoller(webhook, webhookHandler, { batchSize: 10, maxConcurrency: 2, onError }) : undefined;
  senderPoller.start();
  feedbackPoller.start();
  webhookPoller?.start();
  return [senderPoller, feedbackPoller, ...(webhookPoller ? [webhookPoller] : [])];
}

export async function startLocalEngine(options: LocalEngineOptions): Promise<LocalEngine> {
  const log = options.log ?? (() => undefined);
  const stackName = options.stackName;
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        // Say so (a DynamoDB data file that could not be saved loses data) and stop the rest.
        log(`while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  try {
    const { s3Dir, dynamoFile } = prepareStorage(dataDir, cleanups);
    const [dynamo, s3Stand, ses] = await startStandIns(options, s3Dir, dynamoFile, cleanups);
    log(`stand-ins up: dynamodb ${dynamo.endpoint}, s3 ${s3Stand.endpoint}, ses ${ses.endpoint}`);

    // The local EventBridge/SQS server: listen first so its URL is known to the handlers;
    // it answers 503 until the engine behind it is assembled.
    const statusLog = new StatusLog(options.statusLogCapacity);
    let serverState: LocalServerOptions | undefined;
    const server = createLocalServer(() => serverState);
    const port = await listenLocal(server, LOCAL_HOST, options.port);
    cleanups.push(() => closeLocal(server));
    const endpoint = `http://${LOCAL_HOST}:${port}`;

    const webhookUrl = options.webhookUrl;
    const { send, sendDlq, feedback, feedbackDlq, webhook, webhookDlq, listed } = localQueues(stackName, endpoint, options);
    const directory = queueDirectory(listed);
    cleanups.push(() => listed.forEach((q) => q.close()));

    const names = localNames(stackName, endpoint);
    const { eventBusName, configurationSet, tables, templateBucket } = names;
    const bus = new LocalEventBus({
      engineBusName: eventBusName,
      account: LOCAL_ACCOUNT,
      region: LOCAL_REGION,
      sendQueue: send,
      feedbackQueue: feedback,
      statusLog,
      webhookQueue: webhook,
      maxRequestBytes: options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    });

    // Calls to what lives in this process (the SES stand-in's SendEmail, this server's
    // EventBridge and SQS) are answered without a socket; after each send the stand-in
    // accepts, the mailbox simulator publishes the SES events AWS would.
    const localAws: InProcessRoute = (request, body) => {
      const target = amzTarget(request);
      if (request.method !== 'POST' || request.path !== '/' || target === undefined) return undefined;
      const state = serverState;
      if (!state) return undefined;
      const answer = handleAwsRequest(target, body, state);
      return { statusCode: answer.status, headers: { 'content-type': answer.contentType }, body: answer.body };
    };
    const sesRoute = simulatingSesRoute(ses.route, {
      configurationSet,
      account: LOCAL_ACCOUNT,
      region: LOCAL_REGION,
      stepMs: options.simulatorStepMs,
      publish: (event, delayMs) => bus.deliver(event, 'default', delayMs),
    });
    const routes = { dynamodb: dynamo.route, ses: sesRoute, local: localAws };
    const clientOptions = {
      region: LOCAL_REGION,
      credentials: { ...LOCAL_CREDENTIALS },
      endpoints: { dynamodb: dynamo.endpoint, s3: s3Stand.endpoint, ses: ses.endpoint, local: endpoint },
    };
    const mainClients = buildLocalClients({ ...clientOptions, routes });
    cleanups.push(() => mainClients.destroy());
    const { rawDdb, clients } = mainClients;
    const s3 = clients.s3;
    // EventBridge Scheduler has no emulator: local mode keeps one-time schedules itself.
    const scheduler = new LocalScheduler({ account: LOCAL_ACCOUNT, region: LOCAL_REGION, queues: [send], dataDir, log });
    cleanups.push(() => scheduler.close());
    const env = localEnv(options, names, send, dataDir);
    const webhookSecret = webhookUrl ? webhookSecretFor(options, dataDir) : undefined;
    if (webhookUrl && webhook && webhookSecret) {
      Object.assign(env, { WEBHOOK_URL: webhookUrl, WEBHOOK_SECRET: webhookSecret, WEBHOOK_QUEUE_URL: webhook.url, WEBHOOK_EVENT_TYPES: options.webhookEvents ?? '' });
    }
    // The Email Sender and the Feedback Processor run in worker threads (as Lambda runs
    // containers), unless a test brings its own handlers or no workers are wanted. They load
    // while the tables and the templates are set up; none is invoked before that is done.
    const workerCount = options.handlers ? 0 : (options.workers ?? defaultWorkerCount());
    // With a request log, the Email Sender's outcomes are completed with what the send queue knows.
    const inFlight = options.requestLog ? new InFlightRequests() : undefined;
    const logFor = handlerLogFor(options, inFlight);
    const workersStarting =
      workerCount > 0
        ? HandlerWorkers.start({
            count: workerCount,
            setup: { env, clients: clientOptions, forwarded: ['dynamodb', 'ses', 'local'], logs: logFor !== undefined },
            routes,
            log: workerLog(logFor),
            report: log,
          })
        : Promise.resolve(undefined);
    cleanups.push(() => workersStarting.then((started) => started?.close(), () => undefined));
    const handlersLoading = options.handlers ? Promise.resolve(options.handlers) : defaultHandlers(Boolean(webhookUrl));
    handlersLoading.catch(() => undefined);

    await Promise.all([
      createTable(rawDdb, tables.tracking, TRACKING_TABLE),
      createTable(rawDdb, tables.suppression, SUPPRESSION_TABLE),
      createTable(rawDdb, tables.counters, COUNTERS_TABLE),
    ]);
    await createBucket(s3, templateBucket);
    const templates = await seedStarterTemplates(s3, templateBucket);
    log(`tables and bucket ready; templates: ${templates.join(', ')}`);

    const workers = await workersStarting;
    const handlers = await handlersLoading;
    const depsFor = (component: LogComponent): HandlerDeps => ({ clients, env, now: () => new Date(), log: logFor?.(component) ?? (() => undefined) });
    const unsubscribeHandler = handlers.unsubscribe?.(depsFor('unsubscribe'));
    const pollers = startPollers({ options, log, send, feedback, webhook, workers, handlers, depsFor, inFlight });
    serverState = { bus, queues: directory, listedQueues: listed, statusLog, unsubscribe: unsubscribeHandler, scheduler };
    cleanups.push(() => Promise.all(pollers.map((p) => p.stop())).then(() => undefined));

    const webhookParts = webhookUrl && webhook && webhookDlq && webhookSecret ? { url: webhookUrl, queue: webhook, dlq: webhookDlq, secret: webhookSecret } : undefined;
    const info = engineInfo({ options, names, endpoint, send, feedback, dynamo, s3Stand, ses, dataDir, templates, env, webhook: webhookParts });
    serverState.info = info;

    let stopping: Promise<void> | undefined;
    return {
      info,
      bus,
      queues: { send, sendDlq, feedback, feedbackDlq, ...(webhook && webhookDlq ? { webhook, webhookDlq } : {}) },
      sesQuota: ses.quota,
      statusLog,
      scheduler,
      standInPids: { s3: s3Stand.pid },
      stop() {
        stopping ??= withTimeout(cleanup(), 15_000);
        return stopping;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Each handler's log: the raw entries to `handlerLog`, local mode's lines to `requestLog`; undefined when neither is wanted. */
function handlerLogFor(
  options: Pick<LocalEngineOptions, 'handlerLog' | 'requestLog'>,
  inFlight: InFlightRequests | undefined,
): ((component: LogComponent) => (entry: Record<string, unknown>) => void) | undefined {
  const { handlerLog, requestLog } = options;
  if (!handlerLog && !requestLog) return undefined;
  const context = (messageId: string) => inFlight?.context(messageId);
  return (component) => (entry) => {
    handlerLog?.(entry);
    if (!requestLog) return;
    const line = requestLogEntry(component, entry, Date.now(), context);
    if (line) requestLog(line);
  };
}

/** The workers' entries, each to its handler's log. */
function workerLog(logFor: ReturnType<typeof handlerLogFor>): HandlerWorkersOptions['log'] {
  if (!logFor) return undefined;
  const sender = logFor('email-sender');
  const feedback = logFor('feedback-processor');
  return (entry, handler) => (handler === 'feedbackProcessor' ? feedback : sender)(entry);
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    void promise.finally(() => {
      clearTimeout(timer);
      done();
    });
  });
}
