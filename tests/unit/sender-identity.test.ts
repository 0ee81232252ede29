import { describe, expect, it } from '@jest/globals';
import { parseEmailAddress, type EmailAddress } from '../../functions/core/email-address.js';
import { chooseReplyTo, chooseSender, formatAddressHeader } from '../../functions/core/sender-identity.js';

function addr(value: string): EmailAddress {
  const parsed = parseEmailAddress(value);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

const request = { address: addr('override@app.example'), name: 'Override Name' };
const template = { address: addr('template@app.example'), name: 'Template Name' };
const stackDefault = { address: addr('default@app.example'), name: 'Default Name' };

function sender(choices: Parameters<typeof chooseSender>[0]) {
  const result = chooseSender(choices);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

describe('chooseSender', () => {
  it('prefers the request override', () => {
    const chosen = sender({ request, template, stackDefault });
    expect(chosen.address.address).toBe('override@app.example');
    expect(chosen.name).toBe('Override Name');
    expect(chosen.source).toBe('request');
  });

  it('falls back to the template metadata', () => {
    const chosen = sender({ template, stackDefault });
    expect(chosen.fromHeader).toBe('"Template Name" <template@app.example>');
    expect(chosen.source).toBe('template');
  });

  it('falls back to the stack default', () => {
    const chosen = sender({ template: {}, stackDefault });
    expect(chosen.fromHeader).toBe('"Default Name" <default@app.example>');
    expect(chosen.source).toBe('default');
  });

  it('takes the display name by the same priority, independently of the address', () => {
    expect(sender({ request: { address: request.address }, template, stackDefault }).fromHeader).toBe(
      '"Template Name" <override@app.example>',
    );
    expect(sender({ template: { address: template.address }, stackDefault }).name).toBe('Default Name');
    expect(sender({ request: { address: request.address, name: '  ' }, stackDefault: { address: stackDefault.address } }).fromHeader).toBe(
      'override@app.example',
    );
  });

  it('fails with TMPL005 when nobody gives an address', () => {
    const result = chooseSender({ request: undefined, template: { name: 'Only a name' }, stackDefault: {} });
    expect(result).toMatchObject({ ok: false, code: 'TMPL005' });
  });
});

describe('formatAddressHeader', () => {
  it('leaves a bare address alone', () => {
    expect(formatAddressHeader('a@example.com')).toBe('a@example.com');
  });

  it('quotes an ASCII name, escaping quotes and backslashes', () => {
    expect(formatAddressHeader('a@example.com', 'Acme, Inc.')).toBe('"Acme, Inc." <a@example.com>');
    expect(formatAddressHeader('a@example.com', 'The "Best" \\ Co')).toBe('"The \\"Best\\" \\\\ Co" <a@example.com>');
  });

  it('encodes a non-ASCII name as RFC 2047 encoded-words', () => {
    const header = formatAddressHeader('a@example.com', 'Müller GmbH');
    expect(header).toBe(`=?UTF-8?B?${Buffer.from('Müller GmbH').toString('base64')}?= <a@example.com>`);
  });

  it('splits a long non-ASCII name into words of at most 75 characters on character boundaries', () => {
    const name = 'Ünïcødé 名前 👋 '.repeat(8).trim();
    const header = formatAddressHeader('a@example.com', name);
    const words = header.replace(/ <a@example\.com>$/, '').split(' ');
    expect(words.length).toBeGreaterThan(1);
    for (const word of words) {
      expect(word.length).toBeLessThanOrEqual(75);
      expect(word).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    }
    const decoded = words.map((w) => Buffer.from(w.slice(10, -2), 'base64').toString('utf8')).join('');
    expect(decoded).toBe(name);
  });
});

describe('chooseReplyTo', () => {
  it("prefers the request's replyTo and ignores the template's", () => {
    const result = chooseReplyTo(addr('req@example.com'), 'not even an address');
    expect(result).toEqual({ ok: true, value: addr('req@example.com') });
  });

  it("uses the template's rendered replyTo, IDN domain converted", () => {
    const result = chooseReplyTo(undefined, 'form.sender@bücher.de');
    expect(result.ok && result.value?.address).toBe('form.sender@xn--bcher-kva.de');
  });

  it('gives none when neither has one, or the template value rendered empty', () => {
    expect(chooseReplyTo(undefined, undefined)).toEqual({ ok: true, value: undefined });
    expect(chooseReplyTo(undefined, '  ')).toEqual({ ok: true, value: undefined });
  });

  it('refuses a rendered value with a line break (VAL005) or that is no address (VAL009)', () => {
    expect(chooseReplyTo(undefined, 'a@example.com\r\nBcc: x@y.com')).toMatchObject({ ok: false, code: 'VAL005' });
    expect(chooseReplyTo(undefined, 'Jane Doe')).toMatchObject({ ok: false, code: 'VAL009' });
  });
});
