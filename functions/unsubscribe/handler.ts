import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createDynamoDbClient, type AwsClients } from '../lib/clients.js';
import { jsonLogger, type Logger } from '../lib/logging.js';
import type { Env } from '../lib/env.js';
import { loadUnsubscribeSecret } from '../lib/secrets.js';
import { addSuppression } from '../lib/suppression-store.js';
import type { CommonHandlerDeps } from '../lib/handler-deps.js';
import { verifyUnsubscribeToken } from '../core/unsubscribe-token.js';
import { unsubscribeConfig, type UnsubscribeConfig } from './config.js';
import { confirmPage, donePage, messagePage, SECURITY_HEADERS } from './pages.js';

/**
 * One-click unsubscribe behind a Lambda function URL.
 *
 * - POST `?token=…` with the body `List-Unsubscribe=One-Click` (RFC 8058; form-urlencoded
 *   or multipart) → the address is suppressed (`unsubscribed`) and 200 is returned.
 * - GET `?token=…` → a confirmation page whose button makes that POST. A GET never
 *   unsubscribes: mail scanners and link previews follow links.
 * - A missing, forged or tampered token → 403 and nothing changes. Other methods → 405,
 *   bodies over 4 KiB → 413.
 */

export type { Logger } from '../lib/logging.js';

export interface HandlerDeps extends CommonHandlerDeps {
  /** The HMAC secret (default: UNSUBSCRIBE_SECRET, else Secrets Manager by UNSUBSCRIBE_SECRET_ARN). */
  loadSecret: (env: Env) => Promise<string>;
}

export const MAX_BODY_BYTES = 4096;
type Result = APIGatewayProxyStructuredResultV2;


function html(statusCode: number, body: string, extra: Record<string, string> = {}): Result {
  return {
    statusCode,
    headers: { 'Content-Type': 'text/html; charset=utf-8', ...SECURITY_HEADERS, ...extra },
    body,
  };
}

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

function tokenOf(event: APIGatewayProxyEventV2): string | undefined {
  const direct = event.queryStringParameters?.token;
  if (direct !== undefined) return direct;
  if (!event.rawQueryString) return undefined;
  return new URLSearchParams(event.rawQueryString).get('token') ?? undefined;
}

function bodyOf(event: APIGatewayProxyEventV2): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

function isOneClick(value: string | null | undefined): boolean {
  return value?.trim() === 'One-Click';
}

/** True when the form body carries List-Unsubscribe=One-Click (urlencoded or multipart/form-data). */
export function hasOneClickField(body: string, contentType: string | undefined): boolean {
  const type = contentType?.toLowerCase() ?? '';
  if (type.startsWith('multipart/form-data')) {
    const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
    const boundary = match?.[1] ?? match?.[2];
    if (!boundary) return false;
    return body.split(`--${boundary}`).some((part) => {
      const split = part.search(/\r?\n\r?\n/);
      if (split < 0) return false;
      const head = part.slice(0, split);
      const value = part.slice(split).replace(/^\r?\n\r?\n/, '').replace(/\r?\n$/, '');
      return /content-disposition:\s*form-data;[^\r\n]*\bname="List-Unsubscribe"/i.test(head) && isOneClick(value);
    });
  }
  return isOneClick(new URLSearchParams(body).get('List-Unsubscribe'));
}

export function createUnsubscribeHandler(deps: Partial<HandlerDeps> = {}): (event: APIGatewayProxyEventV2) => Promise<Result> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? jsonLogger('unsubscribe');
  const loadSecret = deps.loadSecret ?? ((env: Env) => loadUnsubscribeSecret(env));
  let runtime: { env: Env; config: UnsubscribeConfig; ddb: AwsClients['ddb'] } | undefined;

  function resolve() {
    if (!runtime) {
      const env = deps.env ?? process.env;
      const config = unsubscribeConfig(env);
      runtime = { env, config, ddb: deps.clients?.ddb ?? createDynamoDbClient() };
    }
    return runtime;
  }

  return async (event) => {
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') {
      return html(405, messagePage('Method not allowed', 'Use the link in the email.'), { Allow: 'GET, POST' });
    }
    const body = bodyOf(event);
    if (body.length > MAX_BODY_BYTES) {
      return html(413, messagePage('Request too large', 'This request is larger than an unsubscribe request can be.'));
    }

    let rt: ReturnType<typeof resolve>;
    let secret: string;
    try {
      rt = resolve();
      secret = await loadSecret(rt.env);
    } catch (error) {
      log({ level: 'error', message: 'Unsubscribe endpoint is not configured', error: String(error) });
      return html(503, messagePage('Temporarily unavailable', 'Please try again later.'));
    }

    const token = tokenOf(event);
    const email = verifyUnsubscribeToken(secret, token);
    if (email === null) {
      log({ level: 'warn', message: 'Unsubscribe link refused', method, tokenLength: token?.length ?? 0 });
      return html(403, messagePage('Link not valid', 'This unsubscribe link is not valid. Use the link from the email, unchanged.'));
    }

    if (method === 'GET') return html(200, confirmPage(email, token!));

    if (!hasOneClickField(body.toString('utf8'), header(event, 'content-type'))) {
      return html(400, messagePage('Bad request', 'An unsubscribe request must carry List-Unsubscribe=One-Click.'));
    }
    try {
      const added = await addSuppression(rt.ddb, rt.config.suppressionTable, {
        email,
        reason: 'unsubscribed',
        suppressionType: 'unsubscribe',
        createdAt: now().toISOString(),
        details: 'One-click unsubscribe',
      });
      log({ level: 'info', message: added ? 'Address unsubscribed' : 'Address already suppressed', email });
    } catch (error) {
      log({ level: 'error', message: 'Unsubscribe not recorded', email, error: String(error) });
      return html(503, messagePage('Temporarily unavailable', 'Your request could not be recorded. Please try again in a minute.'));
    }
    return html(200, donePage(email));
  };
}

export const handler = createUnsubscribeHandler();
