import type { EmailStatus } from '../../functions/core/types.js';

/**
 * The `detail` of the "Email Status Changed" events the engine publishes to its bus
 * (`source: "sesmailengine"`) whenever a tracking record's status changes.
 */
export interface EmailStatusChangedDetail {
  emailId: string;
  status: EmailStatus;
  toEmail: string;
  timestamp: string;
  originalSource: string;
  templateName: string;
  subject?: string;
  sesMessageId?: string;
  metadata?: Record<string, unknown>;
  bounceType?: string;
  bounceSubType?: string;
  bounceReason?: string;
  complaintFeedbackType?: string;
}
