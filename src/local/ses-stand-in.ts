/**
 * The SES v2 stand-in (aws-ses-v2-local) in local mode's own process: its HTTP server serves
 * the mail viewer, `GET /store` and every SES v2 call from outside, and the engine's own
 * SendEmail calls reach the same stand-in code in-process (`route`): the stand-in's own
 * SendEmail handler validates the request and keeps the mail in the same store the viewer
 * shows, without an HTTP round trip per email.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import type { HttpRequest } from '@smithy/core/transport';
import type { InProcessResponse, InProcessRoute } from './in-process-handler.js';
import { PortInUseError, StandInStartError } from './stand-ins.js';
import { closeLocal } from './local-server.js';
import { guardServer } from './request-guard.js';

const require = createRequire(import.meta.url);

const SEND_EMAIL_PATH = '/v2/email/outbound-emails';
/** The stand-in's own request size limit (its express.json limit); larger requests go over HTTP and get its answer. */
const STAND_IN_BODY_LIMIT = 25 * 1024 * 1024;

interface StandInRequest {
  body: unknown;
  headers: Record<string, string>;
  header(name: string): string | undefined;
}

interface StandInResponse {
  status(code: number): StandInResponse;
  send(payload: unknown): StandInResponse;
}

type StandInHandler = (req: StandInRequest, res: StandInResponse, next: (error?: unknown) => void) => void;

export interface RunningSesStandIn {
  port: number;
  endpoint: string;
  /** Answers the engine's SendEmail calls in-process; everything else goes over HTTP. */
  route: InProcessRoute;
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
    const res: StandInResponse = {
      status(code) {
        statusCode = code;
        return res;
      },
      send(payload) {
        resolve({ statusCode, body: typeof payload === 'string' ? payload : JSON.stringify(payload ?? {}) });
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

export async function startSesStandIn(host: string, port: number): Promise<RunningSesStandIn> {
  const chosen = await freePort(host, port);
  const sesLocal = require('aws-ses-v2-local') as { default: (c: { host: string; port: number }) => Promise<Server> };
  const sendEmail = (require('aws-ses-v2-local/dist/v2/sendEmail.js') as { default: StandInHandler }).default;
  const server = await sesLocal.default({ host, port: chosen });
  if (!server.listening) throw new PortInUseError('ses', port);
  // Installed before any request can arrive: the listen callback resolved just now.
  guardServer(server);
  const actual = (server.address() as AddressInfo).port;
  const route: InProcessRoute = (request, body) => {
    if (request.method !== 'POST' || request.path !== SEND_EMAIL_PATH || body.length > STAND_IN_BODY_LIMIT) return undefined;
    const auth = request.headers.authorization ?? request.headers.Authorization;
    if (!auth?.startsWith('AWS')) return undefined; // the server answers unsigned requests itself
    return callStandIn(sendEmail, request, body);
  };
  return {
    port: actual,
    endpoint: `http://${host}:${actual}`,
    route,
    stop: () => closeLocal(server),
  };
}
