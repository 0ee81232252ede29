import { afterEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadUnsubscribeSecret, loadWebhookSecret, WEBHOOK_SECRET_TTL_MS } from '../../functions/lib/secrets.js';

/** Secrets Manager has no stand-in: its calls are mocked. */

const secrets = mockClient(SecretsManagerClient);
afterEach(() => {
  secrets.reset();
});

const client = () => new SecretsManagerClient({ region: 'us-east-1' });

describe('the webhook secret', () => {
  it('comes straight from WEBHOOK_SECRET when set (local mode)', async () => {
    await expect(loadWebhookSecret({ WEBHOOK_SECRET: 'whsec_abc', WEBHOOK_SECRET_ARN: 'arn:x' }, client)).resolves.toBe('whsec_abc');
    expect(secrets.calls()).toHaveLength(0);
  });

  it('is fetched by ARN once per five minutes, so a rotated value takes effect without a deploy', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:hooks-ttl';
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolvesOnce({ SecretString: 'first-value-of-the-secret' }).resolves({ SecretString: 'rotated-value-of-the-secret' });
    const t0 = 1_000_000;
    await expect(loadWebhookSecret({ WEBHOOK_SECRET_ARN: arn }, client, t0)).resolves.toBe('first-value-of-the-secret');
    await expect(loadWebhookSecret({ WEBHOOK_SECRET_ARN: arn }, client, t0 + WEBHOOK_SECRET_TTL_MS - 1)).resolves.toBe('first-value-of-the-secret');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    await expect(loadWebhookSecret({ WEBHOOK_SECRET_ARN: arn }, client, t0 + WEBHOOK_SECRET_TTL_MS)).resolves.toBe('rotated-value-of-the-secret');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('is fetched again after a failure instead of caching the error', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:hooks-fail';
    secrets.on(GetSecretValueCommand, { SecretId: arn }).rejectsOnce(new Error('throttled')).resolves({ SecretString: 'value-after-the-failure' });
    await expect(loadWebhookSecret({ WEBHOOK_SECRET_ARN: arn }, client, 5)).rejects.toThrow('throttled');
    await expect(loadWebhookSecret({ WEBHOOK_SECRET_ARN: arn }, client, 6)).resolves.toBe('value-after-the-failure');
  });

  it('names both variables when neither is set', async () => {
    await expect(loadWebhookSecret({}, client)).rejects.toThrow('Set WEBHOOK_SECRET or WEBHOOK_SECRET_ARN');
  });
});

describe('the unsubscribe secret', () => {
  it('is fetched once per container (links signed with it must keep working)', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:unsub-once';
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: 'unsubscribe-key' });
    await loadUnsubscribeSecret({ UNSUBSCRIBE_SECRET_ARN: arn }, client);
    await loadUnsubscribeSecret({ UNSUBSCRIBE_SECRET_ARN: arn }, client);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('refuses an empty secret value', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:unsub-empty';
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({});
    await expect(loadUnsubscribeSecret({ UNSUBSCRIBE_SECRET_ARN: arn }, client)).rejects.toThrow('has no string value');
  });
});
