/**
 * cold-start: what each Lambda handler costs before its first event, as a proxy for its cold
 * start: the zip the installer uploads (src/packaging: the esbuild bundle `index.mjs` and its chunks, the
 * AWS SDK left out because the nodejs22.x runtime has it) and the time to load that bundle
 * in a fresh Node process.
 *
 * Each bundle is written under dist-bench/cold-start/<handler>/ (so `@aws-sdk/*` resolves
 * from the repository's node_modules, as it does from the runtime's on Lambda) and loaded
 * with `node -e "import('<bundle>/index.mjs')"`, COLD_START_RUNS times (default 15, after 2
 * warm-ups). Reported per handler, as medians:
 * - wall ms of the whole process minus that of a bare `node -e` (the task's proxy; wall clock),
 * - ms from the import call to the module being evaluated, measured inside the process,
 * - CPU ms of the process minus the bare process's (less sensitive to a busy machine).
 * Lambda adds its own runtime start and reads the SDK from its own copy; the figures compare
 * handlers with each other and over time, they are not Lambda's Init Duration.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/package-root.js';
import { HANDLERS, bundleHandler, handlerEntry, packageBundle } from '../../src/packaging/build.js';

const RUNS = Number(process.env.COLD_START_RUNS ?? 15);

export interface HandlerStart {
  name: string;
  zipBytes: number;
  bundleBytes: number;
  wallMs: number;
  importMs: number;
  cpuMs: number;
}

const REPORT = "process.on('exit',()=>{const u=process.resourceUsage();process.stderr.write('\\nCPU_US='+(u.userCPUTime+u.systemCPUTime)+'\\n')});";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function measure(script: string): { wall: number; importMs: number; cpu: number } {
  const walls: number[] = [];
  const imports: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const started = process.hrtime.bigint();
    const child = spawnSync(process.execPath, ['-e', REPORT + script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    if (child.status !== 0) throw new Error(`node -e exited ${child.status}: ${child.stderr}`);
    if (i < 2) continue;
    walls.push(wall);
    imports.push(Number(/IMPORT_MS=([\d.]+)/.exec(child.stderr)?.[1] ?? 0));
    cpus.push(Number(/CPU_US=(\d+)/.exec(child.stderr)?.[1] ?? NaN) / 1000);
  }
  return { wall: median(walls), importMs: median(imports), cpu: median(cpus) };
}

export async function measureColdStart(): Promise<{ baselineWallMs: number; baselineCpuMs: number; runs: number; handlers: HandlerStart[] }> {
  const root = packageRoot();
  const baseline = measure('0');
  const handlers: HandlerStart[] = [];
  for (const spec of HANDLERS) {
    // As buildHandlers() packages it for install: the same bundle, the same zip.
    const files = await bundleHandler(handlerEntry(root, spec.name), root);
    const artifact = packageBundle(spec, files);
    const dir = join(root, 'dist-bench', 'cold-start', artifact.name);
    for (const file of files) {
      mkdirSync(dirname(join(dir, file.path)), { recursive: true });
      writeFileSync(join(dir, file.path), file.data);
    }
    const bundle = join(dir, 'index.mjs');
    const url = pathToFileURL(bundle).href;
    const load = measure(
      `const t=process.hrtime.bigint();import(${JSON.stringify(url)}).then((m)=>{if(typeof m.handler!=='function')process.exit(3);process.stderr.write('\\nIMPORT_MS='+Number(process.hrtime.bigint()-t)/1e6+'\\n')})`,
    );
    handlers.push({
      name: artifact.name,
      zipBytes: artifact.zip.length,
      bundleBytes: artifact.bundleBytes,
      wallMs: load.wall - baseline.wall,
      importMs: load.importMs,
      cpuMs: load.cpu - baseline.cpu,
    });
  }
  return { baselineWallMs: baseline.wall, baselineCpuMs: baseline.cpu, runs: RUNS, handlers };
}

export function printColdStart(result: Awaited<ReturnType<typeof measureColdStart>>, log: (line: string) => void = console.log): void {
  log(`bare node -e: ${result.baselineWallMs.toFixed(0)} ms wall, ${result.baselineCpuMs.toFixed(0)} ms CPU (medians of ${result.runs}; subtracted below)`);
  log(`${'handler'.padEnd(22)}${'zip KiB'.padStart(9)}${'bundle KiB'.padStart(12)}${'init wall ms'.padStart(14)}${'import ms'.padStart(11)}${'init CPU ms'.padStart(13)}`);
  for (const h of result.handlers) {
    log(`${h.name.padEnd(22)}${(h.zipBytes / 1024).toFixed(1).padStart(9)}${(h.bundleBytes / 1024).toFixed(1).padStart(12)}${h.wallMs.toFixed(0).padStart(14)}${h.importMs.toFixed(0).padStart(11)}${h.cpuMs.toFixed(0).padStart(13)}`);
  }
  log('target (SPEC §8): each zip < 1 MB (1,024 KiB)');
}

export const benchmark = {
  name: 'cold-start: handler zip sizes and module init time (fresh node process per load)',
  async run(): Promise<void> {
    printColdStart(await measureColdStart());
  },
};
