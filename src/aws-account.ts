import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CliError } from './errors.js';
import { awsErrorInfo, clientConfig, type AwsTarget, type ClientConfig } from './aws/clients.js';

/**
 * Reaching your AWS account, the same for every command that works on AWS (install,
 * uninstall, status, seed-templates and the operating commands): a region, credentials that
 * work, and the stack. Each failure has one code wherever it happens: AWS001 no credentials,
 * AWS002 credentials refused (or AWS unreachable), AWS003 no region, AWS004 no such stack.
 * INS001, INS002, INS011 and INS012 are their aliases (src/error-registry.ts).
 */

export interface Identity {
  account: string;
  arn: string;
}

const CONFIGURE_CREDENTIALS = [
  'Configure AWS credentials, then run this again:',
  '  aws configure                          # an access key and secret',
  '  aws configure sso && aws sso login     # IAM Identity Center (SSO)',
  'or pick a configured profile with --profile <name> (or AWS_PROFILE=<name>).',
  'Check them with: aws sts get-caller-identity',
].join('\n');

const REJECTED = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
  'AccessDenied',
  'TokenRefreshRequired',
]);

/** AWS003: no region from --region, AWS_REGION or the profile. */
export function noRegionError(cause?: unknown): CliError {
  return new CliError(
    'AWS003',
    'No AWS region is configured.',
    'Pass --region <region> (for example --region eu-west-1), set AWS_REGION, or add a region to your profile: aws configure set region <region>',
    cause === undefined ? undefined : { cause },
  );
}

/** The profile names of the shared config and credentials files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/…). */
export function configuredProfiles(env: NodeJS.ProcessEnv = process.env): Set<string> {
  const home = env.HOME || env.USERPROFILE || homedir();
  const files = [env.AWS_CONFIG_FILE || join(home, '.aws', 'config'), env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials')];
  const names = new Set<string>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const match of text.matchAll(/^\s*\[\s*(?:profile\s+)?([^\]\s]+)\s*\]/gm)) names.add(match[1]!);
  }
  return names;
}

/** Turns a failure to get credentials or to use them into the error the user sees first. */
export function credentialsError(error: unknown, profile?: string, profiles: () => Set<string> = configuredProfiles): CliError {
  const info = awsErrorInfo(error);
  const where = profile ? ` for profile "${profile}"` : '';
  if (/region is missing/i.test(info.message)) return noRegionError(error);
  if (
    info.name === 'CredentialsProviderError' ||
    (!REJECTED.has(info.name) && /could not load credentials|could not be found|credentials/i.test(info.message))
  ) {
    // --profile, else AWS_PROFILE: the SDK reads that one.
    const named = profile || process.env.AWS_PROFILE;
    if (named && !profiles().has(named)) {
      return new CliError(
        'AWS001',
        `There is no AWS profile "${named}"${profile ? '' : ' (AWS_PROFILE)'}: it is in neither ~/.aws/config nor ~/.aws/credentials (${info.message}).`,
        `Check its name with: aws configure list-profiles\nor create it: aws configure --profile ${named} (access keys) or aws configure sso --profile ${named} (IAM Identity Center)`,
        { cause: error },
      );
    }
    const sso = /sso|token/i.test(info.message) ? `\nIf the profile uses SSO, refresh it: aws sso login${profile ? ` --profile ${profile}` : ''}` : '';
    return new CliError('AWS001', `No usable AWS credentials were found${where}: ${info.message}`, CONFIGURE_CREDENTIALS + sso, {
      cause: error,
    });
  }
  if (REJECTED.has(info.name) || info.status === 403) {
    return new CliError(
      'AWS002',
      `AWS rejected the credentials${where} (${info.name}): ${info.message}`,
      `Refresh or replace them: aws sso login${profile ? ` --profile ${profile}` : ''} for SSO profiles, or aws configure for access keys. Check with: aws sts get-caller-identity${profile ? ` --profile ${profile}` : ''}`,
      { cause: error },
    );
  }
  return new CliError(
    'AWS002',
    `Could not check the AWS credentials${where} (${info.name}): ${info.message}`,
    'Check your network connection and AWS_ENDPOINT_URL settings, then run: aws sts get-caller-identity',
    { cause: error },
  );
}

/** AWS004: no stack of that name in that region; `fix` says what this command can do instead. */
export function stackNotFound(where: { stackName: string; region: string; account?: string }, fix: string): CliError {
  const account = where.account ? ` (account ${where.account})` : '';
  return new CliError('AWS004', `There is no stack named ${where.stackName} in ${where.region}${account}.`, fix);
}

/** Resolves credentials without calling AWS (works before a region is known). */
export async function resolveCredentials(sts: STSClient, profile?: string): Promise<void> {
  try {
    const credentials = await sts.config.credentials();
    if (!credentials?.accessKeyId) throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
  } catch (error) {
    throw credentialsError(error, profile);
  }
}

/** STS GetCallerIdentity: the account and principal the credentials belong to. */
export async function checkCredentials(sts: STSClient, profile?: string): Promise<Identity> {
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    return { account: out.Account ?? '', arn: out.Arn ?? '' };
  } catch (error) {
    throw credentialsError(error, profile);
  }
}

/** The region the SDK will use (flag, AWS_REGION or the profile), or undefined if none is set. */
export async function configuredRegion(client: { config: { region: () => Promise<string> } }): Promise<string | undefined> {
  try {
    const region = await client.config.region();
    return region || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The region a command works in: --region, else the SDK's (AWS_REGION or the profile).
 * Without one, missing credentials are reported first, as install does.
 */
export async function requireRegion(options: { region?: string; profile?: string }, probe?: STSClient): Promise<string> {
  if (options.region) return options.region;
  const client = probe ?? new STSClient(clientConfig(options.profile ? { profile: options.profile } : {}));
  const region = await configuredRegion(client);
  if (region) return region;
  await resolveCredentials(client, options.profile);
  throw noRegionError();
}

export interface AccountConnection {
  region: string;
  /** --region (resolved) and --profile, for building clients. */
  target: AwsTarget;
  config: ClientConfig;
  sts: STSClient;
  identity: Identity;
}

/** A command's opening on AWS: the region, then credentials checked against STS (AWS001–AWS003). */
export async function connectAccount(options: { region?: string; profile?: string }, sts?: STSClient): Promise<AccountConnection> {
  const region = await requireRegion(options, sts);
  const target: AwsTarget = { region, ...(options.profile ? { profile: options.profile } : {}) };
  const config = clientConfig(target);
  const client = sts ?? new STSClient(config);
  const identity = await checkCredentials(client, options.profile);
  return { region, target, config, sts: client, identity };
}
