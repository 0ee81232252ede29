import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../support/local-mode.js';
import { cliEnv, startFakeAws, type FakeAws } from '../support/fake-aws-server.js';

/**
 * Bad input, exit codes and --json errors on the built CLI in a child process (SPEC §2).
 * Every AWS endpoint points at a server that counts requests: bad input must be refused
 * with its code before any of them is made.
 */

let server: Server;
let endpoint: string;
let requests = 0;
const cwd = mkdtempSync(join(tmpdir(), 'sme-bad-input-'));

beforeAll(async () => {
  server = createServer((request, response) => {
    requests++;
    request.resume();
    request.on('end', () => response.writeHead(500).end());
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = awsEnv()): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function awsEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: cwd,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_REGION: 'us-east-1',
    AWS_MAX_ATTEMPTS: '1',
  };
}

// [arguments, code]: each must exit 2 with that code, as one JSON object under --json.
const BAD_INPUT: [string[], string][] = [
  [['stats', '--date', '2026-13-01'], 'OPS004'],
  [['stats', '--date', '2026-02-30'], 'OPS004'],
  [['stats', '--date', ''], 'OPS004'],
  [['stats', '--days', '0'], 'OPS004'],
  [['stats', '--days', 'x'], 'OPS004'],
  [['suppression', 'list', '--since', '2026-13-01'], 'OPS004'],
  [['suppression', 'list', '--limit', '0'], 'OPS004'],
  [['suppression', 'list', '--type', 'spam'], 'OPS004'],
  [['suppression', 'check', ''], 'OPS004'],
  [['suppression', 'add', 'not-an-address'], 'OPS004'],
  [['suppression', 'remove', ''], 'OPS004'],
  [['diagnose', ''], 'CLI003'],
  [['diagnose', 'order-1', '--limit', '-1'], 'OPS004'],
  [['schedule', 'cancel', ''], 'CLI003'],
  [['status', '--stack-name', ''], 'CLI003'],
  [['seed-templates', '--region', ''], 'CLI003'],
  [['stats', '--region', 'nowhere'], 'CLI003'],
  [['stats', '--profile', ''], 'CLI003'],
  [['dlq', 'list', '--queue', 'mail'], 'OPS004'],
  [['dlq', 'list', '--max', '0'], 'OPS004'],
  [['dlq', 'redrive', '--wait', 'soon'], 'OPS004'],
  [['send', '--to', 'a@example.com', '--template', 'welcome', '--timeout', 'x'], 'OPS004'],
  [['send', '--to', 'a@example.com', '--template', 'welcome', '--wait-for', 'opened'], 'OPS004'],
  [['send', '--to', 'a@example.com', '--template', ''], 'OPS004'],
  [['send', '--to', 'nobody', '--template', 'welcome'], 'OPS004'],
  [['send', '--to', 'a@example.com', '--template', 'welcome', '--data', '[1]'], 'OPS004'],
  [['send', '--to', 'a@example.com', '--template', 'welcome', '--send-at', 'tomorrow'], 'OPS004'],
  [['send', '--to', 'a@example.com', '--template', 'welcome', '--metadata', '"x"'], 'OPS004'],
  [['send', '--to', 'a@example.com', '--template', 'welcome', '--attach', 'no-such-file.pdf'], 'OPS005'],
  [['templates', 'push', ''], 'CLI003'],
  [['templates', 'pull', ''], 'CLI003'],
  [['webhook', 'test', '--message', ''], 'OPS004'],
  [['migrate', '--source-stack', ''], 'CLI003'],
  [['stats', '--no-such-flag'], 'CLI002'],
  [['diagnose'], 'CLI002'],
];

describe('bad input', () => {
  it.each(BAD_INPUT)('%j is refused with its code, exit 2, and no AWS call', async (args, code) => {
    requests = 0;
    const result = await runCli([...args, '--json']);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ ok: false, code, message: expect.any(String), fix: expect.any(String) });
    expect(result.code).toBe(2);
    expect(requests).toBe(0);
  });

  // install and uninstall print no data, so they take no --json.
  it.each([
    [['install', '--stack-name', '']],
    [['install', '--stack-name', '1-starts-with-a-digit']],
    [['uninstall', '--stack-name', 'has_underscore']],
  ])('%j is refused with CLI003, exit 2, and no AWS call', async (args) => {
    requests = 0;
    const result = await runCli(args);
    expect(result.stderr).toContain('Error CLI003: --stack-name');
    expect(result.code).toBe(2);
    expect(requests).toBe(0);
  });

  it('is shown as "Error <code>" and a fix on stderr without --json', async () => {
    const result = await runCli(['stats', '--date', '2026-13-01']);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Error OPS004: --date must be a date as YYYY-MM-DD, got "2026-13-01".');
    expect(result.stderr).toContain('Fix: ');
    expect(result.code).toBe(2);
  });
});

describe('errors under --json', () => {
  it('are one JSON object on stdout with exit 1 for a failure after the input was accepted', async () => {
    const result = await runCli(['stats', '--json']);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, code: 'AWS002' });
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.code).toBe(1);
  });
});

describe('reaching the AWS account', () => {
  // One code per failure, from every command that works on AWS (AWS0xx, not the installer's INS).
  const COMMANDS: string[][] = [['stats'], ['send', '--to', 'someone@example.com', '--template', 'welcome', '--no-wait']];

  function without(...names: string[]): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...awsEnv(), AWS_EC2_METADATA_DISABLED: 'true' };
    for (const name of names) delete env[name];
    return env;
  }

  it.each(COMMANDS)('%s without credentials is AWS001, before any request', async (...args) => {
    const before = requests;
    const result = await runCli([...args, '--json'], without('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'));
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, code: 'AWS001' });
    expect(result.code).toBe(1);
    expect(requests).toBe(before);
  });

  it.each(COMMANDS)('%s without a region is AWS003, with the flag that gives one', async (...args) => {
    const result = await runCli([...args], without('AWS_REGION'));
    expect(result.stderr).toMatch(/^Error AWS003: No AWS region is configured\./m);
    expect(result.stderr).toContain('--region');
    expect(result.code).toBe(1);
  });
});

describe('against a fake AWS account', () => {
  let aws: FakeAws;
  beforeAll(async () => {
    aws = await startFakeAws();
  });
  afterAll(async () => {
    await aws.stop();
  });

  it('status of a stack that is not installed says so, skips the stack sections and exits 3', async () => {
    const result = await runCli(['status', '--stack-name', 'nosuchstack'], { ...cliEnv(aws.endpoint), HOME: cwd });
    expect(result.stdout).toContain('not installed');
    expect(result.stdout).not.toContain('no counters table');
    expect(result.stdout).not.toContain('DLQs:');
    expect(result.code).toBe(3);
  });

  it('status --json of a stack that is not installed reports installed: false and exits 3', async () => {
    const result = await runCli(['status', '--stack-name', 'nosuchstack', '--json'], { ...cliEnv(aws.endpoint), HOME: cwd });
    expect(JSON.parse(result.stdout)).toMatchObject({ installed: false, stack: null });
    expect(result.code).toBe(3);
  });

  it('install with closed stdin is CLI001 naming the flags to pass, not a cancel', async () => {
    const before = aws.requests.length;
    const result = await runCli(['install'], { ...cliEnv(aws.endpoint), HOME: cwd });
    expect(result.stderr).toContain('Error CLI001: "Stack name" needs an answer');
    expect(result.stderr).toContain('--stack-name <name>');
    expect(result.stderr).toContain('sesmailengine install --yes');
    expect(result.code).toBe(2);
    expect(aws.requests.slice(before).filter((r) => /CreateStack|CreateChangeSet/.test(r))).toEqual([]);
  });
});
