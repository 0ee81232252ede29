import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { GetAccountCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';

/**
 * `sesmailengine local --ses-max-send-rate 2 --ses-max-24-hour-send 6` end to end (the built
 * CLI in a child process): GetAccount reports the quota, the engine paces its sends to the
 * rate (SES never refuses one), and the requests past the daily quota are held, neither
 * failed nor dead-lettered.
 */

let local: LocalMode;

beforeAll(async () => {
  local = await startLocalMode(['--stack-name', 'quota', '--ses-max-send-rate', '2', '--ses-max-24-hour-send', '6', '--log-format', 'json']);
}, 90_000);
afterAll(async () => {
  await local?.stop();
}, 30_000);

describe('local mode with an SES quota', () => {
  it("reports the quota through SES's GetAccount", async () => {
    const ses = new SESv2Client({ region: local.info.region, credentials: local.info.credentials, endpoint: local.info.sesEndpoint });
    const account = await ses.send(new GetAccountCommand({}));
    ses.destroy();
    expect(account.SendQuota).toEqual({ MaxSendRate: 2, Max24HourSend: 6, SentLast24Hours: 0 });
  });

  it('sends at the rate without a refusal, and holds what the daily quota does not allow', async () => {
    const ids = Array.from({ length: 8 }, () => `quota-${randomUUID()}`);
    const out = await local.publish(ids.map((emailId, i) => local.request({ emailId, to: `q${i}@example.com`, templateName: 'welcome', templateData: { userName: 'Ada', companyName: 'Acme' } })));
    expect(out.FailedEntryCount).toBe(0);

    const sent = await eventually(
      async () => {
        const records = (await local.records(ids)).filter((r) => r.status === 'sent');
        return records.length >= 6 ? records : undefined;
      },
      30_000,
      'six requests to be sent',
    );
    expect(sent).toHaveLength(6);
    const perSecond = new Map<number, number>();
    for (const r of sent) perSecond.set(Math.floor(Date.parse(r.sentAt) / 1000), (perSecond.get(Math.floor(Date.parse(r.sentAt) / 1000)) ?? 0) + 1);
    // Six sends at 2 per second: in three seconds at least, never more than 2 in one.
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2);
    expect(perSecond.size).toBeGreaterThanOrEqual(3);

    // The other two are held: deferred on the send queue, with no record, never failed.
    await eventually(
      async () => (local.stdoutLines().filter((line) => line.includes('"status":"deferred"') && line.includes('daily-quota')).length >= 2 ? true : undefined),
      15_000,
      'two requests held for the daily quota',
    );
    expect(local.stdoutLines().filter((line) => line.includes('Maximum sending rate exceeded'))).toEqual([]);
    const records = await local.records(ids);
    expect(records.filter((r) => r.status === 'failed')).toEqual([]);
    expect(records).toHaveLength(6);
    expect((await local.mail()).filter((m) => m.destination.to.some((to) => to.startsWith('q')))).toHaveLength(6);
  }, 60_000);
});
