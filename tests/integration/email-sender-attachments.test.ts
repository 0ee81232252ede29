import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns, type StoredEmail } from '../support/stand-ins.js';
import { requestEvent, sqsEvent, uploadStarterTemplates } from '../support/sender-events.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';
import type { Env } from '../../functions/lib/env.js';

/**
 * Attachments through the real Email Sender: files uploaded to s3rver under attachments/,
 * sent through aws-ses-v2-local, read back from its /store; and every failure tracked with
 * its ATT code and nothing sent.
 */

let env: StandIns;
const clock = new Date('2026-03-03T10:00:00.000Z');
const sesInputs: SendEmailCommandInput[] = [];

function makeHandler(overrides: Env = {}) {
  return createEmailSenderHandler({
    clients: { ddb: env.ddb, s3: env.s3, ses: env.ses },
    env: {
      TRACKING_TABLE: env.tables.tracking,
      SUPPRESSION_TABLE: env.tables.suppression,
      COUNTERS_TABLE: env.tables.counters,
      TEMPLATE_BUCKET: env.bucket,
      CONFIGURATION_SET: 'attachments-test',
      DEFAULT_SENDER_EMAIL: 'noreply@app.example',
      TRACKING_RETENTION_DAYS: '30',
      ...overrides,
    },
    now: () => clock,
    log: () => undefined,
  });
}

async function upload(key: string, body: Buffer | string, contentType = 'application/octet-stream'): Promise<void> {
  await env.s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: key, Body: body, ContentType: contentType }));
}

async function record(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

async function mailTo(address: string): Promise<StoredEmail[]> {
  return (await env.sentMail()).filter((mail) => mail.destination.to.includes(address));
}

const welcome = (to: string, emailId: string, attachments: unknown) =>
  requestEvent({ to, emailId, templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' }, attachments });

beforeAll(async () => {
  env = await startStandIns('attach');
  env.ses.middlewareStack.add(
    (next, context) => async (args) => {
      // SendEmail only: the sender's pacing also asks SES for the account's rate (GetAccount).
      if (context.commandName === 'SendEmailCommand') sesInputs.push(args.input as SendEmailCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'captureSendEmailInput' },
  );
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome']);
});

afterAll(async () => {
  await env?.stop();
});

beforeEach(async () => {
  await env.clearMail();
  sesInputs.length = 0;
});

describe('a request with attachments', () => {
  it('sends the S3 file and the inline file with their names, types and bytes', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(40_000)]);
    await upload('attachments/invoices/2026/inv-42.pdf', pdf);
    const csv = Buffer.from('item,qty\nwidget,2\n');
    const handler = makeHandler();

    const result = await handler(
      sqsEvent(
        welcome('ann@customer.example', 'att-ok-1', [
          { s3Key: 'invoices/2026/inv-42.pdf', filename: 'Rechnung März 42.pdf', contentType: 'application/pdf' },
          { content: csv.toString('base64'), filename: 'items.csv', contentType: 'text/csv' },
        ]),
      ),
    );

    expect(result.batchItemFailures).toEqual([]);
    const [mail] = await mailTo('ann@customer.example');
    expect(mail!.subject).toBe('Welcome to Acme, Ann!');
    expect(mail!.body.html).toContain('Hi Ann,');
    expect(mail!.attachments?.map((a) => [a.filename, a.contentType, a.size])).toEqual([
      ['Rechnung März 42.pdf', 'application/pdf', pdf.length],
      ['items.csv', 'text/csv', csv.length],
    ]);
    expect(Buffer.from(mail!.attachments![0]!.content, 'base64').equals(pdf)).toBe(true);
    expect(Buffer.from(mail!.attachments![1]!.content, 'base64').toString()).toBe(csv.toString());
    expect(mail!.attachments![0]!.contentDisposition).toBe('ATTACHMENT');
    expect(sesInputs[0]!.ConfigurationSetName).toBe('attachments-test');
    expect(sesInputs[0]!.EmailTags).toEqual(expect.arrayContaining([{ Name: 'templateName', Value: 'welcome' }]));

    const tracked = await record('att-ok-1');
    expect(tracked).toMatchObject({ status: 'sent' });
    expect(tracked!.request!.attachments).toEqual([
      { s3Key: 'attachments/invoices/2026/inv-42.pdf', filename: 'Rechnung März 42.pdf', contentType: 'application/pdf' },
      { filename: 'items.csv', contentType: 'text/csv', size: csv.length, contentOmitted: true },
    ]);
    expect(JSON.stringify(tracked)).not.toContain(csv.toString('base64'));
  });

  it('without attachments sends no Attachments field, as before', async () => {
    const result = await makeHandler()(sqsEvent(welcome('plain@customer.example', 'att-none-1', undefined)));
    expect(result.batchItemFailures).toEqual([]);
    expect(sesInputs[0]!.Content!.Simple).not.toHaveProperty('Attachments');
    const [mail] = await mailTo('plain@customer.example');
    expect(mail!.attachments ?? []).toEqual([]);
  });
});

describe('a request whose attachments cannot be sent', () => {
  async function expectFailed(emailId: string, code: string): Promise<SenderTrackingRecord> {
    const tracked = await record(emailId);
    expect(tracked).toMatchObject({ status: 'failed', errorCode: code });
    return tracked!;
  }

  it('is tracked ATT006 when the S3 object does not exist, naming the key, and nothing is sent', async () => {
    const result = await makeHandler()(
      sqsEvent(welcome('missing@customer.example', 'att-missing-1', [{ s3Key: 'nope/gone.pdf', filename: 'gone.pdf', contentType: 'application/pdf' }])),
    );
    expect(result.batchItemFailures).toEqual([]);
    const tracked = await expectFailed('att-missing-1', 'ATT006');
    expect(tracked.errorMessage).toContain('attachments/nope/gone.pdf');
    expect(await mailTo('missing@customer.example')).toEqual([]);
  });

  it('is tracked ATT007 when the files exceed the per-email cap (ATTACHMENTS_MAX_BYTES)', async () => {
    await upload('attachments/big/photo.jpg', randomBytes(60_000));
    const result = await makeHandler({ ATTACHMENTS_MAX_BYTES: '50000' })(
      sqsEvent(welcome('big@customer.example', 'att-big-1', [{ s3Key: 'big/photo.jpg', filename: 'photo.jpg', contentType: 'image/jpeg' }])),
    );
    expect(result.batchItemFailures).toEqual([]);
    const tracked = await expectFailed('att-big-1', 'ATT007');
    expect(tracked.errorMessage).toContain('60000 bytes');
    expect(sesInputs).toHaveLength(0);
  });

  it('is tracked ATT004 for a type off the allow-list', async () => {
    await makeHandler()(
      sqsEvent(welcome('type@customer.example', 'att-type-1', [{ content: 'PGgxPmhpPC9oMT4=', filename: 'page.html', contentType: 'text/html' }])),
    );
    await expectFailed('att-type-1', 'ATT004');
    expect(sesInputs).toHaveLength(0);
  });

  it('is tracked ATT002 for a key that climbs out of attachments/, without reading it', async () => {
    await makeHandler()(
      sqsEvent(
        welcome('trav@customer.example', 'att-trav-1', [
          { s3Key: '../templates/welcome/metadata.json', filename: 'metadata.txt', contentType: 'text/plain' },
        ]),
      ),
    );
    await expectFailed('att-trav-1', 'ATT002');
    expect(sesInputs).toHaveLength(0);
  });

  it('is tracked ATT008 when a soft-bounce retry carries an inline file whose content was not kept', async () => {
    const body = requestEvent(
      {
        to: 'retry@customer.example',
        templateName: 'welcome',
        templateData: { userName: 'Ann', companyName: 'Acme' },
        emailId: 'att-retry-1',
        originalEmailId: 'att-retry-0',
        retryAttempt: 1,
        attachments: [{ filename: 'items.csv', contentType: 'text/csv', size: 12, contentOmitted: true }],
      },
      { source: 'sesmailengine', 'detail-type': 'Email Retry' },
    );
    await makeHandler()(sqsEvent(body));
    await expectFailed('att-retry-1', 'ATT008');
  });
});
