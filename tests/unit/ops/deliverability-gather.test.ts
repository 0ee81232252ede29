import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetEmailIdentityCommand, SESv2Client, type GetEmailIdentityCommandOutput } from '@aws-sdk/client-sesv2';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createSocket } from 'node:dgram';
import { checkDeliverability, gatherDeliverability, lookupDmarc, lookupTxt, readIdentity, systemResolver, type TxtResolver } from '../../../src/ops/deliverability-gather.js';
import { evaluateDmarc } from '../../../src/ops/deliverability.js';

/**
 * Gathering the deliverability facts: SES v2 and S3 mocked with the real answer shapes, DNS
 * through a fake resolver that answers from a table (or fails as node's resolver fails).
 */

const ses = mockClient(SESv2Client);
const s3 = mockClient(S3Client);

/** GetEmailIdentity for a domain verified with Easy DKIM and a custom MAIL FROM, as SES v2 answers it. */
const VERIFIED_DOMAIN: Partial<GetEmailIdentityCommandOutput> = {
  IdentityType: 'DOMAIN',
  FeedbackForwardingStatus: true,
  VerifiedForSendingStatus: true,
  VerificationStatus: 'SUCCESS',
  DkimAttributes: {
    SigningEnabled: true,
    Status: 'SUCCESS',
    Tokens: ['ab3dxf7ig4qkjg4z6szh5ra2ohyoqmqd', 'i5jhzpjqyg6qr2jbarxi4bahvkbm4vgh', 'pvz6y2hu2wlbjqudtmbdnmcgolvfjuqm'],
    SigningAttributesOrigin: 'AWS_SES',
    NextSigningKeyLength: 'RSA_2048_BIT',
    CurrentSigningKeyLength: 'RSA_2048_BIT',
    LastKeyGenerationTimestamp: new Date('2026-01-10T09:00:00Z'),
  },
  MailFromAttributes: { MailFromDomain: 'mail.example.com', MailFromDomainStatus: 'SUCCESS', BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' },
  Policies: {},
  Tags: [],
};

function dnsError(code: string): Error {
  return Object.assign(new Error(`queryTxt ${code}`), { code });
}

/** A resolver answering from a table; names not in it are NXDOMAIN (ENOTFOUND), as node reports it. */
function fakeDns(table: Record<string, string[][] | Error>): TxtResolver & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async resolveTxt(name: string) {
      asked.push(name);
      const answer = table[name];
      if (answer instanceof Error) throw answer;
      if (!answer) throw dnsError('ENOTFOUND');
      return answer;
    },
  };
}

/** The part of an S3 body stream the check reads. */
function body(text: string) {
  return { transformToString: async () => text, transformToByteArray: async () => Buffer.from(text) };
}

function notFound(name: string): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 404 } });
}

beforeEach(() => {
  ses.reset();
  s3.reset();
});

afterAll(() => {
  ses.restore();
  s3.restore();
});

describe('reading an SES identity', () => {
  it('keeps DKIM and MAIL FROM from the real answer shape', async () => {
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves(VERIFIED_DOMAIN);

    const identity = await readIdentity(new SESv2Client({}), 'example.com');

    expect(identity).toEqual({
      identity: 'example.com',
      type: 'DOMAIN',
      verified: true,
      dkim: { signingEnabled: true, status: 'SUCCESS', tokens: VERIFIED_DOMAIN.DkimAttributes!.Tokens, origin: 'AWS_SES' },
      mailFrom: { domain: 'mail.example.com', status: 'SUCCESS', behaviorOnMxFailure: 'USE_DEFAULT_VALUE' },
    });
  });

  it('gives null for an identity SES does not have', async () => {
    ses.on(GetEmailIdentityCommand).rejects(notFound('NotFoundException'));

    expect(await readIdentity(new SESv2Client({}), 'example.com')).toBeNull();
  });

  it('names the permission when access is denied', async () => {
    ses.on(GetEmailIdentityCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }));

    expect(await readIdentity(new SESv2Client({}), 'example.com')).toEqual({ error: 'AccessDeniedException: not authorized', permission: 'ses:GetEmailIdentity' });
  });

  it('drops DKIM tokens that are not plain labels (they become DNS names in the fix)', async () => {
    ses.on(GetEmailIdentityCommand).resolves({ ...VERIFIED_DOMAIN, DkimAttributes: { SigningEnabled: false, Status: 'PENDING', Tokens: ['good_token-1', 'bad token; rm -rf'] } });

    const identity = await readIdentity(new SESv2Client({}), 'example.com');

    expect(identity).toMatchObject({ dkim: { tokens: ['good_token-1'] } });
  });
});

describe('looking up DMARC', () => {
  it('joins the strings of a long TXT record', async () => {
    const dns = fakeDns({ '_dmarc.example.com': [['v=DMARC1; p=reject; ', 'rua=mailto:d@example.com']] });

    expect(await lookupTxt(dns, '_dmarc.example.com')).toEqual({ name: '_dmarc.example.com', records: ['v=DMARC1; p=reject; rua=mailto:d@example.com'] });
  });

  it('falls back to the organisational domain when the subdomain has no record', async () => {
    const dns = fakeDns({ '_dmarc.example.com': [['v=DMARC1; p=none']] });

    const answers = await lookupDmarc(dns, 'news.example.com');

    expect(dns.asked).toEqual(['_dmarc.news.example.com', '_dmarc.example.com']);
    expect(answers[1]).toEqual({ name: '_dmarc.example.com', records: ['v=DMARC1; p=none'] });
  });

  it('stops at the first name when it has a record', async () => {
    const dns = fakeDns({ '_dmarc.news.example.com': [['v=DMARC1; p=reject']] });

    await lookupDmarc(dns, 'news.example.com');

    expect(dns.asked).toEqual(['_dmarc.news.example.com']);
  });

  it('reads ENODATA as no record and a timeout as a failure', async () => {
    expect(await lookupTxt(fakeDns({ x: dnsError('ENODATA') }), 'x')).toEqual({ name: 'x', records: [] });
    expect(await lookupTxt(fakeDns({ x: dnsError('ETIMEOUT') }), 'x')).toEqual({ name: 'x', failure: 'ETIMEOUT' });
  });

  it('gives up at its deadline on a resolver that never answers', async () => {
    const silent: TxtResolver = { resolveTxt: () => new Promise(() => undefined) };
    const started = Date.now();

    const answer = await lookupTxt(silent, '_dmarc.example.com', 50);

    expect(answer).toEqual({ name: '_dmarc.example.com', failure: 'ETIMEOUT' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("reports a DNS server that never answers as a failure within seconds, through node's own resolver", async () => {
    const silent = createSocket('udp4');
    let queries = 0;
    silent.on('message', () => (queries += 1));
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const started = Date.now();

    const answers = await lookupDmarc(systemResolver([`127.0.0.1:${silent.address().port}`]), 'example.com');
    silent.close();

    expect(answers).toEqual([{ name: '_dmarc.example.com', failure: 'ETIMEOUT' }]);
    expect(queries).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(4_500);
  });

  it('says "no record" only when DNS knows the domain: a domain with no DMARC record', async () => {
    const dns = fakeDns({ 'example.com': dnsError('ENODATA') });

    expect(await lookupDmarc(dns, 'news.example.com')).toEqual([
      { name: '_dmarc.news.example.com', records: [] },
      { name: '_dmarc.example.com', records: [] },
    ]);
  });

  it("reports a resolver that says NXDOMAIN for every name (no public DNS) as a failure, not as a missing record, through node's own resolver", async () => {
    // A DNS server that answers every query with NXDOMAIN, as a closed network's resolver does.
    const closed = createSocket('udp4');
    closed.on('message', (query, from) => {
      const answer = Buffer.from(query);
      answer[2] = (answer[2]! | 0x80) & 0xfb; // a response, not authoritative
      answer[3] = 0x83; // recursion available, RCODE 3 (NXDOMAIN)
      closed.send(answer, from.port, from.address);
    });
    await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', resolve));

    const answers = await lookupDmarc(systemResolver([`127.0.0.1:${closed.address().port}`]), 'example.com');
    closed.close();

    expect(answers).toEqual([{ name: '_dmarc.example.com', failure: expect.stringContaining('example.com itself does not resolve') }]);
    expect(evaluateDmarc({ sender: 'no-reply@example.com', region: 'us-east-1', domainIdentity: null, addressIdentity: null, dmarc: answers, templates: null }).state).toBe('unknown');
  });

  it('sends nothing to DNS for a sender domain that is not a domain name', async () => {
    const dns = fakeDns({});

    expect(await lookupDmarc(dns, 'exa mple..com')).toEqual([{ name: '_dmarc.exa mple..com', failure: 'not a domain name' }]);
    expect(dns.asked).toEqual([]);
  });
});

describe('the whole check', () => {
  function bucketWith(templates: Record<string, Record<string, string>>) {
    s3.on(ListObjectsV2Command).resolves({ CommonPrefixes: Object.keys(templates).map((name) => ({ Prefix: `templates/${name}/` })) });
    s3.on(GetObjectCommand).rejects(notFound('NoSuchKey'));
    for (const [name, files] of Object.entries(templates)) {
      for (const [file, text] of Object.entries(files)) s3.on(GetObjectCommand, { Key: `templates/${name}/${file}` }).resolves({ Body: body(text) as never });
    }
  }

  it('reports a healthy sender as ok from SES, DNS and the bucket', async () => {
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves(VERIFIED_DOMAIN);
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'noreply@example.com' }).rejects(notFound('NotFoundException'));
    bucketWith({
      newsletter: { 'metadata.json': '{"subject":"News","category":"marketing"}', 'template.html': '<a href="{{ unsubscribeLink }}">Unsubscribe</a>', 'template.txt': 'x' },
      welcome: { 'metadata.json': '{"subject":"Hi"}', 'template.html': '<p>Hi</p>', 'template.txt': 'Hi' },
    });

    const report = await checkDeliverability(
      { sender: 'noreply@example.com', region: 'eu-west-1', bucket: 'b' },
      { ses: new SESv2Client({}), s3: new S3Client({}), dns: fakeDns({ '_dmarc.example.com': [['v=DMARC1; p=quarantine']] }) },
    );

    expect(report.items.map((i) => `${i.id}=${i.state}`)).toEqual(['dkim=ok', 'mail-from=ok', 'dmarc=ok', 'unsubscribe=ok']);
    expect(report.items[3]!.summary).toContain('1 marketing template');
  });

  it.each([
    ['an absolute name (final dot)', 'noreply@example.com.', 'example.com'],
    ['upper case', 'noreply@EXAMPLE.Com', 'example.com'],
    ['an internationalised name, by its A-label', 'noreply@bücher.de', 'xn--bcher-kva.de'],
  ])('checks a sender domain written as %s under the name DNS and SES know', async (_what, sender, domain) => {
    ses.on(GetEmailIdentityCommand).rejects(notFound('NotFoundException'));
    ses.on(GetEmailIdentityCommand, { EmailIdentity: domain }).resolves(VERIFIED_DOMAIN);
    const dns = fakeDns({ [`_dmarc.${domain}`]: [['v=DMARC1; p=reject']] });

    const report = await checkDeliverability({ sender, region: 'eu-west-1' }, { ses: new SESv2Client({}), dns });

    expect(report.domain).toBe(domain);
    expect(dns.asked).toEqual([`_dmarc.${domain}`]);
    expect(report.items.map((i) => `${i.id}=${i.state}`)).toEqual(['dkim=ok', 'mail-from=ok', 'dmarc=ok', 'unsubscribe=unknown']);
    expect(report.items[2]!.summary).toBe('DMARC policy p=reject.');
  });

  it('finds the transactional template that links to unsubscribeLink, and an unreadable one stays out of it', async () => {
    ses.on(GetEmailIdentityCommand).resolves(VERIFIED_DOMAIN);
    bucketWith({
      digest: { 'metadata.json': '{"subject":"Digest"}', 'template.html': '<p>x</p>', 'template.txt': 'Unsubscribe: {{ unsubscribeLink }}' },
      broken: { 'metadata.json': '{not json', 'template.html': '{{ unsubscribeLink }}' },
    });

    const facts = await gatherDeliverability({ sender: 'noreply@example.com', region: 'eu-west-1', bucket: 'b' }, { ses: new SESv2Client({}), s3: new S3Client({}), dns: fakeDns({}) });

    expect(facts.templates).toEqual([
      { name: 'broken', category: 'unreadable', usesUnsubscribeLink: true },
      { name: 'digest', category: 'transactional', usesUnsubscribeLink: true },
    ]);
  });

  it('has no template facts without a bucket, and a failed listing names the S3 permissions', async () => {
    ses.on(GetEmailIdentityCommand).resolves(VERIFIED_DOMAIN);
    s3.on(ListObjectsV2Command).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    const clients = { ses: new SESv2Client({}), s3: new S3Client({}), dns: fakeDns({}) };

    const without = await gatherDeliverability({ sender: 'noreply@example.com', region: 'eu-west-1' }, clients);
    const denied = await gatherDeliverability({ sender: 'noreply@example.com', region: 'eu-west-1', bucket: 'b' }, clients);

    expect(without.templates).toBeNull();
    expect(denied.templates).toEqual({ error: 'AccessDenied: Access Denied', permission: 's3:ListBucket and s3:GetObject on the template bucket' });
  });
});
