import { describe, expect, it } from '@jest/globals';
import { checkDiagnoseSubject, diagnoseCommand } from '../../../src/commands/diagnose.js';
import { CliError } from '../../../src/errors.js';

/**
 * `diagnose` refuses, before reading anything, a subject that is neither an emailId the
 * engine accepts nor an address: DynamoDB answered an empty key or one over 2048 bytes with
 * a raw ValidationException ("The AttributeValue for a key attribute cannot contain an
 * empty string value").
 */

describe('the subject diagnose takes', () => {
  it.each([
    ['an empty emailId', ''],
    ['only spaces', '   '],
    ['an emailId longer than 128 characters', 'x'.repeat(3000)],
    ['an emailId with a control character', 'a\u0007b'],
  ])('refuses %s with OPS004 before any AWS call', async (_what, subject) => {
    // No stack, no credentials: a refusal after the target was resolved would fail otherwise.
    const run = diagnoseCommand({ subject, stackName: 'no-such-stack', region: 'us-east-1' });
    await expect(run).rejects.toBeInstanceOf(CliError);
    await expect(run).rejects.toMatchObject({ code: 'OPS004' });
  });

  it.each([
    ['a generated emailId', 'email-05c15464-b415-4b3d-9081-8c2805abab47'],
    ['an emailId of 128 characters', 'x'.repeat(128)],
    ['odd but valid emailIds', '__proto__'],
    ['an address', 'KIM@example.com'],
  ])('accepts %s', (_what, subject) => {
    expect(() => checkDiagnoseSubject(subject)).not.toThrow();
  });
});
