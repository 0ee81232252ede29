import { randomUUID } from 'node:crypto';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import type { EmailRequest } from '../../functions/core/types.js';

/**
 * A typed publisher for "Email Request" events. `send` and `sendBatch` fill in an
 * `emailId` when the caller gives none (so every request can be tracked), pack entries into
 * PutEvents calls of at most 10 entries and at most `maxRequestBytes`, retry the entries
 * EventBridge reports as failed (and whole calls that fail) with exponential backoff, and
 * return one outcome per request, in order.
 */

export const DETAIL_TYPE = 'Email Request';
export const MAX_ENTRIES_PER_CALL = 10;
/** PutEvents' documented limit for the entries of one call. */
export const DEFAULT_MAX_REQUEST_BYTES = 256 * 1024;

export interface EmailClientOptions {
  /** The engine's bus: the stack's `EventBusName` output (or local mode's `eventBusName`). */
  eventBusName: string;
  /** The `source` of the events (any value but `sesmailengine`). Default `app.email-client`. */
  source?: string;
  /** A configured EventBridge client; default one built from the SDK's usual configuration. */
  client?: EventBridgeClient;
  /** Endpoint for a default client, e.g. local mode's `eventBridgeEndpoint`. */
  endpoint?: string;
  region?: string;
  /**
   * Credentials for a default client, e.g. local mode's `credentials` (any key works there);
   * default the SDK's usual chain, which finds none on a machine without AWS set up.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxRequestBytes?: number;
  /** Attempts per entry, the first included. Default 4. */
  maxAttempts?: number;
  /** First backoff delay; doubles each attempt, with full jitter. Default 100 ms. */
  baseDelayMs?: number;
  /** Injected sleep, for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export type SendOutcome =
  | { ok: true; emailId: string; eventId: string }
  | { ok: false; emailId: string; errorCode: string; errorMessage: string };

/** Per-entry error codes worth another attempt; anything else is the request's fault. */
const RETRYABLE_ENTRY_CODES = new Set([
  'InternalFailure',
  'InternalException',
  'ThrottlingException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

/** Entry size as EventBridge counts it: Time 14 bytes + UTF-8 bytes of the strings. */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  size += Buffer.byteLength(entry.Source ?? '', 'utf8');
  size += Buffer.byteLength(entry.DetailType ?? '', 'utf8');
  size += Buffer.byteLength(entry.Detail ?? '', 'utf8');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}

/** Splits entries (by index) into calls of ≤ 10 entries and ≤ maxBytes each. */
export function planCalls(sizes: number[], maxBytes: number): number[][] {
  const calls: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  sizes.forEach((size, index) => {
    if (current.length === MAX_ENTRIES_PER_CALL || (current.length > 0 && bytes + size > maxBytes)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += size;
  });
  if (current.length > 0) calls.push(current);
  return calls;
}

/** UTF-8 bytes the inline attachments' base64 content takes in a request. */
export function inlineAttachmentBytes(request: EmailRequest): number {
  return (request.attachments ?? []).reduce(
    (sum, attachment) => sum + (typeof attachment.content === 'string' ? Buffer.byteLength(attachment.content, 'utf8') : 0),
    0,
  );
}

function tooLargeMessage(request: EmailRequest, size: number, limit: number): string {
  const inline = inlineAttachmentBytes(request);
  const base = `The request is ${size} bytes; PutEvents accepts at most ${limit}.`;
  if (inline === 0) return base;
  return `${base} Its inline attachments take ${inline} bytes: upload the files to the template bucket under attachments/ and list them by s3Key instead of content.`;
}

function describe(error: unknown): { code: string; message: string } {
  const e = error as { name?: string; message?: string } | null;
  return { code: e?.name ?? 'Error', message: e?.message ?? String(error) };
}

export class EmailClient {
  private readonly client: EventBridgeClient;
  private readonly eventBusName: string;
  private readonly source: string;
  private readonly maxRequestBytes: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: EmailClientOptions) {
    if (!options.eventBusName) throw new TypeError('EmailClient: eventBusName is required.');
    if (options.source === 'sesmailengine') {
      throw new TypeError('EmailClient: source "sesmailengine" is reserved for the engine; choose your application\'s name.');
    }
    this.eventBusName = options.eventBusName;
    this.source = options.source ?? 'app.email-client';
    this.client =
      options.client ??
      new EventBridgeClient({
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.region ? { region: options.region } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Publishes one request. Resolves with its outcome; never throws for a rejected entry. */
  async send(request: EmailRequest): Promise<SendOutcome> {
    const [outcome] = await this.sendBatch([request]);
    return outcome as SendOutcome;
  }

  /** Publishes many requests; outcomes come back in the same order as the requests. */
  async sendBatch(requests: readonly EmailRequest[]): Promise<SendOutcome[]> {
    const withIds = requests.map((request) => ({
      ...request,
      emailId: request.emailId ?? `email-${randomUUID()}`,
    }));
    const outcomes: (SendOutcome | undefined)[] = new Array(withIds.length);
    const details = withIds.map(serialize);
    const entries: PutEventsRequestEntry[] = details.map((detail) => ({
      EventBusName: this.eventBusName,
      Source: this.source,
      DetailType: DETAIL_TYPE,
      Detail: 'json' in detail ? detail.json : '{}',
    }));

    let pending: number[] = [];
    entries.forEach((entry, index) => {
      const detail = details[index]!;
      if ('problem' in detail) {
        outcomes[index] = { ok: false, emailId: withIds[index]!.emailId, errorCode: 'InvalidDetail', errorMessage: detail.problem };
      } else if (entrySize(entry) > this.maxRequestBytes) {
        outcomes[index] = {
          ok: false,
          emailId: withIds[index]!.emailId,
          errorCode: 'EntryTooLarge',
          errorMessage: tooLargeMessage(withIds[index]!, entrySize(entry), this.maxRequestBytes),
        };
      } else {
        pending.push(index);
      }
    });

    for (let attempt = 1; pending.length > 0; attempt++) {
      const retry: number[] = [];
      const lastErrors = new Map<number, { code: string; message: string }>();
      const calls = planCalls(pending.map((i) => entrySize(entries[i]!)), this.maxRequestBytes).map((call) =>
        call.map((position) => pending[position]!),
      );
      await Promise.all(
        calls.map(async (call) => {
          let results: PutEventsResultEntry[];
          try {
            const out = await this.client.send(new PutEventsCommand({ Entries: call.map((i) => entries[i]!) }));
            results = out.Entries ?? [];
          } catch (error) {
            for (const i of call) {
              retry.push(i);
              lastErrors.set(i, describe(error));
            }
            return;
          }
          call.forEach((index, position) => {
            const result = results[position];
            const emailId = withIds[index]!.emailId;
            if (result?.EventId) {
              outcomes[index] = { ok: true, emailId, eventId: result.EventId };
            } else if (result?.ErrorCode && !RETRYABLE_ENTRY_CODES.has(result.ErrorCode)) {
              outcomes[index] = { ok: false, emailId, errorCode: result.ErrorCode, errorMessage: result.ErrorMessage ?? '' };
            } else {
              retry.push(index);
              lastErrors.set(index, {
                code: result?.ErrorCode ?? 'MissingResult',
                message: result?.ErrorMessage ?? 'EventBridge returned no result for this entry.',
              });
            }
          });
        }),
      );
      if (retry.length === 0) break;
      if (attempt >= this.maxAttempts) {
        for (const index of retry) {
          const error = lastErrors.get(index)!;
          outcomes[index] = {
            ok: false,
            emailId: withIds[index]!.emailId,
            errorCode: error.code,
            errorMessage: `${error.message} (gave up after ${attempt} attempts)`,
          };
        }
        break;
      }
      await this.sleep(Math.random() * this.baseDelayMs * 2 ** (attempt - 1));
      pending = retry.sort((a, b) => a - b);
    }
    return outcomes as SendOutcome[];
  }
}

/**
 * A request as the JSON EventBridge carries, or why it cannot be: JSON.stringify would send
 * NaN and Infinity as null (the engine would then see a different request) and throws on
 * cycles and BigInt, which would reject every request of the batch.
 */
function serialize(detail: EmailRequest & { emailId: string }): { json: string } | { problem: string } {
  let json: string;
  try {
    json = JSON.stringify(detail);
  } catch (error) {
    // A cycle or a BigInt.
    return { problem: `The request cannot be written as JSON: ${(error as Error).message}` };
  }
  // No cycles now (JSON.stringify would have thrown); values with toJSON are sent as they say.
  const pending: Array<[unknown, string]> = [[detail, 'request']];
  while (pending.length > 0) {
    const [value, path] = pending.pop()!;
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return { problem: `${path} is ${String(value)}, which JSON cannot carry (it would arrive as null); send a finite number or a string.` };
    }
    if (value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') continue;
    for (const [key, child] of Object.entries(value)) pending.push([child, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`]);
  }
  return { json };
}
