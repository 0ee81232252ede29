/**
 * Where an accepted event goes, as the stack's EventBridge rules decide it:
 * - on the engine's bus, "Email Request" from any source except the engine's own → send queue;
 * - `source: "aws.ses"` (SES events; local mode accepts them on the engine's bus and on
 *   "default", so tests can inject them either way) → feedback queue;
 * - "Email Status Changed" from the engine → the status log (GET /events) and, with a
 *   webhook URL, the webhook queue; "Webhook Test" from the engine → the webhook queue only;
 * - anything else matches no rule and is dropped, as EventBridge drops it.
 */
import type { EventEnvelope } from './put-events.js';

export const ENGINE_SOURCE = 'sesmailengine';
export const EMAIL_REQUEST = 'Email Request';
export const STATUS_CHANGED = 'Email Status Changed';
export const WEBHOOK_TEST = 'Webhook Test';
export const SES_SOURCE = 'aws.ses';

export type Route = 'send' | 'feedback' | 'status' | 'webhook' | 'none';

export function routeEvent(event: Pick<EventEnvelope, 'source' | 'detail-type'>, busName: string, engineBusName: string): Route {
  const onEngineBus = busName === engineBusName;
  if (event.source === SES_SOURCE) return onEngineBus || busName === 'default' ? 'feedback' : 'none';
  if (!onEngineBus) return 'none';
  if (event.source === ENGINE_SOURCE) {
    if (event['detail-type'] === STATUS_CHANGED) return 'status';
    return event['detail-type'] === WEBHOOK_TEST ? 'webhook' : 'none';
  }
  return event['detail-type'] === EMAIL_REQUEST ? 'send' : 'none';
}
