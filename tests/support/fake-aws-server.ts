import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accountServices, FakeCloudFormation } from './fake-cloudformation.js';

/**
 * A tiny HTTP server that answers the AWS calls `sesmailengine install` makes, in each
 * service's own wire protocol, so the real CLI (real SDK clients, real serialization,
 * endpoints from AWS_ENDPOINT_URL) can run in a terminal against it:
 *
 *   STS (query/XML), SES v2 (REST/JSON), S3 (REST/XML, path-style, in memory),
 *   CloudFormation (query/XML, backed by FakeCloudFormation), Lambda Invoke (REST/JSON),
 *   and, answering from the fake CloudFormation's account of named resources: DynamoDB,
 *   SQS, CloudWatch Logs, Secrets Manager, EventBridge (JSON protocols), SES v2
 *   configuration sets and Lambda GetFunction (REST).
 *
 * The service is read from the SigV4 credential scope of each request. 127.0.0.1 only.
 */

export interface FakeAws {
  endpoint: string;
  cfn: FakeCloudFormation;
  /** "service Operation-or-METHOD path" per request, in order. */
  requests: string[];
  objects: Map<string, Buffer>;
  buckets: Set<string>;
  stop(): Promise<void>;
}

export interface FakeAwsOptions {
  account?: string;
  senderVerified?: boolean;
  sandbox?: boolean;
  seeded?: { installed: string[]; updated: string[]; skipped: string[] };
  /** Wall-clock time each CloudFormation step takes. */
  stepMs?: number;
  /** The fake CloudFormation reads each template's resources (see FakeCloudFormation). */
  templates?: boolean;
}

/** The X-Amz-Target prefix of each JSON-protocol service the account answers for. */
const JSON_TARGETS: Record<string, string> = {
  dynamodb: 'DynamoDB_20120810.',
  sqs: 'AmazonSQS.',
  logs: 'Logs_20140328.',
  secretsmanager: 'secretsmanager.',
  events: 'AWSEvents.',
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function toXml(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (Array.isArray(value)) return `<${name}>${value.map((v) => toXml('member', v)).join('')}</${name}>`;
  if (typeof value === 'object') {
    return `<${name}>${Object.entries(value as Record<string, unknown>).map(([k, v]) => toXml(k, v)).join('')}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `Parameters.member.1.ParameterKey=x` → { Parameters: [{ ParameterKey: 'x' }] } */
export function parseQueryInput(params: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let node: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      let part: string | number = parts[i]!;
      if (part === 'member') continue;
      if (/^\d+$/.test(part)) part = Number(part) - 1;
      const last = i === parts.length - 1;
      const nextIsList = parts[i + 1] === 'member';
      const container = node as Record<string | number, unknown>;
      if (last) container[part] = value;
      else {
        container[part] ??= nextIsList ? [] : {};
        node = container[part] as Record<string, unknown>;
      }
    }
  }
  return root;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function serviceOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  return /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
}

function send(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': 'fake', ...headers });
  res.end(text);
}

export async function startFakeAws(options: FakeAwsOptions = {}): Promise<FakeAws> {
  const account = options.account ?? '123456789012';
  const cfn = new FakeCloudFormation({ mock: false, stepMs: options.stepMs ?? 150, templates: Boolean(options.templates) });
  const services = accountServices(cfn);
  const requests: string[] = [];
  const objects = new Map<string, Buffer>();
  // A TemplateURL (https://<bucket>.s3.<region>.amazonaws.com/<key>) is read from the objects PUT here.
  cfn.templateStore = (url) => {
    const match = /^https:\/\/([^.]+)\.s3\.[^/]+\.amazonaws\.com\/(.+)$/.exec(url);
    return match ? objects.get(`${match[1]}/${match[2]}`)?.toString('utf8') : undefined;
  };
  const buckets = new Set<string>();

  async function queryProtocol(req: IncomingMessage, res: ServerResponse, service: string, handle: (action: string, input: Record<string, unknown>) => object) {
    const params = new URLSearchParams((await body(req)).toString('utf8'));
    const action = params.get('Action') ?? '?';
    requests.push(`${service} ${action}`);
    const ns = service === 'sts' ? 'https://sts.amazonaws.com/doc/2011-06-15/' : 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
    try {
      const output = handle(action, parseQueryInput(params));
      const inner = Object.entries(output).map(([k, v]) => toXml(k, v)).join('');
      send(res, 200, 'text/xml', `<${action}Response xmlns="${ns}"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></${action}Response>`);
    } catch (error) {
      const e = error as { name?: string; message?: string };
      send(res, 400, 'text/xml', `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${escapeXml(e.name ?? 'Error')}</Code><Message>${escapeXml(e.message ?? '')}</Message></Error><RequestId>fake</RequestId></ErrorResponse>`);
    }
  }

  async function s3(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
    const key = decodeURIComponent(rest.join('/'));
    const sub = ['versions', 'delete', 'policy', 'publicAccessBlock', 'encryption', 'versioning', 'lifecycle'].find((k) => url.searchParams.has(k));
    requests.push(`s3 ${req.method} /${bucket}${key ? `/${key}` : ''}${sub ? `?${sub}` : ''}`);
    const data = await body(req);
    if (!key) {
      if (req.method === 'HEAD') {
        if (buckets.has(bucket)) return send(res, 200, 'application/xml', '', { 'x-amz-bucket-region': 'us-east-1' });
        return send(res, 404, 'application/xml', '');
      }
      if (req.method === 'PUT' && !sub) buckets.add(bucket);
      if (!buckets.has(bucket)) return send(res, 404, 'application/xml', '<Error><Code>NoSuchBucket</Code><Message>none</Message></Error>');
      const inBucket = [...objects.keys()].filter((id) => id.startsWith(`${bucket}/`)).map((id) => id.slice(bucket.length + 1));
      if (req.method === 'GET' && sub === 'versions') {
        const versions = inBucket.map((k) => `<Version><Key>${escapeXml(k)}</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest></Version>`).join('');
        return send(res, 200, 'application/xml', `<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><IsTruncated>false</IsTruncated>${versions}</ListVersionsResult>`);
      }
      if (req.method === 'POST' && sub === 'delete') {
        for (const match of data.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)) {
          objects.delete(`${bucket}/${match[1]!.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')}`);
        }
        return send(res, 200, 'application/xml', '<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>');
      }
      if (req.method === 'DELETE' && !sub) {
        if (inBucket.length > 0) return send(res, 409, 'application/xml', '<Error><Code>BucketNotEmpty</Code><Message>not empty</Message></Error>');
        buckets.delete(bucket);
        return send(res, 204, 'application/xml', '');
      }
      return send(res, sub === 'policy' || sub === 'publicAccessBlock' ? 204 : 200, 'application/xml', '');
    }
    const id = `${bucket}/${key}`;
    if (req.method === 'HEAD') return objects.has(id) ? send(res, 200, 'application/octet-stream', '', { etag: '"e"' }) : send(res, 404, 'application/xml', '');
    if (req.method === 'PUT') {
      objects.set(id, data);
      return send(res, 200, 'application/xml', '', { etag: '"e"' });
    }
    if (req.method === 'GET' && objects.has(id)) return send(res, 200, 'application/octet-stream', objects.get(id)!.toString('utf8'), { etag: '"e"' });
    return send(res, 404, 'application/xml', '<Error><Code>NoSuchKey</Code><Message>none</Message></Error>');
  }

  const server: Server = createServer((req, res) => {
    const service = serviceOf(req);
    const run = async () => {
      switch (service) {
        case 'sts':
          return queryProtocol(req, res, 'sts', (action) => {
            if (action !== 'GetCallerIdentity') throw Object.assign(new Error(action), { name: 'InvalidAction' });
            return { Arn: `arn:aws:iam::${account}:user/dev`, UserId: 'AIDAFAKE', Account: account };
          });
        case 'cloudformation':
          return queryProtocol(req, res, 'cloudformation', (action, input) => cfn.handle(action, input));
        case 'ses': {
          await body(req);
          const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
          requests.push(`ses ${req.method} ${path}`);
          if (path === '/v2/email/account') {
            return send(res, 200, 'application/json', JSON.stringify({
              ProductionAccessEnabled: options.sandbox === false,
              SendingEnabled: true,
              SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 0 },
            }));
          }
          if (path.startsWith('/v2/email/configuration-sets/')) {
            try {
              const out = services.GetConfigurationSet!({ ConfigurationSetName: path.slice('/v2/email/configuration-sets/'.length) });
              return send(res, 200, 'application/json', JSON.stringify(out));
            } catch (error) {
              const e = error as { name: string; message: string };
              return send(res, 404, 'application/json', JSON.stringify({ message: e.message }), { 'x-amzn-errortype': e.name });
            }
          }
          if (path.startsWith('/v2/email/identities/')) {
            if (options.senderVerified === false) {
              return send(res, 404, 'application/json', JSON.stringify({ message: 'Email identity not found' }), { 'x-amzn-errortype': 'NotFoundException' });
            }
            return send(res, 200, 'application/json', JSON.stringify({ IdentityType: 'EMAIL_ADDRESS', VerifiedForSendingStatus: true, VerificationStatus: 'SUCCESS' }));
          }
          return send(res, 404, 'application/json', '{}', { 'x-amzn-errortype': 'NotFoundException' });
        }
        case 's3':
          return s3(req, res);
        case 'lambda': {
          await body(req);
          requests.push(`lambda ${req.method} ${req.url}`);
          const fn = /^\/2015-03-31\/functions\/([^/?]+)(\?.*)?$/.exec(req.url ?? '');
          if (req.method === 'GET' && fn) {
            try {
              return send(res, 200, 'application/json', JSON.stringify(services.GetFunction!({ FunctionName: decodeURIComponent(fn[1]!) })));
            } catch (error) {
              const e = error as { name: string; message: string };
              return send(res, 404, 'application/json', JSON.stringify({ Type: 'User', Message: e.message }), { 'x-amzn-errortype': e.name });
            }
          }
          return send(res, 200, 'application/json', JSON.stringify(options.seeded ?? { installed: ['welcome', 'invoice'], updated: [], skipped: [] }), { 'x-amz-executed-version': '$LATEST' });
        }
        case 'dynamodb':
        case 'sqs':
        case 'logs':
        case 'secretsmanager':
        case 'events': {
          const target = String(req.headers['x-amz-target'] ?? '');
          const operation = target.startsWith(JSON_TARGETS[service]!) ? target.slice(JSON_TARGETS[service]!.length) : target;
          const input = JSON.parse((await body(req)).toString('utf8') || '{}') as Record<string, unknown>;
          requests.push(`${service} ${operation}`);
          const handler = services[operation];
          const type = service === 'dynamodb' || service === 'sqs' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
          if (!handler) return send(res, 400, type, JSON.stringify({ __type: 'UnknownOperationException', message: `fake AWS does not serve ${service} ${operation}` }));
          try {
            const out = handler(input) as Record<string, unknown>;
            // JSON protocols carry dates as epoch seconds.
            return send(res, 200, type, JSON.stringify(out, (_k, v: unknown) => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT.*Z$/.test(v) ? Date.parse(v) / 1000 : v)));
          } catch (error) {
            const e = error as { name: string; message: string };
            return send(res, 400, type, JSON.stringify({ __type: e.name, message: e.message }), { 'x-amzn-errortype': e.name });
          }
        }
        default:
          await body(req);
          requests.push(`${service} ${req.method} ${req.url}`);
          return send(res, 400, 'application/json', JSON.stringify({ message: `fake AWS does not serve ${service}` }));
      }
    };
    run().catch((error: unknown) => send(res, 500, 'text/plain', String(error)));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    cfn,
    requests,
    objects,
    buckets,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The environment for a CLI process that talks to the fake: no real AWS settings leak in. */
export function cliEnv(endpoint: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return {
    ...env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NO_COLOR: '1',
  };
}
