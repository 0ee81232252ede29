import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { MessageTag } from '@aws-sdk/client-sesv2';
import { startDynamoDbStandIn } from '../../src/local/dynamodb-stand-in.js';
import { startSesStandIn } from '../../src/local/ses-stand-in.js';
import { buildLocalClients } from '../../src/local/local-clients.js';
import type { InProcessRoute } from '../../src/local/in-process-handler.js';
import type { AwsClients } from '../../functions/lib/clients.js';
import { COUNTERS_TABLE, SUPPRESSION_TABLE, TRACKING_TABLE, createTableInput } from '../../functions/lib/table-schemas.js';
import type { StoredEmail } from './stand-ins.js';

/**
 * Local mode's own stores in the test process, wired the way `sesmailengine local` wires
 * them: its in-memory DynamoDB (src/local/dynamodb/) and its SES stand-in, both answered
 * in-process through the same routes, and s3rver (the S3 stand-in local mode runs in a child
 * process; here in the test process). The SendEmail calls are also kept as sent, with their
 * message tags, which the SES stand-in's mail store does not keep.
 */

const require = createRequire(import.meta.url);
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface SentCall {
  to: string[];
  tags: MessageTag[];
  subject?: string;
  text?: string;
  html?: string;
}

export interface LocalStores {
  clients: AwsClients;
  tables: { tracking: string; suppression: string; counters: string };
  bucket: string;
  /** Every SendEmail the SES stand-in accepted or refused, in order. */
  sendCalls: SentCall[];
  sentMail(): Promise<StoredEmail[]>;
  stop(): Promise<void>;
}

export async function startLocalStores(prefix = 'local'): Promise<LocalStores> {
  const dynamo = await startDynamoDbStandIn({ host: '127.0.0.1', port: 0, region: REGION, account: '000000000000' });
  const ses = await startSesStandIn('127.0.0.1', 0);
  const S3rver = require('s3rver') as new (opts: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };
  const s3Dir = mkdtempSync(join(tmpdir(), 'sesmailengine-local-stores-'));
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Dir });
  const s3Address = await s3rver.run();

  const sendCalls: SentCall[] = [];
  const sesRoute: InProcessRoute = (request, body) => {
    try {
      const input = JSON.parse(body) as {
        Destination?: { ToAddresses?: string[] };
        EmailTags?: MessageTag[];
        Content?: { Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string }; Html?: { Data?: string } } } };
      };
      const simple = input.Content?.Simple;
      sendCalls.push({
        to: input.Destination?.ToAddresses ?? [],
        tags: input.EmailTags ?? [],
        subject: simple?.Subject?.Data,
        text: simple?.Body?.Text?.Data,
        html: simple?.Body?.Html?.Data,
      });
    } catch {
      // Not JSON: the stand-in answers it.
    }
    return ses.route(request, body);
  };
  const local = buildLocalClients({
    region: REGION,
    credentials: CREDENTIALS,
    endpoints: { dynamodb: dynamo.endpoint, s3: `http://127.0.0.1:${s3Address.port}`, ses: ses.endpoint, local: 'http://127.0.0.1:9' },
    routes: { dynamodb: dynamo.route, ses: sesRoute },
  });
  const tables = { tracking: `${prefix}-EmailTracking`, suppression: `${prefix}-Suppression`, counters: `${prefix}-Counters` };
  await local.rawDdb.send(new CreateTableCommand(createTableInput(tables.tracking, TRACKING_TABLE)));
  await local.rawDdb.send(new CreateTableCommand(createTableInput(tables.suppression, SUPPRESSION_TABLE)));
  await local.rawDdb.send(new CreateTableCommand(createTableInput(tables.counters, COUNTERS_TABLE)));
  const bucket = `${prefix.toLowerCase()}-templates`;
  await local.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));

  return {
    clients: local.clients,
    tables,
    bucket,
    sendCalls,
    async sentMail() {
      const res = await fetch(`${ses.endpoint}/store`);
      return ((await res.json()) as { emails: StoredEmail[] }).emails;
    },
    async stop() {
      local.destroy();
      await Promise.all([dynamo.stop(), ses.stop(), s3rver.close()]);
      rmSync(s3Dir, { recursive: true, force: true });
    },
  };
}
