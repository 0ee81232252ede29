import { SESv2Client } from '@aws-sdk/client-sesv2';
import { CACHED_MIDDLEWARE, REQUEST_HANDLER } from './clients.js';

/**
 * One attempt per SendEmail: the SDK's own retries would send again after a timeout or a 5xx,
 * when SES may already have accepted the first copy. The Email Sender decides instead
 * (core/ses-errors.ts): refusals go back to the queue, ambiguous failures keep their claim.
 */
export function createSesClient(): SESv2Client {
  return new SESv2Client({ requestHandler: REQUEST_HANDLER, maxAttempts: 1, ...CACHED_MIDDLEWARE });
}
