import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { addDailyCounts, readDailyCounts } from '../../functions/lib/counters-store.js';
import { addSuppression, findSuppressed, removeSuppression } from '../../functions/lib/suppression-store.js';

let env: StandIns;
beforeAll(async () => {
  env = await startStandIns('standins');
});
afterAll(async () => {
  await env?.stop();
});

describe('local stand-ins', () => {
  it('keep mail sent through the SES stand-in readable from /store', async () => {
    await env.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'sender@example.com',
        Destination: { ToAddresses: ['someone@example.com'] },
        Content: { Simple: { Subject: { Data: 'hi' }, Body: { Text: { Data: 'hello' } } } },
      }),
    );
    const mail = await env.sentMail();
    expect(mail.map((m) => m.subject)).toContain('hi');
  });

  it('refuse, as SES does, a SendEmail whose tag breaks SES’s rules', async () => {
    const send = (tag: { Name: string; Value: string }) =>
      env.ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'sender@example.com',
          Destination: { ToAddresses: ['someone@example.com'] },
          EmailTags: [{ Name: 'templateName', Value: 'welcome' }, tag],
          Content: { Simple: { Subject: { Data: 'tagged' }, Body: { Text: { Data: 'hello' } } } },
        }),
      );
    await expect(send({ Name: 'emailId-b64', Value: 'x'.repeat(512) })).rejects.toMatchObject({
      name: 'BadRequestException',
      message: 'Tag value cannot exceed 255 characters.',
    });
    await expect(send({ Name: 'email id', Value: 'x' })).rejects.toMatchObject({
      name: 'BadRequestException',
      message: "Invalid tag name <email id>: only alphanumeric ASCII characters, '_', and '-' are allowed.",
    });
    expect((await env.sentMail()).map((m) => m.subject)).not.toContain('tagged');
  });
});

describe('daily counters', () => {
  it('sum additions spread over shards', async () => {
    await addDailyCounts(env.ddb, env.tables.counters, '2026-01-02', { sent: 3, bounced: 1 }, 0);
    await addDailyCounts(env.ddb, env.tables.counters, '2026-01-02', { sent: 4 }, 9);
    await addDailyCounts(env.ddb, env.tables.counters, '2026-01-03', { sent: 100 });
    const counts = await readDailyCounts(env.ddb, env.tables.counters, '2026-01-02');
    expect(counts.sent).toBe(7);
    expect(counts.bounced).toBe(1);
    expect(counts.delivered).toBe(0);
  });
});

describe('suppression list', () => {
  it('finds addresses case-insensitively and never downgrades a spam complaint', async () => {
    const at = '2026-01-02T00:00:00.000Z';
    await addSuppression(env.ddb, env.tables.suppression, {
      email: 'Bob@Example.com', reason: 'spam-complaint', suppressionType: 'complaint', createdAt: at,
    });
    const replaced = await addSuppression(env.ddb, env.tables.suppression, {
      email: 'bob@example.com', reason: 'hard-bounce', suppressionType: 'bounce', createdAt: at,
    });
    const found = await findSuppressed(env.ddb, env.tables.suppression, ['BOB@example.com', 'carol@example.com']);
    expect(replaced).toBe(false);
    expect([...found.keys()]).toEqual(['bob@example.com']);
    expect(found.get('bob@example.com')?.reason).toBe('spam-complaint');
    await removeSuppression(env.ddb, env.tables.suppression, 'bob@example.com');
    expect((await findSuppressed(env.ddb, env.tables.suppression, ['bob@example.com'])).size).toBe(0);
  });
});
