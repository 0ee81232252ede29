import { brakeReasonText, type BrakeDecision, type BrakeReason, type BrakeSettings } from '../../functions/core/bounce-brake.js';
import type { SuppressionEntry, SuppressionReason } from '../../functions/core/types.js';
import { fixFor, meaningOf } from './error-fixes.js';
import type { DeadLetterInfo } from './dead-letters.js';
import type { QueueDepth } from './queues.js';
import type { StoredRecord } from './records.js';
import type { QueueKind } from './target.js';

/**
 * The support guide's decision tree as a pure function: given what `diagnose` read (the
 * record, its retry chain, the recipient's suppression, the day's bounce rate, queue
 * depths, dead letters that mention the email), say what happened and what to do.
 */

export type VerdictLevel = 'ok' | 'pending' | 'problem';

export interface Verdict {
  level: VerdictLevel;
  /** One line: what happened. */
  summary: string;
  /** Why we think so. */
  details: string[];
  /** What to do, in order. */
  fix: string[];
  /** Things worth knowing that are not about this email (the brake, full DLQs). */
  warnings: string[];
  /** The error code the verdict is about, when there is one. */
  code?: string;
}

export interface BounceRateFacts {
  date: string;
  sent: number;
  bounced: number;
  /** Of `bounced`, those of mail sent today (the floor counts these; absent: all). */
  sameDayBounced?: number;
  /** Percent. */
  ratePercent: number;
  thresholdPercent: number;
  minimumSends: number;
  /** BounceBrakeMaxHardBounces (0: no floor). */
  maxHardBounces: number;
  brakeOn: boolean;
  /** Which rule holds the brake, when it is on. */
  reason?: BrakeReason;
}

function brakeOf(rate: BounceRateFacts): BrakeDecision {
  return { over: rate.brakeOn, ...(rate.reason ? { reason: rate.reason } : {}), ratePercent: rate.ratePercent, sent: rate.sent, bounced: rate.bounced, sameDayBounced: rate.sameDayBounced ?? rate.bounced };
}

function settingsOf(rate: BounceRateFacts): BrakeSettings {
  return { thresholdPercent: rate.thresholdPercent, minimumSends: rate.minimumSends, maxHardBounces: rate.maxHardBounces };
}

export interface DiagnosisFacts {
  subject: { kind: 'emailId'; emailId: string } | { kind: 'address'; address: string };
  targetKind: 'aws' | 'local';
  now: Date;
  record?: StoredRecord;
  /** All attempts sharing the record's originalEmailId, oldest first. */
  chain: StoredRecord[];
  /** Address mode: the newest records to the address. */
  recent: StoredRecord[];
  suppression?: SuppressionEntry;
  bounceRate?: BounceRateFacts;
  sendQueue?: QueueDepth;
  deadLetterDepths: Partial<Record<QueueKind, number>>;
  /** Dead-letter messages about this email or address. */
  deadLetters: DeadLetterInfo[];
  softBounceRetryDelaySeconds: number;
  /** The engine's bus (for the "never arrived" advice). */
  eventBusName?: string;
  /** Flags that select the same engine, appended to the commands the verdict suggests (" --local"). */
  flags?: string;
}

/** Minutes after which a `sent` record with no feedback is treated as stuck. */
export const STUCK_SENT_MINUTES = 30;
/**
 * A claim older than this should have been resolved: the Email Sender waits 10 minutes for
 * SES's Send event before it resends an interrupted attempt, and the message comes back at
 * most 3 minutes later.
 */
export const STALE_CLAIM_MINUTES = 15;

const RESEND = 'A failed email is never retried by the engine: once the cause is fixed, publish it again with a new emailId.';

export const SUPPRESSION_ADVICE: Record<SuppressionReason, { why: string; fix: string; removable: 'no' | 'careful' | 'yes' }> = {
  'spam-complaint': {
    why: 'the recipient marked an email as spam',
    fix: 'Do not remove it: mailing someone who complained hurts your SES reputation and may break anti-spam law. Stop mailing the address.',
    removable: 'no',
  },
  'hard-bounce': {
    why: 'an email hard-bounced (the address does not exist or refuses mail)',
    fix: 'Remove the address from your lists. Only if the recipient confirms it works again: sesmailengine suppression remove <address>{flags} (SES counts the next bounce against your account).',
    removable: 'careful',
  },
  'consecutive-soft-bounces': {
    why: 'emails to it soft-bounced several times in a row',
    fix: 'Once the recipient confirms their mailbox works: sesmailengine suppression remove <address>{flags}.',
    removable: 'yes',
  },
  unsubscribed: {
    why: 'the recipient unsubscribed',
    fix: 'Only if the person subscribes again: sesmailengine suppression remove <address>{flags}.',
    removable: 'careful',
  },
  manual: {
    why: 'it was added by hand',
    fix: 'Your own decision: sesmailengine suppression remove <address>{flags} if it should receive mail again.',
    removable: 'yes',
  },
};

const SIMULATOR = /@simulator\.amazonses\.com$/i;

function minutesSince(iso: string | undefined, now: Date): number | undefined {
  if (!iso) return undefined;
  const at = Date.parse(iso);
  return Number.isFinite(at) ? (now.getTime() - at) / 60_000 : undefined;
}

function ago(minutes: number | undefined): string {
  if (minutes === undefined) return 'at an unknown time';
  if (minutes < 1) return 'less than a minute ago';
  if (minutes < 120) return `${Math.round(minutes)} min ago`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h ago`;
  return `${Math.round(minutes / 1440)} days ago`;
}

function withAddress(text: string, address: string): string {
  return text.replaceAll('<address>', address);
}

function verdict(level: VerdictLevel, summary: string, details: string[], fix: string[], code?: string): Verdict {
  return { level, summary, details, fix, warnings: [], ...(code ? { code } : {}) };
}

/** The variable names a TMPL003 message lists ("templateData lacks required variables "a", "b" of …"). */
export function missingVariablesIn(message: string | undefined): string[] {
  const match = /lacks required variables? (.+?) of template/.exec(message ?? '');
  if (!match) return [];
  return [...match[1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
}

function suppressionVerdict(entry: SuppressionEntry, prefix: string): Verdict {
  const advice = SUPPRESSION_ADVICE[entry.reason] ?? SUPPRESSION_ADVICE.manual;
  const since = entry.createdAt ? ` since ${entry.createdAt}` : '';
  const label =
    entry.reason === 'spam-complaint'
      ? 'after a spam complaint: do not remove it'
      : entry.reason === 'hard-bounce'
        ? 'after a hard bounce'
        : entry.reason === 'consecutive-soft-bounces'
          ? 'after repeated soft bounces'
          : entry.reason === 'unsubscribed'
            ? 'because the recipient unsubscribed'
            : 'by hand';
  return verdict(
    'problem',
    `${prefix}${entry.email} is suppressed ${label}`,
    [
      `${entry.email} is on the suppression list${since}: ${advice.why} (reason ${entry.reason}${entry.sourceEmailId ? `, email ${entry.sourceEmailId}` : ''}${entry.details ? `, ${entry.details}` : ''}).`,
      'Every request to a suppressed address fails with SUP001; nothing is sent.',
    ],
    [withAddress(advice.fix, entry.email)],
    'SUP001',
  );
}

function failedVerdict(record: StoredRecord, facts: DiagnosisFacts): Verdict {
  const code = record.errorCode;
  const message = record.errorMessage ?? '';
  const meaning = meaningOf(code);
  const details = [`The record is failed with ${code ?? 'no code'}${message ? `: ${message.replace(/\.$/, '')}` : ''}.`, ...(meaning ? [`${code}: ${meaning}`] : [])];
  switch (code) {
    case 'SUP001': {
      if (facts.suppression) {
        const v = suppressionVerdict(facts.suppression, 'failed SUP001: ');
        return { ...v, details: [...details, ...v.details.slice(0, 1)] };
      }
      return verdict(
        'problem',
        `failed SUP001: ${record.toEmail} was suppressed when this was sent, and no longer is`,
        details,
        [`Publish it again with a new emailId if ${record.toEmail} should receive it.`],
        code,
      );
    }
    case 'BRK001': {
      const rate = facts.bounceRate;
      const now = rate
        ? rate.brakeOn
          ? `The brake is still on today (${rate.date}): ${brakeReasonText(brakeOf(rate), settingsOf(rate))}.`
          : `The brake is off today (${rate.date}: ${rate.ratePercent.toFixed(2)}% of ${rate.sent} sends bounced).`
        : undefined;
      return verdict(
        'problem',
        `failed BRK001: the daily bounce-rate brake was on when this was sent`,
        [...details, ...(now ? [now] : [])],
        [
          fixFor(code).replace(/sesmailengine stats\.$/, 'sesmailengine stats{flags}.'),
          rate && !rate.brakeOn ? 'The brake is off now: publish it again with a new emailId.' : 'Wait for 00:00 UTC, then publish it again with a new emailId.',
          ...(facts.targetKind === 'local' && !(rate && !rate.brakeOn)
            ? ['In local mode the brake has its default limits and no parameter to change them: restarting `sesmailengine local` (without --data-dir, whose counters persist) starts the day\'s counts at zero.']
            : []),
        ],
        code,
      );
    }
    case 'TMPL003': {
      const names = missingVariablesIn(message);
      const list = names.length > 0 ? names.join(', ') : 'required variables';
      return verdict(
        'problem',
        `failed TMPL003: templateData lacks ${list}`,
        details,
        [
          `Send ${list} in templateData (or remove ${names.length > 1 ? 'them' : 'it'} from requiredVariables in templates/${record.templateName}/metadata.json if optional).`,
          `Check the whole templateData before sending (with ${list} in it): sesmailengine templates preview ${record.templateName} --data @templateData.json{flags}`,
          RESEND,
        ],
        code,
      );
    }
    case 'TMPL001':
      return verdict(
        'problem',
        `failed TMPL001: template "${record.templateName}" is not (completely) in the template bucket`,
        details,
        [`Upload it: sesmailengine templates push ./${record.templateName}{flags} (or sesmailengine seed-templates for the starter templates). Names are case-sensitive.`, RESEND],
        code,
      );
    case 'TMPL002':
    case 'TMPL004':
      return verdict(
        'problem',
        `failed ${code}: template "${record.templateName}" ${code === 'TMPL002' ? 'has an invalid metadata.json' : 'did not render'}`,
        details,
        [
          fixFor(code),
          `Pull, check and push it: sesmailengine templates pull ${record.templateName}{flags} && sesmailengine templates validate ./${record.templateName} && sesmailengine templates push ./${record.templateName}{flags}`,
          RESEND,
        ],
        code,
      );
    case 'FBK003':
      return verdict(
        'problem',
        'failed FBK003: the soft-bounce retry bounced softly again (retry exhausted); the address is not suppressed',
        details,
        [fixFor(code)],
        code,
      );
    case 'DUP001':
      return verdict('problem', 'failed DUP001: an attempt was interrupted, SES reported no Send event for it, and InterruptedSendPolicy is fail, so it was not sent again', details, [fixFor(code)], code);
    default:
      return verdict('problem', `failed ${code ?? ''}${message ? `: ${message}` : ''}`.replace('failed :', 'failed:'), details, [fixFor(code), RESEND], code);
  }
}

function complaintAfterDelivery(record: StoredRecord, facts: DiagnosisFacts): Verdict | undefined {
  if (!record.complaintFeedbackType && !record.complainedAt) return undefined;
  const v = verdict(
    'problem',
    `${record.status}, then the recipient complained (spam, ${record.complaintFeedbackType ?? 'no feedback type'}): ${record.toEmail} is suppressed, do not remove it`,
    [
      `It reached the mailbox${record.deliveredAt ? ` at ${record.deliveredAt}` : ''}, and the recipient reported it as spam${record.complainedAt ? ` at ${record.complainedAt}` : ''}.`,
      ...(facts.suppression ? [`Suppressed since ${facts.suppression.createdAt} (reason ${facts.suppression.reason}).`] : []),
    ],
    [SUPPRESSION_ADVICE['spam-complaint'].fix, 'Check consent and the unsubscribe link of this kind of mail.'],
  );
  return v;
}

/** A sender has claimed it: in progress, being resent, or stuck after an interruption. */
function sendingVerdict(record: StoredRecord, facts: DiagnosisFacts): Verdict {
  const now = facts.now;
  const attempt = record.sendAttempts ?? 1;
  const minutes = minutesSince(record.lastAttemptAt ?? record.timestamp, now);
  if (minutes !== undefined && minutes >= STALE_CLAIM_MINUTES) {
    return verdict(
      'problem',
      `stuck at sending since ${record.lastAttemptAt ?? record.timestamp} (attempt ${attempt}): the attempt was interrupted and has not been resolved`,
      [
        'A sender claimed the email and never wrote the outcome (a timeout, a crash or an ambiguous SES answer), and no SES Send event has raised it since.',
        'When its message comes back, the Email Sender resends it once (InterruptedSendPolicy resend) or marks it failed DUP001 (fail). If it has not, the message is probably in the send DLQ.',
      ],
      [
        'sesmailengine dlq list shows it with its last error; redriving it resolves the claim.',
        "If the recipient got it, SES's Send event never reached the tracking table: check the feedback DLQ and the Feedback Processor's logs.",
      ],
    );
  }
  if (attempt > 1) {
    return verdict('pending', `being resent (attempt ${attempt}, ${ago(minutes)}) after an interrupted attempt`, ['An earlier attempt was interrupted and SES reported no Send event for it, so the Email Sender sends it once more.'], ['Run diagnose again in a minute.']);
  }
  return verdict('pending', `being sent right now (claimed ${ago(minutes)})`, ['The Email Sender has claimed the email and is calling SES.'], ['Run diagnose again in a few seconds.']);
}

/** Held until its sendAt, or overdue. */
function scheduledVerdict(record: StoredRecord, facts: DiagnosisFacts): Verdict {
  const now = facts.now;
  const due = record.scheduledFor ? Date.parse(record.scheduledFor) : NaN;
  const overdueMinutes = Number.isFinite(due) ? (now.getTime() - due) / 60_000 : undefined;
  if (overdueMinutes !== undefined && overdueMinutes > 15) {
    return verdict(
      'problem',
      `scheduled for ${record.scheduledFor} and still not sent`,
      ['The request should have come back to the send queue at its sendAt (a delayed message, or an EventBridge Scheduler schedule in <stack>-scheduled).'],
      ['Check the send queue and its DLQ (sesmailengine dlq list) and the Email Sender\'s logs for this emailId.'],
    );
  }
  return verdict(
    'pending',
    `scheduled for ${record.scheduledFor ?? 'later'}`,
    ['The request has a sendAt; the engine holds it until then.'],
    ['To stop it: sesmailengine schedule cancel <emailId>.'],
  );
}

/** Accepted by SES: caught locally, waiting for feedback, or feedback not arriving. */
function sentVerdict(record: StoredRecord, facts: DiagnosisFacts): Verdict {
  const now = facts.now;
  const at = record.sentAt ?? record.timestamp;
  const minutes = minutesSince(at, now);
  if (facts.targetKind === 'local' && !SIMULATOR.test(record.toEmail)) {
    return verdict(
      'ok',
      `sent at ${at}: the local SES server caught it`,
      ['Local mode sends no feedback for ordinary addresses, so the record stays sent (as on AWS before feedback arrives).'],
      ['See the mail in the local SES web page; send to success@simulator.amazonses.com (or bounce@, complaint@) to see feedback.'],
    );
  }
  if (minutes === undefined || minutes < STUCK_SENT_MINUTES) {
    return verdict(
      'pending',
      `sent at ${at}: SES accepted it; delivery feedback usually follows within minutes`,
      [`SES accepted the message${record.sesMessageId ? ` (${record.sesMessageId})` : ''}; delivered, bounced or complained come from SES events.`],
      ['Run diagnose again in a few minutes.'],
    );
  }
  const feedbackDlq = facts.deadLetterDepths.feedback ?? 0;
  const eventsDlq = facts.deadLetterDepths.events ?? 0;
  return verdict(
    'problem',
    `stuck at sent for ${ago(minutes).replace(' ago', '')}: feedback is not arriving`,
    [
      `SES accepted it at ${at}${record.sesMessageId ? ` (${record.sesMessageId})` : ''}, but no SES event has reached the record since.`,
      ...(feedbackDlq > 0 ? [`The feedback DLQ holds ${feedbackDlq} SES event(s) the Feedback Processor failed on.`] : []),
      ...(eventsDlq > 0 ? [`The event-delivery DLQ holds ${eventsDlq} event(s) EventBridge could not deliver.`] : []),
      'A recipient server that keeps deferring the message leaves it sent while SES retries (up to about 12 hours).',
    ],
    [
      "Check the configuration set's event destination (SES console → Configuration sets → <stack>-tracking → Event destinations: EventBridge, enabled) and the rule on the default bus that targets the feedback queue; sesmailengine install restores both.",
      ...(feedbackDlq + eventsDlq > 0 ? ['Look at the dead letters: sesmailengine dlq list{flags}; redrive them once the cause is fixed: sesmailengine dlq redrive{flags}.'] : []),
      'Search the Feedback Processor\'s logs for this sesMessageId ("No tracking record for this SES event", errors).',
    ],
  );
}

/** Delivered or opened (or a complaint came after). */
function deliveredVerdict(record: StoredRecord, facts: DiagnosisFacts): Verdict {
  const complaint = complaintAfterDelivery(record, facts);
  if (complaint) return complaint;
  if (record.status === 'opened') {
    return verdict(
      'ok',
      `opened at ${record.openedAt ?? 'an unknown time'} (${record.openCount ?? 1} open${(record.openCount ?? 1) === 1 ? '' : 's'}, ${record.clickCount ?? 0} click${record.clickCount === 1 ? '' : 's'})`,
      [`Delivered${record.deliveredAt ? ` at ${record.deliveredAt}` : ''}; the recipient opened it (opens are seen only when images load).`],
      [],
    );
  }
  return verdict(
    'ok',
    `delivered to the recipient's mail server at ${record.deliveredAt ?? 'an unknown time'}`,
    ['SES handed the message to the receiving server; from here it is the recipient side. Not opened (yet), or images are not loaded.'],
    ['If the recipient cannot find it: spam or junk folder, mail rules, or ask them to allow-list the sender address.'],
  );
}

/** A hard bounce, or an address on the account-level SES suppression list. */
function bouncedVerdict(record: StoredRecord, facts: DiagnosisFacts): Verdict {
  const onAccountList = record.bounceSubType === 'OnAccountSuppressionList';
  const suppressed = facts.suppression ? ` and suppressed since ${facts.suppression.createdAt}` : '';
  return verdict(
    'problem',
    onAccountList
      ? `bounced: ${record.toEmail} is on your SES account's suppression list`
      : `hard bounce (${record.bounceType ?? 'Permanent'}/${record.bounceSubType ?? 'General'}): ${record.toEmail} does not accept mail${suppressed ? '; suppressed' : ''}`,
    [
      `SES reported a ${record.bounceType ?? 'permanent'} bounce${record.bounceReason ? `: ${record.bounceReason}` : ''}.`,
      ...(facts.suppression ? [`The engine suppressed the address (reason ${facts.suppression.reason})${suppressed}.`] : []),
    ],
    onAccountList
      ? [
          `SES itself refuses the address (it bounced or complained for another sender of your account): aws sesv2 get-suppressed-destination --email-address ${record.toEmail}.`,
          'Remove it there only if you are sure it works again: aws sesv2 delete-suppressed-destination --email-address <address>.'.replace('<address>', record.toEmail),
        ]
      : [withAddress(SUPPRESSION_ADVICE['hard-bounce'].fix, record.toEmail)],
  );
}

/** A soft bounce: its one retry pending, found in the chain, exhausted or missing. */
function softBouncedVerdict(record: StoredRecord, facts: DiagnosisFacts): Verdict {
  const now = facts.now;
  const why = `It soft-bounced (${record.bounceSubType ?? 'Transient'}${record.bounceReason ? `: ${record.bounceReason}` : ''}).`;
  if ((record.retryAttempt ?? 0) >= 1) {
    return verdict('problem', 'the retry soft-bounced too: retry exhausted; the address is not suppressed', [why], [fixFor('FBK003')]);
  }
  const retry = facts.chain.find((r) => (r.retryAttempt ?? 0) >= 1 && r.emailId !== record.emailId);
  if (retry) {
    const inner = recordVerdict(retry, { ...facts, chain: [] });
    return {
      ...inner,
      summary: `first attempt soft-bounced; the retry ${retry.emailId}: ${inner.summary}`,
      details: [`${why} The engine retried once, as ${retry.emailId}.`, ...inner.details],
    };
  }
  const minutes = minutesSince(record.sentAt ?? record.timestamp, now);
  const windowMinutes = facts.softBounceRetryDelaySeconds / 60 + 10;
  if (minutes === undefined || minutes < windowMinutes) {
    return verdict(
      'pending',
      `soft-bounced: one retry follows about ${Math.round(facts.softBounceRetryDelaySeconds / 60) || 1} min after the bounce`,
      [why, 'The engine re-sends a soft-bounced first attempt once, as a new record with the same originalEmailId.'],
      ['Run diagnose again after the retry delay.'],
    );
  }
  return verdict(
    'problem',
    'soft-bounced, and no retry was recorded',
    [why, `The retry should have followed within ${Math.round(windowMinutes)} min.`],
    [
      'Search the Feedback Processor\'s logs for "Soft bounce not retried" with this emailId, and check the send queue and its DLQ (sesmailengine dlq list --queue send{flags}).',
      'Publish it again with a new emailId if it should still go out.',
    ],
  );
}

/** The recipient marked it as spam. */
function complainedVerdict(record: StoredRecord): Verdict {
  return verdict(
    'problem',
    `complained: the recipient marked it as spam; ${record.toEmail} is suppressed, do not remove it`,
    [`Complaint${record.complaintFeedbackType ? ` (${record.complaintFeedbackType})` : ''}${record.complainedAt ? ` at ${record.complainedAt}` : ''}.`],
    [SUPPRESSION_ADVICE['spam-complaint'].fix, 'Check consent and the unsubscribe link of this kind of mail.'],
  );
}

/** The verdict for one tracking record. */
export function recordVerdict(record: StoredRecord, facts: DiagnosisFacts): Verdict {
  switch (record.status) {
    case 'failed':
      return failedVerdict(record, facts);
    case 'sending':
      return sendingVerdict(record, facts);
    case 'scheduled':
      return scheduledVerdict(record, facts);
    case 'sent':
      return sentVerdict(record, facts);
    case 'delivered':
    case 'opened':
      return deliveredVerdict(record, facts);
    case 'bounced':
      return bouncedVerdict(record, facts);
    case 'complained':
      return complainedVerdict(record);
    case 'soft_bounced':
      return softBouncedVerdict(record, facts);
  }
  // A status this version does not know (a newer engine wrote it).
  const status: string = record.status;
  return verdict('pending', `status ${status}`, [`This version of the CLI does not know the status "${status}".`], ['Upgrade sesmailengine.']);
}

function noRecordVerdict(facts: DiagnosisFacts, what: string): Verdict {
  const letter = facts.deadLetters[0];
  if (letter) {
    const queueName = letter.queue === 'send' ? 'send DLQ' : letter.queue === 'events' ? 'event-delivery DLQ' : 'feedback DLQ';
    return verdict(
      'problem',
      letter.queue === 'send'
        ? `no tracking record: the request is in the send DLQ (failing, received ${letter.receiveCount} time${letter.receiveCount === 1 ? '' : 's'})`
        : `no tracking record: the request is in the ${queueName}`,
      [letter.why],
      [
        letter.queue === 'send' && !letter.lastError
          ? "Fix the cause (the Email Sender's logs say it: a DynamoDB, S3 or permission error, or an SES refusal)."
          : 'Fix the cause named above.',
        `Then move it back: sesmailengine dlq redrive --queue ${letter.queue}{flags}`,
      ],
    );
  }
  const waiting = facts.sendQueue ? facts.sendQueue.visible + facts.sendQueue.delayed + facts.sendQueue.inFlight : 0;
  if (waiting > 0) {
    return verdict(
      'pending',
      `no tracking record yet: the send queue holds ${waiting} message(s)`,
      ['A backlog, SES throttling (messages go back to the queue), or soft-bounce retries waiting their delay. A request gets its record when its attempt ends.'],
      ["Run diagnose again in a minute; if the queue does not drain, read the Email Sender's logs."],
    );
  }
  const dlq = (facts.deadLetterDepths.send ?? 0) + (facts.deadLetterDepths.events ?? 0);
  if (dlq > 0) {
    return verdict(
      'problem',
      `no tracking record, and the send/event-delivery DLQs hold ${dlq} message(s): throttled or undeliverable requests have no record`,
      ['Requests that fail processing repeatedly (persistent throttling, a DynamoDB or permission error) end in a DLQ without a tracking record.'],
      ['Look at them: sesmailengine dlq list{flags}; fix the cause, then sesmailengine dlq redrive{flags}.'],
    );
  }
  return verdict(
    'problem',
    `no tracking record for ${what}`,
    [
      'The engine never received the request, it was published under another emailId, or the record expired (TrackingRetentionDays).',
    ],
    [
      'Check the PutEvents answer: FailedEntryCount 0 and an EventId. Without your own emailId the record\'s id is email-<EventId>.',
      `Publish to the engine's bus${facts.eventBusName ? ` (${facts.eventBusName})` : ''} with DetailType "Email Request".`,
      ...(facts.subject.kind === 'emailId' ? [`Search by recipient instead: sesmailengine diagnose <address>{flags}.`] : ['Addresses are filed lower-cased; check the spelling.']),
    ],
  );
}

function warningsFor(facts: DiagnosisFacts, main: Verdict): string[] {
  const warnings: string[] = [];
  const rate = facts.bounceRate;
  if (rate?.brakeOn && main.code !== 'BRK001') {
    warnings.push(
      `The bounce-rate brake is ON today (${brakeReasonText(brakeOf(rate), settingsOf(rate))}): every new email fails BRK001 until 00:00 UTC.`,
    );
  }
  const mentioned = main.summary.includes('DLQ') || main.fix.some((f) => f.includes('dlq'));
  const depths = Object.entries(facts.deadLetterDepths).filter(([, n]) => (n ?? 0) > 0);
  if (depths.length > 0 && !mentioned) {
    warnings.push(`Dead-letter queues hold messages (${depths.map(([q, n]) => `${q} ${n}`).join(', ')}): sesmailengine dlq list{flags}.`);
  }
  return warnings;
}

/** The verdict for everything `diagnose` found. */
export function diagnose(facts: DiagnosisFacts): Verdict {
  let main: Verdict;
  if (facts.subject.kind === 'emailId') {
    main = facts.record ? recordVerdict(facts.record, facts) : noRecordVerdict(facts, facts.subject.emailId);
  } else if (facts.suppression) {
    main = suppressionVerdict(facts.suppression, '');
    const latest = facts.recent[0];
    if (latest) main.details.push(`The latest email to it, ${latest.emailId}, is ${latest.status}${latest.errorCode ? ` (${latest.errorCode})` : ''}.`);
  } else if (facts.recent[0]) {
    const latest = facts.recent[0];
    const chain = facts.recent.filter((r) => r.originalEmailId === latest.originalEmailId);
    const original = chain.find((r) => (r.retryAttempt ?? 0) === 0);
    // A retry is the latest record; judge the first attempt, which knows about its retry.
    const subject = original && original.status === 'soft_bounced' ? original : latest;
    const inner = recordVerdict(subject, { ...facts, chain });
    main = { ...inner, summary: `latest email ${subject.emailId}: ${inner.summary}` };
  } else {
    main = noRecordVerdict(facts, `emails to ${facts.subject.address}`);
  }
  const flags = (text: string) => text.replaceAll('{flags}', facts.flags ?? '');
  return {
    ...main,
    summary: flags(main.summary),
    details: main.details.map(flags),
    fix: main.fix.map(flags),
    warnings: [...main.warnings, ...warningsFor(facts, main)].map(flags),
  };
}
