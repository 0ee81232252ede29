import { describe, expect, it } from '@jest/globals';
import { CliError } from '../../../src/errors.js';
import { chooseWebhookEvents, chooseWebhookUrl, WEBHOOK_URL_MAX_LENGTH, WEBHOOK_URL_PATTERN, webhookUrlProblem } from '../../../src/installer/webhook-url.js';
import { parseWebhookEventTypes } from '../../../functions/core/webhook-payload.js';
import { loadTemplate } from '../../support/cloudformation.js';

describe('webhookUrlProblem', () => {
  it.each(['', 'https://hooks.example.com/sesmailengine', 'https://example.com', 'https://api.example.com:8443/hooks?token=abc', 'https://h.example.com/a@b'])(
    'accepts %j',
    (url) => {
      expect(webhookUrlProblem(url)).toBeUndefined();
    },
  );

  it.each([
    ['http://hooks.example.com/x', /https only/],
    ['hooks.example.com/x', /not an absolute URL/],
    ['/relative/path', /not an absolute URL/],
    ['https://user:pw@hooks.example.com/x', /user name or password/],
    ['https://token@hooks.example.com/x', /user name or password/],
    ['https://hooks.example.com/a b', /space or a control character/],
    ['https://hooks.example.com/x\r\nHost: evil', /space or a control character/],
    ['https://[::1]/x', /host the stack does not accept/],
    ['https://bücher.example/x', /host the stack does not accept/],
    [`https://hooks.example.com/${'a'.repeat(WEBHOOK_URL_MAX_LENGTH)}`, /at most 2048/],
  ])('refuses %j', (url, why) => {
    expect(webhookUrlProblem(url)).toMatch(why);
  });

  it('uses the same pattern as the stack parameter, which CloudFormation checks again', () => {
    const parameter = loadTemplate().Parameters!.WebhookUrl!;
    expect(parameter.AllowedPattern).toBe(WEBHOOK_URL_PATTERN);
    expect((parameter as { MaxLength?: number }).MaxLength).toBe(WEBHOOK_URL_MAX_LENGTH);
  });
});

describe('chooseWebhookUrl', () => {
  it('is undefined when neither the flag nor --parameter gives one (an upgrade keeps the stack\'s)', () => {
    expect(chooseWebhookUrl(undefined, undefined)).toBeUndefined();
  });

  it("takes either source, and '' (webhooks off)", () => {
    expect(chooseWebhookUrl('https://a.example.com/h', undefined)).toBe('https://a.example.com/h');
    expect(chooseWebhookUrl(undefined, 'https://a.example.com/h')).toBe('https://a.example.com/h');
    expect(chooseWebhookUrl('', undefined)).toBe('');
    expect(chooseWebhookUrl('https://a.example.com/h', 'https://a.example.com/h')).toBe('https://a.example.com/h');
  });

  it('refuses an invalid URL or two different ones with INS023 and a fix', () => {
    for (const [flag, parameter] of [
      ['http://a.example.com', undefined],
      [undefined, 'ftp://a.example.com'],
      ['https://a.example.com/1', 'https://a.example.com/2'],
    ] as const) {
      let error: unknown;
      try {
        chooseWebhookUrl(flag, parameter);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).code).toBe('INS023');
      expect((error as CliError).fix).toContain('--webhook-url');
    }
  });
});

describe('chooseWebhookEvents', () => {
  it("is undefined when not given (an upgrade keeps the stack's), '' for every type, else the canonical list", () => {
    expect(chooseWebhookEvents(undefined, undefined)).toBeUndefined();
    expect(chooseWebhookEvents('', undefined)).toBe('');
    expect(chooseWebhookEvents('complained,bounced', undefined)).toBe('email.bounced,email.complained');
    expect(chooseWebhookEvents(undefined, 'email.failed')).toBe('email.failed');
  });

  it('refuses an unknown type or two different lists with INS025 and a fix', () => {
    for (const [flag, parameter] of [
      ['bounced,sent', undefined],
      ['bounced', 'complained'],
    ] as const) {
      let error: unknown;
      try {
        chooseWebhookEvents(flag, parameter);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).code).toBe('INS025');
      expect((error as CliError).fix).toContain('--webhook-events');
    }
  });

  it("agrees with the template's AllowedPattern for WebhookEvents", () => {
    const pattern = new RegExp((loadTemplate().Parameters!.WebhookEvents as { AllowedPattern: string }).AllowedPattern);
    for (const text of ['', 'bounced', 'email.bounced,complained', 'delivered,opened,soft_bounced,bounced,complained,failed', 'sent', 'bounced,', 'bounced, complained', 'email.clicked', 'webhook.test']) {
      let parsed: boolean;
      try {
        parseWebhookEventTypes(text);
        parsed = !/\s/.test(text) && !/,$/.test(text);
      } catch {
        parsed = false;
      }
      expect({ text, allowed: pattern.test(text) }).toEqual({ text, allowed: parsed });
    }
  });
});
