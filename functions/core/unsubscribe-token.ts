import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * One-click unsubscribe tokens: `<base64url(address)>.<base64url(hmac-sha256)>`.
 * The address is lower-cased before signing so case variants share one token.
 * Verification compares MACs in constant time.
 */

const b64url = (buf: Buffer): string => buf.toString('base64url');

function mac(secret: string, email: string): Buffer {
  return createHmac('sha256', secret).update(`unsubscribe:v1:${email}`).digest();
}

export function signUnsubscribeToken(secret: string, email: string): string {
  if (!secret) throw new Error('unsubscribe secret is empty');
  const normalized = email.trim().toLowerCase();
  return `${b64url(Buffer.from(normalized, 'utf8'))}.${b64url(mac(secret, normalized))}`;
}

/** Returns the lower-cased address the token was issued for, or null when forged/tampered. */
export function verifyUnsubscribeToken(secret: string, token: unknown): string | null {
  if (!secret || typeof token !== 'string' || token.length > 1024) return null;
  const parts = token.split('.');
  if (parts.length !== 2) return null;
  const [addrPart, macPart] = parts as [string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(addrPart) || !/^[A-Za-z0-9_-]+$/.test(macPart)) return null;
  const email = Buffer.from(addrPart, 'base64url').toString('utf8');
  if (!email.includes('@') || email !== email.toLowerCase()) return null;
  const expected = mac(secret, email);
  const given = Buffer.from(macPart, 'base64url');
  if (given.length !== expected.length) return null;
  return timingSafeEqual(given, expected) ? email : null;
}

/** The https link placed in List-Unsubscribe and in templates as `unsubscribeLink`. */
export function unsubscribeUrl(baseUrl: string, token: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('token', token);
  return url.toString();
}
