/**
 * Broken UTF-16: a surrogate without its pair. JSON's \uD800 escapes let a publisher send
 * one, but it is not a character: it has no UTF-8 encoding (mail bodies, headers, S3 keys
 * and DynamoDB strings are UTF-8), and encodeURIComponent throws URIError on it.
 */

export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

export function hasLoneSurrogate(value: string): boolean {
  return LONE_SURROGATE.test(value);
}

/** `value` with each lone surrogate replaced by U+FFFD, as String.prototype.toWellFormed does. */
export function wellFormed(value: string): string {
  return value.replace(LONE_SURROGATES, '\ufffd');
}
