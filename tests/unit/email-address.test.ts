import { describe, expect, it } from '@jest/globals';
import { hasControlChars, parseEmailAddress, suppressionKeys } from '../../functions/core/email-address.js';

function accepted(input: string) {
  const result = parseEmailAddress(input);
  if (!result.ok) throw new Error(`expected "${input}" to be accepted, got: ${result.reason}`);
  return result.value;
}

function rejection(input: string): string {
  const result = parseEmailAddress(input);
  if (result.ok) throw new Error(`expected "${input}" to be rejected`);
  return result.reason;
}

describe('parseEmailAddress accepts what real users send', () => {
  it.each([
    'user@example.com',
    'first.last@example.com',
    'user+tag@example.com',
    'user+tag+more@sub.domain.example.co.uk',
    "o'brien@example.ie",
    'x@a.io',
    '1234@example.com',
    'user_name-x@my-domain.example',
    "a!#$%&'*+/=?^_`{|}~-b@example.com",
    'user@xn--bcher-kva.de',
  ])('%s', (input) => {
    expect(accepted(input).address).toBe(input);
  });

  it('trims surrounding spaces', () => {
    expect(accepted('  user@example.com ').address).toBe('user@example.com');
  });

  it('lower-cases the domain but keeps the local part for sending', () => {
    const address = accepted('John.Doe@Example.COM');
    expect(address.address).toBe('John.Doe@example.com');
    expect(address.normalized).toBe('john.doe@example.com');
    expect(address.local).toBe('John.Doe');
    expect(address.domain).toBe('example.com');
  });

  it('converts an internationalised domain to punycode', () => {
    expect(accepted('kunde@bücher.de').address).toBe('kunde@xn--bcher-kva.de');
    expect(accepted('user@例え.テスト').domain).toBe('xn--r8jz45g.xn--zckzah');
    expect(accepted('user@münchen.DE').normalized).toBe('user@xn--mnchen-3ya.de');
  });

  it('maps full-width domain characters the way browsers do', () => {
    expect(accepted('user@ＥＸＡＭＰＬＥ.com').domain).toBe('example.com');
  });

  it('accepts a 64-character local part and a 254-character address', () => {
    const local = 'a'.repeat(64);
    const domain = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    expect(`${local}@${domain}`.length).toBe(254);
    expect(accepted(`${local}@${domain}`).address.length).toBe(254);
  });
});

describe('parseEmailAddress refuses cleanly', () => {
  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['userexample.com', /no "@"/],
    ['@example.com', /nothing before/],
    ['user@', /nothing after/],
    ['a@b@example.com', /more than one "@"/],
    ['"john doe"@example.com', /contains a space/],
    ['"john"@example.com', /quoted local part/],
    ['John <john@example.com>', /display name|"<"/],
    ['<john@example.com>', /"<"/],
    ['a@example.com, b@example.com', /space|","/],
    ['a@example.com,b@example.com', /","/],
    ['user(comment)@example.com', /"\("/],
    ['.user@example.com', /local part/],
    ['user.@example.com', /local part/],
    ['us..er@example.com', /local part/],
    ['jörg@example.com', /non-ASCII.*SMTPUTF8/],
    ['用户@例子.广告', /non-ASCII/],
    [`${'a'.repeat(65)}@example.com`, /local part longer than 64/],
    ['user@localhost', /without a dot/],
    ['user@[192.168.0.1]', /IP-literal/],
    ['user@192.168.0.1', /top-level domain/],
    ['user@example.123', /not a valid domain|top-level domain/],
    ['user@-example.com', /not a valid domain/],
    ['user@example-.com', /not a valid domain/],
    ['user@exa_mple.com', /not a valid domain/],
    ['user@exa*mple.com', /not a valid domain/],
    ['user@example..com', /not a valid domain/],
    ['user@.example.com', /not a valid domain/],
    ['user@example.com.', /not a valid domain/],
    ['user@xn--zz.com', /not a valid domain/],
    ['user@exa%mple.com', /not a valid domain/],
    ['user@example.c', /top-level domain/],
    [`user@${'a'.repeat(64)}.com`, /not a valid domain/],
    [`${'a'.repeat(60)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`, /longer than 254/],
  ])('%j (%s)', (input, reason) => {
    expect(rejection(input)).toMatch(reason);
  });
});

describe('hasControlChars', () => {
  it.each(['a\rb', 'a\nb', 'a\r\nBcc: x@y.com', 'a\u0000b', 'a\tb', 'a\u007fb', 'a\u0085b', 'a\u2028b'])('flags %j', (value) => {
    expect(hasControlChars(value)).toBe(true);
  });

  it.each(['plain', 'Grüße 👋', 'quote " and \\ backslash', ''])('lets %j through', (value) => {
    expect(hasControlChars(value)).toBe(false);
  });
});

describe('suppressionKeys', () => {
  it('is the lower-cased address for an ASCII domain', () => {
    expect(suppressionKeys(accepted('Ann.Lee@Example.com'))).toEqual(['ann.lee@example.com']);
  });

  it('adds the Unicode form for an internationalised domain', () => {
    expect(suppressionKeys(accepted('Kunde@Bücher.DE'))).toEqual(['kunde@xn--bcher-kva.de', 'kunde@bücher.de']);
    expect(suppressionKeys(accepted('kunde@xn--bcher-kva.de'))).toEqual(['kunde@xn--bcher-kva.de', 'kunde@bücher.de']);
  });
});
