/**
 * local-dynamodb: the in-memory DynamoDB store local mode runs in-process, per call.
 *
 * Prints, for the engine's common calls on a 1 KB tracking record (PutItem, GetItem,
 * the conditional UpdateItem that marks a record sent, a BatchGetItem of 10 keys, GSI
 * queries), µs per call and calls/s:
 * - `call()` in this process (what local mode pays per call, JSON text in and out);
 * - the same request bodies over HTTP on 127.0.0.1 to the store's listener and to dynalite
 *   (client and server in this process, one request at a time on a keep-alive connection).
 * LOCAL_DYNAMODB_BENCH_N sets the in-process calls per operation (default 20,000); HTTP runs
 * a tenth of that.
 */
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { LocalDynamoDb } from '../../src/local/dynamodb/store.js';
import { dynamoDbRequestListener } from '../../src/local/dynamodb/http.js';
import { COUNTERS_TABLE, TRACKING_TABLE, createTableInput } from '../../functions/lib/table-schemas.js';

const N = Number(process.env.LOCAL_DYNAMODB_BENCH_N ?? 20_000);
const HTTP_N = Math.max(200, Math.floor(N / 10));
const TRACKING = 'bench-EmailTracking';
const COUNTERS = 'bench-Counters';
const require = createRequire(import.meta.url);

function mod(i: number, n: number): number {
  return ((i % n) + n) % n;
}

/** A tracking record of about 1 KB, as the sender writes it. */
function record(i: number): Record<string, unknown> {
  return {
    emailId: { S: `email-${i}` },
    originalEmailId: { S: `email-${i}` },
    retryAttempt: { N: '0' },
    toEmail: { S: `user${mod(i, 500)}@example.com` },
    templateName: { S: 'welcome' },
    status: { S: 'sending' },
    statusRank: { N: '1' },
    originalSource: { S: 'api' },
    timestamp: { S: new Date(Date.UTC(2025, 0, 1) + i).toISOString() },
    datePartition: { S: '2025-01-01' },
    expiresAt: { N: '1767225600' },
    subject: { S: 'Welcome to the service, here is everything you need to know to get started' },
    metadata: {
      M: {
        plan: { S: 'pro' },
        seats: { N: '3' },
        campaign: { S: 'spring-launch-2025' },
        note: { S: 'x'.repeat(420) },
        tags: { L: [{ S: 'onboarding' }, { S: 'transactional' }] },
      },
    },
    request: { M: { to: { S: `user${mod(i, 500)}@example.com` }, templateName: { S: 'welcome' }, data: { M: { name: { S: 'Ada Lovelace' } } } } },
  };
}

interface Operation {
  name: string;
  target: string;
  body: (i: number) => string;
}

const OPERATIONS: Operation[] = [
  {
    name: 'PutItem (claim, attribute_not_exists)',
    target: 'PutItem',
    body: (i) => JSON.stringify({ TableName: TRACKING, Item: record(1_000_000 + i), ConditionExpression: 'attribute_not_exists(emailId)' }),
  },
  {
    name: 'GetItem (consistent)',
    target: 'GetItem',
    body: (i) => JSON.stringify({ TableName: TRACKING, Key: { emailId: { S: `email-${mod(i, 1000)}` } }, ConsistentRead: true }),
  },
  {
    name: 'UpdateItem (markSent, conditional)',
    target: 'UpdateItem',
    body: (i) =>
      JSON.stringify({
        TableName: TRACKING,
        Key: { emailId: { S: `email-${mod(i, 1000)}` } },
        UpdateExpression: 'SET #status = :sent, statusRank = :rank, sesMessageId = :mid, sentAt = :at',
        ConditionExpression: 'attribute_exists(emailId) AND statusRank < :big',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':sent': { S: 'sent' }, ':rank': { N: '2' }, ':big': { N: '9' }, ':mid': { S: `ses-${mod(i, 1000)}` }, ':at': { S: '2025-01-01T00:00:01.000Z' } },
      }),
  },
  {
    name: 'UpdateItem (counters ADD)',
    target: 'UpdateItem',
    body: (i) =>
      JSON.stringify({
        TableName: COUNTERS,
        Key: { pk: { S: `day#2025-01-01#${String(mod(i, 16)).padStart(2, '0')}` } },
        UpdateExpression: 'ADD #c0 :c0, #c1 :c1 SET #exp = if_not_exists(#exp, :exp)',
        ExpressionAttributeNames: { '#c0': 'sent', '#c1': 'delivered', '#exp': 'expiresAt' },
        ExpressionAttributeValues: { ':c0': { N: '1' }, ':c1': { N: '1' }, ':exp': { N: '1767225600' } },
      }),
  },
  {
    name: 'BatchGetItem (10 keys)',
    target: 'BatchGetItem',
    body: (i) =>
      JSON.stringify({
        RequestItems: { [TRACKING]: { Keys: Array.from({ length: 10 }, (_, k) => ({ emailId: { S: `email-${mod(i * 10 + k, 1000)}` } })), ConsistentRead: true } },
      }),
  },
  {
    name: 'Query (ses-message-id-index, Limit 5)',
    target: 'Query',
    body: (i) =>
      JSON.stringify({
        TableName: TRACKING,
        IndexName: 'ses-message-id-index',
        KeyConditionExpression: '#m = :m',
        ExpressionAttributeNames: { '#m': 'sesMessageId' },
        ExpressionAttributeValues: { ':m': { S: `ses-${mod(i, 1000)}` } },
        Limit: 5,
      }),
  },
  {
    name: 'Query (to-email index, newest 10)',
    target: 'Query',
    body: (i) =>
      JSON.stringify({
        TableName: TRACKING,
        IndexName: 'to-email-timestamp-index',
        KeyConditionExpression: 'toEmail = :t',
        ExpressionAttributeValues: { ':t': { S: `user${mod(i, 500)}@example.com` } },
        ScanIndexForward: false,
        Limit: 10,
      }),
  },
];

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function post(agent: Agent, port: number, target: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${target}`,
          'x-amz-date': '20250101T000000Z',
          authorization: 'AWS4-HMAC-SHA256 Credential=bench/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=bench',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function setUp(send: (target: string, body: string) => Promise<number> | number): Promise<void> {
  for (const [name, schema] of [
    [TRACKING, TRACKING_TABLE],
    [COUNTERS, COUNTERS_TABLE],
  ] as const) {
    await send('CreateTable', JSON.stringify(createTableInput(name, schema)));
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (let i = 0; i < 1000; i++) {
    const item = record(i);
    item.sesMessageId = { S: `ses-${i}` };
    const status = await send('PutItem', JSON.stringify({ TableName: TRACKING, Item: item }));
    if (status !== 200) throw new Error(`set-up PutItem answered ${status}`);
  }
}

function row(name: string, perCall: number): string {
  return `  ${name.padEnd(40)} ${perCall.toFixed(1).padStart(9)} µs  ${Math.round(1e6 / perCall).toLocaleString('en-US').padStart(10)} calls/s`;
}

export const benchmark = {
  name: 'local-dynamodb',
  async run(): Promise<void> {
    const db = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000' });
    await setUp((target, body) => db.call(target, body).statusCode);

    console.log(`call() in process, ${N.toLocaleString('en-US')} calls per operation:`);
    const inProcess = new Map<string, number>();
    for (const op of OPERATIONS) {
      const bodies = Array.from({ length: N }, (_, i) => op.body(i));
      // Warm-up calls before the measured ones (negative i: earlier records, so later puts append as time moves on).
      for (let i = 0; i < Math.min(2000, N); i++) db.call(op.target, op.body(-1 - i));
      const start = performance.now();
      for (const body of bodies) {
        const out = db.call(op.target, body);
        if (out.statusCode !== 200) throw new Error(`${op.name} answered ${out.statusCode}: ${out.body}`);
      }
      const perCall = ((performance.now() - start) * 1000) / N;
      inProcess.set(op.name, perCall);
      console.log(row(op.name, perCall));
    }

    const dynalite = (require('dynalite') as (options: object) => Server)({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    const local = createServer(dynamoDbRequestListener(await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000' })));
    const servers = { 'store over HTTP': local, 'dynalite over HTTP': dynalite };
    const results = new Map<string, Map<string, number>>();
    for (const [label, server] of Object.entries(servers)) {
      const port = await listen(server);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      await setUp((target, body) => post(agent, port, target, body));
      console.log(`\n${label}, ${HTTP_N.toLocaleString('en-US')} calls per operation, one at a time:`);
      const perOp = new Map<string, number>();
      for (const op of OPERATIONS) {
        for (let i = 0; i < 100; i++) await post(agent, port, op.target, op.body(-1 - i));
        const start = performance.now();
        for (let i = 0; i < HTTP_N; i++) {
          const status = await post(agent, port, op.target, op.body(i));
          if (status !== 200) throw new Error(`${label} ${op.name} answered ${status}`);
        }
        const perCall = ((performance.now() - start) * 1000) / HTTP_N;
        perOp.set(op.name, perCall);
        console.log(row(op.name, perCall));
      }
      results.set(label, perOp);
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    console.log('\nspeed-up of call() over dynalite over HTTP:');
    for (const op of OPERATIONS) {
      const theirs = results.get('dynalite over HTTP')!.get(op.name)!;
      console.log(`  ${op.name.padEnd(40)} ${(theirs / inProcess.get(op.name)!).toFixed(0).padStart(6)}x`);
    }
    await db.close();
  },
};
