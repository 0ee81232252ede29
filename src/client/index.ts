/**
 * The package's library entry: `import { EmailClient } from 'sesmailengine'`.
 */
export {
  EmailClient,
  entrySize,
  inlineAttachmentBytes,
  planCalls,
  DETAIL_TYPE,
  MAX_ENTRIES_PER_CALL,
  DEFAULT_MAX_REQUEST_BYTES,
  type EmailClientOptions,
  type SendOutcome,
} from './email-client.js';
export type {
  EmailRequest,
  EmailAttachment,
  EmailStatus,
  TrackingRecord,
  SuppressionEntry,
  SuppressionReason,
  SuppressionType,
} from '../../functions/core/types.js';
export type { EmailStatusChangedDetail } from './notifications.js';
/** Verifying the engine's signed webhooks on the receiving side (docs/WEBHOOKS.md). */
export {
  verifyWebhook,
  WebhookVerificationError,
  WEBHOOK_HEADERS,
  DEFAULT_TOLERANCE_SECONDS,
  type VerifyFailure,
  type VerifyOptions,
} from '../../functions/core/webhook-signature.js';
export type { WebhookPayload } from '../../functions/core/webhook-payload.js';
