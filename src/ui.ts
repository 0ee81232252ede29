import chalk from 'chalk';

/**
 * What a command shows the person at the terminal. Results go to stdout (so they can be
 * piped), progress and warnings to stderr. The spinner animates only when stderr is a
 * terminal; elsewhere (CI logs, tests) each step is one plain line.
 */

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Whether stderr is a terminal (spinner animation, colours). */
  isTTY: boolean;
}

export interface Spinner {
  /** Replaces the spinner's text (the line that animates). */
  update(text: string): void;
  /** Prints a line above the spinner, which keeps spinning below it. */
  log(line: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

export interface Ui {
  /** A result line on stdout. */
  out(text?: string): void;
  /** A progress line on stderr. */
  info(text: string): void;
  ok(text: string): void;
  warn(text: string): void;
  spinner(text: string): Promise<Spinner>;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, isTTY: Boolean(process.stderr.isTTY) };
}

function plainSpinner(io: Io, text: string): Spinner {
  io.stderr.write(`… ${text}\n`);
  return {
    update: () => undefined,
    log: (line) => io.stderr.write(`  ${line}\n`),
    succeed: (t) => io.stderr.write(`${chalk.green('✔')} ${t}\n`),
    fail: (t) => io.stderr.write(`${chalk.red('✖')} ${t}\n`),
    stop: () => undefined,
  };
}

async function oraSpinner(io: Io, text: string): Promise<Spinner> {
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: io.stderr, discardStdin: false }).start();
  return {
    update: (t) => {
      spinner.text = t;
    },
    log: (line) => {
      spinner.clear();
      io.stderr.write(`  ${line}\n`);
      spinner.render();
    },
    succeed: (t) => void spinner.succeed(t),
    fail: (t) => void spinner.fail(t),
    stop: () => void spinner.stop(),
  };
}

export function createUi(io: Io = processIo()): Ui {
  return {
    out: (text = '') => void io.stdout.write(`${text}\n`),
    info: (text) => void io.stderr.write(`${text}\n`),
    ok: (text) => void io.stderr.write(`${chalk.green('✔')} ${text}\n`),
    warn: (text) => void io.stderr.write(`${chalk.yellow('!')} ${text}\n`),
    spinner: (text) => (io.isTTY ? oraSpinner(io, text) : Promise.resolve(plainSpinner(io, text))),
  };
}
