import { describe, expect, it } from '@jest/globals';
import {
  evaluateDeliverability,
  evaluateDkim,
  evaluateDmarc,
  evaluateMailFrom,
  evaluateUnsubscribe,
  organisationalDomain,
  parseDmarc,
  worstState,
  type DeliverabilityFacts,
  type IdentityFacts,
} from '../../../src/ops/deliverability.js';

/** The deliverability checks on plain facts, every state of every check. */

const TOKENS = ['abcdefghijklmnopqrstuvwxyz234567', 'bcdefghijklmnopqrstuvwxyz2345678', 'cdefghijklmnopqrstuvwxyz23456789'];

function domainIdentity(fields: Partial<IdentityFacts> = {}): IdentityFacts {
  return {
    identity: 'example.com',
    type: 'DOMAIN',
    verified: true,
    dkim: { signingEnabled: true, status: 'SUCCESS', tokens: TOKENS, origin: 'AWS_SES' },
    mailFrom: { domain: 'mail.example.com', status: 'SUCCESS', behaviorOnMxFailure: 'USE_DEFAULT_VALUE' },
    ...fields,
  };
}

function facts(fields: Partial<DeliverabilityFacts> = {}): DeliverabilityFacts {
  return {
    sender: 'noreply@example.com',
    region: 'eu-west-1',
    domainIdentity: domainIdentity(),
    addressIdentity: null,
    dmarc: [{ name: '_dmarc.example.com', records: ['v=DMARC1; p=reject; rua=mailto:d@example.com'] }],
    templates: [
      { name: 'welcome', category: 'transactional', usesUnsubscribeLink: false },
      { name: 'newsletter', category: 'marketing', usesUnsubscribeLink: true },
    ],
    ...fields,
  };
}

describe('the whole report', () => {
  it('is ok when every check passes, and serialises to JSON unchanged', () => {
    const report = evaluateDeliverability(facts());

    expect(report.state).toBe('ok');
    expect(report.items.map((i) => [i.id, i.state])).toEqual([
      ['dkim', 'ok'],
      ['mail-from', 'ok'],
      ['dmarc', 'ok'],
      ['unsubscribe', 'ok'],
    ]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('takes the worst state: fail over warn over unknown over ok', () => {
    expect(worstState(['ok', 'unknown'])).toBe('unknown');
    expect(worstState(['unknown', 'warn', 'ok'])).toBe('warn');
    expect(worstState(['warn', 'fail', 'unknown'])).toBe('fail');
    expect(worstState([])).toBe('ok');
  });
});

describe('DKIM', () => {
  it('is ok when the domain signs with Easy DKIM', () => {
    expect(evaluateDkim(facts())).toMatchObject({ state: 'ok', summary: expect.stringContaining('Easy DKIM') });
  });

  it('warns while PENDING and lists the three CNAMEs to publish', () => {
    const item = evaluateDkim(facts({ domainIdentity: domainIdentity({ verified: false, dkim: { signingEnabled: true, status: 'PENDING', tokens: TOKENS } }) }));

    expect(item.state).toBe('warn');
    expect(item.records).toEqual(
      TOKENS.map((t) => ({ type: 'CNAME', name: `${t}._domainkey.example.com`, value: `${t}.dkim.amazonses.com` })),
    );
  });

  it.each(['FAILED', 'TEMPORARY_FAILURE'])('fails when the status is %s, with the records', (status) => {
    const item = evaluateDkim(facts({ domainIdentity: domainIdentity({ dkim: { signingEnabled: true, status, tokens: TOKENS } }) }));

    expect(item.state).toBe('fail');
    expect(item.summary).toContain(status);
    expect(item.records).toHaveLength(3);
  });

  it('fails when DKIM was never started, with the command that starts it', () => {
    const item = evaluateDkim(facts({ domainIdentity: domainIdentity({ dkim: { signingEnabled: false, status: 'NOT_STARTED', tokens: [] } }) }));

    expect(item.state).toBe('fail');
    expect(item.fix).toContain('put-email-identity-dkim-signing-attributes --email-identity example.com --signing-attributes-origin AWS_SES --region eu-west-1');
  });

  it('fails when DKIM is verified but signing is turned off', () => {
    const item = evaluateDkim(facts({ domainIdentity: domainIdentity({ dkim: { signingEnabled: false, status: 'SUCCESS', tokens: TOKENS } }) }));

    expect(item.state).toBe('fail');
    expect(item.fix).toContain('--signing-enabled');
  });

  it('fails when only the address is verified: amazonses.com signs, which does not align', () => {
    const address: IdentityFacts = { identity: 'noreply@example.com', type: 'EMAIL_ADDRESS', verified: true, dkim: { signingEnabled: false, status: 'NOT_STARTED', tokens: [] } };
    const item = evaluateDkim(facts({ domainIdentity: null, addressIdentity: address }));

    expect(item.state).toBe('fail');
    expect(item.summary).toContain('SES has only the address noreply@example.com as an identity: it signs that mail as amazonses.com');
    expect(item.fix).toContain('create-email-identity --email-identity example.com');
  });

  it('asks for the TXT record of your own key, not CNAMEs, when DKIM uses your own key (BYODKIM)', () => {
    const item = evaluateDkim(facts({ domainIdentity: domainIdentity({ dkim: { signingEnabled: true, status: 'FAILED', tokens: ['sel1'], origin: 'EXTERNAL' } }) }));

    expect(item.state).toBe('fail');
    expect(item.records).toBeUndefined();
    expect(item.fix).toContain('TXT record at <selector>._domainkey.example.com');
  });

  it('fails when SES has neither identity', () => {
    expect(evaluateDkim(facts({ domainIdentity: null, addressIdentity: null })).state).toBe('fail');
  });

  it('is unknown with the permission to add when GetEmailIdentity is denied', () => {
    const item = evaluateDkim(facts({ domainIdentity: { error: 'AccessDeniedException: no', permission: 'ses:GetEmailIdentity' } }));

    expect(item).toMatchObject({ state: 'unknown', fix: expect.stringContaining('ses:GetEmailIdentity') });
  });
});

describe('custom MAIL FROM', () => {
  it('is ok when the MAIL FROM domain is verified', () => {
    expect(evaluateMailFrom(facts()).state).toBe('ok');
  });

  it('warns without one: DMARC passes only through DKIM; proposes mail.<domain> and its records', () => {
    const item = evaluateMailFrom(facts({ domainIdentity: domainIdentity({ mailFrom: { behaviorOnMxFailure: 'USE_DEFAULT_VALUE' } }) }));

    expect(item.state).toBe('warn');
    expect(item.summary).toContain('DMARC passes only through DKIM');
    expect(item.fix).toContain('put-email-identity-mail-from-attributes --email-identity example.com --mail-from-domain mail.example.com');
    expect(item.records).toEqual([
      { type: 'MX', name: 'mail.example.com', value: '10 feedback-smtp.eu-west-1.amazonses.com' },
      { type: 'TXT', name: 'mail.example.com', value: '"v=spf1 include:amazonses.com ~all"' },
    ]);
  });

  it('warns while PENDING', () => {
    expect(evaluateMailFrom(facts({ domainIdentity: domainIdentity({ mailFrom: { domain: 'bounce.example.com', status: 'PENDING' } }) }))).toMatchObject({
      state: 'warn',
      records: [expect.objectContaining({ name: 'bounce.example.com' }), expect.objectContaining({ name: 'bounce.example.com' })],
    });
  });

  it('warns when it failed and SES falls back to amazonses.com', () => {
    const item = evaluateMailFrom(facts({ domainIdentity: domainIdentity({ mailFrom: { domain: 'mail.example.com', status: 'FAILED', behaviorOnMxFailure: 'USE_DEFAULT_VALUE' } }) }));

    expect(item.state).toBe('warn');
    expect(item.summary).toContain('falls back');
  });

  it('fails when it failed and SES rejects the mail (REJECT_MESSAGE)', () => {
    const item = evaluateMailFrom(facts({ domainIdentity: domainIdentity({ mailFrom: { domain: 'mail.example.com', status: 'TEMPORARY_FAILURE', behaviorOnMxFailure: 'REJECT_MESSAGE' } }) }));

    expect(item.state).toBe('fail');
    expect(item.summary).toContain('refuses to send');
  });

  it('is unknown when the identity could not be read', () => {
    expect(evaluateMailFrom(facts({ domainIdentity: { error: 'TimeoutError: slow' } })).state).toBe('unknown');
  });
});

describe('DMARC', () => {
  it('is ok with p=reject', () => {
    expect(evaluateDmarc(facts())).toMatchObject({ state: 'ok', summary: 'DMARC policy p=reject.' });
  });

  it('is ok with a note at p=none: it only monitors', () => {
    const item = evaluateDmarc(facts({ dmarc: [{ name: '_dmarc.example.com', records: ['v=DMARC1;p=none'] }] }));

    expect(item.state).toBe('ok');
    expect(item.summary).toContain('only monitors');
    expect(item.note).toContain('p=quarantine');
    expect(item.fix).toBeUndefined();
  });

  it('fails without a record, citing the bulk-sender rules, with a record to publish', () => {
    const item = evaluateDmarc(facts({ dmarc: [{ name: '_dmarc.example.com', records: ['google-site-verification=abc'] }] }));

    expect(item.state).toBe('fail');
    expect(item.summary).toContain('Gmail and Yahoo require DMARC for bulk senders since February 2024');
    expect(item.records).toEqual([{ type: 'TXT', name: '_dmarc.example.com', value: '"v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"' }]);
  });

  it('fails with several DMARC records, which receivers ignore', () => {
    const item = evaluateDmarc(facts({ dmarc: [{ name: '_dmarc.example.com', records: ['v=DMARC1; p=none', 'v=DMARC1; p=reject'] }] }));

    expect(item.state).toBe('fail');
    expect(item.summary).toContain('2 DMARC records');
  });

  it('fails when the record has no valid policy', () => {
    expect(evaluateDmarc(facts({ dmarc: [{ name: '_dmarc.example.com', records: ['v=DMARC1; p=maybe'] }] })).state).toBe('fail');
  });

  it("takes the organisational domain's sp= for a subdomain without its own record", () => {
    const item = evaluateDmarc(
      facts({
        sender: 'noreply@news.example.com',
        dmarc: [
          { name: '_dmarc.news.example.com', records: [] },
          { name: '_dmarc.example.com', records: ['v=DMARC1; p=reject; sp=quarantine'] },
        ],
      }),
    );

    expect(item).toMatchObject({ state: 'ok', summary: 'DMARC policy p=quarantine (from _dmarc.example.com, its sp= tag).' });
  });

  it('is unknown when DNS could not be asked, fast, without guessing', () => {
    const item = evaluateDmarc(facts({ dmarc: [{ name: '_dmarc.example.com', failure: 'ETIMEOUT' }] }));

    expect(item.state).toBe('unknown');
    expect(item.summary).toBe('could not look up _dmarc.example.com (ETIMEOUT).');
  });

  it('reads tags whatever their spacing and case', () => {
    expect(parseDmarc('v=DMARC1;  P = Quarantine ; rua=mailto:a@b.c')).toEqual({ v: 'DMARC1', p: 'Quarantine', rua: 'mailto:a@b.c' });
  });

  it('takes the last two labels as the organisational domain', () => {
    expect(organisationalDomain('mail.news.example.com')).toBe('example.com');
    expect(organisationalDomain('example.com')).toBe('example.com');
  });
});

describe('one-click unsubscribe', () => {
  it('is ok when marketing templates link to unsubscribeLink (the engine adds the headers)', () => {
    expect(evaluateUnsubscribe(facts()).summary).toContain('1 marketing template');
  });

  it('warns about a transactional template that links to unsubscribeLink: it goes out without the headers', () => {
    const item = evaluateUnsubscribe(facts({ templates: [{ name: 'digest', category: 'transactional', usesUnsubscribeLink: true }] }));

    expect(item.state).toBe('warn');
    expect(item.subjects).toEqual(['digest']);
    expect(item.fix).toContain('"category": "marketing"');
  });

  it('warns about a marketing template without a visible link', () => {
    const item = evaluateUnsubscribe(facts({ templates: [{ name: 'promo', category: 'marketing', usesUnsubscribeLink: false }] }));

    expect(item).toMatchObject({ state: 'warn', subjects: ['promo'] });
  });

  it('is ok with no templates or no marketing ones, and says which', () => {
    expect(evaluateUnsubscribe(facts({ templates: [] })).summary).toBe('the bucket holds no templates yet.');
    expect(evaluateUnsubscribe(facts({ templates: [{ name: 'welcome', category: 'transactional', usesUnsubscribeLink: false }] })).summary).toBe('no marketing templates among the 1 in the bucket.');
  });

  it('is unknown without a bucket or when the bucket cannot be read', () => {
    expect(evaluateUnsubscribe(facts({ templates: null })).state).toBe('unknown');
    expect(evaluateUnsubscribe(facts({ templates: { error: 'AccessDenied: no', permission: 's3:GetObject' } })).fix).toContain('s3:GetObject');
  });
});
