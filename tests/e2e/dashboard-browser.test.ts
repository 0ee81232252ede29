import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';
import { startDashboard, type RunningDashboard } from '../support/dashboard.js';

/**
 * `sesmailengine dashboard --local` in a real browser (Debian's chromium through
 * playwright-core) against a real local mode that has sent mail, bounced, complained, failed
 * one request with a hostile template name and holds one request in the send DLQ: the page
 * loads with no console error, draws its chart, diagnoses by emailId, shows hostile text as
 * text, and its two actions work after their confirmations. Screenshots go to docs/images/.
 * Runs after `npm run build`.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const IMAGES = join(process.cwd(), 'docs', 'images');
const BOUNCE = 'bounce@simulator.amazonses.com';
const COMPLAINT = 'complaint@simulator.amazonses.com';
const HOSTILE = '<img src=x onerror=alert(1)>';
const data = { userName: 'Ada', companyName: 'Acme' };

let local: LocalMode;
let dashboard: RunningDashboard;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  local = await startLocalMode(['--stack-name', 'dash', '--workers', '1']);
  const ids = ['dash-ok-1', 'dash-ok-2', 'dash-ok-3', 'dash-bounce', 'dash-complaint'];
  const to = ['success@simulator.amazonses.com', 'success@simulator.amazonses.com', 'ooto@simulator.amazonses.com', BOUNCE, COMPLAINT];
  await local.publish([
    ...ids.map((emailId, i) => local.request({ emailId, to: to[i], templateName: 'welcome', templateData: data })),
    local.request({ emailId: 'dash-hostile', to: 'someone@example.com', templateName: HOSTILE, templateData: data }),
  ]);
  await eventually(async () => ((await local.suppression(BOUNCE)) && (await local.suppression(COMPLAINT)) ? true : undefined), 30_000, 'both suppressions');
  await eventually(async () => ((await local.record('dash-hostile'))?.status === 'failed' ? true : undefined), 30_000, 'the hostile request to fail');
  // A request that never reached the engine, waiting in the send DLQ.
  const sqs = new SQSClient({ region: local.info.region, credentials: local.info.credentials, endpoint: local.info.eventBridgeEndpoint });
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: `${local.info.sendQueueUrl}-dlq`,
      MessageBody: JSON.stringify({ id: 'ev-dlq', source: 'my.app', 'detail-type': 'Email Request', detail: { emailId: 'dash-dlq', to: 'success@simulator.amazonses.com', templateName: 'welcome', templateData: data } }),
    }),
  );
  sqs.destroy();

  dashboard = await startDashboard(['--local', local.info.eventBridgeEndpoint]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void (dialog.type() === 'confirm' ? dialog.accept() : dialog.dismiss());
  });
  mkdirSync(IMAGES, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dashboard) expect(await dashboard.stop()).toBe(0);
  await local?.stop();
}, 30_000);

describe('the dashboard in a browser', () => {
  it('loads from the printed URL onto the clean URL with no console error, and draws the chart', async () => {
    await page.goto(dashboard.url);
    await page.waitForSelector('body[data-loaded="all"]', { timeout: 30_000 });

    expect(page.url()).toBe(`${dashboard.origin}/`);
    expect(await page.locator('rect.bar-sent').count()).toBe(31);
    const sentBars = await page.locator('rect.bar-sent').evaluateAll((bars) => bars.filter((bar) => Number(bar.getAttribute('data-sent')) > 0 && Number(bar.getAttribute('height')) > 0).length);
    expect(sentBars).toBeGreaterThan(0);
    expect(await page.locator('[data-counter="sent"] .value').textContent()).toBe('5');
    expect(await page.locator('[data-counter="bounced"] .value').textContent()).toBe('1');
    expect(await page.locator('#target').textContent()).toContain('local mode at');
    expect(await page.locator('#alarms').textContent()).toContain('Local mode has no CloudWatch alarms');
    expect(await page.locator('#quota').textContent()).toContain('no limit');
    expect(await page.locator('[data-queue="send"]').textContent()).toContain('1 message');
    // The SES stand-in answers every identity as verified with DKIM signing; DMARC is a DNS lookup (none reachable here, or the real record).
    expect(await page.locator('#deliverability [data-check="dkim"] td').nth(1).textContent()).toBe('ok');
    expect(await page.locator('#deliverability [data-check="dmarc"]').count()).toBe(1);
    expect(await page.locator('#deliverability').textContent()).toContain(local.info.senderEmail ?? '@');
    expect(await page.locator('#deliverability [data-note="deliverability"]').textContent()).toContain("Local mode's SES stand-in answers every identity as verified");
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: join(IMAGES, 'dashboard-overview.png'), fullPage: true });
  }, 60_000);

  it('stays readable in a 400 px wide window: the page does not overflow, tables and the chart scroll in their panels', async () => {
    const narrow = await browser.newPage({ viewport: { width: 400, height: 800 } });
    try {
      await narrow.goto(dashboard.url);
      await narrow.waitForSelector('body[data-loaded="all"]', { timeout: 30_000 });

      expect(await narrow.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(400);
      const refresh = await narrow.locator('#refresh').boundingBox();
      expect(refresh!.x + refresh!.width).toBeLessThanOrEqual(400);
      // Each address of the recent emails is on one line or two, not one letter per line.
      const toCells = await narrow.locator('#recent tbody tr td:nth-child(3)').evaluateAll((cells) => cells.map((cell) => cell.getBoundingClientRect().width));
      expect(toCells.length).toBeGreaterThan(0);
      expect(Math.min(...toCells)).toBeGreaterThan(120);
      const tick = await narrow.locator('#chart text.tick').first().evaluate((text) => text.getBoundingClientRect().height);
      expect(tick).toBeGreaterThan(8);
      // Today, at the right end of the chart, is in view.
      expect(await narrow.locator('#chart').evaluate((chart) => chart.scrollLeft + chart.clientWidth >= chart.scrollWidth - 1)).toBe(true);
    } finally {
      await narrow.close();
    }
  }, 60_000);

  it('shows hostile text from the engine as text, never as markup', async () => {
    const row = page.locator('#recent tr', { hasText: 'dash-hostile' });

    expect(await row.locator('td').nth(3).textContent()).toBe(HOSTILE);
    expect(await page.locator('#recent img').count()).toBe(0);
    expect(dialogs.filter((d) => d.startsWith('alert'))).toEqual([]);
  });

  it('diagnoses an email by its emailId', async () => {
    await page.fill('#search', 'dash-bounce');
    await page.click('#search-form button[type="submit"]');
    await page.waitForSelector('#diagnosis .verdict');

    const verdict = await page.locator('#diagnosis .verdict .summary').textContent();
    expect(verdict).toMatch(/^Verdict: .*bounce/i);
    expect(await page.locator('#diagnosis .kv').textContent()).toContain(BOUNCE);
    await page.locator('#search-panel').screenshot({ path: join(IMAGES, 'dashboard-diagnose.png') });
    expect(consoleErrors).toEqual([]);
  }, 30_000);

  it('removes the bounced address from the suppression list after the confirmation', async () => {
    await page.click(`button[data-remove="${BOUNCE}"]`);
    await page.waitForSelector('#suppression-message:not([hidden])');

    expect(await page.locator('#suppression-message').textContent()).toBe(`${BOUNCE} removed; requests to it are sent again.`);
    expect(dialogs.at(-1)).toMatch(new RegExp(`^confirm: Remove ${BOUNCE} \\(hard-bounce\\)`));
    expect((await dashboard.api(`/api/suppression?address=${encodeURIComponent(BOUNCE)}`)).json.entries).toEqual([]);
    expect(await local.suppression(BOUNCE)).toBeUndefined();
    expect(await page.locator(`button[data-remove="${BOUNCE}"]`).count()).toBe(0);
    await page.locator('#suppression-panel').screenshot({ path: join(IMAGES, 'dashboard-suppression.png') });
  }, 30_000);

  it('redrives the send DLQ after the confirmation, and the request is then sent', async () => {
    await page.click('button[data-redrive="send"]');
    await page.waitForSelector('#dlq-message:not([hidden])');

    expect(await page.locator('#dlq-message').textContent()).toBe('Moved 1 message(s) back.');
    const record = await eventually(async () => {
      const item = await local.record('dash-dlq');
      return item && item.status !== 'sending' ? item : undefined;
    }, 30_000, 'the redriven request to be tracked');
    expect(record.toEmail).toBe('success@simulator.amazonses.com');
    expect((await dashboard.api('/api/dlq')).json.queues.find((q: any) => q.queue === 'send').depth.visible).toBe(0);
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('keeps the spam complaint without the second confirmation', async () => {
    page.removeAllListeners('dialog');
    let asked = 0;
    page.on('dialog', (dialog) => {
      asked += 1;
      // Yes to "remove?", no to "they asked to receive mail again?".
      void (asked === 1 ? dialog.accept() : dialog.dismiss());
    });
    await page.click(`button[data-remove="${COMPLAINT}"]`);
    await eventually(async () => (asked === 2 ? true : undefined), 10_000, 'the second confirmation');

    expect(await local.suppression(COMPLAINT)).toBeDefined();
    const refused = await dashboard.api('/api/suppression/remove', { confirm: true, address: COMPLAINT });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('SPR001');
    expect(await local.suppression(COMPLAINT)).toBeDefined();
  }, 30_000);
});

describe('dashboard --open', () => {
  it('serves as usual on a machine with no browser to open', async () => {
    const noBrowser = mkdtempSync(join(tmpdir(), 'no-browser-'));
    const second = await startDashboard(['--local', local.info.eventBridgeEndpoint, '--open'], undefined, 30_000, { PATH: noBrowser });
    try {
      expect(second.port).not.toBe(dashboard.port);
      expect((await second.api('/api/overview')).status).toBe(200);
      // Each run has its own token: the first dashboard's does not open the second.
      expect((await fetch(`${second.origin}/api/overview`, { headers: { Authorization: `Bearer ${dashboard.token}` } })).status).toBe(401);
    } finally {
      expect(await second.stop()).toBe(0);
    }
    expect(second.stderr()).toBe('');
  }, 30_000);
});
