import { SQSClient } from '@aws-sdk/client-sqs';
import { REQUEST_HANDLER } from './clients.js';

export function createSqsClient(): SQSClient {
  return new SQSClient({ requestHandler: REQUEST_HANDLER });
}
