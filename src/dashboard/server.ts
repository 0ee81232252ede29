import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkLocalRequest } from '../local/request-guard.js';
import { CliError } from '../errors.js';
import { matchRoute, type Route } from './routes.js';
import type { PageFile } from './static-files.js';
import { isAuthorized, newToken, sameToken } from './token.js';

/**
 * The dashboard's HTTP server, on 127.0.0.1 only. Before anything else each request passes
 * local mode's check (src/local/request-guard.ts: a foreign Host → 421, a cross-site Origin →
 * 403, a malformed path → 400). `/?token=` checks the token and redirects to `/#token=`, where
 * the page takes it; the page's files need no token, the API needs it as
 * `Authorization: Bearer` (401 without it). GET serves the files and the read-only API; an
 * action is a POST with a JSON object holding `"confirm": true`. A bad request gets a 4xx
 * with a code (DSH0xx) and never reaches a handler; a failure behind a handler (AWS,
 * local mode gone) is a 502, and no answer from it within its deadline a 504.
 */

/** The largest action body read, in bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * How long a handler may take before its request gets a 504: an engine that accepts the
 * connection and never answers (local mode paused, a black-holed endpoint) must not leave a
 * panel loading for ever. A route may need longer (a redrive waits for its move tasks).
 */
export const HANDLER_TIMEOUT_MS = 20_000;

export interface DashboardServerOptions {
  token: string;
  routes: readonly Route[];
  page: Map<string, PageFile>;
  /** 0 picks a free port. */
  port: number;
  /** A handler's deadline (default HANDLER_TIMEOUT_MS); a route's own `timeoutMs` wins. */
  handlerTimeoutMs?: number;
}

export interface DashboardServer {
  url: string;
  port: number;
  /**
   * A URL that opens the page once, within a minute, for `--open`: the browser it starts may
   * keep its URL in its command line, which other users of the machine can read, so that
   * URL holds a ticket used up by the first load rather than the run's token.
   */
  oneTimeUrl(): string;
  close(): Promise<void>;
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const COMMON_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** A refusal with its status and the project's code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fix?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(response: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer, head = false): void {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  response.writeHead(status, { ...COMMON_HEADERS, ...headers, 'Content-Length': String(data.length) });
  response.end(head ? undefined : data);
}

function sendJson(response: ServerResponse, status: number, value: unknown, head = false, headers: Record<string, string> = {}): void {
  send(response, status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers }, JSON.stringify(value), head);
}

function sendError(response: ServerResponse, error: HttpError, head = false): void {
  sendJson(response, error.status, { error: { code: error.code, message: error.message, ...(error.fix ? { fix: error.fix } : {}) } }, head, error.headers);
}

const NO_TOKEN = (): HttpError =>
  new HttpError(
    401,
    'DSH003',
    'DSH003: this request carries no valid dashboard token.',
    'Open the URL `sesmailengine dashboard` printed for this run (with its ?token=), or send Authorization: Bearer <token>.',
  );

/**
 * What a browser that opens the dashboard without its token sees: a page (fixed text, no
 * data) saying where the URL comes from. Scripts and the API get the JSON error.
 */
const NO_TOKEN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SESMailEngine dashboard</title></head>
<body>
<h1>This dashboard needs its link</h1>
<p>Open the URL that <code>sesmailengine dashboard</code> printed when it started, with its
<code>?token=</code>. Each run has its own token: after a restart, use the new URL.</p>
<p>(DSH003: this request carries no valid dashboard token.)</p>
</body></html>
`;

function wantsPage(request: IncomingMessage, path: string, method: string): boolean {
  return (method === 'GET' || method === 'HEAD') && path === '/' && /\btext\/html\b/i.test(String(request.headers.accept ?? ''));
}

function refuseWithoutToken(request: IncomingMessage, response: ServerResponse, path: string, method: string): void {
  request.resume();
  const head = method === 'HEAD';
  if (wantsPage(request, path, method)) send(response, 401, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }, NO_TOKEN_PAGE, head);
  else sendError(response, NO_TOKEN(), head);
}

/** Reads a JSON object body: application/json, at most MAX_BODY_BYTES, an object. */
export async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const type = String(request.headers['content-type'] ?? '');
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(415, 'DSH004', `DSH004: an action takes Content-Type: application/json, got ${type === '' ? 'none' : JSON.stringify(type.slice(0, 80))}.`);
  }
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    throw new HttpError(413, 'DSH004', `DSH004: an action's body is at most ${MAX_BODY_BYTES} bytes; this one declares ${declared}.`, undefined, { Connection: 'close' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'DSH004', `DSH004: an action's body is at most ${MAX_BODY_BYTES} bytes.`, undefined, { Connection: 'close' });
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 'DSH004', `DSH004: the body is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'DSH004', 'DSH004: the body must be a JSON object.');
  const body = value as Record<string, unknown>;
  if (body.confirm !== true) {
    throw new HttpError(400, 'DSH004', 'DSH004: an action needs "confirm": true in its body.', 'The page sends it once you accept its confirmation; a script must send it on purpose.');
  }
  return body;
}

/** The handler's answer, or a 504 (DSH008) once `ms` have passed without one. */
async function withinDeadline<T>(work: Promise<T>, ms: number, path: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HttpError(504, 'DSH008', `DSH008: the engine did not answer ${path} within ${ms / 1000} s (local mode stopped or paused, or AWS out of reach).`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a handler's error becomes: a CliError (a refused input, a safeguard) is the caller's 4xx; the rest a 502. */
function answerOfError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof CliError) {
    const status = error.exitCode === 2 || /^(OPS004|DSH004)$/.test(error.code) ? 400 : 409;
    return new HttpError(status, error.code, error.message, error.fix);
  }
  const e = error as { name?: string; message?: string };
  return new HttpError(502, 'DSH008', `DSH008: the engine could not be read: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`);
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return (Array.isArray(value) ? value.join(',') : value)?.toLowerCase();
}

/** How long a one-time URL stays valid. */
export const TICKET_TTL_MS = 60_000;

/** Single-use tickets and when each expires. */
export type Tickets = Map<string, number>;

/** Takes a ticket if it is there and not expired; it cannot be used again either way. */
function takeTicket(tickets: Tickets, given: string): boolean {
  for (const [ticket, expires] of tickets) if (expires < Date.now()) tickets.delete(ticket);
  for (const ticket of tickets.keys()) {
    if (sameToken(given, ticket)) {
      tickets.delete(ticket);
      return true;
    }
  }
  return false;
}

export async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  port: number,
  options: DashboardServerOptions,
  tickets: Tickets = new Map(),
): Promise<void> {
  const method = (request.method ?? 'GET').toUpperCase();
  const head = method === 'HEAD';
  const refusal = checkLocalRequest(request, port);
  if (refusal) {
    request.resume();
    const code = refusal.status === 421 ? 'DSH005' : refusal.status === 403 ? 'DSH006' : 'DSH004';
    const message =
      refusal.status === 421
        ? `DSH005: the dashboard answers only requests addressed to 127.0.0.1:${port} (or localhost/[::1]); other names are refused so that a web page cannot reach it through DNS rebinding.`
        : refusal.status === 403
          ? 'DSH006: the dashboard refuses browser requests from other sites; only its own page may call it.'
          : `DSH004: ${refusal.message}`;
    sendError(response, new HttpError(refusal.status, code, message), head);
    return;
  }
  // A page of another server on 127.0.0.1 is the same site, and its <script src>, <img> or
  // no-cors fetch comes without an Origin. Only the dashboard's own page calls it, so a
  // same-site request is refused unless it opens a page.
  if (header(request, 'sec-fetch-site') === 'same-site' && !(header(request, 'sec-fetch-mode') === 'navigate' && (method === 'GET' || head))) {
    request.resume();
    sendError(response, new HttpError(403, 'DSH006', 'DSH006: the dashboard refuses browser requests from other sites and from pages of other ports of 127.0.0.1; only its own page may call it.'), head);
    return;
  }
  const url = new URL(`http://127.0.0.1${request.url ?? '/'}`);
  const path = url.pathname;

  // The first load: the token from the printed URL (or a one-time ticket) moves into the
  // fragment, which the page keeps in sessionStorage and removes from the address bar.
  const key = url.searchParams.has('token') ? 'token' : url.searchParams.has('ticket') ? 'ticket' : undefined;
  if (path === '/' && key && (method === 'GET' || head)) {
    // Exactly one: with two, which one counts would depend on the order they came in.
    const given = url.searchParams.getAll(key);
    const valid = given.length === 1 && (key === 'token' ? sameToken(given[0], options.token) : !head && takeTicket(tickets, given[0]!));
    if (!valid) {
      refuseWithoutToken(request, response, path, method);
      return;
    }
    request.resume();
    send(response, 303, { Location: `/#token=${encodeURIComponent(options.token)}`, 'Cache-Control': 'no-store' }, '', head);
    return;
  }

  if (path === '/api' || path.startsWith('/api/')) {
    if (!isAuthorized(request.headers, options.token)) {
      refuseWithoutToken(request, response, path, method);
      return;
    }
    const match = matchRoute(options.routes, method, path);
    if ('status' in match) {
      request.resume();
      if (match.status === 404) sendError(response, new HttpError(404, 'DSH007', `DSH007: no API route ${path}.`), head);
      else sendError(response, new HttpError(405, 'DSH007', `DSH007: ${path} takes ${match.allow.join(', ')}.`, undefined, { Allow: match.allow.join(', ') }), head);
      return;
    }
    try {
      const body = match.route.method === 'POST' ? await readJsonBody(request) : (request.resume(), {});
      const timeout = match.route.timeoutMs ?? options.handlerTimeoutMs ?? HANDLER_TIMEOUT_MS;
      const value = await withinDeadline(match.route.handler({ query: url.searchParams, body }), timeout, path);
      sendJson(response, 200, value, head);
    } catch (error) {
      if (!request.readableEnded) request.resume();
      sendError(response, answerOfError(error), head);
    }
    return;
  }

  // The page's three files hold no data: they are served without the token, which the page
  // then sends with each API request.
  request.resume();
  const file = options.page.get(path);
  if (!file) {
    sendError(response, new HttpError(404, 'DSH007', 'DSH007: not found.'), head);
    return;
  }
  if (method !== 'GET' && !head) {
    sendError(response, new HttpError(405, 'DSH007', `DSH007: ${path} takes GET, HEAD.`, undefined, { Allow: 'GET, HEAD' }), head);
    return;
  }
  send(response, 200, { 'Content-Type': file.type, 'Cache-Control': 'no-store' }, file.body, head);
}

/** Starts the server on 127.0.0.1; DSH001 when the port cannot be had. */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const server: Server = createServer({ requestTimeout: 60_000, headersTimeout: 30_000 });
  const tickets: Tickets = new Map();
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const port = (server.address() as AddressInfo).port;
    handle(request, response, port, options, tickets).catch((error: unknown) => {
      // Unreachable in practice; the process must still not end on a request.
      if (!response.headersSent) sendError(response, new HttpError(400, 'DSH004', `The request could not be read: ${(error as Error)?.message ?? String(error)}`));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new CliError(
          'DSH001',
          `The dashboard cannot listen on 127.0.0.1:${options.port} (${error.code ?? error.message}).`,
          'Pass another --port, or leave it out to pick a free port.',
          { cause: error },
        ),
      );
    });
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    oneTimeUrl: () => {
      const ticket = newToken();
      tickets.set(ticket, Date.now() + TICKET_TTL_MS);
      return `http://127.0.0.1:${port}/?ticket=${ticket}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
