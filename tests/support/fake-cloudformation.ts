import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  UpdateStackCommand,
  type CreateStackCommandInput,
  type Parameter,
  type StackEvent,
  type UpdateStackCommandInput,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * An in-memory CloudFormation behind aws-sdk-client-mock. Each stack operation queues the
 * steps AWS would go through (statuses and resource events, with realistic reasons); one
 * step happens per DescribeStacks call, i.e. per poll of the code under test, so a test
 * with fake timers sees the same sequences a real install sees:
 *
 *   create:   CREATE_IN_PROGRESS → resources → CREATE_COMPLETE
 *   update:   UPDATE_IN_PROGRESS → resources → UPDATE_COMPLETE_CLEANUP_IN_PROGRESS → UPDATE_COMPLETE
 *   no-op:    UpdateStack fails with ValidationError "No updates are to be performed."
 *   rollback: CREATE_IN_PROGRESS → CREATE_FAILED (reason) → ROLLBACK_IN_PROGRESS → ROLLBACK_COMPLETE
 *   delete:   DELETE_IN_PROGRESS → resources (retained tables DELETE_SKIPPED) → DELETE_COMPLETE, then gone
 */

export type Outcome = 'succeed' | 'fail';

export interface FakeResource {
  logicalId: string;
  type: string;
  /** Retained on delete (DeletionPolicy Retain / RetainExceptOnCreate). */
  retain?: boolean;
}

interface Step {
  status?: string;
  reason?: string;
  events: { logicalId: string; type: string; status: string; reason?: string }[];
  after?: () => void;
}

export interface FakeStack {
  stackId: string;
  name: string;
  status: string;
  reason?: string;
  parameters: Record<string, string>;
  outputs: Record<string, string>;
  tags: Record<string, string>;
  events: StackEvent[];
  pending: Step[];
  token?: string;
  deleted: boolean;
  /** When the running operation started, and how many of its steps have happened. */
  opStartedAt?: number;
  applied?: number;
}

export const DEFAULT_RESOURCES: FakeResource[] = [
  { logicalId: 'EmailBus', type: 'AWS::Events::EventBus' },
  { logicalId: 'SendQueue', type: 'AWS::SQS::Queue' },
  { logicalId: 'SendDeadLetterQueue', type: 'AWS::SQS::Queue' },
  { logicalId: 'EmailTrackingTable', type: 'AWS::DynamoDB::Table', retain: true },
  { logicalId: 'SuppressionTable', type: 'AWS::DynamoDB::Table', retain: true },
  { logicalId: 'CountersTable', type: 'AWS::DynamoDB::Table', retain: true },
  { logicalId: 'EmailSenderRole', type: 'AWS::IAM::Role' },
  { logicalId: 'EmailSenderFunction', type: 'AWS::Lambda::Function' },
  { logicalId: 'TemplateSeederFunction', type: 'AWS::Lambda::Function' },
];

function mockCloudFormation() {
  return mockClient(CloudFormationClient);
}

export function validationError(message: string): Error {
  return Object.assign(new Error(message), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
}

export class FakeCloudFormation {
  readonly stacks: FakeStack[] = [];
  /** The aws-sdk-client-mock stub, unless the fake serves HTTP instead (see fake-aws-server.ts). */
  readonly mock?: ReturnType<typeof mockCloudFormation>;
  /** Every call, in order: [command, input]. */
  readonly calls: [string, Record<string, unknown>][] = [];
  resources: FakeResource[] = DEFAULT_RESOURCES;
  /** How the next create/update/delete ends. */
  nextOutcome: Outcome = 'succeed';
  failing = { logicalId: 'EmailSenderFunction', type: 'AWS::Lambda::Function', reason: 'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey."' };
  pageSize = 4;
  private seq = 0;

  /** In wall-clock mode (the HTTP fake), one step happens every stepMs instead of one per poll. */
  private readonly stepMs?: number;

  constructor(options: { mock?: boolean; stepMs?: number } = {}) {
    if (options.stepMs) this.stepMs = options.stepMs;
    if (options.mock === false) return;
    const m = mockCloudFormation();
    this.mock = m;
    m.on(DescribeStacksCommand).callsFake((input: { StackName?: string }) => this.describeStacks(input));
    m.on(CreateStackCommand).callsFake((input: CreateStackCommandInput) => this.createStack(input));
    m.on(UpdateStackCommand).callsFake((input: UpdateStackCommandInput) => this.updateStack(input));
    m.on(DeleteStackCommand).callsFake((input: { StackName: string; ClientRequestToken?: string }) => this.deleteStack(input));
    m.on(DescribeStackEventsCommand).callsFake((input: { StackName: string; NextToken?: string }) => this.describeEvents(input));
    m.on(ListStackResourcesCommand).callsFake((input: { StackName: string }) => this.listResources(input));
  }

  restore(): void {
    this.mock?.restore();
  }

  /** Runs one CloudFormation action by name (for the HTTP fake); throws like AWS does. */
  handle(action: string, input: Record<string, unknown>): object {
    switch (action) {
      case 'DescribeStacks':
        return this.describeStacks(input as { StackName?: string });
      case 'CreateStack':
        return this.createStack(input as unknown as CreateStackCommandInput);
      case 'UpdateStack':
        return this.updateStack(input as unknown as UpdateStackCommandInput);
      case 'DeleteStack':
        return this.deleteStack(input as { StackName: string });
      case 'DescribeStackEvents':
        return this.describeEvents(input as { StackName: string });
      case 'ListStackResources':
        return this.listResources(input as { StackName: string });
      default:
        throw validationError(`The fake does not implement ${action}.`);
    }
  }

  /** A stack that exists before the test starts. */
  seed(name: string, status: string, parameters: Record<string, string> = {}, outputs: Record<string, string> = {}): FakeStack {
    const stack: FakeStack = {
      stackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/${++this.seq}`,
      name,
      status,
      parameters,
      outputs,
      tags: {},
      events: [],
      pending: [],
      deleted: false,
    };
    this.stacks.push(stack);
    return stack;
  }

  live(name: string): FakeStack | undefined {
    return this.stacks.find((s) => !s.deleted && (s.name === name || s.stackId === name));
  }

  private find(nameOrId: string): FakeStack | undefined {
    return this.stacks.find((s) => s.stackId === nameOrId) ?? this.live(nameOrId);
  }

  private record(command: string, input: object) {
    this.calls.push([command, input as Record<string, unknown>]);
  }

  /** Outputs a finished install has. */
  outputsFor(name: string): Record<string, string> {
    return {
      EventBusName: `${name}-EmailBus`,
      EventBusArn: `arn:aws:events:us-east-1:123456789012:event-bus/${name}-EmailBus`,
      CustomerIAMPolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: `arn:aws:events:us-east-1:123456789012:event-bus/${name}-EmailBus` }],
      }),
      TrackingTableName: `${name}-EmailTracking`,
      SuppressionTableName: `${name}-Suppression`,
      CountersTableName: `${name}-Counters`,
      SendDeadLetterQueueUrl: `https://sqs.us-east-1.amazonaws.com/123456789012/${name}-send-dlq`,
      TemplateBucketName: this.live(name)?.parameters.ArtifactBucket ?? 'bucket',
    };
  }

  private pushEvent(stack: FakeStack, logicalId: string, type: string, status: string, reason?: string) {
    stack.events.unshift({
      StackId: stack.stackId,
      StackName: stack.name,
      EventId: `${logicalId}-${status}-${++this.seq}`,
      LogicalResourceId: logicalId,
      PhysicalResourceId: logicalId === stack.name ? stack.stackId : `${stack.name}-${logicalId}`,
      ResourceType: type,
      ResourceStatus: status as StackEvent['ResourceStatus'],
      ...(reason ? { ResourceStatusReason: reason } : {}),
      Timestamp: new Date(),
      ...(stack.token ? { ClientRequestToken: stack.token } : {}),
    });
  }

  private stackEvent(stack: FakeStack, status: string, reason?: string) {
    if (reason === 'User Initiated') {
      stack.opStartedAt = Date.now();
      stack.applied = 0;
    }
    stack.status = status;
    stack.reason = reason;
    this.pushEvent(stack, stack.name, 'AWS::CloudFormation::Stack', status, reason);
  }

  private advance(stack: FakeStack) {
    let due = 1;
    if (this.stepMs) {
      const elapsed = Date.now() - (stack.opStartedAt ?? Date.now());
      due = Math.floor(elapsed / this.stepMs) - (stack.applied ?? 0);
    }
    for (let i = 0; i < due; i++) {
      const step = stack.pending.shift();
      if (!step) return;
      stack.applied = (stack.applied ?? 0) + 1;
      for (const e of step.events) this.pushEvent(stack, e.logicalId, e.type, e.status, e.reason);
      if (step.status) this.stackEvent(stack, step.status, step.reason);
      step.after?.();
    }
  }

  private resolveParameters(params: Parameter[] | undefined, previous: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of params ?? []) {
      if (!p.ParameterKey) continue;
      if (p.UsePreviousValue) {
        if (!(p.ParameterKey in previous)) {
          throw validationError(`Invalid input for parameter key ${p.ParameterKey}. Cannot specify usePreviousValue as true for a parameter key not in the previous template`);
        }
        out[p.ParameterKey] = previous[p.ParameterKey]!;
      } else out[p.ParameterKey] = p.ParameterValue ?? '';
    }
    return out;
  }

  private resourceSteps(verb: 'CREATE' | 'UPDATE' | 'DELETE', resources: FakeResource[]): Step[] {
    const steps: Step[] = [];
    for (let i = 0; i < resources.length; i += 3) {
      const group = resources.slice(i, i + 3);
      if (verb === 'DELETE') {
        steps.push({
          events: group.flatMap((r) =>
            r.retain
              ? [{ logicalId: r.logicalId, type: r.type, status: 'DELETE_SKIPPED' }]
              : [
                  { logicalId: r.logicalId, type: r.type, status: 'DELETE_IN_PROGRESS' },
                  { logicalId: r.logicalId, type: r.type, status: 'DELETE_COMPLETE' },
                ],
          ),
        });
      } else {
        steps.push({ events: group.map((r) => ({ logicalId: r.logicalId, type: r.type, status: `${verb}_IN_PROGRESS` })) });
        steps.push({ events: group.map((r) => ({ logicalId: r.logicalId, type: r.type, status: `${verb}_COMPLETE` })) });
      }
    }
    return steps;
  }

  private describeStacks(input: { StackName?: string }) {
    this.record('DescribeStacks', input);
    const stack = input.StackName ? this.find(input.StackName) : undefined;
    if (!stack || (stack.deleted && stack.stackId !== input.StackName)) {
      throw validationError(`Stack with id ${input.StackName} does not exist`);
    }
    this.advance(stack);
    return {
      Stacks: [
        {
          StackId: stack.stackId,
          StackName: stack.name,
          StackStatus: stack.status,
          ...(stack.reason ? { StackStatusReason: stack.reason } : {}),
          CreationTime: new Date(),
          Parameters: Object.entries(stack.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
          Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
          Tags: Object.entries(stack.tags).map(([Key, Value]) => ({ Key, Value })),
        },
      ],
    };
  }

  private createStack(input: CreateStackCommandInput) {
    this.record('CreateStack', input);
    if (this.live(input.StackName!)) throw Object.assign(new Error(`Stack [${input.StackName}] already exists`), { name: 'AlreadyExistsException' });
    const stack = this.seed(input.StackName!, 'CREATE_IN_PROGRESS', this.resolveParameters(input.Parameters, {}));
    stack.token = input.ClientRequestToken;
    stack.tags = Object.fromEntries((input.Tags ?? []).map((t) => [t.Key!, t.Value!]));
    this.stackEvent(stack, 'CREATE_IN_PROGRESS', 'User Initiated');
    if (this.nextOutcome === 'succeed') {
      stack.pending = [
        ...this.resourceSteps('CREATE', this.resources),
        { status: 'CREATE_COMPLETE', events: [], after: () => (stack.outputs = this.outputsFor(stack.name)) },
      ];
    } else {
      const ok = this.resources.filter((r) => r.logicalId !== this.failing.logicalId).slice(0, 3);
      const cancelled = this.resources.filter((r) => r.logicalId !== this.failing.logicalId).slice(3, 5);
      stack.pending = [
        ...this.resourceSteps('CREATE', ok),
        {
          events: [
            { logicalId: this.failing.logicalId, type: this.failing.type, status: 'CREATE_IN_PROGRESS' },
            ...cancelled.map((r) => ({ logicalId: r.logicalId, type: r.type, status: 'CREATE_IN_PROGRESS' })),
          ],
        },
        {
          events: [
            { logicalId: this.failing.logicalId, type: this.failing.type, status: 'CREATE_FAILED', reason: this.failing.reason },
            ...cancelled.map((r) => ({ logicalId: r.logicalId, type: r.type, status: 'CREATE_FAILED', reason: 'Resource creation cancelled' })),
          ],
        },
        {
          status: 'ROLLBACK_IN_PROGRESS',
          reason: `The following resource(s) failed to create: [${this.failing.logicalId}]. Rollback requested by user.`,
          events: [],
        },
        ...this.resourceSteps('DELETE', ok.map((r) => ({ ...r, retain: false }))),
        { status: 'ROLLBACK_COMPLETE', events: [] },
      ];
    }
    this.nextOutcome = 'succeed';
    return { StackId: stack.stackId };
  }

  private updateStack(input: UpdateStackCommandInput) {
    this.record('UpdateStack', input);
    const stack = this.live(input.StackName!);
    if (!stack) throw validationError(`Stack [${input.StackName}] does not exist`);
    if (!['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'].includes(stack.status)) {
      throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`);
    }
    const parameters = this.resolveParameters(input.Parameters, stack.parameters);
    const same =
      JSON.stringify(Object.entries(parameters).sort()) === JSON.stringify(Object.entries(stack.parameters).sort()) &&
      (input.TemplateBody ?? '') === ((stack as FakeStack & { template?: string }).template ?? input.TemplateBody ?? '');
    if (same) throw validationError('No updates are to be performed.');
    const before = stack.parameters;
    stack.parameters = parameters;
    stack.token = input.ClientRequestToken;
    this.stackEvent(stack, 'UPDATE_IN_PROGRESS', 'User Initiated');
    const changed = this.resources.filter((r) => r.type === 'AWS::Lambda::Function');
    if (this.nextOutcome === 'succeed') {
      stack.pending = [
        ...this.resourceSteps('UPDATE', changed),
        { status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', events: [] },
        { status: 'UPDATE_COMPLETE', events: [], after: () => (stack.outputs = this.outputsFor(stack.name)) },
      ];
    } else {
      stack.pending = [
        { events: [{ logicalId: this.failing.logicalId, type: this.failing.type, status: 'UPDATE_IN_PROGRESS' }] },
        { events: [{ logicalId: this.failing.logicalId, type: this.failing.type, status: 'UPDATE_FAILED', reason: this.failing.reason }] },
        { status: 'UPDATE_ROLLBACK_IN_PROGRESS', reason: `The following resource(s) failed to update: [${this.failing.logicalId}].`, events: [] },
        { events: [{ logicalId: this.failing.logicalId, type: this.failing.type, status: 'UPDATE_COMPLETE' }], after: () => (stack.parameters = before) },
        { status: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', events: [] },
        { status: 'UPDATE_ROLLBACK_COMPLETE', events: [] },
      ];
    }
    this.nextOutcome = 'succeed';
    return { StackId: stack.stackId };
  }

  private deleteStack(input: { StackName: string; ClientRequestToken?: string }) {
    this.record('DeleteStack', input);
    const stack = this.find(input.StackName);
    if (!stack || stack.deleted) return {};
    stack.token = input.ClientRequestToken;
    this.stackEvent(stack, 'DELETE_IN_PROGRESS', 'User Initiated');
    const created = stack.status === 'ROLLBACK_COMPLETE' ? [] : this.resources;
    if (this.nextOutcome === 'succeed') {
      stack.pending = [
        ...this.resourceSteps('DELETE', created),
        { status: 'DELETE_COMPLETE', events: [], after: () => (stack.deleted = true) },
      ];
    } else {
      stack.pending = [
        {
          events: [{ logicalId: 'SendQueue', type: 'AWS::SQS::Queue', status: 'DELETE_FAILED', reason: 'Access Denied (Service: Sqs, Status Code: 403)' }],
        },
        { status: 'DELETE_FAILED', reason: 'The following resource(s) failed to delete: [SendQueue].', events: [] },
      ];
    }
    this.nextOutcome = 'succeed';
    return {};
  }

  private describeEvents(input: { StackName: string; NextToken?: string }) {
    this.record('DescribeStackEvents', input);
    const stack = this.find(input.StackName);
    if (!stack) throw validationError(`Stack [${input.StackName}] does not exist`);
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const page = stack.events.slice(start, start + this.pageSize);
    const next = start + this.pageSize < stack.events.length ? String(start + this.pageSize) : undefined;
    return { StackEvents: page, ...(next ? { NextToken: next } : {}) };
  }

  private listResources(input: { StackName: string }) {
    this.record('ListStackResources', input);
    const stack = this.find(input.StackName);
    if (!stack) throw validationError(`Stack [${input.StackName}] does not exist`);
    const resources = stack.status === 'ROLLBACK_COMPLETE' ? [] : this.resources;
    return {
      StackResourceSummaries: resources.map((r) => ({
        LogicalResourceId: r.logicalId,
        ResourceType: r.type,
        ResourceStatus: 'CREATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
      })),
    };
  }

  /** The names of the calls made so far (for asserting order). */
  callNames(): string[] {
    return this.calls.map(([name]) => name);
  }
}
