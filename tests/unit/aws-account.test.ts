import { describe, it, expect } from '@jest/globals';
import { credentialsError, noRegionError, stackNotFound } from '../../src/aws-account.js';
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
    const e = credentialsError(err('CredentialsProviderError', 'The SSO session associated with this profile has expired'), 'work');
    expect(e.code).toBe('AWS001');
    expect(e.message).toContain('profile "work"');
    expect(e.fix).toContain('aws sso login --profile work');
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
