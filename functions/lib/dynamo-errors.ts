/** Recognising DynamoDB errors by name, which holds for AWS and DynamoDB-compatible servers alike. */
export function isConditionalCheckFailure(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}
