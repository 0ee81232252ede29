import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';

/** What `sesmailengine local` prints while it runs: one line per outcome, retry, webhook attempt and handler warning. */

const running: LocalMode[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((l) => l.stop('SIGKILL')));
}, 30_000);

async function start(args: string[]): Promise<LocalMode> {
  const local = await startLocalMode(args);
  running.push(local);
  return local;
}

/** A port nothing listens on (a webhook receiver that is down). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const welcome = { templateData: { userName: 'Ada', companyName: 'Acme' } };

describe('sesmailengine local log', () => {
  it('writes JSON lines after the JSON line on stdout: outcomes with to, template, error code and ms, and webhook failures', async () => {
    const port = await closedPort();
    const local = await start(['--log-format', 'json', '--webhook-url', `http://127.0.0.1:${port}/hooks`]);
    const sent = `log-sent-${randomUUID()}`;
    const failed = `log-failed-${randomUUID()}`;

    await local.publish([
      local.request({ emailId: sent, to: 'success@simulator.amazonses.com', templateName: 'welcome', ...welcome }),
      local.request({ emailId: failed, to: 'ada@example.com', templateName: 'no-such-template', ...welcome }),
    ]);

    const entries = () => local.stdoutLines().slice(1).map((line) => JSON.parse(line) as Record<string, unknown>);
    const webhookFailure = await eventually(
      async () => entries().find((e) => e.event === 'webhook' && e.emailId === sent),
      30_000,
      'a webhook failure line',
    );
    expect(JSON.parse(local.stdoutLines()[0]!)).toMatchObject({ eventBusName: local.info.eventBusName });
    const byEmail = (emailId: string) => entries().find((e) => e.event === 'request' && e.emailId === emailId);
    expect(byEmail(sent)).toMatchObject({ level: 'info', component: 'email-sender', to: 'success@simulator.amazonses.com', template: 'welcome', status: 'sent' });
    expect(byEmail(failed)).toMatchObject({ level: 'warn', to: 'ada@example.com', template: 'no-such-template', status: 'failed', errorCode: 'TMPL001' });
    for (const emailId of [sent, failed]) {
      const { ms, time } = byEmail(emailId)!;
      expect(typeof ms === 'number' && ms >= 0 && ms < 60_000).toBe(true);
      expect(Number.isNaN(Date.parse(String(time)))).toBe(false);
    }
    expect(webhookFailure).toMatchObject({ component: 'webhook-delivery', status: 'failed', errorCode: 'WHK003', webhookType: 'email.delivered', attempt: 1 });
  }, 120_000);

  it('writes human lines to stderr under --json, leaving stdout to the JSON line', async () => {
    const local = await start([]);
    const failed = `log-human-${randomUUID()}`;

    await local.publish([local.request({ emailId: failed, to: 'ada@example.com', templateName: 'no-such-template', ...welcome })]);

    const line = await eventually(async () => local.stderr().split('\n').find((l) => l.includes(failed)), 30_000, 'the outcome line on stderr');
    expect(line).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} failed +${failed} ada@example\\.com no-such-template TMPL001 .* \\d+ ms$`));
    expect(local.stdoutLines()).toHaveLength(1);
  }, 120_000);

  it('prints no log lines with --quiet', async () => {
    const local = await start(['--quiet']);
    const failed = `log-quiet-${randomUUID()}`;

    await local.publish([local.request({ emailId: failed, to: 'ada@example.com', templateName: 'no-such-template', ...welcome })]);
    await eventually(async () => ((await local.record(failed))?.status === 'failed' ? true : undefined), 30_000, 'the failed record');
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(local.stderr()).not.toContain(failed);
    expect(local.stdoutLines()).toHaveLength(1);
  }, 120_000);
});
