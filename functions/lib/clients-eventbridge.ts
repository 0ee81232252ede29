import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { REQUEST_HANDLER } from './clients.js';

export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({ requestHandler: REQUEST_HANDLER });
}
