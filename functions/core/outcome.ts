import type { ErrorCode } from './error-codes.js';

/** The result of a core decision that can fail with one of the engine's error codes. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };
