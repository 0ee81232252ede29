import type { Command } from 'commander';

export type Runner = (debug: boolean, body: () => Promise<number>) => Promise<never>;

/**
 * Registers every command. Each action imports its module on demand so that
 * `sesmailengine --help` loads neither the AWS SDK nor prompts nor spinners.
 */
export function registerCommands(program: Command, run: Runner): void {
  void program;
  void run;
}
