import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import type { SendMessageCommandInput } from '@aws-sdk/client-sqs';
import type { PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../functions/lib/clients.js';
import { emailIdFromTags } from '../../functions/core/message-tags.js';
import { statusRank } from '../../functions/core/status-priority.js';
import type { RecordStatus } from '../../functions/core/types.js';
import type { StandIns } from './stand-ins.js';

/**
 * Faults and observation for the real handler code, put into the AWS SDK clients as
 * middleware (so the handlers run unchanged):
 *
 * - CrashGate: a container that "dies" at its N-th AWS call of an invocation. That call and
 *   every later one never return; calls already on the wire finish (their effects are real).
 * - instrumentDynamo: injects errors before a call (nothing happened) or after it (the
 *   write happened, the answer was lost), and records every status write on the tracking
 *   table together with the status it replaced, read atomically by the same write
 *   (ReturnValues ALL_OLD), so a regression is caught whatever order the writes finish in.
 * - instrumentSes: injects SES errors and counts accepted sends per emailId (from the tag).
 * - fakeSqs / fakeEventBus: the Feedback Processor's SQS and EventBridge, wired to a
 *   SimulatedQueue and to a recorder that can refuse.
 */

type AnyMiddleware = (next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>, context: { commandName?: string }) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

interface WithStack {
  middlewareStack: { add(middleware: never, options: { step: 'initialize'; name: string; priority?: 'high' | 'normal' | 'low' }): void };
}

function addMiddleware(client: unknown, name: string, middleware: AnyMiddleware): void {
  (client as WithStack).middlewareStack.add(middleware as never, { step: 'initialize', name, priority: 'high' });
}

const HANG = <T>(): Promise<T> => new Promise<T>(() => undefined);

export class CrashGate {
  crashed = false;
  private calls = 0;
  private crashAt: number | undefined;
  private pending = 0;
  private onCrash: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  /** Resolves when the container dies (at the armed call). */
  signal: Promise<void> = HANG();

  /** Starts an invocation: the container dies at its `crashAt`-th AWS call (never, if undefined). */
  arm(crashAt: number | undefined): void {
    this.calls = 0;
    this.crashAt = crashAt;
    this.signal = new Promise<void>((resolve) => (this.onCrash = resolve));
  }

  async around<T>(call: () => Promise<T>): Promise<T> {
    if (this.crashed) return HANG();
    this.calls += 1;
    if (this.crashAt !== undefined && this.calls >= this.crashAt) {
      this.crashed = true;
      this.onCrash?.();
      if (this.pending === 0) this.wakeIdle();
      return HANG();
    }
    this.pending += 1;
    try {
      return await call();
    } finally {
      this.pending -= 1;
      if (this.pending === 0) this.wakeIdle();
    }
  }

  /** Resolves once no call of this container is on the wire any more. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

export class InjectedFault extends Error {
  constructor(name: string, message: string, readonly $metadata: Record<string, unknown> = { httpStatusCode: 400 }) {
    super(message);
    this.name = name;
  }
}

export const dynamoFaults = {
  throttled: () => new InjectedFault('ProvisionedThroughputExceededException', 'The level of configured provisioned throughput for the table was exceeded.'),
  throttling: () => new InjectedFault('ThrottlingException', 'Rate of requests exceeds the allowed throughput.'),
  internal: () => new InjectedFault('InternalServerError', 'Internal server error', { httpStatusCode: 500 }),
  timeout: () => new InjectedFault('TimeoutError', 'Connection timed out after 10000 ms', {}),
};

export interface DynamoCall {
  command: string;
  table: string;
  /** The item's key as text (emailId, pk or email), or the batch's keys joined. */
  key: string;
  input: Record<string, unknown>;
  write: boolean;
}

export interface Fault {
  phase: 'before' | 'after';
  error: Error;
}

export interface StatusWrite {
  emailId: string;
  command: string;
  from: RecordStatus | undefined;
  to: RecordStatus | 'deleted';
}

export interface DynamoHooks {
  trackingTable: string;
  gate?: CrashGate;
  fault?: (call: DynamoCall) => Fault | undefined;
  onStatusWrite?: (write: StatusWrite) => void;
}

// Command names as the client's middleware sees them (lib-dynamodb runs the low-level commands).
const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

function keyText(input: Record<string, unknown>): string {
  const key = (input.Key ?? input.Item) as Record<string, unknown> | undefined;
  if (key) return String(key.emailId ?? key.pk ?? key.email ?? JSON.stringify(key));
  const items = input.RequestItems as Record<string, { Keys?: Record<string, unknown>[] }> | undefined;
  if (items) {
    return Object.values(items)
      .flatMap((request) => (request.Keys ?? []).map((k) => String(k.emailId ?? k.pk ?? k.email)))
      .sort()
      .join(',');
  }
  return '';
}

/** The status an UpdateExpression sets, if it sets one. */
export function statusSetBy(input: Record<string, unknown>): RecordStatus | undefined {
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  const placeholder = Object.keys(names).find((p) => names[p] === 'status');
  if (!placeholder) return undefined;
  const escaped = placeholder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`${escaped}\\s*=\\s*(:[A-Za-z0-9_]+)`).exec(String(input.UpdateExpression ?? ''));
  return match ? (values[match[1]!] as RecordStatus) : undefined;
}

export function instrumentDynamo(ddb: DynamoDBDocumentClient, hooks: DynamoHooks): void {
  addMiddleware(ddb, 'reliabilityDynamo', (next, context) => (args) => {
    const command = context.commandName ?? 'unknown';
    const input = args.input;
    const table = (input.TableName as string | undefined) ?? Object.keys((input.RequestItems as object | undefined) ?? {})[0] ?? '';
    const call: DynamoCall = { command, table, key: keyText(input), input, write: WRITES.has(command) };
    const run = async () => {
      const fault = hooks.fault?.(call);
      if (fault?.phase === 'before') throw fault.error;
      const observe = table === hooks.trackingTable && call.write && input.ReturnValues === undefined;
      const result = await next(observe ? { ...args, input: { ...input, ReturnValues: 'ALL_OLD' } } : args);
      if (observe) {
        const old = result.output.Attributes as { status?: RecordStatus } | undefined;
        delete result.output.Attributes;
        const to: RecordStatus | 'deleted' | undefined =
          command === 'DeleteItemCommand'
            ? 'deleted'
            : command === 'PutItemCommand'
              ? ((input.Item as { status?: RecordStatus }).status)
              : statusSetBy(input);
        if (to !== undefined) hooks.onStatusWrite?.({ emailId: keyText(input), command, from: old?.status, to });
      }
      if (fault?.phase === 'after') throw fault.error;
      return result;
    };
    return hooks.gate ? hooks.gate.around(run) : run();
  });
}

/** True when a status write moved a record backwards (a deletion may only remove a `sending` claim). */
export function isRegression(write: StatusWrite): boolean {
  if (write.to === 'deleted') return write.from !== 'sending';
  if (write.from === undefined) return false;
  return statusRank(write.to) < statusRank(write.from);
}

export interface SesSend {
  emailId: string;
  messageId: string;
  to: string;
}

export interface SesHooks {
  gate?: CrashGate;
  /** Called before each SendEmail with the emailId and how many times it was attempted before. */
  fault?: (emailId: string, attempt: number) => Error | undefined;
  /** Every send SES accepted. */
  sends: SesSend[];
  /** Called as SES accepts a send; the sender sees SES's answer only once this settles. */
  onSend?: (send: SesSend) => Promise<void> | void;
}

export function sesEmailId(input: SendEmailCommandInput): string {
  const tags = Object.fromEntries((input.EmailTags ?? []).map((tag) => [tag.Name, tag.Value]));
  return emailIdFromTags(tags) ?? '(untagged)';
}

export function instrumentSes(ses: SESv2Client, hooks: SesHooks, attempts: Map<string, number>): void {
  addMiddleware(ses, 'reliabilitySes', (next, context) => (args) => {
    const run = async () => {
      if (context.commandName !== 'SendEmailCommand') return next(args);
      const input = args.input as unknown as SendEmailCommandInput;
      const emailId = sesEmailId(input);
      const attempt = attempts.get(emailId) ?? 0;
      attempts.set(emailId, attempt + 1);
      const error = hooks.fault?.(emailId, attempt);
      if (error) throw error;
      const result = await next(args);
      const send = { emailId, messageId: String(result.output.MessageId), to: input.Destination?.ToAddresses?.[0] ?? '' };
      hooks.sends.push(send);
      await hooks.onSend?.(send);
      return result;
    };
    return hooks.gate ? hooks.gate.around(run) : run();
  });
}

export const sesThrottle = () =>
  new InjectedFault('TooManyRequestsException', 'Maximum sending rate exceeded.', { httpStatusCode: 429 });

/** Fresh clients on the stand-ins' endpoints (one set per simulated container). */
export function standInClients(env: StandIns) {
  const common = { region: env.region, credentials: env.credentials };
  const raw = new DynamoDBClient({ ...common, endpoint: env.dynamoDbEndpoint });
  const ddb = documentClient(raw);
  const s3 = new S3Client({ ...common, endpoint: env.s3Endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
  const ses = new SESv2Client({ ...common, endpoint: env.sesEndpoint });
  return {
    ddb,
    s3,
    ses,
    destroy() {
      raw.destroy();
      s3.destroy();
      ses.destroy();
    },
  };
}

/** Gates an S3 client's calls (a dead container fetches no template). */
export function gateClient(client: unknown, gate: CrashGate): void {
  addMiddleware(client, 'reliabilityGate', (next) => (args) => gate.around(() => next(args)));
}

/** The Feedback Processor's SQS client: SendMessage lands on a simulated queue. */
export function fakeSqs(
  send: (body: string, delaySeconds: number) => string,
  options: { gate?: CrashGate; fault?: () => Error | undefined } = {},
) {
  return {
    send(command: { input: SendMessageCommandInput }) {
      const run = async () => {
        const error = options.fault?.();
        if (error) throw error;
        return { MessageId: send(command.input.MessageBody ?? '', command.input.DelaySeconds ?? 0) };
      };
      return options.gate ? options.gate.around(run) : run();
    },
  };
}

export type BusBehaviour = 'accept' | 'throw' | 'refuse-entries';

/** The Feedback Processor's EventBridge client: records accepted entries, or refuses as told. */
export function fakeEventBus(
  behaviour: () => BusBehaviour,
  published: Record<string, unknown>[],
  options: { gate?: CrashGate } = {},
) {
  return {
    send(command: { input: PutEventsCommandInput }) {
      const run = async () => {
        const entries = command.input.Entries ?? [];
        const mode = behaviour();
        if (mode === 'throw') throw new InjectedFault('InternalException', 'EventBridge is unavailable', { httpStatusCode: 500 });
        if (mode === 'refuse-entries') {
          return { FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' })) };
        }
        for (const entry of entries) published.push(JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>);
        return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `evt-${published.length}-${i}` })) };
      };
      return options.gate ? options.gate.around(run) : run();
    },
  };
}
