import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { buildHandlers } from '../../src/packaging/build.js';
import { memoryLog } from '../../src/install-log.js';
import { startFakeAws } from '../../tests/support/fake-aws-server.js';

/**
 * Install overhead (SPEC §8: everything install does besides waiting for CloudFormation
 * takes ≤ 5 s warm). Measured two ways:
 *  1. build + zip + hash of the handlers with esbuild (first run, then warm runs),
 *     with each zip's size;
 *  2. a whole `install --yes` in this process against the fake AWS server on 127.0.0.1,
 *     reporting the run's own figure "time besides CloudFormation and prompts" (checks,
 *     packaging, uploads, seeding) — network latency to real AWS comes on top.
 */

const WARM_RUNS = 5;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

async function timed<T>(body: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await body();
  return [result, performance.now() - started];
}

export const benchmark = {
  name: 'install-overhead: build + zip + hash, and install minus CloudFormation',
  async run(): Promise<void> {
    const root = packageRoot();
    const [first, firstMs] = await timed(() => buildHandlers(root));
    const warm: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) warm.push((await timed(() => buildHandlers(root)))[1]);
    warm.sort((a, b) => a - b);
    console.log(`build+zip+hash of ${first.length} handlers: first ${seconds(firstMs)}, warm median ${seconds(warm[Math.floor(warm.length / 2)]!)} (${WARM_RUNS} runs)`);
    for (const artifact of first) {
      console.log(`  ${artifact.name.padEnd(20)} zip ${(artifact.zip.length / 1024).toFixed(1).padStart(7)} KiB  (bundle ${(artifact.bundleBytes / 1024).toFixed(1)} KiB)  ${artifact.key}`);
    }

    const aws = await startFakeAws({ stepMs: 1 });
    const cwd = mkdtempSync(join(tmpdir(), 'sme-bench-'));
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    delete process.env.AWS_PROFILE;
    try {
      const { install } = await import('../../src/commands/install.js');
      const sink = new Writable({ write: (_c, _e, done) => done() });
      for (const label of ['first install (uploads)', 're-run (nothing to upload)']) {
        const log = memoryLog();
        const [, totalMs] = await timed(() =>
          install({
            yes: true,
            stackName: 'smebench',
            sender: 'noreply@example.com',
            adminEmail: 'ops@example.com',
            cwd,
            log,
            pollMs: 50,
            io: { stdout: sink, stderr: sink, isTTY: false },
          }),
        );
        const overhead = log.lines.map((l) => /time besides CloudFormation and prompts: ([\d.]+) s/.exec(l)?.[1]).find(Boolean);
        console.log(`install --yes, ${label}: ${overhead} s besides CloudFormation (total ${seconds(totalMs)} with the fake stack)  (target ≤ 5 s)`);
      }
    } finally {
      process.env = saved;
      await aws.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  },
};
