import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/package-root.js';
import { HANDLERS, prebuiltHandlerZip, sha256 } from '../../src/packaging/build.js';
import { cliEnv, startFakeAws, type FakeAws } from '../support/fake-aws-server.js';
import { eventually, startLocalMode } from '../support/local-mode.js';
import { startDashboard } from '../support/dashboard.js';

/**
 * The npm package as a user gets it: the package is packed (its dist/package/ bundled as
 * `prepack` does, after the `npm run build` that `npm test` starts with), installed from the
 * tarball into an empty folder with no registry and an empty cache (so it needs no
 * dependencies), and its installed `sesmailengine` runs `--help`, `local`, `dashboard` and
 * `install` against the fake AWS.
 */

const run = promisify(execFile);
const ROOT = packageRoot();
const MAX_INSTALLED_BYTES = 30 * 1024 * 1024;

let work: string;
let project: string;
let bin: string;
let aws: FakeAws | undefined;

function sizeOf(path: string): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

function runInstalled(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sme-package-'));
  await run(process.execPath, [join(ROOT, 'scripts', 'bundle-package.mjs')], { cwd: ROOT });
  const npmEnv = { ...process.env, npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' };
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, env: npmEnv });
  const tarball = join(work, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: project, env: npmEnv });
  bin = join(project, 'node_modules', '.bin', 'sesmailengine');
}, 180_000);

afterAll(async () => {
  await aws?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the npm package, installed from its tarball', () => {
  it('has no dependencies, no native binary, and stays under 30 MB installed', () => {
    const installed = join(project, 'node_modules');
    expect(readdirSync(installed).filter((name) => !name.startsWith('.'))).toEqual(['sesmailengine']);
    const manifest = JSON.parse(readFileSync(join(installed, 'sesmailengine', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
    expect(sizeOf(installed)).toBeLessThan(MAX_INSTALLED_BYTES);
    const files = readdirSync(join(installed, 'sesmailengine'), { recursive: true }).map(String);
    expect(files.filter((file) => /\.node$|esbuild/.test(file))).toEqual([]);
    expect(files.filter((file) => file.startsWith('functions') || file.startsWith('src'))).toEqual([]);
  });

  it('answers --help reading only the entry and a few small chunks of its own', async () => {
    const result = await runInstalled(['--help'], { ...process.env, NODE_DEBUG: 'esm' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: sesmailengine');
    expect(result.stdout).toContain('install');
    const loaded = [...new Set([...result.stderr.matchAll(/Storing (file:\/\/\S+)/g)].map((m) => fileURLToPath(m[1]!)))];
    expect(loaded).toContain(join(project, 'node_modules', 'sesmailengine', 'dist', 'package', 'cli.js'));
    expect(loaded.filter((file) => !file.includes(join('sesmailengine', 'dist', 'package')))).toEqual([]);
    expect(loaded.reduce((sum, file) => sum + statSync(file).size, 0)).toBeLessThan(150_000);
  });

  it('runs local mode: one request becomes one mail in the viewer, and it stops cleanly', async () => {
    const local = await startLocalMode(['--stack-name', 'pkg', '--workers', '1'], 60_000, bin);
    try {
      const out = await local.publish([
        local.request({ emailId: 'pkg-1', to: 'ada@example.com', templateName: 'welcome', templateData: { userName: 'Ada', companyName: 'Acme' } }),
      ]);
      expect(out.FailedEntryCount).toBe(0);
      const record = await eventually(async () => {
        const item = await local.record('pkg-1');
        return item?.status === 'sent' ? item : undefined;
      }, 30_000, 'the tracking record to be sent');
      expect(record.templateName).toBe('welcome');
      const mail = await local.mail();
      expect(mail.map((m) => m.destination.to)).toEqual([['ada@example.com']]);
      const viewer = await fetch(local.info.sesWebUrl);
      expect(viewer.status).toBe(200);
      expect(await viewer.text()).toMatch(/<html/i);

      // The dashboard serves its page from the package (which ships no src/) and reads the engine.
      const dashboard = await startDashboard(['--local', local.info.eventBridgeEndpoint], bin);
      try {
        const first = await fetch(dashboard.url, { redirect: 'manual' });
        expect([first.status, first.headers.get('location')]).toEqual([303, `/#token=${dashboard.token}`]);
        for (const [path, type, text] of [['/', 'text/html', '<script src="/dashboard.js"'], ['/dashboard.js', 'text/javascript', 'createElementNS'], ['/dashboard.css', 'text/css', '.bar-sent']] as const) {
          const answer = await fetch(`${dashboard.origin}${path}`);
          expect([path, answer.status, answer.headers.get('content-type')?.split(';')[0]]).toEqual([path, 200, type]);
          expect(await answer.text()).toContain(text);
        }
        const overview = await dashboard.api('/api/overview');
        expect([overview.status, overview.status === 200 ? '' : JSON.stringify(overview.json)]).toEqual([200, '']);
        expect(overview.json.days).toHaveLength(31);
        expect(overview.json.days.at(-1).sent).toBe(1);
      } finally {
        expect(await dashboard.stop()).toBe(0);
      }
    } finally {
      expect(await local.stop()).toBe(0);
    }
  }, 90_000);

  it('is a library too: its entry exports EmailClient', async () => {
    const probe = "const m = await import('sesmailengine'); console.log(typeof m.EmailClient, typeof m.verifyWebhook);";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: project });
    expect(stdout.trim()).toBe('function function');
  });

  // The zips are built from this clone's source at pack time (scripts/bundle-package.mjs),
  // as a clone's install builds them: tests/unit/installer/packaging.test.ts shows that build is deterministic.
  it('installs against the fake AWS with the prebuilt handler zips', async () => {
    aws = await startFakeAws();
    const result = await runInstalled(
      ['install', '--yes', '--sender', 'noreply@example.com', '--admin-email', 'ops@example.com', '--stack-name', 'smepkg'],
      cliEnv(aws.endpoint),
    );
    expect(result.stderr).toMatch(/smepkg: CREATE_COMPLETE/);
    expect(result.code).toBe(0);
    const uploaded = [...aws.objects.keys()].map((key) => /artifacts\/[a-z-]+-[0-9a-f]{64}\.zip$/.exec(key)?.[0]).filter(Boolean).sort();
    const shipped = HANDLERS.map((spec) => `artifacts/${spec.name}-${sha256(readFileSync(prebuiltHandlerZip(join(project, 'node_modules', 'sesmailengine'), spec.name)))}.zip`);
    expect(uploaded).toEqual(shipped.sort());
    expect(existsSync(join(project, 'sesmailengine-install.log'))).toBe(true);
  }, 90_000);
});
