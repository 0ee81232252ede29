import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  parseFeedbackBody,
  parseSesEvent,
  SES_EVENT_TYPES,
  type FeedbackEvent,
} from '../../functions/core/feedback-event.js';
import { emailIdFromTags } from '../../functions/core/message-tags.js';
import { adjust, emailIdTagMap, eventBridgeEnvelope, readFixture, sesFixture, SES_FIXTURES, type FixtureType } from '../support/ses-events.js';

const MESSAGE_ID = 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000';

function parsed(body: unknown): FeedbackEvent {
  const result = parseFeedbackBody(typeof body === 'string' ? body : JSON.stringify(body));
  if (!result.ok) throw new Error(`expected a parsed event, got ${result.error.message}`);
  return result.event;
}

function rejected(body: unknown): string {
  const result = parseFeedbackBody(typeof body === 'string' ? body : JSON.stringify(body));
  if (result.ok) throw new Error('expected a parse failure');
  expect(result.error.code).toBe('FBK004');
  expect(result.error.name).toBe('FeedbackEventError');
  return result.error.message;
}

describe('parseFeedbackBody with the real SES events in an EventBridge envelope', () => {
  it.each(Object.keys(SES_FIXTURES) as FixtureType[])('reads the %s event', (type) => {
    const event = parsed(eventBridgeEnvelope(sesFixture(type)));
    expect(event.eventType).toBe(type);
    expect(event.mail.messageId.length).toBeGreaterThan(10);
    expect(event.eventKey).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(event.envelopeId).toBeDefined();
  });

  it('covers every event type the engine handles', () => {
    expect(Object.keys(SES_FIXTURES).sort()).toEqual([...SES_EVENT_TYPES].sort());
  });

  it('reads a permanent bounce with its recipient, diagnostic code and time', () => {
    const event = parsed(eventBridgeEnvelope(sesFixture('Bounce')));
    if (event.eventType !== 'Bounce') throw new Error('not a bounce');
    expect(event.bounce).toEqual({
      bounceType: 'Permanent',
      bounceSubType: 'General',
      recipients: [
        { email: 'recipient@example.com', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' },
      ],
      feedbackId: '01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000',
    });
    expect(event.timestamp).toBe('2017-08-05T00:41:02.669Z');
    expect(event.mail.messageId).toBe(MESSAGE_ID);
    expect(event.mail.tags['ses:configuration-set']).toEqual(['ConfigSet']);
  });

  it('reads a complaint with its feedback type', () => {
    const event = parsed(eventBridgeEnvelope(sesFixture('Complaint')));
    if (event.eventType !== 'Complaint') throw new Error('not a complaint');
    expect(event.complaint.recipients).toEqual(['recipient@example.com']);
    expect(event.complaint.feedbackType).toBe('abuse');
  });

  it('reads a click with its link and an open with its client', () => {
    const click = parsed(eventBridgeEnvelope(sesFixture('Click')));
    const open = parsed(eventBridgeEnvelope(sesFixture('Open')));
    if (click.eventType !== 'Click' || open.eventType !== 'Open') throw new Error('wrong types');
    expect(click.click.link).toBe('http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html');
    expect(click.timestamp).toBe('2017-08-09T23:51:25.570Z');
    expect(open.open.ipAddress).toBe('192.0.2.1');
    expect(open.timestamp).toBe('2017-08-09T22:00:19.652Z');
  });

  it('reads a rendering failure, a rejection, a delay and a subscription change', () => {
    const failure = parsed(eventBridgeEnvelope(sesFixture('Rendering Failure')));
    const reject = parsed(eventBridgeEnvelope(sesFixture('Reject')));
    const delay = parsed(eventBridgeEnvelope(sesFixture('DeliveryDelay')));
    const sub = parsed(eventBridgeEnvelope(sesFixture('Subscription')));
    if (failure.eventType !== 'Rendering Failure') throw new Error('wrong type');
    if (reject.eventType !== 'Reject') throw new Error('wrong type');
    if (delay.eventType !== 'DeliveryDelay') throw new Error('wrong type');
    if (sub.eventType !== 'Subscription') throw new Error('wrong type');
    expect(failure.failure).toEqual({
      errorMessage: "Attribute 'attributeName' is not present in the rendering data.",
      templateName: 'MyTemplate',
    });
    // Events without their own time take the mail's.
    expect(failure.timestamp).toBe('2018-01-22T18:43:06.197Z');
    expect(reject.reject.reason).toBe('Bad content');
    expect(delay.deliveryDelay.delayType).toBe('TransientCommunicationFailure');
    expect(delay.deliveryDelay.recipients[0]?.email).toBe('recipient@example.com');
    expect(sub.subscription.unsubscribeAll).toBe(true);
    expect(sub.subscription.topics).toEqual([{ topicName: 'ExampleTopicName', subscriptionStatus: 'OptOut' }]);
  });
});

describe('parseFeedbackBody with other envelopes', () => {
  it('reads the bare SES event', () => {
    expect(parsed(sesFixture('Delivery')).eventType).toBe('Delivery');
  });

  it('reads an SES event carried in an SNS notification', () => {
    const sns = { Type: 'Notification', MessageId: 'x', Message: JSON.stringify(sesFixture('Bounce')) };
    expect(parsed(sns).eventType).toBe('Bounce');
  });

  it('reads identity notifications (notificationType) without tags', () => {
    const bounce = parsed(readFixture('identity-notifications/bounce-with-dsn.json'));
    const complaint = parsed(readFixture('identity-notifications/complaint-without-feedback-report.json'));
    expect(bounce.eventType).toBe('Bounce');
    expect(bounce.mail.tags).toEqual({});
    expect(complaint.eventType).toBe('Complaint');
  });

  it('accepts the SES v2 spelling RenderingFailure', () => {
    const event = { ...sesFixture('Rendering Failure'), eventType: 'RenderingFailure' };
    expect(parsed(eventBridgeEnvelope(event)).eventType).toBe('Rendering Failure');
  });

  it('falls back to the envelope time when the event has no time of its own', () => {
    const send = sesFixture('Send');
    delete send.mail.timestamp;
    expect(parsed(eventBridgeEnvelope(send)).timestamp).toBe('2024-05-01T12:00:00.000Z');
  });
});

describe('event identity', () => {
  it('is the same for a redelivery under another envelope id and key order', () => {
    const detail = sesFixture('Open');
    const reordered = Object.fromEntries(Object.entries(detail).reverse());
    const a = parsed(eventBridgeEnvelope(detail, 'one'));
    const b = parsed(eventBridgeEnvelope(reordered, 'two'));
    expect(a.eventKey).toBe(b.eventKey);
  });

  it('differs for two opens at different times and for another message', () => {
    const first = sesFixture('Open');
    const second = sesFixture('Open');
    second.open.timestamp = '2017-08-09T22:05:00.000Z';
    const other = adjust(first, { messageId: 'another-message' });
    const keys = [first, second, other].map((e) => parsed(e).eventKey);
    expect(new Set(keys).size).toBe(3);
  });
});

describe('malformed feedback is a typed FBK004 error', () => {
  it.each([
    ['an empty body', ''],
    ['text that is not JSON', 'hello'],
    ['a JSON array', '[1,2]'],
    ['JSON null', 'null'],
    ['a number', '42'],
  ])('rejects %s', (_name, body) => {
    rejected(body);
  });

  it('rejects an EventBridge event from another source', () => {
    const msg = rejected({ ...eventBridgeEnvelope(sesFixture('Delivery')), source: 'my.app' });
    expect(msg).toContain('not "aws.ses"');
  });

  it('rejects an envelope whose detail is not an object', () => {
    rejected({ ...eventBridgeEnvelope(sesFixture('Delivery')), detail: 'x' });
  });

  it('rejects an unknown event type', () => {
    expect(rejected({ ...sesFixture('Delivery'), eventType: 'Teleport' })).toContain('Teleport');
  });

  it('rejects an event without mail or without mail.messageId', () => {
    const noMail = sesFixture('Delivery');
    delete noMail.mail;
    rejected(noMail);
    const noId = sesFixture('Delivery');
    delete noId.mail.messageId;
    rejected(noId);
  });

  it('rejects a bounce without its bounce object or with an unknown bounce type', () => {
    const missing = sesFixture('Bounce');
    delete missing.bounce;
    rejected(missing);
    const strange = sesFixture('Bounce');
    strange.bounce.bounceType = 'Sideways';
    rejected(strange);
  });

  it('rejects a click without a link, and a field of the wrong type', () => {
    const noLink = sesFixture('Click');
    delete noLink.click.link;
    rejected(noLink);
    const wrong = sesFixture('Delivery');
    wrong.delivery.timestamp = 12;
    rejected(wrong);
  });

  it('rejects an unreadable date', () => {
    const event = sesFixture('Open');
    event.open.timestamp = 'yesterday-ish';
    rejected(event);
  });

  it('rejects an oversized body', () => {
    rejected(`"${'x'.repeat(1024 * 1024 + 1)}"`);
  });

  it('rejects a body nested deeper than any SES event, with its own reason', () => {
    const deepSource = `{"detail-type":"Email Delivered","source":${'{"a":'.repeat(8000)}1${'}'.repeat(8000)},"detail":{}}`;
    const deepEvent = JSON.stringify(eventBridgeEnvelope(sesFixture('Delivery'))).replace('"delivery":{', `"delivery":{"x":${'['.repeat(5000)}${']'.repeat(5000)},`);
    expect(rejected(deepSource)).toMatch(/nested more than 64 levels/);
    expect(rejected(deepEvent)).toMatch(/nested more than 64 levels/);
  });

  it('drops implausible recipient addresses instead of failing the event', () => {
    const event = sesFixture('Bounce');
    event.bounce.bouncedRecipients.push({ emailAddress: 'not an address' }, { emailAddress: 42 });
    const result = parsed(event);
    if (result.eventType !== 'Bounce') throw new Error('wrong type');
    expect(result.bounce.recipients.map((r) => r.email)).toEqual(['recipient@example.com']);
  });

  it('never throws, whatever the body', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (body) => {
        const result = parseFeedbackBody(body);
        // Every failure comes from the parser's own checks, not from a stray exception.
        if (!result.ok) expect(result.error.message).not.toMatch(/^Unreadable event/);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects an eventType that is an object whose toString is not a function, without throwing', () => {
    const event = sesFixture('Send');
    event.eventType = { toString: 0 };
    expect(rejected(JSON.stringify(eventBridgeEnvelope(event)))).toMatch(/eventType/);
  });

  it('never throws on any mutation of a real event', () => {
    const types = Object.keys(SES_FIXTURES) as FixtureType[];
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.constantFrom('mail', 'eventType', 'bounce', 'complaint', 'click', 'open', 'delivery', 'deliveryDelay', 'subscription', 'failure', 'reject'),
        fc.jsonValue(),
        (type, key, value) => {
          const event = sesFixture(type);
          event[key] = value;
          const result = parseFeedbackBody(JSON.stringify(eventBridgeEnvelope(event)));
          if (!result.ok) expect(result.error.message).not.toMatch(/^Unreadable event/);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('parseSesEvent', () => {
  it('keeps tags with their array values and ignores non-string values', () => {
    const event = adjust(sesFixture('Delivery'), { tags: { emailId: 'abc' } });
    event.mail.tags.weird = [1, 'ok'];
    const result = parseSesEvent(event);
    expect(result.mail.tags.emailId).toEqual(['abc']);
    expect(result.mail.tags.weird).toEqual(['ok']);
  });
});

describe('the emailId tags of an event', () => {
  const longId = '€'.repeat(128);

  it('are read when the engine wrote them, the longest ids in parts included', () => {
    const event = parsed(eventBridgeEnvelope(adjust(sesFixture('Delivery'), { tags: emailIdTagMap(longId) })));
    expect(emailIdFromTags(event.mail.tags)).toBe(longId);
  });

  it('make the message FBK004 when a part is missing, naming the problem', () => {
    const tags = emailIdTagMap(longId);
    delete tags['emailId-b64-2-of-3'];
    const message = rejected(eventBridgeEnvelope(adjust(sesFixture('Delivery'), { tags })));
    expect(message).toMatch(/^mail\.tags: tags emailId-b64-\*-of-3 are incomplete/);
  });

  it('make the message FBK004 when the emailId-b64 text is not base64url of UTF-8', () => {
    const message = rejected(eventBridgeEnvelope(adjust(sesFixture('Bounce'), { tags: { 'emailId-b64': '_w' } })));
    expect(message).toMatch(/not UTF-8/);
  });
});
