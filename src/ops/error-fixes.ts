import { ERROR_CODES, type ErrorCode } from '../../functions/core/error-codes.js';

/**
 * What to do about each engine error code, in one sentence or two: the "Fix" of
 * docs/TROUBLESHOOTING.md, shortened for the terminal (`diagnose` and `send` print it).
 * A test checks that every code of ERROR_CODES has one.
 */

export const ERROR_FIXES: Record<ErrorCode, string> = {
  VAL001: 'Publish DetailType "Email Request" with Detail = JSON.stringify(request), where request is an object (encoded once).',
  VAL002: 'Send both "to" and "templateName"; errorMessage names the missing one.',
  VAL003: 'Send one bare address such as user@example.com (no display name, no list); validate addresses where you collect them.',
  VAL004: 'Use the template\'s folder name exactly, e.g. "order-confirmation" (letters, digits, "-" and "_").',
  VAL005: 'Strip line breaks and control characters from values used in headers (names, subjects, replyTo).',
  VAL006: 'Send each field with its documented type (templateData and metadata are objects, unsubscribe a boolean); see docs/INTEGRATION.md.',
  VAL007: 'Send identifiers rather than documents: templateData at most 128 KiB, metadata 8 KiB, 16 levels deep, subject 998 characters.',
  VAL008: 'Use a short printable emailId (1-128 characters), such as order-1234-confirmation.',
  VAL009: 'Send a bare address in senderOverride.email and replyTo; validate template replyTo values (e.g. formSenderEmail) in your application.',
  VAL010: 'Send sendAt as an ISO-8601 date-time with a zone, e.g. new Date(t).toISOString() (2026-03-01T09:30:00.000Z) or 2026-03-01T10:30:00+01:00.',
  VAL011: 'Schedule at most 365 days ahead; keep later sends in your application and publish them nearer the time.',
  VAL012: 'Cut text at character boundaries (Array.from(text).slice(0, n).join(""), or text.toWellFormed()) so no half of an emoji is left; errorMessage names the path.',
  ATT001: 'Send attachments as an array of at most 10 objects, each with filename, contentType and exactly one of s3Key or content.',
  ATT002: 'Give the key of an object under attachments/ in the template bucket, e.g. invoices/2026/42.pdf (no leading "/", no "..", no backslashes, no broken Unicode).',
  ATT003: 'Use a plain file name such as invoice-42.pdf: no quotes, slashes, line breaks or direction overrides, at most 255 characters.',
  ATT004: 'Use a content type from the allow-list in docs/SENDING.md and a filename extension that matches it (application/pdf -> .pdf).',
  ATT005: 'Send strict base64 (no line breaks) and keep inline files under 160 KB in all; upload larger files under attachments/ and use s3Key.',
  ATT006: 'Upload the file to the template bucket under attachments/ before publishing (aws s3 cp file s3://<bucket>/attachments/...), then publish again with a new emailId.',
  ATT007: 'Send fewer or smaller files (per-email cap ATTACHMENTS_MAX_BYTES, SES limit 40 MB encoded), or send a download link instead.',
  ATT008: 'Publish a new request with the file again; for files that must survive a soft-bounce retry, use s3Key instead of inline content.',
  SUP001: 'Usually none: stop mailing the address. Check why with: sesmailengine suppression check <address>.',
  BRK001: 'Remove the addresses that bounced from your lists and wait for the next UTC day (see docs/BOUNCE_RATE_PROTECTION.md); check with: sesmailengine stats.',
  TMPL001: 'Upload the template: sesmailengine templates push ./<name> (or sesmailengine seed-templates for the starter set). Names are case-sensitive.',
  TMPL002: 'Correct metadata.json (check it with: sesmailengine templates validate ./<name>), then push it.',
  TMPL003: 'Send the missing variables in templateData, or remove them from requiredVariables in metadata.json if they are optional.',
  TMPL004: 'errorMessage gives the file and line; guard optional values with {% if x %} or | default("..."); check with: sesmailengine templates preview <name> --data ...',
  TMPL005: 'Set the stack default (sesmailengine install --yes --sender you@example.com) or senderEmail in the template\'s metadata.json.',
  TMPL006: 'Pass only http(s), mailto: or tel: URLs in the templateData values used as links (check them before publishing); fix the template if the URL is its own.',
  SES001: 'Read errorMessage (SES\'s own text) and adjust the content.',
  SES002: 'Verify the sender identity in SES in the stack\'s region; in the SES sandbox verify the recipient too, or request production access.',
  SES003: 'SES paused sending: open the SES console (Reputation metrics, Account dashboard), fix the cause and ask AWS to resume.',
  SES004: 'errorMessage holds SES\'s explanation; correct the request or the template.',
  UNS001: 'Re-run sesmailengine install to restore the unsubscribe configuration, or send "unsubscribe": false for a one-off transactional use.',
  SCH001: 'Nothing: the send was cancelled on purpose. To send it after all, publish it again with a new emailId.',
  SCH002: 'Read errorMessage; check the stack is up to date (sesmailengine install) so the sender has its schedule group and role, then publish again with a new emailId.',
  ENG001: "Read errorMessage and the Email Sender's logs for this emailId; the request's data meets a case the engine does not handle. Report it with the request, then publish again (new emailId) once fixed or with the data changed.",
  DUP001: 'Publish again with a new emailId if the mail is still wanted; InterruptedSendPolicy=resend lets the engine resend such claims itself.',
  FBK001: 'Remove the offending content (attachments or links) from the template or data.',
  FBK002: 'Read errorMessage; if it repeats, report it with the SES event.',
  FBK003: 'The address is not suppressed: try again later with a new emailId, or reach the recipient another way.',
  FBK004: 'Nothing unless it repeats: then check what else publishes to the feedback queue.',
  WHK001: 'Nothing unless it repeats: then check what else sends to the webhook queue (only the stack\'s webhook rule should).',
  WHK002: 'Make the endpoint answer 2xx quickly once the signature checks out (do the work afterwards); see docs/WEBHOOKS.md.',
  WHK003: 'Check that the endpoint is reachable from the internet over HTTPS and answers within 10 seconds.',
  WHK004: 'Send test events with sesmailengine webhook test (it signs them); otherwise find who puts source sesmailengine on the bus (CloudTrail PutEvents records the caller).',
};

/** The meaning of a code (from the engine's catalogue), or undefined for an unknown code. */
export function meaningOf(code: string | undefined): string | undefined {
  return code && Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code as ErrorCode] : undefined;
}

/** The fix for a code, or a pointer to the troubleshooting guide for an unknown one. */
export function fixFor(code: string | undefined): string {
  if (code && Object.hasOwn(ERROR_FIXES, code)) return ERROR_FIXES[code as ErrorCode];
  return `Look the code up in docs/TROUBLESHOOTING.md${code ? ` (${code})` : ''}.`;
}
