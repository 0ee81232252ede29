import { CliError } from '../errors.js';
import { parseWebhookEventTypes, WEBHOOK_EVENT_TYPES, WebhookEventTypesError } from '../../functions/core/webhook-payload.js';

/**
 * The WebhookUrl stack parameter as the installer takes it (`--webhook-url`, or
 * `--parameter WebhookUrl=…`): checked before anything else happens, so a typo never gets
 * as far as a CloudFormation rollback. Pure; no AWS.
 */

export const WEBHOOK_URL_MAX_LENGTH = 2048;

/**
 * The template's AllowedPattern for WebhookUrl (a test holds the two equal): empty, or
 * https:// with a host of letters, digits, hyphens and dots, an optional port, and no user
 * name or password.
 */
export const WEBHOOK_URL_PATTERN = '^$|^https://([A-Za-z0-9-]+\\.)*[A-Za-z0-9-]+(:[0-9]{1,5})?([/?#][^\\s]*)?$';

/** Why a webhook URL is not acceptable, or undefined when it is ('' turns webhooks off). */
export function webhookUrlProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > WEBHOOK_URL_MAX_LENGTH) return `is ${value.length} characters long; at most ${WEBHOOK_URL_MAX_LENGTH} are allowed`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return 'contains a space or a control character';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URL (it must start with https://)';
  }
  if (url.protocol !== 'https:') return `uses ${url.protocol.replace(/:$/, '')}; webhooks are sent over https only`;
  if (url.username || url.password) {
    return 'carries a user name or password; receivers check the webhook-signature header instead, so leave credentials out of the URL';
  }
  if (!url.hostname) return 'has no host name';
  if (!new RegExp(WEBHOOK_URL_PATTERN).test(value)) {
    return 'has a host the stack does not accept (use a DNS name such as hooks.example.com, written in ASCII)';
  }
  return undefined;
}

/**
 * The WebhookUrl to send, from the flag and/or `--parameter WebhookUrl=…`: undefined when
 * neither is given (an upgrade keeps the running stack's value, a new stack has none).
 */
export function chooseWebhookUrl(flag: string | undefined, parameter: string | undefined): string | undefined {
  if (flag !== undefined && parameter !== undefined && flag !== parameter) {
    throw new CliError(
      'INS023',
      `The webhook URL is given twice with different values: --webhook-url "${flag}" and --parameter WebhookUrl="${parameter}".`,
      'Give it once, with --webhook-url <https-url> (or --webhook-url \'\' to turn webhooks off).',
    );
  }
  const value = flag ?? parameter;
  if (value === undefined) return undefined;
  const problem = webhookUrlProblem(value);
  if (problem) {
    throw new CliError(
      'INS023',
      `The webhook URL "${value.length > 200 ? `${value.slice(0, 200)}…` : value}" ${problem}.`,
      "Pass the receiver's endpoint as --webhook-url https://hooks.example.com/sesmailengine, or --webhook-url '' to turn webhooks off. See docs/WEBHOOKS.md.",
    );
  }
  return value;
}

/**
 * The WebhookEvents parameter from `--webhook-events` and/or `--parameter WebhookEvents=…`,
 * in its canonical form (`email.bounced,email.complained`; '' for every type), or undefined
 * when neither is given (an upgrade keeps the stack's choice).
 */
export function chooseWebhookEvents(flag: string | undefined, parameter: string | undefined): string | undefined {
  if (flag !== undefined && parameter !== undefined && flag !== parameter) {
    throw new CliError(
      'INS025',
      `The webhook event types are given twice with different values: --webhook-events "${flag}" and --parameter WebhookEvents="${parameter}".`,
      'Give them once, with --webhook-events bounced,complained (or --webhook-events \'\' for every type).',
    );
  }
  const value = flag ?? parameter;
  if (value === undefined) return undefined;
  try {
    const types = parseWebhookEventTypes(value);
    return types ? WEBHOOK_EVENT_TYPES.filter((type) => types.has(type)).join(',') : '';
  } catch (error) {
    if (!(error instanceof WebhookEventTypesError)) throw error;
    throw new CliError('INS025', `--webhook-events: ${error.message}`, "Pass a comma-separated list such as --webhook-events bounced,complained, or --webhook-events '' for every type.");
  }
}
