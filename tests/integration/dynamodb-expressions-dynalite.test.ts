import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue as SdkAttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  ExpressionUsage,
  parseCondition,
  parseUpdate,
  type AttributeValue,
  type ExpressionInputs,
  type Item,
} from '../../src/local/dynamodb/expressions.js';

/**
 * Differential check: the same condition and update expressions run through dynalite (over
 * HTTP, as the engine would use it) and through the in-memory evaluator, and the outcomes —
 * the new item, a failed condition, or the ValidationException message — must agree.
 * dynalite words syntax errors differently from DynamoDB, so for those only the prefix
 * "Invalid <Kind>: Syntax error;" is compared.
 */

const require = createRequire(import.meta.url);
const TABLE = 'expressions';

let server: Server;
let client: DynamoDBClient;

beforeAll(async () => {
  const dynalite = require('dynalite') as (options: object) => Server;
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

type Outcome = { item: Item } | { conditionFailed: true } | { error: string };

interface Case {
  seed?: Item;
  update?: string;
  condition?: string;
  names?: Record<string, string>;
  values?: Record<string, AttributeValue>;
}

let caseNumber = 0;

async function viaDynalite(c: Case, pk: string): Promise<Outcome> {
  const key = { pk: { S: pk } };
  if (c.seed) await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...c.seed, ...key } as Record<string, SdkAttributeValue> }));
  try {
    if (c.update === undefined) {
      // A condition alone: a put of the same item, guarded by it.
      await client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { ...(c.seed ?? {}), ...key } as Record<string, SdkAttributeValue>,
          ConditionExpression: c.condition,
          ExpressionAttributeNames: c.names,
          ExpressionAttributeValues: c.values as Record<string, SdkAttributeValue> | undefined,
        }),
      );
      return { item: { ...(c.seed ?? {}), ...key } };
    }
    const result = await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key,
        UpdateExpression: c.update,
        ConditionExpression: c.condition,
        ExpressionAttributeNames: c.names,
        ExpressionAttributeValues: c.values as Record<string, SdkAttributeValue> | undefined,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { item: (result.Attributes ?? {}) as Item };
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ConditionalCheckFailedException') return { conditionFailed: true };
    return { error: e.message };
  }
}

function viaEvaluator(c: Case, pk: string): Outcome {
  const inputs: ExpressionInputs = { names: c.names, values: c.values };
  const existing = c.seed ? { ...c.seed, pk: { S: pk } } : undefined;
  try {
    const usage = new ExpressionUsage(inputs);
    // DynamoDB reads UpdateExpression before ConditionExpression, and checks for unused inputs last.
    const update = c.update === undefined ? undefined : parseUpdate(c.update, inputs, usage);
    const condition = c.condition === undefined ? undefined : parseCondition(c.condition, inputs, usage, 'ConditionExpression');
    usage.assertAllUsed();
    if (condition && !condition.test(existing)) return { conditionFailed: true };
    const base = existing ?? { pk: { S: pk } };
    return { item: update ? update.apply(base).item : base };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function comparable(outcome: Outcome): Outcome {
  if ('error' in outcome) {
    const syntax = /^(Invalid \w+: Syntax error;)/.exec(outcome.error);
    return syntax ? { error: `${syntax[1]} …` } : outcome;
  }
  if ('item' in outcome) return { item: JSON.parse(JSON.stringify(outcome.item)) as Item };
  return outcome;
}

const s = (S: string): AttributeValue => ({ S });
const n = (N: string): AttributeValue => ({ N });

const seed: Item = {
  name1: s('alpha'),
  qty: n('5'),
  big: n('99999999999999999999999999999999999999'),
  tags: { SS: ['a', 'b'] },
  nums: { NS: ['1', '2'] },
  arr: { L: [s('x'), n('1'), { M: { deep: s('d') } }] },
  doc: { M: { core: { M: { leaf: n('7') } }, word: s('hello') } },
  flag: { BOOL: true },
  nothing: { NULL: true },
};

const cases: Record<string, Case> = {
  // Conditions
  'attribute_not_exists on a new item': { condition: 'attribute_not_exists(pk)' },
  'attribute_exists on a new item': { condition: 'attribute_exists(pk)' },
  'equality on a string': { seed, condition: 'name1 = :v', values: { ':v': s('alpha') } },
  'inequality across types': { seed, condition: 'name1 <> :v', values: { ':v': n('1') } },
  'less than across types is false': { seed, condition: 'name1 < :v', values: { ':v': n('1') } },
  'number ordering is numeric': { seed, condition: 'qty > :v', values: { ':v': n('10') } },
  'BETWEEN inside the bounds': { seed, condition: 'qty BETWEEN :lo AND :hi', values: { ':lo': n('1'), ':hi': n('5') } },
  'IN a list of values': { seed, condition: 'name1 IN (:a, :b)', values: { ':a': s('beta'), ':b': s('alpha') } },
  // (NOT false) AND false fails; NOT (false AND false) would pass.
  'NOT binds tighter than AND': {
    seed,
    condition: 'NOT name1 = :a AND qty = :c',
    values: { ':a': s('zzz'), ':c': n('6') },
  },
  // true OR (true AND false) passes; (true OR true) AND false would fail.
  'AND binds tighter than OR': {
    seed,
    condition: 'name1 = :yes OR qty = :c AND flag = :f',
    values: { ':yes': s('alpha'), ':c': n('5'), ':f': { BOOL: false } },
  },
  'parentheses override precedence': {
    seed,
    condition: '(name1 = :yes OR qty = :c) AND flag = :f',
    values: { ':yes': s('alpha'), ':c': n('5'), ':f': { BOOL: false } },
  },
  'keywords in any case': { seed, condition: 'name1 = :a and not (qty < :c) or flag = :t', values: { ':a': s('alpha'), ':c': n('1'), ':t': { BOOL: true } } },
  'begins_with a prefix': { seed, condition: 'begins_with(name1, :p)', values: { ':p': s('alp') } },
  'contains a set member': { seed, condition: 'contains(tags, :t)', values: { ':t': s('b') } },
  'contains a substring': { seed, condition: 'contains(doc.word, :t)', values: { ':t': s('ell') } },
  'size of a list compared': { seed, condition: 'size(arr) = :three', values: { ':three': n('3') } },
  'attribute_type of a map': { seed, condition: 'attribute_type(doc, :m)', values: { ':m': s('M') } },
  'nested path with an index': { seed, condition: 'arr[2].deep = :d', values: { ':d': s('d') } },
  'names stand in for reserved words': { seed, condition: '#n.#i.leaf = :v', names: { '#n': 'doc', '#i': 'core' }, values: { ':v': n('7') } },
  'equal sets ignore order': { seed, condition: 'tags = :t', values: { ':t': { SS: ['b', 'a'] } } },
  // Condition errors
  'reserved word as a bare name': { seed, condition: 'status = :v', values: { ':v': s('x') } },
  'undefined attribute name': { seed, condition: '#nope = :v', values: { ':v': s('x') } },
  'undefined attribute value': { seed, condition: 'name1 = :nope' },
  'unused attribute name': { seed, condition: 'name1 = :v', names: { '#unused': 'x' }, values: { ':v': s('x') } },
  'unused attribute value': { seed, condition: 'name1 = :v', values: { ':v': s('x'), ':extra': s('y') } },
  'unknown function': { seed, condition: 'foo(name1)' },
  'misused function': { seed, condition: 'attribute_exists(name1) = :v', values: { ':v': s('x') } },
  'size as a condition': { seed, condition: 'size(name1)' },
  'wrong number of operands': { seed, condition: 'begins_with(name1)' },
  'attribute_exists on a value': { seed, condition: 'attribute_exists(:v)', values: { ':v': s('x') } },
  'begins_with a number': { seed, condition: 'begins_with(name1, :v)', values: { ':v': n('1') } },
  'attribute_type with an unknown type': { seed, condition: 'attribute_type(name1, :v)', values: { ':v': s('X') } },
  'attribute_type with a number': { seed, condition: 'attribute_type(name1, :v)', values: { ':v': n('1') } },
  'size of a number value': { seed, condition: 'size(:v) > :v', values: { ':v': n('1') } },
  'same operand twice': { seed, condition: 'name1 = name1' },
  'BETWEEN bounds of two types': { seed, condition: 'qty BETWEEN :a AND :b', values: { ':a': n('1'), ':b': s('x') } },
  'BETWEEN bounds reversed': { seed, condition: 'qty BETWEEN :a AND :b', values: { ':a': n('9'), ':b': n('1') } },
  'redundant parentheses': { seed, condition: '((name1 = :v))', values: { ':v': s('x') } },
  'dangling AND': { seed, condition: 'name1 = :v AND', values: { ':v': s('x') } },
  'a bare operand': { seed, condition: 'name1' },
  // Updates
  'SET a value': { seed, update: 'SET fresh = :v', values: { ':v': s('new') } },
  'SET arithmetic on big integers is exact': { seed, update: 'SET big = big + :one', values: { ':one': n('1') } },
  'SET subtraction to a negative': { seed, update: 'SET qty = qty - :ten', values: { ':ten': n('10') } },
  'SET decimal arithmetic': { seed, update: 'SET qty = :a + :b', values: { ':a': n('0.1'), ':b': n('0.2') } },
  'SET if_not_exists keeps an existing value': { seed, update: 'SET qty = if_not_exists(qty, :z)', values: { ':z': n('0') } },
  'SET if_not_exists fills a missing value': { seed, update: 'SET extra = if_not_exists(extra, :z)', values: { ':z': n('0') } },
  'SET list_append at both ends': {
    seed,
    update: 'SET arr = list_append(:front, arr), more = list_append(arr, :back)',
    values: { ':front': { L: [s('f')] }, ':back': { L: [s('b')] } },
  },
  'SET a nested map key': { seed, update: 'SET doc.core.extra = :v', values: { ':v': s('o') } },
  'SET a list index past the end appends': { seed, update: 'SET arr[10] = :v', values: { ':v': s('end') } },
  'SET copies another attribute': { seed, update: 'SET dup = doc.word' },
  'REMOVE attributes and a nested key': { seed, update: 'REMOVE name1, doc.core.leaf' },
  'REMOVE one list element': { seed, update: 'REMOVE arr[1]' },
  'REMOVE a missing attribute changes nothing': { seed, update: 'REMOVE absent' },
  'SET two list indexes past the end': { seed, update: 'SET arr[9] = :b, arr[7] = :a', values: { ':a': s('a'), ':b': s('b') } },
  'SET a list element in place': { seed, update: 'SET arr[0] = :v', values: { ':v': { M: { k: s('v') } } } },
  'SET arithmetic reads the item before the update': { seed, update: 'SET qty = :ten, big = qty + :ten', values: { ':ten': n('10') } },
  'SET nested arithmetic path': { seed, update: 'SET doc.core.leaf = doc.core.leaf + :one', values: { ':one': n('1') } },
  'SET inside a list element map': { seed, update: 'SET arr[2].deep = :v', values: { ':v': s('e') } },
  'SET a parenthesised sum': { seed, update: 'SET qty = (qty + :one)', values: { ':one': n('1') } },
  'ADD to a number set': { seed, update: 'ADD nums :n', values: { ':n': { NS: ['3', '1'] } } },
  'ADD a set to a missing attribute': { seed, update: 'ADD fresh :t', values: { ':t': { SS: ['q'] } } },
  'DELETE from a missing attribute': { seed, update: 'DELETE fresh :t', values: { ':t': { SS: ['q'] } } },
  'DELETE a set from a string': { seed, update: 'DELETE name1 :t', values: { ':t': { SS: ['q'] } } },
  'REMOVE under a list index of a map': { seed, update: 'REMOVE doc[0]' },
  'list_append with a missing list': { seed, update: 'SET arr = list_append(absent, :l)', values: { ':l': { L: [] } } },
  'two undefined names report the first': { seed, update: 'SET #x = :v, #y = :w' },
  'a name used only in the condition counts as used': {
    seed,
    update: 'SET fresh = :v',
    condition: 'attribute_exists(#n)',
    names: { '#n': 'name1' },
    values: { ':v': s('x') },
  },
  'ADD to a number': { seed, update: 'ADD qty :n', values: { ':n': n('-7') } },
  'ADD to a missing number starts at zero': { seed, update: 'ADD tally :n', values: { ':n': n('3') } },
  'ADD to a string set': { seed, update: 'ADD tags :t', values: { ':t': { SS: ['b', 'c'] } } },
  'DELETE from a set': { seed, update: 'DELETE nums :n', values: { ':n': { NS: ['1'] } } },
  'DELETE the last members removes the set': { seed, update: 'DELETE tags :t', values: { ':t': { SS: ['a', 'b'] } } },
  'clauses in any order': {
    seed,
    update: 'REMOVE flag ADD qty :one SET name1 = :v DELETE tags :t',
    values: { ':one': n('1'), ':v': s('z'), ':t': { SS: ['a'] } },
  },
  'the engine counter update': {
    update: 'ADD #c0 :c0, #c1 :c1 SET #exp = if_not_exists(#exp, :exp)',
    names: { '#c0': 'sent', '#c1': 'delivered', '#exp': 'expiresAt' },
    values: { ':c0': n('1'), ':c1': n('2'), ':exp': n('1767225600') },
  },
  'update guarded by a passing condition': {
    seed,
    update: 'SET #s = :sent, statusRank = :rank',
    condition: 'attribute_exists(pk) AND (attribute_not_exists(statusRank) OR statusRank < :rank)',
    names: { '#s': 'status' },
    values: { ':sent': s('sent'), ':rank': n('2') },
  },
  'update guarded by a failing condition': { seed, update: 'SET x = :v', condition: 'qty > :v', values: { ':v': n('100') } },
  // Update errors
  'SET section twice': { seed, update: 'SET a = :v SET b = :v', values: { ':v': s('x') } },
  'overlapping paths': { seed, update: 'SET a = :v REMOVE a', values: { ':v': s('x') } },
  'parent and child paths overlap': { seed, update: 'SET doc.word = :v REMOVE doc', values: { ':v': s('x') } },
  'conflicting paths': { seed, update: 'SET arr[0] = :v, arr.a = :v', values: { ':v': s('x') } },
  'nested SET under a missing parent': { seed, update: 'SET absent.child = :v', values: { ':v': s('x') } },
  'arithmetic on a string': { seed, update: 'SET name1 = name1 + :v', values: { ':v': n('1') } },
  'arithmetic with a string value': { seed, update: 'SET qty = qty + :v', values: { ':v': s('1') } },
  'list_append of a string value': { seed, update: 'SET arr = list_append(arr, :v)', values: { ':v': s('x') } },
  'list_append of a non-list attribute': { seed, update: 'SET arr = list_append(name1, :v)', values: { ':v': { L: [] } } },
  'ADD a string': { seed, update: 'ADD name1 :v', values: { ':v': s('x') } },
  'DELETE a number': { seed, update: 'DELETE qty :v', values: { ':v': n('1') } },
  'ADD a number to a string attribute': { seed, update: 'ADD name1 :v', values: { ':v': n('1') } },
  'SET from a missing attribute': { seed, update: 'SET a = nope' },
  'unknown update function': { seed, update: 'SET a = size(name1)' },
  'if_not_exists on a value': { seed, update: 'SET a = if_not_exists(:v, :v)', values: { ':v': s('x') } },
  'reserved word in an update': { seed, update: 'SET name = :v', values: { ':v': s('x') } },
  'undefined name in an update': { seed, update: 'SET #x = :v', values: { ':v': s('x') } },
  'update syntax error': { seed, update: 'SET a = :v b', values: { ':v': s('x') } },
  'update without a clause': { seed, update: 'a = :v', values: { ':v': s('x') } },
};

describe('the in-memory evaluator agrees with dynalite', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const pk = `case-${++caseNumber}`;
      const expected = comparable(await viaDynalite(c, pk));
      const actual = comparable(viaEvaluator(c, pk));
      expect(actual).toEqual(expected);
    });
  }
});
