import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { clientConfig, s3Config, watchCalls, type AwsTarget } from '../aws/clients.js';
import { createCloudFormationApi, type CloudFormationApi, type StackDescription } from '../aws/cloudformation.js';
import type { StackProgress } from '../aws/stack-progress.js';
import type { RunLog } from '../install-log.js';
import { systemResolver, type TxtResolver } from '../ops/deliverability-gather.js';
import type { Ui } from '../ui.js';
import { followOperation } from './follow.js';
import type { ProbeClients } from './named-resources.js';

/**
 * What every step of one install shares once the region is known: the AWS clients, the
 * screen, the run log, the stack name and region, the clock that tells CloudFormation's
 * time from the installer's own, and the one way to ask a yes/no question.
 */

export interface InstallClients extends ProbeClients {
  sts: STSClient;
  ses: SESv2Client;
  s3: S3Client;
  lambda: LambdaClient;
  cloudFormation: CloudFormationApi;
  /** DNS for the closing deliverability check (DMARC). */
  dns: TxtResolver;
}

/** The clients of an install in one region; every call goes to the run log (and stderr under --debug). */
export function installClients(
  target: AwsTarget,
  log: RunLog,
  given: Partial<InstallClients> = {},
  debug?: NodeJS.WritableStream,
): InstallClients {
  const listen = (client: unknown) => {
    watchCalls(client, (c) => {
      const line = `aws ${c.service}.${c.operation} ${c.ms}ms${c.error ? ` error=${c.error}` : ''}`;
      log.write(line);
      debug?.write(`[debug] ${line}\n`);
    });
    return client;
  };
  const config = clientConfig(target);
  const cfnClient = given.cloudFormation ? undefined : (listen(new CloudFormationClient(config)) as CloudFormationClient);
  return {
    sts: given.sts ?? (listen(new STSClient(config)) as STSClient),
    ses: given.ses ?? (listen(new SESv2Client(config)) as SESv2Client),
    s3: given.s3 ?? (listen(new S3Client(s3Config(target))) as S3Client),
    lambda: given.lambda ?? (listen(new LambdaClient(config)) as LambdaClient),
    cloudFormation: given.cloudFormation ?? createCloudFormationApi(cfnClient as CloudFormationClient),
    dynamodb: given.dynamodb ?? (listen(new DynamoDBClient(config)) as DynamoDBClient),
    // The configured endpoint wins over the host of a queue URL, as in status.
    sqs: given.sqs ?? (listen(new SQSClient({ ...config, useQueueUrlAsEndpoint: false })) as SQSClient),
    logs: given.logs ?? (listen(new CloudWatchLogsClient(config)) as CloudWatchLogsClient),
    secrets: given.secrets ?? (listen(new SecretsManagerClient(config)) as SecretsManagerClient),
    events: given.events ?? (listen(new EventBridgeClient(config)) as EventBridgeClient),
    dns: given.dns ?? systemResolver(),
  };
}

/** Writes one step of the install to the run log. */
export function logStep(log: RunLog, message: string): void {
  log.write(`step ${message}`);
}

/** The installer's own time: the whole run minus the waits for CloudFormation and for the person. */
export class InstallTimer {
  readonly started = Date.now();
  private waitingMs = 0;
  private promptMs = 0;

  /** Times a wait for AWS (a stack operation, a change set). */
  waiting<T>(body: () => Promise<T>): Promise<T> {
    return this.timed(body, (ms) => (this.waitingMs += ms));
  }

  /** Times a question. */
  prompting<T>(body: () => Promise<T>): Promise<T> {
    return this.timed(body, (ms) => (this.promptMs += ms));
  }

  /** Seconds spent besides CloudFormation and prompts so far. */
  overheadSeconds(): number {
    return (Date.now() - this.started - this.waitingMs - this.promptMs) / 1000;
  }

  private timed<T>(body: () => Promise<T>, add: (ms: number) => void): Promise<T> {
    const start = Date.now();
    return body().finally(() => add(Date.now() - start));
  }
}

/** A yes/no question with its default; undefined under --yes, where nothing is asked. */
export type Confirm = (message: string, defaultValue: boolean) => Promise<boolean>;

export interface InstallSessionInit {
  aws: InstallClients;
  ui: Ui;
  log: RunLog;
  stackName: string;
  region: string;
  timer: InstallTimer;
  confirm: Confirm | undefined;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class InstallSession {
  readonly aws: InstallClients;
  readonly ui: Ui;
  readonly log: RunLog;
  readonly stackName: string;
  readonly region: string;
  readonly timer: InstallTimer;
  /** Asks, timed as prompt time; undefined under --yes. */
  readonly confirm: Confirm | undefined;
  private readonly followTiming: { pollMs?: number; sleep?: (ms: number) => Promise<void> };

  constructor(init: InstallSessionInit) {
    this.aws = init.aws;
    this.ui = init.ui;
    this.log = init.log;
    this.stackName = init.stackName;
    this.region = init.region;
    this.timer = init.timer;
    const confirm = init.confirm;
    this.confirm = confirm && ((message, defaultValue) => this.timer.prompting(() => confirm(message, defaultValue)));
    this.followTiming = {
      ...(init.pollMs !== undefined ? { pollMs: init.pollMs } : {}),
      ...(init.sleep ? { sleep: init.sleep } : {}),
    };
  }

  /** Poll interval and sleep for waits (tests make them instant). */
  get timing(): { pollMs?: number; sleep?: (ms: number) => Promise<void> } {
    return this.followTiming;
  }

  step(message: string): void {
    logStep(this.log, message);
  }

  /** Follows a stack operation on screen until it ends, timed as waiting. */
  follow(stackId: string, progress: StackProgress, verb: string, statusesBefore?: string[]): Promise<StackDescription | undefined> {
    return this.timer.waiting(() =>
      followOperation(this.aws.cloudFormation, stackId, progress, this.stackName, {
        ui: this.ui,
        log: this.log,
        verb,
        ...(statusesBefore ? { statusesBefore } : {}),
        ...this.followTiming,
      }),
    );
  }
}
