/**
 * The AWS clients local mode's handlers use, built the same way in the main process and in
 * each handler worker: pointed at the stand-ins and the local endpoint, with pooled
 * connections, and with an in-process route for each service that lives in the main
 * process (in a worker, the route forwards the call to the main process).
 */
import { Agent } from 'node:http';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { CACHED_MIDDLEWARE, documentClient, type AwsClients } from '../../functions/lib/clients.js';
import { InProcessHttpHandler, type InProcessRoute } from './in-process-handler.js';

export type LocalService = 'dynamodb' | 'ses' | 'local';

export interface LocalClientOptions {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  endpoints: { dynamodb: string; s3: string; ses: string; local: string };
  /** Services answered in-process; the others go over HTTP. */
  routes: Partial<Record<LocalService, InProcessRoute>>;
}

export interface LocalClients {
  clients: AwsClients;
  /** The plain DynamoDB client (table set-up uses it). */
  rawDdb: DynamoDBClient;
  destroy(): void;
}

/** A SigV4 auth scheme whose signer only stamps a fixed Authorization and X-Amz-Date header. */
function unsignedAuthScheme(accessKeyId: string, region: string) {
  return {
    schemeId: 'aws.auth#sigv4',
    identityProvider: () => async () => ({ accessKeyId, secretAccessKey: 'unused' }),
    signer: {
      async sign<T extends { headers: Record<string, string> }>(request: T): Promise<T> {
        request.headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/${region}/local/aws4_request, SignedHeaders=host, Signature=0`;
        request.headers['x-amz-date'] = '20260101T000000Z';
        return request;
      },
    },
  };
}

export function buildLocalClients(options: LocalClientOptions): LocalClients {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const httpOptions = { httpAgent: agent, requestTimeout: 30_000 };
  const handlerFor = (service: LocalService) => {
    const route = options.routes[service];
    return route ? new InProcessHttpHandler(route, httpOptions) : httpOptions;
  };
  const common = {
    region: options.region,
    // A copy per client: the SDK annotates the credentials object it is given.
    get credentials() {
      return { ...options.credentials };
    },
    requestHandler: httpOptions,
    maxAttempts: 3,
  };
  // The stand-ins (and local mode's own server) do not check signatures, so these clients
  // skip SigV4 and send a fixed, well-formed Authorization header instead: signing every
  // request is a measurable share of the CPU at burst rates. s3rver does check, so S3 signs.
  const unsigned = {
    ...common,
    httpAuthSchemes: [unsignedAuthScheme(options.credentials.accessKeyId, options.region)] as unknown as NonNullable<DynamoDBClientConfig['httpAuthSchemes']>,
  };
  const rawDdb = new DynamoDBClient({ ...unsigned, endpoint: options.endpoints.dynamodb, requestHandler: handlerFor('dynamodb') });
  const s3 = new S3Client({ ...common, endpoint: options.endpoints.s3, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
  // One attempt per SendEmail, as in the stack (functions/lib/clients-ses.ts): no blind resend.
  const ses = new SESv2Client({ ...unsigned, ...CACHED_MIDDLEWARE, maxAttempts: 1, endpoint: options.endpoints.ses, requestHandler: handlerFor('ses') });
  const sqs = new SQSClient({ ...unsigned, ...CACHED_MIDDLEWARE, endpoint: options.endpoints.local, requestHandler: handlerFor('local') });
  const events = new EventBridgeClient({ ...unsigned, ...CACHED_MIDDLEWARE, endpoint: options.endpoints.local, requestHandler: handlerFor('local') });
  const scheduler = new SchedulerClient({ ...unsigned, ...CACHED_MIDDLEWARE, endpoint: options.endpoints.local, requestHandler: handlerFor('local') });
  return {
    clients: { ddb: documentClient(rawDdb), s3, ses, sqs, events, scheduler },
    rawDdb,
    destroy() {
      for (const client of [rawDdb, s3, ses, sqs, events, scheduler]) client.destroy();
      agent.destroy();
    },
  };
}
