import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { conditionalWrite } from './dynamo-errors.js';
import { batchGetAll, BATCH_GET_MAX_KEYS } from './batch-get.js';
import type { SuppressionEntry, SuppressionReason, SuppressionType } from '../core/types.js';

/** The suppression list: one item per lower-cased address. */

export function normalizeAddress(email: string): string {
  return email.trim().toLowerCase();
}

const TYPE_OF_REASON: Record<SuppressionReason, SuppressionType> = {
  'hard-bounce': 'bounce',
  'consecutive-soft-bounces': 'bounce',
  'spam-complaint': 'complaint',
  unsubscribed: 'unsubscribe',
  manual: 'manual',
};

const REASON_OF_TYPE: Record<SuppressionType, SuppressionReason> = {
  bounce: 'hard-bounce',
  complaint: 'spam-complaint',
  unsubscribe: 'unsubscribed',
  manual: 'manual',
};

/**
 * An item of the suppression table as the engine reads it, whichever version wrote it: the
 * original engine's items carry `addedToSuppressionDate` (no `createdAt`), earlier versions
 * of this engine `createdAt` (no `addedToSuppressionDate`); either fills the other. A
 * missing reason or type is derived from the other one. Every other attribute is kept.
 */
export function suppressionFromItem(item: Record<string, unknown>): SuppressionEntry {
  const text = (key: string) => (typeof item[key] === 'string' && item[key] !== '' ? (item[key] as string) : undefined);
  const added = text('addedToSuppressionDate') ?? text('createdAt') ?? '';
  const type = text('suppressionType') as SuppressionType | undefined;
  const reason = (text('reason') as SuppressionReason | undefined) ?? (type && REASON_OF_TYPE[type]) ?? 'manual';
  return {
    ...item,
    email: String(item.email ?? ''),
    reason,
    suppressionType: type ?? TYPE_OF_REASON[reason] ?? 'manual',
    createdAt: text('createdAt') ?? added,
    addedToSuppressionDate: added,
  };
}

/** An entry as the store writes it: both date attributes, whichever the caller gave. */
export function suppressionItem(entry: SuppressionEntry): SuppressionEntry {
  const added = entry.addedToSuppressionDate ?? entry.createdAt;
  return { ...entry, email: normalizeAddress(entry.email), createdAt: entry.createdAt ?? added, addedToSuppressionDate: added };
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
      found.set(item.email as string, suppressionFromItem(item));
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
  return out.Item ? suppressionFromItem(out.Item) : undefined;
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
  const item = suppressionItem(entry);
  return conditionalWrite(
    ddb.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(email) OR (#reason <> :complaint AND #reason <> :reason)',
        ExpressionAttributeNames: { '#reason': 'reason' },
        ExpressionAttributeValues: { ':complaint': 'spam-complaint', ':reason': item.reason },
      }),
    ),
  );
}

export async function removeSuppression(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  email: string,
): Promise<SuppressionEntry | undefined> {
  const out = await ddb.send(
    new DeleteCommand({ TableName: tableName, Key: { email: normalizeAddress(email) }, ReturnValues: 'ALL_OLD' }),
  );
  return out.Attributes ? suppressionFromItem(out.Attributes) : undefined;
}

