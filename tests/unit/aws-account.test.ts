import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredProfiles, credentialsError, noRegionError, stackNotFound } from '../../src/aws-account.js';
import { ERROR_ALIASES, lookupError } from '../../src/error-registry.js';

/** Reaching the AWS account: one code per failure, whichever command meets it (AWS001–AWS004). */

const err = (name: string, message: string, status?: number) =>
  Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

describe('credentialsError', () => {
  it('calls a provider failure missing credentials (AWS001) with the commands to configure them', () => {
    const e = credentialsError(err('CredentialsProviderError', 'Could not load credentials from any providers'));
    expect(e.code).toBe('AWS001');
    expect(e.fix).toContain('aws configure');
    expect(e.fix).toContain('--profile <name>');
  });

  it('adds the SSO login for an expired SSO profile', () => {
    const e = credentialsError(err('CredentialsProviderError', 'The SSO session associated with this profile has expired'), 'work', () => new Set(['work']));
    expect(e.code).toBe('AWS001');
    expect(e.message).toContain('profile "work"');
    expect(e.fix).toContain('aws sso login --profile work');
  });

  it('says when the --profile is in no config file, reading the files named by AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
    writeFileSync(join(dir, 'config'), '[default]\nregion = eu-west-1\n[profile ops]\nsso_session = corp\n[sso-session corp]\nsso_region = eu-west-1\n');
    writeFileSync(join(dir, 'credentials'), '[deploy]\naws_access_key_id = AKIAEXAMPLE\n');
    const env = { HOME: dir, AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
    expect([...configuredProfiles(env)].sort()).toEqual(['default', 'deploy', 'ops']);

    const missing = credentialsError(err('CredentialsProviderError', 'Could not load credentials from any providers'), 'opps', () => configuredProfiles(env));
    expect(missing.code).toBe('AWS001');
    expect(missing.message).toContain('There is no AWS profile "opps"');
    expect(missing.fix).toContain('aws configure list-profiles');
    expect(missing.fix).toContain('aws configure --profile opps');
    // With no config files at all (a new machine), no profile exists.
    expect(credentialsError(err('CredentialsProviderError', 'Could not load credentials from any providers'), 'ops', () => configuredProfiles({ HOME: join(dir, 'nowhere') })).message).toContain('no AWS profile "ops"');
    // AWS_PROFILE names it when --profile does not.
    const saved = process.env.AWS_PROFILE;
    process.env.AWS_PROFILE = 'opps';
    try {
      expect(credentialsError(err('CredentialsProviderError', 'Could not load credentials from any providers'), undefined, () => configuredProfiles(env)).message).toContain('no AWS profile "opps" (AWS_PROFILE)');
    } finally {
      if (saved === undefined) delete process.env.AWS_PROFILE;
      else process.env.AWS_PROFILE = saved;
    }
    // A profile that exists but has no usable credentials keeps the general message.
    expect(credentialsError(err('CredentialsProviderError', 'Could not load credentials from any providers'), 'ops', () => configuredProfiles(env)).message).toContain('No usable AWS credentials were found for profile "ops"');
  });

  it('calls rejected keys AWS002', () => {
    expect(credentialsError(err('InvalidClientTokenId', 'The security token included in the request is invalid.', 403)).code).toBe('AWS002');
    expect(credentialsError(err('SignatureDoesNotMatch', 'bad signature', 403)).code).toBe('AWS002');
  });

  it('calls a missing region AWS003', () => {
    expect(credentialsError(err('Error', 'Region is missing')).code).toBe('AWS003');
  });

  it('names network trouble without blaming the credentials', () => {
    const e = credentialsError(err('TimeoutError', 'connect ETIMEDOUT'));
    expect(e.code).toBe('AWS002');
    expect(e.fix).toContain('network');
  });
});

describe('the AWS0xx codes', () => {
  it('say how to give a region (AWS003) and which stack is missing where (AWS004)', () => {
    expect(noRegionError().code).toBe('AWS003');
    expect(noRegionError().fix).toContain('--region');
    const e = stackNotFound({ stackName: 'mail', region: 'eu-west-1', account: '123456789012' }, 'Check --stack-name.');
    expect(e.code).toBe('AWS004');
    expect(e.message).toBe('There is no stack named mail in eu-west-1 (account 123456789012).');
    expect(e.fix).toBe('Check --stack-name.');
  });

  it('keep the installer codes they replaced as aliases', () => {
    expect(ERROR_ALIASES).toMatchObject({ INS001: 'AWS001', INS002: 'AWS002', INS011: 'AWS003', INS012: 'AWS004' });
    expect(lookupError('INS011')?.code).toBe('AWS003');
  });
});
