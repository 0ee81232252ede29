import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { verifyWebhook } from '../../functions/core/webhook-signature.js';
import { signEngineDetail } from '../../functions/core/event-authentication.js';
import { eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';
import { startWebhookReceiver, type ReceivedHook, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Signed webhooks end to end through `sesmailengine local --webhook-url` (the built CLI in a
 * child process): an email's status changes reach a receiver on 127.0.0.1 as signed POSTs
 * that verify with the secret local mode prints, and a "Webhook Test" event does too. Events
 * someone else puts on local mode's EventBridge endpoint with the engine's source are not
 * forwarded: only those signed with the engine's key.
 */

const SECRET = `whsec_${Buffer.from('local-mode-webhook-secret-for-tests!').toString('base64')}`;

let receiver: WebhookReceiver;
let hits: ReceivedHook[];
let local: LocalMode;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  hits = receiver.hits;
  const url = `${receiver.origin}/webhooks`;
  local = await startLocalMode(['--stack-name', 'hooks', '--webhook-url', url, '--webhook-secret', SECRET]);
}, 90_000);

afterAll(async () => {
  await local?.stop();
  await receiver?.stop();
}, 30_000);

type Payload = { type: string; timestamp: string; data: Record<string, any> };

function payloadsFor(emailId: string): Payload[] {
  return hits.map((hit) => verifyWebhook<Payload>(SECRET, hit.headers, hit.body)).filter((p) => p.data.emailId === emailId);
}

describe('sesmailengine local --webhook-url', () => {
  it('says where webhooks go and with which secret', () => {
    expect(local.info.webhookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks$/);
    expect(local.info.webhookSecret).toBe(SECRET);
    expect(local.info.webhookQueueUrl).toMatch(/\/hooks-webhook$/);
    expect(local.info.webhookDeadLetterQueueUrl).toMatch(/\/hooks-webhook-dlq$/);
  });

  it('POSTs each status change of an email, signed, with one webhook-id per change', async () => {
    const emailId = `hook-${randomUUID()}`;
    const out = await local.publish([
      local.request({ emailId, to: 'success@simulator.amazonses.com', templateName: 'welcome', templateData: { userName: 'Ada', companyName: 'Acme' } }),
    ]);
    expect(out.FailedEntryCount).toBe(0);
    const delivered = await eventually(async () => payloadsFor(emailId).find((p) => p.type === 'email.delivered'), 20_000, 'email.delivered');
    // The simulator's Open follows the Delivery: wait for its webhook too before comparing with the status log.
    await eventually(async () => payloadsFor(emailId).find((p) => p.type === 'email.opened'), 20_000, 'email.opened');
    expect(delivered.data).toMatchObject({ emailId, status: 'delivered', toEmail: 'success@simulator.amazonses.com', templateName: 'welcome' });
    // Every change the status log saw went out once, as its own webhook.
    const statuses = (await local.statusEvents(emailId)).map((e) => e.detail.status);
    await eventually(async () => (payloadsFor(emailId).length >= statuses.length ? true : undefined), 20_000, 'one webhook per status event');
    expect(payloadsFor(emailId).map((p) => p.type.replace('email.', ''))).toEqual(expect.arrayContaining(statuses));
    const ids = hits.filter((h) => h.body.includes(emailId)).map((h) => h.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    // The record moved on to opened, and the delivery still went out; receivers never see the engine's own signature.
    expect(payloadsFor(emailId).map((p) => p.type)).toEqual(expect.arrayContaining(['email.delivered', 'email.opened']));
    expect(hits.filter((h) => h.body.includes(emailId)).every((h) => !h.body.includes('engineSignature'))).toBe(true);
  });

  it('tells a bounce with its bounce type', async () => {
    const emailId = `hook-${randomUUID()}`;
    await local.publish([local.request({ emailId, to: 'bounce@simulator.amazonses.com', templateName: 'welcome', templateData: { userName: 'Bo', companyName: 'Acme' } })]);
    const bounced = await eventually(async () => payloadsFor(emailId).find((p) => p.type === 'email.bounced'), 20_000, 'email.bounced');
    expect(bounced.data).toMatchObject({ status: 'bounced', bounceType: 'Permanent' });
  });

  it('delivers a "Webhook Test" event signed with the engine\'s key, and not an unsigned one', async () => {
    const forged = randomUUID();
    const marker = randomUUID();
    const key = Buffer.from(local.info.eventSigningKey as string, 'base64url');
    const out = await local.publish([
      { EventBusName: local.info.eventBusName, Source: 'sesmailengine', DetailType: 'Webhook Test', Detail: JSON.stringify({ message: forged }) },
      { EventBusName: local.info.eventBusName, Source: 'sesmailengine', DetailType: 'Webhook Test', Detail: JSON.stringify(signEngineDetail(key, 'Webhook Test', { message: marker })) },
    ]);
    expect(out.FailedEntryCount).toBe(0);
    const test = await eventually(
      async () => hits.map((h) => verifyWebhook<Payload>(SECRET, h.headers, h.body)).find((p) => p.type === 'webhook.test' && p.data.message === marker),
      10_000,
      'webhook.test',
    );
    expect(test.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(test.data).toEqual({ message: marker });
    expect(hits.some((h) => h.body.includes(forged))).toBe(false);
  });

  it('does not forward an "Email Status Changed" someone else put on the bus, even for a real email', async () => {
    const emailId = `hook-${randomUUID()}`;
    await local.publish([local.request({ emailId, to: 'success@simulator.amazonses.com', templateName: 'welcome', templateData: { userName: 'Ada', companyName: 'Acme' } })]);
    await eventually(async () => payloadsFor(emailId).find((p) => p.type === 'email.opened'), 20_000, 'email.opened');
    const real = payloadsFor(emailId).length;
    // A copy of a real change with a changed address, with the engine's signature copied too, and one without any.
    const [delivered] = (await local.statusEvents(emailId)).filter((e) => e.detail.status === 'delivered');
    const altered = { ...delivered!.detail, toEmail: 'attacker@example.com' };
    const unsigned: Record<string, unknown> = { ...delivered!.detail, status: 'bounced', bounceType: 'Permanent' };
    delete unsigned.engineSignature;
    const marker = randomUUID();
    const key = Buffer.from(local.info.eventSigningKey as string, 'base64url');
    const out = await local.publish([
      { EventBusName: local.info.eventBusName, Source: 'sesmailengine', DetailType: 'Email Status Changed', Detail: JSON.stringify(altered) },
      { EventBusName: local.info.eventBusName, Source: 'sesmailengine', DetailType: 'Email Status Changed', Detail: JSON.stringify(unsigned) },
      // Published after them on the same queue: once it arrives, the forged two have been handled.
      { EventBusName: local.info.eventBusName, Source: 'sesmailengine', DetailType: 'Webhook Test', Detail: JSON.stringify(signEngineDetail(key, 'Webhook Test', { message: marker })) },
    ]);
    expect(out.FailedEntryCount).toBe(0);
    await eventually(async () => hits.find((h) => h.body.includes(marker)), 10_000, 'the marker test event');
    expect(payloadsFor(emailId)).toHaveLength(real);
    expect(hits.some((h) => h.body.includes('attacker@example.com'))).toBe(false);
    // The status log (GET /events) is the bus, not the webhook: it shows what was put there, signature and all.
    expect((await local.statusEvents(emailId)).some((e) => e.detail.toEmail === 'attacker@example.com')).toBe(true);
  });
});
