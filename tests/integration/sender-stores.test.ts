import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { uploadStarterTemplates, uploadTemplate } from '../support/sender-events.js';
import { EngineError } from '../../functions/core/error-codes.js';
import { compileTemplate } from '../../functions/core/template-render.js';
import { createTemplateStore } from '../../functions/lib/template-store.js';
import {
  buildRecord,
  claim,
  markFailed,
  markSent,
  putFailed,
  reclaim,
  releaseClaim,
  type SenderTrackingRecord,
} from '../../functions/lib/tracking-store.js';

let env: StandIns;
let s3Calls = 0;

beforeAll(async () => {
  env = await startStandIns('stores');
  env.s3.middlewareStack.add(
    (next) => async (args) => {
      s3Calls++;
      return next(args);
    },
    { step: 'initialize', name: 'countS3' },
  );
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome']);
});

afterAll(async () => {
  await env?.stop();
});

describe('template store', () => {
  function store(ttlSeconds: number, clock: { ms: number }, bucket = env.bucket) {
    return createTemplateStore({ s3: env.s3, bucket, ttlSeconds, prepare: compileTemplate, now: () => clock.ms });
  }

  it('lets concurrent requests for one template share a single fetch', async () => {
    const templates = store(300, { ms: 0 });
    const before = s3Calls;
    const results = await Promise.all(Array.from({ length: 20 }, () => templates.get('welcome')));
    expect(s3Calls - before).toBe(3);
    expect(new Set(results).size).toBe(1);
    expect(results[0]!.ok).toBe(true);
  });

  it('reuses a template for the cache period, then fetches it again', async () => {
    const clock = { ms: 0 };
    const templates = store(60, clock);
    await templates.get('welcome');
    const before = s3Calls;
    clock.ms = 59_000;
    await templates.get('welcome');
    expect(s3Calls - before).toBe(0);
    clock.ms = 60_001;
    await templates.get('welcome');
    expect(s3Calls - before).toBe(3);
  });

  it('fetches every time with a cache period of 0', async () => {
    const templates = store(0, { ms: 0 });
    const before = s3Calls;
    await templates.get('welcome');
    await templates.get('welcome');
    expect(s3Calls - before).toBe(6);
  });

  it('reports a missing template as TMPL001 and remembers that for 30 seconds at most', async () => {
    const clock = { ms: 0 };
    const templates = store(300, clock);
    await expect(templates.get('nope')).rejects.toMatchObject({ code: 'TMPL001', message: expect.stringContaining('no templates/nope/') });
    const before = s3Calls;
    clock.ms = 29_000;
    await expect(templates.get('nope')).rejects.toBeInstanceOf(EngineError);
    expect(s3Calls - before).toBe(0);
    clock.ms = 31_000;
    await expect(templates.get('nope')).rejects.toBeInstanceOf(EngineError);
    expect(s3Calls - before).toBe(3);
  });

  it('names the files an incomplete template lacks', async () => {
    await uploadTemplate(env.s3, env.bucket, 'half', { html: '<p>x</p>', text: 'x', metadata: '{}' });
    await env.s3.send(new DeleteObjectCommand({ Bucket: env.bucket, Key: 'templates/half/template.txt' }));
    await expect(store(300, { ms: 0 }).get('half')).rejects.toMatchObject({ code: 'TMPL001', message: expect.stringContaining('templates/half/template.txt missing') });
  });

  it('does not cache other S3 errors', async () => {
    const templates = store(300, { ms: 0 }, 'no-such-bucket');
    const before = s3Calls;
    await expect(templates.get('welcome')).rejects.toMatchObject({ name: 'NoSuchBucket' });
    await expect(templates.get('welcome')).rejects.toMatchObject({ name: 'NoSuchBucket' });
    expect(s3Calls - before).toBe(6);
  });

  it('keeps a broken template as its compile error, so it is not recompiled per email', async () => {
    await uploadTemplate(env.s3, env.bucket, 'syntax', {
      html: '{{ broken',
      text: 'x',
      metadata: { subject: 's', requiredVariables: [], category: 'transactional', version: '1.0.0', description: 'd' },
    });
    const result = await store(300, { ms: 0 }).get('syntax');
    expect(result).toMatchObject({ ok: false, code: 'TMPL004' });
  });
});

describe('tracking store', () => {
  const now = new Date('2026-03-02T10:00:00.000Z');
  const table = () => env.tables.tracking;
  const fields = (emailId: string) => ({
    emailId,
    originalEmailId: emailId,
    retryAttempt: 0,
    toEmail: 'a@customer.example',
    templateName: 'welcome',
    originalSource: 'app',
  });
  const read = async (emailId: string) =>
    (await env.ddb.send(new GetCommand({ TableName: table(), Key: { emailId }, ConsistentRead: true }))).Item as SenderTrackingRecord | undefined;

  it('claims an emailId once; the second claim sees the first record', async () => {
    const record = buildRecord(fields('ts-1'), 'sending', now, 30);
    expect(await claim(env.ddb, table(), record)).toEqual({ claimed: true });
    const again = await claim(env.ddb, table(), buildRecord(fields('ts-1'), 'sending', new Date(now.getTime() + 1000), 30));
    expect(again).toEqual({ claimed: false, existing: record });
  });

  it('marks a claim sent', async () => {
    await claim(env.ddb, table(), buildRecord(fields('ts-2'), 'sending', now, 30));
    expect(await markSent(env.ddb, table(), 'ts-2', { sesMessageId: 'ses-2', sentAt: now.toISOString() })).toBe('sent');
    expect(await read('ts-2')).toMatchObject({ status: 'sent', statusRank: 1, sesMessageId: 'ses-2' });
  });

  it('only adds sesMessageId and sentAt when feedback raised the status first', async () => {
    await claim(env.ddb, table(), buildRecord(fields('ts-3'), 'sending', now, 30));
    await env.ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: { emailId: 'ts-3' },
        UpdateExpression: 'SET #s = :d, statusRank = :r',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':d': 'delivered', ':r': 6 },
      }),
    );
    expect(await markSent(env.ddb, table(), 'ts-3', { sesMessageId: 'ses-3', sentAt: now.toISOString() })).toBe('already-advanced');
    expect(await read('ts-3')).toMatchObject({ status: 'delivered', statusRank: 6, sesMessageId: 'ses-3', sentAt: now.toISOString() });
  });

  it('reports a record that vanished', async () => {
    expect(await markSent(env.ddb, table(), 'ts-none', { sesMessageId: 'x', sentAt: now.toISOString() })).toBe('missing');
    expect(await read('ts-none')).toBeUndefined();
  });

  it('fails or releases only the claim made at the given moment', async () => {
    const record = buildRecord(fields('ts-4'), 'sending', now, 30);
    await claim(env.ddb, table(), record);
    const error = { code: 'SES001' as const, message: 'MessageRejected: x' };
    expect(await markFailed(env.ddb, table(), 'ts-4', { claimedAt: '2026-03-02T09:00:00.000Z', attempt: 1 }, error)).toBe(false);
    expect(await releaseClaim(env.ddb, table(), 'ts-4', { claimedAt: '2026-03-02T09:00:00.000Z', attempt: 1 })).toBe(false);
    expect(await markFailed(env.ddb, table(), 'ts-4', { claimedAt: record.timestamp, attempt: 1 }, error)).toBe(true);
    expect(await read('ts-4')).toMatchObject({ status: 'failed', statusRank: 2, errorCode: 'SES001' });
    expect(await releaseClaim(env.ddb, table(), 'ts-4', { claimedAt: record.timestamp, attempt: 1 })).toBe(false);
    expect(await read('ts-4')).toBeDefined();
  });

  it('releases a claim so the emailId can be claimed again', async () => {
    const record = buildRecord(fields('ts-5'), 'sending', now, 30);
    await claim(env.ddb, table(), record);
    expect(await releaseClaim(env.ddb, table(), 'ts-5', { claimedAt: record.timestamp, attempt: 1 })).toBe(true);
    expect(await read('ts-5')).toBeUndefined();
    expect(await claim(env.ddb, table(), record)).toEqual({ claimed: true });
  });

  it('re-claims an interrupted claim once: the attempt is counted, the history says why, and the old claim no longer acts', async () => {
    const record = buildRecord(fields('ts-7'), 'sending', now, 30);
    await claim(env.ddb, table(), record);
    const first = { claimedAt: record.timestamp, attempt: 1 };
    const at = new Date(now.getTime() + 700_000).toISOString();
    const second = await reclaim(env.ddb, table(), 'ts-7', first, at, 'resent after an interrupted attempt');
    expect(second).toEqual({ claimedAt: record.timestamp, attempt: 2 });
    expect(await reclaim(env.ddb, table(), 'ts-7', first, at, 'a second sender finding the same claim')).toBeUndefined();
    expect(await read('ts-7')).toMatchObject({
      status: 'sending',
      timestamp: record.timestamp,
      sendAttempts: 2,
      lastAttemptAt: at,
      sendHistory: [{ at, attempt: 2, note: 'resent after an interrupted attempt' }],
    });
    // The interrupted attempt, should it wake up, can neither fail nor release the new claim.
    expect(await markFailed(env.ddb, table(), 'ts-7', first, { code: 'SES001', message: 'x' })).toBe(false);
    expect(await releaseClaim(env.ddb, table(), 'ts-7', first)).toBe(false);
    expect(await releaseClaim(env.ddb, table(), 'ts-7', second!)).toBe(true);
  });

  it('does not re-claim a claim that SES feedback already raised', async () => {
    const record = buildRecord(fields('ts-8'), 'sending', now, 30);
    await claim(env.ddb, table(), record);
    await markSent(env.ddb, table(), 'ts-8', { sesMessageId: 'ses-8', sentAt: now.toISOString() });
    expect(await reclaim(env.ddb, table(), 'ts-8', { claimedAt: record.timestamp, attempt: 1 }, now.toISOString(), 'x')).toBeUndefined();
    expect(await read('ts-8')).toMatchObject({ status: 'sent' });
  });

  it('writes a failed record only when none exists', async () => {
    const failed = buildRecord(fields('ts-6'), 'failed', now, 30, { code: 'VAL003', message: 'bad' });
    expect(await putFailed(env.ddb, table(), failed)).toBe(true);
    expect(await putFailed(env.ddb, table(), { ...failed, errorCode: 'VAL004' })).toBe(false);
    expect((await read('ts-6'))!.errorCode).toBe('VAL003');
  });
});
