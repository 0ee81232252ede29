import { ATTACHMENT_LIMITS } from '../core/attachments.js';
import { hasControlChars, parseEmailAddress, type EmailAddress } from '../core/email-address.js';
import { ConfigError, numberValue, optionalString, requiredString, type Env } from '../lib/env.js';

/**
 * The Email Sender's configuration, from the environment variables the stack sets.
 * UNSUBSCRIBE_SECRET_ARN / UNSUBSCRIBE_SECRET are read by lib/secrets.ts when a link is needed.
 */
export interface EmailSenderConfig {
  trackingTable: string;
  suppressionTable: string;
  countersTable: string;
  templateBucket: string;
  configurationSet: string;
  /** DEFAULT_SENDER_EMAIL / DEFAULT_SENDER_NAME: the last resort for From. */
  defaultSender?: { address: EmailAddress; name?: string };
  /** Percent of today's sends that may hard-bounce before the brake holds. */
  bounceRateThreshold: number;
  /** Sends needed today before the brake can hold. */
  bounceRateMinSends: number;
  /** Below that many sends, today's hard bounces that hold the brake anyway (0: no floor). */
  bounceBrakeMaxHardBounces: number;
  templateCacheSeconds: number;
  trackingRetentionDays: number;
  /** Base URL of the unsubscribe endpoint; a signed token is appended. */
  unsubscribeUrl?: string;
  /** Address for the mailto: form of List-Unsubscribe. */
  unsubscribeMailto?: string;
  /** ATTACHMENTS_MAX_BYTES: per-email cap on the attachments' file bytes (at most SES's 40 MB). */
  maxAttachmentBytes: number;
  /**
   * INTERRUPTED_SEND_POLICY: what becomes of a `sending` claim that an interrupted attempt
   * left (a dead container, an ambiguous SES answer) once the window has passed without
   * SES's `Send` event: `resend` it (once, re-claimed atomically) or mark it `fail`ed DUP001.
   */
  interruptedSendPolicy: InterruptedSendPolicy;
  /** INTERRUPTED_SEND_WINDOW_SECONDS: how long SES's `Send` event is waited for before an interrupted claim is resolved. */
  interruptedSendWindowSeconds: number;
  /** MAX_SEND_RATE: sends per second the engine keeps under, below the account's own rate; 0 = the account's rate. */
  maxSendRate: number;
  /** SEND_QUEUE_URL: where deferred requests go back (and scheduled ones within 15 minutes). */
  sendQueueUrl?: string;
  /** STACK_NAME: the dimension of the engine's own CloudWatch metrics. */
  stackName?: string;
}

export const INTERRUPTED_SEND_POLICIES = ['resend', 'fail'] as const;
export type InterruptedSendPolicy = (typeof INTERRUPTED_SEND_POLICIES)[number];
/** The stack's window: 20 Lambda timeouts, and 3 receives of the Send event on the feedback queue (see docs/ARCHITECTURE.md). */
export const DEFAULT_INTERRUPTED_SEND_WINDOW_SECONDS = 600;

function policy(raw: string | undefined): InterruptedSendPolicy {
  if (raw === undefined) return 'resend';
  if ((INTERRUPTED_SEND_POLICIES as readonly string[]).includes(raw)) return raw as InterruptedSendPolicy;
  throw new ConfigError(`Environment variable INTERRUPTED_SEND_POLICY must be "resend" or "fail", got "${raw}".`);
}

function address(name: string, raw: string | undefined): EmailAddress | undefined {
  if (raw === undefined) return undefined;
  const parsed = hasControlChars(raw) ? { ok: false as const, reason: 'contains a control character' } : parseEmailAddress(raw);
  if (!parsed.ok) throw new ConfigError(`Environment variable ${name} ("${raw}") is not a valid e-mail address: it ${parsed.reason}.`);
  return parsed.value;
}

function httpUrl(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ConfigError(`Environment variable ${name} must be an http(s) URL, got "${raw}".`);
  }
  return url.toString();
}

export function emailSenderConfig(env: Env): EmailSenderConfig {
  const defaultAddress = address('DEFAULT_SENDER_EMAIL', optionalString(env, 'DEFAULT_SENDER_EMAIL'));
  const defaultName = optionalString(env, 'DEFAULT_SENDER_NAME');
  if (defaultName !== undefined && hasControlChars(defaultName)) {
    throw new ConfigError('Environment variable DEFAULT_SENDER_NAME contains a line break or control character.');
  }
  const mailto = address('UNSUBSCRIBE_MAILTO', optionalString(env, 'UNSUBSCRIBE_MAILTO')?.replace(/^mailto:/i, ''));
  const unsubscribeUrl = httpUrl('UNSUBSCRIBE_URL', optionalString(env, 'UNSUBSCRIBE_URL'));
  const sendQueueUrl = optionalString(env, 'SEND_QUEUE_URL');
  const stackName = optionalString(env, 'STACK_NAME');
  return {
    trackingTable: requiredString(env, 'TRACKING_TABLE'),
    suppressionTable: requiredString(env, 'SUPPRESSION_TABLE'),
    countersTable: requiredString(env, 'COUNTERS_TABLE'),
    templateBucket: requiredString(env, 'TEMPLATE_BUCKET'),
    configurationSet: requiredString(env, 'CONFIGURATION_SET'),
    ...(defaultAddress ? { defaultSender: { address: defaultAddress, ...(defaultName ? { name: defaultName } : {}) } } : {}),
    bounceRateThreshold: numberValue(env, 'BOUNCE_RATE_THRESHOLD', 5, 0, 100),
    bounceRateMinSends: Math.floor(numberValue(env, 'BOUNCE_RATE_MIN_SENDS', 100, 0)),
    bounceBrakeMaxHardBounces: Math.floor(numberValue(env, 'BOUNCE_BRAKE_MAX_HARD_BOUNCES', 10, 0)),
    templateCacheSeconds: numberValue(env, 'TEMPLATE_CACHE_SECONDS', 300, 0, 86_400),
    trackingRetentionDays: numberValue(env, 'TRACKING_RETENTION_DAYS', 365, 1, 36_500),
    ...(unsubscribeUrl ? { unsubscribeUrl } : {}),
    ...(mailto ? { unsubscribeMailto: mailto.address } : {}),
    maxAttachmentBytes: Math.floor(
      numberValue(env, 'ATTACHMENTS_MAX_BYTES', ATTACHMENT_LIMITS.defaultMaxBytes, 0, ATTACHMENT_LIMITS.sesMessageBytes),
    ),
    interruptedSendPolicy: policy(optionalString(env, 'INTERRUPTED_SEND_POLICY')),
    interruptedSendWindowSeconds: numberValue(env, 'INTERRUPTED_SEND_WINDOW_SECONDS', DEFAULT_INTERRUPTED_SEND_WINDOW_SECONDS, 1, 86_400),
    maxSendRate: numberValue(env, 'MAX_SEND_RATE', 0, 0, 1_000_000),
    ...(sendQueueUrl ? { sendQueueUrl } : {}),
    ...(stackName ? { stackName } : {}),
  };
}
