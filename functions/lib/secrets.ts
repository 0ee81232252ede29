import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, optionalString, type Env } from './env.js';

/**
 * The HMAC secret for unsubscribe tokens: UNSUBSCRIBE_SECRET directly (local mode, tests),
 * or fetched once per container from Secrets Manager by UNSUBSCRIBE_SECRET_ARN (the stack).
 */
let cached: Promise<string> | undefined;

export function loadUnsubscribeSecret(
  env: Env = process.env,
  client: () => SecretsManagerClient = () => new SecretsManagerClient({}),
): Promise<string> {
  const direct = optionalString(env, 'UNSUBSCRIBE_SECRET');
  if (direct !== undefined) return Promise.resolve(direct);
  const arn = optionalString(env, 'UNSUBSCRIBE_SECRET_ARN');
  if (arn === undefined) {
    return Promise.reject(new ConfigError('Set UNSUBSCRIBE_SECRET or UNSUBSCRIBE_SECRET_ARN for unsubscribe links.'));
  }
  cached ??= client()
    .send(new GetSecretValueCommand({ SecretId: arn }))
    .then((out) => {
      if (!out.SecretString) throw new ConfigError(`Secret ${arn} has no string value.`);
      return out.SecretString;
    })
    .catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
  return cached;
}
