import type { StackEvent } from '@aws-sdk/client-cloudformation';
import type { CloudFormationApi, StackDescription } from './cloudformation.js';
import { StackStatus } from './stack-status.js';

/**
 * Following one stack operation: which events are new, how many resources are done,
 * which failed and why. StackProgress is pure (pages of events in, facts out); the
 * polling loop below does the I/O through the narrow CloudFormation interface, and the
 * spinner stays in the command.
 */

export interface ProgressEvent {
  id: string;
  timestamp: Date;
  logicalId: string;
  type: string;
  status: string;
  reason?: string;
  physicalId?: string;
  /** True for the stack's own events (the resource is the stack itself). */
  isStack: boolean;
}

/** A resource the operation left in place instead of deleting it (its DeletionPolicy keeps it). */
export interface RetainedResource {
  logicalId: string;
  type: string;
  physicalId?: string;
}

export interface ResourceFailure {
  logicalId: string;
  type: string;
  status: string;
  reason: string;
}

const DONE_STATUSES = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'DELETE_COMPLETE',
  'DELETE_SKIPPED',
  'IMPORT_COMPLETE',
]);

/** Reasons CloudFormation gives resources it stopped because another one failed. */
const KNOCK_ON_REASON = /cancel+ed|The following resource\(s\) failed to/i;

export interface StackProgressOptions {
  stackName: string;
  /** When the operation was started (local clock). */
  startTime: Date;
  /** The ClientRequestToken sent with the operation: events stamped with another token are older. */
  clientRequestToken?: string;
  /** Resources expected to change (the template's count, or the stack's for a delete). */
  total: number;
  /** Tolerated difference between this machine's clock and AWS's. */
  clockSkewMs?: number;
}

export class StackProgress {
  private readonly seen = new Set<string>();
  private readonly latest = new Map<string, string>();
  private readonly failureList: ResourceFailure[] = [];
  private readonly skipped = new Map<string, RetainedResource>();
  private eventCount = 0;

  constructor(private readonly options: StackProgressOptions) {}

  get total(): number {
    return Math.max(this.options.total, this.latest.size);
  }

  /** Resources whose latest event in this operation says they are finished. */
  get done(): number {
    let n = 0;
    for (const status of this.latest.values()) if (DONE_STATUSES.has(status)) n++;
    return n;
  }

  /** "12/31 resources" */
  get counter(): string {
    return `${this.done}/${this.total} resources`;
  }

  /**
   * The resources that failed, with CloudFormation's reasons. The root causes come first;
   * resources that were only cancelled because of them are listed only when nothing else is.
   */
  get failures(): ResourceFailure[] {
    const causes = this.failureList.filter((f) => !KNOCK_ON_REASON.test(f.reason));
    return causes.length > 0 ? causes : [...this.failureList];
  }

  /** Resources whose deletion CloudFormation skipped (DELETE_SKIPPED): they still exist, outside the stack. */
  get retained(): RetainedResource[] {
    return [...this.skipped.values()];
  }

  /** Whether any event of this operation has been seen yet (it has started in CloudFormation). */
  get started(): boolean {
    return this.eventCount > 0;
  }

  /** Whether an event belongs to the operation being followed. */
  belongs(event: StackEvent): boolean {
    const { clientRequestToken, startTime, clockSkewMs = 5_000 } = this.options;
    if (clientRequestToken && event.ClientRequestToken) return event.ClientRequestToken === clientRequestToken;
    const at = event.Timestamp ? new Date(event.Timestamp).getTime() : 0;
    return at >= startTime.getTime() - clockSkewMs;
  }

  /**
   * Looks at one page (newest first). Returns the events not seen before that belong to
   * this operation, and whether an older page could still hold more of them.
   */
  scanPage(page: StackEvent[]): { fresh: StackEvent[]; wantOlder: boolean } {
    const fresh: StackEvent[] = [];
    for (const event of page) {
      if (!event.EventId || this.seen.has(event.EventId) || !this.belongs(event)) {
        return { fresh, wantOlder: false };
      }
      fresh.push(event);
    }
    return { fresh, wantOlder: page.length > 0 };
  }

  /**
   * Records new events, given newest first as DescribeStackEvents lists them, and returns
   * them oldest first. CloudFormation's order is kept as it is: events of one second can
   * share a timestamp, so sorting by time could put a COMPLETE before its IN_PROGRESS.
   */
  accept(eventsNewestFirst: StackEvent[]): ProgressEvent[] {
    const ordered = eventsNewestFirst.filter((e) => e.EventId && !this.seen.has(e.EventId)).reverse();
    const out: ProgressEvent[] = [];
    for (const event of ordered) {
      this.seen.add(event.EventId as string);
      this.eventCount++;
      const progressEvent = this.toProgressEvent(event);
      out.push(progressEvent);
      if (progressEvent.isStack) continue;
      this.latest.set(progressEvent.logicalId, progressEvent.status);
      if (progressEvent.status === 'DELETE_SKIPPED') {
        this.skipped.set(progressEvent.logicalId, {
          logicalId: progressEvent.logicalId,
          type: progressEvent.type,
          ...(progressEvent.physicalId ? { physicalId: progressEvent.physicalId } : {}),
        });
      }
      if (progressEvent.status.endsWith('_FAILED')) {
        this.failureList.push({
          logicalId: progressEvent.logicalId,
          type: progressEvent.type,
          status: progressEvent.status,
          reason: progressEvent.reason ?? 'No reason given.',
        });
      }
    }
    return out;
  }

  private toProgressEvent(event: StackEvent): ProgressEvent {
    const logicalId = event.LogicalResourceId ?? '?';
    const type = event.ResourceType ?? '?';
    return {
      id: event.EventId as string,
      timestamp: event.Timestamp ? new Date(event.Timestamp) : new Date(0),
      logicalId,
      type,
      status: event.ResourceStatus ?? '?',
      ...(event.ResourceStatusReason ? { reason: event.ResourceStatusReason } : {}),
      ...(event.PhysicalResourceId ? { physicalId: event.PhysicalResourceId } : {}),
      isStack: type === 'AWS::CloudFormation::Stack' && logicalId === this.options.stackName,
    };
  }
}

/** Fetches the events that appeared since the last call: page by page until a known one. */
export async function fetchNewEvents(
  api: CloudFormationApi,
  stackId: string,
  progress: StackProgress,
): Promise<ProgressEvent[]> {
  const fresh: StackEvent[] = [];
  let token: string | undefined;
  for (let page = 0; page < 50; page++) {
    const out = await api.events(stackId, token);
    const scan = progress.scanPage(out.events);
    fresh.push(...scan.fresh);
    if (!scan.wantOlder || !out.nextToken) break;
    token = out.nextToken;
  }
  return progress.accept(fresh);
}

export interface WaitOptions {
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onEvents?: (events: ProgressEvent[], progress: StackProgress) => void;
  /**
   * Statuses the stack had before the operation (an executed change set): until the
   * operation's first event shows up, seeing one of them means it has not started yet.
   */
  statusesBefore?: string[];
}

/** Polls a stable status from before the operation may be taken for the end (a safety net). */
export const MAX_POLLS_BEFORE_START = 20;

export const DEFAULT_POLL_MS = 3_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls until the stack leaves its in-progress state. Returns the final description, or
 * undefined when the stack is gone (a finished delete).
 */
export async function waitForStack(
  api: CloudFormationApi,
  stackId: string,
  progress: StackProgress,
  options: WaitOptions = {},
): Promise<StackDescription | undefined> {
  const sleep = options.sleep ?? defaultSleep;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const before = new Set(options.statusesBefore ?? []);
  for (let poll = 1; ; poll++) {
    await sleep(pollMs);
    const stack = await api.describe(stackId);
    // Read events after the status so the final events are never missed.
    const events = stack ? await fetchNewEvents(api, stackId, progress).catch(() => []) : [];
    if (events.length > 0) options.onEvents?.(events, progress);
    if (!stack) return undefined;
    const notStarted = before.has(stack.status.name) && !progress.started && poll < MAX_POLLS_BEFORE_START;
    if (stack.status.isStable && !notStarted) return stack;
  }
}
