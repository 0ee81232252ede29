import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import chalk from 'chalk';
import { CliError, UsageError } from '../errors.js';
import { awsErrorInfo } from '../aws/clients.js';
import { createUi, processIo } from '../ui.js';
import { withTarget, type EngineTarget, type TargetOptions, type WebhookResources } from '../ops/target.js';
import { displaySecret, WebhookSecretError } from '../../functions/core/webhook-signature.js';
import { ENGINE_SOURCE, TEST_EVENT_TYPE, WEBHOOK_TEST_DETAIL_TYPE } from '../../functions/core/webhook-payload.js';
import { eventAuthenticationKey, signEngineDetail } from '../../functions/core/event-authentication.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine webhook secret|test`: the signing secret a receiver needs (in its `whsec_`
 * form), and a "Webhook Test" event published on the engine's bus so the whole path (rule →
 * webhook queue → Webhook Delivery → the receiver) can be tried without sending an email.
 * The test event is signed with the engine's event key (read with the user's credentials),
 * since Webhook Delivery forwards only events the engine signed.
 */

export interface WebhookOptions extends CommonOptions, TargetOptions {
  json?: boolean;
}

export interface WebhookTestOptions extends WebhookOptions {
  /** The test event's `message` (default TEST_MESSAGE). */
  message?: string;
}

export const TEST_SENT_BY = 'sesmailengine webhook test';
export const TEST_MESSAGE = 'A test event from SESMailEngine: if your endpoint verified this signature, webhooks work.';
/** The Webhook Delivery function's log group on AWS (the stack names its functions `<stack>-<Name>`). */
export const webhookLogGroup = (stackName: string): string => `/aws/lambda/${stackName}-WebhookDelivery`;

/** The engine's webhook resources, or WHK101 with how to turn webhooks on. */
export function requireWebhook(target: EngineTarget): WebhookResources {
  const webhook = target.resources.webhook;
  if (webhook) return webhook;
  throw new CliError(
    'WHK101',
    `Webhooks are off for the ${target.description}: it was started without a webhook URL.`,
    target.kind === 'local'
      ? 'Restart local mode with your receiver: sesmailengine local --webhook-url http://127.0.0.1:3000/webhooks (see docs/WEBHOOKS.md).'
      : `Install or upgrade the stack with your endpoint: sesmailengine install --webhook-url https://example.com/webhooks${target.flags} (see docs/WEBHOOKS.md).`,
  );
}

/** The signing secret in its `whsec_` form: from Secrets Manager on AWS, from GET /info in local mode. */
export async function readWebhookSecret(target: EngineTarget): Promise<string> {
  const webhook = requireWebhook(target);
  let raw: string | undefined;
  let from: string;
  if (target.kind === 'local') {
    raw = webhook.secret;
    from = 'local mode';
    if (!raw) {
      throw new CliError('WHK102', `${target.description} has a webhook URL but did not report its secret.`, 'Restart local mode with the same version of sesmailengine as this command.');
    }
  } else {
    if (!webhook.secretArn) {
      throw new CliError(
        'WHK102',
        `The ${target.description} has a webhook URL but no WebhookSecretArn output.`,
        `Upgrade the stack: sesmailengine install${target.flags}.`,
      );
    }
    from = webhook.secretArn;
    const secrets = await target.clients.secrets();
    try {
      const out = await secrets.send(new GetSecretValueCommand({ SecretId: webhook.secretArn }));
      raw = out.SecretString;
    } catch (error) {
      const info = awsErrorInfo(error);
      throw new CliError(
        'WHK102',
        `The webhook secret ${webhook.secretArn} cannot be read: ${info.name}: ${info.message}`,
        info.name === 'AccessDeniedException'
          ? 'Use credentials that may call secretsmanager:GetSecretValue on that secret (and kms:Decrypt on its key, if it has its own).'
          : 'Check that the secret exists in this region (sesmailengine status), then run the command again.',
        { cause: error },
      );
    }
    if (!raw) {
      throw new CliError('WHK102', `The webhook secret ${webhook.secretArn} has no string value.`, 'Put a value of at least 16 characters (or whsec_<base64>) in it: see "Rotating the secret" in docs/WEBHOOKS.md.');
    }
  }
  try {
    return displaySecret(raw);
  } catch (error) {
    if (!(error instanceof WebhookSecretError)) throw error;
    throw new CliError('WHK102', `The webhook secret from ${from} is unusable: ${error.message}`, 'Put a value of at least 16 characters (or whsec_<base64>) in it: see "Rotating the secret" in docs/WEBHOOKS.md.');
  }
}

/**
 * The key that signs the engine's own events: derived from the stack's unsubscribe secret
 * on AWS (so the user's credentials must read it), from GET /info in local mode. WHK104 when
 * it cannot be had.
 */
export async function readEventKey(target: EngineTarget): Promise<Buffer> {
  const webhook = requireWebhook(target);
  if (target.kind === 'local') {
    if (!webhook.eventKey) {
      throw new CliError('WHK104', `${target.description} did not report its event signing key.`, 'Restart local mode with the same version of sesmailengine as this command.');
    }
    return Buffer.from(webhook.eventKey, 'base64url');
  }
  const secretId = webhook.eventKeySecretId;
  if (!secretId) {
    throw new CliError('WHK104', `The ${target.description} does not name its unsubscribe secret.`, `Upgrade the stack: sesmailengine install${target.flags}.`);
  }
  const secrets = await target.clients.secrets();
  let raw: string | undefined;
  try {
    raw = (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    const info = awsErrorInfo(error);
    throw new CliError(
      'WHK104',
      `The engine's event signing key (from the secret ${secretId}) cannot be read: ${info.name}: ${info.message}`,
      info.name === 'AccessDeniedException'
        ? `A test event must be signed like the engine's own events: use credentials that may call secretsmanager:GetSecretValue on ${secretId}.`
        : 'Check that the stack is installed in this region (sesmailengine status), then run the command again.',
      { cause: error },
    );
  }
  if (!raw) throw new CliError('WHK104', `The secret ${secretId} has no string value.`, `Reinstall the stack: sesmailengine install${target.flags}.`);
  return eventAuthenticationKey(raw);
}

export async function webhookSecret(options: WebhookOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  return withTarget(options, async (target) => {
    const webhook = requireWebhook(target);
    const secret = await readWebhookSecret(target);
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ target: target.kind, url: webhook.url, secret })}\n`);
      return 0;
    }
    // The secret alone on stdout, so `$(sesmailengine webhook secret)` captures just it.
    ui.out(secret);
    ui.info(`Configure your receiver at ${webhook.url} with this secret to verify the webhook-signature header (docs/WEBHOOKS.md).`);
    return 0;
  });
}

export async function webhookTest(options: WebhookTestOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const message = options.message ?? TEST_MESSAGE;
  if (message.trim() === '' || Buffer.byteLength(message, 'utf8') > 10_000) {
    throw new UsageError('OPS004', '--message must be non-empty text of at most 10,000 bytes.', 'Pass a short text: --message "hello from staging".');
  }
  return withTarget(options, async (target) => {
    const webhook = requireWebhook(target);
    const detail = signEngineDetail(await readEventKey(target), WEBHOOK_TEST_DETAIL_TYPE, { message, sentBy: TEST_SENT_BY });
    const events = await target.clients.events();
    const bus = target.resources.eventBusName;
    let eventId: string | undefined;
    let failure: string | undefined;
    try {
      const out = await events.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: bus, Source: ENGINE_SOURCE, DetailType: WEBHOOK_TEST_DETAIL_TYPE, Detail: JSON.stringify(detail) }],
        }),
      );
      const entry = out.Entries?.[0];
      if (entry?.EventId && !entry.ErrorCode && (out.FailedEntryCount ?? 0) === 0) eventId = entry.EventId;
      else failure = `${entry?.ErrorCode ?? 'FailedEntry'}: ${entry?.ErrorMessage ?? 'the entry was not accepted'}`;
    } catch (error) {
      const info = awsErrorInfo(error);
      failure = `${info.name}: ${info.message}`;
    }
    if (!eventId) {
      throw new CliError(
        'WHK103',
        `EventBridge refused the test event on ${bus}: ${failure}`,
        `Check that the bus exists (sesmailengine status${target.flags}) and that your credentials may call events:PutEvents on it with the source sesmailengine (the publisher policy CustomerIAMPolicy denies that source: use operator credentials).`,
      );
    }
    const failures =
      target.kind === 'aws'
        ? [`sesmailengine dlq list --queue webhook${target.flags}`, `the log group ${webhookLogGroup(target.stackName)} (search for ${eventId})`]
        : [
            `sesmailengine dlq list --queue webhook${target.flags}`,
            ...(webhook.queueUrl ? [`the webhook queue's depth: GET ${new URL(webhook.queueUrl).origin}/queues`] : []),
          ];
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({ target: target.kind, eventId, webhookId: eventId, type: TEST_EVENT_TYPE, url: webhook.url, eventBusName: bus, ...(target.kind === 'aws' ? { logGroup: webhookLogGroup(target.stackName) } : {}) })}\n`,
      );
      return 0;
    }
    ui.out(`${chalk.green('✔')} Published a "${WEBHOOK_TEST_DETAIL_TYPE}" event on ${bus} (event id ${eventId}).`);
    ui.out(`  Your receiver at ${webhook.url} should get a POST with "type": "${TEST_EVENT_TYPE}" and webhook-id ${eventId} within seconds.`);
    ui.out(`  Not there? A failed delivery is retried (30 s, 2 min, 10 min, …); look at:`);
    for (const where of failures) ui.out(`    - ${where}`);
    return 0;
  });
}
