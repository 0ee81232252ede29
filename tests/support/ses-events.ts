import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { emailIdTags } from '../../functions/core/message-tags.js';

/**
 * The real SES events of tests/fixtures/aws/event-publishing-sns/ (copied unchanged from
 * the SES developer guide), and helpers that adjust only their ids, tags and addresses
 * and wrap them the way they reach the feedback queue.
 */

/** tests/fixtures/aws, found from here whether this module runs from tests/ or compiled (dist-bench/). */
function fixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'tests', 'fixtures', 'aws');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('tests/fixtures/aws not found above this module.');
    dir = parent;
  }
}

const FIXTURES = fixturesDir();

export const SES_FIXTURES = {
  Send: 'send.json',
  Delivery: 'delivery.json',
  Bounce: 'bounce-permanent-general.json',
  Complaint: 'complaint.json',
  Reject: 'reject.json',
  Open: 'open.json',
  Click: 'click.json',
  'Rendering Failure': 'rendering-failure.json',
  DeliveryDelay: 'delivery-delay.json',
  Subscription: 'subscription.json',
} as const;
export type FixtureType = keyof typeof SES_FIXTURES;

/** EventBridge detail-types SES uses for each event type. */
export const DETAIL_TYPES: Record<FixtureType, string> = {
  Send: 'Email Sent',
  Delivery: 'Email Delivered',
  Bounce: 'Email Bounced',
  Complaint: 'Email Complaint Received',
  Reject: 'Email Rejected',
  Open: 'Email Opened',
  Click: 'Email Clicked',
  'Rendering Failure': 'Email Rendering Failed',
  DeliveryDelay: 'Email Delivery Delayed',
  Subscription: 'Email Subscribed',
};

export type SesEventJson = Record<string, any>;

export function readFixture(relativePath: string): string {
  return readFileSync(join(FIXTURES, relativePath), 'utf8');
}

/** A fresh copy of the real SES event of this type. */
export function sesFixture(type: FixtureType): SesEventJson {
  return JSON.parse(readFixture(join('event-publishing-sns', SES_FIXTURES[type]))) as SesEventJson;
}

/** The engine's emailId tags for `emailId`, as `adjust`'s `tags` takes them. */
export function emailIdTagMap(emailId: string): Record<string, string> {
  return Object.fromEntries(emailIdTags(emailId).map((tag) => [tag.Name, tag.Value]));
}

export interface MailAdjustments {
  messageId?: string;
  /** Replaces every recipient address in the event. */
  to?: string;
  /** Added to mail.tags (values are wrapped in arrays as SES does). */
  tags?: Record<string, string>;
  /** Removes every tag. */
  noTags?: boolean;
}

/** Adjusts ids, tags and addresses only; everything else stays as AWS published it. */
export function adjust(event: SesEventJson, changes: MailAdjustments): SesEventJson {
  const copy = JSON.parse(JSON.stringify(event)) as SesEventJson;
  const mail = copy.mail as SesEventJson;
  if (changes.messageId) {
    mail.messageId = changes.messageId;
    if (mail.commonHeaders) mail.commonHeaders.messageId = changes.messageId;
  }
  if (changes.to) {
    const to = changes.to;
    mail.destination = [to];
    if (mail.commonHeaders) mail.commonHeaders.to = [to];
    copy.bounce?.bouncedRecipients?.forEach((r: SesEventJson) => (r.emailAddress = to));
    copy.complaint?.complainedRecipients?.forEach((r: SesEventJson) => (r.emailAddress = to));
    copy.deliveryDelay?.delayedRecipients?.forEach((r: SesEventJson) => (r.emailAddress = to));
    if (copy.delivery?.recipients) copy.delivery.recipients = [to];
  }
  if (changes.noTags) delete mail.tags;
  if (changes.tags) {
    mail.tags = { ...(mail.tags ?? {}) };
    for (const [k, v] of Object.entries(changes.tags)) mail.tags[k] = [v];
  }
  return copy;
}

let envelopeSeq = 0;

/** The EventBridge event SES publishes on the default bus, with `detail` = the SES event. */
export function eventBridgeEnvelope(detail: SesEventJson, id?: string): SesEventJson {
  // Any eventType a fuzz test puts in (an object with a broken toString too) gets a detail-type.
  const type = (typeof detail.eventType === 'string' ? detail.eventType : 'Send') as FixtureType;
  envelopeSeq += 1;
  return {
    version: '0',
    id: id ?? `00000000-0000-4000-8000-${String(envelopeSeq).padStart(12, '0')}`,
    'detail-type': Object.hasOwn(DETAIL_TYPES, type) ? DETAIL_TYPES[type] : 'Email Sent',
    source: 'aws.ses',
    account: '123456789012',
    time: '2024-05-01T12:00:00Z',
    region: 'us-east-1',
    resources: ['arn:aws:ses:us-east-1:123456789012:configuration-set/ConfigSet'],
    detail,
  };
}

let recordSeq = 0;

export function sqsRecord(body: string, messageId?: string): SQSRecord {
  recordSeq += 1;
  return {
    messageId: messageId ?? `msg-${recordSeq}`,
    receiptHandle: `rh-${recordSeq}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1714564800000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1714564800000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:test-feedback',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(bodies: (string | SesEventJson)[]): SQSEvent {
  return { Records: bodies.map((b) => sqsRecord(typeof b === 'string' ? b : JSON.stringify(b))) };
}
