import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, type BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandOutput, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { LocalInfo } from '../../src/local/info.js';

export type { LocalInfo };

/**
 * Starts `sesmailengine local` as a user would (the built CLI in a child process) and
 * gives tests what they need: the JSON line, an EventBridge client, tracking reads, the
 * SES stand-in's mail store and the status-event log. Tests run after `npm run build`.
 */

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO, 'dist', 'src', 'cli.js');

export interface LocalMode {
  child: ChildProcess;
  info: LocalInfo;
  stderr(): string;
  /** Every line the process wrote to stdout so far. */
  stdoutLines(): string[];
  events: EventBridgeClient;
  ddb: DynamoDBDocumentClient;
  publish(entries: PutEventsRequestEntry[]): Promise<PutEventsCommandOutput>;
  request(detail: Record<string, unknown>, source?: string): PutEventsRequestEntry;
  record(emailId: string): Promise<Record<string, any> | undefined>;
  records(emailIds: string[]): Promise<Record<string, any>[]>;
  retriesOf(originalEmailId: string): Promise<Record<string, any>[]>;
  suppression(email: string): Promise<Record<string, any> | undefined>;
  mail(): Promise<{ messageId: string; subject: string; destination: { to: string[] } }[]>;
  statusEvents(emailId: string): Promise<{ detail: Record<string, any> }[]>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnedWithLine {
  child: ChildProcess;
  /** The first line it printed on stdout. */
  first: string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Every line it printed on stdout so far, the first one included (kept up to date). */
  lines: string[];
}

/**
 * Starts `node <args>` as a user would and waits for its first stdout line (the JSON line
 * of `local --json` or `dashboard --json`); fails with its stderr if it exits first or
 * stays silent past `timeoutMs`.
 */
export async function spawnForJsonLine(args: string[], what: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<SpawnedWithLine> {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (stderr.length < 100_000) stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const reader = createInterface({ input: child.stdout! });
  const lines: string[] = [];
  reader.on('line', (line) => lines.push(line));
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not print its JSON line in time. stderr: ${stderr}`)), timeoutMs);
    reader.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready. stderr: ${stderr}`));
    });
  });
  return { child, first, stderr: () => stderr, exited, lines };
}

/** `cli`: the CLI to start, the built one of this clone by default (the npm package's in tests/cli/package.test.ts). */
export async function startLocalMode(args: string[] = [], timeoutMs = 60_000, cli = CLI): Promise<LocalMode> {
  const { child, first, stderr, exited, lines: stdoutLines } = await spawnForJsonLine(
    [cli, 'local', '--json', '--port', '0', '--dynamodb-port', '0', '--s3-port', '0', '--ses-port', '0', ...args],
    'local mode',
    timeoutMs,
  );
  const info = JSON.parse(first) as LocalInfo;
  const common = { region: info.region, credentials: info.credentials };
  const events = new EventBridgeClient({ ...common, endpoint: info.eventBridgeEndpoint });
  const raw = new DynamoDBClient({ ...common, endpoint: info.dynamoDbEndpoint });
  const ddb = DynamoDBDocumentClient.from(raw);
  let stopped: Promise<number | null> | undefined;

  return {
    child,
    info,
    stderr,
    stdoutLines: () => [...stdoutLines],
    events,
    ddb,
    publish: (entries) => events.send(new PutEventsCommand({ Entries: entries })),
    request: (detail, source = 'e2e.app') => ({
      EventBusName: info.eventBusName,
      Source: source,
      DetailType: 'Email Request',
      Detail: JSON.stringify(detail),
    }),
    async record(emailId) {
      const out = await ddb.send(new GetCommand({ TableName: info.trackingTable, Key: { emailId }, ConsistentRead: true }));
      return out.Item;
    },
    async records(emailIds) {
      const found: Record<string, any>[] = [];
      for (let i = 0; i < emailIds.length; i += 100) {
        const keys = emailIds.slice(i, i + 100).map((emailId) => ({ emailId }));
        let pending: Record<string, any> | undefined = { [info.trackingTable]: { Keys: keys } };
        while (pending && Object.keys(pending).length > 0) {
          const out: BatchGetCommandOutput = await ddb.send(new BatchGetCommand({ RequestItems: pending }));
          found.push(...(out.Responses?.[info.trackingTable] ?? []));
          pending = out.UnprocessedKeys;
        }
      }
      return found;
    },
    async retriesOf(originalEmailId) {
      const out = await ddb.send(
        new QueryCommand({
          TableName: info.trackingTable,
          IndexName: 'original-email-id-index',
          KeyConditionExpression: 'originalEmailId = :o',
          ExpressionAttributeValues: { ':o': originalEmailId },
        }),
      );
      return (out.Items ?? []).filter((item) => item.emailId !== originalEmailId);
    },
    async suppression(email) {
      const out = await ddb.send(new GetCommand({ TableName: info.suppressionTable, Key: { email: email.toLowerCase() } }));
      return out.Item;
    },
    async mail() {
      const body = (await (await fetch(info.sesStoreUrl)).json()) as { emails: { messageId: string; subject: string; destination: { to: string[] } }[] };
      return body.emails;
    },
    async statusEvents(emailId) {
      const body = (await (await fetch(`${info.statusEventsUrl}?emailId=${encodeURIComponent(emailId)}`)).json()) as {
        events: { detail: Record<string, any> }[];
      };
      return body.events;
    },
    stop(signal = 'SIGTERM') {
      stopped ??= (async () => {
        events.destroy();
        raw.destroy();
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopped;
    },
  };
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
