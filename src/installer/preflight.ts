import { GetAccountCommand, GetEmailIdentityCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { CliError } from '../errors.js';
import { awsErrorInfo } from '../aws/clients.js';
import { ensureBucket } from './bucket.js';
import type { InstallSession } from './install-session.js';

/**
 * The installer's pre-flight checks: each asks AWS one question and turns the answer into
 * either a fact the install goes on with or a CliError that says what to do. The advice
 * texts are pure functions so tests read them without any client. `runPreflight` runs the
 * install's checks in order, on screen. Region and credentials are src/aws-account.ts's,
 * shared with every command that works on AWS.
 */

// ---------------------------------------------------------------------------------------
// SES: sender identity and account

export type SenderCheck =
  | { verified: true; identity: string; via: 'address' | 'domain' }
  | { verified: false; identity: string; problem: 'missing' | 'pending' | 'failed'; status?: string };

interface IdentityState {
  exists: boolean;
  verified: boolean;
  status?: string;
}

async function identityState(ses: SESv2Client, identity: string): Promise<IdentityState> {
  try {
    const out = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
    return {
      exists: true,
      verified: out.VerifiedForSendingStatus === true,
      ...(out.VerificationStatus ? { status: out.VerificationStatus } : {}),
    };
  } catch (error) {
    const info = awsErrorInfo(error);
    if (info.name === 'NotFoundException' || info.status === 404) return { exists: false, verified: false };
    throw error;
  }
}

/** Whether SES v2 lets this address send: verified itself, or through its verified domain. */
export async function checkSenderIdentity(ses: SESv2Client, sender: string): Promise<SenderCheck> {
  const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
  const address = await identityState(ses, sender);
  if (address.verified) return { verified: true, identity: sender, via: 'address' };
  const byDomain = await identityState(ses, domain);
  if (byDomain.verified) return { verified: true, identity: domain, via: 'domain' };
  const seen = address.exists ? { identity: sender, state: address } : byDomain.exists ? { identity: domain, state: byDomain } : undefined;
  if (!seen) return { verified: false, identity: sender, problem: 'missing' };
  const failed = seen.state.status === 'FAILED' || seen.state.status === 'TEMPORARY_FAILURE';
  return {
    verified: false,
    identity: seen.identity,
    problem: failed ? 'failed' : 'pending',
    ...(seen.state.status ? { status: seen.state.status } : {}),
  };
}

/** The sentence and the fix for a sender that cannot send yet. */
export function senderAdvice(check: Extract<SenderCheck, { verified: false }>, sender: string, region: string): { message: string; fix: string } {
  const console = `Amazon SES console (${region}) → Configuration → Identities`;
  if (check.problem === 'missing') {
    return {
      message: `The sender ${sender} is not a verified SES identity in ${region} (neither the address nor its domain).`,
      fix: [
        'Verify the address (SES e-mails a link to click):',
        `  aws sesv2 create-email-identity --email-identity ${sender} --region ${region}`,
        `or verify the whole domain with DKIM in the ${console} → Create identity.`,
      ].join('\n'),
    };
  }
  if (check.problem === 'pending') {
    return {
      message: `The SES identity ${check.identity} in ${region} is not verified yet (${check.status ?? 'PENDING'}).`,
      fix: check.identity.includes('@')
        ? `Click the link in the verification e-mail sent to ${check.identity} (resend it from the ${console}), then run install again.`
        : `Publish the DKIM CNAME records shown in the ${console} → ${check.identity} in your DNS, wait for SES to see them, then run install again.`,
    };
  }
  return {
    message: `Verification of the SES identity ${check.identity} in ${region} failed (${check.status ?? 'FAILED'}).`,
    fix: `Delete and re-create it: aws sesv2 delete-email-identity --email-identity ${check.identity} --region ${region} && aws sesv2 create-email-identity --email-identity ${check.identity} --region ${region}`,
  };
}

export interface SesAccount {
  productionAccess: boolean;
  sendingEnabled: boolean;
  max24HourSend?: number;
  maxSendRate?: number;
  sentLast24Hours?: number;
  enforcementStatus?: string;
}

export async function readSesAccount(ses: SESv2Client): Promise<SesAccount> {
  const out = await ses.send(new GetAccountCommand({}));
  return {
    productionAccess: out.ProductionAccessEnabled === true,
    sendingEnabled: out.SendingEnabled !== false,
    ...(out.SendQuota?.Max24HourSend !== undefined ? { max24HourSend: out.SendQuota.Max24HourSend } : {}),
    ...(out.SendQuota?.MaxSendRate !== undefined ? { maxSendRate: out.SendQuota.MaxSendRate } : {}),
    ...(out.SendQuota?.SentLast24Hours !== undefined ? { sentLast24Hours: out.SendQuota.SentLast24Hours } : {}),
    ...(out.EnforcementStatus ? { enforcementStatus: out.EnforcementStatus } : {}),
  };
}

export function quotaLine(account: SesAccount): string {
  const fmt = (n?: number) => (n === undefined ? '?' : n.toLocaleString('en-US'));
  return `SES quota: ${fmt(account.max24HourSend)} emails/24h, ${fmt(account.maxSendRate)}/s; ${fmt(account.sentLast24Hours)} sent in the last 24h.`;
}

/** Warnings about the SES account that do not stop an install. */
export function accountWarnings(account: SesAccount, region: string): string[] {
  const warnings: string[] = [];
  if (!account.productionAccess) {
    warnings.push(
      [
        `Your SES account in ${region} is in the sandbox: mail reaches only verified addresses (and the mailbox simulator), at most 200 a day.`,
        `  Request production access: Amazon SES console (${region}) → Get set up → Request production access,`,
        `  or: aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL --website-url <https://your.site> --use-case-description "<how you send>" --region ${region}`,
      ].join('\n'),
    );
  }
  if (!account.sendingEnabled) {
    warnings.push(
      `Sending is disabled for your SES account in ${region}${account.enforcementStatus ? ` (${account.enforcementStatus})` : ''}: nothing will be sent until it is re-enabled (aws sesv2 put-account-sending-attributes --sending-enabled --region ${region}, or AWS Support if SES paused it).`,
    );
  }
  return warnings;
}

/**
 * The checks of an install in order, on screen: the sender identity (asked to go on if it is
 * not verified, unless --skip-sender-check or --yes), the SES account, then the bucket,
 * created if absent.
 */
export async function runPreflight(session: InstallSession, bucketName: string, sender: string | undefined, skipSenderCheck: boolean): Promise<void> {
  const { ui, aws, region } = session;
  if (sender) {
    session.step(`check sender identity ${sender}`);
    const check = await checkSenderIdentity(aws.ses, sender);
    if (check.verified) {
      ui.ok(`Sender ${sender} is verified in SES (${check.via === 'domain' ? `through the domain ${check.identity}` : 'address'}).`);
    } else {
      const advice = senderAdvice(check, sender, region);
      session.step(`sender not verified: ${check.problem}`);
      if (skipSenderCheck) {
        ui.warn(`${advice.message}\n  ${advice.fix.replace(/\n/g, '\n  ')}`);
      } else if (session.confirm) {
        ui.warn(`${advice.message}\n  ${advice.fix.replace(/\n/g, '\n  ')}`);
        const goOn = await session.confirm('Install anyway (nothing is sent until the sender is verified)?', false);
        if (!goOn) throw new CliError('INS004', advice.message, advice.fix);
      } else {
        throw new CliError('INS004', advice.message, `${advice.fix}\nTo install before verification completes, add --skip-sender-check.`);
      }
    }
  }
  session.step('check SES account');
  const sesAccount = await readSesAccount(aws.ses);
  ui.ok(quotaLine(sesAccount));
  for (const warning of accountWarnings(sesAccount, region)) ui.warn(warning);

  session.step(`ensure bucket ${bucketName}`);
  const bucket = await ensureBucket(aws.s3, bucketName, region);
  ui.ok(bucket.created ? `Created bucket ${bucketName} (encrypted, private, versioned, TLS only).` : `Using bucket ${bucketName}.`);
}
