import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns, type StoredEmail } from '../support/stand-ins.js';
import {
  requestEvent,
  scanTracking,
  sqsEvent,
  sqsRecord,
  starterTemplate,
  uploadStarterTemplates,
  uploadTemplate,
} from '../support/sender-events.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { addDailyCounts, readDailyCounts } from '../../functions/lib/counters-store.js';
import { addSuppression } from '../../functions/lib/suppression-store.js';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';
import { verifyUnsubscribeToken } from '../../functions/core/unsubscribe-token.js';
import { emailIdFromTags } from '../../functions/core/message-tags.js';
import type { Env } from '../../functions/lib/env.js';

/**
 * The real Email Sender handler against dynalite, s3rver and aws-ses-v2-local, with the
 * starter templates uploaded to the bucket. Each test uses its own emailIds and, where
 * counters matter, its own day.
 */

let env: StandIns;
let clock = new Date('2026-03-02T10:00:00.000Z');
const sesInputs: SendEmailCommandInput[] = [];

const SECRET = 'test-unsubscribe-secret';

function senderEnv(overrides: Env = {}): Env {
  return {
    TRACKING_TABLE: env.tables.tracking,
    SUPPRESSION_TABLE: env.tables.suppression,
    COUNTERS_TABLE: env.tables.counters,
    TEMPLATE_BUCKET: env.bucket,
    CONFIGURATION_SET: 'sender-test-tracking',
    DEFAULT_SENDER_EMAIL: 'noreply@app.example',
    DEFAULT_SENDER_NAME: 'App Team',
    BOUNCE_RATE_THRESHOLD: '5',
    BOUNCE_RATE_MIN_SENDS: '100',
    TEMPLATE_CACHE_SECONDS: '300',
    TRACKING_RETENTION_DAYS: '30',
    UNSUBSCRIBE_URL: 'https://unsubscribe.app.example/u',
    UNSUBSCRIBE_SECRET: SECRET,
    UNSUBSCRIBE_MAILTO: 'unsubscribe@app.example',
    ...overrides,
  };
}

function makeHandler(overrides: Env = {}) {
  const logs: Record<string, unknown>[] = [];
  const handler = createEmailSenderHandler({
    clients: { ddb: env.ddb, s3: env.s3, ses: env.ses },
    env: senderEnv(overrides),
    now: () => clock,
    log: (entry) => logs.push(entry),
  });
  return { handler, logs };
}

async function record(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

async function mailTo(address: string): Promise<StoredEmail[]> {
  return (await env.sentMail()).filter((mail) => mail.destination.to.includes(address));
}

const welcome = (to: string, emailId: string, extra: Record<string, unknown> = {}) =>
  requestEvent({ to, emailId, templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' }, ...extra });

beforeAll(async () => {
  env = await startStandIns('sender');
  env.ses.middlewareStack.add(
    (next, context) => async (args) => {
      // SendEmail only: the sender's pacing also asks SES for the account's rate (GetAccount).
      if (context.commandName === 'SendEmailCommand') sesInputs.push(args.input as SendEmailCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'captureSendEmailInput' },
  );
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome', 'password-reset', 'newsletter', 'contact-form-notification']);
  await uploadTemplate(env.s3, env.bucket, 'branded', {
    html: '<p>Hi {{ userName }}</p>',
    text: 'Hi {{ userName }}',
    metadata: {
      subject: 'From the brand',
      requiredVariables: ['userName'],
      category: 'transactional',
      version: '1.0.0',
      description: 'Template with its own sender and reply-to',
      senderEmail: 'brand@brand.example',
      senderName: 'Brand Desk',
      replyTo: 'help+{{ userName }}@brand.example',
    },
  });
});

afterAll(async () => {
  await env?.stop();
});

beforeEach(async () => {
  await env.clearMail();
  sesInputs.length = 0;
  clock = new Date('2026-03-02T10:00:00.000Z');
});

describe('a valid request', () => {
  it('is rendered, sent through SES and tracked as sent', async () => {
    const { handler, logs } = makeHandler();
    const result = await handler(
      sqsEvent(welcome('ann@customer.example', 'ok-1', { metadata: { userId: 'u-1' }, replyTo: 'support@app.example' })),
    );

    expect(result.batchItemFailures).toEqual([]);
    const [mail, ...others] = await mailTo('ann@customer.example');
    expect(others).toHaveLength(0);
    expect(mail!.subject).toBe('Welcome to Acme, Ann!');
    expect(mail!.from).toBe('"App Team" <noreply@app.example>');
    expect(mail!.replyTo).toEqual(['support@app.example']);
    expect(mail!.body.html).toContain('Hi Ann,');
    expect(mail!.body.text).toContain('Thanks for joining Acme.');
    expect(mail!.body.text).not.toMatch(/<[a-z]/i);

    const tracked = await record('ok-1');
    expect(tracked).toMatchObject({
      emailId: 'ok-1',
      originalEmailId: 'ok-1',
      retryAttempt: 0,
      toEmail: 'ann@customer.example',
      templateName: 'welcome',
      subject: 'Welcome to Acme, Ann!',
      senderEmail: 'noreply@app.example',
      status: 'sent',
      statusRank: 1,
      sesMessageId: mail!.messageId,
      originalSource: 'my.application',
      metadata: { userId: 'u-1' },
      timestamp: '2026-03-02T10:00:00.000Z',
      datePartition: '2026-03-02',
      sentAt: '2026-03-02T10:00:00.000Z',
      expiresAt: Math.floor(clock.getTime() / 1000) + 30 * 86400,
      request: {
        to: 'ann@customer.example',
        templateName: 'welcome',
        templateData: { userName: 'Ann', companyName: 'Acme' },
        metadata: { userId: 'u-1' },
        replyTo: 'support@app.example',
      },
    });
    expect(tracked!.errorCode).toBeUndefined();
    expect(logs).toEqual([expect.objectContaining({ outcome: 'sent', emailId: 'ok-1', sesMessageId: mail!.messageId })]);
    expect(JSON.stringify(logs)).not.toContain('Ann');
  });

  it('goes out in the configuration set with the emailId and template tags', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('tags@customer.example', 'order/42 ✓')));
    const input = sesInputs.at(-1)!;
    expect(input.ConfigurationSetName).toBe('sender-test-tracking');
    const tags = Object.fromEntries((input.EmailTags ?? []).map((t) => [t.Name!, [t.Value!]]));
    expect(emailIdFromTags(tags)).toBe('order/42 ✓');
    expect(tags.templateName).toEqual(['welcome']);
    expect(input.Content?.Simple?.Headers).toBeUndefined();
  });

  it('sends to the punycode form of an internationalised domain and tracks it lower-cased', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('Kunde@Bücher.de', 'idn-1')));
    expect(await mailTo('Kunde@xn--bcher-kva.de')).toHaveLength(1);
    expect((await record('idn-1'))!.toEmail).toBe('kunde@xn--bcher-kva.de');
  });

  it('adds sent and failed to today\'s counters once per batch', async () => {
    clock = new Date('2026-04-01T08:00:00.000Z');
    const { handler } = makeHandler();
    await handler(
      sqsEvent(
        welcome('c1@customer.example', 'count-1'),
        welcome('c2@customer.example', 'count-2'),
        welcome('not-an-address', 'count-3'),
      ),
    );
    const counts = await readDailyCounts(env.ddb, env.tables.counters, '2026-04-01');
    expect(counts.sent).toBe(2);
    expect(counts.failed).toBe(1);
  });

  it('stores numbers DynamoDB cannot hold (beyond 2^53, under 1e-130) as text instead of stalling', async () => {
    const { handler } = makeHandler();
    const result = await handler(
      sqsEvent(welcome('num@customer.example', 'num-1', { templateData: { userName: 'A', companyName: 'B', orderNo: 12345678901234567890, tiny: 1e-200, n: 2 }, metadata: { big: -9007199254740993 } })),
    );
    expect(result.batchItemFailures).toEqual([]);
    const tracked = await record('num-1');
    expect(tracked!.status).toBe('sent');
    expect(tracked!.request!.templateData).toEqual({ userName: 'A', companyName: 'B', orderNo: '12345678901234567000', tiny: '1e-200', n: 2 });
    expect(tracked!.metadata).toEqual({ big: '-9007199254740992' });
  });

  it('uses email-<event id> when the request has no emailId', async () => {
    const { handler } = makeHandler();
    const body = requestEvent({ to: 'noid@customer.example', templateName: 'welcome', templateData: { userName: 'A', companyName: 'B' } });
    await handler(sqsEvent(body));
    const eventId = (JSON.parse(body) as { id: string }).id;
    expect((await record(`email-${eventId}`))?.status).toBe('sent');
  });

  it('tracks a soft-bounce retry with its original emailId and attempt, without storing the request again', async () => {
    const { handler } = makeHandler();
    const body = requestEvent(
      { to: 'retry@customer.example', templateName: 'welcome', templateData: { userName: 'A', companyName: 'B' }, emailId: 'email-retry-x', originalEmailId: 'orig-x', retryAttempt: 1 },
      { source: 'sesmailengine', 'detail-type': 'Email Retry' },
    );
    await handler(sqsEvent(body));
    const tracked = await record('email-retry-x');
    expect(tracked).toMatchObject({ status: 'sent', originalEmailId: 'orig-x', retryAttempt: 1, originalSource: 'sesmailengine' });
    expect(tracked!.request).toBeUndefined();
  });
});

describe('validation failures', () => {
  const cases: [string, string, string][] = [
    ['VAL001', 'not JSON', 'this is not json'],
    ['VAL001', 'no detail', JSON.stringify({ id: 'e-1', 'detail-type': 'Email Request', source: 'app' })],
    ['VAL002', 'missing to', requestEvent({ emailId: 'v-2', templateName: 'welcome' })],
    ['VAL003', 'bad address', requestEvent({ emailId: 'v-3', to: 'ann at example.com', templateName: 'welcome' })],
    ['VAL004', 'path traversal', requestEvent({ emailId: 'v-4', to: 'a@customer.example', templateName: '../../secrets/metadata' })],
    ['VAL005', 'header injection', requestEvent({ emailId: 'v-5', to: 'a@customer.example', templateName: 'welcome', subject: 'Hi\r\nBcc: victim@customer.example' })],
    ['VAL006', 'wrong type', requestEvent({ emailId: 'v-6', to: 'a@customer.example', templateName: 'welcome', templateData: 'userName=Ann' })],
    ['VAL007', 'too large', requestEvent({ emailId: 'v-7', to: 'a@customer.example', templateName: 'welcome', metadata: { blob: 'x'.repeat(9000) } })],
    ['VAL008', 'bad emailId', requestEvent({ emailId: 'x'.repeat(200), to: 'a@customer.example', templateName: 'welcome' }, { id: 'evt-v8' })],
    ['VAL009', 'bad reply-to', requestEvent({ emailId: 'v-9', to: 'a@customer.example', templateName: 'welcome', replyTo: 'nobody' })],
  ];

  it('each end as exactly one failed record with its code, and never fail their batch-mates', async () => {
    const { handler } = makeHandler();
    const records = cases.map(([, , body], i) => sqsRecord(body, `msg-val-${i}`));
    const good = sqsRecord(welcome('mate@customer.example', 'v-good'));
    const result = await handler({ Records: [...records, good] });

    expect(result.batchItemFailures).toEqual([]);
    const expectedIds = ['email-msg-val-0', 'email-msg-val-1', 'v-2', 'v-3', 'v-4', 'v-5', 'v-6', 'v-7', 'email-evt-v8', 'v-9'];
    for (const [i, [code]] of cases.entries()) {
      const tracked = await record(expectedIds[i]!);
      expect({ id: expectedIds[i], status: tracked?.status, code: tracked?.errorCode }).toEqual({ id: expectedIds[i], status: 'failed', code });
      expect(tracked!.errorMessage!.length).toBeGreaterThan(5);
    }
    expect((await record('v-good'))?.status).toBe('sent');
    const mail = await env.sentMail();
    expect(mail).toHaveLength(1);
    expect(mail[0]!.destination.to).toEqual(['mate@customer.example']);
  });

  it('keeps the failed record storable even when the input is hostile', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(requestEvent({ emailId: 'v-hostile', to: `${'x'.repeat(3000)}\n@evil`, templateName: { $ne: 1 } })));
    const tracked = await record('v-hostile');
    expect(tracked).toMatchObject({ status: 'failed', errorCode: 'VAL005', templateName: '(missing)' });
    expect(tracked!.toEmail.length).toBeLessThanOrEqual(320);
  });

  it('fuzzed requests each end as exactly one tracked record; the batch never throws or stalls', async () => {
    const { handler } = makeHandler();
    const field = fc.constantFrom('to', 'templateName', 'templateData', 'subject', 'senderOverride', 'replyTo', 'metadata', 'unsubscribe');
    const hostile = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom('\r\nBcc: victim@customer.example', '../../etc/passwd', 'a@b', '<script>x</script>', '', ' ', 'x'.repeat(1000)),
    );
    const request = fc.dictionary(field, hostile, { minKeys: 1, maxKeys: 4 });
    const bodies = fc.oneof(
      { weight: 6, arbitrary: request.map((fields) => ({ kind: 'event' as const, fields })) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map((raw) => ({ kind: 'raw' as const, raw })) },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(bodies, { minLength: 1, maxLength: 10 }), async (batch) => {
        const records = batch.map((item) => {
          n++;
          const emailId = `fuzz-${n}`;
          const body =
            item.kind === 'raw'
              ? item.raw
              : requestEvent({ to: 'fuzz@customer.example', templateName: 'welcome', templateData: { userName: 'F', companyName: 'Z' }, ...item.fields, emailId });
          return { record: sqsRecord(body, `fuzz-msg-${n}`), emailId: item.kind === 'raw' ? `email-fuzz-msg-${n}` : emailId };
        });
        const before = (await env.sentMail()).length;
        const result = await handler({ Records: records.map((r) => r.record) });
        expect(result.batchItemFailures).toEqual([]);
        let sent = 0;
        for (const { emailId } of records) {
          const tracked = await record(emailId);
          expect(tracked).toBeDefined();
          expect(['sent', 'failed']).toContain(tracked!.status);
          if (tracked!.status === 'failed') expect(tracked!.errorCode).toMatch(/^(VAL|TMPL|UNS)\d{3}$/);
          else sent++;
        }
        expect((await env.sentMail()).length - before).toBe(sent);
      }),
      { numRuns: 25 },
    );
  }, 180_000);
});

describe('reputation protection', () => {
  it('refuses a suppressed recipient whatever the case of the address', async () => {
    await addSuppression(env.ddb, env.tables.suppression, {
      email: 'Blocked@Customer.example',
      reason: 'hard-bounce',
      suppressionType: 'bounce',
      createdAt: '2026-02-01T00:00:00.000Z',
    });
    const { handler } = makeHandler();
    const result = await handler(sqsEvent(welcome('BLOCKED@customer.EXAMPLE', 'sup-1'), welcome('fine@customer.example', 'sup-2')));
    expect(result.batchItemFailures).toEqual([]);
    expect(await record('sup-1')).toMatchObject({ status: 'failed', errorCode: 'SUP001' });
    expect((await record('sup-1'))!.errorMessage).toContain('hard-bounce');
    expect((await record('sup-2'))!.status).toBe('sent');
    expect(await mailTo('BLOCKED@customer.example')).toHaveLength(0);
  });

  it('finds an internationalised address suppressed under either its Unicode or its ASCII form', async () => {
    await addSuppression(env.ddb, env.tables.suppression, { email: 'kunde@bücher.de', reason: 'manual', suppressionType: 'manual', createdAt: clock.toISOString() });
    await addSuppression(env.ddb, env.tables.suppression, { email: 'leser@xn--mnchen-3ya.de', reason: 'hard-bounce', suppressionType: 'bounce', createdAt: clock.toISOString() });
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('Kunde@xn--bcher-kva.de', 'sup-idn-1'), welcome('leser@München.de', 'sup-idn-2')));
    expect(await record('sup-idn-1')).toMatchObject({ status: 'failed', errorCode: 'SUP001' });
    expect(await record('sup-idn-2')).toMatchObject({ status: 'failed', errorCode: 'SUP001' });
  });

  it('does not brake below the minimum sample, however high the rate, with the hard-bounce floor off', async () => {
    clock = new Date('2026-05-01T12:00:00.000Z');
    await addDailyCounts(env.ddb, env.tables.counters, '2026-05-01', { sent: 50, bounced: 25 });
    const { handler } = makeHandler({ BOUNCE_BRAKE_MAX_HARD_BOUNCES: '0' });
    await handler(sqsEvent(welcome('brake-a@customer.example', 'brk-1')));
    expect((await record('brk-1'))!.status).toBe('sent');
  });

  it('brakes below the minimum sample once today has as many hard bounces as the floor', async () => {
    clock = new Date('2026-05-04T12:00:00.000Z');
    await addDailyCounts(env.ddb, env.tables.counters, '2026-05-04', { sent: 30, bounced: 10, sameDayBounced: 10 });
    const { handler } = makeHandler({ BOUNCE_BRAKE_MAX_HARD_BOUNCES: '10' });
    await handler(sqsEvent(welcome('brake-d@customer.example', 'brk-4')));
    expect(await record('brk-4')).toMatchObject({ status: 'failed', errorCode: 'BRK001' });
    expect((await record('brk-4'))!.errorMessage).toMatch(/Today's 30 sends have 10 hard bounces.*BounceBrakeMaxHardBounces/);
    expect(await mailTo('brake-d@customer.example')).toHaveLength(0);
  });

  it('holds at the default floor of 10 hard bounces when the stack sets none', async () => {
    clock = new Date('2026-05-05T12:00:00.000Z');
    await addDailyCounts(env.ddb, env.tables.counters, '2026-05-05', { sent: 12, bounced: 10, sameDayBounced: 10 });
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('brake-e@customer.example', 'brk-5')));
    expect(await record('brk-5')).toMatchObject({ status: 'failed', errorCode: 'BRK001' });
  });

  it('sends one hard bounce short of the floor', async () => {
    clock = new Date('2026-05-06T12:00:00.000Z');
    await addDailyCounts(env.ddb, env.tables.counters, '2026-05-06', { sent: 30, bounced: 9, sameDayBounced: 9 });
    const { handler } = makeHandler({ BOUNCE_BRAKE_MAX_HARD_BOUNCES: '10' });
    await handler(sqsEvent(welcome('brake-f@customer.example', 'brk-6')));
    expect((await record('brk-6'))!.status).toBe('sent');
  });

  it("sends after midnight though yesterday's mail bounces late: the floor counts only bounces of today's sends", async () => {
    clock = new Date('2026-05-07T00:10:00.000Z');
    await addDailyCounts(env.ddb, env.tables.counters, '2026-05-07', { sent: 20, bounced: 40, sameDayBounced: 2 });
    const { handler } = makeHandler({ BOUNCE_BRAKE_MAX_HARD_BOUNCES: '10' });
    await handler(sqsEvent(welcome('brake-g@customer.example', 'brk-7')));
    expect((await record('brk-7'))!.status).toBe('sent');
  });

  it('brakes once the day has enough sends and the hard-bounce rate is over the threshold', async () => {
    clock = new Date('2026-05-02T12:00:00.000Z');
    await addDailyCounts(env.ddb, env.tables.counters, '2026-05-02', { sent: 200, bounced: 11, softBounced: 500 });
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('brake-b@customer.example', 'brk-2')));
    expect(await record('brk-2')).toMatchObject({ status: 'failed', errorCode: 'BRK001' });
    expect((await record('brk-2'))!.errorMessage).toMatch(/5\.50%.*11 hard bounces in 200 sends/);
    expect(await mailTo('brake-b@customer.example')).toHaveLength(0);
  });

  it('ignores soft bounces and stays open at exactly the threshold', async () => {
    clock = new Date('2026-05-03T12:00:00.000Z');
    await addDailyCounts(env.ddb, env.tables.counters, '2026-05-03', { sent: 200, bounced: 10, softBounced: 150 });
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('brake-c@customer.example', 'brk-3')));
    expect((await record('brk-3'))!.status).toBe('sent');
  });
});

describe('templates', () => {
  it('tracks a missing template as TMPL001', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(requestEvent({ emailId: 'tpl-1', to: 'a@customer.example', templateName: 'does-not-exist' })));
    expect(await record('tpl-1')).toMatchObject({ status: 'failed', errorCode: 'TMPL001' });
  });

  it('tracks a missing required variable as TMPL003', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(requestEvent({ emailId: 'tpl-3', to: 'a@customer.example', templateName: 'password-reset', templateData: { userName: 'A', expiresIn: '1 hour' } })));
    const tracked = await record('tpl-3');
    expect(tracked).toMatchObject({ status: 'failed', errorCode: 'TMPL003' });
    expect(tracked!.errorMessage).toContain('"resetLink"');
  });

  it('escapes HTML injected through templateData in the HTML part only', async () => {
    const { handler } = makeHandler();
    await handler(
      sqsEvent(
        requestEvent({
          emailId: 'tpl-xss',
          to: 'xss@customer.example',
          templateName: 'password-reset',
          templateData: { userName: '<script>alert(1)</script>', resetLink: 'https://app.example/reset?t=1" onclick="x', expiresIn: '1 hour' },
        }),
      ),
    );
    const [mail] = await mailTo('xss@customer.example');
    expect(mail!.body.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail!.body.html).not.toContain('<script>');
    expect(mail!.body.html).toContain('href="https://app.example/reset?t=1&quot; onclick=&quot;x"');
    expect(mail!.body.text).toContain('Hi <script>alert(1)</script>,');
  });

  it('tracks broken metadata as TMPL002', async () => {
    await uploadTemplate(env.s3, env.bucket, 'broken-meta', { html: 'x', text: 'x', metadata: '{"subject": ' });
    const { handler } = makeHandler();
    await handler(sqsEvent(requestEvent({ emailId: 'tpl-2', to: 'a@customer.example', templateName: 'broken-meta' })));
    expect(await record('tpl-2')).toMatchObject({ status: 'failed', errorCode: 'TMPL002' });
  });

  it('reads a template from S3 once per cache period', async () => {
    const { handler } = makeHandler();
    let gets = 0;
    env.s3.middlewareStack.add(
      (next) => async (args) => {
        gets++;
        return next(args);
      },
      { step: 'initialize', name: 'countGets' },
    );
    try {
      await handler(sqsEvent(welcome('c-1@customer.example', 'cache-1'), welcome('c-2@customer.example', 'cache-2')));
      await handler(sqsEvent(welcome('c-3@customer.example', 'cache-3')));
    } finally {
      env.s3.middlewareStack.remove('countGets');
    }
    expect(gets).toBe(3);
  });

  it('picks up a changed template after TEMPLATE_CACHE_SECONDS', async () => {
    const files = { html: '<p>v1 {{ userName }}</p>', text: 'v1', metadata: { subject: 'v1', requiredVariables: [], category: 'transactional', version: '1.0.0', description: 'd' } };
    await uploadTemplate(env.s3, env.bucket, 'changing', files);
    const { handler } = makeHandler({ TEMPLATE_CACHE_SECONDS: '60' });
    const send = (id: string) => handler(sqsEvent(requestEvent({ emailId: id, to: `${id}@customer.example`, templateName: 'changing', templateData: { userName: 'A' } })));
    await send('chg-1');
    await uploadTemplate(env.s3, env.bucket, 'changing', { ...files, metadata: { ...files.metadata, subject: 'v2' } });
    await send('chg-2');
    clock = new Date(clock.getTime() + 61_000);
    await send('chg-3');
    expect([(await record('chg-1'))!.subject, (await record('chg-2'))!.subject, (await record('chg-3'))!.subject]).toEqual(['v1', 'v1', 'v2']);
  });
});

describe('sender and reply-to', () => {
  it('use the stack default when neither request nor template gives one', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('s-1@customer.example', 'snd-1')));
    const [mail] = await mailTo('s-1@customer.example');
    expect(mail!.from).toBe('"App Team" <noreply@app.example>');
    expect(mail!.replyTo).toEqual([]);
  });

  it("use the template's sender and rendered reply-to over the stack default", async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(requestEvent({ emailId: 'snd-2', to: 's-2@customer.example', templateName: 'branded', templateData: { userName: 'ann' } })));
    const [mail] = await mailTo('s-2@customer.example');
    expect(mail!.from).toBe('"Brand Desk" <brand@brand.example>');
    expect(mail!.replyTo).toEqual(['help+ann@brand.example']);
    expect((await record('snd-2'))!.senderEmail).toBe('brand@brand.example');
  });

  it("use the request's senderOverride and replyTo over the template's", async () => {
    const { handler } = makeHandler();
    await handler(
      sqsEvent(
        requestEvent({
          emailId: 'snd-3',
          to: 's-3@customer.example',
          templateName: 'branded',
          templateData: { userName: 'ann' },
          senderOverride: { email: 'sales@app.example', name: 'Sales' },
          replyTo: 'rep@app.example',
        }),
      ),
    );
    const [mail] = await mailTo('s-3@customer.example');
    expect(mail!.from).toBe('"Sales" <sales@app.example>');
    expect(mail!.replyTo).toEqual(['rep@app.example']);
  });

  it('encode a non-ASCII display name', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('s-4@customer.example', 'snd-4', { senderOverride: { email: 'team@app.example', name: 'Équipe Müller' } })));
    const [mail] = await mailTo('s-4@customer.example');
    expect(mail!.from).toBe(`=?UTF-8?B?${Buffer.from('Équipe Müller').toString('base64')}?= <team@app.example>`);
  });

  it('render the contact form reply-to from templateData', async () => {
    const { handler } = makeHandler();
    const data = starterTemplate('contact-form-notification').sampleData;
    await handler(sqsEvent(requestEvent({ emailId: 'snd-5', to: 'owner@customer.example', templateName: 'contact-form-notification', templateData: { ...data, formSenderEmail: 'visitor@people.example' } })));
    const [mail] = await mailTo('owner@customer.example');
    expect(mail!.replyTo).toEqual(['visitor@people.example']);
  });

  it('refuse a template reply-to that renders to a header injection', async () => {
    const { handler } = makeHandler();
    const data = starterTemplate('contact-form-notification').sampleData;
    await handler(sqsEvent(requestEvent({ emailId: 'snd-6', to: 'owner@customer.example', templateName: 'contact-form-notification', templateData: { ...data, formSenderEmail: 'v@people.example\r\nBcc: x@y.example' } })));
    expect(await record('snd-6')).toMatchObject({ status: 'failed', errorCode: 'VAL005' });
  });

  it('fail with TMPL005 when there is no sender at all', async () => {
    const { handler } = makeHandler({ DEFAULT_SENDER_EMAIL: '', DEFAULT_SENDER_NAME: '' });
    await handler(sqsEvent(welcome('s-7@customer.example', 'snd-7')));
    expect(await record('snd-7')).toMatchObject({ status: 'failed', errorCode: 'TMPL005' });
  });
});

describe('unsubscribe', () => {
  it('marketing mail carries one-click List-Unsubscribe headers and the link in the template', async () => {
    const { handler } = makeHandler();
    const data = starterTemplate('newsletter').sampleData;
    delete data.unsubscribeLink;
    await handler(sqsEvent(requestEvent({ emailId: 'uns-1', to: 'Reader@customer.example', templateName: 'newsletter', templateData: data })));
    const [mail] = await mailTo('Reader@customer.example');
    const headers = Object.fromEntries((mail!.headers ?? []).map((h) => [h.name, h.value]));
    expect(headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const match = /^<(https:\/\/unsubscribe\.app\.example\/u\?token=[^>]+)>, <mailto:unsubscribe@app\.example\?subject=unsubscribe>$/.exec(headers['List-Unsubscribe']!);
    expect(match).not.toBeNull();
    const link = match![1]!;
    expect(verifyUnsubscribeToken(SECRET, new URL(link).searchParams.get('token'))).toBe('reader@customer.example');
    expect(mail!.body.html).toContain(link.replace(/&/g, '&amp;'));
    expect(mail!.body.text).toContain(link);
  });

  it('a transactional template gets the headers when the request asks', async () => {
    const { handler } = makeHandler({ UNSUBSCRIBE_MAILTO: '' });
    await handler(sqsEvent(welcome('u-2@customer.example', 'uns-2', { unsubscribe: true })));
    const [mail] = await mailTo('u-2@customer.example');
    const names = (mail!.headers ?? []).map((h) => h.name);
    expect(names).toEqual(['List-Unsubscribe', 'List-Unsubscribe-Post']);
    expect(mail!.headers![0]!.value).not.toContain('mailto:');
  });

  it('marketing mail goes without the headers when the request says unsubscribe: false', async () => {
    const { handler } = makeHandler();
    const data = starterTemplate('newsletter').sampleData;
    await handler(sqsEvent(requestEvent({ emailId: 'uns-3', to: 'u-3@customer.example', templateName: 'newsletter', templateData: data, unsubscribe: false })));
    const [mail] = await mailTo('u-3@customer.example');
    expect(mail!.headers ?? []).toEqual([]);
  });

  it('fails with UNS001 when no unsubscribe URL is configured', async () => {
    const { handler } = makeHandler({ UNSUBSCRIBE_URL: '' });
    await handler(sqsEvent(welcome('u-4@customer.example', 'uns-4', { unsubscribe: true })));
    expect(await record('uns-4')).toMatchObject({ status: 'failed', errorCode: 'UNS001' });
  });
});

describe('idempotency', () => {
  it('sends a duplicate emailId delivered twice only once, with one record', async () => {
    const { handler, logs } = makeHandler();
    const first = await handler(sqsEvent(welcome('dup@customer.example', 'dup-1')));
    const second = await handler(sqsEvent(welcome('dup@customer.example', 'dup-1', { subject: 'Different subject' })));
    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect(await mailTo('dup@customer.example')).toHaveLength(1);
    expect((await record('dup-1'))!.subject).toBe('Welcome to Acme, Ann!');
    expect(logs.map((l) => l.outcome)).toEqual(['sent', 'duplicate']);
  });

  it('sends one of two copies in the same batch and returns the other until the first finishes', async () => {
    const { handler } = makeHandler();
    const a = sqsRecord(welcome('dup2@customer.example', 'dup-2'));
    const b = sqsRecord(welcome('dup2@customer.example', 'dup-2'));
    const result = await handler({ Records: [a, b] });
    expect(result.batchItemFailures).toHaveLength(1);
    const retried = await handler({ Records: [result.batchItemFailures[0]!.itemIdentifier === a.messageId ? a : b] });
    expect(retried.batchItemFailures).toEqual([]);
    expect(await mailTo('dup2@customer.example')).toHaveLength(1);
    expect((await record('dup-2'))!.status).toBe('sent');
  });

  it('a duplicate of a finished email is consumed even when it would now fail', async () => {
    const { handler } = makeHandler();
    await handler(sqsEvent(welcome('dup3@customer.example', 'dup-3')));
    await addSuppression(env.ddb, env.tables.suppression, { email: 'dup3@customer.example', reason: 'spam-complaint', suppressionType: 'complaint', createdAt: clock.toISOString() });
    const again = await handler(sqsEvent(welcome('dup3@customer.example', 'dup-3')));
    expect(again.batchItemFailures).toEqual([]);
    expect((await record('dup-3'))!.status).toBe('sent');
  });

  it('does not overwrite a record that feedback already advanced', async () => {
    const { handler } = makeHandler();
    await env.ddb.send(
      new PutCommand({
        TableName: env.tables.tracking,
        Item: { emailId: 'dup-4', status: 'delivered', statusRank: 6, toEmail: 'dup4@customer.example', timestamp: clock.toISOString() },
      }),
    );
    await handler(sqsEvent(welcome('dup4@customer.example', 'dup-4')));
    expect(await mailTo('dup4@customer.example')).toHaveLength(0);
    expect((await record('dup-4'))!.status).toBe('delivered');
  });

  describe('a claim left in `sending` by an interrupted attempt', () => {
    const stuck = (emailId: string, claimedAt: Date) =>
      env.ddb.send(
        new PutCommand({
          TableName: env.tables.tracking,
          Item: {
            emailId,
            originalEmailId: emailId,
            retryAttempt: 0,
            toEmail: 'stuck@customer.example',
            templateName: 'welcome',
            status: 'sending',
            statusRank: 0,
            originalSource: 'my.application',
            timestamp: claimedAt.toISOString(),
            datePartition: claimedAt.toISOString().slice(0, 10),
            expiresAt: 0,
          },
        }),
      );

    it('returns the message while the claim is recent', async () => {
      await stuck('stuck-1', new Date(clock.getTime() - 60_000));
      const { handler } = makeHandler();
      const result = await handler(sqsEvent(welcome('stuck@customer.example', 'stuck-1')));
      expect(result.batchItemFailures).toHaveLength(1);
      expect((await record('stuck-1'))!.status).toBe('sending');
      expect(await mailTo('stuck@customer.example')).toHaveLength(0);
    });

    it('re-claims and sends it once after the window when SES never reported a Send event', async () => {
      await stuck('stuck-2', new Date(clock.getTime() - 11 * 60_000));
      const { handler } = makeHandler();
      const result = await handler(sqsEvent(welcome('stuck2@customer.example', 'stuck-2')));
      expect(result.batchItemFailures).toEqual([]);
      const after = await record('stuck-2');
      expect(after).toMatchObject({ status: 'sent', sendAttempts: 2, lastAttemptAt: clock.toISOString() });
      expect(after!.sendHistory).toEqual([{ at: clock.toISOString(), attempt: 2, note: expect.stringContaining('resent after an interrupted attempt') }]);
      expect(await mailTo('stuck2@customer.example')).toHaveLength(1);
    });

    it('marks it failed (DUP001) after the window instead, never sending it again, when the policy is "fail"', async () => {
      await stuck('stuck-3', new Date(clock.getTime() - 11 * 60_000));
      const { handler } = makeHandler({ INTERRUPTED_SEND_POLICY: 'fail' });
      const result = await handler(sqsEvent(welcome('stuck3@customer.example', 'stuck-3')));
      expect(result.batchItemFailures).toEqual([]);
      expect(await record('stuck-3')).toMatchObject({ status: 'failed', errorCode: 'DUP001' });
      expect(await mailTo('stuck3@customer.example')).toHaveLength(0);
    });

    it('settles it with the request\'s own failure when the request now fails before the claim, instead of leaving it sending', async () => {
      await stuck('stuck-5', new Date(clock.getTime() - 11 * 60_000));
      await stuck('stuck-6', new Date(clock.getTime() - 60_000));
      const { handler } = makeHandler();
      const missing = (emailId: string) => requestEvent({ to: 'stuck5@customer.example', emailId, templateName: 'no-such-template', templateData: {} });
      expect((await handler(sqsEvent(missing('stuck-5')))).batchItemFailures).toEqual([]);
      expect(await record('stuck-5')).toMatchObject({ status: 'failed', errorCode: 'TMPL001' });
      // A recent claim may still be accepted by SES: its message waits for the window.
      expect((await handler(sqsEvent(missing('stuck-6')))).batchItemFailures).toHaveLength(1);
      expect(await record('stuck-6')).toMatchObject({ status: 'sending' });
    });

    it('takes a claim that carries SES\'s MessageId as sent, never sending it again', async () => {
      await stuck('stuck-4', new Date(clock.getTime() - 11 * 60_000));
      await env.ddb.send(
        new UpdateCommand({ TableName: env.tables.tracking, Key: { emailId: 'stuck-4' }, UpdateExpression: 'SET sesMessageId = :m', ExpressionAttributeValues: { ':m': 'ses-stuck-4' } }),
      );
      const { handler } = makeHandler();
      expect((await handler(sqsEvent(welcome('stuck4@customer.example', 'stuck-4')))).batchItemFailures).toEqual([]);
      expect(await record('stuck-4')).toMatchObject({ status: 'sent', sesMessageId: 'ses-stuck-4' });
      expect(await mailTo('stuck4@customer.example')).toHaveLength(0);
    });
  });
});

describe('batches', () => {
  it('process every record of a full batch and write one record each', async () => {
    const { handler } = makeHandler();
    const bodies = Array.from({ length: 10 }, (_, i) => welcome(`batch-${i}@customer.example`, `batch-${i}`));
    const result = await handler(sqsEvent(...bodies));
    expect(result.batchItemFailures).toEqual([]);
    const tracked = (await scanTracking(env.ddb, env.tables.tracking)).filter((r) => r.emailId.startsWith('batch-'));
    expect(tracked).toHaveLength(10);
    expect(tracked.every((r) => r.status === 'sent')).toBe(true);
    expect(new Set(tracked.map((r) => r.sesMessageId)).size).toBe(10);
  });

  it('fail on a configuration error instead of consuming the batch', async () => {
    const { handler } = makeHandler({ TRACKING_TABLE: '' });
    await expect(handler(sqsEvent(welcome('cfg@customer.example', 'cfg-1')))).rejects.toThrow(/TRACKING_TABLE/);
  });
});
