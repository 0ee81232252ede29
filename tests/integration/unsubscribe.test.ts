import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { createUnsubscribeHandler, hasOneClickField, MAX_BODY_BYTES } from '../../functions/unsubscribe/handler.js';
import { escapeHtml } from '../../functions/unsubscribe/pages.js';
import { signUnsubscribeToken } from '../../functions/core/unsubscribe-token.js';
import { addSuppression, getSuppression } from '../../functions/lib/suppression-store.js';

const SECRET = 'test-unsubscribe-secret';
const NOW = new Date('2024-05-01T12:00:00.000Z');
let env: StandIns;

beforeAll(async () => {
  env = await startStandIns('unsub');
});
afterAll(async () => {
  await env?.stop();
});

function handler(overrides: { secret?: string; loadSecret?: () => Promise<string> } = {}) {
  return createUnsubscribeHandler({
    clients: { ddb: env.ddb },
    env: { SUPPRESSION_TABLE: env.tables.suppression, UNSUBSCRIBE_SECRET: overrides.secret ?? SECRET },
    now: () => NOW,
    log: () => {},
    ...(overrides.loadSecret ? { loadSecret: overrides.loadSecret } : {}),
  });
}

function request(
  method: string,
  token: string | undefined,
  options: { body?: string; base64?: boolean; contentType?: string; rawOnly?: boolean } = {},
): APIGatewayProxyEventV2 {
  const query = token === undefined ? '' : `token=${encodeURIComponent(token)}`;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: query,
    headers: {
      host: 'abc.lambda-url.us-east-1.on.aws',
      ...(options.body !== undefined ? { 'content-type': options.contentType ?? 'application/x-www-form-urlencoded' } : {}),
    },
    ...(token !== undefined && !options.rawOnly ? { queryStringParameters: { token } } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: NOW.toUTCString(),
      timeEpoch: NOW.getTime(),
    },
    ...(options.body !== undefined
      ? { body: options.base64 ? Buffer.from(options.body).toString('base64') : options.body, isBase64Encoded: Boolean(options.base64) }
      : { isBase64Encoded: false }),
  };
}

const ONE_CLICK = 'List-Unsubscribe=One-Click';
let n = 0;
const address = () => `reader-${Date.now()}-${++n}@example.org`;
const suppressed = (email: string) => getSuppression(env.ddb, env.tables.suppression, email);

function expectSecurityHeaders(headers: Record<string, unknown> | undefined) {
  expect(headers?.['Content-Security-Policy']).toMatch(/default-src 'none'/);
  expect(headers?.['Content-Security-Policy']).not.toMatch(/script-src/);
  expect(headers?.['X-Content-Type-Options']).toBe('nosniff');
  expect(headers?.['Referrer-Policy']).toBe('no-referrer');
  expect(headers?.['Cache-Control']).toBe('no-store');
}

describe('one-click POST (RFC 8058)', () => {
  it('suppresses the address of a valid token and answers 200', async () => {
    const email = address();
    const result = await handler()(request('POST', signUnsubscribeToken(SECRET, email), { body: ONE_CLICK }));
    expect(result.statusCode).toBe(200);
    expectSecurityHeaders(result.headers);
    expect(await suppressed(email)).toMatchObject({
      email,
      reason: 'unsubscribed',
      suppressionType: 'unsubscribe',
      createdAt: NOW.toISOString(),
    });
  });

  it('accepts a base64-encoded body, a multipart body and a token only in the raw query string', async () => {
    const a = address();
    const b = address();
    const c = address();
    const boundary = '----form42';
    const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const h = handler();
    expect((await h(request('POST', signUnsubscribeToken(SECRET, a), { body: ONE_CLICK, base64: true }))).statusCode).toBe(200);
    expect(
      (await h(request('POST', signUnsubscribeToken(SECRET, b), { body: multipart, contentType: `multipart/form-data; boundary=${boundary}` })))
        .statusCode,
    ).toBe(200);
    expect((await h(request('POST', signUnsubscribeToken(SECRET, c), { body: ONE_CLICK, rawOnly: true }))).statusCode).toBe(200);
    for (const email of [a, b, c]) expect((await suppressed(email))?.reason).toBe('unsubscribed');
  });

  it('answers 200 again for an address already unsubscribed, and keeps a spam complaint as the reason', async () => {
    const email = address();
    const h = handler();
    await h(request('POST', signUnsubscribeToken(SECRET, email), { body: ONE_CLICK }));
    expect((await h(request('POST', signUnsubscribeToken(SECRET, email), { body: ONE_CLICK }))).statusCode).toBe(200);

    const complainer = address();
    await addSuppression(env.ddb, env.tables.suppression, {
      email: complainer,
      reason: 'spam-complaint',
      suppressionType: 'complaint',
      createdAt: '2024-04-01T00:00:00.000Z',
    });
    expect((await h(request('POST', signUnsubscribeToken(SECRET, complainer), { body: ONE_CLICK }))).statusCode).toBe(200);
    expect((await suppressed(complainer))?.reason).toBe('spam-complaint');
  });

  it('refuses a POST without List-Unsubscribe=One-Click with 400 and changes nothing', async () => {
    const email = address();
    const result = await handler()(request('POST', signUnsubscribeToken(SECRET, email), { body: 'List-Unsubscribe=Maybe' }));
    expect(result.statusCode).toBe(400);
    expect(await suppressed(email)).toBeUndefined();
  });
});

describe('GET confirmation page', () => {
  it('shows a styled page with a button that POSTs One-Click back, and changes nothing', async () => {
    const email = address();
    const token = signUnsubscribeToken(SECRET, email);
    const result = await handler()(request('GET', token));
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['Content-Type']).toBe('text/html; charset=utf-8');
    expectSecurityHeaders(result.headers);
    const body = String(result.body);
    expect(body).toContain('<form method="post"');
    expect(body).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(body).toContain(escapeHtml(`?token=${encodeURIComponent(token)}`));
    expect(body).toContain(escapeHtml(email));
    expect(body).not.toMatch(/<script/i);
    expect(await suppressed(email)).toBeUndefined();
  });

  it('escapes the address it echoes', async () => {
    const email = '"<img src=x onerror=alert(1)>"@example.org';
    const result = await handler()(request('GET', signUnsubscribeToken(SECRET, email)));
    expect(result.statusCode).toBe(200);
    expect(String(result.body)).not.toContain('<img');
    expect(String(result.body)).toContain('&#60;img');
  });

  it('allows the inline style by its hash in the Content-Security-Policy', async () => {
    const { createHash } = await import('node:crypto');
    const result = await handler()(request('GET', signUnsubscribeToken(SECRET, address())));
    const style = /<style>([\s\S]*?)<\/style>/.exec(String(result.body))?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    expect(result.headers?.['Content-Security-Policy']).toContain(`'sha256-${hash}'`);
  });
});

describe('refused requests change nothing', () => {
  const cases: [string, (email: string) => string | undefined][] = [
    ['a missing token', () => undefined],
    ['garbage', () => 'garbage'],
    ['a token signed with another secret', (email) => signUnsubscribeToken('another-secret', email)],
    [
      "another address's signature on this address",
      (email) => {
        const [addressPart] = signUnsubscribeToken(SECRET, email).split('.');
        const [, otherMac] = signUnsubscribeToken(SECRET, 'someone-else@example.org').split('.');
        return `${addressPart}.${otherMac}`;
      },
    ],
    [
      "this address's signature on another address",
      (email) => {
        const [, mac] = signUnsubscribeToken(SECRET, email).split('.');
        return `${Buffer.from('someone-else@example.org').toString('base64url')}.${mac}`;
      },
    ],
    [
      'a tampered address',
      (email) => {
        const [, mac] = signUnsubscribeToken(SECRET, email).split('.');
        return `${Buffer.from(`x${email}`).toString('base64url')}.${mac}`;
      },
    ],
    [
      'a tampered signature',
      (email) => {
        const token = signUnsubscribeToken(SECRET, email);
        return `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
      },
    ],
    ['an oversized token', () => 'a'.repeat(5000)],
  ];

  it.each(cases)('%s → 403 for GET and POST', async (_name, makeToken) => {
    const email = address();
    const token = makeToken(email);
    const h = handler();
    const get = await h(request('GET', token));
    const post = await h(request('POST', token, { body: ONE_CLICK }));
    expect(get.statusCode).toBe(403);
    expect(post.statusCode).toBe(403);
    expectSecurityHeaders(post.headers);
    expect(await suppressed(email)).toBeUndefined();
    expect(await suppressed('someone-else@example.org')).toBeUndefined();
  });

  it.each(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'])('%s → 405', async (method) => {
    const email = address();
    const result = await handler()(request(method, signUnsubscribeToken(SECRET, email), { body: ONE_CLICK }));
    expect(result.statusCode).toBe(405);
    expect(result.headers?.Allow).toBe('GET, POST');
    expect(await suppressed(email)).toBeUndefined();
  });

  it('an oversized body → 413', async () => {
    const email = address();
    const body = `${ONE_CLICK}&pad=${'x'.repeat(MAX_BODY_BYTES)}`;
    const result = await handler()(request('POST', signUnsubscribeToken(SECRET, email), { body }));
    expect(result.statusCode).toBe(413);
    expect(await suppressed(email)).toBeUndefined();
  });

  it('an unavailable secret → 503, without a stack trace', async () => {
    const result = await handler({ loadSecret: () => Promise.reject(new Error('AccessDenied')) })(
      request('POST', 'x.y', { body: ONE_CLICK }),
    );
    expect(result.statusCode).toBe(503);
    expect(String(result.body)).not.toContain('AccessDenied');
  });
});

describe('hasOneClickField', () => {
  it.each([
    ['List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded', true],
    ['List-Unsubscribe=One-Click', undefined, true],
    ['a=b&List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded; charset=utf-8', true],
    ['List-Unsubscribe=one-click-ish', 'application/x-www-form-urlencoded', false],
    ['', 'application/x-www-form-urlencoded', false],
    ['--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--', 'multipart/form-data; boundary=b', true],
    ['--b\nContent-Disposition: form-data; name="Other"\n\nOne-Click\n--b--', 'multipart/form-data; boundary=b', false],
    ['--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--', 'multipart/form-data', false],
  ] as const)('%j (%s) → %s', (body, type, expected) => {
    expect(hasOneClickField(body, type)).toBe(expected);
  });
});
