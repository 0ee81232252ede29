import { UserCancelled } from './errors.js';

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
