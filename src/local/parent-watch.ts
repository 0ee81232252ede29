/**
 * Local mode stops when the process that started it ends. A test harness that starts it
 * through npx has it two or three processes down (harness → npx → sh → node); killing the
 * harness or npx leaves the rest running, and a SIGKILL forwards nothing. So on Linux every
 * process between local mode and its session's leader is watched, by its /proc entry: one
 * that is gone, a zombie, or a new process under a reused pid means the chain that started
 * local mode is broken. Elsewhere only the direct parent is watched (is it still there?).
 * The session leader is the last one watched, so a terminal's shell counts, and the
 * processes above it (sshd, a terminal multiplexer, init) do not; nor do the ancestors of a
 * parent that started local mode in a session of its own.
 *
 * Standard input is not watched: `sesmailengine local < /dev/null`, a CI step with no
 * input and a harness that closes the pipe it never writes to must all keep it running.
 */
import { readFileSync } from 'node:fs';

export interface ProcessStat {
  state: string;
  ppid: number;
  session: number;
  startTime: string;
}

/** The fields of /proc/<pid>/stat that matter here, or undefined when the process is gone. */
export function readProcStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', ppid: Number(fields[1]), session: Number(fields[3]), startTime: fields[19] ?? '' };
}

interface Watched {
  pid: number;
  startTime?: string;
}

/**
 * The processes to watch: the parent, then its ancestors in local mode's own session up to
 * and including the session's leader, never init. A harness that gave local mode a session
 * of its own (setsid, a detached spawn) is still watched as the parent.
 */
export function ancestorsToWatch(ppid: number, session: number | undefined, stat: (pid: number) => ProcessStat | undefined = readProcStat): Watched[] {
  const chain: Watched[] = [];
  let pid = ppid;
  while (pid > 1 && chain.length < 64) {
    const info = stat(pid);
    if (!info) break;
    if (chain.length > 0 && info.session !== session) break;
    chain.push({ pid, startTime: info.startTime });
    if (info.session === pid) break;
    pid = info.ppid;
  }
  return chain;
}

function isGone(watched: Watched, stat: (pid: number) => ProcessStat | undefined): boolean {
  const info = stat(watched.pid);
  return !info || info.state === 'Z' || info.state === 'X' || (watched.startTime !== undefined && info.startTime !== watched.startTime);
}

/** Whether a process with this id exists (EPERM: it does, under another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ParentWatchOptions {
  intervalMs?: number;
  /** Linux: /proc; elsewhere the direct parent only. */
  useProc?: boolean;
  ppid?: number;
}

/**
 * Calls `onGone` once, at most `intervalMs` after a watched process ended. Returns the
 * function that stops watching. Its timer never keeps the process alive.
 */
export function watchParent(onGone: (pid: number) => void, options: ParentWatchOptions = {}): () => void {
  const ppid = options.ppid ?? process.ppid;
  const useProc = options.useProc ?? process.platform === 'linux';
  const watched: Watched[] = useProc ? ancestorsToWatch(ppid, readProcStat(process.pid)?.session) : ppid > 1 ? [{ pid: ppid }] : [];
  if (watched.length === 0) return () => undefined;
  const timer = setInterval(() => {
    const gone = watched.find((w) => (useProc ? isGone(w, readProcStat) : !isProcessAlive(w.pid)));
    if (!gone) return;
    clearInterval(timer);
    onGone(gone.pid);
  }, options.intervalMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Resolves with why a long-running command (local mode, the dashboard) should stop: Ctrl-C,
 * SIGTERM, SIGHUP, or the end of the process that started it. The CLI's default Ctrl-C
 * handler exits at once; this replaces it, so the command closes what it runs first.
 */
export function waitForStop(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (why: string) => {
      for (const signal of STOP_SIGNALS) process.off(signal, stop);
      unwatch();
      resolve(why);
    };
    process.removeAllListeners('SIGINT');
    for (const signal of STOP_SIGNALS) process.on(signal, stop);
    const unwatch = watchParent((pid) => stop(`the process that started it (pid ${pid}) ended`));
  });
}
