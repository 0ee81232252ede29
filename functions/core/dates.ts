/** UTC calendar day (YYYY-MM-DD) of a moment. */
export function datePartition(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** Epoch seconds `days` after `at`, for DynamoDB TTL attributes. */
export function expiresAfterDays(at: Date, days: number): number {
  return Math.floor(at.getTime() / 1000) + Math.round(days * 86400);
}
