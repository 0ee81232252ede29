import { describe, it, expect, jest } from '@jest/globals';
import type { StackEvent } from '@aws-sdk/client-cloudformation';
import { StackProgress, fetchNewEvents, waitForStack } from '../../../src/aws/stack-progress.js';
import type { CloudFormationApi, StackDescription } from '../../../src/aws/cloudformation.js';
import { StackStatus } from '../../../src/aws/stack-status.js';

const START = new Date('2026-03-01T10:00:00Z');
let n = 0;
function event(logicalId: string, status: string, opts: { type?: string; reason?: string; at?: number; token?: string } = {}): StackEvent {
  return {
    StackId: 'id',
    StackName: 'sme',
    EventId: `e${++n}`,
    LogicalResourceId: logicalId,
    ResourceType: opts.type ?? (logicalId === 'sme' ? 'AWS::CloudFormation::Stack' : 'AWS::SQS::Queue'),
    ResourceStatus: status as StackEvent['ResourceStatus'],
    ...(opts.reason ? { ResourceStatusReason: opts.reason } : {}),
    Timestamp: new Date(START.getTime() + (opts.at ?? n) * 1000),
    ...(opts.token ? { ClientRequestToken: opts.token } : {}),
  };
}

describe('StackProgress', () => {
  it('lists the resources a delete kept (DELETE_SKIPPED), with their physical ids', () => {
    const p = new StackProgress({ stackName: 'sme', startTime: START, total: 2 });
    expect(p.started).toBe(false);
    p.accept([
      { ...event('Table', 'DELETE_SKIPPED', { type: 'AWS::DynamoDB::Table' }), PhysicalResourceId: 'sme-Suppression' },
      event('Queue', 'DELETE_COMPLETE'),
    ]);
    expect(p.started).toBe(true);
    expect(p.retained).toEqual([{ logicalId: 'Table', type: 'AWS::DynamoDB::Table', physicalId: 'sme-Suppression' }]);
    expect(p.counter).toBe('2/2 resources');
  });

  it('counts resources whose latest event finished them, not the stack itself', () => {
    const p = new StackProgress({ stackName: 'sme', startTime: START, total: 3 });
    p.accept([event('sme', 'CREATE_IN_PROGRESS'), event('A', 'CREATE_IN_PROGRESS'), event('B', 'CREATE_IN_PROGRESS')]);
    expect(p.counter).toBe('0/3 resources');
    p.accept([event('A', 'CREATE_COMPLETE'), event('B', 'CREATE_COMPLETE'), event('C', 'CREATE_IN_PROGRESS')]);
    expect(p.counter).toBe('2/3 resources');
  });

  it('returns new events oldest first and ignores repeats', () => {
    const p = new StackProgress({ stackName: 'sme', startTime: START, total: 1 });
    const a = event('A', 'CREATE_IN_PROGRESS', { at: 1 });
    const b = event('A', 'CREATE_COMPLETE', { at: 2 });
    expect(p.accept([b, a]).map((e) => e.status)).toEqual(['CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
    expect(p.accept([b, a])).toEqual([]);
  });

  it('keeps CloudFormation\'s order for events of the same second (no re-sorting by time)', () => {
    const p = new StackProgress({ stackName: 'sme', startTime: START, total: 1 });
    const inProgress = event('Zeta', 'CREATE_IN_PROGRESS', { at: 7 });
    const complete = event('Zeta', 'CREATE_COMPLETE', { at: 7 });
    complete.EventId = 'a-sorts-first';
    expect(p.accept([complete, inProgress]).map((e) => e.status)).toEqual(['CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
    expect(p.counter).toBe('1/1 resources');
  });

  it('keeps root causes and drops the resources merely cancelled because of them', () => {
    const p = new StackProgress({ stackName: 'sme', startTime: START, total: 3 });
    p.accept([
      event('Fn', 'CREATE_FAILED', { type: 'AWS::Lambda::Function', reason: 'S3 Error Code: NoSuchKey' }),
      event('Q', 'CREATE_FAILED', { reason: 'Resource creation cancelled' }),
      event('sme', 'ROLLBACK_IN_PROGRESS', { reason: 'The following resource(s) failed to create: [Fn].' }),
    ]);
    expect(p.failures).toEqual([{ logicalId: 'Fn', type: 'AWS::Lambda::Function', status: 'CREATE_FAILED', reason: 'S3 Error Code: NoSuchKey' }]);
  });

  it('falls back to the cancelled ones when nothing else failed', () => {
    const p = new StackProgress({ stackName: 'sme', startTime: START, total: 1 });
    p.accept([event('Q', 'CREATE_FAILED', { reason: 'Resource creation cancelled' })]);
    expect(p.failures.map((f) => f.logicalId)).toEqual(['Q']);
  });

  it('tells this operation\'s events by request token, else by time', () => {
    const byToken = new StackProgress({ stackName: 'sme', startTime: START, clientRequestToken: 't2', total: 1 });
    expect(byToken.belongs(event('A', 'UPDATE_COMPLETE', { token: 't1', at: 100 }))).toBe(false);
    expect(byToken.belongs(event('A', 'UPDATE_COMPLETE', { token: 't2', at: -100 }))).toBe(true);
    const byTime = new StackProgress({ stackName: 'sme', startTime: START, total: 1 });
    expect(byTime.belongs(event('A', 'UPDATE_COMPLETE', { at: -60 }))).toBe(false);
    expect(byTime.belongs(event('A', 'UPDATE_COMPLETE', { at: -2 }))).toBe(true);
  });

  it('asks for an older page only while a whole page is new', () => {
    const p = new StackProgress({ stackName: 'sme', startTime: START, total: 1 });
    const old = event('A', 'CREATE_COMPLETE', { at: -3600 });
    expect(p.scanPage([event('A', 'UPDATE_COMPLETE', { at: 5 }), event('A', 'UPDATE_IN_PROGRESS', { at: 4 })]).wantOlder).toBe(true);
    const scan = p.scanPage([event('B', 'UPDATE_COMPLETE', { at: 6 }), old]);
    expect(scan.wantOlder).toBe(false);
    expect(scan.fresh).toHaveLength(1);
  });
});

function apiFrom(pages: StackEvent[][], statuses: (string | undefined)[]): CloudFormationApi & { eventsCalls: number } {
  let i = 0;
  const all: StackEvent[] = [];
  const api = {
    eventsCalls: 0,
    async describe(): Promise<StackDescription | undefined> {
      const status = statuses[Math.min(i, statuses.length - 1)];
      all.unshift(...[...(pages[i] ?? [])].reverse());
      i++;
      return status === undefined ? undefined : { stackId: 'id', stackName: 'sme', status: new StackStatus(status), parameters: {}, outputs: {}, tags: {} };
    },
    async events(_id: string, token?: string) {
      api.eventsCalls++;
      const start = token ? Number(token) : 0;
      return { events: all.slice(start, start + 2), ...(start + 2 < all.length ? { nextToken: String(start + 2) } : {}) };
    },
  };
  return api as unknown as CloudFormationApi & { eventsCalls: number };
}

describe('waitForStack', () => {
  it('polls until a stable status and reports every event once, across pages', async () => {
    const api = apiFrom(
      [
        [event('sme', 'CREATE_IN_PROGRESS', { at: 1 }), event('A', 'CREATE_IN_PROGRESS', { at: 2 }), event('B', 'CREATE_IN_PROGRESS', { at: 3 })],
        [event('A', 'CREATE_COMPLETE', { at: 4 }), event('B', 'CREATE_COMPLETE', { at: 5 }), event('sme', 'CREATE_COMPLETE', { at: 6 })],
      ],
      ['CREATE_IN_PROGRESS', 'CREATE_COMPLETE'],
    );
    const progress = new StackProgress({ stackName: 'sme', startTime: START, total: 2 });
    const seen: string[] = [];
    const sleep = jest.fn(async () => undefined);
    const final = await waitForStack(api, 'id', progress, { sleep, onEvents: (events) => seen.push(...events.map((e) => `${e.logicalId}:${e.status}`)) });
    expect(final?.status.name).toBe('CREATE_COMPLETE');
    expect(seen).toEqual(['sme:CREATE_IN_PROGRESS', 'A:CREATE_IN_PROGRESS', 'B:CREATE_IN_PROGRESS', 'A:CREATE_COMPLETE', 'B:CREATE_COMPLETE', 'sme:CREATE_COMPLETE']);
    expect(progress.counter).toBe('2/2 resources');
    expect(sleep).toHaveBeenCalledTimes(2);
  });

  it('returns undefined when the stack disappears (a finished delete by name)', async () => {
    const api = apiFrom([[event('sme', 'DELETE_IN_PROGRESS', { at: 1 })]], ['DELETE_IN_PROGRESS', undefined]);
    const final = await waitForStack(api, 'sme', new StackProgress({ stackName: 'sme', startTime: START, total: 0 }), { sleep: async () => undefined });
    expect(final).toBeUndefined();
  });

  it('after an executed change set, does not take the status from before it for the end until its events appear', async () => {
    // The first poll still shows UPDATE_COMPLETE from the last update; the change set's events come later.
    const api = apiFrom(
      [[], [event('sme', 'UPDATE_IN_PROGRESS', { at: 1, token: 'x' })], [event('A', 'UPDATE_COMPLETE', { at: 2, token: 'x' }), event('sme', 'UPDATE_COMPLETE', { at: 3, token: 'x' })]],
      ['UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE'],
    );
    const progress = new StackProgress({ stackName: 'sme', startTime: START, clientRequestToken: 'x', total: 1 });
    const sleep = jest.fn(async () => undefined);
    const final = await waitForStack(api, 'id', progress, { sleep, statusesBefore: ['UPDATE_COMPLETE'] });
    expect(final?.status.name).toBe('UPDATE_COMPLETE');
    expect(sleep).toHaveBeenCalledTimes(3);
    expect(progress.counter).toBe('1/1 resources');
  });

  it('fetches nothing twice', async () => {
    const api = apiFrom([[event('A', 'CREATE_COMPLETE', { at: 1 })]], ['CREATE_COMPLETE']);
    await api.describe('id');
    const progress = new StackProgress({ stackName: 'sme', startTime: START, total: 1 });
    expect(await fetchNewEvents(api, 'id', progress)).toHaveLength(1);
    expect(await fetchNewEvents(api, 'id', progress)).toHaveLength(0);
  });
});
