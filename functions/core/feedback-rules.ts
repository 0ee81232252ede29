import { createHash } from 'node:crypto';
import { canTransition, statusRank } from './status-priority.js';
import type { EmailStatus, RecordStatus, SuppressionReason, SuppressionType } from './types.js';
import type { FeedbackEvent } from './feedback-event.js';

/**
 * What one SES event does to one tracking record, decided from the record as read.
 *
 * The decision is a plain value; lib/tracking-updates.ts writes it with conditions that
 * make it valid only against the state it was computed from, so a race re-reads and
 * decides again. Facts are recorded once (first delivery, first open, first complaint…),
 * which makes every event idempotent: a redelivered event finds its fact already there.
 * Opens and clicks are the exception (each real one counts), so they carry the event's
 * identity in `recentEvents` and a redelivery is recognised there.
 */

export const MAX_CLICKED_LINKS = 50;
export const MAX_LINK_CHARS = 2048;
/** How many recent open/click identities a record keeps to recognise redeliveries. */
export const RECENT_EVENT_KEYS = 50;
const MAX_REASON_CHARS = 1024;

export type FeedbackCounter = 'delivered' | 'opened' | 'clicked' | 'bounced' | 'softBounced' | 'complained' | 'rejected';

/** The parts of a tracking record the rules read. */
export interface FeedbackRecordState {
  emailId: string;
  status: RecordStatus;
  retryAttempt?: number;
  toEmail?: string;
  sesMessageId?: string;
  sentAt?: string;
  deliveredAt?: string;
  openedAt?: string;
  openCount?: number;
  clickCount?: number;
  clickedLinks?: string[];
  bounceType?: string;
  bounceSubType?: string;
  bounceReason?: string;
  /** Time of the first hard bounce recorded on this record. */
  bouncedAt?: string;
  /** Time of the first hard bounce that counted toward the bounce rate (not OnAccountSuppressionList). */
  bounceCountedAt?: string;
  /** Time of the first soft bounce recorded on this record. */
  softBouncedAt?: string;
  complaintFeedbackType?: string;
  complainedAt?: string;
  rejectedAt?: string;
  lastDelayAt?: string;
  delayType?: string;
  unsubscribedAt?: string;
  errorCode?: string;
  errorMessage?: string;
  /** Identities of the last RECENT_EVENT_KEYS opens and clicks applied. */
  recentEvents?: string[];
  /** emailId of the soft-bounce retry, once chosen. */
  retryEmailId?: string;
  /** Set once the retry message is on the send queue. */
  retryEnqueuedAt?: string;
  /** The validated request, kept on first attempts so a soft bounce can be re-sent. */
  request?: unknown;
}

export type FeedbackFields = Partial<Omit<FeedbackRecordState, 'emailId' | 'status' | 'request' | 'retryAttempt'>>;

export interface SuppressAction {
  emails: string[];
  reason: SuppressionReason;
  suppressionType: SuppressionType;
  details: string;
}

export interface FeedbackDecision {
  /** A redelivery of an open or click already applied: nothing to do. */
  duplicate: boolean;
  statusChange?: { from: RecordStatus; to: EmailStatus };
  /** Attributes to write (besides status/statusRank). */
  set: FeedbackFields;
  /** Daily counter increments this event earns (only the first time its fact is recorded). */
  counters: Partial<Record<FeedbackCounter, number>>;
  /** Addresses to put on the suppression list (idempotent; applied even for redeliveries). */
  suppress?: SuppressAction;
  /** Soft-bounce streak bookkeeping for these addresses. */
  softBounceStreak?: { action: 'add' | 'reset'; emails: string[]; at: string };
  /** Put the record's soft-bounce retry on the send queue under this emailId. */
  retry?: { retryEmailId: string };
  /** Publish an "Email Status Changed" event with this outcome. */
  notify?: { status: EmailStatus; statusChanged: boolean; timestamp: string };
}

/** The record as it is once `decision` is written. */
export function applyDecision<T extends FeedbackRecordState>(record: T, decision: FeedbackDecision): T {
  return {
    ...record,
    ...decision.set,
    ...(decision.statusChange ? { status: decision.statusChange.to } : {}),
  };
}

/** True when the decision changes nothing on the record. */
export function writesNothing(decision: FeedbackDecision): boolean {
  return decision.statusChange === undefined && Object.keys(decision.set).length === 0;
}

/**
 * The retry's emailId, derived from the bounced record so every redelivery of the
 * bounce names the same retry (and the sender's claim on that id sends it at most once).
 */
export function retryEmailIdFor(emailId: string, attempt = 1): string {
  const h = createHash('sha256').update(`sesmailengine:retry:${attempt}:${emailId}`).digest('hex');
  // RFC 9562 UUID version 8 (custom, here: hash-derived), variant 10xx.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `email-${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function isHardBounce(bounceType: string): boolean {
  return bounceType === 'Permanent' || bounceType === 'Undetermined';
}

/** Only hard bounces count toward the bounce rate, and SES does not count OnAccountSuppressionList. */
export function countsTowardBounceRate(bounceType: string, bounceSubType: string): boolean {
  return isHardBounce(bounceType) && bounceSubType !== 'OnAccountSuppressionList';
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

function fallbackAddresses(event: FeedbackEvent, record: FeedbackRecordState | undefined, own: string[]): string[] {
  if (own.length > 0) return own;
  const to = record?.toEmail?.trim().toLowerCase();
  return to ? [to] : event.mail.destination;
}

type EventOf<T extends FeedbackEvent['eventType']> = Extract<FeedbackEvent, { eventType: T }>;

/** A decision being made: the record as read, the event's time, and the moves every rule makes. */
class DecisionDraft {
  readonly decision: FeedbackDecision = { duplicate: false, set: {}, counters: {} };
  readonly set: FeedbackFields = this.decision.set;

  constructor(
    readonly record: FeedbackRecordState | undefined,
    readonly at: string,
  ) {}

  /** Moves the record to `to` when the status priority allows it; false when it does not (or there is no record). */
  raise(to: EmailStatus): boolean {
    if (!this.record || !canTransition(this.record.status, to)) return false;
    this.decision.statusChange = { from: this.record.status, to };
    return true;
  }

  count(name: FeedbackCounter): void {
    this.decision.counters[name] = 1;
  }

  notify(status: EmailStatus, statusChanged: boolean): void {
    this.decision.notify = { status, statusChanged, timestamp: this.at };
  }
}

/** Decides what `event` does to `record` (undefined when no record was found). */
export function decideFeedback(
  event: FeedbackEvent,
  record: FeedbackRecordState | undefined,
  now: Date,
): FeedbackDecision {
  const d = new DecisionDraft(record, event.timestamp ?? now.toISOString());
  if (record && record.sesMessageId === undefined) d.set.sesMessageId = event.mail.messageId;

  switch (event.eventType) {
    case 'Send':
      decideSend(d, event);
      break;
    case 'Delivery':
      decideDelivery(d, event);
      break;
    case 'Open':
    case 'Click':
      decideEngagement(d, event);
      break;
    case 'Bounce':
      if (isHardBounce(event.bounce.bounceType)) decideHardBounce(d, event);
      else decideSoftBounce(d, event);
      break;
    case 'Complaint':
      decideComplaint(d, event);
      break;
    case 'Reject':
      decideReject(d, event);
      break;
    case 'Rendering Failure':
      decideRenderingFailure(d, event);
      break;
    case 'DeliveryDelay':
      decideDeliveryDelay(d, event);
      break;
    case 'Subscription':
      decideSubscription(d, event);
      break;
  }
  return d.decision;
}

function decideSend(d: DecisionDraft, event: EventOf<'Send'>): void {
  // SES accepted the message: a claim still marked `sending` is now `sent`.
  if (d.record && d.record.sentAt === undefined) d.set.sentAt = event.mail.timestamp ?? d.at;
  d.raise('sent');
}

function decideDelivery(d: DecisionDraft, event: EventOf<'Delivery'>): void {
  d.decision.softBounceStreak = {
    action: 'reset',
    emails: fallbackAddresses(event, d.record, event.delivery.recipients),
    at: d.at,
  };
  const record = d.record;
  if (!record) return;
  if (record.deliveredAt === undefined) {
    d.set.deliveredAt = d.at;
    d.count('delivered');
  }
  if (d.raise('delivered')) d.notify('delivered', true);
}

function decideEngagement(d: DecisionDraft, event: EventOf<'Open' | 'Click'>): void {
  const { record, set } = d;
  if (!record) return;
  const recent = record.recentEvents ?? [];
  if (recent.includes(event.eventKey)) {
    d.decision.duplicate = true;
    return;
  }
  set.recentEvents = [...recent, event.eventKey].slice(-RECENT_EVENT_KEYS);
  if (record.openedAt === undefined) {
    set.openedAt = d.at;
    d.count('opened');
  }
  if (event.eventType === 'Open') {
    set.openCount = (record.openCount ?? 0) + 1;
  } else {
    const clicks = record.clickCount ?? 0;
    if (clicks === 0) d.count('clicked');
    set.clickCount = clicks + 1;
    const link = clip(event.click.link, MAX_LINK_CHARS);
    const links = record.clickedLinks ?? [];
    if (!links.includes(link) && links.length < MAX_CLICKED_LINKS) set.clickedLinks = [...links, link];
  }
  if (d.raise('opened')) d.notify('opened', true);
}

/** The addresses, the reason (the first diagnostic code, else the subtype) and the fields a bounce writes. */
function bounceFacts(d: DecisionDraft, event: EventOf<'Bounce'>): { emails: string[]; reason: string; writeFields: () => void } {
  const { bounceType, bounceSubType, recipients } = event.bounce;
  const emails = fallbackAddresses(event, d.record, recipients.map((r) => r.email));
  const diagnostic = recipients.find((r) => r.diagnosticCode)?.diagnosticCode;
  const reason = clip(diagnostic ?? bounceSubType, MAX_REASON_CHARS);
  const writeFields = () => {
    d.set.bounceType = bounceType;
    d.set.bounceSubType = bounceSubType;
    d.set.bounceReason = reason;
  };
  return { emails, reason, writeFields };
}

function decideHardBounce(d: DecisionDraft, event: EventOf<'Bounce'>): void {
  const { bounceType, bounceSubType } = event.bounce;
  const { emails, reason, writeFields } = bounceFacts(d, event);
  d.decision.suppress = {
    emails,
    reason: 'hard-bounce',
    suppressionType: 'bounce',
    details: clip(`${bounceType}/${bounceSubType}: ${reason}`, MAX_REASON_CHARS),
  };
  const record = d.record;
  if (!record) return;
  const first = record.bouncedAt === undefined;
  const changed = d.raise('bounced');
  if (first) d.set.bouncedAt = d.at;
  if (countsTowardBounceRate(bounceType, bounceSubType) && record.bounceCountedAt === undefined) {
    d.set.bounceCountedAt = d.at;
    d.count('bounced');
  }
  if (changed || first) {
    writeFields();
    // A hard bounce after a delivery keeps `delivered` but is still news to subscribers.
    d.notify('bounced', changed);
  }
}

/** Transient: SES has already retried for hours; the engine tries once more itself. */
function decideSoftBounce(d: DecisionDraft, event: EventOf<'Bounce'>): void {
  const { bounceType, bounceSubType } = event.bounce;
  const { emails, reason, writeFields } = bounceFacts(d, event);
  d.decision.softBounceStreak = { action: 'add', emails, at: d.at };
  const { record, set } = d;
  if (!record) return;
  const attempt = record.retryAttempt ?? 0;
  if (record.softBouncedAt === undefined) {
    set.softBouncedAt = d.at;
    d.count('softBounced');
  }
  const target: EmailStatus = attempt >= 1 ? 'failed' : 'soft_bounced';
  const changed = d.raise(target);
  if (changed || record.bounceType === undefined) writeFields();
  if (changed && target === 'failed') {
    set.errorCode = 'FBK003';
    set.errorMessage = clip(
      `The retry bounced softly again (${bounceType}/${bounceSubType}: ${reason}); retry exhausted. The recipient is not suppressed.`,
      MAX_REASON_CHARS,
    );
  }
  if (changed) d.notify(target, true);
  const retryable =
    attempt === 0 &&
    statusRank(record.status) <= statusRank('soft_bounced') &&
    record.retryEnqueuedAt === undefined &&
    record.request !== undefined &&
    record.request !== null;
  if (retryable) {
    const retryEmailId = record.retryEmailId ?? retryEmailIdFor(record.emailId);
    if (record.retryEmailId === undefined) set.retryEmailId = retryEmailId;
    d.decision.retry = { retryEmailId };
  }
}

function decideComplaint(d: DecisionDraft, event: EventOf<'Complaint'>): void {
  d.decision.suppress = {
    emails: fallbackAddresses(event, d.record, event.complaint.recipients),
    reason: 'spam-complaint',
    suppressionType: 'complaint',
    details: `Complaint${event.complaint.feedbackType ? ` (${event.complaint.feedbackType})` : ''}`,
  };
  const record = d.record;
  if (!record) return;
  const first = record.complainedAt === undefined;
  const changed = d.raise('complained');
  if (first) {
    // Recorded even when the record stays higher (a complaint usually follows a delivery).
    d.set.complainedAt = d.at;
    if (event.complaint.feedbackType) d.set.complaintFeedbackType = event.complaint.feedbackType;
    d.count('complained');
  }
  if (changed || first) d.notify('complained', changed);
}

function decideReject(d: DecisionDraft, event: EventOf<'Reject'>): void {
  const record = d.record;
  if (!record) return;
  if (record.rejectedAt === undefined) {
    d.set.rejectedAt = d.at;
    d.count('rejected');
  }
  if (d.raise('failed')) {
    d.set.errorCode = 'FBK001';
    d.set.errorMessage = clip(`SES rejected the message: ${event.reject.reason}`, MAX_REASON_CHARS);
    d.notify('failed', true);
  }
}

function decideRenderingFailure(d: DecisionDraft, event: EventOf<'Rendering Failure'>): void {
  if (!d.record) return;
  if (d.raise('failed')) {
    const template = event.failure.templateName ? ` (template ${event.failure.templateName})` : '';
    d.set.errorCode = 'FBK002';
    d.set.errorMessage = clip(`SES could not render the message${template}: ${event.failure.errorMessage}`, MAX_REASON_CHARS);
    d.notify('failed', true);
  }
}

function decideDeliveryDelay(d: DecisionDraft, event: EventOf<'DeliveryDelay'>): void {
  const record = d.record;
  if (!record) return;
  if (record.lastDelayAt === undefined || record.lastDelayAt < d.at) {
    d.set.lastDelayAt = d.at;
    d.set.delayType = event.deliveryDelay.delayType;
  }
}

function decideSubscription(d: DecisionDraft, event: EventOf<'Subscription'>): void {
  if (!event.subscription.unsubscribeAll) return;
  d.decision.suppress = {
    emails: fallbackAddresses(event, d.record, []),
    reason: 'unsubscribed',
    suppressionType: 'unsubscribe',
    details: `SES subscription event${event.subscription.source ? ` (${event.subscription.source})` : ''}`,
  };
  if (d.record && d.record.unsubscribedAt === undefined) d.set.unsubscribedAt = d.at;
}

// ---------------------------------------------------------------------------------------
// Consecutive soft bounces per address

export interface SoftBounceEntry {
  /** When the bounce happened (ISO-8601). */
  at: string;
  /** The bounce event's identity, so a redelivered bounce is not counted twice. */
  key: string;
}

export interface SoftBounceStreak {
  bounces: SoftBounceEntry[];
}

export interface SoftBounceRules {
  /** Soft bounces within the window that suppress the address; 0 turns the rule off. */
  threshold: number;
  windowDays: number;
}

/** Entries kept per address, whatever the threshold. */
const MAX_STREAK_ENTRIES = 50;

function byTime(a: SoftBounceEntry, b: SoftBounceEntry): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Adds a soft bounce to an address's streak. The streak keeps the bounces since the last
 * delivery that lie within `windowDays` of the newest one; reaching `threshold` suppresses.
 */
export function addSoftBounce(
  streak: SoftBounceStreak | undefined,
  bounce: SoftBounceEntry,
  rules: SoftBounceRules,
): { streak: SoftBounceStreak; duplicate: boolean; suppress: boolean } {
  const existing = streak?.bounces ?? [];
  const duplicate = existing.some((b) => b.key === bounce.key);
  const all = (duplicate ? [...existing] : [...existing, bounce]).sort(byTime);
  const newest = all[all.length - 1]!;
  const windowStart = new Date(Date.parse(newest.at) - rules.windowDays * 86_400_000).toISOString();
  const bounces = all.filter((b) => b.at >= windowStart).slice(-MAX_STREAK_ENTRIES);
  const suppress = rules.threshold > 0 && bounces.length >= rules.threshold;
  return { streak: { bounces }, duplicate, suppress };
}

/** A delivery ends the streak: bounces before it are no longer consecutive. */
export function resetSoftBounces(streak: SoftBounceStreak, deliveredAt: string): SoftBounceStreak {
  return { bounces: streak.bounces.filter((b) => b.at > deliveredAt) };
}
