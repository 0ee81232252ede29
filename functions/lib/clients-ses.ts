import { SESv2Client } from '@aws-sdk/client-sesv2';
import { CACHED_MIDDLEWARE, REQUEST_HANDLER } from './clients.js';

export function createSesClient(): SESv2Client {
  return new SESv2Client({ requestHandler: REQUEST_HANDLER, ...CACHED_MIDDLEWARE });
}
