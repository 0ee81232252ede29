import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook receiver on 127.0.0.1 for tests and benchmarks: records every request (path,
 * headers, raw body, arrival time) and answers with `respond` (204 by default), which a test
 * may swap at any time.
 */

export interface ReceivedHook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** Answers one request; `attempt` counts the requests received since the last reset (1 = first). */
export type Responder = (hit: ReceivedHook, response: ServerResponse, attempt: number) => void;

export const answer204: Responder = (_, response) => {
  response.writeHead(204).end();
};

export interface WebhookReceiver {
  /** http://127.0.0.1:<port> (append the path the test wants). */
  origin: string;
  hits: ReceivedHook[];
  respond: Responder;
  /** Drops what was received and goes back to answering 204. */
  reset(): void;
  /** Drops connections a test left hanging (a responder that never answers). */
  dropConnections(): void;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(respond: Responder = answer204): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    origin: '',
    hits: [],
    respond,
    reset() {
      receiver.hits.length = 0;
      receiver.respond = answer204;
    },
    dropConnections() {
      server.closeAllConnections();
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const hit = { path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      receiver.hits.push(hit);
      receiver.respond(hit, response, receiver.hits.length);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  receiver.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
