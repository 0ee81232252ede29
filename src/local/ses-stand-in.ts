/**
 * The SES v2 stand-in (aws-ses-v2-local) in local mode's own process: its HTTP server serves
 * the mail viewer, `GET /store` and every SES v2 call from outside, and the engine's own
 * SendEmail calls reach the same stand-in code in-process (`route`): the stand-in's own
 * SendEmail handler validates the request and keeps the mail in the same store the viewer
 * shows, without an HTTP round trip per email. Both paths first apply the rules SES has and
 * the stand-in lacks (`ses-send-rules.ts`). The engine's calls also meet the account's
 * sending quota (`ses-quota.ts`, unlimited unless set): SendEmail above it is refused as SES
 * refuses it, and GetAccount reports it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import type { HttpRequest } from '@smithy/core/transport';
import type { InProcessResponse, InProcessRoute } from './in-process-handler.js';
import { PortInUseError, StandInStartError } from './stand-ins.js';
import { closeLocal } from './local-server.js';
import { currentSesQuota, enforceSesSendRules, useSesQuota, type StandInHandler, type StandInResponse } from './ses-send-rules.js';
import { SesQuota, type SesQuotaOptions } from './ses-quota.js';

const require = createRequire(import.meta.url);

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

export async function startSesStandIn(host: string, port: number, quotaOptions: SesQuotaOptions = {}): Promise<RunningSesStandIn> {
  const chosen = await freePort(host, port);
  const sesLocal = require('aws-ses-v2-local') as { default: (c: { host: string; port: number }) => Promise<Server> };
  const sendEmail = enforceSesSendRules();
  const server = await sesLocal.default({ host, port: chosen });
  if (!server.listening) throw new PortInUseError('ses', port);
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
