/**
 * Runs `fn` over `items` with at most `limit` calls in flight and returns the results in the
 * items' order. The first rejection rejects the whole (the calls already running finish on
 * their own); callers that must not stop catch inside `fn`.
 */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
