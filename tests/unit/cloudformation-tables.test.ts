import { describe, expect, it } from '@jest/globals';
import { loadTemplate, type CfnResource } from '../support/cloudformation.js';
import {
  COUNTERS_TABLE,
  SUPPRESSION_TABLE,
  TRACKING_TABLE,
  createTableInput,
  type TableSchema,
} from '../../functions/lib/table-schemas.js';

const template = loadTemplate();

const TABLES: [string, string, TableSchema][] = [
  ['TrackingTable', 'EmailTracking', TRACKING_TABLE],
  ['SuppressionTable', 'Suppression', SUPPRESSION_TABLE],
  ['CountersTable', 'Counters', COUNTERS_TABLE],
];

function byName<T extends Record<string, unknown>>(items: T[] | undefined, key: keyof T): T[] {
  return [...(items ?? [])].sort((a, b) => String(a[key]).localeCompare(String(b[key])));
}

describe.each(TABLES)('%s', (logicalId, suffix, schema) => {
  const table = template.Resources[logicalId] as CfnResource;
  const props = (table?.Properties ?? {}) as Record<string, unknown>;
  const expected = createTableInput('ignored', schema);

  it('is a DynamoDB table named after the stack', () => {
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(props.TableName).toEqual({ 'Fn::Sub': `\${AWS::StackName}-${suffix}` });
  });

  it('has exactly the key schema and attribute definitions of table-schemas.ts', () => {
    expect(props.KeySchema).toEqual(expected.KeySchema);
    expect(byName(props.AttributeDefinitions as { AttributeName: string }[], 'AttributeName')).toEqual(
      byName(expected.AttributeDefinitions, 'AttributeName'),
    );
  });

  it('has exactly the global secondary indexes of table-schemas.ts, with their projections', () => {
    const expectedIndexes = 'GlobalSecondaryIndexes' in expected ? expected.GlobalSecondaryIndexes : undefined;
    expect(byName(props.GlobalSecondaryIndexes as { IndexName: string }[] | undefined, 'IndexName')).toEqual(
      byName(expectedIndexes, 'IndexName'),
    );
  });

  it('expires items through TTL exactly when the schema names a TTL attribute', () => {
    if (schema.ttlAttribute) {
      expect(props.TimeToLiveSpecification).toEqual({ AttributeName: schema.ttlAttribute, Enabled: true });
    } else {
      expect(props.TimeToLiveSpecification).toBeUndefined();
    }
  });

  it('is on-demand, encrypted and point-in-time recoverable', () => {
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.ProvisionedThroughput).toBeUndefined();
    expect(props.SSESpecification).toEqual({ SSEEnabled: true });
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('keeps its data when the stack is deleted or the table replaced, but not after a failed first create', () => {
    expect(table.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });
});

it('declares no other DynamoDB table', () => {
  const tables = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table').map(([id]) => id);
  expect(tables.sort()).toEqual(TABLES.map(([id]) => id).sort());
});
