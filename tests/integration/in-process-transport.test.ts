import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import { GetEmailIdentityCommand, SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { checkDeliverability } from '../../src/ops/deliverability-gather.js';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InProcessHttpHandler, amzTarget, type InProcessRoute } from '../../src/local/in-process-handler.js';
import { startSesStandIn, type RunningSesStandIn } from '../../src/local/ses-stand-in.js';
import { PortInUseError, StandInStartError } from '../../src/local/stand-ins.js';
import { startDynamoDbStandIn } from '../../src/local/dynamodb-stand-in.js';
import { classifySesError } from '../../functions/core/ses-errors.js';
import { engineMessageTags } from '../../functions/core/message-tags.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

describe('InProcessHttpHandler', () => {
  let server: Server;
  let endpoint: string;
  let httpRequests: number;

  beforeAll(async () => {
    httpRequests = 0;
    server = createServer((req, res) => {
      httpRequests += 1;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'over-http' }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers a routed call in-process, with the request body the SDK serialized, and no socket', async () => {
    const seen: { target?: string; body: string }[] = [];
    const route: InProcessRoute = (request, body) => {
      seen.push({ target: amzTarget(request), body });
      return { statusCode: 200, body: JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'in-process' }] }) };
    };
    const client = new EventBridgeClient({ region: 'us-east-1', credentials, endpoint, requestHandler: new InProcessHttpHandler(route) });
    const before = httpRequests;

    const out = await client.send(new PutEventsCommand({ Entries: [{ Source: 'app', DetailType: 'x', Detail: '{"a":1}' }] }));

    expect(out.Entries?.[0]?.EventId).toBe('in-process');
    expect(httpRequests).toBe(before);
    expect(seen[0]?.target).toBe('AWSEvents.PutEvents');
    expect(JSON.parse(seen[0]!.body)).toEqual({ Entries: [{ Source: 'app', DetailType: 'x', Detail: '{"a":1}' }] });
    client.destroy();
  });

  it('sends a call its route declines over HTTP', async () => {
    const client = new EventBridgeClient({ region: 'us-east-1', credentials, endpoint, requestHandler: new InProcessHttpHandler(() => undefined) });
    const before = httpRequests;

    const out = await client.send(new PutEventsCommand({ Entries: [{ Source: 'app', DetailType: 'x', Detail: '{}' }] }));

    expect(out.Entries?.[0]?.EventId).toBe('over-http');
    expect(httpRequests).toBe(before + 1);
    client.destroy();
  });

  it('turns an error answer into the SDK error the service would give', async () => {
    const route: InProcessRoute = () => ({
      statusCode: 400,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ __type: 'ValidationException', message: 'bad entry' }),
    });
    const client = new EventBridgeClient({ region: 'us-east-1', credentials, endpoint, requestHandler: new InProcessHttpHandler(route), maxAttempts: 1 });

    await expect(client.send(new PutEventsCommand({ Entries: [{ Source: 'app', DetailType: 'x', Detail: '{}' }] }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'bad entry',
    });
    client.destroy();
  });
});

describe('the SES stand-in in local mode’s process', () => {
  let ses: RunningSesStandIn;
  let client: SESv2Client;

  beforeAll(async () => {
    ses = await startSesStandIn('127.0.0.1', 0);
    client = new SESv2Client({ region: 'us-east-1', credentials, endpoint: ses.endpoint, requestHandler: new InProcessHttpHandler(ses.route), maxAttempts: 1 });
  });

  afterAll(async () => {
    client.destroy();
    await ses.stop();
  });

  async function stored(): Promise<{ messageId: string; subject: string; destination: { to: string[] }; headers?: { name: string; value: string }[] }[]> {
    const response = await fetch(`${ses.endpoint}/store`);
    return ((await response.json()) as { emails: never[] }).emails;
  }

  it('keeps an in-process SendEmail in the store its web page and /store serve', async () => {
    const out = await client.send(
      new SendEmailCommand({
        FromEmailAddress: 'sender@example.com',
        Destination: { ToAddresses: ['reader@example.com'] },
        Content: {
          Simple: {
            Subject: { Data: 'In-process hello' },
            Body: { Html: { Data: '<p>Hi</p>' }, Text: { Data: 'Hi' } },
            Headers: [{ Name: 'List-Unsubscribe', Value: '<https://example.com/u>' }],
          },
        },
      }),
    );

    const mail = (await stored()).find((m) => m.messageId === out.MessageId);
    expect(mail).toMatchObject({ subject: 'In-process hello', destination: { to: ['reader@example.com'] } });
    expect(mail?.headers).toEqual([{ name: 'List-Unsubscribe', value: '<https://example.com/u>' }]);
  });

  it('answers an invalid SendEmail with the stand-in’s own 400', async () => {
    const count = (await stored()).length;

    await expect(
      client.send(
        new SendEmailCommand({
          FromEmailAddress: 'sender@example.com',
          Destination: { ToAddresses: ['reader@example.com'] },
          Content: { Simple: { Subject: { Data: '' }, Body: { Text: { Data: 'Hi' } } } },
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect((await stored()).length).toBe(count);
  });

  const tagged = (tags: { Name: string; Value: string }[]) =>
    new SendEmailCommand({
      FromEmailAddress: 'sender@example.com',
      Destination: { ToAddresses: ['reader@example.com'] },
      EmailTags: tags,
      Content: { Simple: { Subject: { Data: 'Tagged' }, Body: { Text: { Data: 'Hi' } } } },
    });

  it('refuses a tag outside SES’s rules as SES does, in-process and over HTTP alike, and keeps no mail', async () => {
    const count = (await stored()).length;
    const overHttp = new SESv2Client({ region: 'us-east-1', credentials, endpoint: ses.endpoint, maxAttempts: 1 });
    try {
      for (const sender of [client, overHttp]) {
        const error = await sender.send(tagged([{ Name: 'emailId', Value: 'order#42' }])).catch((e: unknown) => e);
        expect(error).toMatchObject({
          name: 'BadRequestException',
          message: "Invalid tag value <order#42>: only alphanumeric ASCII characters, '_', and '-' are allowed.",
          $metadata: { httpStatusCode: 400 },
        });
        expect(classifySesError(error)).toMatchObject({ kind: 'permanent', code: 'SES004' });
      }
    } finally {
      overHttp.destroy();
    }
    expect((await stored()).length).toBe(count);
  });

  it('accepts the engine’s tags for a 128 × "€" emailId', async () => {
    const out = await client.send(tagged(engineMessageTags('€'.repeat(128), 'welcome')));
    expect((await stored()).some((m) => m.messageId === out.MessageId)).toBe(true);
  });

  it('refuses a port that is taken with PortInUseError', async () => {
    await expect(startSesStandIn('127.0.0.1', ses.port)).rejects.toBeInstanceOf(PortInUseError);
  });

  it('answers GetEmailIdentity over HTTP as a verified identity signing with DKIM, so the deliverability check passes DKIM', async () => {
    const outside = new SESv2Client({ region: 'us-east-1', credentials, endpoint: ses.endpoint, maxAttempts: 1 });
    const dns = { resolveTxt: async () => [['v=DMARC1; p=none']] };

    const identity = await outside.send(new GetEmailIdentityCommand({ EmailIdentity: 'noreply@example.com' }));
    const report = await checkDeliverability({ sender: 'noreply@example.com', region: 'us-east-1' }, { ses: outside, dns });
    outside.destroy();

    expect(identity).toMatchObject({ IdentityType: 'EMAIL_ADDRESS', VerifiedForSendingStatus: true, DkimAttributes: { SigningEnabled: true, Status: 'SUCCESS' } });
    expect(report.items.map((i) => `${i.id}=${i.state}`)).toEqual(['dkim=ok', 'mail-from=warn', 'dmarc=ok', 'unsubscribe=unknown']);
  });
});

describe('the DynamoDB stand-in in local mode’s process', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sme-ddb-stand-in-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the engine in-process and outside callers over HTTP from the same tables, kept in the data file', async () => {
    const dataFile = join(dir, 'tables.json');
    const ddb = await startDynamoDbStandIn({ host: '127.0.0.1', port: 0, region: 'us-east-1', account: '000000000000', dataFile });
    const inProcess = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: ddb.endpoint, requestHandler: new InProcessHttpHandler(ddb.route, {}) });
    const overHttp = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: ddb.endpoint });
    try {
      await inProcess.send(
        new CreateTableCommand({
          TableName: 'things',
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await inProcess.send(new PutItemCommand({ TableName: 'things', Item: { id: { S: 'a' }, n: { N: '1' } } }));

      const read = await overHttp.send(new GetItemCommand({ TableName: 'things', Key: { id: { S: 'a' } } }));

      expect(read.Item).toEqual({ id: { S: 'a' }, n: { N: '1' } });
    } finally {
      inProcess.destroy();
      overHttp.destroy();
      await ddb.stop();
    }
    const again = await startDynamoDbStandIn({ host: '127.0.0.1', port: 0, region: 'us-east-1', account: '000000000000', dataFile });
    const client = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: again.endpoint });
    try {
      expect((await client.send(new GetItemCommand({ TableName: 'things', Key: { id: { S: 'a' } } }))).Item?.n).toEqual({ N: '1' });
    } finally {
      client.destroy();
      await again.stop();
    }
  });

  it('refuses a data file it cannot read with StandInStartError naming the file', async () => {
    const dataFile = join(dir, 'broken.json');
    writeFileSync(dataFile, '{ not json');

    const start = startDynamoDbStandIn({ host: '127.0.0.1', port: 0, region: 'us-east-1', account: '000000000000', dataFile });

    await expect(start).rejects.toBeInstanceOf(StandInStartError);
    await expect(start).rejects.toThrow(dataFile);
  });

  it('refuses a port that is taken with PortInUseError for the DynamoDB port', async () => {
    const taken = await startDynamoDbStandIn({ host: '127.0.0.1', port: 0, region: 'us-east-1', account: '000000000000' });
    try {
      await expect(startDynamoDbStandIn({ host: '127.0.0.1', port: taken.port, region: 'us-east-1', account: '000000000000' })).rejects.toMatchObject({
        name: 'PortInUseError',
        kind: 'dynamodb',
      });
    } finally {
      await taken.stop();
    }
  });
});

describe('an in-process answer that never comes', () => {
  it('fails the call after the request timeout, as a timed-out request would', async () => {
    const never: InProcessRoute = () => new Promise(() => undefined);
    const client = new EventBridgeClient({
      region: 'us-east-1',
      credentials,
      endpoint: 'http://127.0.0.1:9',
      requestHandler: new InProcessHttpHandler(never, { requestTimeout: 200 }),
      maxAttempts: 1,
    });

    await expect(client.send(new PutEventsCommand({ Entries: [{ Source: 'app', DetailType: 'x', Detail: '{}' }] }))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    client.destroy();
  });
});
