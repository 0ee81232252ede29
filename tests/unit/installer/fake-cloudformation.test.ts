import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { createCloudFormationApi, type CloudFormationApi, type ChangeSetInput } from '../../../src/aws/cloudformation.js';
import { FakeCloudFormation } from '../../support/fake-cloudformation.js';

/**
 * The fake CloudFormation the installer tests run against must behave as AWS does on the
 * paths that decide whether data survives; these tests hold it to that, through the same
 * narrow interface the installer uses.
 */

const TABLE = 'AWS::DynamoDB::Table';

function template(resources: Record<string, { policy?: string; key?: string }>, outputs = ''): string {
  const body = Object.entries(resources)
    .map(
      ([id, r]) => `  ${id}:
    Type: AWS::DynamoDB::Table
${r.policy ? `    DeletionPolicy: ${r.policy}\n` : ''}    Properties:
      TableName: !Sub '\${AWS::StackName}-${id}'
      AttributeDefinitions: [{ AttributeName: ${r.key ?? 'id'}, AttributeType: S }]
      KeySchema: [{ AttributeName: ${r.key ?? 'id'}, KeyType: HASH }]`,
    )
    .join('\n');
  return `Resources:\n${body}\n${outputs}`;
}

let cfn: FakeCloudFormation;
let client: CloudFormationClient;
let api: CloudFormationApi;

beforeEach(() => {
  cfn = new FakeCloudFormation({ templates: true });
  client = new CloudFormationClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  api = createCloudFormationApi(client);
});
afterEach(() => {
  cfn.restore();
  client.destroy();
});

/** Polls until the stack is stable (each DescribeStacks is one step of the fake). */
async function finish(name: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const stack = await api.describe(name);
    if (!stack) return 'GONE';
    if (stack.status.isStable) return stack.status.name;
  }
  throw new Error('never stable');
}

function events(name: string): string[] {
  return cfn.stacks.filter((s) => s.name === name).flatMap((s) => s.events.map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`)).reverse();
}

const deploy = (body: string) => ({ stackName: 'app', templateBody: body, parameters: {}, tags: {}, clientRequestToken: 't1' });

function importInput(body: string, identifiers: Record<string, Record<string, string>>): ChangeSetInput {
  return {
    ...deploy(body),
    changeSetName: 'bring-back',
    changeSetType: 'IMPORT',
    resourcesToImport: Object.entries(identifiers).map(([logicalId, identifier]) => ({ logicalId, type: TABLE, identifier })),
  };
}

describe('deletion policies', () => {
  it('on stack delete, keeps Retain and RetainExceptOnCreate resources in the account (DELETE_SKIPPED) and deletes the others', async () => {
    await api.create(deploy(template({ Kept: { policy: 'Retain' }, KeptToo: { policy: 'RetainExceptOnCreate' }, Scratch: {} })));
    expect(await finish('app')).toBe('CREATE_COMPLETE');
    await api.delete('app', 't2');
    expect(await finish('app')).toBe('DELETE_COMPLETE');
    expect(await api.describe('app')).toBeUndefined();
    expect(cfn.names(TABLE)).toEqual(['app-Kept', 'app-KeptToo']);
    expect(cfn.resource(TABLE, 'app-Kept')!.owner).toBeUndefined();
    expect(events('app')).toEqual(expect.arrayContaining(['Kept DELETE_SKIPPED', 'KeptToo DELETE_SKIPPED', 'Scratch DELETE_COMPLETE']));
  });

  it('on a rolled-back create, keeps Retain resources and deletes RetainExceptOnCreate ones', async () => {
    cfn.failing = { ...cfn.failing, logicalId: 'Late', type: TABLE };
    cfn.nextOutcome = 'fail';
    await api.create(deploy(template({ Kept: { policy: 'Retain' }, Gone: { policy: 'RetainExceptOnCreate' }, Late: {} })));
    expect(await finish('app')).toBe('ROLLBACK_COMPLETE');
    expect(cfn.names(TABLE)).toEqual(['app-Kept']);
  });

  it('on a rolled-back create with the RetainExceptOnCreate stack option, deletes Retain resources too', async () => {
    cfn.failing = { ...cfn.failing, logicalId: 'Late', type: TABLE };
    cfn.nextOutcome = 'fail';
    await client.send(new CreateStackCommand({ StackName: 'app', TemplateBody: template({ Kept: { policy: 'Retain' }, Late: {} }), RetainExceptOnCreate: true }));
    expect(await finish('app')).toBe('ROLLBACK_COMPLETE');
    expect(cfn.names(TABLE)).toEqual([]);
  });

  it('fails a create whose name is taken, with the reason CloudFormation gives', async () => {
    cfn.putResource(TABLE, 'app-Taken');
    await api.create(deploy(template({ Taken: { policy: 'RetainExceptOnCreate' } })));
    expect(await finish('app')).toBe('ROLLBACK_COMPLETE');
    expect(cfn.stacks[0]!.events.find((e) => e.ResourceStatus === 'CREATE_FAILED')!.ResourceStatusReason).toContain(
      "Resource of type 'AWS::DynamoDB::Table' with identifier 'app-Taken' already exists.",
    );
    // The table that was there before is not CloudFormation's to delete.
    expect(cfn.names(TABLE)).toEqual(['app-Taken']);
  });
});

describe('IMPORT change sets', () => {
  const body = template({ Orders: { policy: 'Retain' } });

  it('imports an existing resource named by its primary identifier into a new stack', async () => {
    cfn.putResource(TABLE, 'app-Orders', { items: 3 });
    const { changeSetId } = await api.createChangeSet(importInput(body, { Orders: { TableName: 'app-Orders' } }));
    expect((await api.describe('app'))!.status.name).toBe('REVIEW_IN_PROGRESS');
    await api.describeChangeSet(changeSetId, 'app');
    const ready = await api.describeChangeSet(changeSetId, 'app');
    expect(ready).toMatchObject({ status: 'CREATE_COMPLETE', executionStatus: 'AVAILABLE', changes: [{ action: 'Import', logicalId: 'Orders', type: TABLE }] });
    await api.executeChangeSet(changeSetId, 'app', 't3');
    expect(await finish('app')).toBe('IMPORT_COMPLETE');
    expect(cfn.resource(TABLE, 'app-Orders')).toMatchObject({ items: 3, owner: cfn.live('app')!.stackId });
  });

  it("rejects identifier keys other than the specification's primaryIdentifier", async () => {
    cfn.putResource(TABLE, 'app-Orders');
    await expect(api.createChangeSet(importInput(body, { Orders: { Name: 'app-Orders' } }))).rejects.toThrow(
      'Invalid resource identifier [Name] for Orders of type AWS::DynamoDB::Table: expected [TableName]',
    );
  });

  it('rejects a resource to import without a DeletionPolicy', async () => {
    await expect(api.createChangeSet(importInput(template({ Orders: {} }), { Orders: { TableName: 'app-Orders' } }))).rejects.toThrow(
      'must have DeletionPolicy attribute specified in the template',
    );
  });

  it('rejects a template for a new stack that holds anything besides the imported resources', async () => {
    const two = template({ Orders: { policy: 'Retain' }, Extra: { policy: 'Retain' } });
    await expect(api.createChangeSet(importInput(two, { Orders: { TableName: 'app-Orders' } }))).rejects.toThrow(
      'You have modified resources [Extra] in your template that are not being imported',
    );
  });

  it('rejects outputs that name resources the template does not hold', async () => {
    const withOutputs = template({ Orders: { policy: 'Retain' } }, 'Outputs:\n  Bus:\n    Value: !Ref EmailBus\n');
    await expect(api.createChangeSet(importInput(withOutputs, { Orders: { TableName: 'app-Orders' } }))).rejects.toThrow('Unresolved resource dependencies [EmailBus]');
  });

  it('fails the change set for a resource that does not exist, or that another stack holds', async () => {
    const missing = await api.createChangeSet(importInput(body, { Orders: { TableName: 'app-Orders' } }));
    await api.describeChangeSet(missing.changeSetId, 'app');
    expect(await api.describeChangeSet(missing.changeSetId, 'app')).toMatchObject({ status: 'FAILED', statusReason: expect.stringContaining('was not found') });

    cfn.putResource(TABLE, 'app-Orders', { owner: 'arn:other' });
    const held = await api.createChangeSet({ ...importInput(body, { Orders: { TableName: 'app-Orders' } }), changeSetName: 'again' });
    await api.describeChangeSet(held.changeSetId, 'app');
    expect(await api.describeChangeSet(held.changeSetId, 'app')).toMatchObject({ status: 'FAILED', statusReason: expect.stringContaining('already exists in stack arn:other') });
  });
});

describe('UPDATE change sets', () => {
  it('marks a key schema change of a table as a replacement, and refuses to replace a custom-named table', async () => {
    await api.create(deploy(template({ Orders: { policy: 'RetainExceptOnCreate', key: 'id' } })));
    await finish('app');
    const { changeSetId } = await api.createChangeSet({ ...deploy(template({ Orders: { policy: 'RetainExceptOnCreate', key: 'orderId' } })), changeSetName: 'rekey', changeSetType: 'UPDATE' });
    await api.describeChangeSet(changeSetId, 'app');
    const ready = await api.describeChangeSet(changeSetId, 'app');
    expect(ready.changes).toEqual([{ action: 'Modify', logicalId: 'Orders', type: TABLE, physicalId: 'app-Orders', replacement: 'True', scope: ['Properties'] }]);
    await api.executeChangeSet(changeSetId, 'app', 't4');
    expect(await finish('app')).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(events('app')).toContain('Orders UPDATE_FAILED');
  });

  it('reports no changes as a FAILED change set with the reason CloudFormation gives', async () => {
    const body = template({ Orders: { policy: 'RetainExceptOnCreate' } });
    await api.create(deploy(body));
    await finish('app');
    const { changeSetId } = await api.createChangeSet({ ...deploy(body), changeSetName: 'same', changeSetType: 'UPDATE' });
    await api.describeChangeSet(changeSetId, 'app');
    expect(await api.describeChangeSet(changeSetId, 'app')).toMatchObject({ status: 'FAILED', statusReason: expect.stringContaining("didn't contain changes") });
  });
});
