import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { createTemplateSeederHandler } from '../../functions/template-seeder/handler.js';
import { sendResponse, type CustomResourceResponse } from '../../functions/lib/cfn-response.js';

let env: StandIns;
beforeAll(async () => {
  env = await startStandIns('seeder');
});
afterAll(async () => {
  await env?.stop();
});

interface Received {
  method?: string;
  contentType?: string;
  body: CustomResourceResponse;
}

/** A stand-in for the pre-signed S3 URL CloudFormation hands a custom resource. */
class ResponseUrl {
  received: Received[] = [];
  private server: Server;
  url = '';
  /** Status codes to answer, in order, before answering 200. */
  failures: number[] = [];

  constructor() {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const failure = this.failures.shift();
        if (failure) {
          res.writeHead(failure).end();
          return;
        }
        this.received.push({
          method: req.method,
          contentType: req.headers['content-type'],
          body: JSON.parse(Buffer.concat(chunks).toString()) as CustomResourceResponse,
        });
        res.writeHead(200).end();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/bucket/key?X-Amz-Signature=abc`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let responseUrl: ResponseUrl;
beforeAll(async () => {
  responseUrl = await new ResponseUrl().start();
});
afterAll(async () => {
  await responseUrl?.stop();
});
afterEach(() => {
  responseUrl.received = [];
  responseUrl.failures = [];
});

const quiet = () => undefined;

let caseNumber = 0;
/** Starter templates uploaded under a fresh artifacts prefix, and a fresh template bucket prefix per case. */
async function arrange(templates: Record<string, string>): Promise<{ prefix: string; env: Record<string, string> }> {
  caseNumber += 1;
  const prefix = `artifacts/case${caseNumber}/starter-templates`;
  for (const [name, version] of Object.entries(templates)) {
    await put(`${prefix}/${name}/template.html`, `<p>${name} ${version}</p>`);
    await put(`${prefix}/${name}/template.txt`, `${name} ${version}`);
    await put(`${prefix}/${name}/metadata.json`, JSON.stringify({ subject: name, version }));
  }
  return {
    prefix,
    env: { TEMPLATE_BUCKET: env.bucket, ARTIFACT_BUCKET: env.bucket, STARTER_TEMPLATES_PREFIX: prefix },
  };
}

async function put(key: string, body: string): Promise<void> {
  await env.s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: key, Body: body }));
}

async function read(key: string): Promise<string | undefined> {
  try {
    const out = await env.s3.send(new GetObjectCommand({ Bucket: env.bucket, Key: key }));
    return await out.Body?.transformToString();
  } catch {
    return undefined;
  }
}

function cfnRequest(type: 'Create' | 'Update' | 'Delete', extra: Record<string, unknown> = {}) {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:mystack-TemplateSeeder',
    ResponseURL: responseUrl.url,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/mystack/5b918d10-cd98-11ea-90d5-0a9cd3354c10',
    RequestId: `req-${type}`,
    LogicalResourceId: 'TemplateSeeding',
    ResourceType: 'Custom::TemplateSeeding',
    ResourceProperties: { ServiceToken: 'x' },
    ...extra,
  };
}

describe('Template Seeder invoked directly', () => {
  it('copies the starter templates into templates/ and reports what it did', async () => {
    const arranged = await arrange({ 'direct-welcome': '1.0.0', 'direct-invoice': '1.0.0' });
    const handler = createTemplateSeederHandler({ log: quiet, clients: { s3: env.s3 }, env: arranged.env });

    const result = await handler({});

    expect(result).toEqual({ installed: ['direct-invoice', 'direct-welcome'], updated: [], skipped: [] });
    expect(await read('templates/direct-welcome/template.html')).toBe('<p>direct-welcome 1.0.0</p>');
  });

  it('keeps a customised newer template on a second run', async () => {
    const arranged = await arrange({ 'direct-custom': '1.0.0' });
    await put('templates/direct-custom/template.html', '<p>mine</p>');
    await put('templates/direct-custom/metadata.json', JSON.stringify({ version: '1.0.1' }));
    const handler = createTemplateSeederHandler({ log: quiet, clients: { s3: env.s3 }, env: arranged.env });

    const result = await handler({});

    expect(result.skipped).toEqual(['direct-custom']);
    expect(await read('templates/direct-custom/template.html')).toBe('<p>mine</p>');
  });

  it('fails loudly when the artifacts location holds no templates', async () => {
    const handler = createTemplateSeederHandler({
      log: quiet,
      clients: { s3: env.s3 },
      env: { TEMPLATE_BUCKET: env.bucket, ARTIFACT_BUCKET: env.bucket, STARTER_TEMPLATES_PREFIX: 'artifacts/none' },
    });
    await expect(handler({})).rejects.toThrow(/No starter templates found/);
  });

  it('names the missing environment variable', async () => {
    const handler = createTemplateSeederHandler({ log: quiet, clients: { s3: env.s3 }, env: { TEMPLATE_BUCKET: env.bucket } });
    await expect(handler({})).rejects.toThrow(/ARTIFACT_BUCKET/);
  });
});

describe('Template Seeder as a CloudFormation custom resource', () => {
  it('answers SUCCESS with the counts after seeding on Create', async () => {
    const arranged = await arrange({ 'cr-welcome': '1.0.0' });
    const handler = createTemplateSeederHandler({ log: quiet, clients: { s3: env.s3 }, env: arranged.env });

    const result = await handler(cfnRequest('Create'));

    expect(result.installed).toEqual(['cr-welcome']);
    expect(responseUrl.received).toHaveLength(1);
    const [answer] = responseUrl.received;
    expect(answer!.method).toBe('PUT');
    expect(answer!.contentType ?? '').toBe('');
    expect(answer!.body).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: 'mystack-TemplateSeeding',
      StackId: cfnRequest('Create').StackId,
      RequestId: 'req-Create',
      LogicalResourceId: 'TemplateSeeding',
      Data: { Installed: '1', Updated: '0', Skipped: '0' },
    });
  });

  it('keeps the physical id on Update and never downgrades', async () => {
    const arranged = await arrange({ 'cr-kept': '1.0.0' });
    await put('templates/cr-kept/template.html', '<p>customised</p>');
    await put('templates/cr-kept/metadata.json', JSON.stringify({ version: '3.0.0' }));
    const handler = createTemplateSeederHandler({ log: quiet, clients: { s3: env.s3 }, env: arranged.env });

    await handler(cfnRequest('Update', { PhysicalResourceId: 'existing-id' }));

    expect(responseUrl.received[0]!.body).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'existing-id',
      Data: { Installed: '0', Updated: '0', Skipped: '1' },
    });
    expect(await read('templates/cr-kept/template.html')).toBe('<p>customised</p>');
  });

  it('answers SUCCESS on Delete without touching the templates', async () => {
    const arranged = await arrange({ 'cr-delete': '1.0.0' });
    const handler = createTemplateSeederHandler({ log: quiet, clients: { s3: env.s3 }, env: arranged.env });

    const result = await handler(cfnRequest('Delete', { PhysicalResourceId: 'mystack-TemplateSeeding' }));

    expect(result).toEqual({ installed: [], updated: [], skipped: [] });
    expect(responseUrl.received[0]!.body.Status).toBe('SUCCESS');
    expect(await read('templates/cr-delete/metadata.json')).toBeUndefined();
  });

  it('answers Delete even when the function is misconfigured, so a rollback never hangs', async () => {
    const handler = createTemplateSeederHandler({ log: quiet, clients: { s3: env.s3 }, env: {} });
    await handler(cfnRequest('Delete', { PhysicalResourceId: 'p' }));
    expect(responseUrl.received[0]!.body.Status).toBe('SUCCESS');
  });

  it('answers FAILED with the reason instead of throwing when seeding fails', async () => {
    const handler = createTemplateSeederHandler({
      log: quiet,
      clients: { s3: env.s3 },
      env: { TEMPLATE_BUCKET: env.bucket, ARTIFACT_BUCKET: env.bucket, STARTER_TEMPLATES_PREFIX: 'artifacts/missing' },
    });

    await expect(handler(cfnRequest('Create'), { logStreamName: '2026/01/01/[$LATEST]abc' })).resolves.toBeDefined();

    const answer = responseUrl.received[0]!.body;
    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toMatch(/No starter templates found under s3:\/\/.*artifacts\/missing/);
    expect(answer.Reason).toContain('[$LATEST]abc');
    expect(answer.PhysicalResourceId).toBe('mystack-TemplateSeeding');
  });

  it('answers FAILED naming a missing environment variable', async () => {
    const handler = createTemplateSeederHandler({ log: quiet, clients: { s3: env.s3 }, env: { TEMPLATE_BUCKET: 'b' } });
    await handler(cfnRequest('Create'));
    expect(responseUrl.received[0]!.body).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('ARTIFACT_BUCKET') });
  });

  it('answers FAILED before the function times out when S3 never answers', async () => {
    const hangingS3 = { send: () => new Promise(() => undefined) } as unknown as S3Client;
    const handler = createTemplateSeederHandler({
      log: quiet,
      clients: { s3: hangingS3 },
      env: { TEMPLATE_BUCKET: 'b', ARTIFACT_BUCKET: 'b', STARTER_TEMPLATES_PREFIX: 'p' },
    });
    const started = Date.now();

    await handler(cfnRequest('Update', { PhysicalResourceId: 'p' }), { getRemainingTimeInMillis: () => 5_200 });

    expect(Date.now() - started).toBeLessThan(3_000);
    expect(responseUrl.received[0]!.body).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/timeout/) });
  });

  it('retries the response when the URL answers a server error', async () => {
    responseUrl.failures = [503, 500];
    const arranged = await arrange({ 'cr-retry': '1.0.0' });
    const handler = createTemplateSeederHandler({ log: quiet, clients: { s3: env.s3 }, env: arranged.env });

    await handler(cfnRequest('Create'));

    expect(responseUrl.received).toHaveLength(1);
    expect(responseUrl.received[0]!.body.Status).toBe('SUCCESS');
  });
});

describe('sendResponse', () => {
  it('throws when the response can never be delivered, so Lambda retries the invocation', async () => {
    responseUrl.failures = [403];
    const response = {
      Status: 'SUCCESS' as const,
      PhysicalResourceId: 'p',
      StackId: 's',
      RequestId: 'r',
      LogicalResourceId: 'l',
    };
    await expect(sendResponse(responseUrl.url, response, { backoffMs: 1 })).rejects.toThrow(/Could not deliver/);
  });
});
