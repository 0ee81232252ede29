/**
 * The engine's data shapes: what publishers send, what the tracking table holds,
 * and what the suppression list holds. Plain data only; no AWS types here.
 */

export const EMAIL_STATUSES = [
  'sent',
  'failed',
  'soft_bounced',
  'complained',
  'bounced',
  'delivered',
  'opened',
] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/**
 * `sending` marks a record whose request has been claimed by a sender but whose
 * SES outcome is not yet written. It is transient: it becomes `sent` or `failed`.
 * `scheduled` marks a request held until its `sendAt` (`scheduledFor`); when it comes back
 * due, the sender claims it (`sending`), or it is cancelled (`failed` SCH001).
 */
export type RecordStatus = EmailStatus | 'sending' | 'scheduled';

/** The `detail` of an "Email Request" event, as a publisher sends it (unvalidated). */
export interface EmailRequest {
  to: string;
  templateName: string;
  templateData?: Record<string, unknown>;
  emailId?: string;
  subject?: string;
  senderOverride?: { email: string; name?: string };
  replyTo?: string;
  metadata?: Record<string, unknown>;
  /** Adds List-Unsubscribe headers; defaults to on for marketing templates. */
  unsubscribe?: boolean;
  /** ISO-8601 date-time with a time zone, at most a year ahead: send then instead of now. */
  sendAt?: string;
  /** Files to attach (docs/SENDING.md, "Attachments"). */
  attachments?: EmailAttachment[];
}

/** One attachment of a request: a file in the template bucket (`s3Key`) or small inline `content`. */
export interface EmailAttachment {
  /** Key under `attachments/` in the template bucket (with or without that prefix). */
  s3Key?: string;
  /** The file itself, base64 (standard alphabet, padded). Inline files are limited to 160 KB in all. */
  content?: string;
  filename: string;
  contentType: string;
  /** Set by the engine on stored requests: file size in bytes of an inline attachment. */
  size?: number;
  /** Set by the engine on stored requests: inline content was not kept (a retry cannot re-send it). */
  contentOmitted?: boolean;
}

/** The record kept for every consumed request, keyed by `emailId`. */
export interface TrackingRecord {
  emailId: string;
  originalEmailId: string;
  retryAttempt: number;
  toEmail: string;
  templateName: string;
  subject?: string;
  senderEmail?: string;
  status: RecordStatus;
  /** Numeric rank of `status` (see status-priority.ts); conditional updates compare it. */
  statusRank: number;
  errorCode?: string;
  errorMessage?: string;
  sesMessageId?: string;
  /** The request's sendAt (ISO-8601, UTC), for a scheduled send. */
  scheduledFor?: string;
  originalSource: string;
  metadata?: Record<string, unknown>;
  /** ISO-8601 time the record was created. */
  timestamp: string;
  /** YYYY-MM-DD (UTC) of `timestamp`. */
  datePartition: string;
  sentAt?: string;
  deliveredAt?: string;
  openedAt?: string;
  openCount?: number;
  clickCount?: number;
  clickedLinks?: string[];
  bounceType?: string;
  bounceSubType?: string;
  bounceReason?: string;
  complaintFeedbackType?: string;
  complainedAt?: string;
  /** Epoch seconds; DynamoDB TTL removes the record after it. */
  expiresAt: number;
  /** SendEmail attempts claimed for this record: 1, or more after an interrupted attempt was resent. */
  sendAttempts?: number;
  /** ISO-8601 time of the latest attempt's claim, when it is not `timestamp` (a resend). */
  lastAttemptAt?: string;
  /** What happened to the record's sending beyond its status, oldest first (a resend after an interrupted attempt). */
  sendHistory?: SendHistoryEntry[];
}

export interface SendHistoryEntry {
  /** ISO-8601. */
  at: string;
  /** The attempt this entry started. */
  attempt: number;
  note: string;
}

export type SuppressionReason =
  | 'hard-bounce'
  | 'spam-complaint'
  | 'unsubscribed'
  | 'consecutive-soft-bounces'
  | 'manual';

export type SuppressionType = 'bounce' | 'complaint' | 'unsubscribe' | 'manual';

export interface SuppressionEntry {
  /** Lower-cased address. */
  email: string;
  reason: SuppressionReason;
  suppressionType: SuppressionType;
  /** ISO-8601 time the address was added. */
  createdAt: string;
  /**
   * The same time under the original engine's name: the range key of
   * suppression-type-date-index. The store writes it on every entry; items read back
   * always have both (see suppressionFromItem).
   */
  addedToSuppressionDate?: string;
  /** emailId of the message whose feedback caused the suppression, when known. */
  sourceEmailId?: string;
  details?: string;
}

/**
 * The `detail` of the "Email Status Changed" events the engine publishes to its bus
 * (`source: "sesmailengine"`) when feedback changes a record (docs/FEEDBACK.md).
 */
export interface EmailStatusChangedDetail {
  emailId: string;
  /** The outcome this event reports: the new status, or `complained`/`bounced` recorded on a higher status. */
  status: EmailStatus;
  /** False when the record kept a higher status (a complaint or bounce after a delivery). */
  statusChanged: boolean;
  /** The record's status after the update. */
  recordStatus: RecordStatus;
  previousStatus: RecordStatus;
  toEmail: string;
  /** When the SES event happened (ISO-8601). */
  timestamp: string;
  originalSource: string;
  templateName: string;
  subject?: string;
  sesMessageId?: string;
  metadata?: Record<string, unknown>;
  originalEmailId?: string;
  retryAttempt?: number;
  bounceType?: string;
  bounceSubType?: string;
  bounceReason?: string;
  complaintFeedbackType?: string;
  errorCode?: string;
  errorMessage?: string;
  /**
   * The engine's signature over this detail (core/event-authentication.ts), by which
   * Webhook Delivery tells the engine's events from forged ones. Not sent to webhook receivers.
   */
  engineSignature?: string;
}
