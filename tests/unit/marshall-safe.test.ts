import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { marshallSafe, marshallSafeItem } from '../../functions/lib/marshall-safe.js';
import { storable } from '../../functions/lib/tracking-store.js';

/**
 * The document client's marshaller picks attribute types from `value.constructor.name` and
 * calls `toString`/`valueOf`; caller data whose own keys shadow those names must survive a
 * write and a read unchanged once it goes through marshallSafe.
 */

const OPTIONS = { removeUndefinedValues: true, convertClassInstanceToMap: false };
const roundTrip = (value: unknown) => unmarshall(marshall({ v: marshallSafe(value) }, OPTIONS)).v;
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).filter((name) => name !== '__proto__');
const RESERVED = ['length', 'name', 'prototype', 'then', 'size', 'entries', 'keys', 'values', 'get', 'set', 'has', 'default', 'class', 'function', 'null', 'undefined', 'NaN'];

describe('marshallSafe', () => {
  it.each([
    ['{"constructor":"x"}', { userName: 'A', constructor: 'x' }],
    ['{"constructor":{"name":"String"}}', { form: { constructor: { name: 'String' } } }],
    ['{"constructor":{"name":"Set"}}', { a: { constructor: { name: 'Set' } } }],
    ['{"constructor":{"name":"Map"}}', { a: { constructor: { name: 'Map' } } }],
    ['{"constructor":{"name":"Number"}}', { a: { constructor: { name: 'Number' } } }],
    ['{"constructor":{"name":"Boolean"},"valueOf":1}', { a: { constructor: { name: 'Boolean' }, valueOf: 1 } }],
  ])('keeps %s, which the plain marshaller throws on or changes', (_label, value) => {
    let plain: unknown;
    try {
      plain = unmarshall(marshall({ v: value }, OPTIONS)).v;
    } catch (error) {
      plain = error;
    }
    expect(isDeepStrictEqual(plain, value)).toBe(false);
    expect(isDeepStrictEqual(roundTrip(value), value)).toBe(true);
  });

  it('leaves the item itself a plain object and its scalars as they are', () => {
    const item = marshallSafeItem({ emailId: 'e-1', retryAttempt: 0, metadata: { constructor: 'x' }, tags: ['a'] });
    expect(Object.keys(item)).toEqual(['emailId', 'retryAttempt', 'metadata', 'tags']);
    expect(item.emailId).toBe('e-1');
    expect(item.metadata).toBeInstanceOf(Map);
  });

  it('round-trips any JSON with keys from Object.prototype and reserved words', () => {
    const key = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, ...RESERVED), fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'));
    const { json } = fc.letrec<{ json: unknown }>((tie) => ({
      json: fc.oneof(
        { maxDepth: 5 },
        fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
        fc.array(tie('json'), { maxLength: 4 }),
        fc.dictionary(key, tie('json'), { maxKeys: 5 }),
      ),
    }));
    fc.assert(
      fc.property(fc.dictionary(key, json, { maxKeys: 6 }), (value) => {
        const expected = storable(value);
        return isDeepStrictEqual(roundTrip(expected), expected);
      }),
      { numRuns: 300, seed: 17_001 },
    );
  });
});
