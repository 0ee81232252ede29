import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { cliEnv, startFakeAws, type FakeAws } from '../support/fake-aws-server.js';

/**
 * The built CLI as a user runs it (`node dist/src/cli.js install --yes …`), in its own
 * process, with real SDK clients pointed at the fake AWS server through AWS_ENDPOINT_URL:
 * exit codes, what reaches stdout and stderr, and the log file.
 */

const ROOT = packageRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
let aws: FakeAws;
let cwd: string;

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const built = existsSync(CLI);

beforeAll(async () => {
  aws = await startFakeAws();
  cwd = mkdtempSync(join(tmpdir(), 'sme-proc-'));
});
afterAll(async () => {
  await aws.stop();
  rmSync(cwd, { recursive: true, force: true });
});

(built ? describe : describe.skip)('sesmailengine install --yes (a real process against fake AWS)', () => {
  it('installs, prints outputs and the first send, writes the log, exits 0', async () => {
    const result = await runCli(
      ['install', '--yes', '--sender', 'noreply@example.com', '--admin-email', 'ops@example.com', '--stack-name', 'smeproc'],
      cliEnv(aws.endpoint),
    );
    expect(result.stderr).toContain('AWS account 123456789012');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('is in the sandbox');
    expect(result.stderr).toMatch(/smeproc: CREATE_COMPLETE \(\d+\/\d+ resources\)/);
    expect(result.stdout).toContain('aws events put-events --region us-east-1');
    expect(result.stdout).toContain('"events:PutEvents"');
    expect(aws.buckets.has('smeproc-123456789012-us-east-1')).toBe(true);
    expect([...aws.objects.keys()].filter((k) => /artifacts\/[a-z-]+-[0-9a-f]{64}\.zip$/.test(k))).toHaveLength(5);
    const log = readFileSync(join(cwd, 'sesmailengine-install.log'), 'utf8');
    expect(log).toMatch(/aws STS\.GetCallerIdentity \d+ms/);
    expect(log).toMatch(/aws CloudFormation\.CreateStack \d+ms/);
    expect(log).toMatch(/aws Lambda\.Invoke \d+ms/);
    expect(log).toContain('stack event');
    expect(log).not.toContain('fake-secret');
    expect(log).not.toContain('AKIAFAKE');
  });

  it('a second run uploads nothing and reports "no changes" as success', async () => {
    const before = aws.requests.length;
    const result = await runCli(['install', '--yes', '--stack-name', 'smeproc'], cliEnv(aws.endpoint));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('is up to date (no changes)');
    const puts = aws.requests.slice(before).filter((r) => r.startsWith('s3 PUT'));
    expect(puts).toEqual([]);
  });

  it('exits 1 with the fix and no stack trace when credentials are missing', async () => {
    const env = cliEnv(aws.endpoint);
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const result = await runCli(['install', '--yes'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error AWS001: No usable AWS credentials/m);
    expect(result.stderr).toContain('Fix: Configure AWS credentials');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('without any region configured, reports missing credentials first, then the region', async () => {
    const env = cliEnv(aws.endpoint);
    delete env.AWS_REGION;
    const withoutCredentials = { ...env };
    delete withoutCredentials.AWS_ACCESS_KEY_ID;
    delete withoutCredentials.AWS_SECRET_ACCESS_KEY;
    const first = await runCli(['install', '--yes'], withoutCredentials);
    expect(first.stderr).toMatch(/^Error AWS001/m);
    const second = await runCli(['install', '--yes', '--sender', 'a@example.com', '--admin-email', 'b@example.com'], env);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^Error AWS003: No AWS region is configured/m);
    expect(second.stderr).toContain('--region');
  });

  it('--yes without the required values names the flags', async () => {
    const result = await runCli(['install', '--yes', '--stack-name', 'fresh'], cliEnv(aws.endpoint));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error INS003');
    expect(result.stderr).toContain('--sender <address>');
    expect(result.stderr).toContain('--admin-email <address>');
  });

  it('status --json prints one JSON object for the installed stack', async () => {
    const result = await runCli(['status', '--json', '--stack-name', 'smeproc'], cliEnv(aws.endpoint));
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { stack: { status: string } };
    expect(report.stack.status).toBe('CREATE_COMPLETE');
  });

  it('seed-templates --json takes the bucket from the stack and installs the starter templates', async () => {
    const result = await runCli(['seed-templates', '--json', '--stack-name', 'smeproc'], cliEnv(aws.endpoint));
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { bucket: string; installed: string[] };
    expect(out.bucket).toBe('smeproc-123456789012-us-east-1');
    expect(out.installed.length).toBeGreaterThan(0);
    expect(aws.objects.has(`smeproc-123456789012-us-east-1/templates/${out.installed[0]}/metadata.json`)).toBe(true);
  });

  it('uninstall --yes --delete-bucket deletes the stack, empties and deletes the bucket', async () => {
    const result = await runCli(['uninstall', '--yes', '--delete-bucket', '--stack-name', 'smeproc'], cliEnv(aws.endpoint));
    expect(result.stderr).toContain('Deleted the stack smeproc');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('DynamoDB table smeproc-EmailTracking');
    expect(result.stderr).toMatch(/Deleted the bucket smeproc-123456789012-us-east-1 \(\d+ object versions/);
    expect(aws.buckets.has('smeproc-123456789012-us-east-1')).toBe(false);
    expect(aws.cfn.live('smeproc')).toBeUndefined();
  });
});
