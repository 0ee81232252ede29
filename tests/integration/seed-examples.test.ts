import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { requestEvent, sqsEvent, starterTemplate, uploadTemplate, senderEnv } from '../support/sender-events.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { readStarterTemplatesFromDirectory, seedTemplates } from '../../functions/lib/template-seeding.js';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';

/**
 * What the original product's users send works here as written: every example request in
 * its integration and support guides (tests/fixtures/seed-requests.json), and templates
 * whose metadata.json has the original's shape (only subject, senderEmail, replyTo; fields
 * this engine does not know). The real Email Sender against the local stand-ins, with the
 * starter templates put in place by the real seeding code.
 */

interface SeedRequest {
  source: string;
  eventSource: string;
  detail: Record<string, unknown> & { to: string; templateName: string };
  code?: string;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'seed-requests.json'), 'utf8')) as { sent: SeedRequest[]; notSent: SeedRequest[] };

// The support guide's contact-form metadata.json (004 › "How do I set a Reply-To address?"), as written.
const ORIGINAL_CONTACT_METADATA = {
  subject: 'Contact Form: {{ formSenderName }}',
  senderEmail: 'noreply@company.com',
  replyTo: '{{ formSenderEmail }}',
};
const CONTACT_HTML = '<p>{{ formSenderName }} ({{ formSenderEmail }}) wrote:</p><p>{{ message }}</p>';
const CONTACT_TEXT = '{{ formSenderName }} ({{ formSenderEmail }}) wrote:\n\n{{ message }}';
const CONTACT_DATA = { formSenderName: 'Grace', formSenderEmail: 'grace@visitor.example', message: 'Do you ship to Norway?' };

let env: StandIns;
let counter = 0;

function makeHandler() {
  return createEmailSenderHandler({
    clients: { ddb: env.ddb, s3: env.s3, ses: env.ses },
    env: senderEnv(env, 'seed-examples-tracking', {
      DEFAULT_SENDER_NAME: 'App Team',
      BOUNCE_RATE_THRESHOLD: '5',
      BOUNCE_RATE_MIN_SENDS: '100',
      TEMPLATE_CACHE_SECONDS: '0',
      TRACKING_RETENTION_DAYS: '30',
      UNSUBSCRIBE_URL: 'https://unsubscribe.app.example/u',
      UNSUBSCRIBE_SECRET: 'seed-examples-secret',
    }),
    log: () => {},
  });
}

async function record(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

/** Sends one request through the Email Sender; returns its tracking record. */
async function send(detail: Record<string, unknown>, eventSource = 'my.application'): Promise<SenderTrackingRecord | undefined> {
  const id = `seed-example-${++counter}`;
  const result = await makeHandler()(sqsEvent(requestEvent(detail, { id, source: eventSource })));
  expect(result.batchItemFailures).toEqual([]);
  return record(typeof detail.emailId === 'string' ? detail.emailId : `email-${id}`);
}

beforeAll(async () => {
  env = await startStandIns('seedex');
  const seeded = await seedTemplates(env.s3, env.bucket, await readStarterTemplatesFromDirectory(join(ROOT, 'starter-templates')));
  expect(seeded.installed.length).toBeGreaterThanOrEqual(8);
  // The guide's campaign example sends with the reader's own copy of the newsletter.
  await uploadTemplate(env.s3, env.bucket, 'newsletter-december', starterTemplate('newsletter'));
});

afterAll(async () => {
  await env?.stop();
});

beforeEach(async () => {
  await env.clearMail();
});

describe('the seeds\' example requests, as written', () => {
  it('holds every example request of the guides', () => {
    expect(FIXTURES.sent).toHaveLength(14);
    expect(FIXTURES.notSent).toHaveLength(1);
  });

  it.each(FIXTURES.sent.map((r) => [r.source, r] as const))('sends %s', async (_source, request) => {
    const tracked = await send(request.detail, request.eventSource);
    expect({ status: tracked?.status, errorCode: tracked?.errorCode, errorMessage: tracked?.errorMessage }).toEqual({
      status: 'sent',
      errorCode: undefined,
      errorMessage: undefined,
    });
    const mail = (await env.sentMail()).filter((m) => m.destination.to.includes(request.detail.to));
    expect(mail).toHaveLength(1);
    expect(mail[0]!.body.html).not.toMatch(/undefined|\bnull\b/);
    expect(mail[0]!.body.text).not.toMatch(/undefined|\bnull\b/);
    if (typeof request.detail.subject === 'string') expect(mail[0]!.subject).toBe(request.detail.subject);
  });

  it.each(FIXTURES.notSent.map((r) => [r.source, r] as const))('tracks %s as failed with its documented code', async (_source, request) => {
    const tracked = await send(request.detail, request.eventSource);
    expect(tracked).toMatchObject({ status: 'failed', errorCode: request.code });
  });
});

describe('a template with the original product\'s metadata.json', () => {
  it('sends with only subject, senderEmail and replyTo (004\'s contact form)', async () => {
    await uploadTemplate(env.s3, env.bucket, 'contact-original', { html: CONTACT_HTML, text: CONTACT_TEXT, metadata: ORIGINAL_CONTACT_METADATA });
    const tracked = await send({ to: 'owner@shop.example', templateName: 'contact-original', templateData: CONTACT_DATA });
    expect(tracked).toMatchObject({ status: 'sent', subject: 'Contact Form: Grace', senderEmail: 'noreply@company.com' });
    const [mail] = await env.sentMail();
    expect(mail!.from).toContain('noreply@company.com');
    expect(mail!.replyTo).toEqual(['grace@visitor.example']);
  });

  it('sends when metadata.json also holds fields this engine does not know', async () => {
    const metadata = { ...ORIGINAL_CONTACT_METADATA, templateId: 'contact-v1', tags: ['support'], owner: { team: 'web' } };
    await uploadTemplate(env.s3, env.bucket, 'contact-extra', { html: CONTACT_HTML, text: CONTACT_TEXT, metadata });
    const tracked = await send({ to: 'owner@shop.example', templateName: 'contact-extra', templateData: CONTACT_DATA });
    expect(tracked).toMatchObject({ status: 'sent', subject: 'Contact Form: Grace' });
  });

  it('is kept by the seeder, as a customised template, where a starter of the same name would go', async () => {
    const metadata = JSON.stringify(ORIGINAL_CONTACT_METADATA);
    await uploadTemplate(env.s3, env.bucket, 'contact-form-notification', { html: CONTACT_HTML, text: CONTACT_TEXT, metadata });
    const reasons: Record<string, string> = {};
    const result = await seedTemplates(env.s3, env.bucket, await readStarterTemplatesFromDirectory(join(ROOT, 'starter-templates')), {
      onDecision: (name, _action, reason) => (reasons[name] = reason),
    });
    expect(result.skipped).toContain('contact-form-notification');
    expect(reasons['contact-form-notification']).toMatch(/no version: treated as customised/);
    const stored = await env.s3.send(new GetObjectCommand({ Bucket: env.bucket, Key: 'templates/contact-form-notification/metadata.json' }));
    expect(await stored.Body?.transformToString()).toBe(metadata);
    const html = await env.s3.send(new GetObjectCommand({ Bucket: env.bucket, Key: 'templates/contact-form-notification/template.html' }));
    expect(await html.Body?.transformToString()).toBe(CONTACT_HTML);
    expect(await send({ to: 'owner@shop.example', templateName: 'contact-form-notification', templateData: CONTACT_DATA })).toMatchObject({ status: 'sent' });
  });

  it('still fails with TMPL002 when the one required field, subject, is missing', async () => {
    await env.s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: 'templates/contact-nosubject/template.html', Body: CONTACT_HTML }));
    await env.s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: 'templates/contact-nosubject/template.txt', Body: CONTACT_TEXT }));
    await env.s3.send(
      new PutObjectCommand({ Bucket: env.bucket, Key: 'templates/contact-nosubject/metadata.json', Body: JSON.stringify({ senderEmail: 'noreply@company.com' }) }),
    );
    const tracked = await send({ to: 'owner@shop.example', templateName: 'contact-nosubject', templateData: CONTACT_DATA });
    expect(tracked).toMatchObject({ status: 'failed', errorCode: 'TMPL002' });
    expect(tracked!.errorMessage).toContain('"subject"');
  });
});
