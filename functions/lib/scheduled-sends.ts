import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { CreateScheduleCommand, type CreateScheduleCommandInput, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { scheduleNameFor, type SendPlan } from '../core/scheduling.js';
import { optionalString, type Env } from './env.js';

/**
 * Holding a request until its sendAt (core/scheduling.ts decides how):
 * - due within 15 minutes: the same message body goes back on the send queue with DelaySeconds;
 * - later: a one-time EventBridge Scheduler schedule in the stack's schedule group puts the
 *   same body on the send queue at sendAt (the scheduler role may only sqs:SendMessage there)
 *   and deletes itself afterwards.
 * Re-enqueuing the body unchanged keeps the event id, so the default emailId stays the same.
 */

export interface SchedulingConfig {
  sendQueueUrl?: string;
  sendQueueArn?: string;
  scheduleGroupName?: string;
  schedulerRoleArn?: string;
}

export function schedulingConfig(env: Env): SchedulingConfig {
  const sendQueueUrl = optionalString(env, 'SEND_QUEUE_URL');
  const sendQueueArn = optionalString(env, 'SEND_QUEUE_ARN');
  const scheduleGroupName = optionalString(env, 'SCHEDULE_GROUP_NAME');
  const schedulerRoleArn = optionalString(env, 'SCHEDULER_ROLE_ARN');
  return {
    ...(sendQueueUrl ? { sendQueueUrl } : {}),
    ...(sendQueueArn ? { sendQueueArn } : {}),
    ...(scheduleGroupName ? { scheduleGroupName } : {}),
    ...(schedulerRoleArn ? { schedulerRoleArn } : {}),
  };
}

/** A hold that will not work however often it is retried (the request is tracked failed SCH002). */
export class SchedulingRefused extends Error {
  override readonly name = 'SchedulingRefused';
}

export interface HoldClients {
  sqs(): SQSClient;
  scheduler(): SchedulerClient;
}

export type Hold = { via: 'queue-delay'; delaySeconds: number } | { via: 'scheduler'; scheduleName: string; alreadyScheduled: boolean };

/** Scheduler errors that a retry would meet again. */
const PERMANENT_SCHEDULER_ERRORS = new Set(['ValidationException', 'ResourceNotFoundException', 'AccessDeniedException', 'ServiceQuotaExceededException']);

export function createScheduleInput(
  config: Required<Pick<SchedulingConfig, 'sendQueueArn' | 'scheduleGroupName' | 'schedulerRoleArn'>>,
  emailId: string,
  expression: string,
  body: string,
): CreateScheduleCommandInput {
  return {
    Name: scheduleNameFor(emailId),
    GroupName: config.scheduleGroupName,
    Description: `SESMailEngine scheduled send of ${emailId}`,
    ScheduleExpression: expression,
    ScheduleExpressionTimezone: 'UTC',
    FlexibleTimeWindow: { Mode: 'OFF' },
    ActionAfterCompletion: 'DELETE',
    State: 'ENABLED',
    Target: {
      Arn: config.sendQueueArn,
      RoleArn: config.schedulerRoleArn,
      Input: body,
      RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
    },
  };
}

function missing(config: SchedulingConfig, names: (keyof SchedulingConfig)[]): string[] {
  const env: Record<keyof SchedulingConfig, string> = {
    sendQueueUrl: 'SEND_QUEUE_URL',
    sendQueueArn: 'SEND_QUEUE_ARN',
    scheduleGroupName: 'SCHEDULE_GROUP_NAME',
    schedulerRoleArn: 'SCHEDULER_ROLE_ARN',
  };
  return names.filter((name) => config[name] === undefined).map((name) => env[name]);
}

/**
 * Holds the message `body` (the request's event) until due. Throws SchedulingRefused when it
 * cannot ever work; any other error is transient (the message returns to the queue and the
 * hold is tried again: a second CreateSchedule conflicts, which counts as scheduled).
 */
export async function holdUntilDue(
  clients: HoldClients,
  config: SchedulingConfig,
  emailId: string,
  body: string,
  plan: Exclude<SendPlan, { kind: 'now' }>,
): Promise<Hold> {
  if (plan.kind === 'delay') {
    const absent = missing(config, ['sendQueueUrl']);
    if (absent.length > 0) throw new SchedulingRefused(`Scheduled sends are not configured (${absent.join(', ')} not set).`);
    await clients.sqs().send(new SendMessageCommand({ QueueUrl: config.sendQueueUrl, MessageBody: body, DelaySeconds: plan.delaySeconds }));
    return { via: 'queue-delay', delaySeconds: plan.delaySeconds };
  }
  const absent = missing(config, ['sendQueueArn', 'scheduleGroupName', 'schedulerRoleArn']);
  if (absent.length > 0) throw new SchedulingRefused(`Scheduled sends are not configured (${absent.join(', ')} not set).`);
  const input = createScheduleInput(config as Required<SchedulingConfig>, emailId, plan.expression, body);
  try {
    await clients.scheduler().send(new CreateScheduleCommand(input));
    return { via: 'scheduler', scheduleName: input.Name!, alreadyScheduled: false };
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    // The same emailId was scheduled by an earlier delivery of this request.
    if (name === 'ConflictException') return { via: 'scheduler', scheduleName: input.Name!, alreadyScheduled: true };
    if (PERMANENT_SCHEDULER_ERRORS.has(name)) {
      throw new SchedulingRefused(`EventBridge Scheduler refused the schedule: ${name}: ${(error as Error).message}`.slice(0, 500), { cause: error });
    }
    throw error;
  }
}
