/**
 * The SES v2 stand-in (aws-ses-v2-local) in local mode's own process: its HTTP server serves
 * the mail viewer, `GET /store` and every SES v2 call from outside, and the engine's own
 * SendEmail calls reach the same stand-in code in-process (`route`): the stand-in's own
 * SendEmail handler validates the request and keeps the mail in the same store the viewer
 * shows, without an HTTP round trip per email. Both paths first apply the rules SES has and
 * the stand-in lacks (`ses-send-rules.ts`). The engine's calls also meet the account's
 * sending quota (`ses-quota.ts`, unlimited unless set): SendEmail above it is refused as SES
 * refuses it, and GetAccount reports it. GetEmailIdentity, which the stand-in lacks, answers
 * every identity as verified with DKIM signing (the stand-in takes mail from any sender), so
 * the deliverability check runs its whole path against local mode.
 */
import type { IncomingMessage, RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import type { HttpRequest } from '@smithy/core/transport';
import type { InProcessResponse, InProcessRoute } from './in-process-handler.js';
import { PortInUseError, StandInStartError } from './stand-ins.js';
import { closeLocal } from './local-server.js';
import { currentSesQuota, enforceSesSendRules, useSesQuota, type StandInHandler, type StandInResponse } from './ses-send-rules.js';
import { SesQuota, type SesQuotaOptions } from './ses-quota.js';
import { guardServer, requestUrl, type Refusal } from './request-guard.js';
// A default import of a CommonJS module is its module.exports: the store the stand-in's server keeps its mail in.
import sesStore from 'aws-ses-v2-local/dist/store.js';

const SEND_EMAIL_PATH = '/v2/email/outbound-emails';
const ACCOUNT_PATH = '/v2/email/account';
/** The stand-in's own request size limit (its express.json limit); larger requests go over HTTP and get its answer. */
const STAND_IN_BODY_LIMIT = 25 * 1024 * 1024;

export interface RunningSesStandIn {
  port: number;
  endpoint: string;
  /** Answers the engine's SendEmail calls in-process; everything else goes over HTTP. */
  route: InProcessRoute;
  /** The account's sending quota the engine's calls meet. */
  quota: SesQuota;
  stop(): Promise<void>;
}

/** Checks the port is free first: the stand-in's start resolves even when listen fails. */
async function freePort(host: string, port: number): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? new PortInUseError('ses', port) : new StandInStartError('ses', error.message));
    });
    probe.listen(port, host, () => resolve());
  });
  const chosen = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return chosen;
}

/** Calls the stand-in's SendEmail handler as its HTTP server would, and collects its answer. */
function callStandIn(handler: StandInHandler, request: HttpRequest, body: string): Promise<InProcessResponse> {
  return new Promise((resolve, reject) => {
    let parsed: unknown;
    try {
      parsed = body.length === 0 ? {} : JSON.parse(body);
    } catch {
      resolve({ statusCode: 400, body: JSON.stringify({ message: 'Bad Request Exception', detail: 'The request body is not valid JSON.' }) });
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    let statusCode = 200;
    const answerHeaders: Record<string, string> = {};
    const res: StandInResponse = {
      status(code) {
        statusCode = code;
        return res;
      },
      set(name, value) {
        answerHeaders[name] = value;
        return res;
      },
      send(payload) {
        const text = typeof payload === 'string' ? payload : JSON.stringify(payload ?? {});
        resolve({ statusCode, ...(Object.keys(answerHeaders).length > 0 ? { headers: answerHeaders } : {}), body: text });
        return res;
      },
    };
    try {
      handler({ body: parsed, headers, header: (name) => headers[name.toLowerCase()] }, res, (error) =>
        reject(error instanceof Error ? error : new Error(`The SES stand-in failed: ${String(error)}`)),
      );
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

type ErrorMiddleware = (error: unknown, req: unknown, res: ExpressResponse, next: unknown) => void;

interface ExpressResponse extends StandInResponse {
  headersSent: boolean;
  end(): void;
}

interface ExpressApp {
  use?: (handler: ErrorMiddleware) => void;
  router?: { stack?: { route?: { path?: unknown; methods?: Record<string, boolean>; stack?: { handle: unknown }[] } }[] };
}

const SES_V1_ACTIONS = new Set(['SendEmail', 'SendRawEmail']);

/**
 * The stand-in's POST / (SES v1's query API) answers only SendEmail and SendRawEmail and
 * leaves any other Action without an answer, so the caller would wait forever. Its handler is
 * wrapped to answer those 400 instead. (Without the route in the expected place, nothing changes.)
 */
function answerUnknownV1Actions(server: Server): void {
  const app = server.listeners('request')[0] as unknown as ExpressApp | undefined;
  const route = app?.router?.stack?.find((layer) => layer.route?.path === '/' && layer.route.methods?.post)?.route;
  const layer = route?.stack?.[0];
  if (!layer || typeof layer.handle !== 'function') return;
  const original = layer.handle as StandInHandler;
  const wrapped: StandInHandler = (req, res, next) => {
    const action = (req.body as { Action?: unknown } | undefined)?.Action;
    if (typeof action === 'string' && SES_V1_ACTIONS.has(action)) {
      original(req, res, next);
      return;
    }
    res.status(400).send({
      message: 'Bad Request Exception',
      detail: `aws-ses-v2-local serves only the SES v1 actions SendEmail and SendRawEmail at POST /, not ${typeof action === 'string' ? JSON.stringify(action.slice(0, 100)) : 'a request without Action'}.`,
    });
  };
  layer.handle = wrapped;
}

/**
 * The stand-in's handlers throw on some requests (a body the parsers cannot read, a second
 * answer after an early 400), which express answers with HTTP 500 and an
 * HTML stack trace. The request is at fault: the last middleware of its express app answers
 * 400 (or the body parser's own 4xx, such as 413) in the stand-in's error shape.
 */
function answerHandlerErrors(server: Server): void {
  const app = server.listeners('request')[0] as unknown as ExpressApp | undefined;
  // express tells error middleware by its four parameters.
  app?.use?.((error, _req, res, _next) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    const given = (error as { status?: unknown; statusCode?: unknown } | undefined)?.status ?? (error as { statusCode?: unknown } | undefined)?.statusCode;
    const status = typeof given === 'number' && given >= 400 && given < 500 ? given : 400;
    const reason = error instanceof Error ? error.message : String(error);
    res.status(status).send({ message: 'Bad Request Exception', detail: `aws-ses-v2-local could not read the request: ${reason}` });
  });
}

const IDENTITY_PATH = /^\/v2\/email\/identities\/([^/]+)\/?$/;

/** SES v2 GetEmailIdentity as SES answers it for an identity verified with Easy DKIM (no custom MAIL FROM). */
export function localEmailIdentity(identity: string): Record<string, unknown> {
  return {
    IdentityType: identity.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN',
    FeedbackForwardingStatus: true,
    VerifiedForSendingStatus: true,
    VerificationStatus: 'SUCCESS',
    DkimAttributes: { SigningEnabled: true, Status: 'SUCCESS', Tokens: [], SigningAttributesOrigin: 'AWS_SES' },
    MailFromAttributes: { BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' },
    Policies: {},
    Tags: [],
  };
}

/** GET /v2/email/identities/<identity>, which the stand-in would answer 404 UnknownOperation. */
function answerEmailIdentities(server: Server): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response) => {
    const match = request.method === 'GET' && request.url?.startsWith('/v2/email/identities/') ? IDENTITY_PATH.exec(requestUrl(request).pathname) : null;
    if (match) {
      let identity: string;
      try {
        identity = decodeURIComponent(match[1]!);
      } catch {
        identity = match[1]!;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(localEmailIdentity(identity)));
      return;
    }
    for (const listener of listeners) listener.call(server, request, response);
  });
}

/**
 * The viewer's /get-emlContent and /store answer a bad query with 400 and then carry on: the
 * second answer throws, and for /get-emlContent it throws in a promise, which would end local
 * mode's process. Those queries are answered here instead, before the stand-in sees them.
 */
function viewerQueryCheck(request: IncomingMessage): Refusal | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  const url = requestUrl(request);
  // As express matches routes: in any case, with or without a trailing slash.
  const path = decodeURIComponent(url.pathname).toLowerCase().replace(/\/+$/, '');
  const bad = (message: string): Refusal => ({ status: 400, type: 'BadRequestException', message });
  if (path === '/get-emlcontent') {
    const ids = url.searchParams.getAll('messageId');
    if (ids.length !== 1 || ids[0] === '') return bad('Pass one messageId of a caught email: /get-emlContent?messageId=<id>.');
    if (!sesStore.getStoreReadonly().emails.some((email) => email.messageId === ids[0])) return bad('Email not found within the store');
  }
  if (path === '/store' && url.searchParams.has('since')) {
    const since = url.searchParams.getAll('since');
    if (since.length !== 1 || !/^-?\d+$/.test(since[0]!) || String(parseInt(since[0]!, 10)) !== since[0]) {
      return bad('Bad since query param, expected integer representing epoch timestamp in seconds');
    }
  }
  return undefined;
}

export async function startSesStandIn(host: string, port: number, quotaOptions: SesQuotaOptions = {}): Promise<RunningSesStandIn> {
  const chosen = await freePort(host, port);
  // Imported here, not at the top: only local mode's start needs the stand-in's server (express and its mail parsing).
  const sesLocal = (await import('aws-ses-v2-local')).default as unknown as { default: (c: { host: string; port: number }) => Promise<Server> };
  const sendEmail = enforceSesSendRules();
  const server = await sesLocal.default({ host, port: chosen });
  if (!server.listening) throw new PortInUseError('ses', port);
  // Installed before any request can arrive: the listen callback resolved just now.
  answerUnknownV1Actions(server);
  answerHandlerErrors(server);
  answerEmailIdentities(server);
  guardServer(server, { check: viewerQueryCheck });
  const actual = (server.address() as AddressInfo).port;
  const quota = new SesQuota(quotaOptions);
  useSesQuota(quota);
  const route: InProcessRoute = (request, body) => {
    const auth = request.headers.authorization ?? request.headers.Authorization;
    if (!auth?.startsWith('AWS')) return undefined; // the server answers unsigned requests itself
    if (request.method === 'GET' && request.path === ACCOUNT_PATH) {
      return Promise.resolve({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(quota.account()) });
    }
    if (request.method !== 'POST' || request.path !== SEND_EMAIL_PATH || body.length > STAND_IN_BODY_LIMIT) return undefined;
    return callStandIn(sendEmail, request, body);
  };
  return {
    port: actual,
    endpoint: `http://${host}:${actual}`,
    route,
    quota,
    stop: () => {
      // The quota is the process's (the stand-in's handlers are); a later stand-in starts unlimited.
      if (currentSesQuota() === quota) useSesQuota(new SesQuota());
      return closeLocal(server);
    },
  };
}
