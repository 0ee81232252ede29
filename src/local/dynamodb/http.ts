/**
 * Serves the in-memory store over HTTP as DynamoDB's endpoint does, for clients outside the
 * process (the AWS CLI, a second SDK, tests): POST with X-Amz-Target DynamoDB_20120810.<Op>.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalDynamoDb } from './store.js';

const TARGET_PREFIX = 'DynamoDB_20120810.';
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const JSON_TYPES = new Set(['application/x-amz-json-1.0', 'application/x-amz-json-1.1', 'application/json']);

function requestId(): string {
  return randomBytes(39).toString('base64').toUpperCase().replace(/[+/]/g, '0');
}

function answer(res: ServerResponse, statusCode: number, body: string, contentType: string): void {
  res.writeHead(statusCode, {
    'x-amzn-requestid': requestId(),
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** node:http request listener serving the store as DynamoDB does: POST with X-Amz-Target DynamoDB_20120810.<Op>, content-type application/x-amz-json-1.0 (also 1.1 accepted); answers with x-amzn-requestid and the JSON; bad target/body as DynamoDB answers. */
export function dynamoDbRequestListener(db: LocalDynamoDb): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooLarge) {
        res.writeHead(413, { 'x-amzn-requestid': requestId() });
        res.end();
        return;
      }
      const body = Buffer.concat(chunks, length).toString('utf8');
      if (req.method === 'GET') {
        answer(res, 200, 'healthy: dynamodb.local ', 'text/plain');
        return;
      }
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (req.method !== 'POST' || (body && !JSON_TYPES.has(contentType))) {
        answer(res, 404, '<UnknownOperationException/>\n', 'text/plain');
        return;
      }
      const replyType = contentType === 'application/json' ? 'application/json' : contentType || 'application/x-amz-json-1.0';
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
      // A write is answered once it is on disk (with a data file), not before.
      const result = db.respond(operation || '-', body);
      if (result instanceof Promise) void result.then((done) => answer(res, done.statusCode, done.body, replyType));
      else answer(res, result.statusCode, result.body, replyType);
    });
  };
}
