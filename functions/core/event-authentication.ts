import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The engine's own events on its bus ("Email Status Changed" from the Feedback Processor,
 * "Webhook Test" from `sesmailengine webhook test`) carry an `engineSignature` in their
 * detail: an HMAC-SHA256 over the detail-type and the rest of the detail, with a key derived
 * from the stack's unsubscribe signing secret, which only the engine's roles (and the
 * account's administrators) may read. Anyone else in the account may be able to put
 * `source: "sesmailengine"` on the bus, but cannot make this field; Webhook Delivery
 * forwards only details it verifies.
 *
 * The detail is signed in a canonical form (object keys sorted, no white space), so the
 * check does not depend on how EventBridge re-serialises the JSON on its way to the queue.
 * The unsubscribe secret never changes while the stack exists (links in sent mail depend
 * on it), so an event waiting 35 hours in the webhook queue still verifies.
 */

export const ENGINE_SIGNATURE_FIELD = 'engineSignature';
export const ENGINE_SIGNATURE_VERSION = 'v1';
/** Domain separation: the derived key signs nothing but engine events. */
const KEY_LABEL = 'sesmailengine event authentication v1';

/** The key that signs engine events, derived from the unsubscribe signing secret. */
export function eventAuthenticationKey(unsubscribeSecret: string): Buffer {
  if (unsubscribeSecret.length === 0) throw new Error('The unsubscribe secret is empty.');
  return createHmac('sha256', Buffer.from(unsubscribeSecret, 'utf8')).update(KEY_LABEL, 'utf8').digest();
}

/** JSON with object keys in code-point order at every depth and no white space. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // undefined and functions have no JSON form; as object members they are left out below.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  const entries = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

function withoutSignature(detail: Record<string, unknown>): Record<string, unknown> {
  const { [ENGINE_SIGNATURE_FIELD]: _signature, ...rest } = detail;
  return rest;
}

function mac(key: Buffer, detailType: string, detail: Record<string, unknown>): Buffer {
  return createHmac('sha256', key).update(`${detailType}\n${canonicalJson(withoutSignature(detail))}`, 'utf8').digest();
}

/** The detail with its `engineSignature` (any previous one replaced). */
export function signEngineDetail<T extends object>(key: Buffer, detailType: string, detail: T): T & { engineSignature: string } {
  const unsigned = withoutSignature(detail as Record<string, unknown>);
  const signature = `${ENGINE_SIGNATURE_VERSION}=${mac(key, detailType, unsigned).toString('base64url')}`;
  return { ...(unsigned as T), [ENGINE_SIGNATURE_FIELD]: signature } as T & { engineSignature: string };
}

export type EngineSignatureCheck = 'valid' | 'missing' | 'invalid';

/** Whether a detail carries a valid `engineSignature` for this detail-type. */
export function checkEngineDetail(key: Buffer, detailType: string, detail: Record<string, unknown>): EngineSignatureCheck {
  const given = detail[ENGINE_SIGNATURE_FIELD];
  if (given === undefined) return 'missing';
  const prefix = `${ENGINE_SIGNATURE_VERSION}=`;
  if (typeof given !== 'string' || !given.startsWith(prefix)) return 'invalid';
  const claimed = Buffer.from(given.slice(prefix.length), 'base64url');
  const expected = mac(key, detailType, detail);
  return claimed.length === expected.length && timingSafeEqual(claimed, expected) ? 'valid' : 'invalid';
}

/** The detail as receivers get it: the engine's signature is for the engine only. */
export function stripEngineSignature(detail: Record<string, unknown>): Record<string, unknown> {
  return ENGINE_SIGNATURE_FIELD in detail ? withoutSignature(detail) : detail;
}
