#!/usr/bin/env node
/**
 * The `sesmailengine` entry point: commander wiring only. Each command lives in
 * src/commands/<name>.ts and is imported when it runs, so `--help` stays fast.
 * This is the only file that calls process.exit.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { Command } from 'commander';
import { CliError, EXIT_CANCELLED, UserCancelled } from './errors.js';
import { VERSION } from './version.js';

function printError(error: unknown, debug: boolean): number {
  if (error instanceof UserCancelled) {
    process.stderr.write(`${error.message}\n`);
    return EXIT_CANCELLED;
  }
  if (error instanceof CliError) {
    process.stderr.write(`Error ${error.code}: ${error.message}\n`);
    if (error.fix) process.stderr.write(`Fix: ${error.fix}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`Error: ${message}\n`);
    if (!debug) process.stderr.write('Run again with --debug for details.\n');
  }
  if (debug) writeDebugDetails(error);
  return 1;
}

/** --debug: the stack, then each cause with what AWS said about the request (status, request id, fault). */
function writeDebugDetails(error: unknown): void {
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const e = current as { stack?: unknown; name?: unknown; message?: unknown; cause?: unknown; $fault?: unknown; $metadata?: Record<string, unknown> };
    if (depth > 0) process.stderr.write(`Caused by: ${String(e.name ?? 'Error')}: ${String(e.message ?? current)}\n`);
    const meta = e.$metadata;
    if (meta && typeof meta === 'object') {
      const fields = ['httpStatusCode', 'requestId', 'extendedRequestId', 'attempts', 'totalRetryDelay']
        .filter((key) => meta[key] !== undefined)
        .map((key) => `${key}=${String(meta[key])}`);
      if (e.$fault !== undefined) fields.unshift(`fault=${String(e.$fault)}`);
      if (fields.length > 0) process.stderr.write(`  AWS: ${fields.join(' ')}\n`);
    }
    if (typeof e.stack === 'string') process.stderr.write(`${e.stack}\n`);
    current = e.cause;
  }
}

/** Runs a command body and turns its result or error into the process exit code. */
async function run(debug: boolean, body: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await body();
  } catch (error) {
    code = printError(error, debug);
  }
  process.exit(code);
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('sesmailengine')
    .description('A self-hosted email engine on Amazon SES: install it, run it locally, operate it.')
    .version(VERSION)
    .showHelpAfterError()
    .option('--debug', 'on errors, also print the stack trace and the AWS error behind it (HTTP status, request id)');
  return program;
}

export { run };

const program = buildProgram();
// Commands register here; each imports its implementation lazily inside its action.
const { registerCommands } = await import('./commands/index.js');
registerCommands(program, run);

process.on('SIGINT', () => process.exit(EXIT_CANCELLED));
await program.parseAsync(process.argv);
