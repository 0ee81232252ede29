/**
 * The SES mailbox simulator, locally. After the SES stand-in accepts a SendEmail, SES would
 * publish events through the configuration set; this module builds the same events (the
 * shape of the AWS examples in the SES developer guide) and hands them to local mode,
 * which puts them on the feedback queue in the EventBridge envelope (source "aws.ses").
 *
 * Every send → Send. Then by recipient (plus-labels allowed, `success+a@…`):
 *   success@simulator.amazonses.com         → Delivery, then Open
 *   bounce@simulator.amazonses.com          → Bounce Permanent/General
 *   complaint@simulator.amazonses.com       → Delivery, then Complaint (abuse)
 *   ooto@simulator.amazonses.com            → Delivery (the auto-reply SES also sends is skipped)
 *   suppressionlist@simulator.amazonses.com → Bounce Permanent/OnAccountSuppressionList
 * Any other address gets only Send, as on AWS before feedback arrives.
 */
import { randomUUID } from 'node:crypto';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import type { InProcessRoute } from './in-process-handler.js';
import { eventTime, type EventEnvelope } from './put-events.js';

export const SIMULATOR_DOMAIN = 'simulator.amazonses.com';

export type SimulatorMailbox = 'success' | 'bounce' | 'complaint' | 'ooto' | 'suppressionlist';
const MAILBOXES = new Set<string>(['success', 'bounce', 'complaint', 'ooto', 'suppressionlist']);

/** SES's event types and the detail-type EventBridge gives each. */
export const SES_DETAIL_TYPES = {
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
} as const;
export type SesEventType = keyof typeof SES_DETAIL_TYPES;

/** Which simulator mailbox an address is, or undefined for an ordinary address. */
export function simulatorMailbox(address: string): SimulatorMailbox | undefined {
  const plain = bareAddress(address).toLowerCase();
  const at = plain.lastIndexOf('@');
  if (at < 0 || plain.slice(at + 1) !== SIMULATOR_DOMAIN) return undefined;
  const local = plain.slice(0, at).split('+')[0]!;
  return MAILBOXES.has(local) ? (local as SimulatorMailbox) : undefined;
}

/** `"Name" <a@b>` → `a@b`; a bare address is returned as it is. */
export function bareAddress(address: string): string {
  const match = /<([^<>]+)>\s*$/.exec(address);
  return (match ? match[1]! : address).trim();
}

export interface SimulatedEvent {
  eventType: SesEventType;
  /** How long after the send SES would publish it; keeps the natural order locally. */
  delayMs: number;
  detail: Record<string, unknown>;
}

export interface SimulatorContext {
  messageId: string;
  configurationSet: string;
  account: string;
  region: string;
  sentAt: Date;
  /** Spacing of the follow-up events (Delivery, then Open/Complaint). */
  stepMs?: number;
}

function tagMap(input: SendEmailCommandInput, configurationSet: string, fromDomain: string): Record<string, string[]> {
  const tags: Record<string, string[]> = {
    'ses:operation': ['SendEmail'],
    'ses:configuration-set': [input.ConfigurationSetName ?? configurationSet],
    'ses:source-ip': ['127.0.0.1'],
    'ses:from-domain': [fromDomain],
    'ses:caller-identity': ['sesmailengine-local'],
  };
  for (const tag of input.EmailTags ?? []) {
    if (tag.Name && tag.Value !== undefined) tags[tag.Name] = [tag.Value];
  }
  return tags;
}

/** The `mail` object SES puts in every event for a message. */
export function mailObject(input: SendEmailCommandInput, context: SimulatorContext): Record<string, unknown> {
  const from = input.FromEmailAddress ?? '';
  const fromAddress = bareAddress(from);
  const fromDomain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1);
  const to = input.Destination?.ToAddresses ?? [];
  const cc = input.Destination?.CcAddresses ?? [];
  const bcc = input.Destination?.BccAddresses ?? [];
  const subject = input.Content?.Simple?.Subject?.Data ?? '';
  const simple = input.Content?.Simple;
  const multipart = Boolean(simple?.Body?.Html?.Data && simple?.Body?.Text?.Data);
  const headers: { name: string; value: string }[] = [{ name: 'From', value: from }];
  if (input.ReplyToAddresses?.length) headers.push({ name: 'Reply-To', value: input.ReplyToAddresses.join(', ') });
  headers.push({ name: 'To', value: to.join(', ') });
  if (cc.length) headers.push({ name: 'Cc', value: cc.join(', ') });
  headers.push({ name: 'Subject', value: subject }, { name: 'MIME-Version', value: '1.0' });
  // With attachments SES wraps the bodies in multipart/mixed, as the mail's first header shows.
  const attached = (simple?.Attachments?.length ?? 0) > 0;
  const boundary = `boundary="----=_Part_${context.messageId.slice(0, 12)}"`;
  headers.push({
    name: 'Content-Type',
    value: attached ? `multipart/mixed; ${boundary}` : multipart ? `multipart/alternative; ${boundary}` : 'text/html; charset=UTF-8',
  });
  for (const header of simple?.Headers ?? []) {
    if (header.Name && header.Value !== undefined) headers.push({ name: header.Name, value: header.Value });
  }
  const commonHeaders: Record<string, unknown> = { from: [from] };
  if (input.ReplyToAddresses?.length) commonHeaders.replyTo = [...input.ReplyToAddresses];
  commonHeaders.to = [...to];
  if (cc.length) commonHeaders.cc = [...cc];
  commonHeaders.messageId = context.messageId;
  commonHeaders.subject = subject;
  return {
    timestamp: context.sentAt.toISOString(),
    source: from,
    sourceArn: `arn:aws:ses:${context.region}:${context.account}:identity/${fromDomain || fromAddress}`,
    sendingAccountId: context.account,
    messageId: context.messageId,
    destination: [...to, ...cc, ...bcc],
    headersTruncated: false,
    headers,
    commonHeaders,
    tags: tagMap(input, context.configurationSet, fromDomain),
  };
}

function at(context: SimulatorContext, steps: number): { delayMs: number; timestamp: string } {
  const delayMs = steps * (context.stepMs ?? 150);
  return { delayMs, timestamp: new Date(context.sentAt.getTime() + delayMs + 1).toISOString() };
}

function feedbackId(context: SimulatorContext): string {
  return `${context.messageId}-${randomUUID()}-000000`;
}

function bounce(context: SimulatorContext, recipient: string, subType: 'General' | 'OnAccountSuppressionList'): Record<string, unknown> {
  const general = subType === 'General';
  return {
    bounceType: 'Permanent',
    bounceSubType: subType,
    bouncedRecipients: [
      {
        emailAddress: recipient,
        action: 'failed',
        status: '5.1.1',
        diagnosticCode: general
          ? 'smtp; 550 5.1.1 user unknown'
          : 'Amazon SES did not send the message to this address because it is on the suppression list for your account.',
      },
    ],
    timestamp: at(context, 1).timestamp,
    feedbackId: feedbackId(context),
    reportingMTA: general ? 'dsn; a1-23.smtp-out.amazonses.com' : 'dsn; amazonses.com',
  };
}

function delivery(context: SimulatorContext, recipient: string): Record<string, unknown> {
  return {
    timestamp: at(context, 1).timestamp,
    processingTimeMillis: at(context, 1).delayMs + 1,
    recipients: [recipient],
    smtpResponse: '250 2.6.0 Message received',
    reportingMTA: 'a1-23.smtp-out.amazonses.com',
  };
}

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

/** The events SES publishes for one accepted SendEmail, in the order it publishes them. */
export function simulateSesEvents(input: SendEmailCommandInput, context: SimulatorContext): SimulatedEvent[] {
  const mail = mailObject(input, context);
  const withOutgoingIp = { ...mail, tags: { ...(mail.tags as Record<string, string[]>), 'ses:outgoing-ip': ['127.0.0.1'] } };
  const events: SimulatedEvent[] = [{ eventType: 'Send', delayMs: 0, detail: { eventType: 'Send', mail, send: {} } }];
  const recipients = mail.destination as string[];
  for (const recipient of recipients) {
    const mailbox = simulatorMailbox(recipient);
    const address = bareAddress(recipient);
    const deliver = (): SimulatedEvent => ({
      eventType: 'Delivery',
      delayMs: at(context, 1).delayMs,
      detail: { eventType: 'Delivery', mail: withOutgoingIp, delivery: delivery(context, address) },
    });
    switch (mailbox) {
      case 'success':
        events.push(deliver(), {
          eventType: 'Open',
          delayMs: at(context, 2).delayMs,
          detail: {
            eventType: 'Open',
            mail,
            open: { ipAddress: '127.0.0.1', timestamp: at(context, 2).timestamp, userAgent: USER_AGENT },
          },
        });
        break;
      case 'ooto':
        events.push(deliver());
        break;
      case 'complaint':
        events.push(deliver(), {
          eventType: 'Complaint',
          delayMs: at(context, 2).delayMs,
          detail: {
            eventType: 'Complaint',
            mail,
            complaint: {
              complainedRecipients: [{ emailAddress: address }],
              timestamp: at(context, 2).timestamp,
              feedbackId: feedbackId(context),
              userAgent: 'Amazon SES Mailbox Simulator',
              complaintFeedbackType: 'abuse',
              arrivalDate: at(context, 2).timestamp,
            },
          },
        });
        break;
      case 'bounce':
      case 'suppressionlist':
        events.push({
          eventType: 'Bounce',
          delayMs: at(context, 1).delayMs,
          detail: {
            eventType: 'Bounce',
            bounce: bounce(context, address, mailbox === 'bounce' ? 'General' : 'OnAccountSuppressionList'),
            mail,
          },
        });
        break;
      default:
        break;
    }
  }
  return events;
}

/** Wraps an SES event the way EventBridge delivers it from SES (source "aws.ses"). */
export function sesEnvelope(
  eventType: SesEventType,
  detail: Record<string, unknown>,
  context: Pick<SimulatorContext, 'account' | 'region' | 'configurationSet'>,
  time: Date,
): EventEnvelope {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': SES_DETAIL_TYPES[eventType],
    source: 'aws.ses',
    account: context.account,
    time: eventTime(time),
    region: context.region,
    resources: [`arn:aws:ses:${context.region}:${context.account}:configuration-set/${context.configurationSet}`],
    detail,
  };
}

export interface SimulatorOptions {
  configurationSet: string;
  account: string;
  region: string;
  now?: () => Date;
  stepMs?: number;
  /** Receives each event with the delay after which SES would publish it. */
  publish(event: EventEnvelope, delayMs: number): void;
}

/**
 * Puts the simulator behind the SES stand-in's in-process route: after each SendEmail the
 * stand-in accepts, the events above are published (SendEmail's JSON body has the same
 * members as the SDK's input). The answer itself is passed on unchanged.
 */
export function simulatingSesRoute(route: InProcessRoute, options: SimulatorOptions): InProcessRoute {
  const now = options.now ?? (() => new Date());
  return (request, body) => {
    const answer = route(request, body);
    if (answer === undefined || request.method !== 'POST' || !request.path.endsWith('/outbound-emails')) return answer;
    return Promise.resolve(answer).then((response) => {
      if (response?.statusCode === 200) {
        const messageId = (JSON.parse(response.body) as { MessageId?: string }).MessageId;
        if (messageId) {
          const sentAt = now();
          const input = JSON.parse(body) as SendEmailCommandInput;
          const simulated = simulateSesEvents(input, {
            messageId,
            configurationSet: options.configurationSet,
            account: options.account,
            region: options.region,
            sentAt,
            stepMs: options.stepMs,
          });
          for (const event of simulated) {
            const time = new Date(sentAt.getTime() + event.delayMs);
            options.publish(sesEnvelope(event.eventType, event.detail, options, time), event.delayMs);
          }
        }
      }
      return response;
    });
  };
}
