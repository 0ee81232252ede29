import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The dashboard's per-run secret. It is printed once in the URL; the first page load trades
 * it for a cookie (HttpOnly, SameSite=Strict, named after the port so two dashboards on
 * one machine keep theirs apart), and every later request carries the cookie or
 * `Authorization: Bearer <token>`. Pure, apart from the random bytes.
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

export function cookieName(port: number): string {
  return `sesmailengine-dashboard-${port}`;
}

/** The value of one cookie of a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The token a request carries: its Bearer header first, else its cookie. */
export function tokenOf(headers: IncomingHttpHeaders, port: number): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  return cookieValue(headers.cookie, cookieName(port));
}

export function isAuthorized(headers: IncomingHttpHeaders, port: number, token: string): boolean {
  return sameToken(tokenOf(headers, port), token);
}

/** The Set-Cookie header that hands the token to the browser. */
export function sessionCookie(port: number, token: string): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}
