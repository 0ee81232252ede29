/**
 * Runs the S3 stand-in (s3rver) in a process of its own, started by stand-ins.ts with an
 * IPC channel: s3rver needs an OpenSSL flag (for paged listings) that local mode's own
 * process should not get. (The DynamoDB and SES stand-ins run in local mode's process:
 * dynamodb-stand-in.ts, ses-stand-in.ts.)
 *
 * Protocol: argv[2] = kind, argv[3] = JSON options. The process answers on IPC with
 * `{ type: "ready", port }` or `{ type: "error", code, message }`, and exits when told
 * SIGTERM/SIGINT or when its parent goes away (IPC disconnect), so it never outlives it.
 */
import { join, sep } from 'node:path';
import S3Error from 's3rver/lib/models/error.js';
import { climbsOut, guardServer, KEY_OUTSIDE, s3BucketCheck, s3KeyCheck } from './request-guard.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export type StandInKind = 's3';

export interface StandInOptions {
  host: string;
  port: number;
  /** The object directory. */
  path?: string;
}

export type StandInMessage = { type: 'ready'; port: number } | { type: 'error'; code: string; message: string };

let closeServer: (() => Promise<void>) | undefined;
let exiting = false;

function report(message: StandInMessage): void {
  if (process.send) process.send(message);
}

function fail(error: unknown): void {
  const err = error as NodeJS.ErrnoException;
  report({ type: 'error', code: err?.code ?? 'ERROR', message: err?.message ?? String(error) });
  setTimeout(() => process.exit(1), 50).unref();
}

async function shutdown(): Promise<void> {
  if (exiting) return;
  exiting = true;
  const timer = setTimeout(() => process.exit(0), 3000);
  timer.unref();
  try {
    await closeServer?.();
  } finally {
    process.exit(0);
  }
}

/** The part of s3rver's filesystem store that turns a bucket and key into a path. */
interface FilesystemStore {
  rootDirectory: string;
  getResourcePath(bucket: string, key?: string, resource?: string): string;
  deleteObject(bucket: string, key: string): Promise<void>;
}

/**
 * The request guard reads keys in the path and headers; a multi-object delete
 * (`POST /<bucket>?delete`) names its keys in an XML body it cannot see, and s3rver deletes
 * the files of each (and then removes the key's "empty" parent folders). So the store itself
 * refuses any key that climbs out of its bucket, and any path it would build outside it:
 * the request fails with S3's InvalidArgument and nothing outside the store is touched.
 */
function confineStore(store: FilesystemStore): void {
  const refuse = (): Error => new S3Error(KEY_OUTSIDE.type, KEY_OUTSIDE.message);
  const resourcePath = store.getResourcePath.bind(store);
  store.getResourcePath = (bucket, key = '', resource) => {
    if (climbsOut(key)) throw refuse();
    const path = resourcePath(bucket, key, resource);
    if (!path.startsWith(join(store.rootDirectory, bucket) + sep)) throw refuse();
    return path;
  };
  const deleteObject = store.deleteObject.bind(store);
  store.deleteObject = async (bucket, key) => {
    if (climbsOut(key)) throw refuse();
    return deleteObject(bucket, key);
  };
}

async function startS3(options: StandInOptions): Promise<number> {
  const { default: S3rver } = await import('s3rver');
  const s3rver = new S3rver({ address: options.host, port: options.port, silent: true, directory: options.path });
  const address = await s3rver.run();
  // Installed before any request can arrive: run() resolved in the listen callback just now.
  guardServer(s3rver.httpServer, { format: 'xml', check: (request) => s3BucketCheck(request) ?? s3KeyCheck(request) });
  confineStore((s3rver as unknown as { store: FilesystemStore }).store);
  closeServer = () => s3rver.close();
  return address.port;
}

async function main(): Promise<void> {
  const kind = process.argv[2] as StandInKind;
  const options = JSON.parse(process.argv[3] ?? '{}') as StandInOptions;
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.on('disconnect', () => void shutdown());
  process.on('uncaughtException', fail);
  const start = { s3: startS3 }[kind];
  if (!start) throw new Error(`Unknown stand-in "${kind}".`);
  const port = await start(options);
  report({ type: 'ready', port });
}

main().catch(fail);
