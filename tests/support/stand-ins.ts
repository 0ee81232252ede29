import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../functions/lib/clients.js';
import {
  COUNTERS_TABLE,
  SUPPRESSION_TABLE,
  TRACKING_TABLE,
  createTableInput,
} from '../../functions/lib/table-schemas.js';
import { enforceSesSendRules, useSesQuota } from '../../src/local/ses-send-rules.js';
import { SesQuota } from '../../src/local/ses-quota.js';

/**
 * Local stand-ins for integration tests, all on 127.0.0.1 with ports chosen by the OS:
 * dynalite (DynamoDB), s3rver (S3) and aws-ses-v2-local (SES v2, with the SendEmail rules SES
 * has and it lacks, as in local mode). Each test file starts its own set and stops it in afterAll.
 */

const require = createRequire(import.meta.url);

export interface StandIns {
  dynamoDbEndpoint: string;
  s3Endpoint: string;
  sesEndpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  ddb: DynamoDBDocumentClient;
  s3: S3Client;
  ses: SESv2Client;
  tables: { tracking: string; suppression: string; counters: string };
  bucket: string;
  /** Emails the SES stand-in has accepted, from its /store endpoint. */
  sentMail(): Promise<StoredEmail[]>;
  clearMail(): Promise<void>;
  stop(): Promise<void>;
}

export interface StoredEmail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  headers?: { name: string; value: string }[];
  /** Attached files; `content` is base64. */
  attachments?: { filename: string; contentType: string; contentDisposition?: string; size: number; content: string }[];
  at: number;
}

const REGION = 'us-east-1';
// s3rver accepts only its own fixed key pair; dynalite and the SES stand-in accept any.
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

export async function startStandIns(prefix = 'test'): Promise<StandIns> {
  const dynalite = require('dynalite') as (opts: object) => Server;
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamoDbEndpoint = await listen(dynamoServer);

  const S3rver = require('s3rver') as new (opts: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };
  const s3Dir = mkdtempSync(join(tmpdir(), 'sesmailengine-s3-'));
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Dir });
  const s3Address = await s3rver.run();
  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;

  enforceSesSendRules();
  // Unlimited, whatever an earlier stand-in in this process set.
  useSesQuota(new SesQuota());
  const sesLocal = require('aws-ses-v2-local') as { default: (c: { host: string; port: number }) => Promise<Server> };
  const sesServer = await sesLocal.default({ host: '127.0.0.1', port: 0 });
  const sesEndpoint = `http://127.0.0.1:${(sesServer.address() as AddressInfo).port}`;

  const common = { region: REGION, credentials: CREDENTIALS };
  const rawDdb = new DynamoDBClient({ ...common, endpoint: dynamoDbEndpoint });
  const ddb = documentClient(rawDdb);
  const s3 = new S3Client({
    ...common,
    endpoint: s3Endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const ses = new SESv2Client({ ...common, endpoint: sesEndpoint, requestHandler: { requestTimeout: 5000 } });

  const tables = {
    tracking: `${prefix}-EmailTracking`,
    suppression: `${prefix}-Suppression`,
    counters: `${prefix}-Counters`,
  };
  await rawDdb.send(new CreateTableCommand(createTableInput(tables.tracking, TRACKING_TABLE)));
  await rawDdb.send(new CreateTableCommand(createTableInput(tables.suppression, SUPPRESSION_TABLE)));
  await rawDdb.send(new CreateTableCommand(createTableInput(tables.counters, COUNTERS_TABLE)));
  const bucket = `${prefix.toLowerCase()}-templates`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));

  return {
    dynamoDbEndpoint,
    s3Endpoint,
    sesEndpoint,
    region: REGION,
    credentials: CREDENTIALS,
    ddb,
    s3,
    ses,
    tables,
    bucket,
    async sentMail() {
      const res = await fetch(`${sesEndpoint}/store`);
      const body = (await res.json()) as { emails: StoredEmail[] };
      return body.emails;
    },
    async clearMail() {
      await fetch(`${sesEndpoint}/clear-store`, { method: 'POST' });
    },
    async stop() {
      rawDdb.destroy();
      s3.destroy();
      ses.destroy();
      await Promise.all([close(dynamoServer), s3rver.close(), close(sesServer)]);
      rmSync(s3Dir, { recursive: true, force: true });
    },
  };
}
