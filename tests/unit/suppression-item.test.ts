import { describe, expect, it } from '@jest/globals';
import { suppressionFromItem, suppressionItem } from '../../functions/lib/suppression-store.js';

/**
 * The suppression table holds items written by the original engine (addedToSuppressionDate,
 * no createdAt), by earlier versions of this engine (createdAt only) and by this one (both).
 */

describe('suppressionFromItem', () => {
  it("reads an item in the original engine's shape, filling createdAt from addedToSuppressionDate", () => {
    const entry = suppressionFromItem({
      email: 'olduser@example.com',
      suppressionType: 'bounce',
      reason: 'hard-bounce',
      addedToSuppressionDate: '2024-12-14T10:31:00Z',
      bounceType: 'Permanent',
    });
    expect(entry).toEqual({
      email: 'olduser@example.com',
      suppressionType: 'bounce',
      reason: 'hard-bounce',
      addedToSuppressionDate: '2024-12-14T10:31:00Z',
      createdAt: '2024-12-14T10:31:00Z',
      bounceType: 'Permanent',
    });
  });

  it('reads an item written before addedToSuppressionDate existed, filling it from createdAt', () => {
    const entry = suppressionFromItem({ email: 'a@example.com', suppressionType: 'manual', reason: 'manual', createdAt: '2026-01-01T00:00:00.000Z' });
    expect(entry.addedToSuppressionDate).toBe('2026-01-01T00:00:00.000Z');
  });

  it('derives a missing type from the reason and a missing reason from the type', () => {
    expect(suppressionFromItem({ email: 'a@x.com', reason: 'spam-complaint', addedToSuppressionDate: 'd' }).suppressionType).toBe('complaint');
    expect(suppressionFromItem({ email: 'a@x.com', reason: 'consecutive-soft-bounces', addedToSuppressionDate: 'd' }).suppressionType).toBe('bounce');
    expect(suppressionFromItem({ email: 'a@x.com', suppressionType: 'complaint', addedToSuppressionDate: 'd' }).reason).toBe('spam-complaint');
    expect(suppressionFromItem({ email: 'a@x.com' })).toMatchObject({ reason: 'manual', suppressionType: 'manual', createdAt: '', addedToSuppressionDate: '' });
  });
});

describe('suppressionItem', () => {
  it('writes both date attributes and the lower-cased address', () => {
    expect(suppressionItem({ email: 'Bob@Example.com', reason: 'manual', suppressionType: 'manual', createdAt: '2026-03-01T00:00:00.000Z' })).toEqual({
      email: 'bob@example.com',
      reason: 'manual',
      suppressionType: 'manual',
      createdAt: '2026-03-01T00:00:00.000Z',
      addedToSuppressionDate: '2026-03-01T00:00:00.000Z',
    });
  });
});
