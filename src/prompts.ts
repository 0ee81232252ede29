import { NoTerminal, UserCancelled } from './errors.js';

/**
 * Every question the CLI asks goes through here: one place that loads @inquirer/prompts
 * (only when a question is actually asked) and turns Ctrl-C at a prompt into
 * UserCancelled. Commands take a Prompter, so tests answer questions without a terminal.
 */

export interface TextQuestion {
  message: string;
  default?: string;
  /** Returns an error sentence, or undefined when the answer is acceptable. */
  validate?: (value: string) => string | undefined;
}

export interface Prompter {
  text(question: TextQuestion): Promise<string>;
  confirm(message: string, defaultAnswer?: boolean): Promise<boolean>;
}

export interface PromptStreams {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /**
   * Which flag answers a question, by the start of its message (e.g. `{ 'Stack name': '--stack-name <name>' }`);
   * confirmations are answered by `--yes`. Used for the error when there is no terminal to ask on.
   */
  flags?: Record<string, string>;
  /** The command as a script would run it, e.g. `sesmailengine install --yes`, for that error's fix. */
  scripted?: string;
}

/**
 * With stdin closed or not a terminal a prompt cannot be answered (inquirer would end as if
 * cancelled): fail with the flags that answer the question instead (SPEC §2).
 */
function requireTerminal(streams: PromptStreams, message: string, confirmation: boolean): void {
  if (streams.input) return;
  if (process.stdin.isTTY) return;
  const flag = confirmation ? '--yes' : Object.entries(streams.flags ?? {}).find(([start]) => message.startsWith(start))?.[1];
  const all = [...new Set(Object.values(streams.flags ?? {}))];
  const fix = [
    flag ? `Pass ${flag}` : 'Pass the value as a flag',
    streams.scripted ? `, or run it without questions: ${streams.scripted}${all.length > 0 ? ` with ${all.join(', ')}` : ''}` : confirmation ? '' : ' and --yes',
    '. See --help for every flag.',
  ].join('');
  throw new NoTerminal(message, fix);
}

function isPromptExit(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError';
}

async function ask<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (isPromptExit(error)) throw new UserCancelled('Cancelled at a prompt; nothing was changed by this question.');
    throw error;
  }
}

export function createPrompter(streams: PromptStreams = {}): Prompter {
  const context = {
    ...(streams.input ? { input: streams.input } : {}),
    ...(streams.output ? { output: streams.output } : {}),
  };
  return {
    text: (question) =>
      ask(async () => {
        requireTerminal(streams, question.message, false);
        const { input } = await import('@inquirer/prompts');
        const answer = await input(
          {
            message: question.message,
            ...(question.default !== undefined ? { default: question.default } : {}),
            ...(question.validate
              ? { validate: (value: string) => question.validate?.(value.trim()) ?? true }
              : {}),
          },
          context,
        );
        return answer.trim();
      }),
    confirm: (message, defaultAnswer = false) =>
      ask(async () => {
        requireTerminal(streams, message, true);
        const { confirm } = await import('@inquirer/prompts');
        return confirm({ message, default: defaultAnswer }, context);
      }),
  };
}

/** A Prompter for --yes runs: asking anything is a bug, so it fails loudly. */
export const noPrompter: Prompter = {
  text: (q) => Promise.reject(new Error(`Unexpected question in a non-interactive run: ${q.message}`)),
  confirm: (m) => Promise.reject(new Error(`Unexpected question in a non-interactive run: ${m}`)),
};
