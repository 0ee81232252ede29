import { domainToASCII, domainToUnicode } from 'node:url';
import { hasLoneSurrogate } from './unicode.js';

/**
 * E-mail address syntax as SES can send it: one bare `local@domain`.
 *
 * SES has no SMTPUTF8, so the local part must be ASCII (RFC 5322 dot-atom); the domain may
 * be internationalised and is converted to its ASCII (punycode) form for sending. Quoted
 * local parts, IP-literal domains, display names and comments are refused rather than
 * half-supported.
 */

export interface EmailAddress {
  /** What goes to SES: the local part as written, the domain in lower-case ASCII. */
  address: string;
  /** Lower-cased `address`: the key for the suppression list and for tracking lookups. */
  normalized: string;
  local: string;
  /** ASCII (punycode) domain, lower-case. */
  domain: string;
}

export type AddressResult = { ok: true; value: EmailAddress } | { ok: false; reason: string };

export const MAX_ADDRESS_LENGTH = 254;
const MAX_LOCAL_LENGTH = 64;
const MAX_DOMAIN_LENGTH = 253;

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators some clients break on.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * True when a value must not go into a mail header: CR, LF, NUL, tab and other controls, or
 * a lone UTF-16 surrogate (broken Unicode that cannot be encoded).
 */
export function hasControlChars(value: string): boolean {
  return CONTROL_CHARS.test(value) || hasLoneSurrogate(value);
}

const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`);
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

function fail(reason: string): AddressResult {
  return { ok: false, reason };
}

/** Parses one address. Surrounding spaces are ignored; control characters must be refused before. */
export function parseEmailAddress(input: string): AddressResult {
  const value = input.trim();
  if (value === '') return fail('is empty');
  if (value.length > 4 * MAX_ADDRESS_LENGTH) return fail(`is longer than ${MAX_ADDRESS_LENGTH} characters`);
  if (/[<>]/.test(value)) return fail('contains "<" or ">"; give the bare address (user@example.com) without a display name');
  if (/\s/.test(value)) return fail('contains a space');
  if (/[(),;]/.test(value)) return fail('contains "(", ")", "," or ";"; give exactly one bare address');
  const at = value.lastIndexOf('@');
  if (at === -1) return fail('has no "@"');
  const local = value.slice(0, at);
  const rawDomain = value.slice(at + 1);
  if (local === '') return fail('has nothing before the "@"');
  if (rawDomain === '') return fail('has nothing after the "@"');
  if (local.startsWith('"')) return fail('has a quoted local part, which SES cannot send to');
  if (local.includes('@')) return fail('has more than one "@"');
  if (/[^\x00-\x7f]/.test(local)) {
    return fail('has non-ASCII characters before the "@"; SES cannot send to internationalised local parts (SMTPUTF8)');
  }
  if (local.length > MAX_LOCAL_LENGTH) return fail(`has a local part longer than ${MAX_LOCAL_LENGTH} characters`);
  if (!DOT_ATOM.test(local)) {
    return fail('has a local part that is not valid (characters allowed: letters, digits and !#$%&\'*+/=?^_`{|}~- with single dots between)');
  }
  if (rawDomain.startsWith('[')) return fail('has an IP-literal domain, which is not supported');

  const domain = domainToASCII(rawDomain);
  if (domain === '') return fail(`has a domain that is not a valid domain name ("${rawDomain}")`);
  if (domain.length > MAX_DOMAIN_LENGTH) return fail(`has a domain longer than ${MAX_DOMAIN_LENGTH} characters`);
  const labels = domain.split('.');
  if (labels.length < 2) return fail('has a domain without a dot (a fully qualified domain such as example.com is needed)');
  if (!labels.every((label) => LABEL.test(label))) {
    return fail(`has a domain that is not a valid domain name ("${rawDomain}")`);
  }
  if (!TOP_LABEL.test(labels[labels.length - 1]!)) return fail(`has a domain whose last label is not a valid top-level domain ("${rawDomain}")`);

  const address = `${local}@${domain}`;
  if (address.length > MAX_ADDRESS_LENGTH) return fail(`is longer than ${MAX_ADDRESS_LENGTH} characters`);
  return { ok: true, value: { address, normalized: address.toLowerCase(), local, domain } };
}

/**
 * The keys under which an address may sit on the suppression list: the lower-cased ASCII
 * form (what SES reports in feedback), and for an internationalised domain also the
 * Unicode form a person may have typed into `suppression add`.
 */
export function suppressionKeys(address: EmailAddress): string[] {
  const keys = [address.normalized];
  if (address.domain.split('.').some((label) => label.startsWith('xn--'))) {
    const unicode = `${address.local.toLowerCase()}@${domainToUnicode(address.domain)}`;
    if (unicode !== address.normalized) keys.push(unicode);
  }
  return keys;
}
