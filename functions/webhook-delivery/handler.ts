import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../lib/clients.js';
import { createSqsClient } from '../lib/clients-sqs.js';
import { ConfigError, type Env } from '../lib/env.js';
import { describeError, jsonLogger, type Logger } from '../lib/logging.js';
import { loadEventAuthenticationKey, loadWebhookSecret } from '../lib/secrets.js';
import type { CommonHandlerDeps } from '../lib/handler-deps.js';
import { signedHeaders, signingKey, WebhookSecretError } from '../core/webhook-signature.js';
import { checkEngineDetail } from '../core/event-authentication.js';
import {
  parseRetryAfter,
  parseWebhookMessage,
  retryDelaySeconds,
  RETRY_SCHEDULE_SECONDS,
  wantsEventType,
  WebhookMessageError,
} from '../core/webhook-payload.js';
import { webhookDeliveryConfig, type WebhookDeliveryConfig } from './config.js';

/**
 * Webhook Delivery: "Email Status Changed" events (put on the webhook queue by the stack's
 * webhook rule) → one signed HTTPS POST each to the WebhookUrl.
 *
 * A 2xx answer consumes the message. Anything else (another status, a redirect, a timeout,
 * a refused connection) returns it to the queue with a growing visibility timeout, so
 * attempts follow RETRY_SCHEDULE_SECONDS until the queue's maxReceiveCount moves it to the
 * webhook DLQ. A message that is not a deliverable event is logged (WHK001) and dropped, one
 * whose detail does not carry the engine's valid signature (put on the bus by someone other
 * than the engine: core/event-authentication.ts) is logged (WHK004) and dropped, and one of
 * a type the receiver did not choose (WEBHOOK_EVENT_TYPES) is consumed unsent.
 * Every attempt is signed afresh (webhook-timestamp is the attempt's time); webhook-id stays
 * the event's id, so receivers can deduplicate.
 */

export type { Logger } from '../lib/logging.js';

export interface HandlerDeps extends CommonHandlerDeps {
  /** HTTP client (default: the global fetch). */
  fetch: typeof fetch;
  /** The secret (default: WEBHOOK_SECRET, else Secrets Manager by WEBHOOK_SECRET_ARN, re-read every 5 minutes). */
  loadSecret: (env: Env) => Promise<string>;
  /** The key that authenticates the engine's own events (default: derived from the unsubscribe secret, read once per container). */
  loadEventKey: (env: Env) => Promise<Buffer>;
  /** Seconds before attempt n+1 after attempt n failed. */
  retrySchedule: readonly number[];
  /** Time allowed for the receiver to answer. */
  timeoutMs: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const USER_AGENT = 'SESMailEngine-Webhooks/1.0';

interface Runtime {
  config: WebhookDeliveryConfig;
  clients: Pick<AwsClients, 'sqs'>;
}

interface Keys {
  /** Signs the deliveries (the webhook secret). */
  signing: Buffer;
  /** Verifies that an event is the engine's own. */
  events: Buffer;
}

type Attempt =
  | { ok: true; status: number }
  | { ok: false; code: 'WHK002' | 'WHK003'; detail: string; status?: number; retryAfterSeconds?: number };

export function createWebhookDeliveryHandler(deps: Partial<HandlerDeps> = {}): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? jsonLogger('webhook-delivery');
  const send = deps.fetch ?? ((input, init) => fetch(input, init));
  const schedule = deps.retrySchedule ?? RETRY_SCHEDULE_SECONDS;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let runtime: Runtime | undefined;

  function resolve(): Runtime {
    if (!runtime) {
      const config = webhookDeliveryConfig(deps.env ?? process.env);
      runtime = { config, clients: { sqs: deps.clients?.sqs ?? createSqsClient() } };
    }
    return runtime;
  }

  async function key(): Promise<Buffer> {
    const env = deps.env ?? process.env;
    const secret = await (deps.loadSecret ?? ((e: Env) => loadWebhookSecret(e)))(env);
    try {
      return signingKey(secret);
    } catch (error) {
      if (error instanceof WebhookSecretError) throw new ConfigError(`The webhook secret is unusable: ${error.message}`);
      throw error;
    }
  }

  async function post(url: URL, body: string, headers: Record<string, string>): Promise<Attempt> {
    let response: Response;
    try {
      response = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...headers },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      // Checked by name: fetch's errors (a DOMException on timeout) may come from another realm.
      const { name, cause } = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; cause?: unknown };
      const timedOut = name === 'TimeoutError' || name === 'AbortError';
      const because = cause !== undefined ? ` (${describeError(cause, 200)})` : '';
      return {
        ok: false,
        code: 'WHK003',
        detail: timedOut ? `No answer within ${timeoutMs / 1000} s.` : `${describeError(error, 300)}${because}`,
      };
    }
    // The receiver's body is not needed: release the connection without reading it.
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'), now());
    return {
      ok: false,
      code: 'WHK002',
      status: response.status,
      detail: response.status >= 300 && response.status < 400 ? `HTTP ${response.status} (redirects are not followed)` : `HTTP ${response.status}`,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    };
  }

  async function deliver(rt: Runtime, keys: Keys, record: SQSRecord): Promise<boolean> {
    let message;
    try {
      message = parseWebhookMessage(record.body);
    } catch (error) {
      if (!(error instanceof WebhookMessageError)) throw error;
      log({ level: 'error', code: 'WHK001', message: 'Webhook queue message dropped: not a deliverable event', reason: error.message, messageId: record.messageId });
      return true;
    }
    const authenticity = checkEngineDetail(keys.events, message.detailType, message.detail);
    if (authenticity !== 'valid') {
      const emailId = typeof message.detail.emailId === 'string' ? message.detail.emailId.slice(0, 256) : undefined;
      log({
        level: 'error',
        code: 'WHK004',
        message: `Webhook not sent: the event was not published by the engine (${authenticity === 'missing' ? 'no engineSignature' : 'engineSignature does not match'})`,
        webhookId: message.id,
        detailType: message.detailType,
        ...(emailId !== undefined ? { emailId } : {}),
        messageId: record.messageId,
      });
      return true;
    }
    if (!wantsEventType(rt.config.eventTypes, message.payload.type)) {
      log({ level: 'debug', message: 'Webhook not sent: the receiver did not choose this type (WebhookEvents)', webhookId: message.id, type: message.payload.type });
      return true;
    }
    const body = JSON.stringify(message.payload);
    const timestamp = Math.floor(now().getTime() / 1000);
    const attempt = Math.max(1, Number(record.attributes?.ApproximateReceiveCount) || 1);
    const context = { webhookId: message.id, type: message.payload.type, emailId: message.payload.data.emailId, attempt, endpoint: rt.config.url.origin };
    const result = await post(rt.config.url, body, signedHeaders(keys.signing, { id: message.id, timestamp, body }));
    if (result.ok) {
      log({ level: 'info', message: 'Webhook delivered', ...context, status: result.status });
      return true;
    }
    const delay = retryDelaySeconds(attempt, result.retryAfterSeconds, schedule);
    try {
      await rt.clients.sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: rt.config.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: delay }),
      );
    } catch (error) {
      // The message still comes back, after the queue's own visibility timeout.
      log({ level: 'warn', message: 'Webhook retry delay not set', ...context, error: describeError(error) });
    }
    log({ level: 'warn', code: result.code, message: 'Webhook delivery failed; it will be tried again', ...context, detail: result.detail, nextAttemptInSeconds: delay });
    return false;
  }

  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const rt = resolve();
    const env = deps.env ?? process.env;
    const [signing, events] = await Promise.all([key(), (deps.loadEventKey ?? ((e: Env) => loadEventAuthenticationKey(e)))(env)]);
    const keys: Keys = { signing, events };
    const outcomes = await Promise.all(
      event.Records.map(async (record) => {
        try {
          return await deliver(rt, keys, record);
        } catch (error) {
          log({ level: 'error', message: 'Webhook delivery error', messageId: record.messageId, error: describeError(error) });
          return false;
        }
      }),
    );
    return {
      batchItemFailures: event.Records.filter((_, i) => !outcomes[i]).map((record) => ({ itemIdentifier: record.messageId })),
    };
  };
}

export const handler = createWebhookDeliveryHandler();
