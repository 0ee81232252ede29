import type { Io } from './ui.js';

/**
 * Options every AWS command takes. Values come from commander (src/commands/index.ts);
 * tests fill the same object and add their own clients and streams.
 */
export interface CommonOptions {
  /** CloudFormation stack name (default sesmailengine). */
  stackName?: string;
  region?: string;
  profile?: string;
  debug?: boolean;
  /** Where output goes (default: the process's streams). */
  io?: Io;
  /** Working directory for files a command writes (default process.cwd()). */
  cwd?: string;
}

export const DEFAULT_STACK_NAME = 'sesmailengine';

/**
 * Stack names: CloudFormation wants a letter, then letters, digits and hyphens; the stack
 * prefixes every resource name, and `<stack>-FeedbackProcessor` must fit Lambda's
 * 64-character limit, so at most 46 characters.
 */
export const MAX_STACK_NAME_LENGTH = 46;

export function stackNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(name) || name.length > MAX_STACK_NAME_LENGTH) {
    return `must start with a letter and hold only letters, digits and "-" (at most ${MAX_STACK_NAME_LENGTH} characters, as it prefixes every resource name)`;
  }
  return undefined;
}

/** A deliberately plain address check for prompts and flags; SES has the final word. */
export function emailProblem(value: string): string | undefined {
  if (!/^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+\.[A-Za-z0-9-]{2,}$/.test(value)) return 'is not an e-mail address';
  return undefined;
}

/**
 * How the command wiring (src/commands/*-commands.ts) runs an action: src/cli.ts turns the
 * body's exit code or error into the process exit code.
 */
export type Runner = (flags: boolean | { debug: boolean; json?: boolean }, body: () => Promise<number>) => Promise<never>;
