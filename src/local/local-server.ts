/**
 * The HTTP server of local mode (127.0.0.1 only):
 *   POST /  X-Amz-Target: AWSEvents.<op>   EventBridge (PutEvents), AWS JSON 1.1
 *   POST /  X-Amz-Target: AmazonSQS.<op>   SQS (SendMessage, …), AWS JSON 1.0
 *   GET  /events     the "Email Status Changed" log (?emailId=, ?toEmail=, ?status=)
 *   GET  /queues     depths of the send and feedback queues and their DLQs
 *   GET  /info       the JSON line `--json` prints (how `sesmailengine <command> --local` finds everything)
 *   GET|POST /unsubscribe   the Unsubscribe handler, as its function URL would serve it
 *   /schedules[/{Name}]  EventBridge Scheduler (REST-JSON): one-time schedules (local-scheduler.ts)
 *   GET  /health
 * Signatures are not checked: any SigV4-signed request (any key) is accepted. A foreign Host,
 * a cross-site browser request and a malformed path are refused first (request-guard.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AwsJsonError } from './put-events.js';
import { handleSqsOperation, type QueueDirectory } from './sqs-protocol.js';
import type { LocalEventBus } from './local-bus.js';
import type { LocalQueue } from './local-queue.js';
import type { StatusLog } from './status-log.js';
import { PortInUseError } from './stand-ins.js';
import { guardServer, requestUrl } from './request-guard.js';

export type UnsubscribeHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LocalServerOptions {
  bus: LocalEventBus;
  queues: QueueDirectory;
  /** Queues listed by GET /queues. */
  listedQueues: LocalQueue[];
  statusLog: StatusLog;
  unsubscribe?: UnsubscribeHandler;
  /** Serves EventBridge Scheduler's one-time schedules (local-scheduler.ts); undefined: not a schedules path. */
  scheduler?: { handle(method: string, url: URL, rawBody: string): AwsResponse | undefined };
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** What GET /info answers: the engine's info (the same object as the --json line). */
  info?: unknown;
}

export interface AwsResponse {
  status: number;
  contentType: string;
  body: string;
}

function json(status: number, body: unknown, contentType = 'application/json'): AwsResponse {
  return { status, contentType, body: JSON.stringify(body) };
}

/**
 * Answers one AWS JSON request (target + raw body). Kept apart from HTTP so the same
 * code answers requests that never leave the process.
 */
export function handleAwsRequest(target: string, rawBody: string, options: Pick<LocalServerOptions, 'bus' | 'queues'>): AwsResponse {
  const dot = target.indexOf('.');
  const service = dot < 0 ? '' : target.slice(0, dot);
  const operation = dot < 0 ? target : target.slice(dot + 1);
  const contentType = service === 'AmazonSQS' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
  try {
    let body: unknown;
    try {
      body = rawBody.length === 0 ? {} : JSON.parse(rawBody);
    } catch {
      throw new AwsJsonError('SerializationException', 'The request body is not valid JSON.');
    }
    if (service === 'AWSEvents' && operation === 'PutEvents') return json(200, options.bus.putEvents(body), contentType);
    if (service === 'AmazonSQS') return json(200, handleSqsOperation(operation, body, options.queues), contentType);
    throw new AwsJsonError(
      'UnknownOperationException',
      target ? `Local mode does not serve the operation ${target}.` : 'The request has no X-Amz-Target header.',
    );
  } catch (error) {
    if (error instanceof AwsJsonError) return json(error.status, error.toBody(), contentType);
    return json(500, { __type: 'InternalFailure', message: error instanceof Error ? error.message : String(error) }, contentType);
  }
}

function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, result: AwsResponse): void {
  response.writeHead(result.status, {
    'Content-Type': result.contentType,
    'Content-Length': Buffer.byteLength(result.body),
    'x-amzn-RequestId': crypto.randomUUID(),
  });
  response.end(result.body);
}

function unsubscribeEvent(request: IncomingMessage, url: URL, body: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: crypto.randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length > 0 ? body : undefined,
    isBase64Encoded: false,
  };
}

async function route(request: IncomingMessage, response: ServerResponse, options: LocalServerOptions): Promise<void> {
  const url = requestUrl(request);
  const limit = options.maxBodyBytes ?? 2 * 1024 * 1024;
  const body = await readBody(request, limit);
  if (body === undefined) {
    send(response, json(413, { __type: 'RequestEntityTooLarge', message: `The request body is larger than ${limit} bytes.` }));
    return;
  }
  const target = request.headers['x-amz-target'];
  const scheduled = options.scheduler?.handle(request.method ?? 'GET', url, body);
  if (scheduled) {
    send(response, scheduled);
    return;
  }
  if (request.method === 'POST' && (typeof target === 'string' || url.pathname === '/')) {
    send(response, handleAwsRequest(typeof target === 'string' ? target : '', body, options));
    return;
  }
  if (url.pathname === '/unsubscribe' || url.pathname.startsWith('/unsubscribe/')) {
    if (!options.unsubscribe) {
      send(response, json(503, { message: 'The Unsubscribe handler is not available in this build.' }));
      return;
    }
    const result = await options.unsubscribe(unsubscribeEvent(request, url, body));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    const text = result.body ?? '';
    response.writeHead(result.statusCode ?? 200, headers);
    response.end(result.isBase64Encoded ? Buffer.from(text, 'base64') : text);
    return;
  }
  if (request.method === 'GET' && url.pathname === '/events') {
    const filter = {
      emailId: url.searchParams.get('emailId') ?? undefined,
      toEmail: url.searchParams.get('toEmail') ?? undefined,
      status: url.searchParams.get('status') ?? undefined,
    };
    send(response, json(200, { events: options.statusLog.list(filter), dropped: options.statusLog.droppedCount }));
    return;
  }
  if (request.method === 'GET' && url.pathname === '/queues') {
    const queues = Object.fromEntries(options.listedQueues.map((q) => [q.name, { url: q.url, ...q.counts() }]));
    send(response, json(200, { queues, routed: options.bus.routed() }));
    return;
  }
  if (request.method === 'GET' && url.pathname === '/info' && options.info !== undefined) {
    send(response, json(200, options.info));
    return;
  }
  if (request.method === 'GET' && (url.pathname === '/health' || url.pathname === '/')) {
    send(response, json(200, { status: 'ok', service: 'sesmailengine local' }));
    return;
  }
  send(response, json(404, { __type: 'UnknownOperationException', message: `No route for ${request.method} ${url.pathname}.` }));
}

/** `state` returns undefined until the engine is assembled; requests get 503 until then. */
export function createLocalServer(state: () => LocalServerOptions | undefined): Server {
  const server = createServer((request, response) => {
    const options = state();
    if (!options) {
      request.resume();
      send(response, json(503, { __type: 'ServiceUnavailable', message: 'Local mode is still starting.' }));
      return;
    }
    route(request, response, options).catch((error: unknown) => {
      if (!response.headersSent) {
        send(response, json(500, { __type: 'InternalFailure', message: error instanceof Error ? error.message : String(error) }));
      } else {
        response.destroy();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  guardServer(server);
  return server;
}

/** Listens on host:port; a taken port becomes a PortInUseError naming the service that wanted it. */
export function listenLocal(server: Server, host: string, port: number, service: PortInUseError['kind'] = 'eventbridge'): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? new PortInUseError(service, port) : error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops a server and drops its kept-alive connections, so nothing is left listening. */
export function closeLocal(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
