import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emailSenderConfig } from '../../functions/email-sender/config.js';

const required = {
  TRACKING_TABLE: 't',
  SUPPRESSION_TABLE: 's',
  COUNTERS_TABLE: 'c',
  TEMPLATE_BUCKET: 'b',
  CONFIGURATION_SET: 'cs',
};

describe('emailSenderConfig', () => {
  it('applies the documented defaults', () => {
    expect(emailSenderConfig(required)).toEqual({
      trackingTable: 't',
      suppressionTable: 's',
      countersTable: 'c',
      templateBucket: 'b',
      configurationSet: 'cs',
      bounceRateThreshold: 5,
      bounceRateMinSends: 100,
      bounceBrakeMaxHardBounces: 10,
      templateCacheSeconds: 300,
      trackingRetentionDays: 365,
      maxAttachmentBytes: 10 * 1024 * 1024,
      interruptedSendPolicy: 'resend',
      interruptedSendWindowSeconds: 600,
      maxSendRate: 0,
    });
  });

  it('reads every optional setting', () => {
    const config = emailSenderConfig({
      ...required,
      DEFAULT_SENDER_EMAIL: 'noreply@bücher.de',
      DEFAULT_SENDER_NAME: 'Bücher Team',
      BOUNCE_RATE_THRESHOLD: '2.5',
      BOUNCE_RATE_MIN_SENDS: '50',
      BOUNCE_BRAKE_MAX_HARD_BOUNCES: '0',
      TEMPLATE_CACHE_SECONDS: '0',
      TRACKING_RETENTION_DAYS: '30',
      UNSUBSCRIBE_URL: 'https://abc.lambda-url.us-east-1.on.aws/',
      UNSUBSCRIBE_MAILTO: 'mailto:unsubscribe@app.example',
      ATTACHMENTS_MAX_BYTES: '2000000',
      INTERRUPTED_SEND_POLICY: 'fail',
      INTERRUPTED_SEND_WINDOW_SECONDS: '60',
    });
    expect(config.defaultSender).toEqual({ address: expect.objectContaining({ address: 'noreply@xn--bcher-kva.de' }), name: 'Bücher Team' });
    expect(config).toMatchObject({
      bounceRateThreshold: 2.5,
      bounceRateMinSends: 50,
      bounceBrakeMaxHardBounces: 0,
      templateCacheSeconds: 0,
      trackingRetentionDays: 30,
      unsubscribeUrl: 'https://abc.lambda-url.us-east-1.on.aws/',
      unsubscribeMailto: 'unsubscribe@app.example',
      maxAttachmentBytes: 2_000_000,
      interruptedSendPolicy: 'fail',
      interruptedSendWindowSeconds: 60,
    });
  });

  it('treats empty optional values as unset', () => {
    const config = emailSenderConfig({ ...required, DEFAULT_SENDER_EMAIL: '', DEFAULT_SENDER_NAME: '', UNSUBSCRIBE_URL: '', UNSUBSCRIBE_MAILTO: '' });
    expect(config.defaultSender).toBeUndefined();
    expect(config.unsubscribeUrl).toBeUndefined();
  });

  it.each([
    [{ TRACKING_TABLE: '' }, /TRACKING_TABLE is required/],
    [{ CONFIGURATION_SET: undefined }, /CONFIGURATION_SET is required/],
    [{ DEFAULT_SENDER_EMAIL: 'noreply' }, /DEFAULT_SENDER_EMAIL .* not a valid e-mail address/],
    [{ DEFAULT_SENDER_NAME: 'A\nB' }, /DEFAULT_SENDER_NAME/],
    [{ BOUNCE_RATE_THRESHOLD: '150' }, /BOUNCE_RATE_THRESHOLD must be a number between 0 and 100/],
    [{ BOUNCE_RATE_MIN_SENDS: 'many' }, /BOUNCE_RATE_MIN_SENDS/],
    [{ BOUNCE_BRAKE_MAX_HARD_BOUNCES: '-1' }, /BOUNCE_BRAKE_MAX_HARD_BOUNCES must be a number between 0/],
    [{ UNSUBSCRIBE_URL: 'ftp://x.example/' }, /UNSUBSCRIBE_URL must be an http\(s\) URL/],
    [{ UNSUBSCRIBE_URL: 'not a url' }, /UNSUBSCRIBE_URL/],
    [{ UNSUBSCRIBE_MAILTO: 'nobody' }, /UNSUBSCRIBE_MAILTO/],
    [{ ATTACHMENTS_MAX_BYTES: '50000000' }, /ATTACHMENTS_MAX_BYTES must be a number between 0 and 41943040/],
    [{ INTERRUPTED_SEND_POLICY: 'retry' }, /INTERRUPTED_SEND_POLICY must be "resend" or "fail"/],
    [{ INTERRUPTED_SEND_WINDOW_SECONDS: '0' }, /INTERRUPTED_SEND_WINDOW_SECONDS/],
  ])('refuses %j', (overrides, message) => {
    expect(() => emailSenderConfig({ ...required, ...overrides })).toThrow(message);
  });

  it('reads exactly the documented variables of the Email Sender', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const source = ['config.ts', 'handler.ts']
      .map((file) => readFileSync(join(here, '..', '..', 'functions', 'email-sender', file), 'utf8'))
      .join('\n');
    const names = new Set([...source.matchAll(/(?:requiredString|optionalString|numberValue)\(env, '([A-Z_]+)'/g)].map((m) => m[1]));
    expect([...names].sort()).toEqual(
      [
        'ATTACHMENTS_MAX_BYTES',
        'BOUNCE_BRAKE_MAX_HARD_BOUNCES',
        'BOUNCE_RATE_MIN_SENDS',
        'BOUNCE_RATE_THRESHOLD',
        'CONFIGURATION_SET',
        'COUNTERS_TABLE',
        'DEFAULT_SENDER_EMAIL',
        'DEFAULT_SENDER_NAME',
        'INTERRUPTED_SEND_POLICY',
        'INTERRUPTED_SEND_WINDOW_SECONDS',
        'MAX_SEND_RATE',
        'SEND_QUEUE_URL',
        'STACK_NAME',
        'SUPPRESSION_TABLE',
        'TEMPLATE_BUCKET',
        'TEMPLATE_CACHE_SECONDS',
        'TRACKING_RETENTION_DAYS',
        'TRACKING_TABLE',
        'UNSUBSCRIBE_MAILTO',
        'UNSUBSCRIBE_URL',
      ].sort(),
    );
  });
});
