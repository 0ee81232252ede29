/**
 * CLI errors: each carries a code, a sentence saying what went wrong, and a fix.
 * The entry point prints them without a stack trace unless --debug is given.
 */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly fix?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The user answered "no" at a confirmation or pressed Ctrl-C at a prompt. */
export class UserCancelled extends CliError {
  override readonly name = 'UserCancelled';
  constructor(message = 'Cancelled.') {
    super('CLI000', message);
  }
}

/** Exit code for a cancelled run, as shells use for SIGINT. */
export const EXIT_CANCELLED = 130;
