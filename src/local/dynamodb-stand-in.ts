/**
 * Local mode's DynamoDB: the in-memory, DynamoDB-compatible store (dynamodb/) in the engine's
 * own process. Its HTTP server serves the AWS CLI, SDKs and `sesmailengine <command> --local`
 * at the DynamoDB endpoint; the engine's own calls reach the store in-process (`route`).
 * With a data directory the tables are kept there (a snapshot and a journal).
 */
import { createServer } from 'node:http';
import { LocalDynamoDb, type StoreAnswer } from './dynamodb/store.js';
import { dynamoDbRequestListener } from './dynamodb/http.js';
import { amzTarget, type InProcessRoute } from './in-process-handler.js';
import { PortInUseError, StandInStartError } from './stand-ins.js';
import { closeLocal, listenLocal } from './local-server.js';
import { guardServer } from './request-guard.js';

const TARGET_PREFIX = 'DynamoDB_20120810.';

export interface RunningDynamoDbStandIn {
  port: number;
  endpoint: string;
  route: InProcessRoute;
  stop(): Promise<void>;
}

export interface DynamoDbStandInOptions {
  host: string;
  port: number;
  region: string;
  account: string;
  /** The tables' file (JSON); memory only when absent. */
  dataFile?: string;
}

export async function startDynamoDbStandIn(options: DynamoDbStandInOptions): Promise<RunningDynamoDbStandIn> {
  let db: LocalDynamoDb;
  try {
    db = await LocalDynamoDb.open({ region: options.region, account: options.account, dataFile: options.dataFile });
  } catch (error) {
    throw new StandInStartError('dynamodb', error instanceof Error ? error.message : String(error));
  }
  const server = createServer(dynamoDbRequestListener(db));
  server.keepAliveTimeout = 65_000;
  guardServer(server);
  let port: number;
  try {
    port = await listenLocal(server, options.host, options.port, 'dynamodb');
  } catch (error) {
    await db.close();
    throw error instanceof PortInUseError ? error : new StandInStartError('dynamodb', error instanceof Error ? error.message : String(error));
  }
  const route: InProcessRoute = (request, body) => {
    const target = amzTarget(request);
    if (request.method !== 'POST' || !target?.startsWith(TARGET_PREFIX)) return undefined;
    const reply = (answer: StoreAnswer) => ({ statusCode: answer.statusCode, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: answer.body });
    // With a data dir, a write is answered once its journal entry is on disk.
    const answer = db.respond(target.slice(TARGET_PREFIX.length), body);
    return answer instanceof Promise ? answer.then(reply) : reply(answer);
  };
  return {
    port,
    endpoint: `http://${options.host}:${port}`,
    route,
    async stop() {
      await closeLocal(server);
      await db.close();
    },
  };
}
