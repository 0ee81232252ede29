import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';

/**
 * Local mode's HTTP servers against what a web page could send them (a rebound Host, a
 * cross-site Origin, a text/plain POST), malformed paths, a PutEvents request with a
 * 5,000-deep Detail among valid entries, and random requests: refused or answered, never a
 * 500, and the process keeps serving. The built CLI runs in a child process.
 */

let local: LocalMode;
type Server = 'eventBridge' | 'dynamoDb' | 's3' | 'ses';
const endpoint = (server: Server) => new URL(local.info[`${server}Endpoint`] as string);

beforeAll(async () => {
  local = await startLocalMode(['--stack-name', 'guard']);
}, 90_000);
afterAll(async () => {
  await local?.stop();
}, 30_000);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One raw HTTP request (node:http, so Host and Origin are exactly what the test says). */
function send(server: Server, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer, timeoutMs = 15_000): Promise<Answer> {
  const url = endpoint(server);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers: { host: url.host, ...headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer to ${method} ${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const port = (server: Server) => endpoint(server).port;
const sendQueueArn = () => `arn:aws:sqs:${local.info.region}:000000000000:${String(local.info.sendQueueUrl).split('/').pop()}`;

const welcome = (to: string) => ({ emailId: `guard-${randomUUID()}`, to, templateName: 'welcome', templateData: { userName: 'Ada', companyName: 'Acme' } });

/** A CreateSchedule body that, once it fires, puts an Email Request for `to` on the send queue at once. */
function scheduleBody(to: string): string {
  const at = new Date(Date.now() - 1000).toISOString().slice(0, 19);
  const envelope = { version: '0', id: randomUUID(), 'detail-type': 'Email Request', source: 'web.page', detail: welcome(to) };
  return JSON.stringify({
    ScheduleExpression: `at(${at})`,
    FlexibleTimeWindow: { Mode: 'OFF' },
    ActionAfterCompletion: 'DELETE',
    Target: { Arn: sendQueueArn(), RoleArn: 'arn:aws:iam::000000000000:role/x', Input: JSON.stringify(envelope) },
  });
}

async function caughtFor(to: string): Promise<number> {
  return (await local.mail()).filter((mail) => mail.destination.to.includes(to)).length;
}

/** One request a caller could make to each server, and the error shape its clients read. */
const probes: { what: string; server: Server; method: string; path: string; headers?: Record<string, string>; body?: string }[] = [
  { what: 'EventBridge PutEvents', server: 'eventBridge', method: 'POST', path: '/', headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' }, body: '{"Entries":[]}' },
  { what: 'SQS (queue URL path)', server: 'eventBridge', method: 'POST', path: '/000000000000/guard-send', headers: { 'x-amz-target': 'AmazonSQS.GetQueueAttributes', 'content-type': 'application/x-amz-json-1.0' }, body: '{}' },
  { what: 'GET /info', server: 'eventBridge', method: 'GET', path: '/info' },
  { what: 'POST /schedules/<name>', server: 'eventBridge', method: 'POST', path: '/schedules/probe', headers: { 'content-type': 'text/plain' }, body: '{}' },
  { what: 'DynamoDB', server: 'dynamoDb', method: 'POST', path: '/', headers: { 'x-amz-target': 'DynamoDB_20120810.ListTables', 'content-type': 'application/x-amz-json-1.0' }, body: '{}' },
  { what: 'S3', server: 's3', method: 'GET', path: '/' },
  { what: 'SES API', server: 'ses', method: 'GET', path: '/v2/email/account', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/ses/aws4_request' } },
  { what: 'the mail viewer', server: 'ses', method: 'GET', path: '/' },
];

describe('a foreign Host (DNS rebinding)', () => {
  it.each(probes)('is refused with 421 LOC004 by $what', async ({ server, method, path, headers, body }) => {
    const answer = await send(server, method, path, { ...headers, host: `evil.example:${port(server)}` }, body);
    expect(answer.status).toBe(421);
    expect(answer.body).toContain('LOC004');
    if (server === 's3') expect(answer.body).toContain('<Code>MisdirectedRequest</Code>');
    else expect(JSON.parse(answer.body)).toMatchObject({ __type: 'MisdirectedRequest', error: { code: 'LOC004' } });
  });

  it('gets nothing of /info, while 127.0.0.1, localhost and [::1] with the port are answered', async () => {
    const refused = await send('eventBridge', 'GET', '/info', { host: 'evil.example' });
    expect(refused.status).toBe(421);
    expect(refused.body).not.toContain(local.info.eventBusName);
    for (const name of ['127.0.0.1', 'localhost', '[::1]']) {
      const answer = await send('eventBridge', 'GET', '/info', { host: `${name}:${port('eventBridge')}` });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ eventBusName: local.info.eventBusName });
    }
  });
});

describe('a cross-site browser request', () => {
  it.each(probes)('is refused with 403 LOC005 by $what', async ({ server, method, path, headers, body }) => {
    const answer = await send(server, method, path, { ...headers, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, body);
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('LOC005');
  });

  it('cannot create a schedule with a text/plain POST, so nothing is sent; the same request from a program is', async () => {
    const victim = `web-${randomUUID()}@example.com`;
    const refused = await send('eventBridge', 'POST', '/schedules/from-a-page', {
      'content-type': 'text/plain',
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'no-cors',
    }, scheduleBody(victim));
    expect(refused.status).toBe(403);
    expect((await send('eventBridge', 'GET', '/schedules/from-a-page')).status).toBe(404);

    // The control: without Origin (a program) the same body is accepted and its mail is caught,
    // so the refused one would have been caught too by now.
    const control = `program-${randomUUID()}@example.com`;
    const accepted = await send('eventBridge', 'POST', '/schedules/from-a-program', { 'content-type': 'application/json' }, scheduleBody(control));
    expect(accepted.status).toBe(200);
    await eventually(async () => ((await caughtFor(control)) === 1 ? true : undefined), 30_000, 'the control mail caught');
    expect(await caughtFor(victim)).toBe(0);
  }, 60_000);

  it('gets no permissive answer to a CORS preflight', async () => {
    const answer = await send('ses', 'OPTIONS', '/v2/email/outbound-emails', {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(answer.status).toBe(403);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('the mail viewer in a browser', () => {
  it('still loads its page and its store with its own Origin', async () => {
    const own = `http://127.0.0.1:${port('ses')}`;
    const page = await send('ses', 'GET', '/', { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html');
    const store = await send('ses', 'GET', '/store?since=0', { origin: own, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' });
    expect(store.status).toBe(200);
    expect(JSON.parse(store.body)).toHaveProperty('emails');
    const viaLocalhost = await send('ses', 'GET', '/store', { host: `localhost:${port('ses')}`, origin: `http://localhost:${port('ses')}` });
    expect(viaLocalhost.status).toBe(200);
  });

  it('opens from a link on another site (a GET navigation)', async () => {
    const page = await send('ses', 'GET', '/', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' });
    expect(page.status).toBe(200);
  });
});

describe('malformed percent-encoding in a path', () => {
  it.each<[Server, string]>([
    ['eventBridge', '/schedules/%E0%A4%A'],
    ['eventBridge', '/unsubscribe/%zz'],
    ['dynamoDb', '/%C3'],
    ['s3', '/any-bucket/%E0%A4%A'],
    ['ses', '/v2/email/templates/%'],
  ])('is a 400 on %s (%s)', async (server, path) => {
    const answer = await send(server, 'GET', path);
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('InvalidURI');
  });
});

describe('S3 object keys that climb out of the store', () => {
  it.each([
    ['encoded slashes', (target: string) => `..%2F`.repeat(30) + encodeURIComponent(target.slice(1))],
    ['plain segments', (target: string) => `../`.repeat(30) + target.slice(1)],
  ])('write nothing outside it (%s): 400, and the folder stays empty', async (_how, keyFor) => {
    const outside = mkdtempSync(join(tmpdir(), 'sme-s3-outside-'));
    try {
      const key = keyFor(join(outside, 'planted'));
      const put = await send('s3', 'PUT', `/${String(local.info.templateBucket)}/${key}`, { 'content-type': 'text/plain' }, 'planted');
      expect(put.status).toBe(400);
      expect(put.body).toContain('InvalidArgument');
      expect(readdirSync(outside)).toEqual([]);
      expect(existsSync(join(outside, 'planted._S3rver_object'))).toBe(false);
      const copy = await send('s3', 'PUT', `/${String(local.info.templateBucket)}/copied`, { 'x-amz-copy-source': `/${String(local.info.templateBucket)}/${key}` });
      expect(copy.status).toBe(400);
      const boundary = 'sme-boundary';
      const form = [`--${boundary}`, 'Content-Disposition: form-data; name="key"', '', decodeURIComponent(key), `--${boundary}`, 'Content-Disposition: form-data; name="file"; filename="x"', 'Content-Type: text/plain', '', 'planted', `--${boundary}--`, ''].join('\r\n');
      const post = await send('s3', 'POST', `/${String(local.info.templateBucket)}`, { 'content-type': `multipart/form-data; boundary=${boundary}` }, form);
      expect(post.status).toBe(400);
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
  it('a multi-object delete (keys in the XML body) deletes nothing outside it', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'sme-s3-outside-'));
    try {
      const planted = join(outside, 'planted._S3rver_object');
      writeFileSync(planted, 'keep me');
      const climbing = `${'../'.repeat(30)}${join(outside, 'planted').slice(1)}`;
      const inside = `kept-${randomUUID()}`;
      const bucket = String(local.info.templateBucket);
      expect((await send('s3', 'PUT', `/${bucket}/${inside}`, { 'content-type': 'text/plain' }, 'inside')).status).toBe(200);
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet><Object><Key>${climbing}</Key></Object><Object><Key>${inside}</Key></Object></Delete>`;
      const bulk = await send('s3', 'POST', `/${bucket}?delete`, { 'content-type': 'application/xml' }, xml);
      expect(bulk.status).toBe(400);
      expect(bulk.body).toContain('InvalidArgument');
      expect(readFileSync(planted, 'utf8')).toBe('keep me');
      // A multi-object delete of keys inside the bucket still works.
      const ok = await send('s3', 'POST', `/${bucket}?delete`, { 'content-type': 'application/xml' }, `<Delete><Object><Key>${inside}</Key></Object></Delete>`);
      expect(ok.status).toBe(200);
      expect((await send('s3', 'GET', `/${bucket}/${inside}`)).status).toBe(404);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('PutEvents with a 5,000-deep Detail among valid entries', () => {
  it('routes the valid entries exactly once and fails the deep one as MalformedDetail', async () => {
    const first = `deep-a-${randomUUID()}@example.com`;
    const second = `deep-b-${randomUUID()}@example.com`;
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const out = await local.publish([
      local.request(welcome(first)),
      { ...local.request({}), Detail: deep },
      local.request(welcome(second)),
    ]);
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[1]).toMatchObject({ ErrorCode: 'MalformedDetail' });
    expect(out.Entries?.[0]?.EventId).toBeDefined();
    expect(out.Entries?.[2]?.EventId).toBeDefined();
    await eventually(async () => ((await caughtFor(first)) + (await caughtFor(second)) === 2 ? true : undefined), 30_000, 'both mails caught');
    // Give a duplicate (an SDK retry of a 500) time to show up.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect([await caughtFor(first), await caughtFor(second)]).toEqual([1, 1]);
  }, 60_000);
});

describe('random requests to every server', () => {
  const servers: Server[] = ['eventBridge', 'dynamoDb', 's3', 'ses'];
  const segments = ['', 'schedules', 'unsubscribe', 'events', 'queues', 'info', 'v2', 'email', 'outbound-emails', 'templates', 'store', 'get-emlContent', '000000000000', 'guard-send', 'guard-templates', '..', '%2E%2E', '%C3%A9', '%25', 'a%20b'];
  const queries = ['', '?since=x', '?since=1&since=2', '?messageId=', '?messageId=nope', '?list-type=2&prefix=%', '?uploads', '?emailId=%zz', '?groupName='];
  const targets = ['AWSEvents.PutEvents', 'AmazonSQS.SendMessage', 'AmazonSQS.SendMessageBatch', 'AmazonSQS.ReceiveMessage', 'DynamoDB_20120810.PutItem', 'DynamoDB_20120810.Query', 'DynamoDB_20120810.BatchWriteItem', 'Nope'];
  const nested = (levels: number, open: string, close: string, inner: string) => `${open.repeat(levels)}${inner}${close.repeat(levels)}`;
  const body = fc.oneof(
    fc.constant(undefined),
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    fc.integer({ min: 1, max: 20_000 }).map((levels) => nested(levels, '[', ']', '')),
    fc.integer({ min: 1, max: 5000 }).map((levels) => JSON.stringify({ Entries: [{ Source: 's', DetailType: 'Email Request', Detail: nested(levels, '{"a":', '}', '1') }] })),
    fc.integer({ min: 1, max: 3000 }).map((levels) => `{"TableName":"guard-EmailTracking","Item":{"emailId":{"S":"fuzz"},"a":${nested(levels, '{"L":[', ']}', '{"S":"x"}')}}}`),
    fc.constant('x'.repeat(3 * 1024 * 1024)),
  );
  const request = fc.record({
    server: fc.constantFrom(...servers),
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
    path: fc.tuple(fc.array(fc.constantFrom(...segments), { minLength: 1, maxLength: 4 }), fc.constantFrom(...queries)).map(([parts, query]) => `/${parts.join('/')}${query}`),
    contentType: fc.constantFrom(undefined, 'application/json', 'application/x-amz-json-1.1', 'application/x-amz-json-1.0', 'text/plain', 'application/x-www-form-urlencoded'),
    target: fc.constantFrom(undefined, ...targets),
    authorization: fc.constantFrom(undefined, 'AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0', 'Bearer x'),
    body,
  });

  it('never get a 500 or go unanswered, and every server still serves afterwards', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType) headers['content-type'] = r.contentType;
        if (r.target) headers['x-amz-target'] = r.target;
        if (r.authorization) headers.authorization = r.authorization;
        const payload = r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body;
        let answer: Answer;
        try {
          // 30 s: an answer slower than that is a hang; 10 s was once exceeded on a loaded 2-core machine.
          answer = await send(r.server, r.method, r.path, headers, payload, 30_000);
        } catch (error) {
          // A server may answer (and close) before a large body is sent; that is no 500.
          if (/ECONNRESET|EPIPE/.test(String((error as NodeJS.ErrnoException).code ?? error))) return;
          throw error;
        }
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(answer.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
    for (const server of servers) {
      const answer = await send(server, 'GET', server === 'ses' ? '/store?since=0' : '/');
      expect(answer.status).toBe(200);
    }
    expect(local.child.exitCode).toBeNull();
  }, 240_000);
});
