import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreateChangeSetCommandInput } from '@aws-sdk/client-cloudformation';
import { packageRoot } from '../../src/package-root.js';
import { cliEnv, startFakeAws, type FakeAws } from '../support/fake-aws-server.js';

/**
 * install → uninstall → status → install again (resource import) → uninstall --delete-data,
 * each as the built CLI in its own process with real SDK clients, against the fake AWS
 * server reading the real template: the wire formats of change sets and ResourcesToImport,
 * and of the DynamoDB, SQS, CloudWatch Logs, Secrets Manager, EventBridge, SES and Lambda
 * look-ups, are the real ones.
 */

const ROOT = packageRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const STACK = 'smelife';
let aws: FakeAws;
let cwd: string;

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(aws.endpoint), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const built = existsSync(CLI);

beforeAll(async () => {
  aws = await startFakeAws({ templates: true, stepMs: 20 });
  cwd = mkdtempSync(join(tmpdir(), 'sme-lifeproc-'));
});
afterAll(async () => {
  await aws.stop();
  rmSync(cwd, { recursive: true, force: true });
});

const TABLES = [`${STACK}-Counters`, `${STACK}-EmailTracking`, `${STACK}-Suppression`];
const install = ['install', '--yes', '--stack-name', STACK, '--sender', 'noreply@example.com', '--admin-email', 'ops@example.com'];

(built ? describe : describe.skip)('the stack lifecycle as a person runs it', () => {
  it('installs, and uninstall keeps the data and says how to bring it back', async () => {
    const first = await runCli(install);
    expect(first.stderr).toMatch(/smelife: CREATE_COMPLETE/);
    expect(first.code).toBe(0);
    const gone = await runCli(['uninstall', '--yes', '--stack-name', STACK]);
    expect(gone.code).toBe(0);
    expect(gone.stderr).toContain('DynamoDB table smelife-Suppression (the suppression list)');
    expect(gone.stderr).toContain('sesmailengine install --stack-name smelife --region us-east-1');
    expect(aws.cfn.names('AWS::DynamoDB::Table')).toEqual(TABLES);
  });

  it('status --json names the kept data that belongs to no stack', async () => {
    const result = await runCli(['status', '--json', '--stack-name', STACK]);
    expect(result.code).toBe(3); // not installed
    const report = JSON.parse(result.stdout) as { stack: unknown; orphaned: { name: string }[] };
    expect(report.stack).toBeNull();
    expect(report.orphaned.map((o) => o.name)).toEqual(expect.arrayContaining([...TABLES, `${STACK}-send-dlq`, `${STACK}-unsubscribe-signing-key`]));
  });

  it('installing again imports the kept resources by their identifiers, then adds the rest', async () => {
    aws.cfn.resource('AWS::DynamoDB::Table', `${STACK}-Suppression`)!.items = 5;
    const before = aws.cfn.calls.length;
    const result = await runCli(install);
    expect(result.stderr).toContain('Found 16 resources kept by an earlier install of smelife');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/smelife: IMPORT_COMPLETE \(16\/16 resources\)/);
    expect(result.stderr).toMatch(/smelife: UPDATE_COMPLETE/);
    const changeSets = aws.cfn.calls.slice(before).filter(([n]) => n === 'CreateChangeSet').map(([, i]) => i as unknown as CreateChangeSetCommandInput);
    expect(changeSets.map((c) => c.ChangeSetType)).toEqual(['IMPORT', 'UPDATE']);
    const tables = aws.cfn.changeSets.find((c) => c.type === 'IMPORT')!.imports;
    expect(tables.SuppressionTable).toBe(`AWS::DynamoDB::Table|${STACK}-Suppression`);
    const suppression = aws.cfn.resource('AWS::DynamoDB::Table', `${STACK}-Suppression`)!;
    expect(suppression.items).toBe(5);
    expect(suppression.owner).toBe(aws.cfn.live(STACK)!.stackId);
  });

  it('a further install finds nothing to change', async () => {
    const result = await runCli(install);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('is up to date (no changes)');
  });

  it('uninstall --delete-data --delete-bucket leaves nothing behind', async () => {
    const result = await runCli(['uninstall', '--yes', '--delete-data', '--delete-bucket', '--stack-name', STACK]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Deleted the DynamoDB table smelife-Suppression (the suppression list).');
    expect(result.stderr).toContain('Deleted the log group /aws/lambda/smelife-EmailSender.');
    expect(aws.cfn.account.size).toBe(0);
    expect(aws.buckets.size).toBe(0);
  });
});
