import type { ChildProcess } from 'node:child_process';
import { CLI, spawnForJsonLine } from './local-mode.js';

/**
 * Starts `sesmailengine dashboard --json` (the built CLI of this clone, or an installed
 * package's) as a user would, and reads its one JSON line: the URL with the token, the port.
 */

export interface RunningDashboard {
  child: ChildProcess;
  url: string;
  port: number;
  token: string;
  /** http://127.0.0.1:<port> */
  origin: string;
  stderr(): string;
  /** GET (or POST a JSON body) with the token as a Bearer header. */
  api(path: string, body?: unknown): Promise<{ status: number; json: any }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startDashboard(args: string[], cli = CLI, timeoutMs = 30_000, env: NodeJS.ProcessEnv = {}): Promise<RunningDashboard> {
  const { child, first, stderr, exited } = await spawnForJsonLine([cli, 'dashboard', '--json', ...args], 'the dashboard', timeoutMs, env);
  const { url, port } = JSON.parse(first) as { url: string; port: number };
  const token = new URL(url).searchParams.get('token') ?? '';
  const origin = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    port,
    token,
    origin,
    stderr,
    api: async (path, body) => {
      const response = await fetch(`${origin}${path}`, {
        ...(body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }),
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      });
      return { status: response.status, json: await response.json() };
    },
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
