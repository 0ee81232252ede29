import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailure } from './dynamo-errors.js';
import { batchGetAll, BATCH_GET_MAX_KEYS } from './batch-get.js';
import type { SuppressionEntry } from '../core/types.js';

/** The suppression list: one item per lower-cased address. */

export function normalizeAddress(email: string): string {
  return email.trim().toLowerCase();
}

/** Looks up many addresses at once (BatchGetItem, 100 keys a call); returns the suppressed ones. */
export async function findSuppressed(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  emails: string[],
): Promise<Map<string, SuppressionEntry>> {
  const found = new Map<string, SuppressionEntry>();
  const unique = [...new Set(emails.map(normalizeAddress))];
  for (let i = 0; i < unique.length; i += BATCH_GET_MAX_KEYS) {
    const keys = unique.slice(i, i + BATCH_GET_MAX_KEYS).map((email) => ({ email }));
    for (const item of await batchGetAll(ddb, tableName, keys, { what: 'Suppression lookup' })) {
      found.set(item.email as string, item as unknown as SuppressionEntry);
    }
  }
  return found;
}

export async function getSuppression(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  email: string,
): Promise<SuppressionEntry | undefined> {
  const out = await ddb.send(new GetCommand({ TableName: tableName, Key: { email: normalizeAddress(email) } }));
  return out.Item as SuppressionEntry | undefined;
}

/**
 * Adds an address. A spam complaint is never replaced by a weaker reason, so the record
 * keeps the fact that matters most; returns false when the existing entry was kept.
 */
export async function addSuppression(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  entry: SuppressionEntry,
): Promise<boolean> {
  const item = { ...entry, email: normalizeAddress(entry.email) };
  try {
    await ddb.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(email) OR (#reason <> :complaint AND #reason <> :reason)',
        ExpressionAttributeNames: { '#reason': 'reason' },
        ExpressionAttributeValues: { ':complaint': 'spam-complaint', ':reason': item.reason },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailure(error)) return false;
    throw error;
  }
}

export async function removeSuppression(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  email: string,
): Promise<SuppressionEntry | undefined> {
  const out = await ddb.send(
    new DeleteCommand({ TableName: tableName, Key: { email: normalizeAddress(email) }, ReturnValues: 'ALL_OLD' }),
  );
  return out.Attributes as SuppressionEntry | undefined;
}
