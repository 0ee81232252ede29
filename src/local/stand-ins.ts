/**
 * Starts the stand-in servers of local mode, each in a child process (stand-in-process.ts),
 * and stops them. A port that is taken becomes a PortInUseError naming the port.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StandInKind, StandInMessage, StandInOptions } from './stand-in-process.js';

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly kind: StandInKind | 'dynamodb' | 'ses' | 'eventbridge',
    readonly port: number,
  ) {
    super(`Port ${port} on 127.0.0.1 is already in use.`);
  }
}

export class StandInStartError extends Error {
  override readonly name = 'StandInStartError';
  constructor(
    readonly kind: StandInKind | 'dynamodb' | 'ses',
    message: string,
  ) {
    super(message);
  }
}

export interface RunningStandIn {
  kind: StandInKind;
  port: number;
  endpoint: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

function childScript(): string {
  return fileURLToPath(new URL('./stand-in-process.js', import.meta.url));
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startStandIn(kind: StandInKind, options: StandInOptions): Promise<RunningStandIn> {
  // s3rver encrypts list continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
  const execArgv = kind === 's3' ? ['--openssl-legacy-provider'] : [];
  const child = fork(childScript(), [kind, JSON.stringify(options)], {
    execArgv,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 4000) stderr += chunk;
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new StandInStartError(kind, `The ${kind} stand-in did not start within ${START_TIMEOUT_MS / 1000} s.`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new StandInStartError(kind, `The ${kind} stand-in exited (code ${code}) before it was ready. ${stderr.trim()}`));
    };
    child.once('exit', onExit);
    child.on('message', (message: StandInMessage) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      if (message.type === 'ready') {
        resolve(message.port);
      } else if (message.code === 'EADDRINUSE' || message.code === 'EACCES') {
        reject(new PortInUseError(kind, options.port));
      } else {
        reject(new StandInStartError(kind, `The ${kind} stand-in failed to start: ${message.message}`));
      }
    });
  }).catch(async (error: unknown) => {
    child.kill('SIGTERM');
    await waitForExit(child, STOP_TIMEOUT_MS);
    throw error;
  });

  // The child stays attached through IPC (it exits when the parent goes); do not let it
  // keep the parent's event loop alive on its own.
  child.unref();
  (child as unknown as { channel?: { unref(): void } }).channel?.unref();

  return {
    kind,
    port,
    endpoint: `http://${options.host}:${port}`,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await waitForExit(child, STOP_TIMEOUT_MS);
    },
  };
}
