import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import chalk from 'chalk';
import { clientConfig, s3Config, watchCalls, type AwsTarget } from '../aws/clients.js';
import {
  createCloudFormationApi,
  isNoChangesReason,
  type ChangeSetDescription,
  type ChangeSetType,
  type CloudFormationApi,
  type ResourceToImport,
  type StackDescription,
} from '../aws/cloudformation.js';
import { StackProgress } from '../aws/stack-progress.js';
import { CliError, UserCancelled } from '../errors.js';
import { INSTALL_LOG_FILE, openRunLog, type RunLog } from '../install-log.js';
import { defaultBucketName, ensureBucket } from '../installer/bucket.js';
import { changeLines, dataRemovals, dataReplacements, summarizeChanges, summaryLine, waitForChangeSet } from '../installer/change-set.js';
import { followOperation, reportFailure } from '../installer/follow.js';
import {
  deleteCommand,
  describeResource,
  findExisting,
  listOrder,
  namedResources,
  planLeftovers,
  type FoundResource,
  type ProbeClients,
} from '../installer/named-resources.js';
import {
  accountWarnings,
  checkCredentials,
  checkSenderIdentity,
  configuredRegion,
  quotaLine,
  readSesAccount,
  resolveCredentials,
  senderAdvice,
  type Identity,
} from '../installer/preflight.js';
import {
  MAX_TEMPLATE_BODY_BYTES,
  loadStackTemplate,
  chooseInterruptedSend,
  parseParameterFlags,
  stackParameters,
  type StackTemplate,
} from '../installer/stack-template.js';
import { evaluateConditions, importTemplateBody, parameterValues } from '../installer/template-document.js';
import { templateWithoutSuppressionIndex } from '../installer/suppression-index.js';
import { backfillAddedToSuppressionDate, suppressionIndexState, SUPPRESSION_INDEX, type SuppressionIndexState } from '../../functions/lib/suppression-index.js';
import { chooseWebhookEvents, chooseWebhookUrl } from '../installer/webhook-url.js';
import { packageRoot } from '../package-root.js';
import { buildHandlers, sha256, type HandlerArtifact } from '../packaging/build.js';
import { objectExists, uploadHandlerArtifact, uploadStarterTemplates } from '../packaging/upload.js';
import { createPrompter, type Prompter } from '../prompts.js';
import { createUi, processIo, type Ui } from '../ui.js';
import { VERSION } from '../version.js';
import { readStarterTemplatesFromDirectory, type SeedResult, type StarterTemplate } from '../../functions/lib/template-seeding.js';
import { DEFAULT_STACK_NAME, emailProblem, stackNameProblem, type CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine install`: from zero (or an older version) to a working stack. Credentials
 * first, then the questions, the pre-flight checks, packaging and uploads, the stack
 * create-or-update with live events, the starter templates, and what to do next.
 */

export interface InstallClients extends ProbeClients {
  sts: STSClient;
  ses: SESv2Client;
  s3: S3Client;
  lambda: LambdaClient;
  cloudFormation: CloudFormationApi;
}

/** The stack tag that records the engine version (also the EngineVersion output, when the template has it). */
export const VERSION_TAG = 'sesmailengine:version';

/** The engine version a stack runs: its EngineVersion output, else its version tag. */
export function engineVersionOf(stack: StackDescription): string {
  return stack.outputs.EngineVersion ?? stack.tags[VERSION_TAG] ?? 'unknown';
}

export interface InstallOptions extends CommonOptions {
  sender?: string;
  senderName?: string;
  adminEmail?: string;
  bucket?: string;
  /** No questions: every required value must come from a flag or the existing stack. */
  yes?: boolean;
  /** `Key=Value` pairs for the stack's tuning parameters. */
  parameter?: string[];
  /** The WebhookUrl parameter: an https URL, '' to turn webhooks off, undefined to keep what the stack has. */
  webhookUrl?: string;
  /** Accept a webhook URL whose host is a loopback, link-local or private address (refused otherwise, INS026). */
  allowPrivateWebhook?: boolean;
  /** The WebhookEvents parameter: delivery types, '' for all, undefined to keep what the stack has. */
  webhookEvents?: string;
  /** The InterruptedSendPolicy parameter: resend or fail, undefined to keep what the stack has. */
  interruptedSend?: string;
  /** Go on even if the sender is not a verified SES identity yet. */
  skipSenderCheck?: boolean;
  /** Let an upgrade replace a resource that holds data (a table, a queue, …). */
  allowReplacement?: boolean;

  // Seams for tests and benchmarks.
  clients?: Partial<InstallClients>;
  prompter?: Prompter;
  log?: RunLog;
  /** The package root holding cloudformation/, starter-templates/ and functions/. */
  root?: string;
  buildArtifacts?: (root: string) => Promise<HandlerArtifact[]>;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const STEP_LOG_PREFIX = 'step';

interface Timings {
  started: number;
  waitingMs: number;
  promptMs: number;
}

function withTimer<T>(timings: Timings, key: 'waitingMs' | 'promptMs', body: () => Promise<T>): Promise<T> {
  const start = Date.now();
  return body().finally(() => {
    timings[key] += Date.now() - start;
  });
}

function awsClients(
  target: AwsTarget,
  log: RunLog,
  given: Partial<InstallClients> = {},
  debug?: NodeJS.WritableStream,
): InstallClients {
  const listen = (client: unknown) => {
    watchCalls(client, (c) => {
      const line = `aws ${c.service}.${c.operation} ${c.ms}ms${c.error ? ` error=${c.error}` : ''}`;
      log.write(line);
      debug?.write(`[debug] ${line}\n`);
    });
    return client;
  };
  const config = clientConfig(target);
  const cfnClient = given.cloudFormation ? undefined : (listen(new CloudFormationClient(config)) as CloudFormationClient);
  return {
    sts: given.sts ?? (listen(new STSClient(config)) as STSClient),
    ses: given.ses ?? (listen(new SESv2Client(config)) as SESv2Client),
    s3: given.s3 ?? (listen(new S3Client(s3Config(target))) as S3Client),
    lambda: given.lambda ?? (listen(new LambdaClient(config)) as LambdaClient),
    cloudFormation: given.cloudFormation ?? createCloudFormationApi(cfnClient as CloudFormationClient),
    dynamodb: given.dynamodb ?? (listen(new DynamoDBClient(config)) as DynamoDBClient),
    // The configured endpoint wins over the host of a queue URL, as in status.
    sqs: given.sqs ?? (listen(new SQSClient({ ...config, useQueueUrlAsEndpoint: false })) as SQSClient),
    logs: given.logs ?? (listen(new CloudWatchLogsClient(config)) as CloudWatchLogsClient),
    secrets: given.secrets ?? (listen(new SecretsManagerClient(config)) as SecretsManagerClient),
    events: given.events ?? (listen(new EventBridgeClient(config)) as EventBridgeClient),
  };
}

interface Answers {
  stackName: string;
  region: string;
  sender?: string;
  senderName?: string;
  adminEmail?: string;
  bucket: string;
}

function missingForYes(answers: Omit<Answers, 'bucket'>, previous: Record<string, string> | undefined): string[] {
  const missing: string[] = [];
  if (!answers.sender && !previous?.DefaultSenderEmail) missing.push('the default sender address (--sender <address>)');
  if (!answers.adminEmail && !previous?.AdminEmail) missing.push('the admin e-mail for alarms (--admin-email <address>)');
  return missing;
}

function checkAddress(label: string, flag: string, value: string | undefined): void {
  if (value === undefined) return;
  const problem = emailProblem(value);
  if (problem) throw new CliError('INS003', `The ${label} "${value}" ${problem}.`, `Pass a valid address with ${flag} <address>.`);
}

/** Reads the starter templates shipped with the package. */
async function readStarters(root: string): Promise<StarterTemplate[]> {
  return readStarterTemplatesFromDirectory(join(root, 'starter-templates'));
}

/** The copy-paste first send: one Email Request to the SES mailbox simulator. */
export function firstSendCommand(busName: string, region: string, profile?: string): string {
  const detail = JSON.stringify({
    to: 'success@simulator.amazonses.com',
    templateName: 'welcome',
    templateData: { userName: 'Ada', companyName: 'Example Co' },
  });
  const entries = JSON.stringify([{ EventBusName: busName, Source: 'my.app', DetailType: 'Email Request', Detail: detail }]);
  return `aws events put-events --region ${region}${profile ? ` --profile ${profile}` : ''} --entries '${entries}'`;
}

function printOutputs(ui: Ui, stack: StackDescription, region: string, profile?: string): void {
  const outputs = stack.outputs;
  ui.out('');
  ui.out(chalk.bold('Stack outputs'));
  for (const [key, value] of Object.entries(outputs).sort(([a], [b]) => a.localeCompare(b))) {
    if (key === 'CustomerIAMPolicy') continue;
    ui.out(`  ${key.padEnd(28)} ${value}`);
  }
  if (outputs.CustomerIAMPolicy) {
    ui.out('');
    ui.out(chalk.bold('IAM policy for your publishers (allows events:PutEvents on the bus only):'));
    let policy = outputs.CustomerIAMPolicy;
    try {
      policy = JSON.stringify(JSON.parse(policy), null, 2);
    } catch {
      // printed as CloudFormation gave it
    }
    ui.out(policy);
  }
  const bus = outputs.EventBusName;
  if (bus) {
    ui.out('');
    ui.out(chalk.bold('Send a first email (to the SES mailbox simulator, which works in the sandbox too):'));
    ui.out(`  ${firstSendCommand(bus, region, profile)}`);
  }
}

async function invokeSeeder(lambda: LambdaClient, stackName: string): Promise<SeedResult> {
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: `${stackName}-TemplateSeeder`, Payload: new TextEncoder().encode('{}') }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  if (out.FunctionError) {
    let reason = text;
    try {
      const parsed = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      reason = `${parsed.errorType ?? 'Error'}: ${parsed.errorMessage ?? text}`;
    } catch {
      // keep the raw text
    }
    throw new Error(reason);
  }
  const parsed = JSON.parse(text || '{}') as Partial<SeedResult>;
  return { installed: parsed.installed ?? [], updated: parsed.updated ?? [], skipped: parsed.skipped ?? [] };
}

export async function install(options: InstallOptions): Promise<number> {
  const cwd = options.cwd ?? process.cwd();
  const log = options.log ?? openRunLog(join(cwd, INSTALL_LOG_FILE), `sesmailengine ${VERSION} install`);
  try {
    return await runInstall(options, log);
  } catch (error) {
    const e = error as { code?: string; name?: string; message?: string };
    log.write(`failed ${e?.code ?? e?.name ?? 'Error'}: ${e?.message ?? String(error)}`);
    throw error;
  }
}

async function runInstall(options: InstallOptions, log: RunLog): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const prompter = options.prompter ?? createPrompter();
  const interactive = !options.yes;
  const timings: Timings = { started: Date.now(), waitingMs: 0, promptMs: 0 };
  const step = (message: string) => log.write(`${STEP_LOG_PREFIX} ${message}`);
  const ask = <T>(body: () => Promise<T>) => withTimer(timings, 'promptMs', body);

  // Validate what the flags say before anything else happens.
  if (options.stackName) {
    const problem = stackNameProblem(options.stackName);
    if (problem) throw new CliError('INS003', `The stack name "${options.stackName}" ${problem}.`, 'Pass a valid name with --stack-name <name>.');
  }
  checkAddress('sender address', '--sender', options.sender);
  checkAddress('admin e-mail', '--admin-email', options.adminEmail);
  const extra = parseParameterFlags(options.parameter);
  const webhookUrl = chooseWebhookUrl(options.webhookUrl, extra.WebhookUrl, { allowPrivate: Boolean(options.allowPrivateWebhook) });
  if (webhookUrl !== undefined) extra.WebhookUrl = webhookUrl;
  const webhookEvents = chooseWebhookEvents(options.webhookEvents, extra.WebhookEvents);
  if (webhookEvents !== undefined) extra.WebhookEvents = webhookEvents;
  const interruptedSend = chooseInterruptedSend(options.interruptedSend, extra.InterruptedSendPolicy);
  if (interruptedSend !== undefined) extra.InterruptedSendPolicy = interruptedSend;

  const root = options.root ?? packageRoot();
  // Packaging needs no AWS: start it now so it runs while the person answers and AWS answers.
  const build = (options.buildArtifacts ?? buildHandlers)(root);
  const starters = readStarters(root);
  build.catch(() => undefined);
  starters.catch(() => undefined);

  // 1. Credentials, before any question.
  step('credentials');
  const probe = options.clients?.sts ?? new STSClient(clientConfig({ ...(options.profile ? { profile: options.profile } : {}) }));
  let region = options.region ?? (await configuredRegion(probe));
  let identity: Identity | undefined;
  let clients: InstallClients | undefined;
  const connect = async (r: string) => {
    clients = awsClients(
      { region: r, ...(options.profile ? { profile: options.profile } : {}) },
      log,
      options.clients,
      options.debug ? io.stderr : undefined,
    );
    identity = await checkCredentials(clients.sts, options.profile);
    step(`credentials ok: account ${identity.account} (${identity.arn}) region ${r}`);
  };
  if (region) await connect(region);
  else await resolveCredentials(probe, options.profile);
  if (identity) ui.ok(`AWS account ${identity.account} (${identity.arn})`);

  // 2. Stack name and region.
  let stackName = options.stackName ?? DEFAULT_STACK_NAME;
  if (interactive && !options.stackName) {
    stackName = await ask(() =>
      prompter.text({ message: 'Stack name', default: DEFAULT_STACK_NAME, validate: (v) => stackNameProblem(v) && `The stack name ${stackNameProblem(v)}.` }),
    );
  }
  if (interactive && !options.region) {
    const chosen = await ask(() =>
      prompter.text({
        message: 'AWS region',
        ...(region ? { default: region } : {}),
        validate: (v) => (/^[a-z]{2}(-[a-z]+)+-\d$/.test(v) ? undefined : 'Give a region code such as eu-west-1.'),
      }),
    );
    if (chosen !== region || !identity) {
      region = chosen;
      await connect(region);
      if (identity) ui.ok(`AWS account ${identity!.account} (${identity!.arn})`);
    }
  }
  if (!region) {
    throw new CliError(
      'INS011',
      'No AWS region is configured.',
      'Pass --region <region> (for example --region eu-west-1), set AWS_REGION, or add one to your profile: aws configure set region <region>',
    );
  }
  if (!identity || !clients) await connect(region);
  const aws = clients as InstallClients;
  const account = (identity as Identity).account;
  const followTiming = {
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  };

  // 3. What is there already: an earlier install keeps its answers as defaults.
  step(`describe stack ${stackName}`);
  let existing = await aws.cloudFormation.describe(stackName);
  if (existing) step(`stack ${stackName} exists: ${existing.status}`);
  // A first install whose import rolled back leaves a stack holding nothing: start afresh.
  const emptyAfterImport =
    existing?.status.name === 'IMPORT_ROLLBACK_COMPLETE' && (await aws.cloudFormation.countResources(existing.stackId)) === 0;
  const recreate = Boolean(existing?.status.mustDeleteBeforeCreate || emptyAfterImport);
  const previous = existing && existing.status.canUpdate && !recreate ? existing.parameters : undefined;
  // A stack that is busy or stuck cannot take an install: say so before any question.
  if (existing?.status.isInProgress) {
    throw new CliError(
      'INS008',
      `The stack ${stackName} is busy: ${existing.status.name}.`,
      `Wait for the running operation to end (sesmailengine status --stack-name ${stackName} shows it), then run install again.`,
    );
  }
  if (existing?.status.needsContinueRollback) {
    throw new CliError(
      'INS010',
      `The stack ${stackName} is stuck in ${existing.status.name}: a failed update could not roll back.`,
      `Fix the cause shown in the stack's events, then: aws cloudformation continue-update-rollback --stack-name ${stackName} --region ${region} — and run install again.`,
    );
  }

  // 4. The questions (or the flags).
  const answers: Answers = {
    stackName,
    region,
    ...(options.sender ? { sender: options.sender } : {}),
    ...(options.senderName !== undefined ? { senderName: options.senderName } : {}),
    ...(options.adminEmail ? { adminEmail: options.adminEmail } : {}),
    bucket: options.bucket ?? previous?.ArtifactBucket ?? defaultBucketName(stackName, account, region),
  };
  if (interactive) {
    const email = (label: string) => (v: string) => (emailProblem(v) ? `The ${label} ${emailProblem(v)}.` : undefined);
    if (!options.sender) {
      answers.sender = await ask(() =>
        prompter.text({
          message: 'Default sender address (a verified SES identity)',
          ...(previous?.DefaultSenderEmail ? { default: previous.DefaultSenderEmail } : {}),
          validate: email('sender address'),
        }),
      );
    }
    if (options.senderName === undefined) {
      answers.senderName = await ask(() =>
        prompter.text({ message: 'Default sender name (optional)', default: previous?.DefaultSenderName ?? '' }),
      );
    }
    if (!options.adminEmail) {
      answers.adminEmail = await ask(() =>
        prompter.text({
          message: 'Admin e-mail for alarms',
          default: previous?.AdminEmail ?? answers.sender ?? '',
          validate: email('admin e-mail'),
        }),
      );
    }
    if (!options.bucket) {
      answers.bucket = await ask(() =>
        prompter.text({ message: 'Bucket for code and templates (created if absent)', default: answers.bucket }),
      );
    }
  } else {
    const missing = missingForYes(answers, previous);
    if (missing.length > 0) {
      throw new CliError(
        'INS003',
        `--yes was given, so nothing is asked, but these values are missing: ${missing.join('; ')}.`,
        `Pass them as flags, for example: sesmailengine install --yes --stack-name ${stackName} --region ${region} --sender noreply@example.com --admin-email ops@example.com`,
      );
    }
  }
  step(`answers stack=${answers.stackName} region=${answers.region} sender=${answers.sender ?? '(previous)'} adminEmail=${answers.adminEmail ?? '(previous)'} bucket=${answers.bucket}`);

  // 5. Pre-flight checks.
  const sender = answers.sender ?? previous?.DefaultSenderEmail;
  if (sender) {
    step(`check sender identity ${sender}`);
    const check = await checkSenderIdentity(aws.ses, sender);
    if (check.verified) {
      ui.ok(`Sender ${sender} is verified in SES (${check.via === 'domain' ? `through the domain ${check.identity}` : 'address'}).`);
    } else {
      const advice = senderAdvice(check, sender, region);
      step(`sender not verified: ${check.problem}`);
      if (options.skipSenderCheck) {
        ui.warn(`${advice.message}\n  ${advice.fix.replace(/\n/g, '\n  ')}`);
      } else if (interactive) {
        ui.warn(`${advice.message}\n  ${advice.fix.replace(/\n/g, '\n  ')}`);
        const goOn = await ask(() => prompter.confirm('Install anyway (nothing is sent until the sender is verified)?', false));
        if (!goOn) throw new CliError('INS004', advice.message, advice.fix);
      } else {
        throw new CliError('INS004', advice.message, `${advice.fix}\nTo install before verification completes, add --skip-sender-check.`);
      }
    }
  }
  step('check SES account');
  const sesAccount = await readSesAccount(aws.ses);
  ui.ok(quotaLine(sesAccount));
  for (const warning of accountWarnings(sesAccount, region)) ui.warn(warning);

  step(`ensure bucket ${answers.bucket}`);
  const bucket = await ensureBucket(aws.s3, answers.bucket, region);
  ui.ok(bucket.created ? `Created bucket ${answers.bucket} (encrypted, private, versioned, TLS only).` : `Using bucket ${answers.bucket}.`);

  // An update is confirmed later, once its change set shows what it will do.
  const creating = !existing || recreate;
  if (interactive && creating) {
    const proceed = await ask(() => prompter.confirm(`Create stack ${stackName} in ${region} now?`, true));
    if (!proceed) throw new CliError('CLI000', 'Install cancelled; the bucket is kept, nothing else was changed.');
  }

  // 6. A stack left by a failed first install cannot be updated: delete it, then create.
  if (existing && recreate) {
    ui.warn(
      emptyAfterImport
        ? `The stack ${stackName} is in ${existing.status.name} and holds nothing (an earlier import rolled back): it is deleted and the install starts afresh.`
        : `The stack ${stackName} is in ${existing.status.name}${existing.status.reason ? ` (${existing.status.reason})` : ''}: it cannot be updated and must be deleted before installing again.`,
    );
    if (interactive) {
      const del = await ask(() => prompter.confirm(`Delete the failed stack ${stackName} now?`, true));
      if (!del) {
        throw new CliError('INS007', `The stack ${stackName} is in ${existing.status.name} and was not deleted.`, `Delete it (sesmailengine uninstall --stack-name ${stackName}) or install under another --stack-name.`);
      }
    } else {
      ui.info(`--yes: deleting the failed stack ${stackName} first.`);
    }
    step(`delete failed stack ${stackName}`);
    const token = `sesmailengine-delete-${randomUUID()}`;
    const progress = new StackProgress({ stackName, startTime: new Date(), clientRequestToken: token, total: await aws.cloudFormation.countResources(existing.stackId) });
    await aws.cloudFormation.delete(existing.stackId, token);
    const gone = await withTimer(timings, 'waitingMs', () =>
      followOperation(aws.cloudFormation, existing!.stackId, progress, stackName, { ui, log, verb: 'Deleting', ...followTiming }),
    );
    if (gone && gone.status.name !== 'DELETE_COMPLETE') {
      const next = reportFailure(ui, log, progress, gone.status.name, stackName, region, gone.status.reason);
      throw new CliError('INS007', `Deleting the failed stack ${stackName} ended in ${gone.status.name}.`, next);
    }
    existing = undefined;
  }

  // 6b. Before a create: the named resources it would make must not exist, except the data
  // an earlier install kept, which comes back through a resource import.
  const template: StackTemplate = await loadStackTemplate(root);
  let toImport: FoundResource[] = [];
  // Resources behind a false Condition (the webhook ones without a WebhookUrl) are not created.
  if (!existing) toImport = await checkNamedResources(template, evaluateConditions(template.document, parameterValues(template.document, extra)));

  // 7. Packages and uploads.
  step('build handlers');
  let artifacts: HandlerArtifact[];
  let templates: StarterTemplate[];
  try {
    [artifacts, templates] = await Promise.all([build, starters]);
  } catch (error) {
    throw new CliError('INS016', `Packaging the engine failed: ${(error as Error).message}`, 'Reinstall the package (npm install sesmailengine) or, in a clone, run npm ci && npm run build.', { cause: error });
  }
  for (const a of artifacts) step(`artifact ${a.name} ${a.key} ${a.zip.length} bytes`);
  step('upload artifacts');
  const uploads = await Promise.all(artifacts.map((a) => uploadHandlerArtifact(aws.s3, answers.bucket, a)));
  const starterUpload = await uploadStarterTemplates(aws.s3, answers.bucket, templates);
  const uploaded = uploads.filter((u) => u.uploaded).length;
  ui.ok(
    `Packaged ${artifacts.length} handlers (${uploaded} uploaded, ${artifacts.length - uploaded} unchanged) and ${templates.length} starter templates${starterUpload.uploaded ? '' : ' (unchanged)'}.`,
  );

  // 8. The stack.
  const templateSource = await templateLocation(template.body);
  const parameters = stackParameters(
    template.parameters,
    {
      ...(answers.sender ? { sender: answers.sender } : {}),
      ...(answers.senderName !== undefined ? { senderName: answers.senderName } : {}),
      ...(answers.adminEmail ? { adminEmail: answers.adminEmail } : {}),
      bucket: answers.bucket,
      extra,
    },
    {
      codeKeys: Object.fromEntries(artifacts.map((a) => [a.parameter, a.key])),
      starterTemplatesPrefix: starterUpload.prefix,
      engineVersion: VERSION,
    },
    existing?.parameters,
  );
  step(`parameters ${Object.entries(parameters).map(([k, v]) => `${k}=${'value' in v ? v.value : '(previous)'}`).join(' ')}`);
  const tags = { [VERSION_TAG]: VERSION };

  if (existing) return upgrade(existing);
  if (toImport.length > 0) return reinstall(toImport);

  const token = `sesmailengine-install-${randomUUID()}`;
  const startTime = new Date();
  step(`create stack ${stackName}`);
  const stackId = (await aws.cloudFormation.create({ stackName, ...templateSource, parameters, tags, clientRequestToken: token })).stackId;
  const progress = new StackProgress({ stackName, startTime, clientRequestToken: token, total: template.resourceCount });
  const final = await withTimer(timings, 'waitingMs', () =>
    followOperation(aws.cloudFormation, stackId, progress, stackName, { ui, log, verb: 'Creating', ...followTiming }),
  );
  if (!final || !final.status.isSuccess) throw operationFailed(final, progress, 'install');
  return finish(final);

  /** Checks the template's named resources against the account; returns the kept ones to import. */
  async function checkNamedResources(t: StackTemplate, conditions: Record<string, boolean>): Promise<FoundResource[]> {
    const named = namedResources(t.document, stackName, conditions);
    step(`look for existing named resources: ${named.map((r) => r.name).join(', ')}`);
    const probe = await findExisting(aws, named);
    for (const u of probe.unchecked) {
      ui.warn(`Could not check whether the ${describeResource(u.resource)} already exists (${u.error}); CloudFormation will say so if it does.`);
      step(`could not check ${u.resource.name}: ${u.error}`);
    }
    const plan = planLeftovers(t.document, probe.found);
    for (const f of probe.found) step(`exists: ${f.logicalId} ${f.name} ${JSON.stringify(f.existing.identifier)}`);
    if (plan.collisions.length > 0 || plan.incomplete.length > 0) {
      const lines = [
        ...plan.collisions.map((c) => `the ${describeResource(c.resource)}: ${c.why}`),
        ...plan.incomplete.map((c) => `the ${describeResource(c.resource)}: kept by an earlier install, but it cannot come back without ${c.missing.join(', ')}, which ${c.missing.length === 1 ? 'is' : 'are'} gone`),
      ];
      const commands = [...plan.collisions.map((c) => c.resource), ...plan.incomplete.map((c) => c.resource)].map((r) => `  ${deleteCommand(r, region!)}`);
      throw new CliError(
        'INS017',
        `The stack ${stackName} would create resources whose names are already taken:\n  ${lines.join('\n  ')}`,
        `Install under another --stack-name, or delete what is in the way (check first that nothing else uses it):\n${commands.join('\n')}`,
      );
    }
    if (plan.schemaMismatches.length > 0) {
      const lines = plan.schemaMismatches.map((m) => `the ${describeResource(m.resource)} has the key ${m.actual}; the engine needs ${m.expected}`);
      throw new CliError(
        'INS018',
        `Tables kept by an earlier install cannot be brought back into ${stackName}:\n  ${lines.join('\n  ')}`,
        `A table's key cannot change in place. Install under another --stack-name, or export what you need and delete the table:\n${plan.schemaMismatches.map((m) => `  ${deleteCommand(m.resource, region!)}`).join('\n')}`,
      );
    }
    if (plan.toImport.length > 0) {
      ui.info(`Found ${plan.toImport.length} resources kept by an earlier install of ${stackName}; they come back into the new stack with their data (CloudFormation resource import):`);
      for (const r of listOrder(plan.toImport)) ui.info(`  ${describeResource(r)}`);
    }
    return plan.toImport;
  }

  /**
   * Inline template text, or (too big for CloudFormation's inline limit) an S3 URL. The key
   * is named by the text's hash, so a template already in the bucket is not uploaded again.
   */
  async function templateLocation(body: string): Promise<{ templateBody: string } | { templateUrl: string }> {
    if (Buffer.byteLength(body) <= MAX_TEMPLATE_BODY_BYTES) return { templateBody: body };
    const key = `artifacts/template-${sha256(Buffer.from(body)).slice(0, 16)}.yaml`;
    if (!(await objectExists(aws.s3, answers.bucket!, key))) {
      await aws.s3.send(new PutObjectCommand({ Bucket: answers.bucket, Key: key, Body: body, ContentType: 'text/yaml' }));
    }
    return { templateUrl: `https://${answers.bucket}.s3.${region}.amazonaws.com/${key}` };
  }

  /**
   * Creates a change set and waits until CloudFormation has computed it. "No changes" comes
   * back as undefined, with the change set deleted; any other refusal is an error.
   */
  async function prepareChangeSet(
    type: ChangeSetType,
    source: { templateBody: string } | { templateUrl: string },
    resourcesToImport?: ResourceToImport[],
  ): Promise<ChangeSetDescription | undefined> {
    const what = type === 'IMPORT' ? 'resource import' : 'update';
    const code = type === 'IMPORT' ? 'INS021' : 'INS020';
    const changeSetName = `sesmailengine-${type.toLowerCase()}-${VERSION.replace(/[^A-Za-z0-9]/g, '-')}-${Date.now()}`;
    step(`create ${type} change set ${changeSetName}`);
    let created: { changeSetId: string };
    try {
      created = await aws.cloudFormation.createChangeSet({
        stackName,
        ...source,
        parameters,
        tags,
        clientRequestToken: `sesmailengine-changeset-${randomUUID()}`,
        changeSetName,
        changeSetType: type,
        ...(resourcesToImport ? { resourcesToImport } : {}),
      });
    } catch (error) {
      const e = error as Error;
      throw new CliError(code, `CloudFormation refused the ${what} of ${stackName}: ${e.message}`, changeSetFix(type), { cause: error });
    }
    const spinner = await ui.spinner(`Preparing the ${what} of ${stackName} (change set)`);
    let description: ChangeSetDescription;
    try {
      description = await withTimer(timings, 'waitingMs', () =>
        waitForChangeSet(aws.cloudFormation, created.changeSetId, stackName, followTiming),
      );
    } catch (error) {
      spinner.fail(`Preparing the ${what} of ${stackName}: ${(error as Error).message}`);
      throw error;
    }
    step(`change set ${description.status}${description.statusReason ? ` — ${description.statusReason}` : ''}; ${description.changes.length} changes`);
    if (description.status === 'CREATE_COMPLETE') {
      spinner.succeed(`Change set ready: ${summaryLine(summarizeChanges(description.changes))}.`);
      return description;
    }
    await discardChangeSet(created.changeSetId);
    if (isNoChangesReason(description.statusReason)) {
      spinner.succeed(`Change set: no changes.`);
      return undefined;
    }
    spinner.fail(`The change set failed: ${description.statusReason ?? description.status}`);
    throw new CliError(code, `CloudFormation could not prepare the ${what} of ${stackName}: ${description.statusReason ?? description.status}`, changeSetFix(type));
  }

  function changeSetFix(type: ChangeSetType): string {
    return type === 'IMPORT'
      ? `Nothing was changed: the kept resources are still there, with their data. Fix the cause above and run install again, or see docs/SETUP.md ("Reinstall"). The log is in ${log.path ?? INSTALL_LOG_FILE}.`
      : `Nothing was changed; the running stack is as it was. Fix the cause above and run install again. The log is in ${log.path ?? INSTALL_LOG_FILE}.`;
  }

  async function discardChangeSet(changeSetId: string): Promise<void> {
    step(`delete change set ${changeSetId}`);
    await aws.cloudFormation.deleteChangeSet(changeSetId, stackName).catch((error: unknown) => {
      step(`could not delete change set ${changeSetId}: ${(error as Error).message}`);
    });
  }

  /** Shows a change set; refuses data-losing replacements unless --allow-replacement. */
  async function reviewChanges(description: ChangeSetDescription): Promise<void> {
    const summary = summarizeChanges(description.changes);
    ui.info(`Changes to ${stackName} (${summaryLine(summary)}):`);
    for (const text of changeLines(summary)) ui.info(text);
    for (const c of description.changes) step(`change ${c.action} ${c.logicalId} ${c.type}${c.replacement ? ` replacement=${c.replacement}` : ''}`);
    const risky = dataReplacements(description.changes);
    const named = (c: { logicalId: string; type: string; physicalId?: string }) =>
      `${c.logicalId} (${c.type}${c.physicalId ? ` ${c.physicalId}` : ''})`;
    if (risky.length > 0 && !options.allowReplacement) {
      await discardChangeSet(description.changeSetId);
      throw new CliError(
        'INS019',
        `The upgrade would replace ${risky.map(named).join(', ')}: a new, empty resource would take ${risky.length === 1 ? 'its' : 'their'} place and the data (for a table: its items, such as the suppression list) would stay behind in the old one, outside the stack. Nothing was changed.`,
        'Keep the version you run, or, if you have copied what you need, run install again with --allow-replacement (the old resources are kept by their UpdateReplacePolicy; delete them yourself later).',
      );
    }
    for (const c of risky) ui.warn(`--allow-replacement: ${named(c)} will be replaced by a new, empty one; the old one is kept outside the stack.`);
    for (const c of dataRemovals(description.changes)) ui.warn(`${named(c)} leaves the stack; its DeletionPolicy decides whether its data is kept.`);
  }

  /**
   * An update that adds named resources (turning webhooks on adds a function, a rule and
   * alarms) fails halfway if one of those names is taken outside the stack. Stop before
   * executing anything and say what is in the way.
   */
  async function refuseTakenNames(description: ChangeSetDescription): Promise<void> {
    const added = new Set(description.changes.filter((c) => c.action === 'Add').map((c) => c.logicalId));
    const named = namedResources(template.document, stackName).filter((r) => added.has(r.logicalId));
    if (named.length === 0) return;
    step(`look for existing named resources the update adds: ${named.map((r) => r.name).join(', ')}`);
    const probe = await findExisting(aws, named);
    for (const u of probe.unchecked) step(`could not check ${u.resource.name}: ${u.error}`);
    if (probe.found.length === 0) return;
    await discardChangeSet(description.changeSetId);
    const taken = listOrder(probe.found);
    throw new CliError(
      'INS024',
      `The update of ${stackName} would create resources whose names are already taken:\n  ${taken.map((r) => describeResource(r)).join('\n  ')}\nThey exist outside the stack (made by hand or by another stack). Nothing was changed.`,
      `Delete them (check first that nothing else uses them), then run install again:\n${taken.map((r) => `  ${deleteCommand(r, region!)}`).join('\n')}\nOr install the engine under another --stack-name.`,
    );
  }

  /** Executes a change set and follows the stack until the operation ends. */
  async function executeChangeSet(
    description: ChangeSetDescription,
    verb: string,
    statusBefore: string,
  ): Promise<{ final: StackDescription | undefined; progress: StackProgress }> {
    const token = `sesmailengine-${verb.toLowerCase()}-${randomUUID()}`;
    const progress = new StackProgress({ stackName, startTime: new Date(), clientRequestToken: token, total: description.changes.length });
    step(`execute change set ${description.changeSetId}`);
    await aws.cloudFormation.executeChangeSet(description.changeSetId, stackName, token);
    const final = await withTimer(timings, 'waitingMs', () =>
      followOperation(aws.cloudFormation, description.stackId, progress, stackName, {
        ui,
        log,
        verb,
        statusesBefore: [statusBefore],
        ...followTiming,
      }),
    );
    return { final, progress };
  }

  /** An existing stack: change set, preview, (confirm,) execute, follow. */
  async function upgrade(running: StackDescription): Promise<number> {
    let stack = running;
    const before = engineVersionOf(stack);
    ui.info(`Upgrading ${stackName}: engine ${before} → ${VERSION}.`);
    const indexState = await suppressionIndex(stack);
    if (indexState !== 'current') stack = await dropLegacySuppressionIndex(stack, before, indexState);
    const description = await prepareChangeSet('UPDATE', templateSource);
    if (!description) {
      ui.ok(`Stack ${stackName} is up to date (no changes).`);
      step('no updates to perform');
      return finish(stack, before);
    }
    await refuseTakenNames(description);
    await reviewChanges(description);
    if (interactive) {
      const go = await ask(() => prompter.confirm(`Apply these changes to ${stackName} in ${region}?`, true));
      if (!go) {
        await discardChangeSet(description.changeSetId);
        throw new UserCancelled('Upgrade cancelled; the change set was deleted and the stack is unchanged.');
      }
    }
    const { final, progress } = await executeChangeSet(description, 'Updating', stack.status.name);
    if (!final || !final.status.isSuccess) throw operationFailed(final, progress, 'update', before);
    return finish(final, before);
  }

  function firstStepTemplate(): string {
    try {
      return templateWithoutSuppressionIndex(template.document);
    } catch (error) {
      throw new CliError('INS020', `The upgrade of ${stackName} cannot prepare its first step: ${(error as Error).message}`, changeSetFix('UPDATE'), { cause: error });
    }
  }

  /** Whether the stack's suppression-type-date-index still has the createdAt range key (or is gone, after step 1). */
  async function suppressionIndex(stack: StackDescription): Promise<SuppressionIndexState> {
    const table = stack.outputs.SuppressionTableName ?? `${stackName}-Suppression`;
    try {
      const described = await aws.dynamodb.send(new DescribeTableCommand({ TableName: table }));
      const state = suppressionIndexState(described?.Table);
      step(`${table} ${SUPPRESSION_INDEX}: ${state}`);
      return state;
    } catch (error) {
      step(`could not describe ${table}: ${(error as Error).message}`);
      return 'current';
    }
  }

  /**
   * Step 1 of 2 of an upgrade from the createdAt index (docs/MIGRATING.md): CloudFormation
   * cannot change an index's keys in place, so this update removes the index, the entries
   * get addedToSuppressionDate, and the ordinary update that follows adds the index back.
   */
  async function dropLegacySuppressionIndex(running: StackDescription, before: string, state: SuppressionIndexState): Promise<StackDescription> {
    let stack = running;
    const table = stack.outputs.SuppressionTableName ?? `${stackName}-Suppression`;
    if (state === 'legacy') ui.info(
      `${table} has ${SUPPRESSION_INDEX} on createdAt; this version keys it on addedToSuppressionDate (the original engine's name). CloudFormation cannot change an index in place, so the upgrade takes two updates: the first removes the index (no entry is touched), the second adds it back on the new key. Until then, suppression list cannot query it.`,
    );
    const first = state === 'legacy' ? await prepareChangeSet('UPDATE', await templateLocation(firstStepTemplate())) : undefined;
    if (first) {
      await refuseTakenNames(first);
      await reviewChanges(first);
      if (interactive) {
        const go = await ask(() => prompter.confirm(`Apply step 1 of 2 to ${stackName} in ${region}?`, true));
        if (!go) {
          await discardChangeSet(first.changeSetId);
          throw new UserCancelled('Upgrade cancelled; the change set was deleted and the stack is unchanged.');
        }
      }
      const { final, progress } = await executeChangeSet(first, 'Updating', stack.status.name);
      if (!final || !final.status.isSuccess) throw operationFailed(final, progress, 'update', before);
      stack = final;
      ui.ok(`Step 1 of 2 done: ${SUPPRESSION_INDEX} removed.`);
    }
    step(`backfill addedToSuppressionDate in ${table}`);
    try {
      const updated = await backfillAddedToSuppressionDate(aws.dynamodb, table);
      step(`${updated} entries got addedToSuppressionDate`);
      if (updated > 0) ui.ok(`${updated} earlier entries of ${table} got addedToSuppressionDate (from createdAt).`);
    } catch (error) {
      throw new CliError(
        'INS020',
        `The upgrade of ${stackName} stopped between its two steps: ${(error as Error).message}`,
        `The stack runs this version without ${SUPPRESSION_INDEX}. Run install again: it fills the missing dates and adds the index back.`,
        { cause: error },
      );
    }
    return stack;
  }

  /**
   * A stack name whose kept resources exist: an IMPORT change set brings them into a new
   * stack (the template holding only them), then an update adds everything else.
   */
  async function reinstall(found: FoundResource[]): Promise<number> {
    let body: string;
    try {
      body = importTemplateBody(template.document, found.map((r) => r.logicalId));
    } catch (error) {
      throw new CliError('INS021', `The kept resources cannot be imported: ${(error as Error).message}`, changeSetFix('IMPORT'), { cause: error });
    }
    const resourcesToImport: ResourceToImport[] = found.map((r) => ({ logicalId: r.logicalId, type: r.type, identifier: r.existing.identifier }));
    let imported: ChangeSetDescription | undefined;
    try {
      imported = await prepareChangeSet('IMPORT', await templateLocation(body), resourcesToImport);
      if (!imported) throw new CliError('INS021', `CloudFormation found nothing to import into ${stackName}.`, changeSetFix('IMPORT'));
    } catch (error) {
      await removeEmptyStack();
      throw error;
    }
    const first = await executeChangeSet(imported, 'Importing', 'REVIEW_IN_PROGRESS');
    if (!first.final || first.final.status.name !== 'IMPORT_COMPLETE') {
      const error = operationFailed(first.final, first.progress, 'import');
      await removeEmptyStack();
      throw error;
    }
    ui.ok(`Brought back ${found.length} resources with their data into ${stackName}.`);

    // A kept suppression table of an earlier version comes back with its createdAt index,
    // which the import does not change: remove it first, as an upgrade does.
    let broughtBack: StackDescription = first.final;
    const indexState = await suppressionIndex(broughtBack);
    if (indexState !== 'current') broughtBack = await dropLegacySuppressionIndex(broughtBack, engineVersionOf(broughtBack), indexState);

    const rest = await prepareChangeSet('UPDATE', templateSource);
    if (!rest) return finish(broughtBack);
    const summary = summarizeChanges(rest.changes);
    ui.info(`Adding the rest of the engine (${summaryLine(summary)}).`);
    const risky = dataReplacements(rest.changes);
    if (risky.length > 0) await reviewChanges(rest);
    const second = await executeChangeSet(rest, 'Creating', broughtBack.status.name);
    if (!second.final || !second.final.status.isSuccess) throw operationFailed(second.final, second.progress, 'reinstall');
    return finish(second.final);
  }

  /**
   * A refused or rolled-back import of a new stack leaves a stack holding nothing
   * (REVIEW_IN_PROGRESS, IMPORT_ROLLBACK_COMPLETE): delete it so the next install starts
   * clean. The kept resources are outside it and untouched.
   */
  async function removeEmptyStack(): Promise<void> {
    try {
      const left = await aws.cloudFormation.describe(stackName);
      if (!left || !['REVIEW_IN_PROGRESS', 'IMPORT_ROLLBACK_COMPLETE'].includes(left.status.name)) return;
      if ((await aws.cloudFormation.countResources(left.stackId)) > 0) return;
      step(`delete empty stack ${stackName} (${left.status.name})`);
      const token = `sesmailengine-delete-${randomUUID()}`;
      await aws.cloudFormation.delete(left.stackId, token);
      const progress = new StackProgress({ stackName, startTime: new Date(), clientRequestToken: token, total: 0 });
      await withTimer(timings, 'waitingMs', () =>
        followOperation(aws.cloudFormation, left.stackId, progress, stackName, { ui, log, verb: 'Deleting the empty stack', ...followTiming }),
      );
    } catch (error) {
      step(`could not delete the empty stack: ${(error as Error).message}`);
    }
  }

  /** The error for an operation that did not end well, after printing the failing resources. */
  function operationFailed(
    final: StackDescription | undefined,
    progress: StackProgress,
    operation: 'install' | 'update' | 'import' | 'reinstall',
    before?: string,
  ): CliError {
    const status = final?.status.name ?? 'DELETE_COMPLETE';
    const next = reportFailure(ui, log, progress, status, stackName, region!, final?.status.reason);
    const cause = progress.failures[0];
    const because = cause ? ` ${cause.logicalId} (${cause.type}) failed: ${cause.reason}` : final?.status.reason ? ` ${final.status.reason}` : '';
    const logLine = `The full event list is in ${log.path ?? INSTALL_LOG_FILE}.`;
    if (final?.status.needsContinueRollback) {
      return new CliError(
        'INS010',
        `The ${operation === 'import' ? 'resource import' : 'update'} of ${stackName} failed and its rollback failed too: the stack is stuck in ${status}.${because}`,
        `Fix the cause above, then continue the rollback:\n  aws cloudformation continue-update-rollback --stack-name ${stackName} --region ${region}\nand run install again. ${logLine}`,
      );
    }
    if (status === 'UPDATE_ROLLBACK_COMPLETE' && operation === 'update') {
      return new CliError(
        'INS009',
        `The update of ${stackName} failed and was rolled back (${status}): the previous version (engine ${before ?? 'unknown'}) keeps running.${because}`,
        `${next}\n${logLine}`,
      );
    }
    if (status === 'UPDATE_ROLLBACK_COMPLETE' && operation === 'reinstall') {
      return new CliError(
        'INS009',
        `${stackName} holds its kept data again, but adding the rest of the engine failed and was rolled back.${because}`,
        `Fix the cause above and run install again: it carries on as an upgrade of ${stackName}. ${logLine}`,
      );
    }
    if (operation === 'import') {
      return new CliError('INS021', `Bringing the kept resources back into ${stackName} ended in ${status}.${because}`, `${next}\n${changeSetFix('IMPORT')}`);
    }
    return new CliError('INS009', `The stack ${stackName} did not ${operation === 'install' ? 'install' : 'update'}: it ended in ${status}.${because}`, `${next}\n${logLine}`);
  }

  async function finish(stack: StackDescription, before?: string): Promise<number> {
    // 9. Starter templates into the bucket, through the stack's own seeder.
    step('invoke template seeder');
    try {
      const seeded = await invokeSeeder(aws.lambda, stackName);
      ui.ok(`Starter templates: ${seeded.installed.length} installed, ${seeded.updated.length} updated, ${seeded.skipped.length} skipped (customised or current).`);
      step(`seeded installed=${seeded.installed.join(',')} updated=${seeded.updated.join(',')} skipped=${seeded.skipped.join(',')}`);
    } catch (error) {
      ui.warn(`The Template Seeder failed: ${(error as Error).message}\n  Run it again with: sesmailengine seed-templates --stack-name ${stackName} --region ${region}`);
      step(`seeder failed: ${(error as Error).message}`);
    }
    printOutputs(ui, stack, region as string, options.profile);
    const after = engineVersionOf(stack);
    if (before !== undefined) ui.ok(before === after ? `Engine version ${after} (unchanged).` : `Engine version: ${before} → ${after}.`);
    step(`engine version before=${before ?? '(new)'} after=${after}`);
    const overhead = (Date.now() - timings.started - timings.waitingMs - timings.promptMs) / 1000;
    step(`done; time besides CloudFormation and prompts: ${overhead.toFixed(2)} s`);
    ui.info('');
    ui.ok(`SESMailEngine ${VERSION} is installed in ${region} as ${stackName}. Log: ${log.path ?? '(not written)'}`);
    return 0;
  }
}
