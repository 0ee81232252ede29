/**
 * Local mode's EventBridge: accepts PutEvents requests for the engine's bus and "default",
 * and delivers each accepted event where the stack's rules send it (event-router.ts).
 */
import {
  checkEntry,
  localBuses,
  putEventsResponse,
  validatePutEventsRequest,
  DEFAULT_MAX_REQUEST_BYTES,
  type BusDirectory,
  type EventEnvelope,
  type PutEventsResponse,
} from './put-events.js';
import { routeEvent, type Route } from './event-router.js';
import type { LocalQueue } from './local-queue.js';
import type { StatusLog } from './status-log.js';

export interface LocalBusOptions {
  engineBusName: string;
  account: string;
  region: string;
  sendQueue: LocalQueue;
  feedbackQueue: LocalQueue;
  statusLog: StatusLog;
  /** With a webhook URL: status changes and test events go here too (the stack's webhook rule). */
  webhookQueue?: LocalQueue;
  maxRequestBytes?: number;
  now?: () => Date;
}

export class LocalEventBus {
  readonly buses: BusDirectory;
  private readonly counts: Record<Route, number> = { send: 0, feedback: 0, status: 0, webhook: 0, none: 0 };

  constructor(private readonly options: LocalBusOptions) {
    this.buses = localBuses(options.engineBusName, options.account, options.region);
  }

  /**
   * Handles a PutEvents request body; throws AwsJsonError for request-level errors. Every
   * entry is checked before any is routed: a request that fails (and that an SDK retries)
   * has routed nothing, so no event goes out twice.
   */
  putEvents(body: unknown): PutEventsResponse {
    const entries = validatePutEventsRequest(body, this.options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
    const results = entries.map((entry) => checkEntry(entry, this.buses, { now: this.options.now }));
    for (const result of results) if (result.ok) this.deliver(result.event, result.busName);
    return putEventsResponse(results);
  }

  /** Routes one event as the stack's rules would, optionally after a delay. */
  deliver(event: EventEnvelope, busName: string, delayMs = 0): Route {
    const route = routeEvent(event, busName, this.options.engineBusName);
    this.counts[route] += 1;
    switch (route) {
      case 'send':
        this.options.sendQueue.send(JSON.stringify(event), { delayMs });
        break;
      case 'feedback':
        this.options.feedbackQueue.send(JSON.stringify(event), { delayMs });
        break;
      case 'status':
        this.options.statusLog.add(event);
        this.options.webhookQueue?.send(JSON.stringify(event), { delayMs });
        break;
      case 'webhook':
        this.options.webhookQueue?.send(JSON.stringify(event), { delayMs });
        break;
      default:
        break;
    }
    return route;
  }

  routed(): Readonly<Record<Route, number>> {
    return { ...this.counts };
  }
}
