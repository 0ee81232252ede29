import { describe, expect, it } from '@jest/globals';
import { CliError } from '../../../src/errors.js';
import { banner, engineOptionsFrom, LOCAL_DEFAULTS } from '../../../src/commands/local.js';
import type { LocalInfo } from '../../../src/local/info.js';

function cliError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

describe('sesmailengine local options', () => {
  it('uses the documented defaults', () => {
    expect(engineOptionsFrom({})).toEqual({
      port: 4010,
      dynamoDbPort: 4011,
      s3Port: 4012,
      sesPort: 4013,
      dataDir: undefined,
      retryDelaySeconds: LOCAL_DEFAULTS.retryDelaySeconds,
      interruptedSend: 'resend',
      sender: 'no-reply@example.com',
      stackName: 'sesmailengine',
      workers: undefined,
      sesQuota: {},
    });
  });

  it('takes --ses-max-send-rate and --ses-max-24-hour-send as the SES stand-in quota (unlimited without them)', () => {
    expect(engineOptionsFrom({ sesMaxSendRate: '1', sesMax24HourSend: '200' }).sesQuota).toEqual({ maxSendRate: 1, max24HourSend: 200 });
    expect(engineOptionsFrom({ sesMaxSendRate: '0.5' }).sesQuota).toEqual({ maxSendRate: 0.5 });
  });

  it('takes --interrupted-send resend (the default) or fail', () => {
    expect(engineOptionsFrom({}).interruptedSend).toBe('resend');
    expect(engineOptionsFrom({ interruptedSend: 'fail' }).interruptedSend).toBe('fail');
  });

  it('takes --workers from 0 (handlers in the main thread) to 16', () => {
    expect(engineOptionsFrom({ workers: '0' }).workers).toBe(0);
    expect(engineOptionsFrom({ workers: '3' }).workers).toBe(3);
  });

  it('takes ports as commander passes them (strings), 0 meaning any free port', () => {
    const options = engineOptionsFrom({ port: '0', dynamodbPort: '0', s3Port: '0', sesPort: '0', retryDelaySeconds: '1' });
    expect([options.port, options.dynamoDbPort, options.s3Port, options.sesPort, options.retryDelaySeconds]).toEqual([0, 0, 0, 0, 1]);
  });

  it.each([
    [{ port: '70000' }, '--port'],
    [{ dynamodbPort: 'abc' }, '--dynamodb-port'],
    [{ retryDelaySeconds: '901' }, '--retry-delay-seconds'],
    [{ retryDelaySeconds: '1.5' }, '--retry-delay-seconds'],
    [{ interruptedSend: 'retry' }, '--interrupted-send'],
    [{ sender: 'not an address' }, '--sender'],
    [{ stackName: '1-bad' }, '--stack-name'],
    [{ workers: '17' }, '--workers'],
    [{ workers: '-1' }, '--workers'],
    [{ workers: '1.5' }, '--workers'],
    [{ workers: '' }, '--workers'],
    [{ sesMaxSendRate: '0' }, '--ses-max-send-rate'],
    [{ sesMaxSendRate: 'fast' }, '--ses-max-send-rate'],
    [{ sesMax24HourSend: '-5' }, '--ses-max-24-hour-send'],
    [{ port: '5000', sesPort: '5000' }, 'same port 5000'],
    [{ webhookUrl: 'localhost:3000/hook' }, '--webhook-url'],
    [{ webhookUrl: 'ftp://example.com/hook' }, '--webhook-url'],
    [{ webhookUrl: 'https://user:pass@example.com/hook' }, '--webhook-url'],
    [{ webhookUrl: `https://example.com/${'x'.repeat(2100)}` }, '--webhook-url'],
    [{ webhookSecret: 'whsec_AAAAAAAAAAAAAAAAAAAAAA==' }, 'without --webhook-url'],
    [{ webhookEvents: 'bounced' }, '--webhook-events was given without --webhook-url'],
    [{ webhookUrl: 'http://127.0.0.1:3000/hook', webhookEvents: 'bounced,sent' }, '--webhook-events'],
    [{ webhookUrl: 'http://127.0.0.1:3000/hook', webhookSecret: 'too-short' }, '--webhook-secret'],
    [{ webhookUrl: 'http://127.0.0.1:3000/hook', webhookSecret: 'whsec_***' }, '--webhook-secret'],
  ])('refuses %j with LOC003 and a fix', (options, mention) => {
    const error = cliError(() => engineOptionsFrom(options));
    expect(error.code).toBe('LOC003');
    expect(error.message).toContain(mention);
    expect(error.fix).toEqual(expect.any(String));
  });
});

describe('webhook options', () => {
  it('passes an http(s) URL and a usable secret to the engine', () => {
    const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    expect(engineOptionsFrom({ webhookUrl: 'http://127.0.0.1:3000/hook', webhookSecret: secret })).toMatchObject({
      webhookUrl: 'http://127.0.0.1:3000/hook',
      webhookSecret: secret,
    });
    expect(engineOptionsFrom({ webhookUrl: 'https://hooks.example.com/ses' })).not.toHaveProperty('webhookSecret');
    expect(engineOptionsFrom({ webhookUrl: 'https://hooks.example.com/ses', webhookEvents: 'complained, bounced' })).toMatchObject({ webhookEvents: 'email.complained,email.bounced' });
    expect(engineOptionsFrom({})).not.toHaveProperty('webhookUrl');
  });
});

describe('the banner', () => {
  const info = {
    eventBridgeEndpoint: 'http://127.0.0.1:4010',
    eventBusName: 'sesmailengine-EmailBus',
    statusEventsUrl: 'http://127.0.0.1:4010/events',
    dynamoDbEndpoint: 'http://127.0.0.1:4011',
    trackingTable: 'sesmailengine-EmailTracking',
    suppressionTable: 'sesmailengine-Suppression',
    countersTable: 'sesmailengine-Counters',
    s3Endpoint: 'http://127.0.0.1:4012',
    templateBucket: 'sesmailengine-templates',
    sesEndpoint: 'http://127.0.0.1:4013',
    sesWebUrl: 'http://127.0.0.1:4013/',
    sesStoreUrl: 'http://127.0.0.1:4013/store',
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    dataDir: null,
    templates: ['welcome'],
  } as unknown as LocalInfo;

  it('shows the endpoints, the mail viewer and a first send that parses as PutEvents entries', () => {
    const text = banner(info);
    expect(text).toContain('http://127.0.0.1:4010');
    expect(text).toContain('http://127.0.0.1:4013/');
    const entries = /--entries '([^']+)'/.exec(text)?.[1];
    const parsed = JSON.parse(entries!) as { EventBusName: string; DetailType: string; Detail: string }[];
    expect(parsed[0]).toMatchObject({ EventBusName: 'sesmailengine-EmailBus', DetailType: 'Email Request' });
    expect(JSON.parse(parsed[0]!.Detail)).toMatchObject({ to: 'success@simulator.amazonses.com', templateName: 'welcome' });
    expect(text).toContain('new EventBridgeClient');
  });
});
