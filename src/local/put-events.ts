/**
 * The EventBridge PutEvents API as local mode serves it: request validation, per-entry
 * results and the event envelope EventBridge builds from an entry. Pure: the HTTP
 * server (local-server.ts) passes the parsed body in and routes what comes out.
 *
 * Error codes and messages follow the real service: request-level problems are AWS JSON
 * errors (HTTP 400, `__type` + `message`); entry-level problems fail only their entry
 * (`ErrorCode` + `ErrorMessage`) and count in `FailedEntryCount`.
 */
import { randomUUID } from 'node:crypto';

/** At most this many entries per request (the service's limit). */
export const MAX_ENTRIES = 10;
/** The documented total entry size limit; local mode lets it be configured. */
export const DEFAULT_MAX_REQUEST_BYTES = 256 * 1024;
/** The service's limit on Source, DetailType and EventBusName lengths. */
const MAX_SOURCE_LENGTH = 256;
const MAX_DETAIL_TYPE_LENGTH = 128;
/** "PutEvents will only process nested JSON up to 1000 levels deep" (the API reference). */
export const MAX_DETAIL_DEPTH = 1000;

/** An AWS JSON protocol error, sent with HTTP 400 unless `status` says otherwise. */
export class AwsJsonError extends Error {
  override readonly name = 'AwsJsonError';
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }

  toBody(): { __type: string; message: string } {
    return { __type: this.type, message: this.message };
  }
}

/** The event EventBridge delivers to a target (the SQS message body). */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export type EntryResult =
  | { ok: true; event: EventEnvelope; busName: string }
  | { ok: false; ErrorCode: string; ErrorMessage: string };

export interface BusDirectory {
  account: string;
  region: string;
  /** Resolves an EventBusName (name or ARN; undefined = "default") to a known bus name, or undefined. */
  resolve(nameOrArn: string | undefined): string | undefined;
}

export interface PutEventsOptions {
  maxRequestBytes?: number;
  now?: () => Date;
  newId?: () => string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** The entry size as EventBridge counts it: Time 14 bytes, then Source, DetailType, Detail, Resources in UTF-8. */
export function entrySize(entry: Record<string, unknown>): number {
  let size = entry.Time !== undefined && entry.Time !== null ? 14 : 0;
  for (const key of ['Source', 'DetailType', 'Detail'] as const) {
    const value = entry[key];
    if (typeof value === 'string') size += utf8Length(value);
  }
  if (Array.isArray(entry.Resources)) {
    for (const resource of entry.Resources) if (typeof resource === 'string') size += utf8Length(resource);
  }
  return size;
}

function validationError(message: string): AwsJsonError {
  return new AwsJsonError('ValidationException', message);
}

/** Checks the request as a whole; throws AwsJsonError for what the service rejects outright. */
export function validatePutEventsRequest(body: unknown, maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES): Record<string, unknown>[] {
  if (!isRecord(body)) throw new AwsJsonError('SerializationException', 'Start of structure or map found where not expected.');
  const entries = body.Entries;
  if (entries === undefined || entries === null) {
    throw validationError("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  }
  if (!Array.isArray(entries)) throw new AwsJsonError('SerializationException', 'Entries must be a list of structures.');
  if (entries.length < 1) {
    throw validationError(
      "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  if (entries.length > MAX_ENTRIES) {
    throw validationError(
      `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES} (got ${entries.length} entries)`,
    );
  }
  const checked: Record<string, unknown>[] = [];
  let total = 0;
  for (const entry of entries) {
    if (!isRecord(entry)) throw new AwsJsonError('SerializationException', 'Each entry must be a structure.');
    total += entrySize(entry);
    checked.push(entry);
  }
  if (total > maxRequestBytes) throw validationError('Total size of the entries in the request is over the limit.');
  return checked;
}

/**
 * How deep a JSON text nests objects and arrays, counted without parsing it (so without
 * recursion): brackets inside strings do not count. Not a validator; JSON.parse is.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

function invalidArgument(field: string, reason: string): EntryResult {
  return { ok: false, ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid. Reason: ${reason}` };
}

function missing(value: unknown): boolean {
  return typeof value !== 'string' || value.length === 0;
}

/** Reads an entry's Time as the SDKs send it: epoch seconds (number) or an ISO-8601 string. */
function parseTime(value: unknown, now: Date): Date | undefined {
  if (value === undefined || value === null) return now;
  const date = typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : undefined;
  return date && Number.isFinite(date.getTime()) ? date : undefined;
}

/** EventBridge writes event times to the second: "2017-12-22T18:43:48Z". */
export function eventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Validates one entry and, if it is good, builds the event EventBridge would deliver. */
export function checkEntry(entry: Record<string, unknown>, buses: BusDirectory, options: PutEventsOptions = {}): EntryResult {
  if (missing(entry.Source)) return invalidArgument('Source', 'Source is a required argument.');
  if (missing(entry.DetailType)) return invalidArgument('DetailType', 'DetailType is a required argument.');
  if (missing(entry.Detail)) return invalidArgument('Detail', 'Detail is a required argument.');
  const source = entry.Source as string;
  const detailType = entry.DetailType as string;
  if (source.length > MAX_SOURCE_LENGTH) return invalidArgument('Source', `Source is longer than ${MAX_SOURCE_LENGTH} characters.`);
  if (detailType.length > MAX_DETAIL_TYPE_LENGTH) {
    return invalidArgument('DetailType', `DetailType is longer than ${MAX_DETAIL_TYPE_LENGTH} characters.`);
  }
  if (entry.EventBusName !== undefined && typeof entry.EventBusName !== 'string') {
    return invalidArgument('EventBusName', 'EventBusName must be a string.');
  }
  const requestedBus = entry.EventBusName as string | undefined;
  const busName = buses.resolve(requestedBus === '' ? undefined : requestedBus);
  if (busName === undefined) {
    return { ok: false, ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${requestedBus} does not exist.` };
  }
  // Too deep a Detail is refused before it is parsed: the event built from it is serialized
  // later (the queue message), and serializing thousands of levels overflows the stack.
  if (jsonDepth(entry.Detail as string) > MAX_DETAIL_DEPTH) {
    return { ok: false, ErrorCode: 'MalformedDetail', ErrorMessage: `Detail is malformed: it nests JSON deeper than ${MAX_DETAIL_DEPTH} levels.` };
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail as string);
  } catch {
    detail = undefined;
  }
  if (!isRecord(detail)) return { ok: false, ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  const now = (options.now ?? (() => new Date()))();
  const time = parseTime(entry.Time, now);
  if (!time) return invalidArgument('Time', 'Time is not a valid timestamp.');
  const resources = Array.isArray(entry.Resources) ? entry.Resources.filter((r): r is string => typeof r === 'string') : [];
  return {
    ok: true,
    busName,
    event: {
      version: '0',
      id: (options.newId ?? randomUUID)(),
      'detail-type': detailType,
      source,
      account: buses.account,
      time: eventTime(time),
      region: buses.region,
      resources,
      detail,
    },
  };
}

export interface PutEventsResponse {
  FailedEntryCount: number;
  Entries: ({ EventId: string } | { ErrorCode: string; ErrorMessage: string })[];
}

/** The response for a list of entry results, in request order. */
export function putEventsResponse(results: EntryResult[]): PutEventsResponse {
  let failed = 0;
  const entries = results.map((result) => {
    if (result.ok) return { EventId: result.event.id };
    failed += 1;
    return { ErrorCode: result.ErrorCode, ErrorMessage: result.ErrorMessage };
  });
  return { FailedEntryCount: failed, Entries: entries };
}

/** A bus directory for local mode: the engine's bus (by name or ARN) and "default" (by name or ARN). */
export function localBuses(engineBusName: string, account: string, region: string): BusDirectory {
  // Any partition, region and account: publishers often build the ARN from their own settings.
  const arn = /^arn:aws[a-z-]*:events:[^:]*:[^:]*:event-bus\/(.+)$/;
  const known = new Set([engineBusName, 'default']);
  return {
    account,
    region,
    resolve(nameOrArn) {
      if (nameOrArn === undefined) return 'default';
      const name = arn.exec(nameOrArn)?.[1] ?? nameOrArn;
      return known.has(name) ? name : undefined;
    },
  };
}
