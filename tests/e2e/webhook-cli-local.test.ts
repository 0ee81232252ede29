import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { verifyWebhook } from '../../src/client/index.js';
import { signEngineDetail } from '../../functions/core/event-authentication.js';
import { CLI, eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';
import { startWebhookReceiver, type ReceivedHook, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * `sesmailengine webhook secret|test` and `dlq … --queue webhook`, end to end: the built CLI
 * in child processes against `sesmailengine local --webhook-url` (no --webhook-secret, so the
 * secret is the one local mode generated), with a receiver on 127.0.0.1 that checks every
 * delivery with the package's verifyWebhook and the secret the CLI printed.
 */

let receiver: WebhookReceiver;
let hits: ReceivedHook[];
let receiverUrl: string;
let local: LocalMode;
let flag: string;
let sqs: SQSClient;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  hits = receiver.hits;
  receiverUrl = `${receiver.origin}/hooks`;
  local = await startLocalMode(['--stack-name', 'whcli', '--webhook-url', receiverUrl]);
  flag = `--local=${local.info.eventBridgeEndpoint}`;
  sqs = new SQSClient({ region: local.info.region, credentials: local.info.credentials, endpoint: local.info.eventBridgeEndpoint });
}, 90_000);

afterAll(async () => {
  sqs?.destroy();
  await local?.stop();
  await receiver?.stop();
}, 30_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type Payload = { type: string; timestamp: string; data: Record<string, any> };

async function secretFromCli(): Promise<string> {
  const run = await cli(['webhook', 'secret', flag]);
  expect(run.code).toBe(0);
  return run.stdout.trim();
}

/** The verified payload of the delivery with this webhook-id, once it has arrived. */
function deliveryOf(secret: string, webhookId: string): Promise<Payload> {
  return eventually(
    async () => {
      const hit = hits.find((h) => h.headers['webhook-id'] === webhookId);
      return hit ? verifyWebhook<Payload>(secret, hit.headers, hit.body) : undefined;
    },
    15_000,
    `the delivery of ${webhookId}`,
  );
}

describe('webhook secret --local', () => {
  it('prints the secret local mode signs with, in whsec_ form, alone on stdout', async () => {
    const run = await cli(['webhook', 'secret', flag]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}\n$/);
    expect(run.stdout.trim()).toBe(local.info.webhookSecret);
    expect(run.stderr).toContain(receiverUrl);
  });

  it('prints one JSON object with --json', async () => {
    const run = await cli(['webhook', 'secret', '--json', flag]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ target: 'local', url: receiverUrl, secret: local.info.webhookSecret });
  });
});

describe('webhook test --local', () => {
  it('makes the receiver get a signed webhook.test that verifies with the printed secret', async () => {
    const secret = await secretFromCli();
    const message = `e2e ${randomUUID()}`;
    const run = await cli(['webhook', 'test', '--json', '--message', message, flag]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ target: 'local', type: 'webhook.test', url: receiverUrl, eventBusName: 'whcli-EmailBus' });
    const payload = await deliveryOf(secret, out.eventId);
    expect(payload).toMatchObject({ type: 'webhook.test', data: { message, sentBy: 'sesmailengine webhook test' } });
    const hit = hits.find((h) => h.headers['webhook-id'] === out.eventId)!;
    // Signed with this secret and no other.
    expect(() => verifyWebhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, hit.headers, hit.body)).toThrow(/signature/);
  });

  it('says where to look when nothing arrives', async () => {
    const run = await cli(['webhook', 'test', flag]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Published a "Webhook Test" event on whcli-EmailBus`);
    expect(run.stdout).toContain(`sesmailengine dlq list --queue webhook ${flag}`);
    expect(run.stdout).toContain(receiverUrl);
  });
});

describe('dlq --queue webhook --local', () => {
  it('lists an undelivered status event and redrives it to the receiver, with its webhook-id', async () => {
    const secret = await secretFromCli();
    const dlqUrl = local.info.webhookDeadLetterQueueUrl as string;
    expect(dlqUrl).toMatch(/\/whcli-webhook-dlq$/);
    const id = randomUUID();
    const emailId = `wh-${randomUUID()}`;
    const event = {
      version: '0',
      id,
      'detail-type': 'Email Status Changed',
      source: 'sesmailengine',
      account: '000000000000',
      time: new Date().toISOString(),
      region: local.info.region,
      resources: [],
      // As the Feedback Processor published it: signed with the engine's key.
      detail: signEngineDetail(Buffer.from(local.info.eventSigningKey as string, 'base64url'), 'Email Status Changed', {
        emailId,
        status: 'delivered',
        statusChanged: true,
        recordStatus: 'delivered',
        previousStatus: 'sent',
        toEmail: 'kim@example.com',
        timestamp: new Date().toISOString(),
        originalSource: 'e2e.app',
        templateName: 'welcome',
      }),
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(event) }));

    const listed = await cli(['dlq', 'list', '--queue', 'webhook', '--json', flag]);
    expect(listed.code).toBe(0);
    const [queue] = JSON.parse(listed.stdout).queues;
    expect(queue).toMatchObject({ queue: 'webhook', name: 'whcli-webhook-dlq' });
    expect(queue.messages).toEqual([expect.objectContaining({ kind: 'webhook-event', webhookType: 'email.delivered', webhookId: id, emailId, to: 'kim@example.com' })]);
    expect(hits.some((h) => h.headers['webhook-id'] === id)).toBe(false);

    const redriven = await cli(['dlq', 'redrive', '--queue', 'webhook', '--json', flag]);
    expect(redriven.code).toBe(0);
    expect(JSON.parse(redriven.stdout).results[0]).toMatchObject({ queue: 'webhook', method: 'copy', moved: 1, failed: 0 });
    const payload = await deliveryOf(secret, id);
    expect(payload).toMatchObject({ type: 'email.delivered', data: { emailId, status: 'delivered' } });

    const after = await cli(['dlq', 'list', '--queue', 'webhook', '--json', flag]);
    expect(JSON.parse(after.stdout).queues[0].messages).toEqual([]);
  });

  it('includes the webhook DLQ in --queue all', async () => {
    const run = await cli(['dlq', 'list', '--json', flag]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).queues.map((q: { queue: string }) => q.queue)).toEqual(['send', 'feedback', 'webhook']);
  });
});

describe('--help', () => {
  it('lists webhook secret and test without loading the AWS SDK or the command', async () => {
    const top = await cli(['--help']);
    expect(top.stdout).toContain('  webhook');
    const help = await cli(['webhook', '--help']);
    expect(help.stdout).toMatch(/secret \[options\]\s+print the webhook signing secret/);
    expect(help.stdout).toMatch(/test \[options\]\s+publish a "Webhook Test" event/);
    for (const args of [['webhook', 'secret', '--help'], ['webhook', 'test', '--help']]) {
      const run = await cli(args, { NODE_DEBUG: 'esm' });
      expect(run.code).toBe(0);
      expect(run.stderr).not.toContain('@aws-sdk');
      expect(run.stderr).not.toContain('commands/webhook.js');
    }
    // The check can see both: a real run loads them.
    const real = await cli(['webhook', 'secret', flag], { NODE_DEBUG: 'esm' });
    expect(real.stderr).toContain('commands/webhook.js');
    expect(real.stderr).toContain('@aws-sdk');
  });
});
