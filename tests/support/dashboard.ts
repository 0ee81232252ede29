import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from './local-mode.js';

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
  const child = spawn(process.execPath, [cli, 'dashboard', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (stderr.length < 100_000) stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the dashboard did not print its JSON line in time. stderr: ${stderr}`)), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the dashboard exited with ${code} before it served. stderr: ${stderr}`));
    });
  });
  const { url, port } = JSON.parse(first) as { url: string; port: number };
  const token = new URL(url).searchParams.get('token') ?? '';
  const origin = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    port,
    token,
    origin,
    stderr: () => stderr,
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
