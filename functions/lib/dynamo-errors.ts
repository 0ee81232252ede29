/** Recognising DynamoDB errors by name, which holds for AWS and DynamoDB-compatible servers alike. */
export function isConditionalCheckFailure(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/**
 * Awaits a write that carries a ConditionExpression: true when DynamoDB applied it, false
 * when its condition did not hold; any other error is thrown. Callers pass the sent
 * command (`conditionalWrite(ddb.send(new PutCommand(…)))`), so the command stays visible
 * where it is built.
 */
export async function conditionalWrite(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionalCheckFailure(error)) return false;
    throw error;
  }
}

// Errors with which DynamoDB refuses a request before doing anything: retrying cannot apply a write twice.
const REFUSED_UNAPPLIED = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

/**
 * True when the error says the request was throttled and not applied. A timeout or a 5xx
 * says nothing either way: the write may have happened, so a non-idempotent write (an ADD)
 * must not be repeated after one.
 */
export function isThrottledUnapplied(error: unknown): boolean {
  return REFUSED_UNAPPLIED.has((error as { name?: string } | null)?.name ?? '');
}
