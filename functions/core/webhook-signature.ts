import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed webhooks in the Standard Webhooks scheme (https://www.standardwebhooks.com), so a
 * receiver can verify them with a few lines of code or any Standard Webhooks library:
 *
 *   webhook-id:        the event's id (the same on every retry: receivers deduplicate on it)
 *   webhook-timestamp: seconds since the epoch when this attempt was signed
 *   webhook-signature: "v1," + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`))
 *
 * The key is the secret's bytes: a secret shown as `whsec_<base64>` is base64-decoded; the
 * stack's generated secret (32 letters and digits) is used as its UTF-8 bytes and shown to
 * users in the `whsec_` form of those same bytes, so both forms sign alike.
 */

export const SECRET_PREFIX = 'whsec_';
export const SIGNATURE_VERSION = 'v1';
/** Receivers should refuse signatures older or newer than this (replay window). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

export class WebhookSecretError extends Error {
  override readonly name = 'WebhookSecretError';
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The HMAC key of a secret in either form. */
export function signingKey(secret: string): Buffer {
  const trimmed = secret.trim();
  if (trimmed.startsWith(SECRET_PREFIX)) {
    const encoded = trimmed.slice(SECRET_PREFIX.length);
    if (!BASE64.test(encoded) || encoded.length % 4 !== 0) {
      throw new WebhookSecretError('A webhook secret that starts with whsec_ must continue with base64.');
    }
    const key = Buffer.from(encoded, 'base64');
    if (key.length < 16) throw new WebhookSecretError('A webhook secret must hold at least 16 bytes.');
    return key;
  }
  const key = Buffer.from(trimmed, 'utf8');
  if (key.length < 16) throw new WebhookSecretError('A webhook secret must be at least 16 characters long.');
  return key;
}

/** The `whsec_` form of a secret, the one receivers configure. */
export function displaySecret(secret: string): string {
  return SECRET_PREFIX + signingKey(secret).toString('base64');
}

export interface SignInput {
  id: string;
  /** Seconds since the epoch. */
  timestamp: number;
  body: string;
}

function hmac(key: Buffer, input: SignInput): string {
  return createHmac('sha256', key).update(`${input.id}.${input.timestamp}.${input.body}`, 'utf8').digest('base64');
}

/** The `webhook-signature` header value for one attempt. */
export function signWebhook(secret: string | Buffer, input: SignInput): string {
  const key = typeof secret === 'string' ? signingKey(secret) : secret;
  return `${SIGNATURE_VERSION},${hmac(key, input)}`;
}

/** The three headers a delivery carries (plus Content-Type, added by the sender). */
export function signedHeaders(secret: string | Buffer, input: SignInput): Record<string, string> {
  return {
    [WEBHOOK_HEADERS.id]: input.id,
    [WEBHOOK_HEADERS.timestamp]: String(input.timestamp),
    [WEBHOOK_HEADERS.signature]: signWebhook(secret, input),
  };
}

export type VerifyFailure = 'missing-headers' | 'bad-timestamp' | 'too-old' | 'too-new' | 'no-match';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(readonly reason: VerifyFailure, message: string) {
    super(message);
  }
}

export interface VerifyOptions {
  toleranceSeconds?: number;
  now?: () => Date;
}

type HeaderSource = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const direct = record[name] ?? Object.entries(record).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(direct) ? direct[0] : direct;
}

/**
 * Checks a delivery as a receiver must: the timestamp within the tolerance, then one of the
 * space-separated `v1,` signatures equal (in constant time) to the expected one over the
 * raw body exactly as received. Returns the parsed payload; throws WebhookVerificationError.
 */
export function verifyWebhook<T = unknown>(secret: string, headers: HeaderSource, rawBody: string, options: VerifyOptions = {}): T {
  const id = header(headers, WEBHOOK_HEADERS.id);
  const timestampText = header(headers, WEBHOOK_HEADERS.timestamp);
  const signatures = header(headers, WEBHOOK_HEADERS.signature);
  if (!id || !timestampText || !signatures) {
    throw new WebhookVerificationError('missing-headers', 'The webhook-id, webhook-timestamp and webhook-signature headers are required.');
  }
  if (!/^\d{1,12}$/.test(timestampText)) {
    throw new WebhookVerificationError('bad-timestamp', 'webhook-timestamp is not a number of seconds.');
  }
  const timestamp = Number(timestampText);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((options.now ?? (() => new Date()))().getTime() / 1000);
  if (timestamp < nowSeconds - tolerance) throw new WebhookVerificationError('too-old', 'The webhook timestamp is too old.');
  if (timestamp > nowSeconds + tolerance) throw new WebhookVerificationError('too-new', 'The webhook timestamp is in the future.');

  const expected = Buffer.from(hmac(signingKey(secret), { id, timestamp, body: rawBody }), 'base64');
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== SIGNATURE_VERSION || !value) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return JSON.parse(rawBody) as T;
  }
  throw new WebhookVerificationError('no-match', 'No webhook signature matches the body.');
}
