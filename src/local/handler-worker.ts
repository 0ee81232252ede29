/**
 * One handler worker of local mode: a thread that plays the part of a Lambda container. It
 * builds its own AWS clients and handler instances (its own caches, as a container has) and
 * runs the batches the main process gives it. Calls to what lives in the main process (the
 * DynamoDB store, the SES stand-in, the local EventBridge/SQS endpoint) are forwarded there
 * over the thread's message port; S3 goes to its stand-in over HTTP.
 *
 * Messages, main → worker: { type: 'invoke', id, handler, event } and { type: 'aws-reply', id, response }.
 * Worker → main: { type: 'ready' }, { type: 'result', id, response }, { type: 'failed', id, message },
 * { type: 'aws', id, service, method, path, headers, body } and, when asked for, { type: 'log', handler, entry }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SQSEvent } from 'aws-lambda';
import type { Env } from '../../functions/lib/env.js';
import type { InProcessResponse, InProcessRoute } from './in-process-handler.js';
import { buildLocalClients, type LocalClientOptions, type LocalService } from './local-clients.js';
import type { SqsHandler } from './local-queue.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export type WorkerHandlerName = 'emailSender' | 'feedbackProcessor';

export interface WorkerSetup {
  env: Env;
  clients: Omit<LocalClientOptions, 'routes'>;
  /** Services the main process answers in-process (forwarded to it); the rest go over HTTP. */
  forwarded: LocalService[];
  /** Send the handlers' structured log entries to the main process. */
  logs: boolean;
}

export type MainToWorker =
  | { type: 'invoke'; id: number; handler: WorkerHandlerName; event: SQSEvent }
  | { type: 'aws-reply'; id: number; response: InProcessResponse | null };

export type WorkerToMain =
  | { type: 'ready' }
  | { type: 'result'; id: number; response: unknown }
  | { type: 'failed'; id: number; message: string }
  | { type: 'aws'; id: number; service: LocalService; method: string; path: string; headers: Record<string, string>; body: string }
  | { type: 'log'; handler: WorkerHandlerName; entry: Record<string, unknown> };

const port = parentPort;
if (!port) throw new Error('handler-worker.js runs only as a worker thread.');
const setup = workerData as WorkerSetup;
const post = (message: WorkerToMain) => port.postMessage(message);

let nextCall = 0;
const pendingCalls = new Map<number, (response: InProcessResponse | undefined) => void>();

function forwardTo(service: LocalService): InProcessRoute {
  return (request, body) =>
    new Promise((resolve) => {
      const id = (nextCall += 1);
      pendingCalls.set(id, resolve);
      post({ type: 'aws', id, service, method: request.method, path: request.path, headers: { ...request.headers }, body });
    });
}

const routes = Object.fromEntries(setup.forwarded.map((service) => [service, forwardTo(service)]));
const { clients } = buildLocalClients({ ...setup.clients, routes });
const depsFor = (handler: WorkerHandlerName) => ({
  clients,
  env: setup.env,
  now: () => new Date(),
  log: setup.logs ? (entry: Record<string, unknown>) => post({ type: 'log', handler, entry }) : () => undefined,
});

const [sender, feedback] = await Promise.all([import('../../functions/email-sender/handler.js'), import('../../functions/feedback-processor/handler.js')]);
const handlers: Record<WorkerHandlerName, SqsHandler> = {
  emailSender: sender.createEmailSenderHandler(depsFor('emailSender')),
  feedbackProcessor: feedback.createFeedbackProcessorHandler(depsFor('feedbackProcessor')),
};

port.on('message', (message: MainToWorker) => {
  if (message.type === 'aws-reply') {
    const resolve = pendingCalls.get(message.id);
    pendingCalls.delete(message.id);
    resolve?.(message.response ?? undefined);
    return;
  }
  if (message.type === 'invoke') {
    const handler = handlers[message.handler];
    Promise.resolve()
      .then(() => handler(message.event))
      .then(
        (response) => post({ type: 'result', id: message.id, response: response ?? null }),
        (error: unknown) => post({ type: 'failed', id: message.id, message: error instanceof Error ? error.message : String(error) }),
      );
  }
});
post({ type: 'ready' });
