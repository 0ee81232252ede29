import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParameterValue } from '../aws/cloudformation.js';
import { CliError } from '../errors.js';
import { parseTemplateDocument, type TemplateDocument } from './template-document.js';

/**
 * The stack template as the installer needs it: its text, its parameter names and its
 * resource count (the total of the progress counter), and the parameter values an install
 * sends — pure functions, tested without AWS.
 */

export const TEMPLATE_FILE = join('cloudformation', 'template.yaml');
/** CloudFormation accepts an inline TemplateBody up to this size; larger ones go through S3. */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;

export interface StackTemplate {
  body: string;
  parameters: string[];
  resourceCount: number;
  /** The template as data, intrinsics in their long form. */
  document: TemplateDocument;
}

export async function loadStackTemplate(root: string): Promise<StackTemplate> {
  const body = await readFile(join(root, TEMPLATE_FILE), 'utf8');
  return parseStackTemplate(body);
}

export async function parseStackTemplate(body: string): Promise<StackTemplate> {
  const document = parseTemplateDocument(body);
  return {
    body,
    parameters: Object.keys(document.Parameters ?? {}),
    resourceCount: Object.keys(document.Resources).length,
    document,
  };
}

/** What the person chose (prompts or flags); undefined = not given this time. */
export interface InstallChoices {
  sender?: string;
  senderName?: string;
  adminEmail?: string;
  bucket: string;
  /** Extra `--parameter Key=Value` pairs for the tuning parameters. */
  extra?: Record<string, string>;
}

export interface Artifacts {
  codeKeys: Record<string, string>;
  starterTemplatesPrefix: string;
  /** The package version, for the EngineVersion parameter (sent only if the template has it). */
  engineVersion?: string;
}

/**
 * The Parameters of a CreateStack/UpdateStack call. Values the person gave and the
 * artifact keys are always sent. On an update, every other parameter the running stack
 * already has keeps its value (UsePreviousValue), so settings chosen at an earlier install
 * survive an upgrade; a parameter new in this template takes its default.
 */
export function stackParameters(
  templateParameters: string[],
  choices: InstallChoices,
  artifacts: Artifacts,
  previous?: Record<string, string>,
): Record<string, ParameterValue> {
  const given: Record<string, string | undefined> = {
    DefaultSenderEmail: choices.sender,
    DefaultSenderName: choices.senderName,
    AdminEmail: choices.adminEmail,
    ArtifactBucket: choices.bucket,
    StarterTemplatesPrefix: artifacts.starterTemplatesPrefix,
    EngineVersion: artifacts.engineVersion,
    ...artifacts.codeKeys,
    ...choices.extra,
  };
  const known = new Set(templateParameters);
  const unknown = Object.keys(choices.extra ?? {}).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new CliError('INS003', `The stack template has no parameter ${unknown.join(', ')}.`, `Known parameters: ${templateParameters.join(', ')}.`);
  }

  const out: Record<string, ParameterValue> = {};
  for (const name of templateParameters) {
    const value = given[name];
    if (value !== undefined) out[name] = { value };
    else if (previous && name in previous) out[name] = { usePrevious: true };
  }
  return out;
}

/**
 * The InterruptedSendPolicy parameter from `--interrupted-send` and/or `--parameter
 * InterruptedSendPolicy=…`: `resend` or `fail`, undefined to keep what the stack has.
 */
export function chooseInterruptedSend(flag: string | undefined, parameter: string | undefined): 'resend' | 'fail' | undefined {
  if (flag !== undefined && parameter !== undefined && flag !== parameter) {
    throw new CliError(
      'INS003',
      `The interrupted-send policy is given twice with different values: --interrupted-send "${flag}" and --parameter InterruptedSendPolicy="${parameter}".`,
      'Give it once, with --interrupted-send resend or --interrupted-send fail.',
    );
  }
  const value = flag ?? parameter;
  if (value === undefined) return undefined;
  if (value !== 'resend' && value !== 'fail') {
    throw new CliError('INS003', `--interrupted-send must be "resend" or "fail", got "${value}".`, 'resend (the default) sends an interrupted email once more when SES never reported it; fail marks it DUP001.');
  }
  return value;
}

/** Parses repeated `--parameter Key=Value` flags. */
export function parseParameterFlags(pairs: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError('INS003', `--parameter takes Key=Value, got "${pair}".`, 'Write it as --parameter BounceRateThreshold=3');
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return out;
}
