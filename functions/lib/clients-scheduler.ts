import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { CACHED_MIDDLEWARE, REQUEST_HANDLER } from './clients.js';

export function createSchedulerClient(): SchedulerClient {
  return new SchedulerClient({ requestHandler: REQUEST_HANDLER, ...CACHED_MIDDLEWARE });
}
