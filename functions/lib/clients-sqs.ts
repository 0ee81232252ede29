import { SQSClient } from '@aws-sdk/client-sqs';

// Handlers load this module on first use, so the SQS package stays out of their cold start.
export { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { CACHED_MIDDLEWARE, REQUEST_HANDLER } from './clients.js';

export function createSqsClient(): SQSClient {
  return new SQSClient({ requestHandler: REQUEST_HANDLER, ...CACHED_MIDDLEWARE });
}
