/**
 * Caller data (metadata, the stored request) as the tracking table keeps it.
 *
 * DynamoDB numbers: lib-dynamodb refuses magnitudes beyond 2^53 (precision), DynamoDB refuses
 * magnitudes under 1e-130. JSON.parse has already rounded such values, so they are kept as
 * their text. Keys are kept as given; the writes hand the copy to the marshaller through
 * functions/lib/marshall-safe.ts, so keys such as "constructor" or "toString" reach the
 * table as ordinary keys. Request validation measures sizes on this form, so that what a
 * soft-bounce retry re-sends from the record passes the same limits.
 */

const MIN_MAGNITUDE = 1e-130;

/** A copy of `value` that DynamoDB will accept, numbers out of its exact range as text. */
export function storable<T>(value: T): T {
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    const fits = Number.isFinite(value) && magnitude <= Number.MAX_SAFE_INTEGER && (magnitude === 0 || magnitude >= MIN_MAGNITUDE);
    return (fits ? value : String(value)) as T;
  }
  if (Array.isArray(value)) return value.map((item) => storable(item)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, storable(item)])) as T;
  }
  return value;
}
