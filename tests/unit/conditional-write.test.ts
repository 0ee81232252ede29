import { describe, it, expect } from '@jest/globals';
import { conditionalWrite } from '../../functions/lib/dynamo-errors.js';

function awsError(name: string): Error {
  return Object.assign(new Error(`${name} from DynamoDB`), { name });
}

describe('conditionalWrite', () => {
  it('is true when the write was applied', async () => {
    await expect(conditionalWrite(Promise.resolve({}))).resolves.toBe(true);
  });

  it('is false when the condition did not hold', async () => {
    await expect(conditionalWrite(Promise.reject(awsError('ConditionalCheckFailedException')))).resolves.toBe(false);
  });

  it('throws any other error as it came', async () => {
    const throttled = awsError('ProvisionedThroughputExceededException');

    await expect(conditionalWrite(Promise.reject(throttled))).rejects.toBe(throttled);
  });
});
