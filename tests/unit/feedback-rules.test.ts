import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseSesEvent, type FeedbackEvent } from '../../functions/core/feedback-event.js';
import {
  addSoftBounce,
  applyDecision,
  decideFeedback,
  MAX_CLICKED_LINKS,
  MAX_LINK_CHARS,
  RECENT_EVENT_KEYS,
  resetSoftBounces,
  retryEmailIdFor,
  writesNothing,
  type FeedbackCounter,
  type FeedbackRecordState,
} from '../../functions/core/feedback-rules.js';
import { statusRank } from '../../functions/core/status-priority.js';
import type { EmailStatus, RecordStatus } from '../../functions/core/types.js';
import { adjust, sesFixture, type FixtureType, type SesEventJson } from '../support/ses-events.js';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const TO = 'person@example.org';
const ALL_STATUSES: RecordStatus[] = ['sending', 'scheduled', 'sent', 'failed', 'soft_bounced', 'complained', 'bounced', 'delivered', 'opened'];

function event(type: FixtureType, change?: (e: SesEventJson) => void): FeedbackEvent {
  const json = adjust(sesFixture(type), { to: TO });
  change?.(json);
  return parseSesEvent(json);
}

function bounce(bounceType: string, bounceSubType: string, feedbackId = 'fb-1'): FeedbackEvent {
  return event('Bounce', (e) => {
    e.bounce.bounceType = bounceType;
    e.bounce.bounceSubType = bounceSubType;
    e.bounce.feedbackId = feedbackId;
  });
}

function record(overrides: Partial<FeedbackRecordState> = {}): FeedbackRecordState {
  return {
    emailId: 'email-1',
    status: 'sent',
    retryAttempt: 0,
    toEmail: TO,
    sesMessageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
    sentAt: '2024-05-01T11:59:00.000Z',
    request: { to: TO, templateName: 'welcome' },
    ...overrides,
  };
}

/** The status each event aims for (before priority decides whether it applies). */
const TARGET: Record<string, EmailStatus | undefined> = {
  Send: 'sent',
  Delivery: 'delivered',
  Open: 'opened',
  Click: 'opened',
  Complaint: 'complained',
  Reject: 'failed',
  'Rendering Failure': 'failed',
  DeliveryDelay: undefined,
  Subscription: undefined,
};

describe('status transitions, every event type from every status', () => {
  const types = Object.keys(TARGET);
  const cases = types.flatMap((type) => ALL_STATUSES.map((status) => [type, status] as const));
  it.each(cases)('%s on a record in %s', (type, status) => {
    const target = TARGET[type];
    const decision = decideFeedback(event(type as FixtureType), record({ status }), NOW);
    const expected = target && statusRank(target) > statusRank(status) ? target : undefined;
    expect(decision.statusChange?.to).toBe(expected);
    if (expected) expect(decision.statusChange?.from).toBe(status);
  });

  type BounceCase = [bounceType: string, subType: string, attempt: number, target: EmailStatus];
  const bounces: BounceCase[] = [
    ['Permanent', 'General', 0, 'bounced'],
    ['Permanent', 'NoEmail', 0, 'bounced'],
    ['Permanent', 'Suppressed', 0, 'bounced'],
    ['Permanent', 'OnAccountSuppressionList', 0, 'bounced'],
    ['Undetermined', 'Undetermined', 0, 'bounced'],
    ['Permanent', 'General', 1, 'bounced'],
    ...['General', 'MailboxFull', 'MessageTooLarge', 'ContentRejected', 'AttachmentRejected'].flatMap((sub): BounceCase[] => [
      ['Transient', sub, 0, 'soft_bounced'],
      ['Transient', sub, 1, 'failed'],
    ]),
  ];
  const bounceCases = bounces.flatMap((b) => ALL_STATUSES.map((status): [...BounceCase, RecordStatus] => [...b, status]));
  it.each(bounceCases)('Bounce %s/%s on attempt %d aims for %s (record in %s)', (type, sub, attempt, target, status) => {
    const decision = decideFeedback(bounce(type, sub), record({ status, retryAttempt: attempt }), NOW);
    const expected = statusRank(target) > statusRank(status) ? target : undefined;
    expect(decision.statusChange?.to).toBe(expected);
  });
});

describe('delivery', () => {
  it('records the delivery time once and counts it once', () => {
    const first = decideFeedback(event('Delivery'), record(), NOW);
    expect(first.set.deliveredAt).toBe('2016-10-19T23:21:04.133Z');
    expect(first.counters).toEqual({ delivered: 1 });
    expect(first.notify).toEqual({ status: 'delivered', statusChanged: true, timestamp: '2016-10-19T23:21:04.133Z' });
    const again = decideFeedback(event('Delivery'), applyDecision(record(), first), NOW);
    expect(writesNothing(again)).toBe(true);
    expect(again.counters).toEqual({});
    expect(again.notify).toBeUndefined();
  });

  it('after an open keeps opened but records and counts the delivery', () => {
    const decision = decideFeedback(event('Delivery'), record({ status: 'opened', openedAt: 'x' }), NOW);
    expect(decision.statusChange).toBeUndefined();
    expect(decision.set.deliveredAt).toBeDefined();
    expect(decision.counters).toEqual({ delivered: 1 });
    expect(decision.notify).toBeUndefined();
  });

  it('after a bounce raises the record to delivered (delivered outranks bounced)', () => {
    const decision = decideFeedback(event('Delivery'), record({ status: 'bounced' }), NOW);
    expect(decision.statusChange).toEqual({ from: 'bounced', to: 'delivered' });
  });

  it("resets the recipient's soft-bounce streak, with or without a record", () => {
    for (const r of [record(), undefined]) {
      expect(decideFeedback(event('Delivery'), r, NOW).softBounceStreak).toEqual({
        action: 'reset',
        emails: [TO],
        at: '2016-10-19T23:21:04.133Z',
      });
    }
  });
});

describe('opens', () => {
  it('count every open, set openedAt on the first, and raise to opened', () => {
    const first = decideFeedback(event('Open'), record({ status: 'delivered' }), NOW);
    expect(first.set.openCount).toBe(1);
    expect(first.set.openedAt).toBe('2017-08-09T22:00:19.652Z');
    expect(first.counters).toEqual({ opened: 1 });
    expect(first.statusChange).toEqual({ from: 'delivered', to: 'opened' });
    const second = decideFeedback(
      event('Open', (e) => (e.open.timestamp = '2017-08-10T08:00:00.000Z')),
      applyDecision(record({ status: 'delivered' }), first),
      NOW,
    );
    expect(second.set.openCount).toBe(2);
    expect(second.set.openedAt).toBeUndefined();
    expect(second.counters).toEqual({});
    expect(second.statusChange).toBeUndefined();
  });

  it('drop a redelivered open', () => {
    const first = decideFeedback(event('Open'), record(), NOW);
    const again = decideFeedback(event('Open'), applyDecision(record(), first), NOW);
    expect(again.duplicate).toBe(true);
    expect(writesNothing(again)).toBe(true);
    expect(again.counters).toEqual({});
  });

  it(`remember only the last ${RECENT_EVENT_KEYS} open and click identities`, () => {
    const recentEvents = Array.from({ length: RECENT_EVENT_KEYS }, (_, i) => `k${i}`);
    const decision = decideFeedback(event('Open'), record({ recentEvents, openCount: 50 }), NOW);
    expect(decision.set.recentEvents).toHaveLength(RECENT_EVENT_KEYS);
    expect(decision.set.recentEvents?.[0]).toBe('k1');
    expect(decision.set.openCount).toBe(51);
  });
});

describe('clicks', () => {
  const click = (link: string, ts = '2017-08-09T23:51:25.570Z') =>
    event('Click', (e) => {
      e.click.link = link;
      e.click.timestamp = ts;
    });

  it('record the link, count the click, count an open when there was none, and raise to opened', () => {
    const decision = decideFeedback(click('https://example.org/a'), record({ status: 'delivered' }), NOW);
    expect(decision.set.clickCount).toBe(1);
    expect(decision.set.clickedLinks).toEqual(['https://example.org/a']);
    expect(decision.set.openedAt).toBe('2017-08-09T23:51:25.570Z');
    expect(decision.set.openCount).toBeUndefined();
    expect(decision.counters).toEqual({ clicked: 1, opened: 1 });
    expect(decision.statusChange?.to).toBe('opened');
  });

  it('keep each link once, and count later clicks without counting the day again', () => {
    const base = record({ status: 'opened', openedAt: 't', clickCount: 1, clickedLinks: ['https://example.org/a'] });
    const decision = decideFeedback(click('https://example.org/a', '2017-08-10T00:00:00.000Z'), base, NOW);
    expect(decision.set.clickCount).toBe(2);
    expect(decision.set.clickedLinks).toBeUndefined();
    expect(decision.counters).toEqual({});
  });

  it(`keep at most ${MAX_CLICKED_LINKS} links, each cut to ${MAX_LINK_CHARS} characters`, () => {
    const links = Array.from({ length: MAX_CLICKED_LINKS }, (_, i) => `https://example.org/${i}`);
    const full = decideFeedback(click('https://example.org/new'), record({ clickedLinks: links, clickCount: 50 }), NOW);
    expect(full.set.clickedLinks).toBeUndefined();
    expect(full.set.clickCount).toBe(51);
    const long = decideFeedback(click(`https://example.org/${'x'.repeat(5000)}`), record(), NOW);
    expect(long.set.clickedLinks?.[0]).toHaveLength(MAX_LINK_CHARS);
  });

  it('drop a redelivered click', () => {
    const first = decideFeedback(click('https://example.org/a'), record(), NOW);
    const again = decideFeedback(click('https://example.org/a'), applyDecision(record(), first), NOW);
    expect(again.duplicate).toBe(true);
    expect(writesNothing(again)).toBe(true);
  });
});

describe('hard bounces', () => {
  it('mark the record bounced, keep the reason, count the bounce and suppress the address', () => {
    const decision = decideFeedback(event('Bounce'), record(), NOW);
    expect(decision.statusChange).toEqual({ from: 'sent', to: 'bounced' });
    expect(decision.set).toMatchObject({
      bounceType: 'Permanent',
      bounceSubType: 'General',
      bounceReason: 'smtp; 550 5.1.1 user unknown',
      bouncedAt: '2017-08-05T00:41:02.669Z',
    });
    expect(decision.counters).toEqual({ bounced: 1 });
    expect(decision.suppress).toEqual({
      emails: [TO],
      reason: 'hard-bounce',
      suppressionType: 'bounce',
      details: 'Permanent/General: smtp; 550 5.1.1 user unknown',
    });
    expect(decision.notify?.status).toBe('bounced');
    expect(decision.retry).toBeUndefined();
    expect(decision.softBounceStreak).toBeUndefined();
  });

  it('on the SES account suppression list suppress but do not count toward the bounce rate', () => {
    const decision = decideFeedback(bounce('Permanent', 'OnAccountSuppressionList'), record(), NOW);
    expect(decision.statusChange?.to).toBe('bounced');
    expect(decision.suppress?.reason).toBe('hard-bounce');
    expect(decision.counters).toEqual({});
  });

  it('of type Undetermined are hard', () => {
    const decision = decideFeedback(bounce('Undetermined', 'Undetermined'), record(), NOW);
    expect(decision.statusChange?.to).toBe('bounced');
    expect(decision.counters).toEqual({ bounced: 1 });
    expect(decision.suppress?.reason).toBe('hard-bounce');
  });

  it('use the sub-type as the reason when there is no diagnostic code', () => {
    const decision = decideFeedback(
      event('Bounce', (e) => delete e.bounce.bouncedRecipients[0].diagnosticCode),
      record(),
      NOW,
    );
    expect(decision.set.bounceReason).toBe('General');
  });

  it('after a delivery keep delivered but record, count, suppress and announce the bounce', () => {
    const decision = decideFeedback(event('Bounce'), record({ status: 'delivered', deliveredAt: 't' }), NOW);
    expect(decision.statusChange).toBeUndefined();
    expect(decision.set.bounceType).toBe('Permanent');
    expect(decision.counters).toEqual({ bounced: 1 });
    expect(decision.suppress).toBeDefined();
    expect(decision.notify).toEqual({ status: 'bounced', statusChanged: false, timestamp: '2017-08-05T00:41:02.669Z' });
  });

  it('redelivered change nothing on the record but suppress again (idempotently)', () => {
    const first = decideFeedback(event('Bounce'), record(), NOW);
    const again = decideFeedback(event('Bounce'), applyDecision(record(), first), NOW);
    expect(writesNothing(again)).toBe(true);
    expect(again.counters).toEqual({});
    expect(again.notify).toBeUndefined();
    expect(again.suppress?.emails).toEqual([TO]);
  });

  it('without a record still suppress the bounced address', () => {
    const decision = decideFeedback(event('Bounce'), undefined, NOW);
    expect(decision.suppress?.emails).toEqual([TO]);
    expect(decision.counters).toEqual({});
    expect(decision.statusChange).toBeUndefined();
    expect(decision.notify).toBeUndefined();
  });
});

describe('soft bounces', () => {
  it('on a first attempt mark soft_bounced, count, start the streak and schedule one retry', () => {
    const decision = decideFeedback(bounce('Transient', 'MailboxFull'), record(), NOW);
    expect(decision.statusChange?.to).toBe('soft_bounced');
    expect(decision.set).toMatchObject({ bounceType: 'Transient', bounceSubType: 'MailboxFull' });
    expect(decision.counters).toEqual({ softBounced: 1 });
    expect(decision.suppress).toBeUndefined();
    expect(decision.softBounceStreak).toEqual({ action: 'add', emails: [TO], at: '2017-08-05T00:41:02.669Z' });
    expect(decision.retry).toEqual({ retryEmailId: retryEmailIdFor('email-1') });
    expect(decision.set.retryEmailId).toBe(retryEmailIdFor('email-1'));
    expect(decision.notify?.status).toBe('soft_bounced');
  });

  it('on the retry mark failed FBK003 and never suppress or retry again', () => {
    const decision = decideFeedback(bounce('Transient', 'General'), record({ retryAttempt: 1, request: undefined }), NOW);
    expect(decision.statusChange?.to).toBe('failed');
    expect(decision.set.errorCode).toBe('FBK003');
    expect(decision.set.errorMessage).toContain('retry exhausted');
    expect(decision.suppress).toBeUndefined();
    expect(decision.retry).toBeUndefined();
    expect(decision.notify?.status).toBe('failed');
  });

  it('redelivered before the retry was queued name the same retry, and after it was queued none', () => {
    const first = decideFeedback(bounce('Transient', 'General'), record(), NOW);
    const bounced = applyDecision(record(), first);
    const again = decideFeedback(bounce('Transient', 'General'), bounced, NOW);
    expect(again.retry).toEqual(first.retry);
    expect(again.set.retryEmailId).toBeUndefined();
    expect(again.counters).toEqual({});
    const queued = decideFeedback(bounce('Transient', 'General'), { ...bounced, retryEnqueuedAt: 't' }, NOW);
    expect(queued.retry).toBeUndefined();
  });

  it('do not retry a record that was delivered, or one without its stored request', () => {
    expect(decideFeedback(bounce('Transient', 'General'), record({ status: 'delivered' }), NOW).retry).toBeUndefined();
    expect(decideFeedback(bounce('Transient', 'General'), record({ request: undefined }), NOW).retry).toBeUndefined();
  });

  it('do not overwrite the fields of a hard bounce already recorded', () => {
    const decision = decideFeedback(
      bounce('Transient', 'General'),
      record({ status: 'bounced', bounceType: 'Permanent', bounceSubType: 'General', bouncedAt: 't' }),
      NOW,
    );
    expect(decision.set.bounceType).toBeUndefined();
  });

  it('without a record still count toward the streak', () => {
    expect(decideFeedback(bounce('Transient', 'General'), undefined, NOW).softBounceStreak?.action).toBe('add');
  });
});

describe('complaints', () => {
  it('mark complained, record the feedback type, count and suppress', () => {
    const decision = decideFeedback(event('Complaint'), record(), NOW);
    expect(decision.statusChange?.to).toBe('complained');
    expect(decision.set).toMatchObject({ complaintFeedbackType: 'abuse', complainedAt: '2017-08-05T00:41:02.669Z' });
    expect(decision.counters).toEqual({ complained: 1 });
    expect(decision.suppress).toMatchObject({ emails: [TO], reason: 'spam-complaint', suppressionType: 'complaint' });
    expect(decision.notify).toMatchObject({ status: 'complained', statusChanged: true });
  });

  it.each(['delivered', 'opened'] as const)('after %s keep the status but set the fields, count, suppress and announce', (status) => {
    const decision = decideFeedback(event('Complaint'), record({ status }), NOW);
    expect(decision.statusChange).toBeUndefined();
    expect(decision.set.complaintFeedbackType).toBe('abuse');
    expect(decision.set.complainedAt).toBeDefined();
    expect(decision.counters).toEqual({ complained: 1 });
    expect(decision.suppress?.reason).toBe('spam-complaint');
    expect(decision.notify).toMatchObject({ status: 'complained', statusChanged: false });
  });

  it('without a record still suppress', () => {
    expect(decideFeedback(event('Complaint'), undefined, NOW).suppress?.emails).toEqual([TO]);
  });

  it('fall back to the record address when SES lists no complained recipient', () => {
    const decision = decideFeedback(event('Complaint', (e) => (e.complaint.complainedRecipients = [])), record(), NOW);
    expect(decision.suppress?.emails).toEqual([TO]);
  });
});

describe('rejections, rendering failures, delays and subscriptions', () => {
  it('a rejection fails the record with FBK001 and counts once', () => {
    const decision = decideFeedback(event('Reject'), record(), NOW);
    expect(decision.statusChange?.to).toBe('failed');
    expect(decision.set.errorCode).toBe('FBK001');
    expect(decision.set.errorMessage).toBe('SES rejected the message: Bad content');
    expect(decision.counters).toEqual({ rejected: 1 });
    const again = decideFeedback(event('Reject'), applyDecision(record(), decision), NOW);
    expect(again.counters).toEqual({});
    expect(writesNothing(again)).toBe(true);
  });

  it('a rendering failure fails the record with FBK002 and the reason', () => {
    const decision = decideFeedback(event('Rendering Failure'), record(), NOW);
    expect(decision.set.errorCode).toBe('FBK002');
    expect(decision.set.errorMessage).toContain("Attribute 'attributeName' is not present");
    expect(decision.set.errorMessage).toContain('MyTemplate');
  });

  it('a delivery delay is recorded without a status change, newest first', () => {
    const decision = decideFeedback(event('DeliveryDelay'), record(), NOW);
    expect(decision.statusChange).toBeUndefined();
    expect(decision.set).toMatchObject({ lastDelayAt: '2020-06-16T00:25:40.095Z', delayType: 'TransientCommunicationFailure' });
    const older = decideFeedback(event('DeliveryDelay'), record({ lastDelayAt: '2030-01-01T00:00:00.000Z' }), NOW);
    expect(older.set.lastDelayAt).toBeUndefined();
  });

  it('a subscription event that unsubscribes from everything suppresses the recipient', () => {
    const decision = decideFeedback(event('Subscription'), record(), NOW);
    expect(decision.suppress).toMatchObject({ emails: [TO], reason: 'unsubscribed', suppressionType: 'unsubscribe' });
    expect(decision.set.unsubscribedAt).toBe('2022-01-12T01:00:17.910Z');
    expect(decision.statusChange).toBeUndefined();
  });

  it('a subscription event that only changes topics suppresses nothing', () => {
    const decision = decideFeedback(
      event('Subscription', (e) => (e.subscription.newTopicPreferences.unsubscribeAll = false)),
      record(),
      NOW,
    );
    expect(decision.suppress).toBeUndefined();
  });

  it('a Send event moves a claim still marked sending to sent, and fills a missing message id', () => {
    const decision = decideFeedback(event('Send'), record({ status: 'sending', sesMessageId: undefined, sentAt: undefined }), NOW);
    expect(decision.statusChange).toEqual({ from: 'sending', to: 'sent' });
    expect(decision.set.sesMessageId).toBe('EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000');
    expect(decision.set.sentAt).toBe('2016-10-14T05:02:16.645Z');
    expect(decision.notify).toBeUndefined();
  });

  it('events without their own time use the clock', () => {
    const json = adjust(sesFixture('Reject'), { to: TO });
    delete json.mail.timestamp;
    expect(decideFeedback(parseSesEvent(json), record(), NOW).set.rejectedAt).toBe(NOW.toISOString());
  });
});

describe('retryEmailIdFor', () => {
  it('is a deterministic email-<uuid> per original and attempt', () => {
    const id = retryEmailIdFor('order-123');
    expect(id).toMatch(/^email-[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(retryEmailIdFor('order-123')).toBe(id);
    expect(retryEmailIdFor('order-124')).not.toBe(id);
    expect(retryEmailIdFor('order-123', 2)).not.toBe(id);
  });
});

// -------------------------------------------------------------------------------------
// Order independence

const PALETTE: Record<string, () => FeedbackEvent> = {
  send: () => event('Send'),
  delivery: () => event('Delivery'),
  open1: () => event('Open'),
  open2: () => event('Open', (e) => (e.open.timestamp = '2017-08-10T09:00:00.000Z')),
  click: () => event('Click'),
  hard: () => bounce('Permanent', 'General', 'fb-hard'),
  onList: () => bounce('Permanent', 'OnAccountSuppressionList', 'fb-list'),
  soft: () => bounce('Transient', 'MailboxFull', 'fb-soft'),
  complaint: () => event('Complaint'),
  reject: () => event('Reject'),
  render: () => event('Rendering Failure'),
  delay: () => event('DeliveryDelay'),
  subscription: () => event('Subscription'),
};
const NAMES = Object.keys(PALETTE);
const EVENTS = Object.fromEntries(NAMES.map((n) => [n, PALETTE[n]!()]));

function run(names: string[], start: FeedbackRecordState) {
  let state = start;
  const counters: Partial<Record<FeedbackCounter, number>> = {};
  let retries = new Set<string>();
  for (const name of names) {
    const decision = decideFeedback(EVENTS[name]!, state, NOW);
    for (const [k, v] of Object.entries(decision.counters)) {
      counters[k as FeedbackCounter] = (counters[k as FeedbackCounter] ?? 0) + v;
    }
    if (decision.statusChange) expect(statusRank(decision.statusChange.to)).toBeGreaterThan(statusRank(state.status));
    if (decision.retry) retries = new Set([...retries, decision.retry.retryEmailId]);
    state = applyDecision(state, decision);
  }
  return { status: state.status, counters, openCount: state.openCount ?? 0, clickCount: state.clickCount ?? 0, retries: retries.size };
}

function expectedStatus(names: string[], start: FeedbackRecordState): RecordStatus {
  let best: RecordStatus = start.status;
  for (const name of names) {
    const e = EVENTS[name]!;
    let target: RecordStatus | undefined = TARGET[e.eventType];
    if (e.eventType === 'Bounce') {
      target = e.bounce.bounceType === 'Transient' ? ((start.retryAttempt ?? 0) >= 1 ? 'failed' : 'soft_bounced') : 'bounced';
    }
    if (target && statusRank(target) > statusRank(best)) best = target;
  }
  return best;
}

function* sequences(length: number, prefix: string[] = []): Generator<string[]> {
  if (prefix.length === length) {
    yield prefix;
    return;
  }
  for (const n of NAMES) yield* sequences(length, [...prefix, n]);
}

describe('order independence of the rules', () => {
  it('every sequence of up to three events, from sent on both attempts, ends in the priority maximum', () => {
    let checked = 0;
    for (const attempt of [0, 1]) {
      const start = record({ retryAttempt: attempt, request: attempt === 0 ? { to: TO } : undefined });
      for (let len = 1; len <= 3; len++) {
        for (const seq of sequences(len)) {
          expect(run(seq, start).status).toBe(expectedStatus(seq, start));
          checked++;
        }
      }
    }
    expect(checked).toBe(2 * (13 + 13 ** 2 + 13 ** 3));
  });

  it('any permutation of any multiset of events gives the same status, counters and counts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 10 }),
        fc.constantFrom<RecordStatus>('sending', 'sent'),
        fc.constantFrom(0, 1),
        fc.func(fc.integer()),
        (names, status, attempt, shuffleKey) => {
          const start = record({ status, retryAttempt: attempt, request: attempt === 0 ? { to: TO } : undefined });
          const shuffled = names.map((n, i) => ({ n, k: shuffleKey(i) })).sort((a, b) => a.k - b.k).map((x) => x.n);
          const { retries: retriesA, ...a } = run(names, start);
          const { retries: retriesB, ...b } = run(shuffled, start);
          expect(b).toEqual(a);
          // Whether a retry goes out can depend on order (a soft bounce before or after a
          // complaint), but never more than one does.
          expect(Math.max(retriesA, retriesB)).toBeLessThanOrEqual(1);
          expect(a.status).toBe(expectedStatus(names, start));
          // Each distinct open is counted once, whatever the duplicates.
          expect(a.openCount).toBe(new Set(names.filter((n) => n.startsWith('open'))).size);
          expect(a.clickCount).toBe(names.includes('click') ? 1 : 0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

// -------------------------------------------------------------------------------------
// Consecutive soft bounces

describe('soft-bounce streaks', () => {
  const rules = { threshold: 3, windowDays: 30 };
  const at = (day: number) => new Date(Date.UTC(2024, 0, day)).toISOString();

  it('suppress at the threshold within the window', () => {
    let streak = addSoftBounce(undefined, { at: at(1), key: 'a' }, rules);
    expect(streak.suppress).toBe(false);
    streak = addSoftBounce(streak.streak, { at: at(5), key: 'b' }, rules);
    expect(streak.suppress).toBe(false);
    streak = addSoftBounce(streak.streak, { at: at(20), key: 'c' }, rules);
    expect(streak.suppress).toBe(true);
    expect(streak.streak.bounces).toHaveLength(3);
  });

  it('do not count a redelivered bounce twice', () => {
    let streak = addSoftBounce(undefined, { at: at(1), key: 'a' }, rules);
    streak = addSoftBounce(streak.streak, { at: at(1), key: 'a' }, rules);
    expect(streak.duplicate).toBe(true);
    streak = addSoftBounce(streak.streak, { at: at(2), key: 'a' }, rules);
    expect(streak.streak.bounces).toHaveLength(1);
  });

  it('forget bounces older than the window before the newest', () => {
    let streak = addSoftBounce(undefined, { at: at(1), key: 'a' }, rules);
    streak = addSoftBounce(streak.streak, { at: at(2), key: 'b' }, rules);
    streak = addSoftBounce(streak.streak, { at: at(40), key: 'c' }, rules);
    expect(streak.suppress).toBe(false);
    expect(streak.streak.bounces.map((b) => b.key)).toEqual(['c']);
  });

  it('accept bounces out of order', () => {
    let streak = addSoftBounce(undefined, { at: at(20), key: 'c' }, rules);
    streak = addSoftBounce(streak.streak, { at: at(1), key: 'a' }, rules);
    streak = addSoftBounce(streak.streak, { at: at(5), key: 'b' }, rules);
    expect(streak.streak.bounces.map((b) => b.key)).toEqual(['a', 'b', 'c']);
    expect(streak.suppress).toBe(true);
  });

  it('are cut by a delivery: only bounces after it remain', () => {
    let streak = addSoftBounce(undefined, { at: at(1), key: 'a' }, rules);
    streak = addSoftBounce(streak.streak, { at: at(3), key: 'b' }, rules);
    const reset = resetSoftBounces(streak.streak, at(2));
    expect(reset.bounces.map((b) => b.key)).toEqual(['b']);
    const next = addSoftBounce(reset, { at: at(4), key: 'c' }, rules);
    expect(next.suppress).toBe(false);
  });

  it('never suppress with threshold 0', () => {
    const streak = addSoftBounce(undefined, { at: at(1), key: 'a' }, { threshold: 0, windowDays: 30 });
    expect(streak.suppress).toBe(false);
  });
});
