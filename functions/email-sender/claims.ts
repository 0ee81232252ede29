import type { ErrorCode } from '../core/error-codes.js';
import {
  buildRecord,
  claimTokenOf,
  lastAttemptAt,
  markFailed,
  markSent,
  putFailed,
  readRecord,
  reclaim,
  type ClaimToken,
  type NewRecordFields,
  type SenderTrackingRecord,
} from '../lib/tracking-store.js';
import { Returned, type BatchContext, type RecordOutcome, type Runtime } from './sender-records.js';

/**
 * The tracking record's side of a send: a failure written once, and a claim found in place
 * settled by the interrupted-send window and SES's `Send` event.
 */

export async function writeFailed(rt: Runtime, ctx: BatchContext, fields: NewRecordFields, code: ErrorCode, message: string): Promise<RecordOutcome> {
  const record = buildRecord(fields, 'failed', ctx.now, rt.config.trackingRetentionDays, { code, message });
  const written = await putFailed(rt.clients.ddb, rt.config.trackingTable, record);
  if (written) return { kind: 'failed', emailId: fields.emailId, code, message };
  // A record exists. A finished one wins; a `sending` claim an interrupted attempt left is
  // settled like any other (SES's Send event, else the window), with this failure once
  // SES is known never to have accepted it.
  const existing = await readRecord(rt.clients.ddb, rt.config.trackingTable, fields.emailId);
  if (existing?.status !== 'sending') return { kind: 'duplicate', emailId: fields.emailId };
  const settled = await settleInterruptedClaim(rt, ctx, fields.emailId, existing);
  if (settled !== 'unsent') return settled;
  const marked = await markFailed(rt.clients.ddb, rt.config.trackingTable, fields.emailId, claimTokenOf(existing), { code, message });
  return marked ? { kind: 'failed', emailId: fields.emailId, code, message } : { kind: 'duplicate', emailId: fields.emailId };
}

/**
 * A `sending` claim someone else made: an attempt in flight until the interrupted-send
 * window has passed since it was made; after that, SES's `Send` event is the evidence: the
 * Feedback Processor raises the record to `sent` (and sets sesMessageId) on it. Returns the
 * outcome when the claim is settled or must wait, 'unsent' when SES never accepted it.
 */
export async function settleInterruptedClaim(rt: Runtime, ctx: BatchContext, emailId: string, existing: SenderTrackingRecord): Promise<RecordOutcome | 'unsent'> {
  if (existing.sesMessageId !== undefined) {
    // SES accepted it (its MessageId is known); only the status lags behind.
    await markSent(rt.clients.ddb, rt.config.trackingTable, emailId, { sesMessageId: existing.sesMessageId, sentAt: existing.sentAt ?? ctx.now.toISOString() });
    return { kind: 'duplicate', emailId };
  }
  const since = lastAttemptAt(existing);
  const decidesAt = Date.parse(since) + rt.config.interruptedSendWindowSeconds * 1000;
  if (!(ctx.now.getTime() >= decidesAt)) {
    throw new Returned(`attempt ${existing.sendAttempts ?? 1} claimed this emailId at ${since} and has not finished; waiting for SES's Send event until ${new Date(decidesAt).toISOString()}`);
  }
  return 'unsent';
}

/**
 * The emailId is claimed already. A record past `sending` is a finished duplicate. A
 * `sending` claim that SES never accepted (settleInterruptedClaim) is re-claimed and sent
 * (policy `resend`) or marked failed DUP001 (policy `fail`).
 */
export async function resolveExistingClaim(
  rt: Runtime,
  ctx: BatchContext,
  emailId: string,
  existing: SenderTrackingRecord | undefined,
): Promise<{ token: ClaimToken } | { outcome: RecordOutcome }> {
  if (!existing) throw new Returned('the claim conflicted with a record that is gone; retrying');
  if (existing.status !== 'sending') return { outcome: { kind: 'duplicate', emailId } };
  const settled = await settleInterruptedClaim(rt, ctx, emailId, existing);
  if (settled !== 'unsent') return { outcome: settled };
  const held = claimTokenOf(existing);
  const since = lastAttemptAt(existing);
  const waited = `no Send event from SES within ${rt.config.interruptedSendWindowSeconds} s`;
  if (rt.config.interruptedSendPolicy === 'fail') {
    const message = `An attempt claimed this emailId at ${since} and never finished (${waited}); the interrupted-send policy is "fail", so it is not sent again.`;
    const marked = await markFailed(rt.clients.ddb, rt.config.trackingTable, emailId, held, { code: 'DUP001', message });
    return { outcome: marked ? { kind: 'failed', emailId, code: 'DUP001', message } : { kind: 'duplicate', emailId } };
  }
  const note = `resent after an interrupted attempt (attempt ${held.attempt} claimed at ${since}; ${waited})`;
  const token = await reclaim(rt.clients.ddb, rt.config.trackingTable, emailId, held, ctx.now.toISOString(), note);
  if (!token) throw new Returned('the interrupted claim changed (SES feedback raised it, or another sender re-claimed it); retrying to find out');
  return { token };
}
