import { ConfigError, optionalString, requiredString, type Env } from '../lib/env.js';
import { parseWebhookEventTypes, WebhookEventTypesError, type WebhookEventType } from '../core/webhook-payload.js';

/** The Webhook Delivery function's settings, from the environment the stack sets. */
export interface WebhookDeliveryConfig {
  /** The receiver's endpoint (the stack's WebhookUrl parameter: https only; local mode also allows http). */
  url: URL;
  /** The webhook queue, whose messages get a longer visibility timeout after a failed attempt. */
  queueUrl: string;
  /** The delivery types the receiver wants (the stack's WebhookEvents); undefined = all. */
  eventTypes: ReadonlySet<WebhookEventType> | undefined;
}

export function webhookDeliveryConfig(env: Env): WebhookDeliveryConfig {
  const raw = requiredString(env, 'WEBHOOK_URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`WEBHOOK_URL is not an absolute URL: "${raw}".`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`WEBHOOK_URL must be an https:// URL, got "${url.protocol}".`);
  }
  if (url.username || url.password) {
    throw new ConfigError('WEBHOOK_URL must not carry a user name or password; receivers verify the webhook-signature header instead.');
  }
  let eventTypes: ReadonlySet<WebhookEventType> | undefined;
  try {
    eventTypes = parseWebhookEventTypes(optionalString(env, 'WEBHOOK_EVENT_TYPES'));
  } catch (error) {
    if (error instanceof WebhookEventTypesError) throw new ConfigError(`WEBHOOK_EVENT_TYPES: ${error.message}`);
    throw error;
  }
  return { url, queueUrl: requiredString(env, 'WEBHOOK_QUEUE_URL'), eventTypes };
}
