import { GetAccountCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { grantedTokens } from '../core/send-pacing.js';
import { isConditionalCheckFailure } from './dynamo-errors.js';

/**
 * The SES account's sending quota, and the shared per-second token bucket every Email
 * Sender container reserves from (core/send-pacing.ts decides; this module does the I/O).
 */

export interface SendQuota {
  /** Sends per second; undefined when SES reports no limit (-1). */
  maxSendRate?: number;
  /** Sends per rolling 24 hours; undefined when SES reports no limit (-1). */
  max24HourSend?: number;
  sentLast24Hours: number;
}

/** Counter items of one second live this long (DynamoDB deletes them some time after). */
const PACE_ITEM_TTL_SECONDS = 120;

function limitOrNone(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** SES v2 GetAccount's SendQuota. */
export async function readSendQuota(ses: SESv2Client): Promise<SendQuota> {
  const account = await ses.send(new GetAccountCommand({}));
  const quota = account.SendQuota ?? {};
  const maxSendRate = limitOrNone(quota.MaxSendRate);
  const max24HourSend = limitOrNone(quota.Max24HourSend);
  return {
    ...(maxSendRate !== undefined ? { maxSendRate } : {}),
    ...(max24HourSend !== undefined ? { max24HourSend } : {}),
    sentLast24Hours: quota.SentLast24Hours ?? 0,
  };
}

export function paceKey(epochSecond: number): string {
  return `pace#${epochSecond}`;
}

/**
 * Reserves up to `asked` sends in `epochSecond` out of `limit`: one conditional UpdateItem
 * that adds `asked` while the second is not full. Returns how many fitted (0 when full).
 */
export async function reserveSendTokens(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  epochSecond: number,
  asked: number,
  limit: number,
): Promise<number> {
  try {
    const out = await ddb.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: paceKey(epochSecond) },
        UpdateExpression: 'ADD #used :n SET #exp = if_not_exists(#exp, :exp)',
        ConditionExpression: 'attribute_not_exists(#used) OR #used < :limit',
        ExpressionAttributeNames: { '#used': 'used', '#exp': 'expiresAt' },
        ExpressionAttributeValues: { ':n': asked, ':limit': limit, ':exp': epochSecond + PACE_ITEM_TTL_SECONDS },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const used = Number(out.Attributes?.used ?? asked);
    return grantedTokens(used, asked, limit);
  } catch (error) {
    if (isConditionalCheckFailure(error)) return 0;
    throw error;
  }
}
