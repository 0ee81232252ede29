import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import {
  AwsJsonError,
  checkEntry,
  entrySize,
  jsonDepth,
  localBuses,
  MAX_DETAIL_DEPTH,
  putEventsResponse,
  validatePutEventsRequest,
} from '../../../src/local/put-events.js';

const FIXTURES = '/work/shared/fixtures/aws/eventbridge';
const buses = localBuses('app-EmailBus', '000000000000', 'us-east-1');
const fixed = { now: () => new Date('2026-03-01T10:20:30.456Z'), newId: () => 'event-1' };

function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { EventBusName: 'app-EmailBus', Source: 'my.app', DetailType: 'Email Request', Detail: '{"to":"a@example.com"}', ...overrides };
}

function requestError(body: unknown, limit?: number): AwsJsonError {
  try {
    validatePutEventsRequest(body, limit);
  } catch (error) {
    return error as AwsJsonError;
  }
  throw new Error('expected a request-level error');
}

describe('PutEvents request validation', () => {
  it('accepts the entries file from the EventBridge user guide', () => {
    const entries = JSON.parse(readFileSync(`${FIXTURES}/putevents-cli-entries.json`, 'utf8')) as unknown[];
    expect(validatePutEventsRequest({ Entries: entries })).toHaveLength(1);
  });

  it('rejects more than 10 entries with a ValidationException', () => {
    const error = requestError({ Entries: Array.from({ length: 11 }, () => entry()) });
    expect(error.type).toBe('ValidationException');
    expect(error.status).toBe(400);
    expect(error.message).toContain('less than or equal to 10');
  });

  it('rejects an empty or missing Entries list', () => {
    expect(requestError({ Entries: [] }).message).toContain('greater than or equal to 1');
    expect(requestError({}).message).toContain('must not be null');
  });

  it('rejects a request whose entries together exceed the size limit', () => {
    const big = entry({ Detail: JSON.stringify({ text: 'x'.repeat(200) }) });
    const error = requestError({ Entries: [big, big] }, 300);
    expect(error.type).toBe('ValidationException');
    expect(error.message).toBe('Total size of the entries in the request is over the limit.');
  });

  it('rejects a body that is not an object as a SerializationException', () => {
    expect(requestError([1, 2]).type).toBe('SerializationException');
    expect(requestError({ Entries: 'x' }).type).toBe('SerializationException');
  });

  it('renders errors as AWS JSON error bodies', () => {
    expect(new AwsJsonError('ValidationException', 'bad').toBody()).toEqual({ __type: 'ValidationException', message: 'bad' });
  });
});

describe('entry size', () => {
  it('counts Time as 14 bytes and the strings in UTF-8 bytes', () => {
    expect(entrySize({ Source: 'ab', DetailType: 'c', Detail: '{"é":1}', Resources: ['r1'] })).toBe(2 + 1 + 8 + 2);
    expect(entrySize({ Time: 1, Source: 'a', DetailType: 'b', Detail: '{}' })).toBe(14 + 1 + 1 + 2);
  });
});

describe('PutEvents entries', () => {
  it.each([
    ['Source', 'Parameter Source is not valid. Reason: Source is a required argument.'],
    ['DetailType', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.'],
    ['Detail', 'Parameter Detail is not valid. Reason: Detail is a required argument.'],
  ])('fails an entry without %s with InvalidArgument', (field, message) => {
    const result = checkEntry(entry({ [field]: undefined }), buses, fixed);
    expect(result).toEqual({ ok: false, ErrorCode: 'InvalidArgument', ErrorMessage: message });
  });

  it.each(['not json', '[1,2]', '"text"', '42', 'null'])('fails Detail %s with MalformedDetail', (detail) => {
    expect(checkEntry(entry({ Detail: detail }), buses, fixed)).toEqual({
      ok: false,
      ErrorCode: 'MalformedDetail',
      ErrorMessage: 'Detail is malformed.',
    });
  });

  it('fails an entry for an unknown event bus', () => {
    const result = checkEntry(entry({ EventBusName: 'other-bus' }), buses, fixed);
    expect(result).toMatchObject({ ok: false, ErrorCode: 'ResourceNotFoundException' });
  });

  it('accepts the engine bus by name and by ARN, and "default" by name, ARN or omission', () => {
    const names = [
      'app-EmailBus',
      'arn:aws:events:eu-west-1:123456789012:event-bus/app-EmailBus',
      'default',
      'arn:aws:events:us-east-1:000000000000:event-bus/default',
      undefined,
    ].map((EventBusName) => {
      const result = checkEntry(entry({ EventBusName }), buses, fixed);
      return result.ok ? result.busName : result.ErrorCode;
    });
    expect(names).toEqual(['app-EmailBus', 'app-EmailBus', 'default', 'default', 'default']);
  });

  it('builds the event envelope EventBridge delivers to targets', () => {
    const envelope = JSON.parse(readFileSync(`${FIXTURES}/eventbridge-event-envelope-example-ec2.json`, 'utf8')) as object;
    const result = checkEntry(entry({ Resources: ['r1'] }), buses, fixed);
    if (!result.ok) throw new Error('expected success');
    expect(Object.keys(result.event).sort()).toEqual(Object.keys(envelope).sort());
    expect(result.event).toEqual({
      version: '0',
      id: 'event-1',
      'detail-type': 'Email Request',
      source: 'my.app',
      account: '000000000000',
      time: '2026-03-01T10:20:30Z',
      region: 'us-east-1',
      resources: ['r1'],
      detail: { to: 'a@example.com' },
    });
  });

  it('takes Time as epoch seconds (what the SDKs send) or as an ISO string', () => {
    const fromEpoch = checkEntry(entry({ Time: 1767225600 }), buses, fixed);
    const fromIso = checkEntry(entry({ Time: '2026-01-01T00:00:00Z' }), buses, fixed);
    expect(fromEpoch.ok && fromEpoch.event.time).toBe('2026-01-01T00:00:00Z');
    expect(fromIso.ok && fromIso.event.time).toBe('2026-01-01T00:00:00Z');
    expect(checkEntry(entry({ Time: 'yesterday' }), buses, fixed)).toMatchObject({ ok: false, ErrorCode: 'InvalidArgument' });
  });

  it('fails over-long DetailType and Source values', () => {
    expect(checkEntry(entry({ DetailType: 'x'.repeat(129) }), buses, fixed)).toMatchObject({ ErrorCode: 'InvalidArgument' });
    expect(checkEntry(entry({ Source: 'x'.repeat(257) }), buses, fixed)).toMatchObject({ ErrorCode: 'InvalidArgument' });
  });
});

describe('Detail nesting', () => {
  const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

  it('counts nesting without parsing, ignoring brackets inside strings', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[{{"}]}')).toBe(3);
    expect(jsonDepth('{"a":"\\"}')).toBe(1);
    expect(jsonDepth('"x"')).toBe(0);
    expect(jsonDepth(nested(5000))).toBe(5000);
  });

  it('accepts a Detail nested exactly as deep as the service allows', () => {
    expect(checkEntry(entry({ Detail: nested(MAX_DETAIL_DEPTH) }), buses, fixed).ok).toBe(true);
  });

  it('fails a Detail nested 5,000 levels deep as MalformedDetail, without throwing', () => {
    const result = checkEntry(entry({ Detail: nested(5000) }), buses, fixed);
    expect(result).toMatchObject({ ok: false, ErrorCode: 'MalformedDetail' });
    expect(checkEntry(entry({ Detail: nested(MAX_DETAIL_DEPTH + 1) }), buses, fixed).ok).toBe(false);
  });
});

describe('PutEvents response', () => {
  it('has the shape of the partial-failure example: FailedEntryCount and results in request order', () => {
    const example = JSON.parse(readFileSync(`${FIXTURES}/putevents-response-partial-failure.json`, 'utf8')) as {
      FailedEntryCount: number;
      Entries: object[];
    };
    const good = checkEntry(entry(), buses, { ...fixed, newId: () => 'id-a' });
    const bad = { ok: false as const, ErrorCode: 'InternalFailure', ErrorMessage: 'Internal Service Failure' };
    const good2 = checkEntry(entry(), buses, { ...fixed, newId: () => 'id-b' });
    const response = putEventsResponse([good, bad, good2]);
    expect(response.FailedEntryCount).toBe(example.FailedEntryCount);
    expect(response.Entries.map((e) => Object.keys(e))).toEqual(example.Entries.map((e) => Object.keys(e)));
    expect(response.Entries[0]).toEqual({ EventId: 'id-a' });
  });
});
