import type { ParameterValue, StackDescription } from '../aws/cloudformation.js';
import { noRegionError } from '../aws-account.js';
import { CliError } from '../errors.js';
import { defaultBucketName } from './bucket.js';
import { chooseInterruptedSend, parseParameterFlags, stackParameters } from './stack-template.js';
import { chooseWebhookEvents, chooseWebhookUrl } from './webhook-url.js';

/**
 * The decisions of an install as plain functions over plain data: what the flags say, what
 * the existing stack allows, the answers with their defaults, and the stack's Parameters.
 * No AWS, no prompts; tested in tests/unit/installer/install-plan.test.ts.
 */

/** The flags the plan reads (the rest of the install options are wiring). */
/** Install's own flags (the command's options extend them). */
export interface InstallFlags {
  sender?: string;
  senderName?: string;
  adminEmail?: string;
  bucket?: string;
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
}

export interface Answers {
  stackName: string;
  region: string;
  sender?: string;
  senderName?: string;
  adminEmail?: string;
  bucket: string;
}

/** What is there already under the stack name, and what the install does about it. */
export interface StackSituation {
  /** The stack cannot be updated (a failed first install): it is deleted, then created afresh. */
  recreate: boolean;
  /** The parameters of a stack the install updates: the defaults of the questions. */
  previous?: Record<string, string>;
  /** No stack to update: the install creates one (and asks before it does). */
  creating: boolean;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * The extra stack parameters: the `--parameter` pairs with the webhook and interrupted-send
 * flags folded in (a flag and a pair that disagree are refused).
 */
export function extraParameters(flags: InstallFlags): Record<string, string> {
  const extra = parseParameterFlags(flags.parameter);
  const webhookUrl = chooseWebhookUrl(flags.webhookUrl, extra.WebhookUrl, { allowPrivate: Boolean(flags.allowPrivateWebhook) });
  if (webhookUrl !== undefined) extra.WebhookUrl = webhookUrl;
  const webhookEvents = chooseWebhookEvents(flags.webhookEvents, extra.WebhookEvents);
  if (webhookEvents !== undefined) extra.WebhookEvents = webhookEvents;
  const interruptedSend = chooseInterruptedSend(flags.interruptedSend, extra.InterruptedSendPolicy);
  if (interruptedSend !== undefined) extra.InterruptedSendPolicy = interruptedSend;
  return extra;
}

/** The region prompt's validation message (undefined when it reads as a region code). */
export function regionAnswerProblem(region: string): string | undefined {
  return REGION.test(region) ? undefined : 'Give a region code such as eu-west-1.';
}

/** The region, or the error that says how to give one. */
export function requireRegion(region: string | undefined): string {
  if (region) return region;
  throw noRegionError();
}

/** `emptyAfterImport`: the stack is IMPORT_ROLLBACK_COMPLETE and holds no resource. */
export function stackSituation(existing: StackDescription | undefined, emptyAfterImport: boolean): StackSituation {
  const recreate = Boolean(existing?.status.mustDeleteBeforeCreate || emptyAfterImport);
  const previous = existing && existing.status.canUpdate && !recreate ? existing.parameters : undefined;
  return { recreate, ...(previous ? { previous } : {}), creating: !existing || recreate };
}

/** A stack that is busy or stuck cannot take an install: say so before any question. */
export function refuseBusyStack(existing: StackDescription | undefined, stackName: string, region: string): void {
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
}

/** The answers the flags give; the bucket defaults to the earlier install's, else the account's default name. */
export function answersFromFlags(
  flags: InstallFlags,
  where: { stackName: string; region: string; account: string },
  previous: Record<string, string> | undefined,
): Answers {
  const { stackName, region, account } = where;
  return {
    stackName,
    region,
    ...(flags.sender ? { sender: flags.sender } : {}),
    ...(flags.senderName !== undefined ? { senderName: flags.senderName } : {}),
    ...(flags.adminEmail ? { adminEmail: flags.adminEmail } : {}),
    bucket: flags.bucket ?? previous?.ArtifactBucket ?? defaultBucketName(stackName, account, region),
  };
}

/** What `--yes` needs but neither a flag nor the existing stack gives. */
export function missingForYes(answers: Omit<Answers, 'bucket'>, previous: Record<string, string> | undefined): string[] {
  const missing: string[] = [];
  if (!answers.sender && !previous?.DefaultSenderEmail) missing.push('the default sender address (--sender <address>)');
  if (!answers.adminEmail && !previous?.AdminEmail) missing.push('the admin e-mail for alarms (--admin-email <address>)');
  return missing;
}

/** Under `--yes`, nothing is asked: every required value must be there. */
export function requireForYes(answers: Answers, previous: Record<string, string> | undefined): void {
  const missing = missingForYes(answers, previous);
  if (missing.length === 0) return;
  throw new CliError(
    'INS003',
    `--yes was given, so nothing is asked, but these values are missing: ${missing.join('; ')}.`,
    `Pass them as flags, for example: sesmailengine install --yes --stack-name ${answers.stackName} --region ${answers.region} --sender noreply@example.com --admin-email ops@example.com`,
  );
}

/** The sender the pre-flight checks: the answer, else the running stack's. */
export function senderToCheck(answers: Answers, previous: Record<string, string> | undefined): string | undefined {
  return answers.sender ?? previous?.DefaultSenderEmail;
}

export function answersLine(answers: Answers): string {
  return `answers stack=${answers.stackName} region=${answers.region} sender=${answers.sender ?? '(previous)'} adminEmail=${answers.adminEmail ?? '(previous)'} bucket=${answers.bucket}`;
}

/** What packaging and uploading produced, for the Parameters. */
export interface Uploaded {
  /** The code key parameter of each handler (e.g. EmailSenderCodeKey) → its S3 key. */
  codeKeys: Record<string, string>;
  starterTemplatesPrefix: string;
}

/** The stack's Parameters: the answers, the extra parameters and the uploads; UsePreviousValue for the rest the stack has. */
export function installParameters(
  templateParameters: string[],
  answers: Answers,
  extra: Record<string, string>,
  uploaded: Uploaded,
  engineVersion: string,
  existingParameters: Record<string, string> | undefined,
): Record<string, ParameterValue> {
  return stackParameters(
    templateParameters,
    {
      ...(answers.sender ? { sender: answers.sender } : {}),
      ...(answers.senderName !== undefined ? { senderName: answers.senderName } : {}),
      ...(answers.adminEmail ? { adminEmail: answers.adminEmail } : {}),
      bucket: answers.bucket,
      extra,
    },
    { codeKeys: uploaded.codeKeys, starterTemplatesPrefix: uploaded.starterTemplatesPrefix, engineVersion },
    existingParameters,
  );
}

export function parametersLine(parameters: Record<string, ParameterValue>): string {
  return `parameters ${Object.entries(parameters).map(([k, v]) => `${k}=${'value' in v ? v.value : '(previous)'}`).join(' ')}`;
}
