import { ScanCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient, type TableDescription } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conditionalWrite } from './dynamo-errors.js';
import { LEGACY_SUPPRESSION_INDEX_RANGE_KEY, SUPPRESSION_TABLE } from './table-schemas.js';

/**
 * suppression-type-date-index changed its range key from `createdAt` (earlier versions of
 * this engine) to the original engine's `addedToSuppressionDate`. What the installer, local
 * mode and `migrate` need to find such a table and fill the new attribute
 * (docs/MIGRATING.md, "Upgrading a stack of an earlier version").
 */

export const SUPPRESSION_INDEX = SUPPRESSION_TABLE.indexes[0]!.name;

/**
 * The state of a suppression table's index: `legacy` (the createdAt range key: both steps
 * to do), `missing` (step 1 done, the entries' dates and the index still to come), or
 * `current` (nothing to do; also for a table this check cannot read).
 */
export type SuppressionIndexState = 'legacy' | 'missing' | 'current';

export function suppressionIndexState(table: TableDescription | undefined): SuppressionIndexState {
  if (!table?.KeySchema) return 'current';
  const index = (table.GlobalSecondaryIndexes ?? []).find((i) => i.IndexName === SUPPRESSION_INDEX);
  if (!index) return 'missing';
  const range = index.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  return range === LEGACY_SUPPRESSION_INDEX_RANGE_KEY ? 'legacy' : 'current';
}

/**
 * Gives every entry that has only `createdAt` (written before `addedToSuppressionDate`
 * existed) the same time as `addedToSuppressionDate`, so suppression-type-date-index, whose
 * range key it is, holds it. Idempotent and resumable: it scans for what is still missing
 * and each update is conditional, so an interrupted run is finished by running it again.
 * Plain DynamoDB calls (no document client), so any client of the table will do. Returns
 * how many entries it updated.
 */
export async function backfillAddedToSuppressionDate(
  ddb: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  onPage?: (updated: number) => void,
): Promise<number> {
  const client = ddb as DynamoDBClient;
  let updated = 0;
  let start: ScanKey;
  do {
    const out = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'attribute_not_exists(addedToSuppressionDate) AND attribute_type(createdAt, :s)',
        ProjectionExpression: 'email',
        ExpressionAttributeValues: { ':s': { S: 'S' } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out?.Items ?? []) {
      const applied = await conditionalWrite(
        client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { email: item.email! },
            UpdateExpression: 'SET addedToSuppressionDate = createdAt',
            ConditionExpression: 'attribute_not_exists(addedToSuppressionDate) AND attribute_type(createdAt, :s)',
            ExpressionAttributeValues: { ':s': { S: 'S' } },
          }),
        ),
      );
      if (applied) updated++;
    }
    onPage?.(updated);
    start = out?.LastEvaluatedKey;
  } while (start);
  return updated;
}

type ScanKey = Record<string, AttributeValue> | undefined;
