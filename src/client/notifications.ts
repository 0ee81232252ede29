/** The `detail` of "Email Status Changed" events, as the Feedback Processor publishes it. */
export type { EmailStatusChangedDetail } from '../../functions/core/types.js';
