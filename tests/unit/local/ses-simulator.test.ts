import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import type { HttpRequest } from '@smithy/core/transport';
import { emailIdFromTags, emailIdTags } from '../../../functions/core/message-tags.js';
import {
  simulatingSesRoute,
  sesEnvelope,
  simulateSesEvents,
  simulatorMailbox,
  type SimulatedEvent,
} from '../../../src/local/ses-simulator.js';
import type { EventEnvelope } from '../../../src/local/put-events.js';

const FIXTURES = '/work/shared/fixtures/aws/event-publishing-sns';
const fixture = (name: string) => JSON.parse(readFileSync(`${FIXTURES}/${name}.json`, 'utf8')) as Record<string, Record<string, unknown>>;

const context = {
  messageId: '0100018f-local-message-id',
  configurationSet: 'app-tracking',
  account: '000000000000',
  region: 'us-east-1',
  sentAt: new Date('2026-03-01T10:00:00.000Z'),
};

function send(to: string): SendEmailCommandInput {
  return {
    FromEmailAddress: 'Acme <no-reply@example.com>',
    Destination: { ToAddresses: [to] },
    ConfigurationSetName: 'app-tracking',
    EmailTags: emailIdTags('email-123'),
    Content: {
      Simple: {
        Subject: { Data: 'Welcome' },
        Body: { Html: { Data: '<p>Hi</p>' }, Text: { Data: 'Hi' } },
        Headers: [{ Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' }],
      },
    },
  };
}

const types = (events: SimulatedEvent[]) => events.map((e) => e.eventType);

describe('simulator mailboxes', () => {
  it.each([
    ['success@simulator.amazonses.com', 'success'],
    ['SUCCESS+signup-42@Simulator.AmazonSES.com', 'success'],
    ['"Tester" <bounce+x@simulator.amazonses.com>', 'bounce'],
    ['complaint@simulator.amazonses.com', 'complaint'],
    ['ooto@simulator.amazonses.com', 'ooto'],
    ['suppressionlist@simulator.amazonses.com', 'suppressionlist'],
    ['someone@simulator.amazonses.com', undefined],
    ['success@example.com', undefined],
  ])('%s is %s', (address, mailbox) => {
    expect(simulatorMailbox(address)).toBe(mailbox);
  });
});

describe('simulated SES events', () => {
  it.each([
    ['success@simulator.amazonses.com', ['Send', 'Delivery', 'Open']],
    ['success+label@simulator.amazonses.com', ['Send', 'Delivery', 'Open']],
    ['bounce@simulator.amazonses.com', ['Send', 'Bounce']],
    ['complaint@simulator.amazonses.com', ['Send', 'Delivery', 'Complaint']],
    ['ooto@simulator.amazonses.com', ['Send', 'Delivery']],
    ['suppressionlist@simulator.amazonses.com', ['Send', 'Bounce']],
    ['reader@example.com', ['Send']],
  ])('a send to %s produces %j', (to, expected) => {
    expect(types(simulateSesEvents(send(to), context))).toEqual(expected);
  });

  it('publishes follow-up events later than the Send, in order', () => {
    const delays = simulateSesEvents(send('complaint@simulator.amazonses.com'), context).map((e) => e.delayMs);
    expect(delays[0]).toBe(0);
    expect(delays[1]!).toBeGreaterThan(0);
    expect(delays[2]!).toBeGreaterThan(delays[1]!);
  });

  it.each([
    ['Send', 'send', 'reader@example.com'],
    ['Delivery', 'delivery', 'ooto@simulator.amazonses.com'],
    ['Open', 'open', 'success@simulator.amazonses.com'],
    ['Bounce', 'bounce-permanent-general', 'bounce@simulator.amazonses.com'],
    ['Complaint', 'complaint', 'complaint@simulator.amazonses.com'],
  ])('builds %s with the keys of the AWS example', (eventType, fixtureName, to) => {
    const example = fixture(fixtureName);
    const event = simulateSesEvents(send(to), context).find((e) => e.eventType === eventType)!;
    expect(Object.keys(event.detail).sort()).toEqual(Object.keys(example).sort());
    const section = Object.keys(example).find((k) => k !== 'eventType' && k !== 'mail')!;
    expect(Object.keys(event.detail[section] as object).sort()).toEqual(Object.keys(example[section]!).sort());
    const mail = event.detail.mail as Record<string, unknown>;
    for (const key of ['timestamp', 'source', 'sendingAccountId', 'messageId', 'destination', 'headersTruncated', 'headers', 'commonHeaders', 'tags']) {
      expect(mail).toHaveProperty(key);
    }
  });

  it('fills the mail object from the send: message id, tags, destination, headers', () => {
    const [sent] = simulateSesEvents(send('reader@example.com'), context);
    const mail = sent!.detail.mail as Record<string, any>;
    expect(mail.messageId).toBe(context.messageId);
    expect(mail.destination).toEqual(['reader@example.com']);
    expect(mail.timestamp).toBe('2026-03-01T10:00:00.000Z');
    expect(mail.tags['ses:configuration-set']).toEqual(['app-tracking']);
    expect(emailIdFromTags(mail.tags)).toBe('email-123');
    expect(mail.commonHeaders).toMatchObject({ from: ['Acme <no-reply@example.com>'], to: ['reader@example.com'], subject: 'Welcome' });
    expect(mail.headers).toContainEqual({ name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' });
  });

  it('describes a message with attachments as multipart/mixed, and one without as multipart/alternative', () => {
    const contentType = (input: SendEmailCommandInput) =>
      ((simulateSesEvents(input, context)[0]!.detail.mail as Record<string, any>).headers as { name: string; value: string }[]).find(
        (h) => h.name === 'Content-Type',
      )!.value;
    const plain = send('reader@example.com');
    const attached = send('reader@example.com');
    attached.Content!.Simple!.Attachments = [{ RawContent: Buffer.from('a,b\n'), FileName: 'a.csv', ContentType: 'text/csv' }];
    expect(contentType(plain)).toMatch(/^multipart\/alternative;/);
    expect(contentType(attached)).toMatch(/^multipart\/mixed;/);
  });

  it('reports a hard bounce for bounce@ and an account-suppression bounce for suppressionlist@', () => {
    const hard = simulateSesEvents(send('bounce@simulator.amazonses.com'), context)[1]!.detail.bounce as Record<string, any>;
    const listed = simulateSesEvents(send('suppressionlist@simulator.amazonses.com'), context)[1]!.detail.bounce as Record<string, any>;
    expect([hard.bounceType, hard.bounceSubType]).toEqual(['Permanent', 'General']);
    expect(hard.bouncedRecipients[0].emailAddress).toBe('bounce@simulator.amazonses.com');
    expect([listed.bounceType, listed.bounceSubType]).toEqual(['Permanent', 'OnAccountSuppressionList']);
  });

  it('reports an abuse complaint for complaint@', () => {
    const complaint = simulateSesEvents(send('complaint@simulator.amazonses.com'), context)[2]!.detail.complaint as Record<string, any>;
    expect(complaint.complaintFeedbackType).toBe('abuse');
    expect(complaint.complainedRecipients).toEqual([{ emailAddress: 'complaint@simulator.amazonses.com' }]);
  });
});

describe('EventBridge envelope of SES events', () => {
  it.each([
    ['Send', 'Email Sent'],
    ['Delivery', 'Email Delivered'],
    ['Bounce', 'Email Bounced'],
    ['Complaint', 'Email Complaint Received'],
    ['Open', 'Email Opened'],
  ] as const)('gives %s the detail-type %s and source aws.ses', (eventType, detailType) => {
    const envelope = sesEnvelope(eventType, { eventType }, context, context.sentAt);
    expect(envelope).toMatchObject({ source: 'aws.ses', 'detail-type': detailType, account: '000000000000', region: 'us-east-1' });
    expect(envelope.time).toBe('2026-03-01T10:00:00Z');
  });
});

describe('simulatingSesRoute', () => {
  const request = (path: string) => ({ method: 'POST', path, headers: {} }) as unknown as HttpRequest;
  const options = (published: { event: EventEnvelope; delayMs: number }[]) => ({
    configurationSet: 'app-tracking',
    account: '000000000000',
    region: 'us-east-1',
    publish: (event: EventEnvelope, delayMs: number) => published.push({ event, delayMs }),
  });

  it('publishes the events after a SendEmail the stand-in accepted, with the MessageId it returned', async () => {
    const published: { event: EventEnvelope; delayMs: number }[] = [];
    const route = simulatingSesRoute(() => ({ statusCode: 200, body: JSON.stringify({ MessageId: 'ses-message-1' }) }), options(published));

    const answer = await route(request('/v2/email/outbound-emails'), JSON.stringify(send('success@simulator.amazonses.com')));

    expect(answer).toEqual({ statusCode: 200, body: JSON.stringify({ MessageId: 'ses-message-1' }) });
    expect(published.map((p) => p.event['detail-type'])).toEqual(['Email Sent', 'Email Delivered', 'Email Opened']);
    expect((published[0]!.event.detail.mail as { messageId: string }).messageId).toBe('ses-message-1');
  });

  it('publishes nothing for a SendEmail the stand-in refused', async () => {
    const published: { event: EventEnvelope; delayMs: number }[] = [];
    const route = simulatingSesRoute(() => ({ statusCode: 400, body: JSON.stringify({ message: 'Bad Request Exception' }) }), options(published));

    const answer = await route(request('/v2/email/outbound-emails'), JSON.stringify(send('success@simulator.amazonses.com')));

    expect(answer?.statusCode).toBe(400);
    expect(published).toEqual([]);
  });

  it('leaves calls the stand-in does not answer in-process to HTTP', () => {
    const published: { event: EventEnvelope; delayMs: number }[] = [];
    const route = simulatingSesRoute(() => undefined, options(published));

    expect(route(request('/v2/email/account'), '')).toBeUndefined();
  });
});
