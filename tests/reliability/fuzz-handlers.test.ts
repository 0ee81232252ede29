import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { SQSRecord } from 'aws-lambda';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { requestEvent, sqsRecord, uploadStarterTemplates } from '../support/sender-events.js';
import { adjust, emailIdTagMap, eventBridgeEnvelope, sesFixture, SES_FIXTURES, type FixtureType } from '../support/ses-events.js';
import { fakeEventBus, fakeSqs } from '../support/fault-injection.js';
import { createEmailSenderHandler } from '../../functions/email-sender/handler.js';
import { createFeedbackProcessorHandler } from '../../functions/feedback-processor/handler.js';
import { parseSendRequest } from '../../functions/core/request-validation.js';
import { parseFeedbackBody } from '../../functions/core/feedback-event.js';
import { ERROR_CODES } from '../../functions/core/error-codes.js';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';

/**
 * The request parser and the feedback parser, fuzzed through the real handlers against the
 * stand-ins with hostile JSON: wrong types, huge strings, lone surrogates, right-to-left
 * and invisible characters, deep nesting, and the prototype-pollution keys `__proto__`,
 * `constructor` and `prototype` at every level of the body (written as JSON text, so they
 * arrive as own keys the way JSON.parse makes them).
 *
 * Each batch mixes hostile messages with a well-formed one. Per batch: the handler returns
 * (never throws) and returns no message to the queue; every hostile request is tracked
 * `failed` with a catalogued error code (or sent, when it happens to be valid); every
 * hostile SES event is logged and dropped (FBK004) or applied; the well-formed batch-mate
 * is always processed; and Object.prototype, Array.prototype and Function.prototype are
 * untouched afterwards. The parsers' own unit fuzzing is in tests/unit/.
 */

let env: StandIns;
const CODES = new Set(Object.keys(ERROR_CODES));
const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype'];

beforeAll(async () => {
  env = await startStandIns('fuzz');
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome', 'newsletter']);
});

afterAll(async () => {
  await env?.stop();
});

// ------------------------------------------------------------------ hostile JSON as text

/** A JSON tree kept as entries, so keys such as "__proto__" survive until they are written out. */
type Node = { obj: [string, Node][] } | { arr: Node[] } | { leaf: null | boolean | number | string } | { raw: string };

function text(node: Node): string {
  if ('raw' in node) return node.raw;
  if ('obj' in node) return `{${node.obj.map(([k, v]) => `${JSON.stringify(k)}:${text(v)}`).join(',')}}`;
  if ('arr' in node) return `[${node.arr.map(text).join(',')}]`;
  return JSON.stringify(node.leaf) ?? 'null';
}

const obj = (entries: [string, Node][]): Node => ({ obj: entries });
const leaf = (value: null | boolean | number | string): Node => ({ leaf: value });
const fromValue = (value: unknown): Node => {
  if (Array.isArray(value)) return { arr: value.map(fromValue) };
  if (value !== null && typeof value === 'object') return obj(Object.entries(value).map(([k, v]) => [k, fromValue(v)]));
  return leaf(value as null | boolean | number | string);
};

/** What a polluter would try: each pollution key carrying an object that would show up on every object. */
const payload = (): Node => obj([['polluted', leaf('yes')], ['toString', leaf('hijacked')], ['isAdmin', leaf(true)]]);

/** Adds every pollution key, with a payload, to every object of the tree. */
function pollute(node: Node): Node {
  if ('obj' in node) return obj([...node.obj.map(([k, v]) => [k, pollute(v)] as [string, Node]), ...POLLUTION_KEYS.map((k) => [k, payload()] as [string, Node])]);
  if ('arr' in node) return { arr: node.arr.map(pollute) };
  return node;
}

/** Nesting `depth` levels deep, kept as text (deeper than a recursive writer could go). */
function nested(depth: number, kind: 'obj' | 'arr', inner: Node = leaf(1)): Node {
  const [open, close] = kind === 'obj' ? ['{"a":', '}'] : ['[', ']'];
  return { raw: `${open.repeat(depth)}${text(inner)}${close.repeat(depth)}` };
}

const HOSTILE_STRINGS = [
  '\uD800',
  'a\uDFFFb',
  '\uDBFF\uDBFF',
  '\u202Eevil\u202C',
  'مرحبا بالعالم',
  '\u200F\u200E\u200B\uFEFF',
  'line\r\nBcc: victim@example.com',
  'nul\u0000byte',
  '\u2028\u2029',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '{{ constructor.constructor("return process")() }}',
  '__proto__',
  'x'.repeat(70_000),
  '',
  ' ',
];

const hostileLeaf: fc.Arbitrary<Node> = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS).map(leaf),
  fc.string({ unit: 'binary', maxLength: 40 }).map(leaf),
  fc.constantFrom(null, true, false, 0, -0, 1e308, -1e-320, 2 ** 53 + 1, 42.5).map(leaf),
);

const KEYS = [...POLLUTION_KEYS, 'to', 'templateName', 'templateData', 'emailId', 'subject', 'senderOverride', 'email', 'name', 'replyTo', 'metadata', 'unsubscribe', 'userName', 'companyName'];

const { tree } = fc.letrec<{ tree: Node }>((tie) => ({
  tree: fc.oneof(
    { maxDepth: 4 },
    { weight: 3, arbitrary: hostileLeaf },
    { weight: 1, arbitrary: fc.array(tie('tree'), { maxLength: 4 }).map((arr): Node => ({ arr })) },
    {
      weight: 2,
      arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ unit: 'binary', maxLength: 12 })), tie('tree')), { maxLength: 5 }).map(obj),
    },
  ),
}));

const deep: fc.Arbitrary<Node> = fc.tuple(fc.integer({ min: 17, max: 8_000 }), fc.constantFrom('obj' as const, 'arr' as const)).map(([d, k]) => nested(d, k));

// ------------------------------------------------------------------ prototype snapshots

const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype, String.prototype];
const snapshot = () => PROTOTYPES.map((p) => Object.getOwnPropertyNames(p).sort().join(','));
const before = snapshot();

function expectUnpolluted(): void {
  expect(snapshot()).toEqual(before);
  const probe = {} as Record<string, unknown>;
  expect([probe.polluted, probe.isAdmin, typeof probe.toString]).toEqual([undefined, undefined, 'function']);
}

// ------------------------------------------------------------------ Email Sender

function senderHandler() {
  return createEmailSenderHandler({
    clients: { ddb: env.ddb, s3: env.s3, ses: env.ses },
    env: {
      TRACKING_TABLE: env.tables.tracking,
      SUPPRESSION_TABLE: env.tables.suppression,
      COUNTERS_TABLE: env.tables.counters,
      TEMPLATE_BUCKET: env.bucket,
      CONFIGURATION_SET: 'fuzz-tracking',
      DEFAULT_SENDER_EMAIL: 'noreply@app.example',
      UNSUBSCRIBE_URL: 'https://unsubscribe.app.example/u',
      UNSUBSCRIBE_SECRET: 'fuzz-secret',
    },
    now: () => new Date('2032-05-05T10:00:00.000Z'),
    log: () => undefined,
  });
}

async function tracked(emailId: string): Promise<SenderTrackingRecord | undefined> {
  const out = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId }, ConsistentRead: true }));
  return out.Item as SenderTrackingRecord | undefined;
}

let seq = 0;

/** Hostile send-queue bodies, each with a unique SQS message id. */
type HostileRequest = { body: string; messageId: string };

const hostileRequest: fc.Arbitrary<HostileRequest> = fc
  .oneof(
    // A request whose fields are replaced by hostile values, polluted at every level.
    {
      weight: 5,
      arbitrary: fc.dictionary(fc.constantFrom(...KEYS.filter((k) => !POLLUTION_KEYS.includes(k))), fc.oneof(tree, deep), { minKeys: 1, maxKeys: 4 }).map(
        (fields) => (id: number) =>
          text(
            pollute(
              obj([
                ['id', leaf(`fuzz-event-${id}`)],
                ['detail-type', leaf('Email Request')],
                ['source', leaf('fuzz.app')],
                ['detail', obj([['to', leaf(`fuzz-${id}@customer.example`)], ['templateName', leaf('welcome')], ...Object.entries(fields)])],
              ]),
            ),
          ),
      ),
    },
    // Any tree as the whole body, or as the detail.
    { weight: 2, arbitrary: fc.oneof(tree, deep).map((node) => () => text(node)) },
    { weight: 2, arbitrary: fc.oneof(tree, deep).map((node) => (id: number) => text(obj([['id', leaf(`fuzz-event-${id}`)], ['detail-type', leaf('Email Request')], ['detail', node]]))) },
    // Raw text.
    { weight: 1, arbitrary: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom(...HOSTILE_STRINGS)).map((raw) => () => raw) },
  )
  .map((make) => {
    seq += 1;
    return { body: make(seq), messageId: `fuzz-msg-${seq}` };
  });

describe('the Email Sender fed hostile requests', () => {
  it('tracks each one failed with an error code (or sends it), never throws, and still sends its batch-mates', async () => {
    const handler = senderHandler();
    let mates = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(hostileRequest, { minLength: 1, maxLength: 6 }), async (hostile) => {
        mates += 1;
        const mateId = `fuzz-mate-${mates}`;
        const mate = sqsRecord(requestEvent({ emailId: mateId, to: `${mateId}@customer.example`, templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' } }), `${mateId}-msg`);
        const records: SQSRecord[] = [...hostile.map((h) => sqsRecord(h.body, h.messageId)), mate];

        // The parser is pure: it names the emailId the handler tracks each request under.
        const ids = hostile.map((h) => {
          const parsed = parseSendRequest(h.body, h.messageId);
          return parsed.ok ? parsed.request.emailId : parsed.failure.emailId;
        });

        const result = await handler({ Records: records });

        // Only the second of two requests for one emailId in a batch waits for the first (and returns).
        const repeated = hostile.filter((_, i) => ids.indexOf(ids[i]!) !== i).map((h) => h.messageId);
        expect(result.batchItemFailures.map((f) => f.itemIdentifier).filter((m) => !repeated.includes(m))).toEqual([]);
        expect((await tracked(mateId))?.status).toBe('sent');
        for (const id of ids) {
          const record = await tracked(id);
          expect({ id, tracked: record !== undefined }).toEqual({ id, tracked: true });
          if (record!.status !== 'sent') {
            expect({ id, status: record!.status, known: CODES.has(record!.errorCode ?? '') }).toEqual({ id, status: 'failed', known: true });
          }
        }
        expectUnpolluted();
      }),
      { numRuns: 40, seed: 20_260_901 },
    );
  }, 120_000);

  it.each([
    ['metadata nested 5,000 objects deep', 'VAL007', { metadata: nested(5000, 'obj') }],
    ['metadata nested 5,000 arrays deep inside an object', 'VAL007', { metadata: obj([['a', nested(5000, 'arr')]]) }],
    ['templateData nested 8,000 objects deep', 'VAL007', { templateData: nested(8000, 'obj') }],
    ['senderOverride nested 8,000 objects deep', 'VAL002', { senderOverride: nested(8000, 'obj') }],
    ['a 200 KB subject', 'VAL007', { subject: leaf('s'.repeat(200_000)) }],
    ['a lone surrogate in templateName', 'VAL004', { templateName: leaf('wel\uD800come') }],
    ['a right-to-left override in the recipient', 'VAL003', { to: leaf('\u202Emoc.elpmaxe@nna') }],
    ['"__proto__" as the recipient', 'VAL003', { to: leaf('__proto__') }],
    ['a templateData whose "__proto__" would supply the required variables', 'VAL006', { templateData: obj([['__proto__', obj([['userName', leaf('A')], ['companyName', leaf('B')]])]]) }],
    ['a "__proto__" key deep inside metadata', 'VAL006', { metadata: obj([['campaign', obj([['__proto__', payload()]])]]) }],
  ] as [string, string, Record<string, Node>][])('%s → tracked failed %s, batch-mates sent', async (_label, code, fields) => {
    seq += 1;
    const id = `fuzz-case-${seq}`;
    const body = text(
      obj([
        ['id', leaf(`evt-${id}`)],
        ['detail-type', leaf('Email Request')],
        ['source', leaf('fuzz.app')],
        ['detail', obj([['emailId', leaf(id)], ['to', leaf(`${id}@customer.example`)], ['templateName', leaf('welcome')], ...Object.entries(fields)])],
      ]),
    );
    const mate = requestEvent({ emailId: `${id}-mate`, to: `${id}-mate@customer.example`, templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' } });
    const result = await senderHandler()({ Records: [sqsRecord(body, `${id}-msg`), sqsRecord(mate, `${id}-mate-msg`)] });
    expect(result.batchItemFailures).toEqual([]);
    expect(await tracked(id)).toMatchObject({ status: 'failed', errorCode: code });
    expect((await tracked(`${id}-mate`))?.status).toBe('sent');
    expectUnpolluted();
  });
});

// ------------------------------------------------------------------ Feedback Processor

describe('the Feedback Processor fed hostile SES events', () => {
  const logs: Record<string, unknown>[] = [];
  const queued: string[] = [];
  const published: Record<string, unknown>[] = [];

  function feedbackHandler() {
    return createFeedbackProcessorHandler({
      clients: {
        ddb: env.ddb,
        sqs: fakeSqs((body) => (queued.push(body), `q-${queued.length}`)) as unknown as SQSClient,
        events: fakeEventBus(() => 'accept', published) as unknown as EventBridgeClient,
      },
      env: {
        TRACKING_TABLE: env.tables.tracking,
        SUPPRESSION_TABLE: env.tables.suppression,
        COUNTERS_TABLE: env.tables.counters,
        EVENT_BUS_NAME: 'fuzz-EmailBus',
        SEND_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/fuzz-send',
      },
      now: () => new Date('2032-05-06T10:00:00.000Z'),
      log: (entry) => logs.push(entry),
    });
  }

  async function seedRecord(emailId: string, messageId: string, to: string): Promise<void> {
    await env.ddb.send(
      new PutCommand({
        TableName: env.tables.tracking,
        Item: {
          emailId,
          originalEmailId: emailId,
          retryAttempt: 0,
          toEmail: to,
          templateName: 'welcome',
          status: 'sent',
          statusRank: 1,
          sesMessageId: messageId,
          originalSource: 'fuzz.app',
          timestamp: '2032-05-06T09:00:00.000Z',
          datePartition: '2032-05-06',
          expiresAt: 2_000_000_000,
          request: { to, templateName: 'welcome', templateData: { userName: 'Ann', companyName: 'Acme' } },
        },
      }),
    );
  }

  /** Paths into a real SES event where a hostile value goes. */
  const PATHS = [
    [],
    ['detail'],
    ['detail', 'eventType'],
    ['detail', 'mail'],
    ['detail', 'mail', 'messageId'],
    ['detail', 'mail', 'tags'],
    ['detail', 'mail', 'tags', 'emailId'],
    ['detail', 'mail', 'destination'],
    ['detail', 'mail', 'timestamp'],
    ['detail', 'bounce'],
    ['detail', 'bounce', 'bounceType'],
    ['detail', 'bounce', 'bouncedRecipients'],
    ['detail', 'complaint', 'complainedRecipients'],
    ['detail', 'click', 'link'],
    ['detail', 'open', 'timestamp'],
    ['detail', 'delivery', 'recipients'],
    ['source'],
  ];

  function setAt(node: Node, path: string[], value: Node): Node {
    if (path.length === 0) return value;
    const [head, ...rest] = path;
    if (!('obj' in node)) return node;
    const entries = node.obj.filter(([k]) => k !== head);
    const current = node.obj.find(([k]) => k === head)?.[1] ?? obj([]);
    return obj([...entries, [head!, setAt(current, rest, value)]]);
  }

  let n = 0;
  const hostileEvent = fc
    .tuple(fc.constantFrom(...(Object.keys(SES_FIXTURES) as FixtureType[])), fc.constantFrom(...PATHS), fc.oneof(tree, deep), fc.boolean())
    .map(([type, path, value, polluted]) => {
      n += 1;
      const target = `fuzz-fb-target-${n}`;
      const base = fromValue(eventBridgeEnvelope(adjust(sesFixture(type), { messageId: `${target}-msg`, to: `${target}@customer.example`, tags: emailIdTagMap(target) })));
      const mutated = setAt(base, path, value);
      return { body: text(polluted ? pollute(mutated) : mutated), messageId: `fuzz-fb-${n}` };
    });

  it('logs and drops what it cannot read, applies what it can, never throws, and still applies its batch-mates', async () => {
    const handler = feedbackHandler();
    let mates = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof({ weight: 4, arbitrary: hostileEvent }, { weight: 1, arbitrary: hostileRequest }), { minLength: 1, maxLength: 6 }), async (hostile) => {
        mates += 1;
        const mateId = `fuzz-fb-mate-${mates}`;
        await seedRecord(mateId, `${mateId}-msg`, `${mateId}@customer.example`);
        const mate = eventBridgeEnvelope(adjust(sesFixture('Delivery'), { messageId: `${mateId}-msg`, to: `${mateId}@customer.example`, tags: emailIdTagMap(mateId) }));
        logs.length = 0;

        const result = await handler({ Records: [...hostile.map((h) => sqsRecord(h.body, h.messageId)), sqsRecord(JSON.stringify(mate), `${mateId}-sqs`)] });

        expect(result.batchItemFailures).toEqual([]);
        expect((await tracked(mateId))?.status).toBe('delivered');
        // What the parser refuses is dropped with an FBK004 line naming the message; the rest went
        // through the rules (a failure there would have returned it to the queue).
        for (const h of hostile) {
          const readable = parseFeedbackBody(h.body).ok;
          const dropped = logs.some((l) => l.code === 'FBK004' && l.sqsMessageId === h.messageId);
          expect({ id: h.messageId, dropped }).toEqual({ id: h.messageId, dropped: !readable });
        }
        expect(logs.filter((l) => l.code === 'FBK004').every((l) => typeof l.message === 'string' && !/Unreadable event/.test(l.message as string))).toBe(true);
        expectUnpolluted();
      }),
      { numRuns: 40, seed: 20_260_902 },
    );
  }, 120_000);

  it.each([
    ['tags named __proto__, constructor and prototype', ['detail', 'mail', 'tags'], obj(POLLUTION_KEYS.map((k) => [k, { arr: [leaf('x')] }] as [string, Node]))],
    ['an emailId tag of "__proto__"', ['detail', 'mail', 'tags', 'emailId'], { arr: [leaf('__proto__')] }],
    ['a delivery object nested 8,000 levels deep', ['detail', 'delivery'], nested(8000, 'obj')],
    ['a 600 KB messageId', ['detail', 'mail', 'messageId'], leaf('m'.repeat(600_000))],
    ['a lone surrogate in the recipient list', ['detail', 'delivery', 'recipients'], { arr: [leaf('\uD800@example.com')] }],
  ] as [string, string[], Node][])('%s: handled without throwing, batch-mate applied', async (_label, path, value) => {
    n += 1;
    const mateId = `fuzz-fb-case-${n}`;
    await seedRecord(mateId, `${mateId}-msg`, `${mateId}@customer.example`);
    const mate = eventBridgeEnvelope(adjust(sesFixture('Delivery'), { messageId: `${mateId}-msg`, to: `${mateId}@customer.example`, tags: emailIdTagMap(mateId) }));
    const hostile = text(setAt(fromValue(eventBridgeEnvelope(sesFixture('Delivery'))), path, value));
    const result = await feedbackHandler()({ Records: [sqsRecord(hostile, `${mateId}-hostile`), sqsRecord(JSON.stringify(mate), `${mateId}-sqs`)] });
    expect(result.batchItemFailures).toEqual([]);
    expect((await tracked(mateId))?.status).toBe('delivered');
    expectUnpolluted();
  });
});
