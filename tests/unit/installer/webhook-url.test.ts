import { describe, expect, it } from '@jest/globals';
import { CliError } from '../../../src/errors.js';
import {
  chooseWebhookEvents,
  chooseWebhookUrl,
  privateHostKind,
  WEBHOOK_URL_MAX_LENGTH,
  WEBHOOK_URL_PATTERN,
  webhookUrlProblem,
} from '../../../src/installer/webhook-url.js';
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

function refusal(flag: string, options: { allowPrivate?: boolean } = {}): CliError | undefined {
  try {
    chooseWebhookUrl(flag, undefined, options);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
}

describe('webhook URLs at non-public addresses', () => {
  it.each([
    ['https://169.254.169.254/latest/meta-data/', '169.254.169.254', /link-local/],
    ['https://127.0.0.1:9001/2018-06-01/runtime/invocation/next', '127.0.0.1', /loopback/],
    ['https://127.255.255.254/', '127.255.255.254', /loopback/],
    ['https://10.0.0.5/', '10.0.0.5', /private/],
    ['https://172.16.0.1/', '172.16.0.1', /private/],
    ['https://172.31.255.255/', '172.31.255.255', /private/],
    ['https://192.168.1.10/', '192.168.1.10', /private/],
    ['https://100.64.0.1/', '100.64.0.1', /carrier-grade NAT/],
    ['https://100.127.255.255/', '100.127.255.255', /carrier-grade NAT/],
    ['https://0.0.0.0/', '0.0.0.0', /unspecified/],
    // Spellings the URL parser turns into 127.0.0.1 / 169.254.169.254.
    ['https://2130706433/', '127.0.0.1', /loopback/],
    ['https://0x7f.1/', '127.0.0.1', /loopback/],
    ['https://127.1/', '127.0.0.1', /loopback/],
    ['https://017700000001/', '127.0.0.1', /loopback/],
    ['https://0xA9.0xFE.0xA9.0xFE/', '169.254.169.254', /link-local/],
    ['https://2852039166/', '169.254.169.254', /link-local/],
    ['https://10.0.0.5./', '10.0.0.5', /private/],
    // IPv6, including IPv4-mapped forms of the ranges above.
    ['https://[::1]/', '[::1]', /loopback/],
    ['https://[::]/', '[::]', /unspecified/],
    ['https://[fe80::1]/', '[fe80::1]', /link-local/],
    ['https://[febf::1]/', '[febf::1]', /link-local/],
    ['https://[fc00::1]/', '[fc00::1]', /unique-local/],
    ['https://[fd12:3456::1]/', '[fd12:3456::1]', /unique-local/],
    ['https://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]', /loopback/],
    ['https://[::ffff:a9fe:a9fe]/', '[::ffff:a9fe:a9fe]', /link-local/],
    ['https://[::ffff:10.1.2.3]/', '[::ffff:a01:203]', /private/],
    ['https://[0:0:0:0:0:ffff:c0a8:0101]/', '[::ffff:c0a8:101]', /private/],
    // Names that mean this machine.
    ['https://localhost/', 'localhost', /localhost/],
    ['https://LOCALHOST:8443/x', 'localhost', /localhost/],
    ['https://localhost./', 'localhost.', /localhost/],
    ['https://hooks.localhost/', 'hooks.localhost', /localhost/],
  ])('refuses %j with INS026, naming the address it parses to', (url, host, kind) => {
    const error = refusal(url);
    expect(error?.code).toBe('INS026');
    expect(error?.message).toContain(`points at ${host}`);
    expect(error?.message).toMatch(kind);
    expect(error?.fix).toContain('--allow-private-webhook');
  });

  it.each([
    'https://hooks.example.com/x',
    'https://8.8.8.8/',
    'https://100.63.255.255/',
    'https://100.128.0.1/',
    'https://172.15.255.255/',
    'https://172.32.0.1/',
    'https://192.169.0.1/',
    'https://169.255.0.1/',
    'https://11.0.0.1/',
    'https://1.0.0.1/',
    'https://localhost.example.com/',
    'https://mylocalhost/',
    'https://127.example.com/',
  ])('accepts the public %j', (url) => {
    expect(chooseWebhookUrl(url, undefined)).toBe(url);
  });

  it('accepts them all with --allow-private-webhook, as far as the stack accepts the host', () => {
    for (const url of ['https://169.254.169.254/', 'https://127.0.0.1:9001/', 'https://10.0.0.5/', 'https://2130706433/', 'https://0x7f.1/', 'https://localhost/']) {
      expect(chooseWebhookUrl(url, undefined, { allowPrivate: true })).toBe(url);
    }
    // The stack's parameter takes no IPv6 literal at all.
    expect(refusal('https://[::1]/', { allowPrivate: true })?.code).toBe('INS023');
  });

  it('checks --parameter WebhookUrl=… alike, and leaves other problems to INS023', () => {
    expect((() => {
      try {
        chooseWebhookUrl(undefined, 'https://10.1.1.1/hook');
      } catch (error) {
        return (error as CliError).code;
      }
      return undefined;
    })()).toBe('INS026');
    expect(refusal('http://127.0.0.1/')?.code).toBe('INS023');
    expect(refusal('https://user:pw@127.0.0.1/')?.code).toBe('INS023');
    expect(refusal('https://[2001:db8::1]/')?.code).toBe('INS023');
    expect(refusal('https://[::ffff:8.8.8.8]/')?.code).toBe('INS023');
  });

  it('classifies hosts as parsed URLs give them', () => {
    expect(privateHostKind(new URL('https://[::ffff:7f00:1]/'))).toMatch(/loopback/);
    expect(privateHostKind(new URL('https://[64:ff9b::a00:1]/'))).toBeUndefined();
    expect(privateHostKind(new URL('https://example.com/'))).toBeUndefined();
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
