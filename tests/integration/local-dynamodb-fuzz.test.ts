/**
 * The local DynamoDB store under random and adversarial request bodies: whatever the body,
 * call() answers (never throws), with JSON and status 200, 400 or 500, quickly; and the
 * store stays usable afterwards (a table created before the fuzzing still reads back).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { LocalDynamoDb } from '../../src/local/dynamodb/store.js';

const OPERATIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'ListTagsOfResource',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'TransactGetItems',
  'TransactWriteItems',
  'UntagResource',
  'UpdateItem',
  'UpdateTimeToLive',
] as const;

const TABLE = 'Fuzzed';
const NAMES = ['pk', 'sk', 'gsi', 'a', 'b', 'l', 'm', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'S', 'N', 'L', 'M'];

const name = fc.constantFrom(...NAMES);
const scalar = fc.oneof(
  fc.record({ S: fc.oneof(fc.string(), fc.constantFrom('', 'x')) }),
  fc.record({ N: fc.oneof(fc.constantFrom('1', '-0', '1e125', '1e126', '0.0001', 'abc', '', '1'.repeat(40)), fc.double().map(String)) }),
  fc.record({ B: fc.constantFrom('', 'AA==', 'not base64', 'AQID') }),
  fc.record({ BOOL: fc.boolean() }),
  fc.constant({ NULL: true }),
  fc.record({ SS: fc.array(fc.string(), { maxLength: 3 }) }),
  fc.record({ NS: fc.array(fc.constantFrom('1', '2', '01', 'x'), { maxLength: 3 }) }),
);
const { value: attributeValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.record({ L: fc.array(tie('value'), { maxLength: 3 }) }),
    fc.dictionary(name, tie('value'), { maxKeys: 3 }).map((M) => ({ M })),
    fc.anything(),
  ),
}));
const item = fc.dictionary(name, attributeValue, { maxKeys: 4 });
const key = fc.oneof(
  fc.record({ pk: scalar }),
  fc.record({ pk: fc.record({ S: fc.constantFrom('p1', 'p2') }), sk: fc.record({ N: fc.constantFrom('1', '2', '3') }) }),
  item,
);
const expression = fc.oneof(
  fc.constantFrom(
    'SET a = :v',
    'SET l[4294967294] = :v',
    'SET #n = if_not_exists(#n, :v) + :v',
    'REMOVE a, l[0]',
    'ADD a :v',
    'DELETE a :v',
    'attribute_exists(#n)',
    'attribute_not_exists(pk) OR a < :v',
    'pk = :v',
    'pk = :v AND sk BETWEEN :v AND :v',
    'begins_with(a, :v)',
    'size(l) > :v',
    '#n IN (:v, :v)',
    'a, l[0], m.#n',
    `${'('.repeat(3000)}a = :v${')'.repeat(3000)}`,
    Array.from({ length: 3000 }, () => 'a = :v').join(' AND '),
  ),
  fc.string({ maxLength: 40 }),
);
const names = fc.oneof(fc.constant(undefined), fc.dictionary(fc.constantFrom('#n', '#x', '__proto__', 'constructor', '#'), name, { maxKeys: 2 }));
const values = fc.oneof(fc.constant(undefined), fc.dictionary(fc.constantFrom(':v', ':w', '__proto__', ':'), attributeValue, { maxKeys: 2 }));
const tableName = fc.oneof(fc.constantFrom(TABLE, TABLE, 'Missing', '__proto__', 'constructor', 'ab', ''), fc.anything());

/** A body shaped like the operation's request, with any member possibly wrong. */
const request = fc.record(
  {
    TableName: tableName,
    Key: key,
    Item: item,
    ExclusiveStartKey: key,
    Limit: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.anything()),
    IndexName: fc.constantFrom('byGsi', 'missing', '__proto__'),
    Select: fc.constantFrom('ALL_ATTRIBUTES', 'COUNT', 'SPECIFIC_ATTRIBUTES', 'ALL_PROJECTED_ATTRIBUTES', 'X'),
    ScanIndexForward: fc.boolean(),
    ConsistentRead: fc.oneof(fc.boolean(), fc.anything()),
    Segment: fc.integer({ min: -1, max: 4 }),
    TotalSegments: fc.integer({ min: 0, max: 4 }),
    ReturnValues: fc.constantFrom('ALL_OLD', 'ALL_NEW', 'UPDATED_OLD', 'UPDATED_NEW', 'NONE', 'X'),
    ReturnConsumedCapacity: fc.constantFrom('TOTAL', 'INDEXES', 'NONE'),
    ReturnValuesOnConditionCheckFailure: fc.constantFrom('ALL_OLD', 'NONE'),
    UpdateExpression: expression,
    ConditionExpression: expression,
    KeyConditionExpression: expression,
    FilterExpression: expression,
    ProjectionExpression: expression,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    AttributesToGet: fc.array(name, { maxLength: 3 }),
    RequestItems: fc.dictionary(
      fc.oneof(fc.constantFrom(TABLE, '__proto__', 'constructor'), fc.string()),
      fc.oneof(
        fc.array(fc.oneof(fc.record({ PutRequest: fc.record({ Item: item }) }), fc.record({ DeleteRequest: fc.record({ Key: key }) }), fc.anything()), { maxLength: 4 }),
        fc.record({ Keys: fc.array(key, { maxLength: 4 }), ProjectionExpression: expression }, { requiredKeys: [] }),
        fc.anything(),
      ),
      { maxKeys: 2 },
    ),
    TransactItems: fc.array(
      fc.oneof(
        fc.record({ Put: fc.record({ TableName: tableName, Item: item, ConditionExpression: expression }, { requiredKeys: ['TableName'] }) }),
        fc.record({ Update: fc.record({ TableName: tableName, Key: key, UpdateExpression: expression, ExpressionAttributeValues: values }, { requiredKeys: ['TableName'] }) }),
        fc.record({ Delete: fc.record({ TableName: tableName, Key: key }) }),
        fc.record({ ConditionCheck: fc.record({ TableName: tableName, Key: key, ConditionExpression: expression }) }),
        fc.record({ Get: fc.record({ TableName: tableName, Key: key }) }),
        fc.anything(),
      ),
      { maxLength: 4 },
    ),
    ResourceArn: fc.constantFrom(`arn:aws:dynamodb:us-east-1:000000000000:table/${TABLE}`, 'arn:x', '', 'a:b:c:d:e:f/g'),
    Tags: fc.oneof(fc.array(fc.oneof(fc.record({ Key: fc.string(), Value: fc.string() }), fc.anything()), { maxLength: 2 }), fc.anything()),
    TagKeys: fc.oneof(fc.array(fc.string(), { maxLength: 2 }), fc.anything()),
    TimeToLiveSpecification: fc.record({ AttributeName: fc.oneof(name, fc.anything()), Enabled: fc.oneof(fc.boolean(), fc.anything()) }, { requiredKeys: [] }),
    AttributeDefinitions: fc.array(fc.record({ AttributeName: name, AttributeType: fc.constantFrom('S', 'N', 'B', 'X') }), { maxLength: 3 }),
    KeySchema: fc.array(fc.record({ AttributeName: name, KeyType: fc.constantFrom('HASH', 'RANGE', 'X') }), { maxLength: 3 }),
    BillingMode: fc.constantFrom('PAY_PER_REQUEST', 'PROVISIONED'),
  },
  { requiredKeys: [] },
);

/** Bodies that are not requests at all: not JSON, other JSON types, members of every wrong type. */
const strangeBody = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.json(),
  fc.constantFrom('', '{', 'null', '[]', '"x"', '{"__proto__":{"TableName":"Fuzzed"}}', `${'['.repeat(100000)}${']'.repeat(100000)}`),
  fc.dictionary(fc.constantFrom('TableName', 'Key', 'Item', 'RequestItems', 'TransactItems', 'ExpressionAttributeNames', 'ExpressionAttributeValues', '__proto__'), fc.anything(), { maxKeys: 4 }).map((o) => JSON.stringify(o)),
);

const body = fc.oneof({ weight: 4, arbitrary: request.map((r) => JSON.stringify(r)) }, { weight: 1, arbitrary: strangeBody });

let db: LocalDynamoDb;

function answerOf(operation: string, text: string): { statusCode: number; parsed: Record<string, unknown> } {
  const answer = db.call(operation, text);
  expect([200, 400, 500]).toContain(answer.statusCode);
  const parsed = JSON.parse(answer.body) as Record<string, unknown>;
  expect(typeof parsed).toBe('object');
  if (answer.statusCode !== 200) expect(typeof parsed.__type).toBe('string');
  return { statusCode: answer.statusCode, parsed };
}

beforeAll(async () => {
  db = await LocalDynamoDb.open({ region: 'us-east-1', account: '000000000000' });
  const created = db.call(
    'CreateTable',
    JSON.stringify({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
        { AttributeName: 'gsi', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [{ IndexName: 'byGsi', KeySchema: [{ AttributeName: 'gsi', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
    }),
  );
  expect(created.statusCode).toBe(200);
  db.call('PutItem', JSON.stringify({ TableName: TABLE, Item: { pk: { S: 'p1' }, sk: { N: '1' }, gsi: { S: 'g' }, l: { L: [{ S: 'x' }] } } }));
});

afterAll(async () => {
  await db.close();
});

describe('the local DynamoDB store under fuzzed requests', () => {
  it('answers every body of every operation with JSON and 200, 400 or 500, each within a second', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPERATIONS, 'NoSuchOperation', '__proto__', 'constructor'), body, (operation, text) => {
        const started = performance.now();
        answerOf(operation, text);
        expect(performance.now() - started).toBeLessThan(1000);
      }),
      { numRuns: 3000, seed: 20260101 },
    );
  });

  it('keeps answering random bodies with a random seed, and stays usable afterwards', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPERATIONS), body, (operation, text) => {
        answerOf(operation, text);
      }),
      { numRuns: 1500 },
    );
    const put = answerOf('PutItem', JSON.stringify({ TableName: 'AfterFuzz', Item: { pk: { S: 'x' } } }));
    expect(put.statusCode).toBe(400);
    const created = answerOf(
      'CreateTable',
      JSON.stringify({ TableName: 'AfterFuzz', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }),
    );
    expect(created.statusCode).toBe(200);
    answerOf('PutItem', JSON.stringify({ TableName: 'AfterFuzz', Item: { pk: { S: 'x' }, v: { N: '1' } } }));
    expect(answerOf('GetItem', JSON.stringify({ TableName: 'AfterFuzz', Key: { pk: { S: 'x' } } })).parsed).toEqual({ Item: { pk: { S: 'x' }, v: { N: '1' } } });
  });

  it('answers a Scan of every table after the fuzzing: no stored item breaks a read', () => {
    const tables = answerOf('ListTables', '{}').parsed.TableNames as string[];
    for (const table of tables) {
      const scan = answerOf('Scan', JSON.stringify({ TableName: table, ReturnConsumedCapacity: 'INDEXES' }));
      expect(scan.statusCode).toBe(200);
    }
  });
});
