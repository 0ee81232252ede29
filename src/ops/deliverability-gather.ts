import { Resolver } from 'node:dns/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetEmailIdentityCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { awsErrorInfo } from '../aws/clients.js';
import { validateTemplateMetadata } from '../../functions/core/template-render.js';
import { METADATA_FILE, TEMPLATES_PREFIX } from '../../functions/lib/template-seeding.js';
import {
  evaluateDeliverability,
  isDmarcRecord,
  organisationalDomain,
  senderDomain,
  type DeliverabilityFacts,
  type DeliverabilityReport,
  type IdentityFacts,
  type LookupFailure,
  type TemplateFacts,
  type TxtAnswer,
} from './deliverability.js';
import { listTemplateNames } from './template-bucket.js';

/**
 * The facts `deliverability.ts` judges, gathered: the sender's SES identities (GetEmailIdentity
 * on the domain and on the address), the DMARC TXT records, and the category and body of each
 * template in the bucket. Every part fails on its own into an "unknown" answer, and DNS has a
 * short timeout, so a machine without network gets its report quickly.
 */

/** What DNS the check needs; node's Resolver has it. */
export interface TxtResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

/** How long one DNS query may take, and the whole DMARC lookup. */
export const DNS_TIMEOUT_MS = 1_000;
export const DNS_TRIES = 2;
const DMARC_DEADLINE_MS = 5_000;

/**
 * The system's resolver (or `servers`) with a short timeout, so an offline machine answers
 * "could not look up" within a few seconds (the resolver waits 1 s, then 2 s on its retry).
 */
export function systemResolver(servers?: string[]): TxtResolver {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: DNS_TRIES });
  if (servers) resolver.setServers(servers);
  return resolver;
}

export interface DeliverabilityTarget {
  /** The stack's DefaultSenderEmail. */
  sender: string;
  region: string;
  /** The template bucket; absent when there is no stack to read templates from. */
  bucket?: string;
}

export interface DeliverabilityClients {
  ses: SESv2Client;
  s3?: S3Client;
  dns?: TxtResolver;
}

function failure(error: unknown, permission: string): LookupFailure {
  const info = awsErrorInfo(error);
  const denied = /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(info.name) || info.status === 403;
  return { error: `${info.name}: ${info.message}`, ...(denied ? { permission } : {}) };
}

/** SES v2 GetEmailIdentity as the checks need it; null when SES has no such identity. */
export async function readIdentity(ses: SESv2Client, identity: string): Promise<IdentityFacts | null | LookupFailure> {
  try {
    // A stand-in that answers nothing (or a mock without this command) reads as an empty identity.
    const out = (await ses.send(new GetEmailIdentityCommand({ EmailIdentity: identity }))) ?? {};
    const dkim = out.DkimAttributes;
    const mailFrom = out.MailFromAttributes;
    return {
      identity,
      ...(out.IdentityType ? { type: out.IdentityType } : {}),
      verified: out.VerifiedForSendingStatus === true,
      ...(dkim
        ? {
            dkim: {
              signingEnabled: dkim.SigningEnabled === true,
              ...(dkim.Status ? { status: dkim.Status } : {}),
              tokens: (dkim.Tokens ?? []).filter((t): t is string => typeof t === 'string' && /^[A-Za-z0-9_-]+$/.test(t)),
              ...(dkim.SigningAttributesOrigin ? { origin: dkim.SigningAttributesOrigin } : {}),
            },
          }
        : {}),
      ...(mailFrom
        ? {
            mailFrom: {
              ...(mailFrom.MailFromDomain ? { domain: mailFrom.MailFromDomain } : {}),
              ...(mailFrom.MailFromDomainStatus ? { status: mailFrom.MailFromDomainStatus } : {}),
              ...(mailFrom.BehaviorOnMxFailure ? { behaviorOnMxFailure: mailFrom.BehaviorOnMxFailure } : {}),
            },
          }
        : {}),
    };
  } catch (error) {
    const info = awsErrorInfo(error);
    if (info.name === 'NotFoundException' || info.status === 404) return null;
    return failure(error, 'ses:GetEmailIdentity');
  }
}

/** Codes of an answer that says "no such record", as opposed to "could not ask". */
const NO_RECORD = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

export async function lookupTxt(dns: TxtResolver, name: string, deadlineMs = DMARC_DEADLINE_MS): Promise<TxtAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('no answer in time'), { code: 'ETIMEOUT' })), deadlineMs);
  });
  try {
    const answer = await Promise.race([dns.resolveTxt(name), deadline]);
    return { name, records: answer.map((chunks) => chunks.join('')) };
  } catch (error) {
    const code = (error as { code?: string })?.code;
    if (code && NO_RECORD.has(code)) return { name, records: [] };
    return { name, failure: code ?? (error as Error)?.message ?? String(error) };
  } finally {
    clearTimeout(timer);
  }
}

const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i;

/** `_dmarc.<domain>`, then the organisational domain's when the first has no DMARC record. */
export async function lookupDmarc(dns: TxtResolver, domain: string): Promise<TxtAnswer[]> {
  // The sender comes from the stack's parameters: only a plain domain name goes to DNS.
  if (!DOMAIN_NAME.test(domain)) return [{ name: `_dmarc.${domain}`, failure: 'not a domain name' }];
  const first = await lookupTxt(dns, `_dmarc.${domain}`);
  const org = organisationalDomain(domain);
  if ('failure' in first || first.records.some(isDmarcRecord)) return [first];
  const answers = org === domain ? [first] : [first, await lookupTxt(dns, `_dmarc.${org}`)];
  if (answers.some((answer) => 'failure' in answer || answer.records.some(isDmarcRecord))) return answers;
  // No DMARC record anywhere: that is only an answer if DNS knows the domain at all. A resolver
  // that reaches no public DNS (an offline machine, a closed network) says NXDOMAIN for every name.
  if (await nonExistent(dns, org)) {
    return [{ name: `_dmarc.${domain}`, failure: `${org} itself does not resolve here: no public DNS from this machine, or the domain does not exist` }];
  }
  return answers;
}

/** True when DNS says the name does not exist (NXDOMAIN); a name with no TXT record exists. */
async function nonExistent(dns: TxtResolver, name: string): Promise<boolean> {
  try {
    await Promise.race([dns.resolveTxt(name), new Promise((resolve) => setTimeout(resolve, DMARC_DEADLINE_MS).unref())]);
    return false;
  } catch (error) {
    const code = (error as { code?: string })?.code;
    return code === 'ENOTFOUND' || code === 'NXDOMAIN';
  }
}

async function readText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out?.Body ? await out.Body.transformToString('utf-8') : undefined;
  } catch (error) {
    const info = awsErrorInfo(error);
    if (info.name === 'NoSuchKey' || info.status === 404) return undefined;
    throw error;
  }
}

const USES_UNSUBSCRIBE_LINK = /\bunsubscribeLink\b/;

/** The category of each template in the bucket and whether its body links to unsubscribeLink. */
export async function readTemplateFacts(s3: S3Client, bucket: string): Promise<TemplateFacts[] | LookupFailure> {
  try {
    const names = await listTemplateNames(s3, bucket);
    return await Promise.all(
      names.map(async (name): Promise<TemplateFacts> => {
        const prefix = `${TEMPLATES_PREFIX}/${name}/`;
        const [metadata, html, text] = await Promise.all([
          readText(s3, bucket, `${prefix}${METADATA_FILE}`),
          readText(s3, bucket, `${prefix}template.html`),
          readText(s3, bucket, `${prefix}template.txt`),
        ]);
        let category: TemplateFacts['category'] = 'unreadable';
        try {
          const valid = validateTemplateMetadata(JSON.parse(metadata ?? ''));
          if (valid.ok) category = valid.value.category;
        } catch {
          // not JSON: unreadable
        }
        return { name, category, usesUnsubscribeLink: USES_UNSUBSCRIBE_LINK.test(html ?? '') || USES_UNSUBSCRIBE_LINK.test(text ?? '') };
      }),
    );
  } catch (error) {
    return failure(error, 's3:ListBucket and s3:GetObject on the template bucket');
  }
}

export async function gatherDeliverability(target: DeliverabilityTarget, clients: DeliverabilityClients): Promise<DeliverabilityFacts> {
  const domain = senderDomain(target.sender);
  const dns = clients.dns ?? systemResolver();
  const [domainIdentity, addressIdentity, dmarc, templates] = await Promise.all([
    readIdentity(clients.ses, domain),
    readIdentity(clients.ses, target.sender),
    lookupDmarc(dns, domain),
    target.bucket && clients.s3 ? readTemplateFacts(clients.s3, target.bucket) : Promise.resolve(null),
  ]);
  return { sender: target.sender, region: target.region, domainIdentity, addressIdentity, dmarc, templates };
}

/** The deliverability report of a sender: the data API behind `status`, `install` and the dashboard. */
export async function checkDeliverability(target: DeliverabilityTarget, clients: DeliverabilityClients): Promise<DeliverabilityReport> {
  return evaluateDeliverability(await gatherDeliverability(target, clients));
}
