import { SQSClient } from '@aws-sdk/client-sqs';
import { CACHED_MIDDLEWARE, REQUEST_HANDLER } from './clients.js';

export function createSqsClient(): SQSClient {
  return new SQSClient({ requestHandler: REQUEST_HANDLER, ...CACHED_MIDDLEWARE });
}
