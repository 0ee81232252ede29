import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CACHED_MIDDLEWARE, REQUEST_HANDLER } from './clients.js';

export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({ requestHandler: REQUEST_HANDLER, ...CACHED_MIDDLEWARE });
}
