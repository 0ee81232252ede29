/**
 * Local mode's handler workers: threads that each run an Email Sender and a Feedback
 * Processor (handler-worker.ts), as Lambda runs batches in several containers at once. The
 * queues, the bus and the stores stay in the main process; a batch goes to the worker with
 * the fewest batches in hand, and the workers' calls to the main process's services are
 * answered here. The handlers' SDK work (building, serializing and parsing every call) is
 * most of local mode's CPU, so spreading it over threads is what lets a burst use every core.
 *
 * A worker that dies fails its batches (they come back after the visibility timeout, as
 * after a Lambda crash) and is replaced.
 */
import { Worker } from 'node:worker_threads';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { HttpRequest } from '@smithy/core/transport';
import type { InProcessRoute } from './in-process-handler.js';
import type { LocalService } from './local-clients.js';
import type { SqsHandler } from './local-queue.js';
import type { MainToWorker, WorkerHandlerName, WorkerSetup, WorkerToMain } from './handler-worker.js';

export interface HandlerWorkersOptions {
  count: number;
  setup: WorkerSetup;
  /** The main process's answer to each forwarded service. */
  routes: Partial<Record<LocalService, InProcessRoute>>;
  /** The handlers' log entries, with the handler that wrote each (asked for by `setup.logs`). */
  log?: (entry: Record<string, unknown>, handler: WorkerHandlerName) => void;
  /** Progress lines (a worker that died). */
  report?: (line: string) => void;
  /** The worker's script (tests give a stand-in that speaks the same protocol). */
  script?: URL;
}

interface Invocation {
  resolve(response: SQSBatchResponse | undefined): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Invocation>;
}

const START_TIMEOUT_MS = 30_000;
/**
 * A worker allocates fast and briefly (every SDK call builds and drops its request and
 * response objects): a young generation larger than V8's default means fewer minor
 * collections. Measured in 7 alternating burst pairs: about 4 % less CPU per email, 6 of 7
 * pairs faster.
 */
const YOUNG_GENERATION_MB = 48;

export class HandlerWorkers {
  private readonly slots: Slot[] = [];
  private nextInvocation = 0;
  private closing = false;

  private constructor(private readonly options: HandlerWorkersOptions) {}

  /** Starts `count` workers and waits until each has built its handlers. */
  static async start(options: HandlerWorkersOptions): Promise<HandlerWorkers> {
    const pool = new HandlerWorkers(options);
    try {
      await Promise.all(Array.from({ length: options.count }, () => pool.spawn()));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** An SQS handler that runs each batch in a worker. */
  handler(name: WorkerHandlerName): SqsHandler {
    return (event) => this.invoke(name, event);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private invoke(name: WorkerHandlerName, event: SQSEvent): Promise<SQSBatchResponse | undefined> {
    const slot = this.slots.reduce<Slot | undefined>((best, s) => (best === undefined || s.pending.size < best.pending.size ? s : best), undefined);
    if (!slot) return Promise.reject(new Error('Local mode has no handler worker running.'));
    const id = (this.nextInvocation += 1);
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      try {
        slot.worker.postMessage({ type: 'invoke', id, handler: name, event } satisfies MainToWorker);
      } catch (error) {
        slot.pending.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private spawn(): Promise<void> {
    const worker = new Worker(this.options.script ?? new URL('./handler-worker.js', import.meta.url), {
      workerData: this.options.setup,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const slot: Slot = { worker, pending: new Map() };
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      // Settled once: ready, failed or timed out. A worker that reports ready after its start
      // was given up on, or after the pool closed, is stopped instead of joining the pool.
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        void worker.terminate();
        reject(new Error(`A handler worker did not start within ${START_TIMEOUT_MS / 1000} s.`));
      }, START_TIMEOUT_MS);
      worker.on('message', (message: WorkerToMain) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          if (settled || this.closing) {
            settled = true;
            void worker.terminate();
            reject(new Error('The handler worker was no longer wanted when it became ready.'));
            return;
          }
          ready = true;
          settled = true;
          this.slots.push(slot);
          resolve();
          return;
        }
        this.receive(slot, message);
      });
      worker.on('error', (error) => {
        if (!ready) {
          clearTimeout(timer);
          settled = true;
          reject(error);
        } else {
          this.options.report?.(`handler worker failed: ${error.message}`);
        }
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        if (!ready) {
          settled = true;
          reject(new Error(`A handler worker exited (code ${code}) before it was ready.`));
          return;
        }
        const index = this.slots.indexOf(slot);
        if (index >= 0) this.slots.splice(index, 1);
        for (const invocation of slot.pending.values()) invocation.reject(new Error(`The handler worker exited (code ${code}) during the batch.`));
        slot.pending.clear();
        if (!this.closing) {
          this.options.report?.(`handler worker exited (code ${code}); starting another`);
          this.spawn().catch((error: unknown) => this.options.report?.(`handler worker could not be replaced: ${String(error)}`));
        }
      });
    });
  }

  private receive(slot: Slot, message: WorkerToMain): void {
    switch (message.type) {
      case 'result':
      case 'failed': {
        const invocation = slot.pending.get(message.id);
        slot.pending.delete(message.id);
        if (message.type === 'result') invocation?.resolve((message.response ?? undefined) as SQSBatchResponse | undefined);
        else invocation?.reject(new Error(message.message));
        return;
      }
      case 'aws': {
        const reply = (response: Awaited<ReturnType<InProcessRoute>> | null) =>
          slot.worker.postMessage({ type: 'aws-reply', id: message.id, response: response ?? null } satisfies MainToWorker);
        const route = this.options.routes[message.service];
        if (!route) {
          reply(null);
          return;
        }
        const request = { method: message.method, path: message.path, headers: message.headers } as unknown as HttpRequest;
        Promise.resolve()
          .then(() => route(request, message.body))
          .then(reply, (error: unknown) =>
            reply({ statusCode: 500, body: JSON.stringify({ __type: 'InternalFailure', message: error instanceof Error ? error.message : String(error) }) }),
          );
        return;
      }
      case 'log':
        this.options.log?.(message.entry, message.handler);
        return;
      default:
    }
  }
}
