import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';

/**
 * `sesmailengine local` end to end: the built CLI in a child process, requests published
 * with @aws-sdk/client-eventbridge, outcomes read from the tracking table (dynalite), the
 * SES stand-in's /store and the status-event log.
 */

let local: LocalMode;
beforeAll(async () => {
  local = await startLocalMode(['--retry-delay-seconds', '1', '--stack-name', 'e2e']);
}, 90_000);
afterAll(async () => {
  await local?.stop();
}, 30_000);

const welcome = (to: string, emailId = `e2e-${randomUUID()}`) => ({
  emailId,
  to,
  templateName: 'welcome',
  templateData: { userName: 'Ada', companyName: 'Acme' },
});

async function sendOne(to: string): Promise<string> {
  const detail = welcome(to);
  const out = await local.publish([local.request(detail)]);
  expect(out.FailedEntryCount).toBe(0);
  return detail.emailId;
}

async function statusOf(emailId: string, wanted: string[], timeoutMs = 20_000): Promise<Record<string, any>> {
  return eventually(
    async () => {
      const record = await local.record(emailId);
      return record && wanted.includes(record.status) ? record : undefined;
    },
    timeoutMs,
    `${emailId} to reach ${wanted.join('/')} (last: ${JSON.stringify(await local.record(emailId))})`,
  );
}

describe('the JSON line', () => {
  it('names every endpoint, table, bucket and the region', () => {
    for (const key of [
      'eventBridgeEndpoint',
      'eventBusName',
      'dynamoDbEndpoint',
      'trackingTable',
      'suppressionTable',
      'countersTable',
      's3Endpoint',
      'templateBucket',
      'sesEndpoint',
      'sesWebUrl',
      'region',
    ] as const) {
      expect(local.info[key]).toEqual(expect.any(String));
    }
    expect(local.info.eventBusName).toBe('e2e-EmailBus');
    expect(local.info.credentials).toEqual({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
  });

  it('points at servers on 127.0.0.1 only', () => {
    for (const key of ['eventBridgeEndpoint', 'dynamoDbEndpoint', 's3Endpoint', 'sesEndpoint'] as const) {
      expect(new URL(local.info[key]).hostname).toBe('127.0.0.1');
    }
  });
});

describe('the template bucket', () => {
  it('holds every starter template, listable page by page with the handed-out credentials', async () => {
    const s3 = new S3Client({
      endpoint: local.info.s3Endpoint,
      region: local.info.region,
      credentials: local.info.credentials,
      forcePathStyle: true,
    });
    try {
      const keys: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: local.info.templateBucket, Prefix: 'templates/', MaxKeys: 5, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
        pages += 1;
      } while (token);
      expect(pages).toBeGreaterThan(1);
      expect(keys).toContain('templates/welcome/metadata.json');
      expect(new Set(keys).size).toBe(keys.length);
    } finally {
      s3.destroy();
    }
  });
});

describe('sending through local mode', () => {
  it('tracks mail to an ordinary address as sent and keeps it in the SES stand-in', async () => {
    const to = `reader-${randomUUID()}@example.com`;
    const emailId = await sendOne(to);
    const record = await statusOf(emailId, ['sent']);
    expect(record.sesMessageId).toEqual(expect.any(String));
    const mail = await local.mail();
    const caught = mail.find((m) => m.messageId === record.sesMessageId);
    expect(caught?.destination.to).toEqual([to]);
    expect(caught?.subject).toEqual(expect.any(String));
    // No feedback arrives for an ordinary address: it stays sent.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await local.record(emailId))?.status).toBe('sent');
  });

  it('takes success@simulator to opened and publishes each status change', async () => {
    const emailId = await sendOne('success@simulator.amazonses.com');
    const record = await statusOf(emailId, ['opened']);
    expect(record.deliveredAt).toEqual(expect.any(String));
    const changes = await eventually(async () => {
      const events = await local.statusEvents(emailId);
      return events.some((e) => e.detail.status === 'opened') ? events : undefined;
    });
    expect(changes.map((e) => e.detail.status)).toContain('opened');
  });

  it('takes an emailId of 128 × "€" (its tags cut into three parts) to opened through the simulator', async () => {
    const emailId = '€'.repeat(128);
    const out = await local.publish([local.request(welcome('success@simulator.amazonses.com', emailId))]);
    expect(out.FailedEntryCount).toBe(0);
    const record = await statusOf(emailId, ['opened', 'failed']);
    expect(record).toMatchObject({ status: 'opened', deliveredAt: expect.any(String) });
  });

  it('keeps keys named after Object.prototype members through local mode: stored on the record and in status events as given', async () => {
    const emailId = `e2e-keys-${randomUUID()}`;
    const templateData = { userName: 'Ada', companyName: 'Acme', constructor: 'x', form: { constructor: { name: 'String' }, toString: 't' } };
    const metadata = { constructor: 'x', toString: { valueOf: 'y' }, __defineGetter__: ['z'], hasOwnProperty: null };
    const out = await local.publish([local.request({ emailId, to: 'success@simulator.amazonses.com', templateName: 'welcome', templateData, metadata })]);
    expect(out.FailedEntryCount).toBe(0);

    const record = await statusOf(emailId, ['opened']);
    // Deep equality that does not read `.constructor` (the data's own key here), on a copy made
    // in this realm (fetch's JSON comes from Node's own).
    const same = (actual: unknown, expected: unknown) => ({ same: isDeepStrictEqual(JSON.parse(JSON.stringify(actual)), expected), json: JSON.stringify(actual) });
    expect(same(record.request.templateData, templateData)).toEqual({ same: true, json: JSON.stringify(templateData) });
    expect(same(record.metadata, metadata)).toEqual({ same: true, json: JSON.stringify(metadata) });
    const opened = await eventually(async () => (await local.statusEvents(emailId)).find((e) => e.detail.status === 'opened'));
    expect(same(opened.detail.metadata, metadata)).toEqual({ same: true, json: JSON.stringify(metadata) });
  });

  it('treats a plus-labelled simulator address like the plain one', async () => {
    const emailId = await sendOne(`success+${Date.now()}@simulator.amazonses.com`);
    await statusOf(emailId, ['opened']);
  });

  it('takes bounce@simulator to bounced and suppresses the address', async () => {
    const emailId = await sendOne('bounce@simulator.amazonses.com');
    const record = await statusOf(emailId, ['bounced']);
    expect([record.bounceType, record.bounceSubType]).toEqual(['Permanent', 'General']);
    const entry = await eventually(() => local.suppression('bounce@simulator.amazonses.com'));
    expect(entry.reason).toBe('hard-bounce');
  });

  it('records the complaint for complaint@simulator and suppresses the address', async () => {
    const emailId = await sendOne('complaint@simulator.amazonses.com');
    const record = await eventually(async () => {
      const r = await local.record(emailId);
      return r && (r.status === 'complained' || (r.status === 'delivered' && r.complaintFeedbackType)) ? r : undefined;
    });
    expect(record.complaintFeedbackType).toBe('abuse');
    const entry = await eventually(() => local.suppression('complaint@simulator.amazonses.com'));
    expect(entry.reason).toBe('spam-complaint');
  });

  it('takes ooto@simulator to delivered', async () => {
    const emailId = await sendOne('ooto@simulator.amazonses.com');
    await statusOf(emailId, ['delivered']);
  });

  it('takes suppressionlist@simulator to bounced (OnAccountSuppressionList)', async () => {
    const emailId = await sendOne('suppressionlist@simulator.amazonses.com');
    const record = await statusOf(emailId, ['bounced']);
    expect(record.bounceSubType).toBe('OnAccountSuppressionList');
  });
});

describe('unsubscribe', () => {
  it('serves the one-click unsubscribe link of marketing mail and suppresses the reader', async () => {
    const to = `news-${randomUUID()}@example.com`;
    const emailId = `e2e-${randomUUID()}`;
    await local.publish([local.request({ emailId, to, templateName: 'newsletter', templateData: { firstName: 'Ada' } })]);
    const { sesMessageId } = await statusOf(emailId, ['sent']);
    const mail = (await local.mail()) as unknown as { messageId: string; headers?: { name: string; value: string }[] }[];
    const header = mail.find((m) => m.messageId === sesMessageId)?.headers?.find((h) => h.name === 'List-Unsubscribe')?.value;
    const link = /<(http[^>]+)>/.exec(header ?? '')?.[1];
    expect(link?.startsWith(`${local.info.eventBridgeEndpoint}/unsubscribe`)).toBe(true);
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(await local.suppression(to)).toBeUndefined();
    const response = await fetch(link!, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(response.status).toBeLessThan(300);
    const entry = await eventually(() => local.suppression(to));
    expect(entry.reason).toBe('unsubscribed');
  });
});

describe('injected SES events', () => {
  function sesEvent(eventType: string, messageId: string, to: string, extra: Record<string, unknown>, tags: Record<string, string[]> = {}) {
    return {
      eventType,
      mail: {
        timestamp: new Date().toISOString(),
        source: 'no-reply@example.com',
        sendingAccountId: '000000000000',
        messageId,
        destination: [to],
        headersTruncated: false,
        tags: { 'ses:configuration-set': ['e2e-tracking'], ...tags },
      },
      ...extra,
    };
  }

  it('lands out-of-order events (Open before Delivery, found by message id) at the higher status', async () => {
    const to = `reader-${randomUUID()}@example.com`;
    const emailId = await sendOne(to);
    const { sesMessageId } = await statusOf(emailId, ['sent']);
    const now = new Date().toISOString();
    const out = await local.publish([
      { Source: 'aws.ses', DetailType: 'Email Opened', Detail: JSON.stringify(sesEvent('Open', sesMessageId, to, { open: { timestamp: now, ipAddress: '127.0.0.1', userAgent: 'test' } })) },
      {
        EventBusName: local.info.eventBusName,
        Source: 'aws.ses',
        DetailType: 'Email Delivered',
        Detail: JSON.stringify(sesEvent('Delivery', sesMessageId, to, { delivery: { timestamp: now, recipients: [to], processingTimeMillis: 1, smtpResponse: '250 ok' } })),
      },
    ]);
    expect(out.FailedEntryCount).toBe(0);
    const record = await statusOf(emailId, ['opened']);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await local.record(emailId))?.status).toBe('opened');
    expect(record.openCount).toBeGreaterThanOrEqual(1);
  });

  it('retries a soft bounce once after --retry-delay-seconds as a new record', async () => {
    const to = `soft-${randomUUID()}@example.com`;
    const emailId = await sendOne(to);
    const { sesMessageId } = await statusOf(emailId, ['sent']);
    const bounce = {
      bounceType: 'Transient',
      bounceSubType: 'MailboxFull',
      bouncedRecipients: [{ emailAddress: to, action: 'failed', status: '4.2.2', diagnosticCode: 'smtp; 452 4.2.2 mailbox full' }],
      timestamp: new Date().toISOString(),
      feedbackId: randomUUID(),
    };
    await local.publish([
      { Source: 'aws.ses', DetailType: 'Email Bounced', Detail: JSON.stringify(sesEvent('Bounce', sesMessageId, to, { bounce }, { emailId: [emailId] })) },
    ]);
    await statusOf(emailId, ['soft_bounced']);
    const [retry] = await eventually(async () => {
      const retries = await local.retriesOf(emailId);
      return retries.length > 0 && retries[0]!.status === 'sent' ? retries : undefined;
    }, 20_000, 'the retry record');
    expect(retry).toMatchObject({ originalEmailId: emailId, retryAttempt: 1, toEmail: to });
    expect(retry!.emailId).not.toBe(emailId);
    expect(await local.suppression(to)).toBeUndefined();
  });
});

describe('malformed PutEvents input', () => {
  it('fails bad entries one by one with the service error codes', async () => {
    const out = await local.publish([
      local.request(welcome('fine@example.com')),
      { EventBusName: local.info.eventBusName, DetailType: 'Email Request', Detail: '{}' },
      { EventBusName: local.info.eventBusName, Source: 'e2e.app', Detail: '{}' },
      { EventBusName: local.info.eventBusName, Source: 'e2e.app', DetailType: 'Email Request' },
      { EventBusName: local.info.eventBusName, Source: 'e2e.app', DetailType: 'Email Request', Detail: '["not","an","object"]' },
      { EventBusName: 'no-such-bus', Source: 'e2e.app', DetailType: 'Email Request', Detail: '{}' },
    ]);
    expect(out.FailedEntryCount).toBe(5);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'InvalidArgument',
      'InvalidArgument',
      'InvalidArgument',
      'MalformedDetail',
      'ResourceNotFoundException',
    ]);
  });

  it('rejects more than 10 entries as a whole with ValidationException', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => local.request(welcome(`u${i}@example.com`)));
    await expect(local.events.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('tracks a request the engine cannot use as failed, with an error code', async () => {
    const emailId = `e2e-bad-${randomUUID()}`;
    await local.publish([local.request({ emailId, to: 'not-an-address', templateName: 'welcome' })]);
    const record = await statusOf(emailId, ['failed']);
    expect(record.errorCode).toMatch(/^VAL\d{3}$/);
  });
});

describe('a burst', () => {
  it('tracks every one of 1,000 requests published by concurrent publishers in batches of 10', async () => {
    const run = randomUUID().slice(0, 8);
    const ids = Array.from({ length: 1000 }, (_, i) => `burst-${run}-${i}`);
    const started = Date.now();
    let next = 0;
    const publisher = async () => {
      while (next < ids.length) {
        const batch = ids.slice(next, next + 10);
        next += 10;
        const out = await local.publish(batch.map((emailId, i) => local.request(welcome(i % 10 === 0 ? 'success@simulator.amazonses.com' : `${emailId}@example.com`, emailId))));
        expect(out.FailedEntryCount).toBe(0);
      }
    };
    await Promise.all(Array.from({ length: 5 }, publisher));
    // Wait for the send queue to drain (cheap), then read every record from the table.
    await eventually(
      async () => {
        const body = (await (await fetch(local.info.queuesUrl)).json()) as { queues: Record<string, { visible: number; inFlight: number; delayed: number }> };
        const send = body.queues['e2e-send']!;
        return send.visible + send.inFlight + send.delayed === 0 ? true : undefined;
      },
      120_000,
      'the send queue to drain',
    );
    const tracked = await eventually(
      async () => {
        const records = await local.records(ids);
        return records.length === ids.length && records.every((r) => r.status !== 'sending') ? records : undefined;
      },
      120_000,
      'every burst request to be tracked',
    );
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`local-mode burst: 1000 requests tracked in ${seconds.toFixed(1)} s (${(1000 / seconds).toFixed(0)} emails/s)\n`);
    expect(new Set(tracked.map((r) => r.emailId)).size).toBe(1000);
    expect(tracked.filter((r) => r.status === 'failed')).toEqual([]);
  }, 180_000);
});
