import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CLI, eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';

/**
 * The operating commands end to end: the built CLI in a child process against one running
 * `sesmailengine local` (found through its GET /info), as a user would run them.
 */

let local: LocalMode;
let flag: string;
let sqs: SQSClient;
let work: string;

beforeAll(async () => {
  local = await startLocalMode(['--stack-name', 'ops', '--retry-delay-seconds', '1']);
  flag = `--local=${local.info.eventBridgeEndpoint}`;
  sqs = new SQSClient({ region: local.info.region, credentials: local.info.credentials, endpoint: local.info.eventBridgeEndpoint });
  work = mkdtempSync(join(tmpdir(), 'ops-e2e-'));
}, 90_000);

afterAll(async () => {
  sqs?.destroy();
  await local?.stop();
}, 30_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: () => any;
}

function cli(args: string[], options: { cwd?: string; target?: boolean } = {}): Promise<Run> {
  const argv = [CLI, ...args, ...(options.target === false ? [] : [flag])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: options.cwd ?? work,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        json: () => {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`stdout is not one JSON object: ${stdout}\nstderr: ${stderr}`);
          }
        },
      }),
    );
  });
}

const WELCOME = '{"userName": "Ada", "companyName": "Acme"}';

async function sendOk(to: string, extra: string[] = []): Promise<any> {
  const run = await cli(['send', '--to', to, '--template', 'welcome', '--data', WELCOME, '--json', ...extra]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return run.json();
}

describe('send', () => {
  it('publishes, waits for the record and prints it as sent', async () => {
    const to = `reader-${randomUUID()}@example.com`;
    const out = await sendOk(to);
    expect(out).toMatchObject({ status: 'sent', target: 'local', eventBusName: 'ops-EmailBus' });
    expect(out.record).toMatchObject({ emailId: out.emailId, toEmail: to, templateName: 'welcome', subject: 'Welcome to Acme, Ada!' });
    expect((await local.record(out.emailId))?.sesMessageId).toBe(out.record.sesMessageId);
  });

  it('waits for SES feedback with --wait-for delivered', async () => {
    const out = await sendOk('success@simulator.amazonses.com', ['--wait-for', 'delivered', '--email-id', `ops-${randomUUID()}`]);
    expect(['delivered', 'opened']).toContain(out.status);
    expect(out.record.deliveredAt).toEqual(expect.any(String));
  });

  it('prints the record and exits non-zero with the fix when the engine fails the email', async () => {
    const emailId = `ops-${randomUUID()}`;
    const run = await cli(['send', '--to', 'ada@example.com', '--template', 'password-reset', '--data', '{"userName": "Ada"}', '--email-id', emailId]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`emailId       ${emailId}`);
    expect(run.stdout).toMatch(/status\s+failed/);
    expect(run.stderr).toContain('Error SND003: The engine tracked');
    expect(run.stderr).toContain('TMPL003: templateData lacks required variable "resetLink"');
    expect(run.stderr).toContain('Fix: Send the missing variables in templateData');
  });

  it('refuses --data that is not JSON before publishing anything', async () => {
    const emailId = `ops-${randomUUID()}`;
    const run = await cli(['send', '--to', 'ada@example.com', '--template', 'welcome', '--data', "{userName: 'Ada'}", '--email-id', emailId]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Error OPS004: --data is not valid JSON: .*line 1, column 2\./);
    expect(run.stderr).toContain(`Fix: Quote the JSON for your shell`);
    await new Promise((r) => setTimeout(r, 500));
    expect(await local.record(emailId)).toBeUndefined();
  });

  it('returns at once with --no-wait, and the email is tracked afterwards', async () => {
    const run = await cli(['send', '--to', 'quick@example.com', '--template', 'welcome', '--data', WELCOME, '--no-wait', '--json']);
    expect(run.code).toBe(0);
    const out = run.json();
    expect(out.record).toBeNull();
    await eventually(async () => ((await local.record(out.emailId))?.status === 'sent' ? true : undefined));
  });

  it('exits non-zero when the email hard-bounces', async () => {
    const run = await cli(['send', '--to', 'bounce@simulator.amazonses.com', '--template', 'welcome', '--data', WELCOME, '--wait-for', 'delivered']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error SND005:');
    expect(run.stderr).toContain('bounce@simulator.amazonses.com is now suppressed');
  });
});

describe('diagnose', () => {
  it('explains a TMPL003 failure and how to fix it', async () => {
    const emailId = `ops-${randomUUID()}`;
    await cli(['send', '--to', 'ada@example.com', '--template', 'password-reset', '--data', '{"userName": "Ada"}', '--email-id', emailId]);
    const out = (await cli(['diagnose', emailId, '--json'])).json();
    expect(out.record.status).toBe('failed');
    expect(out.verdict.summary).toBe('failed TMPL003: templateData lacks resetLink');
    expect(out.verdict.fix.join('\n')).toContain(`sesmailengine templates preview password-reset --data @templateData.json ${flag}`);
    expect(out.bounceRate).toMatchObject({ thresholdPercent: 5, minimumSends: 100, brakeOn: false });
    expect(out.queues.deadLetters).toEqual({ send: 0, feedback: 0 });
  });

  it('by address: a complaint suppresses it and the verdict says not to remove it', async () => {
    await sendOk('complaint@simulator.amazonses.com', ['--wait-for', 'delivered']);
    await eventually(() => local.suppression('complaint@simulator.amazonses.com'));
    const run = await cli(['diagnose', 'Complaint@Simulator.AmazonSES.com']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Diagnosis of address complaint@simulator.amazonses.com');
    expect(run.stdout).toContain('VERDICT: complaint@simulator.amazonses.com is suppressed after a spam complaint: do not remove it');
    expect(run.stdout).toMatch(/Recent emails to complaint@simulator\.amazonses\.com/);
  });

  it('finds a request without a record in the send DLQ', async () => {
    const emailId = `ops-dlq-${randomUUID()}`;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: `${local.info.sendQueueUrl}-dlq`,
        MessageBody: JSON.stringify({ id: randomUUID(), source: 'my.app', 'detail-type': 'Email Request', detail: { emailId, to: 'late@example.com', templateName: 'welcome', templateData: JSON.parse(WELCOME) } }),
      }),
    );
    const out = (await cli(['diagnose', emailId, '--json'])).json();
    expect(out.record).toBeNull();
    expect(out.deadLetters).toEqual([expect.objectContaining({ queue: 'send', emailId, to: 'late@example.com' })]);
    expect(out.verdict.summary).toMatch(/^no tracking record: the request is in the send DLQ/);
    expect(out.verdict.fix.at(-1)).toBe(`Then move it back: sesmailengine dlq redrive --queue send ${flag}`);

    // dlq list shows it (and leaves it there); redrive moves it; the engine then sends it.
    const listed = (await cli(['dlq', 'list', '--queue', 'send', '--json'])).json();
    const message = listed.queues[0].messages.find((m: any) => m.emailId === emailId);
    expect(message).toMatchObject({ kind: 'email-request', validation: { ok: true } });
    expect(message.why).toContain(`emailId ${emailId}`);
    expect((await cli(['dlq', 'list', '--queue', 'send', '--json'])).json().queues[0].depth.visible).toBeGreaterThanOrEqual(1);

    const redrive = await cli(['dlq', 'redrive', '--queue', 'send', '--json']);
    expect(redrive.code).toBe(0);
    const result = redrive.json().results[0];
    expect(result).toMatchObject({ queue: 'send', method: 'copy', failed: 0 });
    expect(result.moved).toBeGreaterThanOrEqual(1);
    const record = await eventually(async () => {
      const r = await local.record(emailId);
      return r?.status === 'sent' ? r : undefined;
    });
    expect(record.toEmail).toBe('late@example.com');
    expect((await cli(['dlq', 'list', '--queue', 'send', '--json'])).json().queues[0].depth.visible).toBe(0);
  });

  it('says an unknown emailId never reached the engine', async () => {
    const out = (await cli(['diagnose', 'never-sent-1', '--json'])).json();
    expect(out.verdict.summary).toBe('no tracking record for never-sent-1');
    expect(out.verdict.fix[1]).toContain('ops-EmailBus');
  });
});

describe('templates', () => {
  it('previews a template from the bucket with --data and writes the HTML with --open', async () => {
    const run = await cli(['templates', 'preview', 'welcome', '--data', '{"userName": "Zoë <b>", "companyName": "Acme"}', '--open', 'out/welcome.html']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('subject   Welcome to Acme, Zoë <b>!');
    expect(run.stdout).toContain('--- text part ---');
    const html = readFileSync(join(work, 'out', 'welcome.html'), 'utf8');
    expect(html).toContain('Zoë &lt;b&gt;');
    expect(run.stderr).toContain(join(work, 'out', 'welcome.html'));
  });

  it('previews a starter template offline with its sample data', async () => {
    const out = (await cli(['templates', 'preview', 'password-reset', '--starter', '--json'], { target: false })).json();
    expect(out).toMatchObject({ name: 'password-reset', dataFrom: 'sample-data' });
    expect(out.html).toContain('<html');
  });

  it('names a template the bucket does not have, and lists the ones it has', async () => {
    const run = await cli(['templates', 'preview', 'no-such-template']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error TMPL101: There is no template "no-such-template" in s3://ops-templates/templates/');
    expect(run.stderr).toContain('welcome');
  });

  it('validates folders, listing each problem with its file and fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-validate-'));
    cpSync(join(process.cwd(), 'starter-templates', 'welcome'), join(dir, 'welcome'), { recursive: true });
    cpSync(join(process.cwd(), 'starter-templates', 'invoice'), join(dir, 'invoice'), { recursive: true });
    const good = await cli(['templates', 'validate', dir], { target: false });
    expect(good.code).toBe(0);
    expect(good.stderr).toContain('2 templates valid.');

    writeFileSync(join(dir, 'invoice', 'template.txt'), 'Invoice {% if invoiceId %}{{ invoiceId }}');
    writeFileSync(join(dir, 'welcome', 'sample-data.json'), '{"companyName": "Acme"}');
    const bad = await cli(['templates', 'validate', dir, '--json'], { target: false });
    expect(bad.code).toBe(1);
    const out = bad.json();
    expect(out.ok).toBe(false);
    const problems = out.templates.flatMap((t: any) => t.problems);
    expect(problems).toEqual([
      expect.objectContaining({ template: 'invoice', file: 'template.txt', severity: 'error' }),
      expect.objectContaining({ template: 'welcome', file: 'sample-data.json', message: expect.stringContaining('userName') }),
    ]);
    expect(out.code).toBe('TMPL102');
    expect(out.message).toContain('2 problems in 2 of 2 templates');
  });

  it('pushes only newer versions, pulls, and refuses to overwrite local changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-push-'));
    const pulled = await cli(['templates', 'pull', 'notification', '--out', dir, '--json']);
    expect(pulled.code).toBe(0);
    expect(pulled.json().files).toEqual(expect.arrayContaining(['metadata.json', 'template.html', 'template.txt']));
    const folder = join(dir, 'notification');

    const same = await cli(['templates', 'push', folder]);
    expect(same.code).toBe(1);
    expect(same.stderr).toContain('Error TMPL104');

    const meta = JSON.parse(readFileSync(join(folder, 'metadata.json'), 'utf8'));
    writeFileSync(join(folder, 'metadata.json'), JSON.stringify({ ...meta, version: '9.0.0', subject: 'Pushed: {{ title }}' }));
    const pushed = await cli(['templates', 'push', folder, '--json']);
    expect(pushed.code).toBe(0);
    expect(pushed.json().templates).toEqual([expect.objectContaining({ name: 'notification', action: 'updated', localVersion: '9.0.0', remoteVersion: meta.version })]);
    const preview = (await cli(['templates', 'preview', 'notification', '--json'])).json();
    expect(preview.version).toBe('9.0.0');
    expect(preview.subject).toMatch(/^Pushed: /);

    // Local edits are not overwritten by a pull unless forced.
    writeFileSync(join(folder, 'template.txt'), 'edited locally');
    const refused = await cli(['templates', 'pull', 'notification', '--out', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Error TMPL105');
    expect(readFileSync(join(folder, 'template.txt'), 'utf8')).toBe('edited locally');
    const forced = await cli(['templates', 'pull', 'notification', '--out', dir, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(folder, 'template.txt'), 'utf8')).not.toBe('edited locally');
  });

  it('refuses to push a template that does not validate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-push-bad-'));
    cpSync(join(process.cwd(), 'starter-templates', 'welcome'), join(dir, 'welcome2'), { recursive: true });
    writeFileSync(join(dir, 'welcome2', 'metadata.json'), '{"version": "1.0.0", "requiredVariables": ["userName"]}');
    const run = await cli(['templates', 'push', join(dir, 'welcome2')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error TMPL102');
    expect(run.stderr).toContain('nothing was uploaded');
    expect((await cli(['templates', 'preview', 'welcome2'])).stderr).toContain('Error TMPL101');
  });
});

describe('suppression', () => {
  it('adds, checks, lists and removes an address by hand', async () => {
    const address = `Manual-${randomUUID()}@Example.com`;
    const lower = address.toLowerCase();
    expect((await cli(['suppression', 'add', address, '--reason', 'asked by phone'])).code).toBe(0);
    expect((await cli(['suppression', 'check', address, '--json'])).json()).toMatchObject({
      email: lower,
      suppressed: true,
      entry: { reason: 'manual', suppressionType: 'manual', details: 'asked by phone' },
    });
    const listed = (await cli(['suppression', 'list', '--type', 'manual', '--json'])).json();
    expect(listed.entries.map((e: any) => e.email)).toContain(lower);

    const unconfirmed = await cli(['suppression', 'remove', address]);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain('Error SPR002');
    const removed = await cli(['suppression', 'remove', address, '--yes', '--json']);
    expect(removed.json()).toMatchObject({ email: lower, removed: true });
    expect((await cli(['suppression', 'check', address, '--json'])).json().suppressed).toBe(false);
  });

  it('refuses to remove a spam complaint without --force', async () => {
    await sendOk('complaint+keep@simulator.amazonses.com', ['--wait-for', 'delivered']);
    const address = 'complaint+keep@simulator.amazonses.com';
    await eventually(() => local.suppression(address));
    const refused = await cli(['suppression', 'remove', address, '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Error SPR001');
    expect(refused.stderr).toContain('reported your email as spam');
    expect(await local.suppression(address)).toBeDefined();

    const listed = (await cli(['suppression', 'list', '--type', 'complaint', '--json'])).json();
    expect(listed.entries.find((e: any) => e.email === address)).toMatchObject({ reason: 'spam-complaint' });

    const forced = await cli(['suppression', 'remove', address, '--yes', '--force']);
    expect(forced.code).toBe(0);
    expect(await local.suppression(address)).toBeUndefined();
  });
});

describe('stats', () => {
  it("reads today's counters and computes the rates", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const before = (await cli(['stats', '--json'])).json().days[0];
    await sendOk(`stats-${randomUUID()}@example.com`);
    const after = await eventually(async () => {
      const day = (await cli(['stats', '--json'])).json().days[0];
      return day.sent > before.sent ? day : undefined;
    });
    expect(after.date).toBe(today);
    expect(after.sent).toBe(before.sent + 1);
    expect(after.bounceRate).toBe(Math.round((after.bounced / after.sent) * 10_000) / 100);
    const three = (await cli(['stats', '--days', '3', '--json'])).json();
    expect(three.days.map((d: any) => d.date).at(-1)).toBe(today);
    expect(three.days).toHaveLength(3);
    expect(three.total.sent).toBe(three.days.reduce((n: number, d: any) => n + d.sent, 0));
  });

  it('prints a table for people', async () => {
    const run = await cli(['stats']);
    expect(run.stdout).toMatch(/^date\s+sent\s+delivered\s+opened/m);
    expect(run.stdout).toContain('Bounce-rate brake today:');
  });
});

describe('target selection', () => {
  it('reads local mode from a file holding its JSON line', async () => {
    const file = join(work, 'local.json');
    writeFileSync(file, `${JSON.stringify(local.info)}\n`);
    const run = await cli(['stats', '--json', '--local', '@local.json'], { target: false });
    expect(run.code).toBe(0);
    expect(run.json().countersTable).toBe('ops-Counters');
  });

  it('says how to start local mode when nothing answers', async () => {
    const run = await cli(['stats', '--local=http://127.0.0.1:9'], { target: false });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error OPS001: Local mode is not reachable at http://127.0.0.1:9');
    expect(run.stderr).toContain('Fix: Start it in another terminal');
  });

  it('has no event-delivery DLQ locally', async () => {
    const run = await cli(['dlq', 'list', '--queue', 'events']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error DLQ001');
  });

  it('says how to turn webhooks on when local mode runs without --webhook-url', async () => {
    for (const args of [['webhook', 'secret'], ['webhook', 'test']]) {
      const run = await cli(args);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('Error WHK101: Webhooks are off');
      expect(run.stderr).toContain('Fix: Restart local mode with your receiver: sesmailengine local --webhook-url');
    }
    const dlq = await cli(['dlq', 'list', '--queue', 'webhook']);
    expect(dlq.code).toBe(1);
    expect(dlq.stderr).toContain('Error DLQ001');
    expect(dlq.stderr).toContain('--webhook-url');
  });

  it('lists the operating commands in --help', async () => {
    const run = await cli(['--help'], { target: false });
    expect(run.code).toBe(0);
    for (const command of ['send', 'templates', 'diagnose', 'suppression', 'stats', 'dlq', 'webhook']) expect(run.stdout).toContain(`  ${command}`);
  });
});
