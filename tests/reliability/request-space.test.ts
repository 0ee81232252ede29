import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { startLocalStores, type LocalStores } from '../support/local-stores.js';
import { uploadStarterTemplates, uploadTemplate, senderEnv, tableEnv } from '../support/sender-events.js';
import { adjust, emailIdTagMap, eventBridgeEnvelope, sesFixture } from '../support/ses-events.js';
import { fakeEventBus, fakeSqs } from '../support/fault-injection.js';
import { createFeedbackProcessorHandler } from '../../functions/feedback-processor/handler.js';
import { retryEmailIdFor } from '../../functions/core/feedback-rules.js';
import { SimulatedQueue, VirtualClock, seededRandom, type Container } from '../support/sqs-driver.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { ERROR_CODES } from '../../functions/core/error-codes.js';
import { storable, type SenderTrackingRecord } from '../../functions/lib/tracking-store.js';

/**
 * The engine's promise over the whole request space, property-based (fast-check): every
 * request ends in exactly one final tracking record, never lost, never sent twice.
 *
 * Requests are drawn from three families, each with arbitrary JSON whose keys come from
 * Object.prototype's member names, JavaScript's reserved words, DynamoDB's type tags and
 * arbitrary text, nested and sized at and past the limits, with odd emailIds:
 * - valid: every field well-formed (any keys but `__proto__`, no lone surrogates, sizes up to
 *   the limits exactly) → must be `sent`, its stored request equal to the input;
 * - one flaw: a valid request with one known defect (a `__proto__` key, a lone surrogate in
 *   any field, one level or one byte past a limit, a missing variable, …) → `failed` with
 *   that defect's documented code;
 * - chaos: arbitrary JSON in every field → `sent`, or `failed` with a code of ERROR_CODES.
 *
 * Each run publishes a batch onto a simulated send queue (tests/support/sqs-driver.ts: the
 * stack's redrive rule of 10 receives) drained by the real Email Sender against local mode's
 * stores (its DynamoDB, its SES stand-in, s3rver). Per request: exactly one record, final,
 * consumed on its first receive, nothing dead-lettered; a stored request equal to the input
 * (numbers beyond DynamoDB's exact range as their JSON text, docs/SENDING.md "Data as
 * given"); at most one SES send, each with message tags inside SES's rules.
 *
 * Replay: REQUEST_SPACE_SEED=<seed> (and REQUEST_SPACE_RUNS=<n> for a longer search).
 */

const SEED = Number(process.env.REQUEST_SPACE_SEED ?? 20_261_204);
const RUNS = Number(process.env.REQUEST_SPACE_RUNS ?? 80);
/** Receives per message: every request's outcome is final on its first. */
const MAX_RECEIVES = 1;
const NOW = new Date('2032-05-05T10:00:00.000Z');
const CODES = new Set(Object.keys(ERROR_CODES));
/** SES message tags: name and value 1-256 ASCII letters, digits, "_" and "-". */
const SES_TAG = /^[A-Za-z0-9_-]{1,256}$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LIMITS = { templateDataBytes: 128 * 1024, metadataBytes: 8 * 1024, depth: 16, emailId: 128 };

let env: LocalStores;

beforeAll(async () => {
  env = await startLocalStores('space');
  await uploadStarterTemplates(env.clients.s3, env.bucket, ['welcome']);
  // Renders a whole object of the data, so what was rendered can be compared with what was sent.
  await uploadTemplate(env.clients.s3, env.bucket, 'space', {
    html: '<p>{{ userName }}</p><pre>{{ form | dump }}</pre>',
    text: '{{ form | dump }}',
    metadata: { subject: 'Space {{ userName }}', requiredVariables: ['userName', 'form'], category: 'transactional', version: '1.0.0', description: 'Renders templateData.form as JSON.' },
  });
  await env.clients.s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: 'attachments/reports/q1.pdf', Body: '%PDF-1.4 request space' }));
});

afterAll(async () => {
  await env?.stop();
});

// ------------------------------------------------------------------ keys and values

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).filter((name) => name !== '__proto__');
const RESERVED_WORDS = [
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export',
  'extends', 'false', 'finally', 'for', 'function', 'if', 'implements', 'import', 'in', 'instanceof', 'interface', 'let',
  'new', 'null', 'package', 'private', 'protected', 'public', 'return', 'static', 'super', 'switch', 'this', 'throw',
  'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'await', 'async', 'of', 'undefined', 'NaN', 'Infinity',
  'arguments', 'eval',
];
/** Names other code might look up on a value: array/Map/Set/Promise/JSON members, DynamoDB type tags, expression syntax. */
const ODD_KEYS = [
  'length', 'name', 'prototype', 'then', 'toJSON', 'size', 'keys', 'values', 'entries', 'get', 'set', 'has', 'caller', 'callee',
  'S', 'N', 'B', 'M', 'L', 'NULL', 'BOOL', 'SS', 'NS', 'BS', '$unknown', '#status', ':rank', 'a.b', 'x[0]', '', ' ', '0', '-1',
  'emailId', 'status', 'request', '\u{1F600}', 'Ünïcödé', 'line\nbreak', 'nul\u0000',
];

const wellFormed = (s: string) => s.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd');
const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...RESERVED_WORDS) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).map(wellFormed) },
);
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }).map(wellFormed),
  fc.constantFrom('', ' ', '\u{1F600}\u{1F4E7}', '<b>x</b>', '{{ constructor.constructor("return process")() }}', '[object Object]', 'null', '1e400'),
);
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1.5, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e21, 1e125, 1e126, 1e308, -1e308, 1e-130, 1e-131, 5e-324),
);

/** An object built from entries as own data properties (so a "__proto__" entry stays a key, as JSON.parse makes it). */
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Arbitrary JSON with the keys above, no `__proto__`, no lone surrogates. */
const { json: cleanJson } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'clean' },
    { weight: 4, arbitrary: fc.oneof(text, number, fc.boolean(), fc.constant(null)) },
    { weight: 1, arbitrary: fc.array(tie('json'), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.array(fc.tuple(key, tie('json')), { maxLength: 5 }).map(objectOf) },
  ),
}));
const cleanObject = fc.array(fc.tuple(key, cleanJson), { maxLength: 6 }).map(objectOf);

/** Anything JSON can carry, `__proto__` keys and lone surrogates included. */
const hostileText = fc.oneof(text, fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('\ud800', 'a\udfffb', '\udbff\udbff', 'x'.repeat(300)));
const { json: anyJson } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'any' },
    { weight: 4, arbitrary: fc.oneof(hostileText, number, fc.boolean(), fc.constant(null)) },
    { weight: 1, arbitrary: fc.array(tie('json'), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.array(fc.tuple(fc.oneof(key, fc.constant('__proto__'), hostileText), tie('json')), { maxLength: 5 }).map(objectOf) },
  ),
}));

/** Size as the engine counts it: the JSON of the data as stored (docs/SENDING.md, "Data as given"). */
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(storable(value)), 'utf8');

/** `levels` levels of objects (the outer one included), each keyed by one of `keys`. */
function nested(levels: number, keys: string[], leaf: unknown): Record<string, unknown> {
  let value: unknown = leaf;
  for (let i = levels - 1; i >= 1; i--) value = objectOf([[keys[i % keys.length]!, value]]);
  return objectOf([[keys[0]!, value]]);
}

/** `base` plus a padding string making it exactly `bytes` bytes of JSON. */
function padded(base: Record<string, unknown>, bytes: number): Record<string, unknown> {
  const withPad = objectOf([...Object.entries(base), ['padding', '']]);
  const missing = bytes - jsonBytes(withPad);
  return missing >= 0 ? objectOf([...Object.entries(base), ['padding', 'p'.repeat(missing)]]) : withPad;
}

// ------------------------------------------------------------------ requests

type Family = 'valid' | 'flawed' | 'chaos';

interface Planned {
  family: Family;
  /** The code a flawed request must fail with. */
  expectCode?: string;
  label: string;
  /** Builds the detail for request number n (emailIds and addresses are made unique with n). */
  detail(n: number): Record<string, unknown>;
}

/** emailIds a caller may choose: printable text of any script, 1-128 characters. */
const oddEmailId = fc.oneof(
  fc.constantFrom('order/42#1', 'ünïcödé-id', 'id with spaces', '\u{1F600}', '../../etc', '__proto__', 'constructor', '=?utf-8?q?x?=', 'a'.repeat(100)),
  // Long non-ASCII ids, whose base64url form is near a tag value's 256 characters.
  fc.constantFrom('é'.repeat(90), 'é'.repeat(110), '€'.repeat(128), '\u{1F600}'.repeat(44), '\u{1F600}'.repeat(55), 'ü-'.repeat(50)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 60 }),
)
  .map((id) => Array.from(id.replace(new RegExp(CONTROL.source, 'g'), '')).join(''));

function uniqueId(n: number, odd: string): string {
  const id = `r${n}-${odd}`;
  return Array.from(id).slice(0, 120).join('');
}

const shortName = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 16 }).map((s) => s.replace(/[\u0000-\u001f\u007f]/g, '') || 'A');

interface ValidParts {
  odd: string;
  userName: string;
  template: 'welcome' | 'space';
  form: Record<string, unknown>;
  templateData: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  subject?: string;
  senderName?: string;
  replyTo: boolean;
  attach: boolean;
  unsubscribe?: boolean;
  sendAtPast: boolean;
  size: 'small' | 'dataAtLimit' | 'metaAtLimit' | 'depthAtLimit';
}

const validParts: fc.Arbitrary<ValidParts> = fc.record(
  {
    odd: oddEmailId,
    userName: shortName,
    template: fc.constantFrom('welcome' as const, 'space' as const),
    form: cleanObject,
    templateData: cleanObject,
    metadata: cleanObject.filter((m) => jsonBytes(m) <= LIMITS.metadataBytes),
    subject: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map((s) => s.replace(new RegExp(CONTROL.source, 'g'), '')),
    senderName: shortName,
    replyTo: fc.boolean(),
    attach: fc.boolean(),
    unsubscribe: fc.boolean(),
    sendAtPast: fc.boolean(),
    size: fc.constantFrom('small', 'small', 'small', 'dataAtLimit', 'metaAtLimit', 'depthAtLimit'),
  },
  { requiredKeys: ['odd', 'userName', 'template', 'form', 'templateData', 'replyTo', 'attach', 'sendAtPast', 'size'] },
);

function validDetail(parts: ValidParts, n: number): Record<string, unknown> {
  // The template's variables last, so an arbitrary key of the same name cannot replace them.
  let templateData = objectOf([...Object.entries(parts.templateData), ['userName', parts.userName], ['companyName', 'Acme'], ['form', parts.form]]);
  let metadata = parts.metadata;
  if (parts.size === 'dataAtLimit') templateData = padded(templateData, LIMITS.templateDataBytes);
  if (parts.size === 'metaAtLimit') metadata = padded(metadata ?? {}, LIMITS.metadataBytes);
  if (parts.size === 'depthAtLimit') {
    templateData = objectOf([...Object.entries(templateData), ['deep', nested(LIMITS.depth - 1, PROTOTYPE_NAMES, 'bottom')]]);
    metadata = nested(LIMITS.depth, ['constructor', 'toString', '__defineGetter__'], 'bottom');
  }
  return {
    emailId: uniqueId(n, parts.odd),
    to: `space-${n}@customer.example`,
    templateName: parts.template,
    templateData,
    ...(metadata !== undefined ? { metadata } : {}),
    ...(parts.subject !== undefined && parts.subject.trim() !== '' ? { subject: parts.subject } : {}),
    ...(parts.senderName !== undefined ? { senderOverride: { email: 'team@app.example', name: parts.senderName } } : {}),
    ...(parts.replyTo ? { replyTo: 'support@app.example' } : {}),
    ...(parts.unsubscribe !== undefined ? { unsubscribe: parts.unsubscribe } : {}),
    ...(parts.attach ? { attachments: [{ s3Key: 'reports/q1.pdf', filename: 'Q1 report \u{1F4C8}.pdf', contentType: 'application/pdf' }] } : {}),
    ...(parts.sendAtPast ? { sendAt: '2032-05-05T09:00:00Z' } : {}),
  };
}

/** How fast-check prints a planned request in a counterexample: its label and its detail (as request 0). */
function printable(plan: Planned): Planned {
  return Object.assign(plan, { [fc.toStringMethod]: () => `${plan.label}: ${JSON.stringify(plan.detail(0))}` });
}

const valid: fc.Arbitrary<Planned> = validParts.map((parts) => printable({ family: 'valid', label: `valid/${parts.size}`, detail: (n) => validDetail(parts, n) }));

type Flaw = [label: string, code: string, apply: (detail: Record<string, unknown>, n: number) => Record<string, unknown>];

/** Puts `value` under `key` somewhere inside `data` (at the top, or one object down). */
function plant(data: Record<string, unknown>, k: string, value: unknown, deep: boolean): Record<string, unknown> {
  const inner = objectOf([[k, value]]);
  return objectOf([...Object.entries(data), deep ? ['nested', objectOf([['list', [1, inner]]])] : [k, value]]);
}

const FLAWS: Flaw[] = [
  ['__proto__ key in templateData', 'VAL006', (d) => ({ ...d, templateData: plant(d.templateData as Record<string, unknown>, '__proto__', { isAdmin: true }, false) })],
  ['__proto__ key deep in templateData', 'VAL006', (d) => ({ ...d, templateData: plant(d.templateData as Record<string, unknown>, '__proto__', 'x', true) })],
  ['__proto__ key in metadata', 'VAL006', (d) => ({ ...d, metadata: plant({}, '__proto__', { polluted: 1 }, true) })],
  ['lone surrogate in a templateData value', 'VAL012', (d) => ({ ...d, templateData: plant(d.templateData as Record<string, unknown>, 'note', 'half \ud83d', true) })],
  ['lone surrogate in a templateData key', 'VAL012', (d) => ({ ...d, templateData: plant(d.templateData as Record<string, unknown>, 'k\udc00', 1, false) })],
  ['lone surrogate in metadata', 'VAL012', (d) => ({ ...d, metadata: plant({}, 'campaign', ['ok', '\udbff'], true) })],
  ['templateData one level too deep', 'VAL007', (d) => ({ ...d, templateData: objectOf([...Object.entries(d.templateData as object), ['deep', nested(LIMITS.depth, PROTOTYPE_NAMES, 1)]]) })],
  ['metadata one level too deep', 'VAL007', (d) => ({ ...d, metadata: nested(LIMITS.depth + 1, ['valueOf'], 1) })],
  ['templateData one byte too large', 'VAL007', (d) => ({ ...d, templateData: padded(d.templateData as Record<string, unknown>, LIMITS.templateDataBytes + 1) })],
  ['metadata one byte too large', 'VAL007', (d) => ({ ...d, metadata: padded({ constructor: 'x' }, LIMITS.metadataBytes + 1) })],
  ['lone surrogate in an attachment s3Key', 'ATT002', (d) => ({ ...d, attachments: [{ s3Key: 'reports/q\ud800.pdf', filename: 'q1.pdf', contentType: 'application/pdf' }] })],
  ['lone surrogate in an attachment filename', 'ATT003', (d) => ({ ...d, attachments: [{ s3Key: 'reports/q1.pdf', filename: 'q\udfff1.pdf', contentType: 'application/pdf' }] })],
  ['lone surrogate in the subject', 'VAL005', (d) => ({ ...d, subject: 'Hello \ud800' })],
  ['lone surrogate in the recipient', 'VAL005', (d) => ({ ...d, to: `\udc00${String(d.to)}` })],
  ['lone surrogate in the sender name', 'VAL005', (d) => ({ ...d, senderOverride: { email: 'team@app.example', name: 'Team \ud800' } })],
  ['emailId of 129 characters', 'VAL008', (d, n) => ({ ...d, emailId: `r${n}-`.padEnd(LIMITS.emailId + 1, 'i') })],
  ['lone surrogate in the emailId', 'VAL008', (d) => ({ ...d, emailId: `${String(d.emailId)}\ud800` })],
  ['a required variable missing', 'TMPL003', (d) => ({ ...d, templateData: objectOf(Object.entries(d.templateData as object).filter(([k]) => k !== 'userName')) })],
  ['an unknown template', 'TMPL001', (d) => ({ ...d, templateName: 'no-such-template' })],
  ['sendAt more than a year ahead', 'VAL011', (d) => ({ ...d, sendAt: '2034-01-01T00:00:00Z' })],
  ['templateData an array', 'VAL006', (d) => ({ ...d, templateData: [d.templateData] })],
];

const flawed: fc.Arbitrary<Planned> = fc.tuple(validParts, fc.constantFrom(...FLAWS)).map(([parts, [label, code, apply]]) => printable({
  family: 'flawed',
  label,
  expectCode: code,
  detail: (n) => apply(validDetail({ ...parts, template: 'welcome', size: 'small' }, n), n),
}));

const FIELDS = ['to', 'templateName', 'templateData', 'emailId', 'subject', 'senderOverride', 'replyTo', 'metadata', 'unsubscribe', 'attachments', 'sendAt'];
const chaos: fc.Arbitrary<Planned> = fc
  .tuple(fc.dictionary(fc.constantFrom(...FIELDS), anyJson, { maxKeys: 6 }), fc.boolean(), fc.boolean())
  .map(([fields, keepTo, keepTemplate]) => printable({
    family: 'chaos',
    label: 'chaos',
    detail: (n) => {
      const detail = objectOf(Object.entries(fields));
      if (keepTo) detail.to = `space-${n}@customer.example`;
      if (keepTemplate) detail.templateName = 'welcome';
      // A string emailId is made unique to the request; anything else falls back to the event id.
      if (typeof detail.emailId === 'string') detail.emailId = uniqueId(n, detail.emailId);
      return detail;
    },
  }));

const request = fc.oneof({ weight: 4, arbitrary: valid }, { weight: 3, arbitrary: flawed }, { weight: 3, arbitrary: chaos });

// ------------------------------------------------------------------ the oracle

/** The id a request is tracked under (docs/SENDING.md): its emailId when valid, else email-<event id>. */
function trackedId(detail: Record<string, unknown>, eventId: string): string {
  const id = detail.emailId;
  const ok = typeof id === 'string' && id.length >= 1 && id.length <= LIMITS.emailId && !CONTROL.test(id) && !LONE_SURROGATE.test(id);
  return ok ? id : `email-${eventId}`;
}

async function record(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.clients.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

async function recordCount(): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await env.clients.ddb.send(new ScanCommand({ TableName: env.tables.tracking, Select: 'COUNT', ExclusiveStartKey: start }));
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

/** What a stored copy of caller data must equal: the input, with numbers outside DynamoDB's exact range as text. */
const asStored = (value: unknown) => storable(value);

function sender() {
  return createEmailSenderHandler({
    clients: { ddb: env.clients.ddb, s3: env.clients.s3, ses: env.clients.ses },
    env: senderEnv(env, 'space-tracking', {
      UNSUBSCRIBE_URL: 'https://unsubscribe.app.example/u',
      UNSUBSCRIBE_SECRET: 'request-space-secret',
    }),
    now: () => NOW,
    log: () => undefined,
  });
}

// ------------------------------------------------------------------ the property

export interface RequestSpaceFigures {
  runs: number;
  requests: number;
  byFamily: Record<Family, number>;
  sent: number;
  failed: Record<string, number>;
  /** Soft-bounce retries sent from stored requests. */
  retries: number;
  ms: number;
  /** CPU time of this process (user + system): the figure that holds on a busy machine. */
  cpuMs: number;
}

const figures: RequestSpaceFigures = { runs: 0, requests: 0, byFamily: { valid: 0, flawed: 0, chaos: 0 }, sent: 0, failed: {}, retries: 0, ms: 0, cpuMs: 0 };
let counter = 0;
let expectedRecords = 0;

describe('the whole request space through the Email Sender', () => {
  it('ends every request in exactly one final record, first time, nothing dead-lettered, stored as given, tags within SES rules', async () => {
    const started = Date.now();
    const cpu = process.cpuUsage();
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (planned, shuffleSeed) => {
        figures.runs += 1;
        const clock = new VirtualClock(NOW.getTime());
        const queue = new SimulatedQueue({ name: 'space-send', maxReceiveCount: 10, visibilityTimeoutSeconds: 180, clock, random: seededRandom(shuffleSeed) });
        const receives = new Map<string, number>();
        const sendCallsBefore = env.sendCalls.length;

        const requests = planned.map((plan) => {
          counter += 1;
          const eventId = `space-evt-${counter}`;
          const body = JSON.stringify({ version: '0', id: eventId, 'detail-type': 'Email Request', source: 'space.app', account: '111122223333', time: NOW.toISOString(), region: 'us-east-1', resources: [], detail: plan.detail(counter) });
          // What the engine receives is the parsed text: compare with that (JSON.parse makes "__proto__" an own key, -0 is 0).
          const detail = (JSON.parse(body) as { detail: Record<string, unknown> }).detail;
          const messageId = queue.send(body);
          return { plan, detail, messageId, emailId: trackedId(detail, eventId), to: detail.to };
        });
        const newContainer = (): Container => {
          const handler = sender();
          return {
            invoke: (event) => {
              for (const r of event.Records) receives.set(r.messageId, (receives.get(r.messageId) ?? 0) + 1);
              return handler(event);
            },
          };
        };

        await queue.drain({ newContainer, concurrency: 2, maxRounds: 20 });

        expect(queue.deadLetters.map((m) => m.messageId)).toEqual([]);
        const calls = env.sendCalls.slice(sendCallsBefore);
        for (const call of calls) {
          for (const tag of call.tags) expect({ tag, valid: SES_TAG.test(tag.Name ?? '') && SES_TAG.test(tag.Value ?? '') }).toEqual({ tag, valid: true });
        }
        for (const r of requests) {
          const where = { label: r.plan.label, emailId: r.emailId };
          figures.requests += 1;
          figures.byFamily[r.plan.family] += 1;
          expect({ ...where, receives: receives.get(r.messageId) }).toEqual({ ...where, receives: MAX_RECEIVES });
          const stored = await record(r.emailId);
          expect({ ...where, tracked: stored !== undefined }).toEqual({ ...where, tracked: true });
          const { status, errorCode } = stored!;
          if (status === 'sent') figures.sent += 1;
          else figures.failed[errorCode ?? '?'] = (figures.failed[errorCode ?? '?'] ?? 0) + 1;

          if (r.plan.family === 'valid') expect({ ...where, status, errorCode, errorMessage: stored!.errorMessage }).toEqual({ ...where, status: 'sent', errorCode: undefined, errorMessage: undefined });
          else if (r.plan.family === 'flawed') expect({ ...where, status, errorCode }).toEqual({ ...where, status: 'failed', errorCode: r.plan.expectCode });
          else expect({ ...where, final: status === 'sent' || (status === 'failed' && CODES.has(errorCode ?? '')) }).toEqual({ ...where, final: true });

          // Sent at most once; sent means SES took it exactly once.
          const sends = calls.filter((call) => typeof r.to === 'string' && call.to.includes(r.to.trim())).length;
          expect({ ...where, sends }).toEqual({ ...where, sends: status === 'sent' ? 1 : 0 });
          // Stored as given: the request a soft-bounce retry re-sends, and the metadata status events carry.
          if (status === 'sent') expect({ ...where, keptRequest: stored!.request !== undefined }).toEqual({ ...where, keptRequest: true });
          if (stored!.request !== undefined) {
            const same = isDeepStrictEqual(stored!.request.templateData, asStored(r.detail.templateData ?? {}));
            expect({ ...where, templateDataAsGiven: same }).toEqual({ ...where, templateDataAsGiven: true });
            if (r.detail.metadata !== undefined && r.detail.metadata !== null) {
              expect({ ...where, metadataAsGiven: isDeepStrictEqual(stored!.request.metadata, asStored(r.detail.metadata)) }).toEqual({ ...where, metadataAsGiven: true });
            }
          }
          if (stored!.metadata !== undefined) {
            expect({ ...where, recordMetadataAsGiven: isDeepStrictEqual(stored!.metadata, asStored(r.detail.metadata)) }).toEqual({ ...where, recordMetadataAsGiven: true });
          }
        }
        // What the `space` template rendered is the data as given.
        for (const r of requests) {
          const call = calls.find((c) => typeof r.to === 'string' && c.to.includes(r.to.trim()));
          if (r.plan.family !== 'valid' || r.detail.templateName !== 'space' || !call) continue;
          const form = (r.detail.templateData as Record<string, unknown>).form;
          expect({ emailId: r.emailId, rendered: call.text }).toEqual({ emailId: r.emailId, rendered: JSON.stringify(form) });
        }

        // A soft bounce of every valid request: its retry is re-sent from the stored request,
        // announced with the metadata as given, and renders what the first attempt rendered.
        const bounced = requests.filter((r) => r.plan.family === 'valid');
        const published: Record<string, unknown>[] = [];
        const feedback = createFeedbackProcessorHandler({
          clients: {
            ddb: env.clients.ddb,
            sqs: fakeSqs((body, delaySeconds) => queue.send(body, delaySeconds)) as unknown as SQSClient,
            events: fakeEventBus(() => 'accept', published) as unknown as EventBridgeClient,
          },
          env: {
            ...tableEnv(env),
            EVENT_BUS_NAME: 'space-EmailBus',
            SEND_QUEUE_URL: 'http://127.0.0.1:9/000000000000/space-send',
            SOFT_BOUNCE_RETRY_DELAY_SECONDS: '900',
          },
          now: () => NOW,
          log: () => undefined,
        });
        const softBounces = await Promise.all(
          bounced.map(async (r, i) => {
            const stored = (await record(r.emailId))!;
            const event = adjust(sesFixture('Bounce'), { messageId: stored.sesMessageId!, to: String(r.to), tags: emailIdTagMap(r.emailId) });
            event.bounce.bounceType = 'Transient';
            event.bounce.bounceSubType = 'MailboxFull';
            return { messageId: `space-fb-${counter}-${i}`, body: JSON.stringify(eventBridgeEnvelope(event)), receiptHandle: 'rh', attributes: {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:space-feedback', awsRegion: 'us-east-1' };
          }),
        );
        if (softBounces.length > 0) {
          const result = await feedback({ Records: softBounces as never });
          expect(result.batchItemFailures).toEqual([]);
          await queue.drain({ newContainer, concurrency: 2, maxRounds: 20 });
          expect(queue.deadLetters.map((m) => m.messageId)).toEqual([]);
        }
        const retryCalls = env.sendCalls.slice(sendCallsBefore + calls.length);
        for (const r of bounced) {
          const where = { label: r.plan.label, emailId: r.emailId };
          const notice = published.find((detail) => detail.emailId === r.emailId && detail.status === 'soft_bounced');
          const givenMetadata = r.detail.metadata === undefined ? undefined : asStored(r.detail.metadata);
          expect({ ...where, noticeMetadataAsGiven: isDeepStrictEqual(notice?.metadata, givenMetadata) }).toEqual({ ...where, noticeMetadataAsGiven: true });
          const retry = await record(retryEmailIdFor(r.emailId));
          expect({ ...where, retry: retry?.status, attempt: retry?.retryAttempt, error: retry?.errorMessage }).toEqual({ ...where, retry: 'sent', attempt: 1, error: undefined });
          expect({ ...where, retryMetadataAsGiven: isDeepStrictEqual(retry!.metadata, givenMetadata) }).toEqual({ ...where, retryMetadataAsGiven: true });
          const first = calls.find((c) => c.to.includes(String(r.to)));
          const again = retryCalls.filter((c) => c.to.includes(String(r.to)));
          expect({ ...where, retrySends: again.length }).toEqual({ ...where, retrySends: 1 });
          figures.retries += 1;
          // The retry renders the stored data: the same mail, except numbers DynamoDB keeps as text.
          const form = (r.detail.templateData as Record<string, unknown>).form;
          const sameNumbers = isDeepStrictEqual(asStored(form), form);
          if (sameNumbers || r.detail.templateName !== 'space') {
            expect({ ...where, subject: again[0]?.subject, text: again[0]?.text, html: again[0]?.html }).toEqual({ ...where, subject: first?.subject, text: first?.text, html: first?.html });
          } else {
            expect({ ...where, text: again[0]?.text }).toEqual({ ...where, text: JSON.stringify(asStored(form)) });
          }
        }
        for (const [messageId, count] of receives) expect({ messageId, receives: count }).toEqual({ messageId, receives: MAX_RECEIVES });

        // Exactly one record per request (and per retry): nothing else appeared in the table.
        expectedRecords += requests.length + bounced.length;
        expect(await recordCount()).toBe(expectedRecords);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    figures.ms = Date.now() - started;
    const used = process.cpuUsage(cpu);
    figures.cpuMs = Math.round((used.user + used.system) / 1000);
    // The figures docs/BENCHMARKS.md reports ("Request space").
    if (process.env.REQUEST_SPACE_REPORT) console.log(`request space: ${JSON.stringify(figures)}`);
  }, 240_000);
});
