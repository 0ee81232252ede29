import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Env } from './env.js';

/**
 * The one place AWS clients are built. Region, credentials and endpoints come from the
 * SDK's own defaults (AWS_REGION, profiles, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>),
 * so the same code runs on Lambda, against local stand-ins, and against emulators.
 */

const REQUEST_TIMEOUT_MS = 10_000;

function s3UsesCustomEndpoint(env: Env): boolean {
  return Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
}

export interface AwsClients {
  ddb: DynamoDBDocumentClient;
  s3: S3Client;
  ses: SESv2Client;
  sqs: SQSClient;
  events: EventBridgeClient;
}

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function createClients(env: Env = process.env): AwsClients {
  const requestHandler = { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: 3_000 };
  return {
    ddb: documentClient(new DynamoDBClient({ requestHandler })),
    s3: new S3Client({
      requestHandler,
      // Path-style addressing for S3-compatible endpoints, which rarely serve virtual hosts.
      forcePathStyle: s3UsesCustomEndpoint(env),
      requestChecksumCalculation: 'WHEN_REQUIRED',
    }),
    ses: new SESv2Client({ requestHandler }),
    sqs: new SQSClient({ requestHandler }),
    events: new EventBridgeClient({ requestHandler }),
  };
}
