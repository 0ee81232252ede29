import { UsageError } from '../errors.js';
import { stackNameProblem } from '../shared-options.js';

/**
 * The flags every AWS command takes (--stack-name, --region, --profile), checked where
 * commander hands them over, before any AWS call: an empty or malformed value is a usage
 * error (CLI003, exit 2) instead of falling back to a default or reaching AWS.
 */

type Raw = Record<string, unknown>;

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
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const stackName = text(raw.stackName);
  const region = text(raw.region);
  const profile = text(raw.profile);
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
