import { describe, expect, it } from '@jest/globals';
import { originalTableNames, progressBar, startingPoint, suppressionFromOriginal, trackingFromOriginal } from '../../../src/ops/migration.js';

describe('originalTableNames', () => {
  it('names the tables after the stack, as the original documents do', () => {
    expect(originalTableNames('my-email-engine')).toEqual({ tracking: 'my-email-engine-EmailTracking', suppression: 'my-email-engine-Suppression' });
  });
});

describe('trackingFromOriginal', () => {
  it('adds statusRank, the retry-chain fields and datePartition only where missing', () => {
    expect(trackingFromOriginal({ emailId: 'e1', status: 'opened', timestamp: '2024-12-22T08:00:00Z' }, 'src')).toEqual({
      emailId: 'e1',
      status: 'opened',
      timestamp: '2024-12-22T08:00:00Z',
      statusRank: 7,
      originalEmailId: 'e1',
      retryAttempt: 0,
      datePartition: '2024-12-22',
      migratedFrom: 'src',
    });
    const full = { emailId: 'e2', originalEmailId: 'e1', retryAttempt: 1, status: 'sent', statusRank: 1, timestamp: 't', datePartition: '2024-01-01' };
    expect(trackingFromOriginal(full, 'src')).toEqual({ ...full, migratedFrom: 'src' });
  });

  it('leaves statusRank out for a status it does not know, and datePartition for an unreadable timestamp', () => {
    const out = trackingFromOriginal({ emailId: 'e3', status: 'weird', timestamp: 'yesterday' }, 'src');
    expect(out.statusRank).toBeUndefined();
    expect(out.datePartition).toBeUndefined();
  });
});

describe('suppressionFromOriginal', () => {
  it('lower-cases the key, keeps every attribute, and adds createdAt and migratedFrom', () => {
    expect(suppressionFromOriginal({ email: 'Old@Example.com', reason: 'hard-bounce', addedToSuppressionDate: '2024-12-14T10:31:00Z', bounceType: 'Permanent' }, 'src')).toEqual({
      email: 'old@example.com',
      reason: 'hard-bounce',
      suppressionType: 'bounce',
      addedToSuppressionDate: '2024-12-14T10:31:00Z',
      createdAt: '2024-12-14T10:31:00Z',
      bounceType: 'Permanent',
      migratedFrom: 'src',
    });
  });
});

describe('startingPoint', () => {
  const saved = { source: 's', target: 't', lastKey: { email: 'a' }, scanned: 10, copied: 9, present: 1, skipped: 0, done: false };
  it('resumes an interrupted run', () => {
    expect(startingPoint(saved, 's', 't', false)).toEqual(saved);
  });
  it('starts again after a finished run, with --restart, or with nothing saved', () => {
    const fresh = { source: 's', target: 't', scanned: 0, copied: 0, present: 0, skipped: 0, done: false };
    expect(startingPoint({ ...saved, done: true, lastKey: undefined }, 's', 't', false)).toEqual(fresh);
    expect(startingPoint(saved, 's', 't', true)).toEqual(fresh);
    expect(startingPoint(undefined, 's', 't', false)).toEqual(fresh);
  });
});

describe('progressBar', () => {
  it('draws the share done against the approximate total, capped at 100 %', () => {
    expect(progressBar(4000, 10000)).toBe('[########------------]  40%  4,000 / ~10,000');
    expect(progressBar(12, 10, 10)).toBe('[##########] 100%  12 / ~10');
  });
  it('counts items when the total is unknown', () => {
    expect(progressBar(7, undefined)).toBe('7 items');
    expect(progressBar(7, 0)).toBe('7 items');
  });
});
