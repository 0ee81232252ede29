import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalStores, type LocalStores } from '../support/local-stores.js';
import { requestEvent, sqsRecord, uploadStarterTemplates, uploadTemplate, senderEnv, tableEnv } from '../support/sender-events.js';
import { adjust, emailIdTagMap, eventBridgeEnvelope, sesFixture } from '../support/ses-events.js';
import { fakeEventBus, fakeSqs } from '../support/fault-injection.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { createFeedbackProcessorHandler } from '../../functions/feedback-processor/handler.js';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';

/**
 * Request data whose keys are the names of Object.prototype's members (`constructor`,
 * `toString`, `valueOf`, `hasOwnProperty`, `__defineGetter__`, …), through the real Email
 * Sender and Feedback Processor against local mode's stores: stored, rendered, re-sent on a
 * soft bounce and announced exactly as given. And lone UTF-16 surrogates in any string
 * field: refused with a code, never thrown.
 */

let env: LocalStores;
const NOW = new Date('2032-05-05T10:00:00.000Z');

/** Every own property name of Object.prototype except __proto__ (refused: VAL006). */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).filter((name) => name !== '__proto__');

beforeAll(async () => {
  env = await startLocalStores('poison');
  await uploadStarterTemplates(env.clients.s3, env.bucket, ['welcome']);
  await uploadTemplate(env.clients.s3, env.bucket, 'echo-keys', {
    html: '<p>{{ constructor }}|{{ toString }}|{{ valueOf }}|{{ hasOwnProperty }}|{{ __defineGetter__ }}|{{ form.constructor.name }}|{{ form.toString }}</p>',
    text: '{{ constructor }}|{{ toString }}|{{ form.constructor.name }}',
    metadata: { subject: 'Keys {{ constructor }}', requiredVariables: ['constructor'], category: 'transactional', version: '1.0.0', description: 'Echoes keys named after Object.prototype members.' },
  });
  await env.clients.s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: 'attachments/report.pdf', Body: '%PDF-1.4 test' }));
});

afterAll(async () => {
  await env?.stop();
});

function sender() {
  return createEmailSenderHandler({
    clients: { ddb: env.clients.ddb, s3: env.clients.s3, ses: env.clients.ses },
    env: senderEnv(env, 'poison-tracking'),
    now: () => NOW,
    log: () => undefined,
  });
}

async function tracked(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.clients.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

/**
 * Deep equality of JSON data. (Jest's toStrictEqual compares `.constructor`, which here is
 * the data's own key, so two equal values with a "constructor" object would differ.)
 */
function expectSameData(actual: unknown, expected: unknown): void {
  expect({ same: isDeepStrictEqual(actual, expected), actual: JSON.stringify(actual) }).toEqual({ same: true, actual: JSON.stringify(expected) });
}

let seq = 0;
function id(label: string): string {
  seq += 1;
  return `poison-${label}-${seq}`;
}

/** Sends one request through one invocation; returns the ids of the messages returned to the queue. */
async function send(detail: Record<string, unknown>, envelope: Record<string, unknown> = {}): Promise<string[]> {
  const result = await sender()({ Records: [sqsRecord(requestEvent(detail, envelope), `${String(detail.emailId)}-msg`)] });
  return result.batchItemFailures.map((f) => f.itemIdentifier);
}

/** An object with every Object.prototype name as an own key, nested once more under `form`. */
function shadowingObject(): Record<string, unknown> {
  const inner = Object.fromEntries(PROTOTYPE_NAMES.map((name) => [name, `inner-${name}`]));
  return { ...Object.fromEntries(PROTOTYPE_NAMES.map((name) => [name, { name: 'String', value: name }])), form: inner };
}

describe('keys named after Object.prototype members', () => {
  it('a templateData key "constructor" is sent and stored as given (the issue\'s example)', async () => {
    const emailId = id('ctor');
    const templateData = { userName: 'A', companyName: 'B', constructor: 'x' };

    const returned = await send({ emailId, to: `${emailId}@customer.example`, templateName: 'welcome', templateData });

    expect(returned).toEqual([]);
    const record = await tracked(emailId);
    expect(record).toMatchObject({ status: 'sent' });
    expectSameData(record!.request!.templateData, templateData);
  });

  it('the same key in metadata is sent and stored as given', async () => {
    const emailId = id('meta-ctor');
    const metadata = { constructor: 'x', campaign: { toString: 'y', valueOf: 1 } };

    expect(await send({ emailId, to: `${emailId}@customer.example`, templateName: 'welcome', templateData: { userName: 'A', companyName: 'B' }, metadata })).toEqual([]);

    const record = await tracked(emailId);
    expect(record).toMatchObject({ status: 'sent' });
    expectSameData(record!.metadata, metadata);
    expectSameData(record!.request!.metadata, metadata);
  });

  it('{"form":{"constructor":{"name":"String"}}} is stored as an object, not "[object Object]"', async () => {
    const emailId = id('ctor-name');
    const templateData = { userName: 'A', companyName: 'B', form: { constructor: { name: 'String' } } };

    expect(await send({ emailId, to: `${emailId}@customer.example`, templateName: 'welcome', templateData })).toEqual([]);

    expectSameData((await tracked(emailId))!.request!.templateData, templateData);
  });

  it.each(['Set', 'Map', 'Number', 'Boolean', 'Uint8Array', 'Object', 'Array', 'Date'])(
    'an object whose own constructor.name is %s is stored as given',
    async (name) => {
      const emailId = id(`ctor-${name}`);
      const templateData = { userName: 'A', companyName: 'B', x: { constructor: { name }, valueOf: 'v', toString: 't', length: 2 } };

      expect(await send({ emailId, to: `${emailId}@customer.example`, templateName: 'welcome', templateData })).toEqual([]);

      const record = await tracked(emailId);
      expect(record?.status).toBe('sent');
      expectSameData(record!.request!.templateData, templateData);
    },
  );

  it('every Object.prototype name, as a key at two levels of templateData and metadata, is stored as given', async () => {
    const emailId = id('all-names');
    const templateData = { userName: 'A', companyName: 'B', ...shadowingObject() };
    const metadata = { form: Object.fromEntries(PROTOTYPE_NAMES.map((name) => [name, name])) };

    expect(await send({ emailId, to: `${emailId}@customer.example`, templateName: 'welcome', templateData, metadata })).toEqual([]);

    const record = await tracked(emailId);
    expect(record?.status).toBe('sent');
    expectSameData(record!.request!.templateData, templateData);
    expectSameData(record!.metadata, metadata);
  });

  it('renders such keys as given, at the top level and as members', async () => {
    const emailId = id('render');
    const templateData = {
      constructor: 'C',
      toString: 'T',
      valueOf: 'V',
      hasOwnProperty: 'H',
      __defineGetter__: 'G',
      form: { constructor: { name: 'N' }, toString: 'FT' },
    };

    expect(await send({ emailId, to: `${emailId}@customer.example`, templateName: 'echo-keys', templateData })).toEqual([]);

    const rec = await tracked(emailId);
    expect({ status: rec?.status, errorMessage: rec?.errorMessage }).toEqual({ status: 'sent' });
    const mail = (await env.sentMail()).find((m) => m.destination.to.includes(`${emailId}@customer.example`));
    expect(mail?.subject).toBe('Keys C');
    expect(mail?.body.html).toContain('<p>C|T|V|H|G|N|FT</p>');
    expect(mail?.body.text).toContain('C|T|N');
  });

  it('are re-sent as given by a soft-bounce retry and announced as given in status notifications', async () => {
    const emailId = id('retry');
    const templateData = { userName: 'A', companyName: 'B', ...shadowingObject() };
    const metadata = { constructor: 'x', toString: { valueOf: 'y' }, __defineGetter__: ['z'], hasOwnProperty: null };
    expect(await send({ emailId, to: `${emailId}@customer.example`, templateName: 'welcome', templateData, metadata })).toEqual([]);
    const record = await tracked(emailId);
    expect(record?.status).toBe('sent');

    const queued: string[] = [];
    const published: Record<string, unknown>[] = [];
    const feedback = createFeedbackProcessorHandler({
      clients: {
        ddb: env.clients.ddb,
        sqs: fakeSqs((body) => (queued.push(body), `q-${queued.length}`)) as unknown as SQSClient,
        events: fakeEventBus(() => 'accept', published) as unknown as EventBridgeClient,
      },
      env: {
        ...tableEnv(env),
        EVENT_BUS_NAME: 'poison-EmailBus',
        SEND_QUEUE_URL: 'http://127.0.0.1:9/000000000000/poison-send',
      },
      now: () => NOW,
      log: () => undefined,
    });
    const softBounce = adjust(sesFixture('Bounce'), { messageId: record!.sesMessageId!, to: `${emailId}@customer.example`, tags: emailIdTagMap(emailId) });
    softBounce.bounce.bounceType = 'Transient';
    softBounce.bounce.bounceSubType = 'MailboxFull';
    const bounce = eventBridgeEnvelope(softBounce);

    const result = await feedback({ Records: [sqsRecord(JSON.stringify(bounce), `${emailId}-fb`)] });

    expect(result.batchItemFailures).toEqual([]);
    expect((await tracked(emailId))?.status).toBe('soft_bounced');
    expect(queued).toHaveLength(1);
    const retry = JSON.parse(queued[0]!) as { detail: Record<string, unknown> };
    expectSameData(retry.detail.templateData, templateData);
    expectSameData(retry.detail.metadata, metadata);
    const notice = published.find((detail) => detail.emailId === emailId);
    expectSameData(notice?.metadata, metadata);

    // The retry itself goes out with the same data.
    const retryResult = await sender()({ Records: [sqsRecord(queued[0]!, `${emailId}-retry-msg`)] });
    expect(retryResult.batchItemFailures).toEqual([]);
    const retryRecord = await tracked(retry.detail.emailId as string);
    expect(retryRecord).toMatchObject({ status: 'sent', retryAttempt: 1, metadata });
  });
});

describe('lone UTF-16 surrogates', () => {
  const base = (emailId: string) => ({ emailId, to: `${emailId}@customer.example`, templateName: 'welcome', templateData: { userName: 'A', companyName: 'B' } });
  const pdf = { filename: 'report.pdf', contentType: 'application/pdf' };

  it.each([
    ['an attachment s3Key', 'ATT002', { attachments: [{ ...pdf, s3Key: 'report\uD800.pdf' }] }],
    ['an attachment s3Key (low half)', 'ATT002', { attachments: [{ ...pdf, s3Key: 'a/\uDC00/report.pdf' }] }],
    ['an attachment filename', 'ATT003', { attachments: [{ s3Key: 'report.pdf', contentType: 'application/pdf', filename: 'rep\uD83Dort.pdf' }] }],
    ['an attachment contentType', 'ATT004', { attachments: [{ s3Key: 'report.pdf', filename: 'report.pdf', contentType: 'application/pdf\uD800' }] }],
    ['inline attachment content', 'ATT005', { attachments: [{ ...pdf, content: 'QUJD\uD800' }] }],
    ['a templateData value', 'VAL012', { templateData: { userName: 'A\uD800', companyName: 'B' } }],
    ['a nested templateData value', 'VAL012', { templateData: { userName: 'A', companyName: 'B', items: [{ name: ['x', '\uDFFF'] }] } }],
    ['a templateData key', 'VAL012', { templateData: { userName: 'A', companyName: 'B', ['k\uD800']: 1 } }],
    ['a metadata value', 'VAL012', { metadata: { campaign: '\uD800' } }],
    ['a metadata key', 'VAL012', { metadata: { ['\uDC00']: 'x' } }],
    ['the subject', 'VAL005', { subject: 'Hi \uD800' }],
    ['the sender name', 'VAL005', { senderOverride: { email: 'ops@app.example', name: '\uD800' } }],
    ['replyTo', 'VAL005', { replyTo: 'a\uD800@app.example' }],
    ['sendAt', 'VAL010', { sendAt: '2032-05-05T10:00:00Z\uD800' }],
  ] as [string, string, Record<string, unknown>][])('in %s: tracked failed %s', async (_label, code, fields) => {
    const emailId = id('surrogate');

    expect(await send({ ...base(emailId), ...fields })).toEqual([]);

    expect(await tracked(emailId)).toMatchObject({ status: 'failed', errorCode: code });
  });

  it('in the recipient: tracked failed VAL005, the stored recipient readable', async () => {
    const emailId = id('surrogate-to');
    expect(await send({ ...base(emailId), to: `a\uD800@customer.example` })).toEqual([]);
    const record = await tracked(emailId);
    expect(record).toMatchObject({ status: 'failed', errorCode: 'VAL005', toEmail: 'a\uFFFD@customer.example' });
  });

  it('in the emailId: tracked failed VAL008 under the event id', async () => {
    const emailId = id('surrogate-id');
    expect(await send({ ...base(emailId), emailId: `${emailId}\uD800` }, { id: `evt-${emailId}` })).toEqual([]);
    expect(await tracked(`email-evt-${emailId}`)).toMatchObject({ status: 'failed', errorCode: 'VAL008' });
  });

  it('in the event source: sent, the source stored with the replacement character', async () => {
    const emailId = id('surrogate-source');
    expect(await send(base(emailId), { source: 'my.app\uD800' })).toEqual([]);
    expect(await tracked(emailId)).toMatchObject({ status: 'sent', originalSource: 'my.app\uFFFD' });
  });

  it('in a failed request\'s metadata: the failure is tracked without that metadata', async () => {
    const emailId = id('surrogate-failed-meta');
    expect(await send({ ...base(emailId), to: 'not an address', metadata: { note: '\uD800' } })).toEqual([]);
    const record = await tracked(emailId);
    expect(record).toMatchObject({ status: 'failed', errorCode: 'VAL003' });
    expect(record?.metadata).toBeUndefined();
  });
});
