/**
 * Rules SES applies to a SendEmail that aws-ses-v2-local does not, so the engine meets them
 * locally and in tests as it would on AWS: SES answers a breach with 400 BadRequestException,
 * which the SDK raises as that error (and the engine tracks as SES004).
 *
 * Message tags (EmailTags): name and value each 1-255 ASCII letters, digits, "_" or "-".
 * The API reference says "no more than 256 characters"; SES's own answer to a longer tag is
 * "Tag value cannot exceed 255 characters.", so the stand-in holds to that, the stricter of
 * the two. The messages are SES's own (as SES v1 gives them for the same checks, in the
 * same order: name before value, presence before length before characters). SES accepts
 * "." and "@" in a value too, against its documentation; the stand-in keeps to the
 * documented alphabet, which is what the engine writes.
 */
// A default import of a CommonJS module is its module.exports: the object the stand-in's server reads its handler from.
import getAccountModule from 'aws-ses-v2-local/dist/v2/getAccount.js';
import sendEmailModule from 'aws-ses-v2-local/dist/v2/sendEmail.js';
import { SesQuota } from './ses-quota.js';

export interface StandInRequest {
  body: unknown;
  headers: Record<string, string>;
  header(name: string): string | undefined;
}

export interface StandInResponse {
  status(code: number): StandInResponse;
  /** Sets a response header (express's `res.set`). */
  set(name: string, value: string): StandInResponse;
  send(payload: unknown): StandInResponse;
}

export type StandInHandler = (req: StandInRequest, res: StandInResponse, next: (error?: unknown) => void) => void;

export const MAX_TAG_CHARS = 255;
const TAG_CHARS = /^[A-Za-z0-9_-]*$/;

/** What SES would say about this tag, or undefined when SES accepts it. */
export function messageTagProblem(name: string, value: string): string | undefined {
  if (name === '') return 'The tag name must be specified.';
  if (value === '') return 'The tag value must be specified.';
  if (name.length > MAX_TAG_CHARS) return `Tag name cannot exceed ${MAX_TAG_CHARS} characters.`;
  if (!TAG_CHARS.test(name)) return `Invalid tag name <${name}>: only alphanumeric ASCII characters, '_', and '-' are allowed.`;
  if (value.length > MAX_TAG_CHARS) return `Tag value cannot exceed ${MAX_TAG_CHARS} characters.`;
  if (!TAG_CHARS.test(value)) return `Invalid tag value <${value}>: only alphanumeric ASCII characters, '_', and '-' are allowed.`;
  return undefined;
}

/**
 * What SES would refuse in a SendEmail request body (its JSON, as the SDK sends it), or
 * undefined. Shapes the stand-in's own schema check refuses (EmailTags not a list, a Name
 * that is not a string) are left to it.
 */
export function sendEmailProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const tags = (body as { EmailTags?: unknown }).EmailTags;
  if (!Array.isArray(tags)) return undefined;
  for (const tag of tags) {
    if (typeof tag !== 'object' || tag === null) continue;
    const { Name, Value } = tag as { Name?: unknown; Value?: unknown };
    const problem = messageTagProblem(typeof Name === 'string' ? Name : '', typeof Value === 'string' ? Value : '');
    if (problem) return problem;
  }
  return undefined;
}

/**
 * The account's sending quota the stand-in keeps (ses-quota.ts): one per process, as the
 * stand-in's handlers are; the SES stand-in of local mode sets its own. Unlimited by default.
 */
let activeQuota = new SesQuota();

export function useSesQuota(quota: SesQuota): void {
  activeQuota = quota;
}

export function currentSesQuota(): SesQuota {
  return activeQuota;
}

/** The stand-in's SendEmail handler, answering first what SES would refuse, then the quota. */
export function withSesSendRules(handler: StandInHandler): StandInHandler {
  return (req, res, next) => {
    const problem = sendEmailProblem(req.body);
    if (problem !== undefined) {
      res.status(400).set('x-amzn-ErrorType', 'BadRequestException').send({ message: problem });
      return;
    }
    const refusal = activeQuota.admit();
    if (refusal) {
      res.status(refusal.statusCode).set('x-amzn-ErrorType', refusal.errorType).send({ message: refusal.message });
      return;
    }
    handler(req, res, next);
  };
}

/** GetAccount: the stand-in's own answers only with an account in its environment; this one reports the quota. */
const getAccount: StandInHandler = (_req, res) => {
  res.status(200).send(activeQuota.account());
};

const ENFORCED = Symbol.for('sesmailengine.sesSendRules');
type Marked = StandInHandler & { [ENFORCED]?: true };

/**
 * Answers GetAccount with the quota, and puts the rules in front of aws-ses-v2-local's SendEmail handler, for its HTTP server and
 * for local mode's in-process calls alike, and returns that handler. The server takes the
 * handler from its module when it starts, so this runs before any server is started; a
 * second call changes nothing.
 */
export function enforceSesSendRules(): StandInHandler {
  const account = getAccountModule as unknown as { default: Marked };
  if (!account.default[ENFORCED]) {
    const replaced: Marked = getAccount;
    replaced[ENFORCED] = true;
    account.default = replaced;
  }
  const sendEmail = sendEmailModule as unknown as { default: Marked };
  if (!sendEmail.default[ENFORCED]) {
    const wrapped: Marked = withSesSendRules(sendEmail.default);
    wrapped[ENFORCED] = true;
    sendEmail.default = wrapped;
  }
  return sendEmail.default;
}
