/**
 * Whether mail from the engine's sender will be trusted by receivers: DKIM, the custom MAIL
 * FROM domain (SPF alignment), DMARC, and one-click unsubscribe on subscription mail. Pure:
 * the facts (SES identities, DNS answers, the templates in the bucket) come in as plain data
 * from `deliverability-gather.ts`; the report that goes out is JSON-serialisable, so `status`,
 * `status --json`, `install` and the dashboard show the same thing.
 */

import { domainToASCII } from 'node:url';

export type CheckState = 'ok' | 'warn' | 'fail' | 'unknown';

/** A DNS record to publish at the sender's DNS host. */
export interface DnsRecord {
  type: 'CNAME' | 'MX' | 'TXT';
  name: string;
  value: string;
}

export interface DeliverabilityItem {
  id: 'dkim' | 'mail-from' | 'dmarc' | 'unsubscribe';
  title: string;
  state: CheckState;
  /** One sentence: what was found. */
  summary: string;
  /** What to do about it (absent when there is nothing to do). */
  fix?: string;
  /** Advice on a passing check (DMARC at p=none). */
  note?: string;
  /** Records the fix asks for. */
  records?: DnsRecord[];
  /** Names this item is about (templates for `unsubscribe`). */
  subjects?: string[];
}

export interface DeliverabilityReport {
  sender: string;
  domain: string;
  /** The worst state of the items (fail > warn > unknown > ok). */
  state: CheckState;
  items: DeliverabilityItem[];
}

/** An answer that could not be had: `permission` names the IAM action to add when access was denied. */
export interface LookupFailure {
  error: string;
  permission?: string;
}

/** The parts of SES v2 GetEmailIdentity the checks read. */
export interface IdentityFacts {
  identity: string;
  type?: string;
  verified: boolean;
  dkim?: {
    signingEnabled: boolean;
    status?: string;
    tokens: string[];
    origin?: string;
  };
  mailFrom?: {
    domain?: string;
    status?: string;
    behaviorOnMxFailure?: string;
  };
}

/** One TXT lookup: the records found (each record's strings joined), none (NXDOMAIN / no data), or a failure. */
export type TxtAnswer = { name: string; records: string[] } | { name: string; failure: string };

export interface TemplateFacts {
  name: string;
  /** The metadata's category; `unreadable` when metadata.json is missing or not valid. */
  category: 'transactional' | 'marketing' | 'unreadable';
  /** The HTML or text body refers to `unsubscribeLink` (the engine's signed link). */
  usesUnsubscribeLink: boolean;
}

export interface DeliverabilityFacts {
  sender: string;
  region: string;
  /** GetEmailIdentity on the domain: null when SES has no such identity. */
  domainIdentity: IdentityFacts | null | LookupFailure;
  /** GetEmailIdentity on the address: null when SES has no such identity. */
  addressIdentity: IdentityFacts | null | LookupFailure;
  /** `_dmarc.<domain>` first, then `_dmarc.<organisational domain>` when the first has none. */
  dmarc: TxtAnswer[];
  /** The templates in the bucket; null when there is no bucket to read (no stack). */
  templates: TemplateFacts[] | null | LookupFailure;
}

export const DELIVERABILITY_TITLES: Record<DeliverabilityItem['id'], string> = {
  dkim: 'DKIM',
  'mail-from': 'Custom MAIL FROM',
  dmarc: 'DMARC',
  unsubscribe: 'One-click unsubscribe',
};

const ORDER: CheckState[] = ['ok', 'unknown', 'warn', 'fail'];

export function worstState(states: CheckState[]): CheckState {
  return states.reduce<CheckState>((worst, s) => (ORDER.indexOf(s) > ORDER.indexOf(worst) ? s : worst), 'ok');
}

export function isFailure(value: unknown): value is LookupFailure {
  return typeof value === 'object' && value !== null && 'error' in value;
}

/**
 * The sender's domain as DNS and SES name it: lower case, without the final dot of an
 * absolute name (`example.com.`), an internationalised name as its A-label (`bücher.de` is
 * `xn--bcher-kva.de`). What cannot be a domain name is returned lower-cased, for the DNS
 * lookup to refuse.
 */
export function senderDomain(sender: string): string {
  const given = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
  const ascii = given.includes('..') ? '' : domainToASCII(given.replace(/\.$/, ''));
  return ascii === '' ? given : ascii;
}

/**
 * The organisational domain, taken as the last two labels. This approximates the
 * public-suffix rule DMARC uses: it is wrong for suffixes of two labels (`example.co.uk`
 * gives `co.uk`), where the lookup simply finds nothing more than the first one did.
 */
export function organisationalDomain(domain: string): string {
  const labels = domain.replace(/\.$/, '').split('.');
  return labels.length <= 2 ? labels.join('.') : labels.slice(-2).join('.');
}

function unknownItem(id: DeliverabilityItem['id'], what: string, failure: LookupFailure): DeliverabilityItem {
  return {
    id,
    title: DELIVERABILITY_TITLES[id],
    state: 'unknown',
    summary: `could not check: ${what} (${failure.error})`,
    ...(failure.permission ? { fix: `Allow ${failure.permission} to the credentials you run sesmailengine with, then run it again.` } : {}),
  };
}

/** The identity whose settings SES applies: the domain when SES has it, else the address. */
function sendingIdentity(facts: DeliverabilityFacts): IdentityFacts | null | LookupFailure {
  if (isFailure(facts.domainIdentity)) return facts.domainIdentity;
  if (facts.domainIdentity) return facts.domainIdentity;
  return facts.addressIdentity;
}

export function dkimRecords(domain: string, tokens: string[]): DnsRecord[] {
  return tokens.map((token) => ({ type: 'CNAME', name: `${token}._domainkey.${domain}`, value: `${token}.dkim.amazonses.com` }));
}

export function evaluateDkim(facts: DeliverabilityFacts): DeliverabilityItem {
  const domain = senderDomain(facts.sender);
  const base = { id: 'dkim' as const, title: DELIVERABILITY_TITLES.dkim };
  const identity = sendingIdentity(facts);
  if (isFailure(identity)) return unknownItem('dkim', `SES GetEmailIdentity ${domain}`, identity);
  const create = `aws sesv2 create-email-identity --email-identity ${domain} --region ${facts.region}`;
  if (!identity) {
    return {
      ...base,
      state: 'fail',
      summary: `SES has neither ${domain} nor ${facts.sender} as an identity: nothing signs the mail for ${domain}.`,
      fix: `Verify the domain with Easy DKIM (${create}) and publish the three CNAME records it returns.`,
    };
  }
  const dkim = identity.dkim;
  // With your own key (BYODKIM) the record is a TXT holding its public key, not Easy DKIM's CNAMEs.
  const external = dkim?.origin === 'EXTERNAL';
  const records = external ? [] : dkimRecords(domain, dkim?.tokens ?? []);
  const publish = external
    ? `Publish the public key of your DKIM key pair as a TXT record at <selector>._domainkey.${domain} (the selector you gave SES)`
    : records.length > 0
      ? 'Publish these CNAME records at your DNS host'
      : `Publish the DKIM records shown in the Amazon SES console (${facts.region}) → Identities → ${identity.identity}`;
  const withRecords = records.length > 0 ? { records } : {};
  if (identity.identity !== domain && dkim?.status !== 'SUCCESS') {
    return {
      ...base,
      state: 'fail',
      summary: `SES has only the address ${identity.identity} as an identity${identity.verified ? '' : ' (not verified yet)'}: it signs that mail as amazonses.com, which does not align with ${domain} for DMARC.`,
      fix: `Verify the domain with Easy DKIM (${create}) and publish the three CNAME records it returns.`,
    };
  }
  const status = dkim?.status ?? 'NOT_STARTED';
  if (status === 'SUCCESS' && dkim?.signingEnabled) {
    return { ...base, state: 'ok', summary: `${identity.identity} signs with DKIM (${dkim.origin === 'EXTERNAL' ? 'your own key' : 'Easy DKIM'}, status SUCCESS).` };
  }
  if (status === 'SUCCESS') {
    return {
      ...base,
      state: 'fail',
      summary: `DKIM is set up for ${identity.identity} but signing is turned off.`,
      fix: `aws sesv2 put-email-identity-dkim-attributes --email-identity ${identity.identity} --signing-enabled --region ${facts.region}`,
    };
  }
  if (status === 'PENDING') {
    return {
      ...base,
      state: 'warn',
      summary: `DKIM for ${identity.identity} is PENDING: SES has not seen the DNS records yet (it keeps looking for 72 hours).`,
      fix: `${publish}; SES checks again by itself.`,
      ...withRecords,
    };
  }
  if (status === 'FAILED' || status === 'TEMPORARY_FAILURE') {
    return {
      ...base,
      state: 'fail',
      summary: `DKIM for ${identity.identity} is ${status}: SES could not find the DNS records${status === 'TEMPORARY_FAILURE' ? ' (it tries again)' : ''}.`,
      fix:
        status === 'FAILED' && !external
          ? `${publish}; SES has stopped looking, so then restart the verification: aws sesv2 put-email-identity-dkim-signing-attributes --email-identity ${identity.identity} --signing-attributes-origin AWS_SES --region ${facts.region} (if it issues new tokens, sesmailengine status lists the new records).`
          : `${publish}.`,
      ...withRecords,
    };
  }
  return {
    ...base,
    state: 'fail',
    summary: `DKIM is not set up for ${identity.identity} (${status}).`,
    fix: `Turn on Easy DKIM: aws sesv2 put-email-identity-dkim-signing-attributes --email-identity ${identity.identity} --signing-attributes-origin AWS_SES --region ${facts.region}, then publish the three CNAME records it returns.`,
  };
}

export function mailFromRecords(mailFromDomain: string, region: string): DnsRecord[] {
  return [
    { type: 'MX', name: mailFromDomain, value: `10 feedback-smtp.${region}.amazonses.com` },
    { type: 'TXT', name: mailFromDomain, value: '"v=spf1 include:amazonses.com ~all"' },
  ];
}

export function evaluateMailFrom(facts: DeliverabilityFacts): DeliverabilityItem {
  const domain = senderDomain(facts.sender);
  const base = { id: 'mail-from' as const, title: DELIVERABILITY_TITLES['mail-from'] };
  const identity = sendingIdentity(facts);
  if (isFailure(identity)) return unknownItem('mail-from', `SES GetEmailIdentity ${domain}`, identity);
  const proposed = `mail.${domain}`;
  const configured = identity?.mailFrom?.domain;
  const target = identity?.identity ?? domain;
  const set = `aws sesv2 put-email-identity-mail-from-attributes --email-identity ${target} --mail-from-domain ${configured ?? proposed} --behavior-on-mx-failure USE_DEFAULT_VALUE --region ${facts.region}`;
  if (!configured) {
    return {
      ...base,
      state: 'warn',
      summary: `No custom MAIL FROM domain: SPF passes for amazonses.com, which does not align with ${domain}, so DMARC passes only through DKIM.`,
      fix: `Use a subdomain of ${domain} as MAIL FROM (${set}) and publish its MX and SPF records.`,
      records: mailFromRecords(proposed, facts.region),
    };
  }
  const status = identity?.mailFrom?.status ?? 'PENDING';
  const records = mailFromRecords(configured, facts.region);
  if (status === 'SUCCESS') return { ...base, state: 'ok', summary: `MAIL FROM is ${configured} (SUCCESS): SPF aligns with ${domain}.` };
  if (status === 'PENDING') {
    return { ...base, state: 'warn', summary: `MAIL FROM ${configured} is PENDING: SES has not seen its MX record yet.`, fix: 'Publish these records at your DNS host; SES checks again by itself.', records };
  }
  const rejects = identity?.mailFrom?.behaviorOnMxFailure === 'REJECT_MESSAGE';
  return {
    ...base,
    state: rejects ? 'fail' : 'warn',
    summary: rejects
      ? `MAIL FROM ${configured} is ${status} and set to REJECT_MESSAGE: SES refuses to send from ${target} until it is fixed.`
      : `MAIL FROM ${configured} is ${status}: SES falls back to amazonses.com, so SPF does not align with ${domain}.`,
    fix: 'Publish these records at your DNS host (SES keeps checking).',
    records,
  };
}

/** The tags of a DMARC record (`v=DMARC1; p=reject; …`), names lower-cased. */
export function parseDmarc(record: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of record.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    tags[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim();
  }
  return tags;
}

/** A TXT record that is a DMARC record: its first tag is v=DMARC1. */
export const isDmarcRecord = (record: string): boolean => /^v\s*=\s*DMARC1\s*(;|$)/.test(record.trim());
const POLICIES = ['none', 'quarantine', 'reject'];

export function evaluateDmarc(facts: DeliverabilityFacts): DeliverabilityItem {
  const domain = senderDomain(facts.sender);
  const base = { id: 'dmarc' as const, title: DELIVERABILITY_TITLES.dmarc };
  const suggested: DnsRecord = { type: 'TXT', name: `_dmarc.${domain}`, value: `"v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}"` };
  for (const answer of facts.dmarc) {
    if ('failure' in answer) {
      return { ...base, state: 'unknown', summary: `could not look up ${answer.name} (${answer.failure}).`, fix: `Check it from a machine with DNS: dig TXT ${answer.name}` };
    }
    const found = answer.records.filter(isDmarcRecord);
    if (found.length === 0) continue;
    if (found.length > 1) {
      return {
        ...base,
        state: 'fail',
        summary: `${answer.name} has ${found.length} DMARC records: receivers ignore them all when there is more than one.`,
        fix: `Keep one TXT record starting with v=DMARC1 at ${answer.name} and delete the others.`,
      };
    }
    const tags = parseDmarc(found[0]!);
    const inherited = answer.name !== `_dmarc.${domain}`;
    // A subdomain without its own record gets the organisational domain's sp= (or its p=).
    const policy = (inherited && tags.sp ? tags.sp : tags.p)?.toLowerCase();
    const where = inherited ? ` (from ${answer.name}${tags.sp ? ', its sp= tag' : ''})` : '';
    if (!policy || !POLICIES.includes(policy)) {
      return {
        ...base,
        state: 'fail',
        summary: `The DMARC record at ${answer.name} has no valid p= tag, so receivers treat it as absent.`,
        fix: `Replace it with a valid record, for example ${suggested.value} at ${suggested.name}.`,
      };
    }
    if (policy === 'none') {
      return {
        ...base,
        state: 'ok',
        summary: `DMARC policy p=none${where}: it meets the bulk-sender rules but only monitors; receivers take no action on failing mail.`,
        note: 'Once the aggregate (rua) reports show your mail passing, move to p=quarantine and then p=reject.',
      };
    }
    return { ...base, state: 'ok', summary: `DMARC policy p=${policy}${where}.` };
  }
  const looked = facts.dmarc.map((a) => a.name).join(' and ');
  return {
    ...base,
    state: 'fail',
    summary: `No DMARC record at ${looked || `_dmarc.${domain}`}: Gmail and Yahoo require DMARC for bulk senders since February 2024.`,
    fix: 'Publish a DMARC record (p=none to start; the rua address receives the daily reports).',
    records: [suggested],
  };
}

export function evaluateUnsubscribe(facts: DeliverabilityFacts): DeliverabilityItem {
  const base = { id: 'unsubscribe' as const, title: DELIVERABILITY_TITLES.unsubscribe };
  const templates = facts.templates;
  if (templates === null) return { ...base, state: 'unknown', summary: 'no template bucket to look in (the stack is not installed).' };
  if (isFailure(templates)) return unknownItem('unsubscribe', 'reading the templates in the bucket', templates);
  // The engine adds List-Unsubscribe and List-Unsubscribe-Post to every email of a marketing
  // template (unless a request says "unsubscribe": false). A transactional template whose body
  // links to unsubscribeLink is subscription mail too, but goes out without those headers.
  const undeclared = templates.filter((t) => t.category === 'transactional' && t.usesUnsubscribeLink).map((t) => t.name);
  const noVisibleLink = templates.filter((t) => t.category === 'marketing' && !t.usesUnsubscribeLink).map((t) => t.name);
  const marketing = templates.filter((t) => t.category === 'marketing').length;
  if (undeclared.length > 0) {
    return {
      ...base,
      state: 'warn',
      summary: `${undeclared.join(', ')}: ${undeclared.length === 1 ? 'links' : 'link'} to unsubscribeLink but ${undeclared.length === 1 ? 'is' : 'are'} "transactional", so ${undeclared.length === 1 ? 'it goes' : 'they go'} out without one-click unsubscribe unless each request says "unsubscribe": true.`,
      fix: 'Set "category": "marketing" in their metadata.json (sesmailengine templates push), so every send carries List-Unsubscribe and List-Unsubscribe-Post.',
      subjects: undeclared,
    };
  }
  if (noVisibleLink.length > 0) {
    return {
      ...base,
      state: 'warn',
      summary: `${noVisibleLink.join(', ')}: marketing, sent with one-click unsubscribe headers, but the body shows no unsubscribe link (Gmail and Yahoo ask for both).`,
      fix: 'Add a visible link to {{ unsubscribeLink }} in template.html and template.txt (the engine fills it in).',
      subjects: noVisibleLink,
    };
  }
  return {
    ...base,
    state: 'ok',
    summary:
      templates.length === 0
        ? 'the bucket holds no templates yet.'
        : marketing === 0
        ? `no marketing templates among the ${templates.length} in the bucket.`
        : `${marketing} marketing template${marketing === 1 ? '' : 's'}: every send carries List-Unsubscribe and List-Unsubscribe-Post (one-click), and a visible link.`,
  };
}

export function evaluateDeliverability(facts: DeliverabilityFacts): DeliverabilityReport {
  const items = [evaluateDkim(facts), evaluateMailFrom(facts), evaluateDmarc(facts), evaluateUnsubscribe(facts)];
  return { sender: facts.sender, domain: senderDomain(facts.sender), state: worstState(items.map((i) => i.state)), items };
}
