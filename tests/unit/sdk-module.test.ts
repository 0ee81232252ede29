import { describe, expect, it } from '@jest/globals';
import { sdkModule } from '../../src/aws/clients.js';

/** A dynamically imported SDK package, as Node hands it over and as the npm bundle does. */

describe('sdkModule', () => {
  class SQSClient {}

  it("keeps Node's namespace, whose CommonJS exports are named", async () => {
    const namespace = { SQSClient, default: { SQSClient } };

    expect(await sdkModule(Promise.resolve(namespace))).toBe(namespace);
  });

  it("unwraps the bundle's chunk, whose only export is default", async () => {
    const exports = { SQSClient };

    expect((await sdkModule(Promise.resolve({ default: exports } as unknown as typeof exports))).SQSClient).toBe(SQSClient);
  });

  it('leaves an ES module with only a default export of another kind alone', async () => {
    const namespace = { default: () => 'ora' };

    expect(await sdkModule(Promise.resolve(namespace))).toBe(namespace);
  });

  it('works on a real SDK package', async () => {
    const { SQSClient: Real } = await sdkModule(import('@aws-sdk/client-sqs'));

    expect(typeof Real).toBe('function');
  });
});
