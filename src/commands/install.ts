import { STSClient } from '@aws-sdk/client-sts';
import { join } from 'node:path';
import { clientConfig } from '../aws/clients.js';
import { checkCredentials, configuredRegion, resolveCredentials, type Identity } from '../aws-account.js';
import type { StackDescription } from '../aws/cloudformation.js';
import { CliError } from '../errors.js';
import { INSTALL_LOG_FILE, openRunLog, type RunLog } from '../install-log.js';
import { checkNamedResources, deleteFailedStack } from '../installer/before-create.js';
import { StackDeployer, templateLocation } from '../installer/deployer.js';
import { startPackaging, uploadEngine } from '../installer/engine-upload.js';
import { finishInstall } from '../installer/finish.js';
import {
  answersFromFlags,
  answersLine,
  extraParameters,
  installParameters,
  parametersLine,
  refuseBusyStack,
  regionAnswerProblem,
  requireForYes,
  requireRegion,
  senderToCheck,
  stackSituation,
  type Answers,
  type InstallFlags,
} from '../installer/install-plan.js';
import { InstallSession, InstallTimer, installClients, logStep, type InstallClients } from '../installer/install-session.js';
import { runPreflight } from '../installer/preflight.js';
import { loadStackTemplate } from '../installer/stack-template.js';
import { evaluateConditions, parameterValues } from '../installer/template-document.js';
import { packageRoot } from '../package-root.js';
import type { HandlerArtifact } from '../packaging/build.js';
import { createPrompter, type Prompter } from '../prompts.js';
import { createUi, processIo, type Io, type Ui } from '../ui.js';
import { VERSION } from '../version.js';
import { DEFAULT_STACK_NAME, emailProblem, stackNameProblem, type CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine install`: from zero (or an older version) to a working stack. This file
 * reads the flags and asks the questions; the plan (src/installer/install-plan.ts) decides,
 * the deployer (src/installer/deployer.ts) runs the stack operation and finish.ts ends it.
 */

export type { InstallClients };
export { engineVersionOf, firstSendCommand, VERSION_TAG } from '../installer/finish.js';

export interface InstallOptions extends CommonOptions, InstallFlags {
  /** No questions: every required value must come from a flag or the existing stack. */
  yes?: boolean;
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

/** One run of the command: its options, where it writes, and how it asks. */
interface Run {
  options: InstallOptions;
  log: RunLog;
  io: Io;
  ui: Ui;
  prompter: Prompter;
  interactive: boolean;
  timer: InstallTimer;
}

async function runInstall(options: InstallOptions, log: RunLog): Promise<number> {
  const io = options.io ?? processIo();
  const run: Run = { options, log, io, ui: createUi(io), prompter: options.prompter ?? createPrompter(), interactive: !options.yes, timer: new InstallTimer() };
  const extra = readFlags(options);
  const root = options.root ?? packageRoot();
  const pending = startPackaging(root, options.buildArtifacts);

  const { stackName, region, aws, account } = await connect(run);
  logStep(log, `describe stack ${stackName}`);
  const existing = await aws.cloudFormation.describe(stackName);
  if (existing) logStep(log, `stack ${stackName} exists: ${existing.status}`);
  // A first install whose import rolled back leaves a stack holding nothing: start afresh.
  const emptyAfterImport =
    existing?.status.name === 'IMPORT_ROLLBACK_COMPLETE' && (await aws.cloudFormation.countResources(existing.stackId)) === 0;
  const { recreate, previous, creating } = stackSituation(existing, emptyAfterImport);
  refuseBusyStack(existing, stackName, region);
  const answers = await ask(run, answersFromFlags(options, { stackName, region, account }, previous), previous);
  logStep(log, answersLine(answers));

  const session = new InstallSession({
    aws,
    ui: run.ui,
    log,
    stackName,
    region,
    timer: run.timer,
    confirm: run.interactive ? (message, defaultValue) => run.prompter.confirm(message, defaultValue) : undefined,
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  await runPreflight(session, answers.bucket, senderToCheck(answers, previous), Boolean(options.skipSenderCheck));
  // An update is confirmed later, once its change set shows what it will do.
  if (session.confirm && creating && !(await session.confirm(`Create stack ${stackName} in ${region} now?`, true))) {
    throw new CliError('CLI000', 'Install cancelled; the bucket is kept, nothing else was changed.');
  }
  let running: StackDescription | undefined = existing;
  if (existing && recreate) {
    await deleteFailedStack(session, existing, emptyAfterImport);
    running = undefined;
  }
  const template = await loadStackTemplate(root);
  // Before a create: resources behind a false Condition (the webhook ones without a WebhookUrl) are not created.
  const toImport = running ? [] : await checkNamedResources(session, template, evaluateConditions(template.document, parameterValues(template.document, extra)));
  const uploaded = await uploadEngine(session, answers.bucket, pending);
  const templateSource = await templateLocation(aws.s3, answers.bucket, region, template.body);
  const parameters = installParameters(template.parameters, answers, extra, uploaded, VERSION, running?.parameters);
  session.step(parametersLine(parameters));
  const deployer = new StackDeployer({ session, template, templateSource, parameters, bucket: answers.bucket, allowReplacement: Boolean(options.allowReplacement) });
  const { stack, before } = await deployer.deploy(running, toImport);
  return finishInstall(session, stack, before, options.profile);
}

/** Checks what the flags say before anything else happens; returns the extra stack parameters. */
function readFlags(options: InstallOptions): Record<string, string> {
  if (options.stackName) {
    const problem = stackNameProblem(options.stackName);
    if (problem) throw new CliError('INS003', `The stack name "${options.stackName}" ${problem}.`, 'Pass a valid name with --stack-name <name>.');
  }
  checkAddress('sender address', '--sender', options.sender);
  checkAddress('admin e-mail', '--admin-email', options.adminEmail);
  return extraParameters(options);
}

function checkAddress(label: string, flag: string, value: string | undefined): void {
  if (value === undefined) return;
  const problem = emailProblem(value);
  if (problem) throw new CliError('INS003', `The ${label} "${value}" ${problem}.`, `Pass a valid address with ${flag} <address>.`);
}

/** The clients of one region, with the credentials checked. */
async function connectTo(run: Run, region: string): Promise<{ aws: InstallClients; identity: Identity }> {
  const { options, log } = run;
  const aws = installClients({ region, ...(options.profile ? { profile: options.profile } : {}) }, log, options.clients, options.debug ? run.io.stderr : undefined);
  const identity = await checkCredentials(aws.sts, options.profile);
  logStep(log, `credentials ok: account ${identity.account} (${identity.arn}) region ${region}`);
  return { aws, identity };
}

/** Credentials before any question, then the stack name and the region (asked unless given). */
async function connect(run: Run): Promise<{ stackName: string; region: string; aws: InstallClients; account: string }> {
  const { options, ui, prompter, interactive, timer } = run;
  logStep(run.log, 'credentials');
  const probe = options.clients?.sts ?? new STSClient(clientConfig({ ...(options.profile ? { profile: options.profile } : {}) }));
  let region = options.region ?? (await configuredRegion(probe));
  let connected: { aws: InstallClients; identity: Identity } | undefined;
  if (region) connected = await connectTo(run, region);
  else await resolveCredentials(probe, options.profile);
  if (connected) ui.ok(`AWS account ${connected.identity.account} (${connected.identity.arn})`);

  let stackName = options.stackName ?? DEFAULT_STACK_NAME;
  if (interactive && !options.stackName) {
    stackName = await timer.prompting(() =>
      prompter.text({ message: 'Stack name', default: DEFAULT_STACK_NAME, validate: (v) => stackNameProblem(v) && `The stack name ${stackNameProblem(v)}.` }),
    );
  }
  if (interactive && !options.region) {
    const chosen = await timer.prompting(() =>
      prompter.text({ message: 'AWS region', ...(region ? { default: region } : {}), validate: regionAnswerProblem }),
    );
    if (chosen !== region || !connected) {
      region = chosen;
      connected = await connectTo(run, region);
      ui.ok(`AWS account ${connected.identity.account} (${connected.identity.arn})`);
    }
  }
  const where = requireRegion(region);
  connected ??= await connectTo(run, where);
  return { stackName, region: where, aws: connected.aws, account: connected.identity.account };
}

/** The questions (or, under --yes, the check that the flags and the running stack answer them). */
async function ask(run: Run, answers: Answers, previous: Record<string, string> | undefined): Promise<Answers> {
  const { options, prompter, timer } = run;
  if (!run.interactive) {
    requireForYes(answers, previous);
    return answers;
  }
  const question = (q: Parameters<Prompter['text']>[0]) => timer.prompting(() => prompter.text(q));
  const email = (label: string) => (v: string) => (emailProblem(v) ? `The ${label} ${emailProblem(v)}.` : undefined);
  if (!options.sender) {
    answers.sender = await question({
      message: 'Default sender address (a verified SES identity)',
      ...(previous?.DefaultSenderEmail ? { default: previous.DefaultSenderEmail } : {}),
      validate: email('sender address'),
    });
  }
  if (options.senderName === undefined) {
    answers.senderName = await question({ message: 'Default sender name (optional)', default: previous?.DefaultSenderName ?? '' });
  }
  if (!options.adminEmail) {
    answers.adminEmail = await question({ message: 'Admin e-mail for alarms', default: previous?.AdminEmail ?? answers.sender ?? '', validate: email('admin e-mail') });
  }
  if (!options.bucket) {
    answers.bucket = await question({ message: 'Bucket for code and templates (created if absent)', default: answers.bucket });
  }
  return answers;
}
