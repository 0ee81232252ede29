/** The Email Sender's fixed limits and names: timings, concurrency, pacing, message attributes. */

/** The CloudWatch namespace of the engine's own metrics (written as embedded-metric-format log lines). */
export const METRICS_NAMESPACE = 'SESMailEngine';

/** How long today's counters are reused for the bounce-rate brake. */
export const BRAKE_CACHE_MS = 5_000;
/**
 * From this receive of a message on, an error the handler did not foresee and that is not a
 * transient or environment fault (core/failure-kind.ts) is tracked `failed` ENG001 instead of
 * returning the message again; from it on, each return also leaves the message's last error
 * (lib/last-error-store.ts). Well below the send queue's 10 receives, so throttling and
 * transient faults still get their retries.
 */
export const UNFORESEEN_ERROR_RECEIVES = 3;
export const MAX_ENG_MESSAGE = 500;
/** Records of one batch in flight at once. */
export const RECORD_CONCURRENCY = 10;
/**
 * SES calls of one batch in flight at once. Fewer than the records, so that when SES starts
 * throttling, the records still waiting go back to the queue without another call.
 */
export const SES_CONCURRENCY = 5;
/** How long the account's sending quota (SES GetAccount) is reused. */
export const QUOTA_CACHE_MS = 5 * 60_000;
/** After a failed GetAccount, how long the engine paces by the stack's cap alone before asking again. */
export const QUOTA_RETRY_MS = 60_000;
/**
 * The longest a batch waits, in all, for room under the rate; what has not fitted by then is
 * deferred, well before the function's 30 s timeout.
 */
export const PACING_WAIT_BUDGET_MS = 10_000;
/** Spread of the waits for the next second, so that waiting containers do not all write at once. */
export const PACING_JITTER_MS = 100;
/**
 * No reservation in the last part of a second: the send it allows must reach SES within the
 * same second (after the claim), or SES would count it in the next one, on top of that
 * second's own reservations.
 */
export const PACING_SECOND_MARGIN_MS = 150;
/** After SES answers "Daily message quota exceeded.", this container holds sending this long before trying SES again. */
export const DAILY_QUOTA_HOLD_MS = 15 * 60_000;
/** The message attribute that keeps a deferred request's first SQS message id (its fallback emailId). */
export const ORIGINAL_MESSAGE_ID_ATTRIBUTE = 'sesmailengine-message-id';
