/**
 * Key schemas and indexes of the engine's tables. The CloudFormation template must
 * declare the same (a test compares them); local mode and tests create tables from these.
 */

export interface IndexSchema {
  name: string;
  hashKey: string;
  rangeKey?: string;
  projection: 'ALL' | 'KEYS_ONLY';
}

export interface TableSchema {
  hashKey: string;
  rangeKey?: string;
  attributes: Record<string, 'S' | 'N'>;
  indexes: IndexSchema[];
  ttlAttribute?: string;
}

/** One item per email attempt, keyed by emailId. */
export const TRACKING_TABLE: TableSchema = {
  hashKey: 'emailId',
  attributes: {
    emailId: 'S',
    toEmail: 'S',
    timestamp: 'S',
    originalEmailId: 'S',
    datePartition: 'S',
    sesMessageId: 'S',
  },
  indexes: [
    { name: 'to-email-timestamp-index', hashKey: 'toEmail', rangeKey: 'timestamp', projection: 'ALL' },
    { name: 'original-email-id-index', hashKey: 'originalEmailId', rangeKey: 'timestamp', projection: 'ALL' },
    // KEYS_ONLY: one key per day takes every day's index writes; with keys only, just the
    // record's first write reaches the index (status updates don't), see docs/ARCHITECTURE.md.
    { name: 'date-partition-index', hashKey: 'datePartition', rangeKey: 'timestamp', projection: 'KEYS_ONLY' },
    // Feedback events without the engine's message tags find their record through this.
    { name: 'ses-message-id-index', hashKey: 'sesMessageId', projection: 'KEYS_ONLY' },
  ],
  ttlAttribute: 'expiresAt',
};

/**
 * One item per suppressed address (lower-cased). The index and its attribute names are the
 * original engine's (its support guide queries them), so `addedToSuppressionDate` is the
 * range key; `createdAt` is written too, for readers of earlier versions of this engine.
 */
export const SUPPRESSION_TABLE: TableSchema = {
  hashKey: 'email',
  attributes: { email: 'S', suppressionType: 'S', addedToSuppressionDate: 'S' },
  indexes: [
    { name: 'suppression-type-date-index', hashKey: 'suppressionType', rangeKey: 'addedToSuppressionDate', projection: 'ALL' },
  ],
};

/** The range key suppression-type-date-index had in earlier versions of this engine (see docs/MIGRATING.md). */
export const LEGACY_SUPPRESSION_INDEX_RANGE_KEY = 'createdAt';

/** Sharded daily counters and per-address soft-bounce streaks (see counters-store.ts). */
export const COUNTERS_TABLE: TableSchema = {
  hashKey: 'pk',
  attributes: { pk: 'S' },
  indexes: [],
  ttlAttribute: 'expiresAt',
};

/** The CreateTable request for a schema (on-demand billing), as local mode and tests use it. */
export function createTableInput(tableName: string, schema: TableSchema) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: Object.entries(schema.attributes).map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: schema.hashKey, KeyType: 'HASH' as const },
      ...(schema.rangeKey ? [{ AttributeName: schema.rangeKey, KeyType: 'RANGE' as const }] : []),
    ],
    ...(schema.indexes.length > 0
      ? {
          GlobalSecondaryIndexes: schema.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.hashKey, KeyType: 'HASH' as const },
              ...(index.rangeKey ? [{ AttributeName: index.rangeKey, KeyType: 'RANGE' as const }] : []),
            ],
            Projection: { ProjectionType: index.projection },
          })),
        }
      : {}),
  };
}
