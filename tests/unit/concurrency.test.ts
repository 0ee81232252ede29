import { describe, expect, it } from '@jest/globals';
import { mapConcurrently } from '../../functions/core/concurrency.js';

describe('mapConcurrently', () => {
  it('keeps the order of the items and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapConcurrently([50, 10, 30, 0, 20, 5], 2, async (ms, index) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, ms));
      running -= 1;
      return `${index}:${ms}`;
    });
    expect(out).toEqual(['0:50', '1:10', '2:30', '3:0', '4:20', '5:5']);
    expect(peak).toBe(2);
  });

  it('handles no items and a limit above the count, and rejects with the first failure', async () => {
    expect(await mapConcurrently([], 4, async () => 1)).toEqual([]);
    expect(await mapConcurrently([1, 2], 10, async (n) => n * 2)).toEqual([2, 4]);
    await expect(mapConcurrently([1, 2, 3], 0, async (n) => { if (n === 2) throw new Error('two'); return n; })).rejects.toThrow('two');
  });
});
