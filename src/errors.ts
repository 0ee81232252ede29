/**
 * CLI errors: each carries a code, a sentence saying what went wrong, and a fix.
 * The entry point prints them without a stack trace unless --debug is given, and turns
 * them into the process's exit code (SPEC §2).
 */

import type { CliErrorCode } from './error-registry.js';

/** Exit codes of every command (docs/TROUBLESHOOTING.md#exit-codes). */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
/** A flag, argument or missing answer the command cannot work with; nothing was asked of AWS. */
export const EXIT_USAGE = 2;
/** `status` of a stack that is not installed. */
export const EXIT_NOT_INSTALLED = 3;
/** Exit code for a cancelled run, as shells use for SIGINT. */
export const EXIT_CANCELLED = 130;

export class CliError extends Error {
  override readonly name: string = 'CliError';
  /** The process exit code this error ends the command with. */
  readonly exitCode: number = EXIT_ERROR;
  constructor(
    /** A code of the registry (src/error-registry.ts), so each one thrown is documented. */
    readonly code: CliErrorCode,
    message: string,
    readonly fix?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** What a script reading the --json error also needs (e.g. the tracking record of a failed send). */
  details?: Record<string, unknown>;

  withDetails(details: Record<string, unknown>): this {
    this.details = { ...this.details, ...details };
    return this;
  }
}

/** A bad flag value or argument, found before any AWS call: exit code 2. */
export class UsageError extends CliError {
  override readonly name: string = 'UsageError';
  override readonly exitCode: number = EXIT_USAGE;
}

/** A question that cannot be asked because stdin is not a terminal: the fix names the flags that answer it. */
export class NoTerminal extends UsageError {
  override readonly name = 'NoTerminal';
  constructor(question: string, fix: string) {
    super('CLI001', `"${question}" needs an answer, but there is no terminal to ask it on (stdin is closed or not a TTY).`, fix);
  }
}

/** The user answered "no" at a confirmation or pressed Ctrl-C at a prompt. */
export class UserCancelled extends CliError {
  override readonly name = 'UserCancelled';
  override readonly exitCode: number = EXIT_CANCELLED;
  constructor(message = 'Cancelled.') {
    super('CLI000', message);
  }
}
