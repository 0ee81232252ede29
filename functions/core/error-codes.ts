/**
 * Every error code the engine writes into tracking records or prints in the CLI.
 * docs/TROUBLESHOOTING.md documents each one (a test keeps the two in step).
 */
export const ERROR_CODES = {
  // Request validation (Email Sender, step 1)
  VAL001: 'The event is not a valid "Email Request": its body is not JSON or has no detail object.',
  VAL002: 'A required field is missing (to, templateName).',
  VAL003: 'The recipient address is not a valid e-mail address.',
  VAL004: 'templateName is not a safe identifier (letters, digits, "-" and "_", 1-64 characters).',
  VAL005: 'A header value (to, subject, sender, replyTo) contains a line break, a control character or a lone surrogate (broken Unicode).',
  VAL006: 'A field has the wrong type (for example templateData is not an object).',
  VAL007: 'The request is too large (a field or templateData exceeds its size limit).',
  VAL008: 'emailId is not valid (1-128 characters, no control characters).',
  VAL009: 'The sender override or reply-to address is not a valid e-mail address.',
  VAL010: 'sendAt is not an ISO-8601 date-time with a time zone (for example 2026-03-01T09:30:00Z).',
  VAL011: 'sendAt is more than 365 days ahead.',
  VAL012: 'A key or string value in templateData or metadata is broken Unicode: it contains a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF escape).',
  // Attachments (step 1 for the request's fields, step 6 for the files)
  ATT001: 'attachments is malformed: not an array, more than 10 files, or an entry without exactly one of s3Key and content.',
  ATT002: 'An attachment s3Key is not a safe key under attachments/ (absolute, "..", backslash, control characters or a lone surrogate).',
  ATT003: 'An attachment filename is missing or unsafe (line breaks, quotes, path separators, direction overrides, a lone surrogate, over 255 characters).',
  ATT004: 'An attachment contentType is not on the allow-list, or the filename extension does not match it.',
  ATT005: 'An inline attachment is not valid base64, is empty, or inline attachments exceed 160 KB; use s3Key for larger files.',
  ATT006: 'An attachment object does not exist in the template bucket under attachments/.',
  ATT007: 'The attachments are too large: over the per-email cap (ATTACHMENTS_MAX_BYTES) or over SES\'s 40 MB message limit once encoded.',
  ATT008: 'A soft-bounce retry cannot re-send an inline attachment (inline content is not kept on tracking records).',
  // Reputation protection (steps 2-3)
  SUP001: 'The recipient is on the suppression list.',
  BRK001: "Today's bounce rate is over BounceRateThreshold, or, before BounceRateMinimumSends sends, the hard bounces of today's sends reached BounceBrakeMaxHardBounces; sending is paused until the next UTC day.",
  // Templates (step 4)
  TMPL001: 'The template does not exist in the template bucket.',
  TMPL002: "The template's metadata.json is missing or invalid.",
  TMPL003: 'templateData lacks variables the template requires (requiredVariables).',
  TMPL004: 'The template failed to render (syntax error or a bad value).',
  TMPL005: 'No sender address: neither the request, the template nor the stack default gives one.',
  TMPL006: 'A link or image in the rendered HTML uses a javascript:, vbscript: or data: URL (usually a templateData value used as a whole URL).',
  // SES (step 6)
  SES001: 'SES rejected the message permanently (MessageRejected).',
  SES002: 'The sender identity is not verified in SES, or the account is in the sandbox and the recipient is not verified.',
  SES003: 'Sending is paused for the SES account or the configuration set.',
  SES004: 'SES refused the request as invalid.',
  // Unsubscribe links (step 6, marketing mail and requests with unsubscribe: true)
  UNS001: 'The email needs an unsubscribe link but UNSUBSCRIBE_URL or the unsubscribe secret is not configured.',
  // Scheduled sends (sendAt)
  SCH001: 'The scheduled send was cancelled (sesmailengine schedule cancel) before it was due; it is never sent.',
  SCH002: 'The scheduled send could not be held until sendAt (EventBridge Scheduler refused the schedule, or scheduling is not configured).',
  // Idempotency
  DUP001: 'A previous attempt for this emailId was interrupted, SES reported no Send event for it, and InterruptedSendPolicy is "fail": it is not sent again.',
  // Errors nobody foresaw (Email Sender)
  ENG001: 'An error the Email Sender does not handle kept failing this request (3 receives, not a throttling, transient or permission fault); errorMessage holds it.',
  // Feedback (Feedback Processor)
  FBK001: 'SES rejected the message after accepting it (Reject event), usually because it contained a virus.',
  FBK002: 'SES could not render the message (Rendering Failure event).',
  FBK003: 'The soft-bounce retry bounced softly again (retry exhausted); the recipient is not suppressed.',
  FBK004: 'A feedback queue message is not a readable SES event (not JSON, not from aws.ses, or missing required fields); it is logged and dropped.',
  // Webhooks (Webhook Delivery)
  WHK001: 'A webhook queue message is not a deliverable event (not JSON, not from sesmailengine, or not an "Email Status Changed" or "Webhook Test" event); it is logged and dropped.',
  WHK002: 'The webhook endpoint answered with a status other than 2xx (redirects are not followed); the delivery is tried again later.',
  WHK003: 'The webhook endpoint could not be reached or did not answer within 10 seconds; the delivery is tried again later.',
  WHK004: 'A webhook queue event was not published by the engine (its detail has no valid engineSignature: someone else put source "sesmailengine" on the bus); it is logged and dropped.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error the engine understands: it carries a code and, for the CLI, a fix. */
export class EngineError extends Error {
  override readonly name: string = 'EngineError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
