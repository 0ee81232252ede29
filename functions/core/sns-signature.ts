import { verify, X509Certificate } from 'node:crypto';

/**
 * Verifying Amazon SNS message signatures, for endpoints that receive SNS over HTTP(S)
 * (SQS subscriptions need none: the queue policy admits only the topic).
 *
 * The string to sign is `Name\nValue\n` for a fixed list of keys in a fixed order;
 * SignatureVersion 1 signs it with RSA-SHA1, version 2 with RSA-SHA256. The signing
 * certificate must come from `https://sns.<region>.amazonaws.com(.cn)/….pem`. Only the
 * certificate's public key is used: fetching it from that host over TLS is what
 * authenticates it, so an expired certificate in a test fixture still verifies.
 */

export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

const NOTIFICATION_KEYS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
const CONFIRMATION_KEYS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;

const CERT_HOST = /^sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?$/;

export type SnsVerification = { ok: true } | { ok: false; reason: string };

type Json = Record<string, unknown>;

/** Reads a key in either spelling (SNS HTTP uses `SigningCertURL`, Lambda's SNS events `SigningCertUrl`). */
function field(message: Json, key: string): unknown {
  if (key in message) return message[key];
  const alt = key.replace(/URL$/, 'Url');
  return message[alt];
}

/** The exact bytes SNS signed, or undefined when a required key is missing. */
export function snsStringToSign(message: Json): string | undefined {
  const type = message.Type;
  const keys =
    type === 'Notification'
      ? NOTIFICATION_KEYS
      : type === 'SubscriptionConfirmation' || type === 'UnsubscribeConfirmation'
        ? CONFIRMATION_KEYS
        : undefined;
  if (!keys) return undefined;
  let out = '';
  for (const key of keys) {
    const value = field(message, key);
    if (value === undefined || value === null) {
      if (key === 'Subject') continue; // the only optional key
      return undefined;
    }
    if (typeof value !== 'string') return undefined;
    out += `${key}\n${value}\n`;
  }
  return out;
}

/** True for an https URL on an SNS regional host whose path ends in .pem. */
export function isSnsCertificateUrl(url: unknown): url is string {
  if (typeof url !== 'string') return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    parsed.protocol === 'https:' &&
    parsed.port === '' &&
    parsed.username === '' &&
    parsed.password === '' &&
    CERT_HOST.test(parsed.hostname) &&
    parsed.pathname.endsWith('.pem')
  );
}

/** Checks the signature against a PEM certificate already fetched from the message's URL. */
export function verifySnsSignature(message: unknown, certificatePem: string): SnsVerification {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return { ok: false, reason: 'not an object' };
  const m = message as Json;
  const version = m.SignatureVersion;
  const algorithm = version === '1' ? 'RSA-SHA1' : version === '2' ? 'RSA-SHA256' : undefined;
  if (!algorithm) return { ok: false, reason: `unsupported SignatureVersion ${JSON.stringify(version)}` };
  if (typeof m.Signature !== 'string' || m.Signature === '') return { ok: false, reason: 'no Signature' };
  const toSign = snsStringToSign(m);
  if (toSign === undefined) return { ok: false, reason: 'missing or invalid signed fields' };
  try {
    const publicKey = new X509Certificate(certificatePem).publicKey;
    const valid = verify(algorithm, Buffer.from(toSign, 'utf8'), publicKey, Buffer.from(m.Signature, 'base64'));
    return valid ? { ok: true } : { ok: false, reason: 'signature does not match' };
  } catch (error) {
    return { ok: false, reason: `unreadable certificate or signature: ${String(error).slice(0, 120)}` };
  }
}

/**
 * Verifies an SNS message end to end: certificate URL check, certificate fetch (injected,
 * so callers cache it and tests need no network), signature check. Never throws.
 */
export async function verifySnsMessage(
  message: unknown,
  fetchCertificate: (url: string) => Promise<string>,
): Promise<SnsVerification> {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return { ok: false, reason: 'not an object' };
  const url = field(message as Json, 'SigningCertURL');
  if (!isSnsCertificateUrl(url)) return { ok: false, reason: 'SigningCertURL is not an https .pem URL on an SNS host' };
  let pem: string;
  try {
    pem = await fetchCertificate(url);
  } catch (error) {
    return { ok: false, reason: `certificate not fetched: ${String(error).slice(0, 120)}` };
  }
  return verifySnsSignature(message, pem);
}
