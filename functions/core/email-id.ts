import { hasControlChars } from './email-address.js';

/** Longest emailId, in UTF-16 code units (a request's idempotency key, the tracking table's key). */
export const EMAIL_ID_MAX_LENGTH = 128;

/** An emailId the engine accepts: 1-128 UTF-16 code units, no control characters, no lone surrogates. */
export function isValidEmailId(value: string): boolean {
  return value.length >= 1 && value.length <= EMAIL_ID_MAX_LENGTH && !hasControlChars(value);
}
