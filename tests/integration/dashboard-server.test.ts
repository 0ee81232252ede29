import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { CliError } from '../../src/errors.js';
import type { Route } from '../../src/dashboard/routes.js';
import { MAX_BODY_BYTES, startDashboardServer, type DashboardServer } from '../../src/dashboard/server.js';
import { loadPage } from '../../src/dashboard/static-files.js';
import { newToken } from '../../src/dashboard/token.js';

/**
 * The dashboard's server as an attacker meets it: a real server on 127.0.0.1 with the real
 * page and a small route table, spoken to over raw HTTP (fetch cannot forge Host). Every
 * refusal has its status and code, and no bad request gets a 5xx.
 */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

let server: DashboardServer;
const token = newToken();
const posted: Record<string, unknown>[] = [];
const statuses: number[] = [];

const routes: Route[] = [
  { method: 'GET', path: '/api/overview', summary: 'figures', handler: async () => ({ hello: '<script>alert(1)</script>' }) },
  {
    method: 'POST',
    path: '/api/suppression/remove',
    summary: 'remove',
    handler: async ({ body }) => {
      posted.push(body);
      return { removed: true };
    },
  },
  { method: 'GET', path: '/api/broken', summary: 'fails behind', handler: async () => Promise.reject(new Error('socket hang up')) },
  {
    method: 'GET',
    path: '/api/refused',
    summary: 'a safeguard',
    handler: async () => {
      throw new CliError('SPR001', 'x complained.', 'Leave it.');
    },
  },
];

function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, method, path, headers: { Host: `127.0.0.1:${server.port}`, ...headers }, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        statuses.push(res.statusCode ?? 0);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const bearer = () => ({ Authorization: `Bearer ${token}` });
const json = { 'Content-Type': 'application/json' };

beforeAll(async () => {
  server = await startDashboardServer({ token, port: 0, routes, page: loadPage() });
});

afterAll(async () => {
  await server.close();
  // Whatever was sent, nothing but the route that fails behind its handler answered 5xx.
  expect(statuses.filter((s) => s >= 500 && s !== 502)).toEqual([]);
});

describe('the first load', () => {
  it('refuses a URL that gives token twice, whichever one is right', async () => {
    for (const query of [`token=${token}&token=wrong`, `token=wrong&token=${token}`, `token=${token}&token=${token}`]) {
      const answer = await raw('GET', `/?${query}`);

      expect(answer.status).toBe(401);
      expect(answer.headers.location).toBeUndefined();
    }
  });

  it('moves the token from the query into the fragment, which the page keeps and never sends, and sets no cookie', async () => {
    const answer = await raw('GET', `/?token=${token}`);

    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe(`/#token=${token}`);
    expect(answer.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a wrong token with 401', async () => {
    const answer = await raw('GET', `/?token=${newToken()}`);

    expect(answer.status).toBe(401);
    expect(answer.json().error.code).toBe('DSH003');
    expect(answer.headers.location).toBeUndefined();
  });

  it('serves the page, which holds no data, under a strict Content-Security-Policy', async () => {
    const answer = await raw('GET', '/');

    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.text).toContain('<script src="/dashboard.js" defer></script>');
    expect(answer.text).not.toContain('<script>alert(1)</script>');
    expect(answer.headers['content-security-policy']).toContain("default-src 'self'");
    expect(answer.headers['content-security-policy']).not.toContain('unsafe');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
    expect(answer.headers['set-cookie']).toBeUndefined();
  });
});

describe('the token', () => {
  it.each([
    ['no token', {}],
    ['a wrong Bearer token', { Authorization: `Bearer ${newToken()}` }],
    ['the token in a cookie (cookies reach every port of 127.0.0.1, so none is read)', { Cookie: `sesmailengine-dashboard=${token}` }],
    ['the token in a Basic header', { Authorization: `Basic ${token}` }],
  ])('is required for every API route: %s → 401', async (_what, headers) => {
    for (const path of ['/api/overview', '/api', '/api/nope']) {
      const answer = await raw('GET', path, headers as Record<string, string>);
      expect(answer.status).toBe(401);
      expect(answer.json().error.code).toBe('DSH003');
    }
  });

  it('shows a browser that opens the printed URL with a wrong token (an old run\'s) where the URL comes from, as a page', async () => {
    const answer = await raw('GET', `/?token=${newToken()}`, { Accept: 'text/html,application/xhtml+xml' });
    expect(answer.status).toBe(401);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.text).toContain('<code>sesmailengine dashboard</code> printed');
    expect(answer.text).not.toContain('dashboard.js');
    expect(answer.headers['content-security-policy']).toContain("default-src 'self'");
    // The API stays JSON whatever the Accept header says.
    expect((await raw('GET', '/api/overview', { Accept: 'text/html' })).json().error.code).toBe('DSH003');
  });

  it('with a Bearer header reads the API, JSON and never cached', async () => {
    const answer = await raw('GET', '/api/overview', bearer());

    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ hello: '<script>alert(1)</script>' });
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('the one-time URL that --open gives the browser', () => {
  it('opens the page once, trading its ticket for the token in the fragment, and never again', async () => {
    const url = new URL(server.oneTimeUrl());

    const first = await raw('GET', `${url.pathname}${url.search}`);
    const again = await raw('GET', `${url.pathname}${url.search}`);

    expect(url.search).not.toContain(token);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe(`/#token=${token}`);
    expect(again.status).toBe(401);
    expect(again.headers.location).toBeUndefined();
  });

  it('refuses a made-up ticket, the token given as a ticket and a ticket given twice', async () => {
    const ticket = new URL(server.oneTimeUrl()).searchParams.get('ticket')!;
    for (const query of [`ticket=${newToken()}`, `ticket=${token}`, `ticket=${ticket}&ticket=${ticket}`]) {
      expect((await raw('GET', `/?${query}`)).status).toBe(401);
    }
  });
});

describe('Host and Origin', () => {
  it.each(['evil.example', `evil.example:${0}`, '127.0.0.1', '127.0.0.1:1', '127.0.0.1.nip.io'])('refuses Host %s with 421 even with the token', async (host) => {
    const answer = await raw('GET', '/api/overview', { ...bearer(), Host: host });

    expect(answer.status).toBe(421);
    expect(answer.json().error.code).toBe('DSH005');
  });

  it('refuses a second Host line naming another name (node keeps only the first) with 421', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.end(`GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nHost: evil.example\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`);
    });

    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 421 Misdirected Request');
    expect(reply).toContain('DSH005');
  });

  it('answers under localhost and [::1] with its own port', async () => {
    for (const host of [`localhost:${server.port}`, `[::1]:${server.port}`]) {
      expect((await raw('GET', '/api/overview', { ...bearer(), Host: host })).status).toBe(200);
    }
  });

  it('refuses a cross-site Origin with 403, on reads and on actions', async () => {
    const read = await raw('GET', '/api/overview', { ...bearer(), Origin: 'https://evil.example' });
    const action = await raw('POST', '/api/suppression/remove', { ...bearer(), ...json, Origin: 'null' }, JSON.stringify({ confirm: true, address: 'a@b.c' }));
    const fetchMetadata = await raw('POST', '/api/suppression/remove', { ...bearer(), ...json, 'Sec-Fetch-Site': 'cross-site' }, JSON.stringify({ confirm: true }));

    for (const answer of [read, action, fetchMetadata]) {
      expect(answer.status).toBe(403);
      expect(answer.json().error.code).toBe('DSH006');
    }
    expect(posted).toEqual([]);
  });

  it('refuses what a page of another port of 127.0.0.1 loads without an Origin (Sec-Fetch-Site: same-site) with 403', async () => {
    const cookie = bearer();
    const script = await raw('GET', '/api/overview', { ...cookie, 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'script' });
    const file = await raw('GET', '/dashboard.js', { ...cookie, 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'no-cors' });
    const opened = await raw('GET', '/', { ...cookie, 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'navigate' });
    const own = await raw('GET', '/api/overview', { ...cookie, 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors' });

    for (const answer of [script, file]) {
      expect(answer.status).toBe(403);
      expect(answer.json().error.code).toBe('DSH006');
    }
    expect(opened.status).toBe(200);
    expect(own.status).toBe(200);
  });

  it("lets the page's own Origin post an action", async () => {
    const answer = await raw('POST', '/api/suppression/remove', { ...bearer(), ...json, Origin: `http://127.0.0.1:${server.port}` }, JSON.stringify({ confirm: true, address: 'a@b.c' }));

    expect(answer.status).toBe(200);
    expect(posted.at(-1)).toEqual({ confirm: true, address: 'a@b.c' });
  });
});

describe('actions', () => {
  const post = (body: string | Buffer, headers: Record<string, string> = json) => raw('POST', '/api/suppression/remove', { ...bearer(), ...headers }, body);

  it.each([
    ['no confirm', JSON.stringify({ address: 'a@b.c' })],
    ['confirm false', JSON.stringify({ confirm: false })],
    ['confirm "true" as a string', JSON.stringify({ confirm: 'true' })],
    ['bad JSON', '{"confirm": tru'],
    ['an empty body', ''],
    ['an array', '[{"confirm": true}]'],
    ['null', 'null'],
  ])('refuses %s with 400 DSH004', async (_what, body) => {
    const before = posted.length;
    const answer = await post(body);

    expect(answer.status).toBe(400);
    expect(answer.json().error.code).toBe('DSH004');
    expect(posted.length).toBe(before);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', ''])('refuses Content-Type %j with 415', async (type) => {
    const answer = await post(JSON.stringify({ confirm: true }), type ? { 'Content-Type': type } : {});

    expect(answer.status).toBe(415);
    expect(answer.json().error.code).toBe('DSH004');
  });

  it('takes application/json with a charset', async () => {
    expect((await post(JSON.stringify({ confirm: true }), { 'Content-Type': 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it('refuses a body over the limit with 413, declared or streamed', async () => {
    const huge = JSON.stringify({ confirm: true, pad: 'x'.repeat(MAX_BODY_BYTES) });
    const declared = await post(huge);
    const streamed = await raw('POST', '/api/suppression/remove', { ...bearer(), ...json, 'Transfer-Encoding': 'chunked' }, Buffer.from(huge));

    expect(declared.status).toBe(413);
    expect(streamed.status).toBe(413);
    expect(declared.json().error.code).toBe('DSH004');
  });
});

describe('paths and methods', () => {
  it.each([
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E%2Fpackage.json',
    '/..%2f..%2fetc%2fpasswd',
    '/..%5c..%5cpackage.json',
    '/dashboard.js/../../package.json',
    '/page/index.html',
    '/src/dashboard/page/index.html',
    '/index.html',
    '//etc/passwd',
    '/api/../../package.json',
    '/dashboard.js%00.html',
  ])('answers %s with 404 and no file of the disk', async (path) => {
    const answer = await raw('GET', path, bearer());

    expect([404, 400]).toContain(answer.status);
    if (!path.includes('%00')) expect(answer.status).toBe(404);
    expect(answer.text).not.toContain('"name": "sesmailengine"');
    expect(answer.text).not.toContain('root:');
  });

  it('refuses malformed percent-encoding with 400', async () => {
    expect((await raw('GET', '/%E0%A4%A', bearer())).status).toBe(400);
  });

  it.each(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND'])('answers %s with 405 and Allow', async (method) => {
    const page = await raw(method, '/', bearer());
    const api = await raw(method, '/api/overview', bearer());

    expect(page.status).toBe(405);
    expect(page.headers.allow).toBe('GET, HEAD');
    expect(api.status).toBe(405);
    expect(api.headers.allow).toBe('GET, HEAD');
    expect(api.json().error.code).toBe('DSH007');
  });

  it('answers GET on an action with 405 and an unknown API path with 404', async () => {
    const get = await raw('GET', '/api/suppression/remove', bearer());

    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await raw('GET', '/api/nope', bearer())).status).toBe(404);
  });

  it('answers HEAD without a body', async () => {
    const answer = await raw('HEAD', '/api/overview', bearer());

    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
  });
});

describe('starting', () => {
  it('refuses a port in use with DSH001', async () => {
    await expect(startDashboardServer({ token, port: server.port, routes, page: loadPage() })).rejects.toMatchObject({ code: 'DSH001' });
  });
});

describe('failures behind a handler', () => {
  it('is a 502 DSH008 when the engine cannot be read', async () => {
    const answer = await raw('GET', '/api/broken', bearer());

    expect(answer.status).toBe(502);
    expect(answer.json().error).toMatchObject({ code: 'DSH008', message: expect.stringContaining('socket hang up') });
  });

  it("is the safeguard's own code, with its fix, when one refuses", async () => {
    const answer = await raw('GET', '/api/refused', bearer());

    expect(answer.status).toBe(409);
    expect(answer.json().error).toEqual({ code: 'SPR001', message: 'x complained.', fix: 'Leave it.' });
  });
});
