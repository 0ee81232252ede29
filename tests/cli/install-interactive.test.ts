import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { cliEnv, startFakeAws, type FakeAws } from '../support/fake-aws-server.js';

/**
 * An interactive `sesmailengine install` driven for real: the built CLI runs in a tmux
 * pane (a real terminal, so @inquirer/prompts and the ora spinner behave as for a person),
 * keys are typed into it, and the screen is read back. AWS is the fake HTTP server.
 */

const ROOT = packageRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const TMUX = ['/usr/bin/tmux', '/usr/local/bin/tmux', '/bin/tmux'].find((p) => existsSync(p));
// CI installs tmux (.ci/run): there a missing tmux is a failure, not a silent skip.
if (!TMUX && process.env.CI === 'true') throw new Error('tmux is required in CI for the interactive install test (.ci/run installs it).');
const SOCKET = `sme-test-${process.pid}`;

let aws: FakeAws;
let cwd: string;

function tmux(args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(TMUX!, ['-L', SOCKET, ...args], { encoding: 'utf8', ...(env ? { env } : {}) });
}

function screen(session: string): string {
  return tmux(['capture-pane', '-p', '-J', '-S', '-200', '-t', session]);
}

async function waitFor(session: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = screen(session);
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${pattern} on the screen:\n${text}`);
}

function keys(session: string, ...sequence: string[]): void {
  tmux(['send-keys', '-t', session, ...sequence]);
}

function startSession(session: string, args: string): void {
  const command = `cd ${JSON.stringify(cwd)} && ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} ${args}; echo "EXIT=$?"; sleep 120`;
  tmux(['new-session', '-d', '-s', session, '-x', '200', '-y', '60', command], cliEnv(aws.endpoint));
}

const ready = Boolean(TMUX) && existsSync(CLI);

beforeAll(async () => {
  aws = await startFakeAws({ sandbox: true });
  cwd = mkdtempSync(join(tmpdir(), 'sme-tty-'));
});

afterAll(async () => {
  if (TMUX) {
    try {
      tmux(['kill-server']);
    } catch {
      // no server was started
    }
  }
  await aws.stop();
  rmSync(cwd, { recursive: true, force: true });
});

(ready ? describe : describe.skip)('install in a terminal', () => {
  it('asks the questions, re-asks an invalid answer, follows the stack and prints the next steps', async () => {
    const s = 'install';
    startSession(s, 'install');
    await waitFor(s, /AWS account 123456789012/);
    await waitFor(s, /Stack name/);
    keys(s, 'smetty', 'Enter');
    await waitFor(s, /AWS region.*us-east-1/);
    keys(s, 'Enter');
    await waitFor(s, /Default sender address/);
    keys(s, 'not-an-address', 'Enter');
    await waitFor(s, /is not an e-mail address/);
    keys(s, ...Array.from({ length: 'not-an-address'.length }, () => 'BSpace'), 'hello@example.com', 'Enter');
    await waitFor(s, /Default sender name/);
    keys(s, 'Example Co', 'Enter');
    await waitFor(s, /Admin e-mail for alarms.*hello@example\.com/);
    keys(s, 'Enter');
    await waitFor(s, /Bucket for code and templates.*smetty-123456789012-us-east-1/);
    keys(s, 'Enter');
    await waitFor(s, /Create stack smetty in us-east-1 now\?/);
    keys(s, 'Enter');
    const text = await waitFor(s, /EXIT=\d+/, 60_000);
    if (process.env.SME_SCREEN_DUMP) writeFileSync(process.env.SME_SCREEN_DUMP, text);

    expect(text).toContain('EXIT=0');
    expect(text).toContain('Sender hello@example.com is verified in SES');
    expect(text).toContain('is in the sandbox');
    expect(text).toContain('Created bucket smetty-123456789012-us-east-1');
    expect(text).toMatch(/smetty: CREATE_COMPLETE \(9\/\d+ resources\)/);
    expect(text).toMatch(/CREATE_COMPLETE\s+AWS::Lambda::Function\s+EmailSenderFunction/);
    expect(text).toContain('Starter templates: 2 installed, 0 updated, 0 skipped');
    expect(text).toContain('aws events put-events --region us-east-1');
    expect(text).toContain('"events:PutEvents"');

    const create = aws.cfn.calls.find(([name]) => name === 'CreateStack')![1] as { Parameters: { ParameterKey: string; ParameterValue?: string }[] };
    const params = Object.fromEntries(create.Parameters.map((p) => [p.ParameterKey, p.ParameterValue]));
    expect(params).toMatchObject({ DefaultSenderEmail: 'hello@example.com', DefaultSenderName: 'Example Co', AdminEmail: 'hello@example.com' });
    expect(readFileSync(join(cwd, 'sesmailengine-install.log'), 'utf8')).toContain('step answers stack=smetty');
  }, 90_000);

  it('stops with exit code 130 and no stack trace on Ctrl-C at a prompt', async () => {
    const s = 'cancel';
    startSession(s, 'install --stack-name smecancel');
    await waitFor(s, /AWS region/);
    keys(s, 'C-c');
    const text = await waitFor(s, /EXIT=\d+/);
    expect(text).toContain('EXIT=130');
    expect(text).toContain('Cancelled');
    expect(text).not.toMatch(/\n\s+at /);
    expect(aws.cfn.calls.filter(([, input]) => input.StackName === 'smecancel').map(([n]) => n)).not.toContain('CreateStack');
  }, 60_000);
});
