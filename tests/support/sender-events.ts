import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SenderTrackingRecord } from '../../functions/lib/tracking-store.js';
import type { Env } from '../../functions/lib/env.js';

/** Event factories and fixtures for the Email Sender's tests and benchmark. */

/** starter-templates/ of the repository, found upwards from here (tests run from source, benchmarks from dist-bench/). */
function starterRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'starter-templates', 'welcome'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('starter-templates/ not found above the test support files');
    dir = parent;
  }
  return join(dir, 'starter-templates');
}

const STARTER_ROOT = starterRoot();

/** The stand-ins' tables and bucket, as startStandIns and startLocalStores give them. */
export interface EngineStores {
  tables: { tracking: string; suppression: string; counters: string };
  bucket: string;
}

/** The three tables' variables, which every handler reads. */
export function tableEnv(stores: EngineStores): Env {
  return { TRACKING_TABLE: stores.tables.tracking, SUPPRESSION_TABLE: stores.tables.suppression, COUNTERS_TABLE: stores.tables.counters };
}

/** The Email Sender's environment over the stand-ins, sending from noreply@app.example. */
export function senderEnv(stores: EngineStores, configurationSet: string, extra: Env = {}): Env {
  return { ...tableEnv(stores), TEMPLATE_BUCKET: stores.bucket, CONFIGURATION_SET: configurationSet, DEFAULT_SENDER_EMAIL: 'noreply@app.example', ...extra };
}

/** An "Email Request" EventBridge event as the send queue receives it (the body of an SQS message). */
export function requestEvent(detail: unknown, envelope: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': 'Email Request',
    source: 'my.application',
    account: '111122223333',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
    ...envelope,
  });
}

export function sqsRecord(body: string, messageId: string = randomUUID()): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:sesmailengine-send',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(...bodies: string[]): SQSEvent {
  return { Records: bodies.map((body) => sqsRecord(body)) };
}

export interface TemplateFiles {
  html: string;
  text: string;
  metadata: unknown;
}

export async function uploadTemplate(s3: S3Client, bucket: string, name: string, files: TemplateFiles): Promise<void> {
  const put = (file: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `templates/${name}/${file}`, Body: body }));
  await Promise.all([
    put('template.html', files.html),
    put('template.txt', files.text),
    put('metadata.json', typeof files.metadata === 'string' ? files.metadata : JSON.stringify(files.metadata)),
  ]);
}

export function starterTemplate(name: string): TemplateFiles & { sampleData: Record<string, unknown> } {
  const read = (file: string) => readFileSync(join(STARTER_ROOT, name, file), 'utf8');
  return {
    html: read('template.html'),
    text: read('template.txt'),
    metadata: read('metadata.json'),
    sampleData: JSON.parse(read('sample-data.json')) as Record<string, unknown>,
  };
}

export async function uploadStarterTemplates(s3: S3Client, bucket: string, names: string[]): Promise<void> {
  await Promise.all(names.map((name) => uploadTemplate(s3, bucket, name, starterTemplate(name))));
}

export async function scanTracking(ddb: DynamoDBDocumentClient, table: string): Promise<SenderTrackingRecord[]> {
  const items: SenderTrackingRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...((out.Items ?? []) as SenderTrackingRecord[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
