import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The dashboard's per-run secret. It is printed once in the URL; the first page load moves
 * it into the URL's fragment, which the page keeps in its tab's sessionStorage (per origin,
 * so per port) and sends as `Authorization: Bearer <token>` with every API request. No
 * cookie: browsers send cookies to every port of 127.0.0.1, so a cookie would reach any
 * other local server the browser opens. Pure, apart from the random bytes.
 */

/** 32 random bytes (256 bits), base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares in constant time, whatever the lengths (both sides are hashed first). */
export function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined || given === '') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token a request carries in `Authorization: Bearer <token>`. */
export function tokenOf(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth !== 'string') return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
}

export function isAuthorized(headers: IncomingHttpHeaders, token: string): boolean {
  return sameToken(tokenOf(headers), token);
}
