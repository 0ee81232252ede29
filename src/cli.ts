#!/usr/bin/env node
/**
 * The `sesmailengine` entry point: commander wiring only. Each command lives in
 * src/commands/<name>.ts and is imported when it runs, so `--help` stays fast.
 * This is the only file that calls process.exit.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { Command, CommanderError } from 'commander';
import { CliError, EXIT_CANCELLED, EXIT_ERROR, EXIT_OK, EXIT_USAGE, UserCancelled } from './errors.js';
import { VERSION } from './version.js';
import { existsSync, statSync } from 'node:fs';
import { withLocalSourceChecked } from './argv.js';

/** How a command's errors are shown: `--debug` adds the stack, `--json` makes them one JSON object on stdout. */
export interface RunFlags {
  debug: boolean;
  json?: boolean;
}

/** The error as scripts read it under --json (SPEC §2): one object on stdout. */
export function errorJson(error: unknown): { ok: false; code: string; message: string; fix: string } & Record<string, unknown> {
  if (error instanceof CliError) return { ...error.details, ok: false, code: error.code, message: error.message, fix: error.fix ?? '' };
  return { ok: false, code: 'CLI999', message: error instanceof Error ? error.message : String(error), fix: 'Run again with --debug for details.' };
}

function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : EXIT_ERROR;
}

function printError(error: unknown, { debug, json }: RunFlags): number {
  if (json) {
    process.stdout.write(`${JSON.stringify(errorJson(error))}\n`);
    if (debug) writeDebugDetails(error);
    return exitCodeOf(error);
  }
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
  return exitCodeOf(error);
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
async function run(flags: boolean | RunFlags, body: () => Promise<number>): Promise<never> {
  const shown = typeof flags === 'boolean' ? { debug: flags } : flags;
  let code: number;
  try {
    code = await body();
  } catch (error) {
    code = printError(error, shown);
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
    // Usage errors (unknown option, missing argument) exit 2; under --json they are one JSON object on stdout.
    .exitOverride(usageExit)
    .configureOutput({ writeErr: (text) => (jsonRequested() ? undefined : process.stderr.write(text)) })
    .option('--debug', 'on errors, also print the stack trace and the AWS error behind it (HTTP status, request id)');
  return program;
}

/** --json anywhere on the command line: commander reports usage errors before options are parsed. */
function jsonRequested(): boolean {
  return process.argv.slice(2).includes('--json');
}

function usageExit(error: CommanderError): never {
  // --help and --version end through here too, with exit code 0.
  if (error.exitCode === EXIT_OK || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') process.exit(EXIT_OK);
  if (jsonRequested()) {
    const message = error.message.replace(/^error: /, '');
    process.stdout.write(`${JSON.stringify({ ok: false, code: 'CLI002', message, fix: 'See sesmailengine <command> --help for the options and arguments it takes.' })}\n`);
  }
  process.exit(EXIT_USAGE);
}

export { run };

const program = buildProgram();
// Commands register here; each imports its implementation lazily inside its action.
const { registerCommands } = await import('./commands/index.js');
registerCommands(program, run);

process.on('SIGINT', () => process.exit(EXIT_CANCELLED));
const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile();
await program.parseAsync(withLocalSourceChecked(program, process.argv, isFile));
