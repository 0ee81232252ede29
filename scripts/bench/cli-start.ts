import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';

/**
 * CLI start-up: wall time and peak memory of `node dist/src/cli.js --help` over 20 runs
 * (after 2 warm-up runs). Target (SPEC §8): ≤ 150 ms and < 80 MiB. The peak RSS is read
 * inside the child at exit (process.resourceUsage), through a one-line --import hook.
 */

const RUNS = 20;
const RSS_HOOK =
  "data:text/javascript,process.on('exit',()=>process.stderr.write('\\nMAXRSS_KB='+process.resourceUsage().maxRSS+'\\n'))";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const benchmark = {
  name: 'cli-start: sesmailengine --help',
  async run(): Promise<void> {
    const root = packageRoot();
    const cli = [join(root, 'dist', 'src', 'cli.js'), join(root, 'dist-bench', 'src', 'cli.js')].find((p) => existsSync(p));
    if (!cli) throw new Error('Build the CLI first (npm run build).');
    const run = (args: string[], hook: boolean): { ms: number; stderr: string } => {
      const started = process.hrtime.bigint();
      const child = spawnSync(process.execPath, [...(hook ? ['--import', RSS_HOOK] : []), ...args], { encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (child.status !== 0) throw new Error(`${args.join(' ')} exited ${child.status}: ${child.stderr}`);
      return { ms, stderr: child.stderr };
    };
    // Times without the memory hook (it is a module of its own to load), an empty Node start
    // and --help alternating so load on the machine falls on both alike; then peak memory in
    // runs of their own.
    const bareTimes: number[] = [];
    const helpTimes: number[] = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const bare = run(['-e', '0'], false);
      const help = run([cli, '--help'], false);
      if (i < 2) continue;
      bareTimes.push(bare.ms);
      helpTimes.push(help.ms);
    }
    const peak = (args: string[]) => Math.max(...Array.from({ length: 5 }, () => Number(/MAXRSS_KB=(\d+)/.exec(run(args, true).stderr)?.[1] ?? NaN) / 1024));
    const summary = (times: number[], rss: number) => {
      times.sort((a, b) => a - b);
      return { median: percentile(times, 50), p95: percentile(times, 95), max: times.at(-1)!, rss };
    };
    const baseline = summary(bareTimes, peak(['-e', '0']));
    const help = summary(helpTimes, peak([cli, '--help']));
    console.log(`entry: ${cli.slice(root.length + 1)} (${RUNS} runs, Node ${process.version})`);
    console.log(`--help wall ms: median ${help.median.toFixed(0)}, p95 ${help.p95.toFixed(0)}, max ${help.max.toFixed(0)}  (target ≤ 150)`);
    console.log(`--help max RSS: ${help.rss.toFixed(1)} MiB  (target < 80)`);
    console.log(`empty node -e 0: median ${baseline.median.toFixed(0)} ms, ${baseline.rss.toFixed(1)} MiB → the CLI's own share: ${(help.median - baseline.median).toFixed(0)} ms, ${(help.rss - baseline.rss).toFixed(1)} MiB`);
  },
};
