/**
 * An in-process stand-in for EventBridge Scheduler's one-time schedules, served on local
 * mode's HTTP server in Scheduler's REST-JSON protocol, so the engine's handler code (and
 * `sesmailengine schedule cancel --local`) use the AWS SDK's SchedulerClient unchanged:
 *
 *   POST   /schedules/{Name}                   CreateSchedule (at() expressions, UTC, SQS targets)
 *   GET    /schedules/{Name}?groupName=        GetSchedule
 *   DELETE /schedules/{Name}?groupName=        DeleteSchedule
 *   GET    /schedules?ScheduleGroup=&NamePrefix=  ListSchedules
 *
 * At its time a schedule puts its Input on the target queue (found by ARN) and, with
 * ActionAfterCompletion DELETE, deletes itself. With a --data-dir the schedules are kept in
 * schedules.json and re-armed on the next start (overdue ones fire at once).
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsResponse } from './local-server.js';
import type { LocalQueue } from './local-queue.js';

export interface StoredSchedule {
  name: string;
  groupName: string;
  arn: string;
  expression: string;
  /** Epoch ms the schedule fires at. */
  at: number;
  targetArn: string;
  roleArn: string;
  input: string;
  actionAfterCompletion: 'DELETE' | 'NONE';
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  createdAt: number;
  /** Set once it fired (kept only with ActionAfterCompletion NONE). */
  firedAt?: number;
}

export interface LocalSchedulerOptions {
  account: string;
  region: string;
  /** Queues a schedule may target, by ARN. */
  queues: LocalQueue[];
  /** Keeps schedules across restarts here (schedules.json). */
  dataDir?: string;
  log?: (line: string) => void;
}

class SchedulerError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const NAME_PATTERN = /^[0-9a-zA-Z-_.]{1,64}$/;
const AT_PATTERN = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/;
/** setTimeout's longest delay; later schedules wait in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** REST-JSON answers; an error names its type in `__type`, which the SDK reads. */
function response(status: number, body: unknown, errorType?: string): AwsResponse {
  return { status, contentType: 'application/json', body: JSON.stringify(errorType ? { __type: errorType, ...(body as object) } : body) };
}

export class LocalScheduler {
  private readonly schedules = new Map<string, StoredSchedule>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly file: string | undefined;
  private closed = false;

  constructor(private readonly options: LocalSchedulerOptions) {
    this.file = options.dataDir ? join(options.dataDir, 'schedules.json') : undefined;
    // Left by a process killed while saving (the data dir is locked: no other process writes it).
    if (this.file) rmSync(`${this.file}.tmp`, { force: true });
    if (this.file && existsSync(this.file)) {
      try {
        const saved = JSON.parse(readFileSync(this.file, 'utf8')) as StoredSchedule[];
        for (const schedule of saved) this.schedules.set(key(schedule.groupName, schedule.name), schedule);
      } catch (error) {
        options.log?.(`schedules.json could not be read (${(error as Error).message}); starting without schedules`);
      }
    }
    for (const schedule of this.schedules.values()) this.arm(schedule);
  }

  list(groupName?: string, namePrefix?: string): StoredSchedule[] {
    return [...this.schedules.values()]
      .filter((s) => (groupName === undefined || s.groupName === groupName) && (namePrefix === undefined || s.name.startsWith(namePrefix)))
      .sort((a, b) => a.at - b.at || a.name.localeCompare(b.name));
  }

  get(groupName: string, name: string): StoredSchedule | undefined {
    return this.schedules.get(key(groupName, name));
  }

  create(name: string, body: Record<string, unknown>): StoredSchedule {
    if (!NAME_PATTERN.test(name)) throw new SchedulerError('ValidationException', 400, `Schedule name ${name} does not match [0-9a-zA-Z-_.]{1,64}.`);
    const groupName = typeof body.GroupName === 'string' && body.GroupName !== '' ? body.GroupName : 'default';
    if (this.schedules.has(key(groupName, name))) {
      throw new SchedulerError('ConflictException', 409, `Schedule ${name} already exists.`);
    }
    const expression = String(body.ScheduleExpression ?? '');
    const match = AT_PATTERN.exec(expression);
    if (!match) throw new SchedulerError('ValidationException', 400, `Local mode serves only one-time at(yyyy-mm-ddThh:mm:ss) schedules, got "${expression}".`);
    const zone = body.ScheduleExpressionTimezone ?? 'UTC';
    if (zone !== 'UTC') throw new SchedulerError('ValidationException', 400, `Local mode serves only ScheduleExpressionTimezone UTC, got "${String(zone)}".`);
    const at = Date.parse(`${match[1]}Z`);
    if (!Number.isFinite(at)) throw new SchedulerError('ValidationException', 400, `Invalid date in ${expression}.`);
    const target = (body.Target ?? {}) as Record<string, unknown>;
    const targetArn = String(target.Arn ?? '');
    if (!this.options.queues.some((q) => q.arn === targetArn)) {
      throw new SchedulerError('ValidationException', 400, `Local mode can target only its queues; ${targetArn || 'no Target.Arn'} is not one.`);
    }
    if (typeof target.RoleArn !== 'string' || target.RoleArn === '') throw new SchedulerError('ValidationException', 400, 'Target.RoleArn is required.');
    const schedule: StoredSchedule = {
      name,
      groupName,
      arn: `arn:aws:scheduler:${this.options.region}:${this.options.account}:schedule/${groupName}/${name}`,
      expression,
      at,
      targetArn,
      roleArn: target.RoleArn,
      input: typeof target.Input === 'string' ? target.Input : '{}',
      actionAfterCompletion: body.ActionAfterCompletion === 'DELETE' ? 'DELETE' : 'NONE',
      state: body.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
      ...(typeof body.Description === 'string' ? { description: body.Description } : {}),
      createdAt: Date.now(),
    };
    this.schedules.set(key(groupName, name), schedule);
    this.save();
    this.arm(schedule);
    return schedule;
  }

  delete(groupName: string, name: string): void {
    const k = key(groupName, name);
    if (!this.schedules.has(k)) throw new SchedulerError('ResourceNotFoundException', 404, `Schedule ${name} does not exist.`);
    this.schedules.delete(k);
    this.disarm(k);
    this.save();
  }

  /** Answers one REST-JSON request for /schedules…; undefined when the path is not Scheduler's. */
  handle(method: string, url: URL, rawBody: string): AwsResponse | undefined {
    const path = url.pathname;
    if (path !== '/schedules' && !path.startsWith('/schedules/')) return undefined;
    try {
      if (path === '/schedules') {
        if (method !== 'GET') throw new SchedulerError('ValidationException', 400, `${method} /schedules is not served.`);
        const group = url.searchParams.get('ScheduleGroup') ?? undefined;
        const prefix = url.searchParams.get('NamePrefix') ?? undefined;
        return response(200, { Schedules: this.list(group, prefix).map(summary) });
      }
      const name = decodeURIComponent(path.slice('/schedules/'.length));
      const group = url.searchParams.get('groupName') ?? 'default';
      if (method === 'POST') {
        let body: unknown;
        try {
          body = rawBody === '' ? {} : JSON.parse(rawBody);
        } catch {
          throw new SchedulerError('ValidationException', 400, 'The request body is not valid JSON.');
        }
        const created = this.create(name, (body ?? {}) as Record<string, unknown>);
        return response(200, { ScheduleArn: created.arn });
      }
      if (method === 'DELETE') {
        this.delete(group, name);
        return response(200, {});
      }
      if (method === 'GET') {
        const found = this.get(group, name);
        if (!found) throw new SchedulerError('ResourceNotFoundException', 404, `Schedule ${name} does not exist.`);
        return response(200, details(found));
      }
      throw new SchedulerError('ValidationException', 400, `${method} ${path} is not served.`);
    } catch (error) {
      if (error instanceof SchedulerError) return response(error.status, { Message: error.message }, error.type);
      throw error;
    }
  }

  close(): void {
    this.closed = true;
    for (const k of [...this.timers.keys()]) this.disarm(k);
  }

  private arm(schedule: StoredSchedule): void {
    if (this.closed || schedule.state !== 'ENABLED' || schedule.firedAt !== undefined) return;
    const k = key(schedule.groupName, schedule.name);
    this.disarm(k);
    const wait = Math.max(0, schedule.at - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(k);
      if (schedule.at > Date.now()) this.arm(schedule);
      else this.fire(schedule);
    }, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
    this.timers.set(k, timer);
  }

  private disarm(k: string): void {
    const timer = this.timers.get(k);
    if (timer) clearTimeout(timer);
    this.timers.delete(k);
  }

  private fire(schedule: StoredSchedule): void {
    const k = key(schedule.groupName, schedule.name);
    if (this.schedules.get(k) !== schedule) return;
    const queue = this.options.queues.find((q) => q.arn === schedule.targetArn);
    if (queue) {
      queue.send(schedule.input);
      this.options.log?.(`schedule ${schedule.groupName}/${schedule.name} fired: message sent to ${queue.name}`);
    }
    if (schedule.actionAfterCompletion === 'DELETE') this.schedules.delete(k);
    else schedule.firedAt = Date.now();
    this.save();
  }

  private save(): void {
    if (!this.file || this.closed) return;
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, JSON.stringify([...this.schedules.values()]));
    renameSync(temporary, this.file);
  }
}

function key(groupName: string, name: string): string {
  return `${groupName}/${name}`;
}

function summary(s: StoredSchedule) {
  return {
    Arn: s.arn,
    Name: s.name,
    GroupName: s.groupName,
    State: s.state,
    CreationDate: s.createdAt / 1000,
    LastModificationDate: s.createdAt / 1000,
    Target: { Arn: s.targetArn },
  };
}

function details(s: StoredSchedule) {
  return {
    Arn: s.arn,
    Name: s.name,
    GroupName: s.groupName,
    ScheduleExpression: s.expression,
    ScheduleExpressionTimezone: 'UTC',
    State: s.state,
    ActionAfterCompletion: s.actionAfterCompletion,
    FlexibleTimeWindow: { Mode: 'OFF' },
    CreationDate: s.createdAt / 1000,
    LastModificationDate: s.createdAt / 1000,
    ...(s.description !== undefined ? { Description: s.description } : {}),
    Target: { Arn: s.targetArn, RoleArn: s.roleArn, Input: s.input },
  };
}
