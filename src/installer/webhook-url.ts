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
 * IPv4 ranges a webhook must not be sent to unless the operator says so: the Webhook
 * Delivery function would POST signed engine events into the function's own network
 * (the Lambda runtime API on 127.0.0.1:9001, a VPC's private hosts, metadata services).
 */
const PRIVATE_IPV4: readonly { base: string; bits: number; kind: string }[] = [
  { base: '0.0.0.0', bits: 8, kind: 'an unspecified ("this network") address' },
  { base: '127.0.0.0', bits: 8, kind: 'a loopback address' },
  { base: '169.254.0.0', bits: 16, kind: 'a link-local address (instance metadata lives there)' },
  { base: '10.0.0.0', bits: 8, kind: 'a private address' },
  { base: '172.16.0.0', bits: 12, kind: 'a private address' },
  { base: '192.168.0.0', bits: 16, kind: 'a private address' },
  { base: '100.64.0.0', bits: 10, kind: 'a carrier-grade NAT (shared) address' },
];

function ipv4Number(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

function ipv4Kind(address: number): string | undefined {
  for (const range of PRIVATE_IPV4) {
    const size = 2 ** (32 - range.bits);
    const base = ipv4Number(range.base)!;
    if (address >= base && address < base + size) return range.kind;
  }
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (with an optional dotted IPv4 tail), or undefined. */
function ipv6Groups(text: string): number[] | undefined {
  let body = text.toLowerCase();
  // A dotted IPv4 tail (::ffff:127.0.0.1) becomes its two groups.
  const dotted = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(body);
  if (dotted) {
    const v4 = ipv4Number(dotted[1]!);
    if (v4 === undefined) return undefined;
    body = `${body.slice(0, dotted.index + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parse = (half: string) => (half === '' ? [] : half.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const known = head.length + rest.length;
  if ([...head, ...rest].some(Number.isNaN) || known > 8 || (halves.length === 1 && known !== 8)) return undefined;
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest];
}

function ipv6Kind(groups: number[]): string | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const leadingZeros = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (leadingZeros && g5 === 0 && g6 === 0 && g7 === 0) return 'the unspecified address';
  if (leadingZeros && g5 === 0 && g6 === 0 && g7 === 1) return 'a loopback address';
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible) reach the IPv4 address.
  if (leadingZeros && (g5 === 0xffff || g5 === 0)) return ipv4Kind(g6 * 65536 + g7);
  if ((g0 & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((g0 & 0xfe00) === 0xfc00) return 'a unique-local (private) address';
  return undefined;
}

/**
 * What kind of non-public address a URL's host is, or undefined for a public address or a
 * DNS name: IP literals in any spelling the URL parser accepts (`2130706433`, `0x7f.1` and
 * `127.1` are all 127.0.0.1 once parsed; IPv4-mapped IPv6 reaches the IPv4 address) and
 * `localhost` names. Names that resolve to private addresses are not looked up here.
 */
export function privateHostKind(url: URL): string | undefined {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'a localhost name';
  if (host.startsWith('[') && host.endsWith(']')) {
    const groups = ipv6Groups(host.slice(1, -1));
    return groups ? ipv6Kind(groups) : undefined;
  }
  const v4 = ipv4Number(host);
  return v4 === undefined ? undefined : ipv4Kind(v4);
}

export interface WebhookUrlOptions {
  /** `--allow-private-webhook`: accept loopback, link-local and private IP literals and localhost names. */
  allowPrivate?: boolean;
}

/**
 * The WebhookUrl to send, from the flag and/or `--parameter WebhookUrl=…`: undefined when
 * neither is given (an upgrade keeps the running stack's value, a new stack has none).
 * A host that is a loopback, link-local, private, shared or unspecified address (or a
 * localhost name) is refused with INS026 unless `allowPrivate`.
 */
export function chooseWebhookUrl(flag: string | undefined, parameter: string | undefined, options: WebhookUrlOptions = {}): string | undefined {
  if (flag !== undefined && parameter !== undefined && flag !== parameter) {
    throw new CliError(
      'INS023',
      `The webhook URL is given twice with different values: --webhook-url "${flag}" and --parameter WebhookUrl="${parameter}".`,
      'Give it once, with --webhook-url <https-url> (or --webhook-url \'\' to turn webhooks off).',
    );
  }
  const value = flag ?? parameter;
  if (value === undefined) return undefined;
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  const problem = webhookUrlProblem(value);
  // Checked before the host pattern, so an IPv6 literal such as [::ffff:127.0.0.1] is named for what it is.
  const url = value !== '' && !options.allowPrivate && URL.canParse(value) ? new URL(value) : undefined;
  const kind = url?.protocol === 'https:' ? privateHostKind(url) : undefined;
  if (url && kind && (!problem || problem.startsWith('has a host'))) {
    throw new CliError(
      'INS026',
      `The webhook URL "${shown}" points at ${url.hostname}, ${kind}: from AWS, the Webhook Delivery function would POST the engine's signed events to its own network, not to your receiver.`,
      "Give your receiver's public HTTPS address (--webhook-url https://hooks.example.com/sesmailengine). If you do mean that address, add --allow-private-webhook. See docs/WEBHOOKS.md.",
    );
  }
  if (problem) {
    throw new CliError(
      'INS023',
      `The webhook URL "${shown}" ${problem}.`,
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
