import { describe, expect, it } from '@jest/globals';
import { isAuthorized, newToken, sameToken, tokenOf } from '../../../src/dashboard/token.js';
import { matchRoute, type Route } from '../../../src/dashboard/routes.js';
import { searchSubject } from '../../../src/dashboard/api.js';

/** The dashboard's pure parts: its token, how a request finds its route, what the search box takes. */

describe('the dashboard token', () => {
  it('is 256 random bits, base64url, different each run', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => newToken()));

    expect(tokens.size).toBe(50);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
  });

  it('matches only itself, whatever the length of the guess', () => {
    const token = newToken();

    expect(sameToken(token, token)).toBe(true);
    expect(sameToken(`${token}x`, token)).toBe(false);
    expect(sameToken(token.slice(0, -1), token)).toBe(false);
    expect(sameToken('', token)).toBe(false);
    expect(sameToken(undefined, token)).toBe(false);
    expect(sameToken(newToken(), token)).toBe(false);
  });

  it('is read from a Bearer header only: no cookie (browsers send cookies to every port of 127.0.0.1)', () => {
    const token = newToken();

    expect(tokenOf({ authorization: `Bearer ${token}` })).toBe(token);
    expect(tokenOf({ authorization: `bearer   ${token} ` })).toBe(token);
    expect(tokenOf({ authorization: `Basic ${token}` })).toBeUndefined();
    expect(tokenOf({ cookie: `sesmailengine-dashboard-4020=${token}` })).toBeUndefined();
    expect(isAuthorized({ authorization: `Bearer ${token}` }, token)).toBe(true);
    expect(isAuthorized({ authorization: `Bearer ${newToken()}` }, token)).toBe(false);
    expect(isAuthorized({ cookie: `sesmailengine-dashboard-4020=${token}` }, token)).toBe(false);
    expect(isAuthorized({}, token)).toBe(false);
  });
});

describe('matchRoute', () => {
  const handler = async () => ({});
  const routes: Route[] = [
    { method: 'GET', path: '/api/overview', summary: '', handler },
    { method: 'POST', path: '/api/suppression/remove', summary: '', handler },
    { method: 'GET', path: '/api/suppression', summary: '', handler },
  ];

  it('finds a route by its method and exact path, HEAD as GET', () => {
    expect(matchRoute(routes, 'GET', '/api/overview')).toEqual({ route: routes[0] });
    expect(matchRoute(routes, 'head', '/api/overview')).toEqual({ route: routes[0] });
    expect(matchRoute(routes, 'POST', '/api/suppression/remove')).toEqual({ route: routes[1] });
  });

  it('answers 404 for a path no route has, prefixes and trailing slashes included', () => {
    for (const path of ['/api/nope', '/api/overview/', '/api/suppression/remove/x', '/api/OVERVIEW', '/api/../api/overview']) {
      expect(matchRoute(routes, 'GET', path)).toEqual({ status: 404 });
    }
  });

  it('answers 405 with the methods the path takes', () => {
    expect(matchRoute(routes, 'POST', '/api/overview')).toEqual({ status: 405, allow: ['GET', 'HEAD'] });
    expect(matchRoute(routes, 'GET', '/api/suppression/remove')).toEqual({ status: 405, allow: ['POST'] });
    expect(matchRoute(routes, 'DELETE', '/api/suppression')).toEqual({ status: 405, allow: ['GET', 'HEAD'] });
  });
});

describe('searchSubject', () => {
  it('takes an emailId or an address, trimmed', () => {
    expect(searchSubject(' order-1234 ')).toBe('order-1234');
    expect(searchSubject('jamie@example.com')).toBe('jamie@example.com');
  });

  it('refuses nothing, control characters and over-long values with DSH004', () => {
    for (const bad of [undefined, '', '   ', 'a\u0000b', 'x'.repeat(129)]) {
      expect(() => searchSubject(bad)).toThrow(expect.objectContaining({ status: 400, code: 'DSH004' }));
    }
  });
});

describe('dashboardPort', () => {
  it('takes 0 to 65535, 0 (a free port) when left out', async () => {
    const { dashboardPort } = await import('../../../src/commands/dashboard.js');

    expect(await dashboardPort(undefined)).toBe(0);
    expect(await dashboardPort('4020')).toBe(4020);
    expect(await dashboardPort(' 65535 ')).toBe(65535);
  });

  it.each(['abc', '-1', '65536', '1.5', '', '4020x', '0x10'])('refuses --port %j with DSH002, a usage error', async (value) => {
    const { dashboardPort } = await import('../../../src/commands/dashboard.js');

    await expect(dashboardPort(value)).rejects.toMatchObject({ code: 'DSH002', exitCode: 2 });
  });
});
