import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../../../src/errors.js';
import { loadTemplate } from '../../support/cloudformation.js';
import { LOCAL_DEFAULTS } from '../../../src/commands/local.js';
import { DEFAULT_LOCAL_URL, STACK_DEFAULT_SETTINGS, localResources, readLocalInfo, stackResources, stackSettings, unsubscribeSecretName } from '../../../src/ops/target.js';
import { emailSenderConfig } from '../../../functions/email-sender/config.js';
import { choiceOption, dayOption, daysEndingWith, integerOption, jsonObjectOption } from '../../../src/ops/input.js';

/** Target resolution (local mode's JSON line, stack outputs) and flag parsing. */

const INFO = {
  eventBridgeEndpoint: 'http://127.0.0.1:4010',
  eventBusName: 'dev-EmailBus',
  sqsEndpoint: 'http://127.0.0.1:4010',
  sendQueueUrl: 'http://127.0.0.1:4010/000000000000/dev-send',
  feedbackQueueUrl: 'http://127.0.0.1:4010/000000000000/dev-feedback',
  dynamoDbEndpoint: 'http://127.0.0.1:4011',
  trackingTable: 'dev-EmailTracking',
  suppressionTable: 'dev-Suppression',
  countersTable: 'dev-Counters',
  s3Endpoint: 'http://127.0.0.1:4012',
  templateBucket: 'dev-templates',
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
};

function cliErrorOf(promise: Promise<unknown>): Promise<CliError> {
  return promise.then(
    () => {
      throw new Error('expected a CliError');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(CliError);
      return error as CliError;
    },
  );
}

const noFetch = (() => Promise.reject(new Error('no network in this test'))) as unknown as typeof fetch;

describe('--local sources', () => {
  it('takes the JSON line inline', async () => {
    expect((await readLocalInfo(JSON.stringify(INFO), '/', noFetch)).trackingTable).toBe('dev-EmailTracking');
  });

  it('takes a file holding the line, with @ or as a plain path, ignoring other lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-target-'));
    writeFileSync(join(dir, 'local.json'), `starting…\n${JSON.stringify(INFO)}\n`);
    expect((await readLocalInfo('@local.json', dir, noFetch)).eventBusName).toBe('dev-EmailBus');
    expect((await readLocalInfo('local.json', dir, noFetch)).eventBusName).toBe('dev-EmailBus');
  });

  it('refuses an empty value and a folder by what they are, not as a file that cannot be read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-target-'));
    mkdirSync(join(dir, 'templates'));
    for (const empty of ['', ' ', '@', '@ ']) {
      const error = await cliErrorOf(readLocalInfo(empty, dir, noFetch));
      expect(error.code).toBe('OPS002');
      expect(error.message).toContain('names no URL, JSON line or file');
    }
    for (const folder of ['templates', '@templates', '.']) {
      const error = await cliErrorOf(readLocalInfo(folder, dir, noFetch));
      expect(error.code).toBe('OPS005');
      expect(error.message).toContain('is a folder');
    }
  });

  it('fetches GET /info from a URL, and from the default URL for a bare --local', async () => {
    const asked: string[] = [];
    const fake = (async (url: string) => {
      asked.push(url);
      return new Response(JSON.stringify(INFO), { status: 200 });
    }) as unknown as typeof fetch;
    await readLocalInfo('http://127.0.0.1:5555/', '/', fake);
    await readLocalInfo(true, '/', fake);
    expect(asked).toEqual(['http://127.0.0.1:5555/info', `${DEFAULT_LOCAL_URL}/info`]);
  });

  it('uses the port local mode listens on by default', () => {
    expect(DEFAULT_LOCAL_URL).toBe(`http://127.0.0.1:${LOCAL_DEFAULTS.port}`);
  });

  it('says how to start local mode when nothing listens (OPS001)', async () => {
    const error = await cliErrorOf(readLocalInfo('http://127.0.0.1:9', '/', noFetch));
    expect(error.code).toBe('OPS001');
    expect(error.fix).toContain('npx sesmailengine local');
  });

  it('explains an older local mode without /info (404)', async () => {
    const fake = (async () => new Response('{}', { status: 404 })) as unknown as typeof fetch;
    const error = await cliErrorOf(readLocalInfo('http://127.0.0.1:4010', '/', fake));
    expect(error.code).toBe('OPS001');
    expect(error.fix).toContain('--local @local.json');
  });

  it('names the missing fields of an incomplete line (OPS002)', async () => {
    const { trackingTable: _t, templateBucket: _b, ...partial } = INFO;
    const error = await cliErrorOf(readLocalInfo(JSON.stringify(partial), '/', noFetch));
    expect(error.code).toBe('OPS002');
    expect(error.message).toContain('trackingTable, templateBucket');
  });

  it('explains that --local swallowed an argument that is not a source', async () => {
    const error = await cliErrorOf(readLocalInfo('email-123', mkdtempSync(join(tmpdir(), 'ops-target-')), noFetch));
    expect(error.code).toBe('OPS002');
    expect(error.fix).toContain('--local=http://127.0.0.1:4010');
  });

  it('derives the DLQ URLs from the queue URLs, as local mode names them', () => {
    expect(localResources(INFO).deadLetterQueues).toEqual({
      send: 'http://127.0.0.1:4010/000000000000/dev-send-dlq',
      feedback: 'http://127.0.0.1:4010/000000000000/dev-feedback-dlq',
    });
  });

  it('has no webhook resources when local mode runs without --webhook-url', () => {
    expect(localResources(INFO).webhook).toBeUndefined();
  });

  it('takes the webhook URL, queues and secret from the line of a local mode with --webhook-url', () => {
    const r = localResources({
      ...INFO,
      webhookUrl: 'http://127.0.0.1:9999/hook',
      webhookQueueUrl: 'http://127.0.0.1:4010/000000000000/dev-webhook',
      webhookDeadLetterQueueUrl: 'http://127.0.0.1:4010/000000000000/dev-webhook-dlq',
      webhookSecret: 'whsec_MDEyMzQ1Njc4OWFiY2RlZg==',
    });
    expect(r.webhook).toEqual({
      url: 'http://127.0.0.1:9999/hook',
      queueUrl: 'http://127.0.0.1:4010/000000000000/dev-webhook',
      secret: 'whsec_MDEyMzQ1Njc4OWFiY2RlZg==',
    });
    expect(r.deadLetterQueues.webhook).toBe('http://127.0.0.1:4010/000000000000/dev-webhook-dlq');
  });
});

describe('stack outputs', () => {
  const template = loadTemplate();
  // Every output key the template declares, with a plausible value.
  const outputs = Object.fromEntries(
    Object.keys(template.Outputs ?? {}).map((key) => [
      key,
      /Url$/.test(key) ? `https://sqs.eu-west-1.amazonaws.com/123456789012/${key}` : `value-of-${key}`,
    ]),
  );

  it("finds every resource the commands need among the template's outputs", () => {
    const r = stackResources('sesmailengine', 'eu-west-1', outputs, { ArtifactBucket: 'the-bucket' });
    expect(r).toMatchObject({
      eventBusName: 'value-of-EventBusName',
      trackingTable: 'value-of-EmailTrackingTableName',
      suppressionTable: 'value-of-SuppressionTableName',
      countersTable: 'value-of-CountersTableName',
      templateBucket: 'value-of-TemplateBucketName',
      sendQueueUrl: outputs.SendQueueUrl,
      feedbackQueueUrl: outputs.FeedbackQueueUrl,
    });
    expect(r.deadLetterQueues).toEqual({
      send: outputs.SendDeadLetterQueueUrl,
      feedback: outputs.FeedbackDeadLetterQueueUrl,
      events: outputs.EventDeliveryDeadLetterQueueUrl,
      // Only when the template declares the webhook outputs (they exist only with --webhook-url).
      ...(outputs.WebhookDeadLetterQueueUrl ? { webhook: outputs.WebhookDeadLetterQueueUrl } : {}),
    });
  });

  const BASE = {
    EventBusName: 'sesmailengine-EmailBus',
    EmailTrackingTableName: 't',
    SuppressionTableName: 's',
    CountersTableName: 'c',
    TemplateBucketName: 'b',
    SendDeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/x-send-dlq',
    EventDeliveryDeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/x-event-delivery-dlq',
  };
  const WEBHOOK = {
    WebhookUrl: 'https://hooks.example.com/ses',
    WebhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:x-webhook-AbCdEf',
    WebhookQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/x-webhook',
    WebhookDeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/x-webhook-dlq',
  };

  it('reads the webhook outputs of a stack installed with --webhook-url', () => {
    const r = stackResources('x', 'eu-west-1', { ...BASE, ...WEBHOOK });
    expect(r.webhook).toEqual({
      url: WEBHOOK.WebhookUrl,
      queueUrl: WEBHOOK.WebhookQueueUrl,
      secretArn: WEBHOOK.WebhookSecretArn,
      eventKeySecretId: 'x-unsubscribe-signing-key',
    });
    expect(r.deadLetterQueues).toEqual({ send: BASE.SendDeadLetterQueueUrl, events: BASE.EventDeliveryDeadLetterQueueUrl, webhook: WEBHOOK.WebhookDeadLetterQueueUrl });
  });

  it('names the secret the event key comes from as the template names the unsubscribe secret (webhook test reads it)', () => {
    const name = (loadTemplate().Resources.UnsubscribeSecret!.Properties as { Name: { 'Fn::Sub': string } }).Name['Fn::Sub'];
    expect(unsubscribeSecretName('mystack')).toBe(name.replace('${AWS::StackName}', 'mystack'));
  });

  it('treats a stack without the webhook outputs (older, or installed without --webhook-url) as webhooks off', () => {
    const r = stackResources('x', 'eu-west-1', BASE);
    expect(r.webhook).toBeUndefined();
    expect(r.deadLetterQueues.webhook).toBeUndefined();
    expect(r.deadLetterQueues.events).toBe(BASE.EventDeliveryDeadLetterQueueUrl);
  });

  it('says which outputs a stack still being created lacks (OPS003)', () => {
    expect(() => stackResources('s', 'eu-west-1', { EventBusName: 'b' })).toThrow(/does not name trackingTable, suppressionTable, countersTable, templateBucket/);
  });

  it("falls back to the template's own parameter defaults", () => {
    const defaults = (key: string) => Number(template.Parameters?.[key]?.Default);
    expect(STACK_DEFAULT_SETTINGS).toEqual({
      bounceRateThreshold: defaults('BounceRateThreshold'),
      bounceRateMinimumSends: defaults('BounceRateMinimumSends'),
      bounceBrakeMaxHardBounces: defaults('BounceBrakeMaxHardBounces'),
      templateCacheSeconds: defaults('TemplateCacheSeconds'),
      softBounceRetryDelaySeconds: defaults('SoftBounceRetryDelaySeconds'),
    });
  });

  it('reads the settings from the parameters, with the template defaults for absent ones', () => {
    expect(stackSettings({ BounceRateThreshold: '3', BounceRateMinimumSends: '', BounceBrakeMaxHardBounces: '4' })).toEqual({
      bounceRateThreshold: 3,
      bounceRateMinimumSends: 100,
      bounceBrakeMaxHardBounces: 4,
      templateCacheSeconds: 300,
      softBounceRetryDelaySeconds: 900,
    });
  });

  it('rounds the two counts down as the Email Sender does, so stats and the dashboard judge the brake as it does', () => {
    // CloudFormation's Number parameters take 99.5 and 2.5; the template hands them to the sender as they are.
    const sender = emailSenderConfig({
      TRACKING_TABLE: 't', SUPPRESSION_TABLE: 's', COUNTERS_TABLE: 'c', TEMPLATE_BUCKET: 'b', CONFIGURATION_SET: 'cs',
      BOUNCE_RATE_MIN_SENDS: '99.5', BOUNCE_BRAKE_MAX_HARD_BOUNCES: '2.5',
    });
    const settings = stackSettings({ BounceRateMinimumSends: '99.5', BounceBrakeMaxHardBounces: '2.5' });

    expect(settings.bounceRateMinimumSends).toBe(sender.bounceRateMinSends);
    expect(settings.bounceBrakeMaxHardBounces).toBe(sender.bounceBrakeMaxHardBounces);
    expect([settings.bounceRateMinimumSends, settings.bounceBrakeMaxHardBounces]).toEqual([99, 2]);
  });

  it('reads no hard-bounce floor from a stack without the parameter (its sender has none)', () => {
    expect(stackSettings({ BounceRateThreshold: '5' }).bounceBrakeMaxHardBounces).toBe(0);
    expect(stackSettings({ BounceBrakeMaxHardBounces: '0' }).bounceBrakeMaxHardBounces).toBe(0);
  });
});

describe('flag values', () => {
  it('parses --data inline and from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-input-'));
    writeFileSync(join(dir, 'd.json'), '{"userName": "Ada"}');
    expect(jsonObjectOption('{"a": 1}', '--data')).toEqual({ a: 1 });
    expect(jsonObjectOption('@d.json', '--data', dir)).toEqual({ userName: 'Ada' });
  });

  it('turns bad --data JSON into OPS004 with where it broke and how to quote it', () => {
    try {
      jsonObjectOption('{"userName": "Ada",}', '--data');
      throw new Error('expected a CliError');
    } catch (error) {
      expect((error as CliError).code).toBe('OPS004');
      expect((error as CliError).message).toMatch(/^--data is not valid JSON: .*line 1, column \d+\.$/);
      expect((error as CliError).fix).toContain(`--data '{"userName": "Ada", "companyName": "Acme"}'`);
    }
  });

  it('refuses a number JSON reads as Infinity (it would travel as null), naming where it is', () => {
    expect(() => jsonObjectOption('{"userName": 1e400}', '--data')).toThrow('--data: userName is a number too large for JSON to carry');
    expect(() => jsonObjectOption('{"items": [{"price": -1e999}]}', '--metadata')).toThrow('--metadata: items[0].price is');
    expect(jsonObjectOption('{"big": 1e300}', '--data')).toEqual({ big: 1e300 });
  });

  it('refuses a JSON array as --data and a missing @file', () => {
    expect(() => jsonObjectOption('[1]', '--data')).toThrow('--data must be a JSON object, got an array.');
    expect(() => jsonObjectOption('@nope.json', '--data', tmpdir())).toThrow(/cannot be read/);
  });

  it('checks dates, counts and choices', () => {
    expect(dayOption('2026-02-28', '--date')).toBe('2026-02-28');
    expect(() => dayOption('2026-02-30', '--date')).toThrow('--date must be a date as YYYY-MM-DD');
    expect(daysEndingWith('2026-03-01', 3)).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    expect(integerOption('7', '--days', 1, 1, 400)).toBe(7);
    expect(() => integerOption('0', '--days', 1, 1, 400)).toThrow('--days must be a whole number from 1 to 400');
    expect(choiceOption(undefined, '--queue', ['send', 'all'], 'all')).toBe('all');
    expect(() => choiceOption('dlq', '--queue', ['send', 'all'], 'all')).toThrow('--queue must be one of send, all');
  });
});
