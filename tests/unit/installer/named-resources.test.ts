import { describe, it, expect } from '@jest/globals';
import {
  deleteCommand,
  describeResource,
  displayName,
  namedResources,
  planLeftovers,
  type ExistingResource,
  type FoundResource,
} from '../../../src/installer/named-resources.js';
import { importTemplateBody, parseTemplateDocument, referencedResources, resolveName } from '../../../src/installer/template-document.js';

/** The named resources of a small template in the engine's shape, decided without AWS. */

const TEMPLATE = `
Parameters:
  Retention: { Type: Number, Default: 30 }
Conditions:
  Always: !Equals [a, a]
Resources:
  SuppressionTable:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: RetainExceptOnCreate
    Properties:
      TableName: !Sub '\${AWS::StackName}-Suppression'
      AttributeDefinitions: [{ AttributeName: email, AttributeType: S }]
      KeySchema: [{ AttributeName: email, KeyType: HASH }]
  SendQueue:
    Type: AWS::SQS::Queue
    DeletionPolicy: RetainExceptOnCreate
    DependsOn: [Bus]
    Properties:
      QueueName: !Sub '\${AWS::StackName}-send'
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt SendDeadLetterQueue.Arn
  SendDeadLetterQueue:
    Type: AWS::SQS::Queue
    DeletionPolicy: RetainExceptOnCreate
    Properties:
      QueueName: !Sub '\${AWS::StackName}-send-dlq'
  Logs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    Properties:
      LogGroupName: !Sub '/aws/lambda/\${AWS::StackName}-Fn'
      RetentionInDays: !Ref Retention
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub '\${AWS::StackName}-EmailBus'
  Unnamed:
    Type: AWS::SQS::Queue
  ByRegion:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub '\${AWS::StackName}-\${AWS::Region}'
Outputs:
  BusName:
    Value: !Ref Bus
`;

const doc = parseTemplateDocument(TEMPLATE);

function found(logicalId: string, existing: Partial<ExistingResource> = {}): FoundResource {
  const r = namedResources(doc, 'mail').find((n) => n.logicalId === logicalId)!;
  return { ...r, existing: { identifier: { Name: r.name }, ...existing } };
}

describe('resolveName', () => {
  it('resolves literals and ${AWS::StackName} substitutions, nothing else', () => {
    expect(resolveName('fixed', 'mail')).toBe('fixed');
    expect(resolveName({ 'Fn::Sub': '${AWS::StackName}-send' }, 'mail')).toBe('mail-send');
    expect(resolveName({ 'Fn::Sub': '${AWS::StackName}-${AWS::Region}' }, 'mail')).toBeUndefined();
    expect(resolveName({ Ref: 'Other' }, 'mail')).toBeUndefined();
    expect(resolveName(undefined, 'mail')).toBeUndefined();
  });
});

describe('namedResources', () => {
  it('lists the resources with a fixed name, and whether their DeletionPolicy keeps them', () => {
    expect(namedResources(doc, 'mail').map((r) => [r.logicalId, r.name, r.kept])).toEqual([
      ['SuppressionTable', 'mail-Suppression', true],
      ['SendQueue', 'mail-send', true],
      ['SendDeadLetterQueue', 'mail-send-dlq', true],
      ['Logs', '/aws/lambda/mail-Fn', true],
      ['Bus', 'mail-EmailBus', false],
    ]);
  });

  it('describes a table with what it holds', () => {
    expect(describeResource({ logicalId: 'SuppressionTable', type: 'AWS::DynamoDB::Table', name: 'mail-Suppression' })).toBe(
      'DynamoDB table mail-Suppression (the suppression list)',
    );
    expect(describeResource({ logicalId: 'SendQueue', type: 'AWS::SQS::Queue', name: 'mail-send' })).toBe('SQS queue mail-send');
  });
});

describe('referencedResources', () => {
  it('finds GetAtt, Ref and Sub references and DependsOn, but not parameters', () => {
    expect(referencedResources(doc, 'SendQueue')).toEqual(['Bus', 'SendDeadLetterQueue']);
    expect(referencedResources(doc, 'SendQueue', { dependsOn: false })).toEqual(['SendDeadLetterQueue']);
    expect(referencedResources(doc, 'Logs')).toEqual([]);
  });
});

describe('planLeftovers', () => {
  it('imports kept resources whose key schema matches and refuses names taken by what the stack does not keep', () => {
    const plan = planLeftovers(doc, [
      found('SuppressionTable', { keySchema: [{ name: 'email', keyType: 'HASH', attributeType: 'S' }] }),
      found('Bus'),
    ]);
    expect(plan.toImport.map((r) => r.logicalId)).toEqual(['SuppressionTable']);
    expect(plan.collisions.map((c) => [c.resource.logicalId, c.why])).toEqual([['Bus', 'it exists outside any stack of this name']]);
  });

  it('refuses a kept table whose key is not the one the engine needs', () => {
    const plan = planLeftovers(doc, [found('SuppressionTable', { keySchema: [{ name: 'address', keyType: 'HASH', attributeType: 'S' }] })]);
    expect(plan.toImport).toEqual([]);
    expect(plan.schemaMismatches).toEqual([
      expect.objectContaining({ expected: 'email (HASH, S)', actual: 'address (HASH, S)' }),
    ]);
  });

  it('brings a queue back only with the dead-letter queue its redrive policy names', () => {
    const plan = planLeftovers(doc, [found('SendQueue')]);
    expect(plan.toImport).toEqual([]);
    expect(plan.incomplete.map((i) => [i.resource.logicalId, i.missing])).toEqual([['SendQueue', ['SendDeadLetterQueue']]]);
    const both = planLeftovers(doc, [found('SendQueue'), found('SendDeadLetterQueue')]);
    expect(both.toImport.map((r) => r.logicalId)).toEqual(['SendQueue', 'SendDeadLetterQueue']);
  });

  it('treats a kept resource that is going away as in the way', () => {
    const plan = planLeftovers(doc, [found('Logs', { goingAway: 'it is being deleted' })]);
    expect(plan.collisions.map((c) => c.why)).toEqual(['it is being deleted']);
  });
});

describe('importTemplateBody', () => {
  it('holds only the imported resources, with their DeletionPolicy, the parameters and conditions, and no outputs', () => {
    const body = JSON.parse(importTemplateBody(doc, ['SendQueue', 'SendDeadLetterQueue', 'Logs']));
    expect(Object.keys(body.Resources)).toEqual(['SendQueue', 'SendDeadLetterQueue', 'Logs']);
    expect(body.Resources.SendQueue.DeletionPolicy).toBe('RetainExceptOnCreate');
    // A DependsOn on a resource that is not imported is only order: it is dropped.
    expect(body.Resources.SendQueue.DependsOn).toBeUndefined();
    expect(body.Resources.SendQueue.Properties.RedrivePolicy.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': ['SendDeadLetterQueue', 'Arn'] });
    expect(body.Parameters.Retention).toBeDefined();
    expect(body.Conditions.Always).toBeDefined();
    expect(body.Outputs).toBeUndefined();
  });

  it('refuses a resource without a DeletionPolicy, or one that needs a resource left out', () => {
    expect(() => importTemplateBody(doc, ['Bus'])).toThrow('Bus has no DeletionPolicy');
    expect(() => importTemplateBody(doc, ['SendQueue'])).toThrow('SendQueue refers to SendDeadLetterQueue, which is not imported');
  });
});

describe('names and commands', () => {
  it('shows a queue by its name and a secret without its random suffix', () => {
    expect(displayName('AWS::SQS::Queue', 'https://sqs.eu-west-1.amazonaws.com/123456789012/mail-send')).toBe('mail-send');
    expect(displayName('AWS::SecretsManager::Secret', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail-unsubscribe-signing-key-Ab12Cd')).toBe(
      'mail-unsubscribe-signing-key',
    );
    expect(displayName('AWS::DynamoDB::Table', 'mail-Suppression')).toBe('mail-Suppression');
  });

  it('gives the AWS CLI command that removes what is in the way', () => {
    expect(deleteCommand(found('Bus', { identifier: { Name: 'mail-EmailBus' } }), 'eu-west-1')).toBe('aws events delete-event-bus --region eu-west-1 --name mail-EmailBus');
    expect(deleteCommand(found('SuppressionTable', { identifier: { TableName: 'mail-Suppression' } }), 'eu-west-1')).toBe(
      'aws dynamodb delete-table --region eu-west-1 --table-name mail-Suppression',
    );
  });
});
