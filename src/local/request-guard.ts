/**
 * The check every HTTP server of local mode makes before anything else (the EventBridge/SQS/
 * Scheduler server, DynamoDB, S3, SES and its mail viewer). Local mode listens on 127.0.0.1
 * and checks no signatures, so without this any web page the developer opens could use it:
 *
 * - a `Host` other than 127.0.0.1, localhost or [::1] with the server's own port, or more
 *   than one Host line → 421
 *   (LOC004): a page on evil.example whose name is rebound to 127.0.0.1 (DNS rebinding)
 *   sends `Host: evil.example`, and could otherwise read the answers (GET /info holds the
 *   webhook secret);
 * - a browser request from another origin → 403 (LOC005): an `Origin` header that is not
 *   one of the server's own (http://127.0.0.1:<port> and its localhost/[::1] forms), or
 *   `Sec-Fetch-Site: cross-site` on anything but a plain GET/HEAD navigation (a link to the
 *   mail viewer or an unsubscribe page still opens). SDKs, the CLI and curl send neither
 *   header; the mail viewer's own page sends its own origin. A refused preflight (OPTIONS)
 *   gets no CORS headers, so the browser does not send the request it announced;
 * - a path whose percent-encoding is malformed (`/schedules/%E0%A4%A`) or holds %00 → 400,
 *   before any handler tries to decode it.
 */
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const LOCAL_NAMES = ['127.0.0.1', 'localhost', '[::1]'] as const;

export interface Refusal {
  status: 400 | 403 | 421;
  /** The AWS-style error type (`__type` in JSON, `Code` in S3's XML). */
  type: string;
  /** The project's code (docs/TROUBLESHOOTING.md), for the two security refusals. */
  code?: string;
  message: string;
}

export interface GuardedRequest {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  /** The header lines as received (node's `rawHeaders`): `headers` keeps only the first of several Host lines. */
  rawHeaders?: readonly string[];
}

/** How many Host lines the request has; node's parsed `headers` keeps the first and drops the rest. */
function hostLines(request: GuardedRequest): number {
  if (!request.rawHeaders) return request.headers.host === undefined ? 0 : 1;
  let count = 0;
  for (let i = 0; i < request.rawHeaders.length; i += 2) if (request.rawHeaders[i]!.toLowerCase() === 'host') count++;
  return count;
}

/** The origins a browser page of this server has: http://127.0.0.1:<port>, http://localhost:<port>, http://[::1]:<port>. */
export function localOrigins(port: number): string[] {
  return LOCAL_NAMES.map((name) => `http://${name}:${port}`);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Quotes a header value for a message, cut short and without control characters. */
function quoted(value: string): string {
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return JSON.stringify(clean.length > 100 ? `${clean.slice(0, 100)}…` : clean);
}

/**
 * True when every %-escape of the path (the request target before `?`) is well formed UTF-8
 * and none decodes to NUL, which no name or key of these services holds (s3rver would pass
 * it to the file system, which throws).
 */
export function isWellEncodedPath(target: string): boolean {
  const end = target.search(/[?#]/);
  const path = end < 0 ? target : target.slice(0, end);
  try {
    return !decodeURIComponent(path).includes('\u0000');
  } catch {
    return false;
  }
}

/** Decides whether a request may reach the server on `port`; undefined when it may. Pure. */
export function checkLocalRequest(request: GuardedRequest, port: number): Refusal | undefined {
  const allowedHosts = LOCAL_NAMES.map((name) => `${name}:${port}`);
  const host = header(request.headers, 'host')?.toLowerCase();
  // A second Host line (`Host: 127.0.0.1:<port>` then `Host: evil.example`) would pass on the
  // first one alone; HTTP/1.1 allows exactly one.
  if (host === undefined || !allowedHosts.includes(host) || hostLines(request) > 1) {
    return {
      status: 421,
      type: 'MisdirectedRequest',
      code: 'LOC004',
      message:
        `LOC004: local mode answers only requests addressed to ${allowedHosts.join(', ')}; ` +
        `this one named ${hostLines(request) > 1 ? 'Host more than once' : `Host ${host === undefined ? '(none)' : quoted(host)}`}. ` +
        `Use http://127.0.0.1:${port} as the endpoint (other names are refused so that a web page cannot reach local mode through DNS rebinding).`,
    };
  }
  const method = (request.method ?? 'GET').toUpperCase();
  const origin = header(request.headers, 'origin');
  const site = header(request.headers, 'sec-fetch-site')?.toLowerCase();
  const navigation = (method === 'GET' || method === 'HEAD') && header(request.headers, 'sec-fetch-mode')?.toLowerCase() === 'navigate';
  const foreignOrigin = origin !== undefined && !localOrigins(port).includes(origin.toLowerCase());
  if (foreignOrigin || (site === 'cross-site' && !navigation)) {
    return {
      status: 403,
      type: 'AccessDeniedException',
      code: 'LOC005',
      message:
        `LOC005: local mode refuses browser requests from other sites (${origin !== undefined ? `Origin ${quoted(origin)}` : 'Sec-Fetch-Site: cross-site'}); ` +
        `only its own pages (http://127.0.0.1:${port}) may call it from a browser. ` +
        'Call it from a program, the CLI or curl, which send no Origin header.',
    };
  }
  const target = request.url ?? '/';
  if (!target.startsWith('/')) {
    return { status: 400, type: 'InvalidURI', message: 'The request target must be a path (origin-form), such as /info.' };
  }
  if (!isWellEncodedPath(target)) {
    return {
      status: 400,
      type: 'InvalidURI',
      message: 'The request path has malformed percent-encoding (a % must start an escape of valid UTF-8, such as %20 or %C3%A9, and none may be %00).',
    };
  }
  return undefined;
}

/**
 * The URL of a request the guard let through (its target starts with /). `new URL(target, base)`
 * would read a target such as `//x` as a host name, and throw on `//`.
 */
export function requestUrl(request: Pick<IncomingMessage, 'url'>): URL {
  return new URL(`http://127.0.0.1${request.url ?? '/'}`);
}

/**
 * s3rver keeps a bucket as a directory named after it, so a bucket named `..` (or holding a
 * slash) would reach the directory above its own (`GET /..` listed it). S3 bucket names are
 * letters, digits, dots and hyphens; such names are refused here.
 */
export function s3BucketCheck(request: Pick<IncomingMessage, 'url'>): Refusal | undefined {
  const target = request.url ?? '/';
  const end = target.search(/[?#]/);
  const bucket = decodeURIComponent((end < 0 ? target : target.slice(0, end)).split('/')[1] ?? '');
  if (bucket === '' || (/^[A-Za-z0-9._-]+$/.test(bucket) && bucket !== '.' && bucket !== '..')) return undefined;
  return { status: 400, type: 'InvalidBucketName', message: 'The specified bucket is not valid.' };
}

/** Whether a decoded object key, read as a path, climbs above the directory it starts in. */
export function climbsOut(key: string): boolean {
  let depth = 0;
  for (const segment of key.split(/[/\\]/)) {
    if (segment === '' || segment === '.') continue;
    depth += segment === '..' ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

export const KEY_OUTSIDE: Refusal = {
  status: 400,
  type: 'InvalidArgument',
  message: 'The object key climbs above its bucket with ".." segments; the S3 stand-in keeps keys as files and refuses it.',
};

/**
 * s3rver keeps an object as files at `<bucket directory>/<key>`, so a key such as
 * `../../../home/me/x` (or `..%2F..%2Fx`) made it write, read or delete files outside its
 * store (a PUT created `x._S3rver_object` in any folder the process may write). S3 allows
 * `..` in keys and the engine never uses it: a key that climbs above its bucket is refused,
 * in the path and in CopyObject's `x-amz-copy-source`, and a form upload, whose key is in
 * its body, is refused whole; `a/../b` stays inside and is let through.
 */
export function s3KeyCheck(request: Pick<IncomingMessage, 'url' | 'headers'> & { method?: string }): Refusal | undefined {
  const target = request.url ?? '/';
  const end = target.search(/[?#]/);
  const path = decodeURIComponent(end < 0 ? target : target.slice(0, end));
  const key = path.split('/').slice(2).join('/');
  if (climbsOut(key)) return KEY_OUTSIDE;
  // A browser form upload (POST Object) names its key in the body, where this check cannot
  // look; the engine never uses it.
  const contentType = request.headers?.['content-type'];
  if (request.method === 'POST' && key === '' && typeof contentType === 'string' && /^multipart\/form-data/i.test(contentType)) {
    return { status: 400, type: 'InvalidArgument', message: 'Browser form uploads (POST Object) are not supported by the S3 stand-in; use PutObject.' };
  }
  const copySource = request.headers?.['x-amz-copy-source'];
  if (typeof copySource === 'string') {
    const source = decodeURIComponent(copySource.split('?')[0]!).replace(/^\//, '');
    const [bucket = '', ...rest] = source.split('/');
    if (bucket === '.' || bucket === '..' || !/^[A-Za-z0-9._-]*$/.test(bucket)) return { status: 400, type: 'InvalidBucketName', message: 'The specified bucket is not valid.' };
    if (climbsOut(rest.join('/'))) return KEY_OUTSIDE;
  }
  return undefined;
}

export type RefusalFormat = 'json' | 'xml';

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON carries the AWS JSON shape (`__type`, `message`) and `error: { code, message }`; S3 gets its XML error. */
export function refusalBody(refusal: Refusal, format: RefusalFormat): { contentType: string; body: string } {
  if (format === 'xml') {
    const code = refusal.status === 403 ? 'AccessDenied' : refusal.type;
    return {
      contentType: 'application/xml',
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(refusal.message)}</Message></Error>`,
    };
  }
  return {
    contentType: 'application/json',
    body: JSON.stringify({
      __type: refusal.type,
      message: refusal.message,
      error: { code: refusal.code ?? refusal.type, message: refusal.message },
    }),
  };
}

function refuse(request: IncomingMessage, response: ServerResponse, refusal: Refusal, format: RefusalFormat): void {
  const { contentType, body } = refusalBody(refusal, format);
  // The body is read and dropped, so a client still sending it gets the answer, not a reset.
  request.resume();
  response.writeHead(refusal.status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-ErrorType': refusal.type,
  });
  response.end(body);
}

export interface GuardOptions {
  /** How refusals are written: JSON (default) or S3's XML. */
  format?: RefusalFormat;
  /** A server's own check, run after the common one (requests its library would mishandle). */
  check?: (request: IncomingMessage) => Refusal | undefined;
}

/**
 * Puts the check in front of every request listener the server has (its own, or those of a
 * library such as express or koa that made it). The port is read per request, so the guard
 * may be installed before or after the server listens.
 */
export function guardServer(server: Server, options: GuardOptions = {}): void {
  const format = options.format ?? 'json';
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const address = server.address() as AddressInfo | null;
    let refusal: Refusal | undefined;
    try {
      refusal = checkLocalRequest(request, address?.port ?? 0) ?? options.check?.(request);
    } catch (error) {
      // A check that throws must not end the process: the request is what it could not read.
      refusal = { status: 400, type: 'BadRequest', message: `The request could not be read: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (refusal) {
      refuse(request, response, refusal, format);
      return;
    }
    for (const listener of listeners) listener.call(server, request, response);
  });
}
