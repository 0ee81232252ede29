import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { stackNameProblem } from '../shared-options.js';

/**
 * What the command wiring (installer-commands.ts, ops-commands.ts) shares: the flags every
 * AWS command takes (--stack-name, --region, --profile, --debug; the operating commands also
 * --local and --json), and their checks where commander hands them over, before any AWS
 * call: an empty or malformed value is a usage error (CLI003, exit 2) instead of falling
 * back to a default or reaching AWS. Bundled into the CLI's entry with the wiring
 * (scripts/bundle-cli.mjs), so `--help` reads no more files.
 */

export type Raw = Record<string, unknown>;

/** AWS region names: us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1, ap-southeast-5. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export function checkStackName(value: string, flag = '--stack-name'): string {
  const problem = stackNameProblem(value);
  if (problem) throw new UsageError('CLI003', `${flag} "${value}" ${problem}.`, `Pass a stack name such as ${flag} sesmailengine (the default when the flag is left out).`);
  return value;
}

export function checkRegion(value: string): string {
  if (!REGION.test(value)) {
    throw new UsageError('CLI003', `--region "${value}" is not an AWS region name.`, 'Pass a region such as --region eu-west-1, or leave the flag out to use AWS_REGION or the profile\'s region.');
  }
  return value;
}

export function checkProfile(value: string): string {
  if (value.trim() === '' || /\s/.test(value)) {
    throw new UsageError('CLI003', `--profile "${value}" is not a profile name.`, 'Pass a profile from ~/.aws/config (aws configure list-profiles), or leave the flag out to use AWS_PROFILE or the default chain.');
  }
  return value;
}

/** --stack-name, --region and --profile from commander's values, each checked when given (even as ''). */
export function commonFlagValues(raw: Raw): { stackName?: string; region?: string; profile?: string } {
  const stackName = str(raw.stackName);
  const region = str(raw.region);
  const profile = str(raw.profile);
  return {
    ...(stackName !== undefined ? { stackName: checkStackName(stackName) } : {}),
    ...(region !== undefined ? { region: checkRegion(region) } : {}),
    ...(profile !== undefined ? { profile: checkProfile(profile) } : {}),
  };
}

/** A positional argument that must hold something (an emailId, an address, a name). */
export function nonEmptyArgument(value: string, what: string, example: string): string {
  if (value.trim() === '') throw new UsageError('CLI003', `The ${what} is empty.`, `Pass one, e.g. ${example}.`);
  return value;
}

/** A flag's value when commander gave a string. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The string-valued flags among `keys`, each only when given (even as ''). */
export function givenStrings<K extends string>(raw: Raw, keys: readonly K[]): Partial<Record<K, string>> {
  const given: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = str(raw[key]);
    if (value !== undefined) given[key] = value;
  }
  return given;
}

/** For a repeatable option: each use adds one value. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** How errors of an action are shown: its --debug (or the program's) and its --json. */
export function runFlags(program: Command, raw: Raw): { debug: boolean; json: boolean } {
  return { debug: Boolean(raw.debug) || Boolean(program.opts().debug), json: Boolean(raw.json) };
}

/**
 * --stack-name, --region, --profile and --debug; an operating command also takes --local
 * and (unless `json: false`) --json.
 */
export function commonOptions(command: Command, { local = false, json = local }: { local?: boolean; json?: boolean } = {}): Command {
  command
    .option('--stack-name <name>', 'CloudFormation stack name (default: sesmailengine)')
    .option('--region <region>', "AWS region (default: AWS_REGION or the profile's region)")
    .option('--profile <name>', 'AWS profile from ~/.aws/config (default: AWS_PROFILE or the default chain)');
  if (local) command.option('--local [source]', 'use a running `sesmailengine local` instead of AWS: its URL (default http://127.0.0.1:4010), its --json line, or @file');
  if (json) command.option('--json', 'print one JSON object');
  return command.option('--debug', 'on errors, also print the stack trace and the AWS error behind it (HTTP status, request id)');
}

/** The values of commonOptions, checked: --stack-name, --region, --profile, --debug, and --local, --json when given. */
export function commonValues(raw: Raw): { stackName?: string; region?: string; profile?: string; local?: string | true; json: boolean; debug: boolean } {
  const local = raw.local;
  return {
    ...commonFlagValues(raw),
    ...(local === true || typeof local === 'string' ? { local } : {}),
    json: Boolean(raw.json),
    debug: Boolean(raw.debug),
  };
}
