import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, optionalString, type Env } from './env.js';
import { eventAuthenticationKey } from '../core/event-authentication.js';

/**
 * The engine's HMAC secrets: given directly in an environment variable (local mode, tests),
 * or fetched from Secrets Manager by ARN (the stack) and kept per container. The webhook
 * secret is fetched again after five minutes so a rotated value takes effect without a
 * deploy; the unsubscribe secret never changes while links signed with it are out.
 */

interface CacheEntry {
  value: Promise<string>;
  expiresAt: number;
}

const cache = new Map<string, CacheEntry>();

export type SecretsClientFactory = () => SecretsManagerClient;

const defaultClient: SecretsClientFactory = () => new SecretsManagerClient({});

function loadSecret(
  given: { direct: string | undefined; arn: string | undefined; missing: string },
  client: SecretsClientFactory,
  ttlMs: number,
  now: number,
): Promise<string> {
  if (given.direct !== undefined) return Promise.resolve(given.direct);
  const arn = given.arn;
  if (arn === undefined) return Promise.reject(new ConfigError(given.missing));
  const cached = cache.get(arn);
  if (cached && cached.expiresAt > now) return cached.value;
  const value = client()
    .send(new GetSecretValueCommand({ SecretId: arn }))
    .then((out) => {
      if (!out.SecretString) throw new ConfigError(`Secret ${arn} has no string value.`);
      return out.SecretString;
    })
    .catch((error: unknown) => {
      if (cache.get(arn)?.value === value) cache.delete(arn);
      throw error;
    });
  cache.set(arn, { value, expiresAt: now + ttlMs });
  return value;
}

export function loadUnsubscribeSecret(env: Env = process.env, client: SecretsClientFactory = defaultClient): Promise<string> {
  return loadSecret(
    {
      direct: optionalString(env, 'UNSUBSCRIBE_SECRET'),
      arn: optionalString(env, 'UNSUBSCRIBE_SECRET_ARN'),
      missing: 'Set UNSUBSCRIBE_SECRET or UNSUBSCRIBE_SECRET_ARN for unsubscribe links.',
    },
    client,
    Number.POSITIVE_INFINITY,
    Date.now(),
  );
}

export const WEBHOOK_SECRET_TTL_MS = 5 * 60 * 1000;

export function loadWebhookSecret(
  env: Env = process.env,
  client: SecretsClientFactory = defaultClient,
  now: number = Date.now(),
): Promise<string> {
  return loadSecret(
    {
      direct: optionalString(env, 'WEBHOOK_SECRET'),
      arn: optionalString(env, 'WEBHOOK_SECRET_ARN'),
      missing: 'Set WEBHOOK_SECRET or WEBHOOK_SECRET_ARN for signing webhooks.',
    },
    client,
    WEBHOOK_SECRET_TTL_MS,
    now,
  );
}

/**
 * The key that signs and verifies the engine's own events on its bus, derived from the
 * unsubscribe secret (core/event-authentication.ts says why that one).
 */
export async function loadEventAuthenticationKey(env: Env = process.env, client: SecretsClientFactory = defaultClient): Promise<Buffer> {
  return eventAuthenticationKey(await loadUnsubscribeSecret(env, client));
}
