import { describe, expect, it } from '@jest/globals';
import { ERROR_CODES } from '../../../functions/core/error-codes.js';
import type { SuppressionEntry } from '../../../functions/core/types.js';
import { diagnose, missingVariablesIn, type DiagnosisFacts } from '../../../src/ops/diagnosis.js';
import { ERROR_FIXES, fixFor } from '../../../src/ops/error-fixes.js';
import type { StoredRecord } from '../../../src/ops/records.js';
import type { DeadLetterInfo } from '../../../src/ops/dead-letters.js';

/** The decision tree of `diagnose`, one branch per test, on plain data. */

const NOW = new Date('2026-03-01T12:00:00Z');

function minutesAgo(n: number): string {
  return new Date(NOW.getTime() - n * 60_000).toISOString();
}

function record(fields: Partial<StoredRecord> = {}): StoredRecord {
  return {
    emailId: 'order-1',
    originalEmailId: 'order-1',
    retryAttempt: 0,
    toEmail: 'jamie@example.com',
    templateName: 'welcome',
    status: 'sent',
    statusRank: 1,
    originalSource: 'my.app',
    timestamp: minutesAgo(5),
    datePartition: '2026-03-01',
    expiresAt: 0,
    ...fields,
  };
}

function facts(fields: Partial<DiagnosisFacts> = {}): DiagnosisFacts {
  return {
    subject: { kind: 'emailId', emailId: 'order-1' },
    targetKind: 'aws',
    now: NOW,
    chain: [],
    recent: [],
    deadLetterDepths: { send: 0, feedback: 0, events: 0 },
    deadLetters: [],
    softBounceRetryDelaySeconds: 900,
    eventBusName: 'sesmailengine-EmailBus',
    ...fields,
  };
}

const suppression = (reason: SuppressionEntry['reason'], type: SuppressionEntry['suppressionType']): SuppressionEntry => ({
  email: 'jamie@example.com',
  reason,
  suppressionType: type,
  createdAt: '2026-02-20T10:00:00.000Z',
});

describe('failed records', () => {
  it('names the missing variables of a TMPL003 failure and suggests a preview with them', () => {
    const v = diagnose(
      facts({ record: record({ status: 'failed', errorCode: 'TMPL003', errorMessage: 'templateData lacks required variable "userName" of template "welcome".' }) }),
    );
    expect(v.level).toBe('problem');
    expect(v.summary).toBe('failed TMPL003: templateData lacks userName');
    expect(v.fix.join('\n')).toContain('(with userName in it): sesmailengine templates preview welcome --data @templateData.json');
    expect(v.fix.join('\n')).toContain('new emailId');
  });

  it('says not to remove a recipient suppressed after a spam complaint', () => {
    const v = diagnose(
      facts({
        record: record({ status: 'failed', errorCode: 'SUP001', errorMessage: 'suppressed' }),
        suppression: suppression('spam-complaint', 'complaint'),
      }),
    );
    expect(v.summary).toBe('failed SUP001: jamie@example.com is suppressed after a spam complaint: do not remove it');
    expect(v.fix[0]).toMatch(/^Do not remove it/);
  });

  it('offers removal with a warning for a hard bounce, with the target flags in the command', () => {
    const v = diagnose(
      facts({
        record: record({ status: 'failed', errorCode: 'SUP001' }),
        suppression: suppression('hard-bounce', 'bounce'),
        flags: ' --local',
      }),
    );
    expect(v.summary).toContain('after a hard bounce');
    expect(v.fix[0]).toContain('sesmailengine suppression remove jamie@example.com --local (SES counts the next bounce');
  });

  it('tells a SUP001 whose address was removed since to resend', () => {
    const v = diagnose(facts({ record: record({ status: 'failed', errorCode: 'SUP001' }) }));
    expect(v.summary).toContain('no longer is');
  });

  it('reports whether the bounce-rate brake is still on for a BRK001 failure', () => {
    const rate = { date: '2026-03-01', sent: 200, bounced: 4, ratePercent: 2, thresholdPercent: 5, minimumSends: 100, maxHardBounces: 10, brakeOn: false };
    const v = diagnose(facts({ record: record({ status: 'failed', errorCode: 'BRK001' }), bounceRate: rate }));
    expect(v.details.join(' ')).toContain('The brake is off today');
    expect(v.fix.at(-1)).toContain('publish it again');
    expect(v.warnings).toEqual([]);
  });

  it('for a BRK001 in local mode, says how the brake ends there and checks the same engine', () => {
    const rate = { date: '2026-03-01', sent: 12, bounced: 12, ratePercent: 100, thresholdPercent: 5, minimumSends: 100, maxHardBounces: 10, brakeOn: true };
    const v = diagnose(facts({ targetKind: 'local', flags: ' --local', record: record({ status: 'failed', errorCode: 'BRK001' }), bounceRate: rate }));
    expect(v.fix[0]).toContain('sesmailengine stats --local.');
    expect(v.fix.at(-1)).toContain('restarting `sesmailengine local`');
    const onAws = diagnose(facts({ record: record({ status: 'failed', errorCode: 'BRK001' }), bounceRate: rate }));
    expect(onAws.fix.join(' ')).not.toContain('sesmailengine local');
  });

  it('points a missing template at templates push', () => {
    const v = diagnose(facts({ record: record({ status: 'failed', errorCode: 'TMPL001', templateName: 'invoice' }) }));
    expect(v.summary).toContain('"invoice"');
    expect(v.fix[0]).toContain('sesmailengine templates push ./invoice');
  });

  it('falls back to the catalogue fix for any other code', () => {
    const v = diagnose(facts({ record: record({ status: 'failed', errorCode: 'SES002', errorMessage: 'Email address is not verified.' }) }));
    expect(v.summary).toBe('failed SES002: Email address is not verified.');
    expect(v.fix[0]).toBe(ERROR_FIXES.SES002);
    expect(v.details).toContain(`SES002: ${ERROR_CODES.SES002}`);
  });
});

describe('records in flight or done', () => {
  it('treats a recent sent record as waiting for feedback', () => {
    const v = diagnose(facts({ record: record({ sentAt: minutesAgo(3) }) }));
    expect(v.level).toBe('pending');
  });

  it('calls a sent record without feedback for an hour stuck, pointing at the event destination and the feedback DLQ', () => {
    const v = diagnose(facts({ record: record({ sentAt: minutesAgo(60) }), deadLetterDepths: { send: 0, feedback: 2, events: 0 } }));
    expect(v.level).toBe('problem');
    expect(v.summary).toMatch(/^stuck at sent for 60 min: feedback is not arriving/);
    expect(v.fix[0]).toContain('event destination');
    expect(v.fix.join('\n')).toContain('sesmailengine dlq list');
    expect(v.details.join(' ')).toContain('feedback DLQ holds 2');
  });

  it('in local mode, an ordinary address staying sent is expected', () => {
    const v = diagnose(facts({ targetKind: 'local', record: record({ sentAt: minutesAgo(90) }) }));
    expect(v.level).toBe('ok');
    expect(v.summary).toContain('local SES server caught it');
  });

  it('a claim older than 15 minutes is an interrupted attempt that was not resolved, and points at the send DLQ', () => {
    const v = diagnose(facts({ record: record({ status: 'sending', statusRank: 0, timestamp: minutesAgo(20) }) }));
    expect(v.summary).toMatch(/^stuck at sending/);
    expect(v.fix.join('\n')).toContain('dlq list');
  });

  it('a resend after an interrupted attempt is pending, counted from the resend', () => {
    const v = diagnose(facts({ record: record({ status: 'sending', statusRank: 0, timestamp: minutesAgo(30), sendAttempts: 2, lastAttemptAt: minutesAgo(1) }) }));
    expect(v.level).toBe('pending');
    expect(v.summary).toMatch(/being resent \(attempt 2/);
  });

  it('delivered is fine, and says where to look on the recipient side', () => {
    const v = diagnose(facts({ record: record({ status: 'delivered', deliveredAt: minutesAgo(1) }) }));
    expect(v.level).toBe('ok');
    expect(v.fix[0]).toContain('spam');
  });

  it('a complaint after delivery is a problem even though the status stays delivered', () => {
    const v = diagnose(facts({ record: record({ status: 'delivered', complaintFeedbackType: 'abuse', complainedAt: minutesAgo(1) }) }));
    expect(v.level).toBe('problem');
    expect(v.summary).toContain('do not remove it');
  });

  it('a hard bounce on the account-level list points at SES\'s own suppression list', () => {
    const v = diagnose(facts({ record: record({ status: 'bounced', bounceType: 'Permanent', bounceSubType: 'OnAccountSuppressionList' }) }));
    expect(v.summary).toContain("SES account's suppression list");
    expect(v.fix[0]).toContain('aws sesv2 get-suppressed-destination --email-address jamie@example.com');
  });

  it('a soft bounce follows its retry and judges the retry', () => {
    const first = record({ status: 'soft_bounced', bounceSubType: 'MailboxFull', sentAt: minutesAgo(40) });
    const retry = record({ emailId: 'email-r1', retryAttempt: 1, status: 'delivered', deliveredAt: minutesAgo(10) });
    const v = diagnose(facts({ record: first, chain: [first, retry] }));
    expect(v.level).toBe('ok');
    expect(v.summary).toMatch(/^first attempt soft-bounced; the retry email-r1: delivered/);
  });

  it('a soft bounce without its retry long after the delay is a problem', () => {
    const first = record({ status: 'soft_bounced', sentAt: minutesAgo(60) });
    const v = diagnose(facts({ record: first, chain: [first], softBounceRetryDelaySeconds: 900 }));
    expect(v.summary).toBe('soft-bounced, and no retry was recorded');
  });

  it('a fresh soft bounce waits for the retry', () => {
    const first = record({ status: 'soft_bounced', sentAt: minutesAgo(2) });
    expect(diagnose(facts({ record: first, chain: [first] })).level).toBe('pending');
  });
});

describe('no tracking record', () => {
  const letter: DeadLetterInfo = {
    queue: 'send',
    messageId: 'm1',
    receiveCount: 10,
    kind: 'email-request',
    emailId: 'order-1',
    why: 'A valid request the Email Sender returned …',
  };

  it('finds the request in the send DLQ: throttled, with the redrive command', () => {
    const v = diagnose(facts({ deadLetters: [letter], deadLetterDepths: { send: 1 } }));
    expect(v.summary).toBe('no tracking record: the request is in the send DLQ (failing, received 10 times)');
    expect(v.fix.at(-1)).toBe('Then move it back: sesmailengine dlq redrive --queue send');
    expect(v.warnings).toEqual([]);
  });

  it('is pending while the send queue still holds messages', () => {
    const v = diagnose(facts({ sendQueue: { visible: 3, inFlight: 1, delayed: 0 } }));
    expect(v.level).toBe('pending');
    expect(v.summary).toContain('4 message(s)');
  });

  it('points at the DLQs when they hold messages it could not match', () => {
    const v = diagnose(facts({ deadLetterDepths: { send: 0, feedback: 0, events: 2 } }));
    expect(v.summary).toContain('hold 2 message(s)');
  });

  it('otherwise says the request never arrived and how to check the publish', () => {
    const v = diagnose(facts());
    expect(v.summary).toBe('no tracking record for order-1');
    expect(v.fix.join('\n')).toContain('email-<EventId>');
    expect(v.fix.join('\n')).toContain('sesmailengine-EmailBus');
  });
});

describe('by address', () => {
  it('leads with the suppression when the address is suppressed', () => {
    const v = diagnose(
      facts({
        subject: { kind: 'address', address: 'jamie@example.com' },
        suppression: suppression('unsubscribed', 'unsubscribe'),
        recent: [record({ status: 'failed', errorCode: 'SUP001' })],
      }),
    );
    expect(v.summary).toBe('jamie@example.com is suppressed because the recipient unsubscribed');
    expect(v.details.at(-1)).toContain('order-1, is failed (SUP001)');
  });

  it('judges the latest email otherwise', () => {
    const v = diagnose(
      facts({ subject: { kind: 'address', address: 'jamie@example.com' }, recent: [record({ status: 'opened', openedAt: minutesAgo(1), openCount: 2 })] }),
    );
    expect(v.summary).toMatch(/^latest email order-1: opened/);
    expect(v.summary).toContain('2 opens');
  });

  it('says no email was tracked to an unknown address', () => {
    const v = diagnose(facts({ subject: { kind: 'address', address: 'nobody@example.com' } }));
    expect(v.summary).toBe('no tracking record for emails to nobody@example.com');
  });
});

describe('warnings', () => {
  it('warns that the brake is on whatever the email', () => {
    const rate = { date: '2026-03-01', sent: 200, bounced: 20, ratePercent: 10, thresholdPercent: 5, minimumSends: 100, maxHardBounces: 10, brakeOn: true, reason: 'rate' as const };
    const v = diagnose(facts({ record: record({ status: 'delivered' }), bounceRate: rate }));
    expect(v.warnings[0]).toContain('brake is ON');
    expect(v.warnings[0]).toContain('10.00% of 200 sends bounced, over 5%');
  });

  it('says when the hard-bounce floor holds the brake below the minimum sample', () => {
    const rate = { date: '2026-03-01', sent: 30, bounced: 10, ratePercent: 33.33, thresholdPercent: 5, minimumSends: 100, maxHardBounces: 10, brakeOn: true, reason: 'floor' as const };
    const v = diagnose(facts({ record: record({ status: 'delivered' }), bounceRate: rate }));
    expect(v.warnings[0]).toContain("10 hard bounces among today's 30 sends, at the limit of 10 that holds below 100 sends");
  });

  it('mentions non-empty DLQs the verdict does not already talk about', () => {
    const v = diagnose(facts({ record: record({ status: 'delivered' }), deadLetterDepths: { send: 0, feedback: 3 } }));
    expect(v.warnings).toEqual(['Dead-letter queues hold messages (feedback 3): sesmailengine dlq list.']);
  });
});

describe('error fixes', () => {
  it('has a fix for every engine error code', () => {
    expect(Object.keys(ERROR_FIXES).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('points an unknown code at the troubleshooting guide', () => {
    expect(fixFor('ZZZ999')).toContain('docs/TROUBLESHOOTING.md');
  });

  it('reads the variable names out of a TMPL003 message', () => {
    expect(missingVariablesIn('templateData lacks required variables "a", "b" of template "x".')).toEqual(['a', 'b']);
    expect(missingVariablesIn('something else')).toEqual([]);
  });
});
