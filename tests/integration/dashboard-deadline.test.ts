import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { Route } from '../../src/dashboard/routes.js';
import { startDashboardServer, type DashboardServer } from '../../src/dashboard/server.js';
import { loadPage } from '../../src/dashboard/static-files.js';
import { newToken } from '../../src/dashboard/token.js';

/**
 * An engine that takes the connection and never answers (local mode stopped with SIGSTOP, an
 * endpoint that drops packets): a TCP server that accepts and stays silent stands in for it.
 * The dashboard answers each panel within its deadline instead of leaving it loading.
 */

let silent: Server;
let silentPort: number;
let dashboard: DashboardServer;
const token = newToken();
const sockets = new Set<import('node:net').Socket>();

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as import('node:net').AddressInfo).port;
  const ddb = new DynamoDBClient({ endpoint: `http://127.0.0.1:${silentPort}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  const routes: Route[] = [
    { method: 'GET', path: '/api/overview', summary: 'reads a silent engine', handler: async () => ddb.send(new ListTablesCommand({})) },
    { method: 'GET', path: '/api/slow-but-allowed', summary: 'a longer deadline', timeoutMs: 1_500, handler: () => new Promise((resolve) => setTimeout(() => resolve({ done: true }), 600)) },
  ];
  dashboard = await startDashboardServer({ token, port: 0, routes, page: loadPage(), handlerTimeoutMs: 300 });
});

afterAll(async () => {
  await dashboard.close();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

describe('a panel whose engine never answers', () => {
  it('gets a 504 DSH008 at the deadline, not an answer that never comes', async () => {
    const started = Date.now();

    const response = await fetch(`${dashboard.url}api/overview`, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as { error: { code: string; message: string } };

    expect(response.status).toBe(504);
    expect(body.error.code).toBe('DSH008');
    expect(body.error.message).toContain('did not answer /api/overview within 0.3 s');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(sockets.size).toBeGreaterThan(0);
  });

  it("lets a route with its own longer deadline finish", async () => {
    const response = await fetch(`${dashboard.url}api/slow-but-allowed`, { headers: { Authorization: `Bearer ${token}` } });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
  });
});
