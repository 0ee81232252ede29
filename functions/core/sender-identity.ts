import { hasControlChars, parseEmailAddress, type EmailAddress } from './email-address.js';
import type { Outcome } from './outcome.js';

/**
 * Step 5 of sending: who the mail is from and where replies go.
 *
 * From: the request's senderOverride, else the template's metadata, else the stack default.
 * The display name is chosen with the same priority, independently (an override giving only
 * an address keeps the template's or the stack's name).
 * Reply-To: the request's replyTo, else the template's (rendered) replyTo, else none.
 */

export interface SenderCandidate {
  address?: EmailAddress;
  name?: string;
}

export interface SenderChoices {
  request?: SenderCandidate;
  template?: SenderCandidate;
  stackDefault?: SenderCandidate;
}

export interface Sender {
  address: EmailAddress;
  name?: string;
  /** The FromEmailAddress value for SES: `"Name" <address>`, RFC 2047 when non-ASCII. */
  fromHeader: string;
  source: 'request' | 'template' | 'default';
}

const LEVELS = ['request', 'template', 'stackDefault'] as const;

export function chooseSender(choices: SenderChoices): Outcome<Sender> {
  const level = LEVELS.find((key) => choices[key]?.address !== undefined);
  if (level === undefined) {
    return {
      ok: false,
      code: 'TMPL005',
      message: 'No sender address: set senderOverride in the request, senderEmail in the template metadata, or the stack\'s DefaultSenderEmail.',
    };
  }
  const address = choices[level]!.address!;
  const name = LEVELS.map((key) => choices[key]?.name?.trim()).find((candidate) => candidate !== undefined && candidate !== '');
  return {
    ok: true,
    value: {
      address,
      ...(name !== undefined ? { name } : {}),
      fromHeader: formatAddressHeader(address.address, name),
      source: level === 'stackDefault' ? 'default' : level,
    },
  };
}

/**
 * Reply-To: the request's address wins; otherwise the template's rendered value, which may
 * come from template variables and so is checked here like request input.
 */
export function chooseReplyTo(requestReplyTo: EmailAddress | undefined, renderedTemplateReplyTo: string | undefined): Outcome<EmailAddress | undefined> {
  if (requestReplyTo) return { ok: true, value: requestReplyTo };
  if (renderedTemplateReplyTo === undefined || renderedTemplateReplyTo.trim() === '') return { ok: true, value: undefined };
  if (hasControlChars(renderedTemplateReplyTo)) {
    return { ok: false, code: 'VAL005', message: 'The template\'s replyTo rendered to a value with a line break or control character.' };
  }
  const parsed = parseEmailAddress(renderedTemplateReplyTo);
  if (!parsed.ok) {
    return {
      ok: false,
      code: 'VAL009',
      message: `The template's replyTo rendered to "${renderedTemplateReplyTo.slice(0, 100)}", which ${parsed.reason}.`,
    };
  }
  return { ok: true, value: parsed.value };
}

// Bytes of UTF-8 per RFC 2047 encoded word: 45 bytes -> 60 base64 characters -> a 72-character word (limit 75).
const ENCODED_WORD_BYTES = 45;

function encodedWords(text: string): string {
  const words: string[] = [];
  let chunk = '';
  for (const char of text) {
    if (Buffer.byteLength(chunk + char, 'utf8') > ENCODED_WORD_BYTES) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk !== '') words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word, 'utf8').toString('base64')}?=`).join(' ');
}

/** `"Name" <address>` (quotes and backslashes escaped), RFC 2047 encoded-words for non-ASCII names. */
export function formatAddressHeader(address: string, name?: string): string {
  const display = name?.trim();
  if (!display) return address;
  if (/[^\x20-\x7e]/.test(display)) return `${encodedWords(display)} <${address}>`;
  return `"${display.replace(/[\\"]/g, '\\$&')}" <${address}>`;
}
