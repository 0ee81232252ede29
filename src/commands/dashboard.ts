import type { Command } from 'commander';
import type { Runner, CommonOptions } from '../shared-options.js';
import type { TargetOptions } from '../ops/target.js';
import { commonOptions, commonValues, runFlags, type Raw } from './common-flags.js';

/**
 * `sesmailengine dashboard`: the engine in a browser. It resolves the target once (a stack
 * with the user's AWS credentials, or a running local mode with --local), starts the
 * dashboard's server on 127.0.0.1 (src/dashboard/), prints its URL with this run's token,
 * and serves until Ctrl-C, SIGTERM, SIGHUP or the end of the process that started it.
 * Its modules load when it runs, so `--help` reads none of them.
 */

export interface DashboardOptions extends CommonOptions, TargetOptions {
  /** 0 (the default) picks a free port. */
  port?: string | number;
  open?: boolean;
  json?: boolean;
  /** Resolves when the dashboard should stop (default: a signal, or the parent process ends). */
  untilStopped?: (url: string) => Promise<unknown>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

export async function dashboardPort(value: string | number | undefined): Promise<number> {
  if (value === undefined) return 0;
  const text = String(value).trim();
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port > 65_535) {
    const { UsageError } = await import('../errors.js');
    throw new UsageError('DSH002', `--port "${text}" is not a port number (0 to 65535).`, 'Pass --port 4020, or leave it out to pick a free port.');
  }
  return port;
}

/** Opens the system browser on the URL, if there is one; a missing opener is not an error. */
async function openBrowser(url: string): Promise<void> {
  const { spawn } = await import('node:child_process');
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser to open: the URL is printed anyway.
  }
}

export async function dashboardCommand(options: DashboardOptions): Promise<number> {
  const stdout = options.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = options.stderr ?? ((text: string) => process.stderr.write(text));
  const port = await dashboardPort(options.port);
  const [{ resolveTarget }, { dashboardRoutes }, { startDashboardServer }, { loadPage }, { newToken }] = await Promise.all([
    import('../ops/target.js'),
    import('../dashboard/api.js'),
    import('../dashboard/server.js'),
    import('../dashboard/static-files.js'),
    import('../dashboard/token.js'),
  ]);
  const target = await resolveTarget(options);
  try {
    const token = newToken();
    const server = await startDashboardServer({ token, port, routes: dashboardRoutes({ target }), page: loadPage() });
    const stopped = options.untilStopped ? undefined : (await import('../local/parent-watch.js')).waitForStop();
    const url = `${server.url}?token=${token}`;
    if (options.json) stdout(`${JSON.stringify({ url, port: server.port })}\n`);
    else {
      stdout(`Dashboard of ${target.description}:\n\n  ${url}\n\n`);
      stderr('Open it in a browser on this machine (the token in the URL is this run\'s key). Ctrl-C stops it.\n');
    }
    // The browser may keep the URL it was started with in its command line: give it a ticket.
    if (options.open) await openBrowser(server.oneTimeUrl());
    await (options.untilStopped ? options.untilStopped(url) : stopped);
    await server.close();
    if (!options.json) stderr('Dashboard stopped.\n');
    return 0;
  } finally {
    target.close();
  }
}

export function registerDashboardCommand(program: Command, run: Runner): void {
  commonOptions(
    program
      .command('dashboard')
      .description('see the engine in a browser: sending per day, rates, recent emails and their diagnosis, suppressions, DLQs, deliverability, alarms and the SES quota (127.0.0.1 only; docs/DASHBOARD.md)'),
    { local: true, json: false },
  )
    .option('--port <n>', 'port on 127.0.0.1 (default: 0, a free one)')
    .option('--open', 'open the URL in the system browser')
    .option('--json', 'print one JSON line {url, port} once serving')
    .action(async (raw: Raw) => {
      await run(runFlags(program, raw), async () =>
        dashboardCommand({
          ...commonValues(raw),
          ...(typeof raw.port === 'string' ? { port: raw.port } : {}),
          open: Boolean(raw.open),
        }),
      );
    });
}
