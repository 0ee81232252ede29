import {
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  UpdateStackCommand,
  type CloudFormationClient,
  type Parameter,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { StackStatus } from './stack-status.js';

/**
 * The few CloudFormation calls the installer makes, behind one narrow interface built in
 * one factory. Tests drive it with a fake CloudFormation; the commands never touch the
 * SDK's CloudFormation commands directly.
 */

export const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] as const;

export interface StackDescription {
  stackId: string;
  stackName: string;
  status: StackStatus;
  /** Parameter values as CloudFormation reports them (NoEcho ones come back as ****). */
  parameters: Record<string, string>;
  outputs: Record<string, string>;
  tags: Record<string, string>;
}

/** A parameter for create/update: a value, or "keep what the stack has". */
export type ParameterValue = { value: string } | { usePrevious: true };

export interface DeployInput {
  stackName: string;
  templateBody?: string;
  templateUrl?: string;
  parameters: Record<string, ParameterValue>;
  tags: Record<string, string>;
  /** Idempotency token; CloudFormation stamps it on every event of the operation. */
  clientRequestToken: string;
}

export interface EventsPage {
  /** Newest first, as CloudFormation returns them. */
  events: StackEvent[];
  nextToken?: string;
}

export interface CloudFormationApi {
  describe(stackNameOrId: string): Promise<StackDescription | undefined>;
  create(input: DeployInput): Promise<{ stackId: string }>;
  /** `noChanges` when CloudFormation answers "No updates are to be performed." */
  update(input: DeployInput): Promise<{ stackId?: string; noChanges: boolean }>;
  delete(stackName: string, clientRequestToken: string): Promise<void>;
  events(stackNameOrId: string, nextToken?: string): Promise<EventsPage>;
  outputs(stackNameOrId: string): Promise<Record<string, string>>;
  countResources(stackNameOrId: string): Promise<number>;
}

function isValidationError(error: unknown, pattern: RegExp): boolean {
  const e = error as { name?: string; message?: string };
  return e?.name === 'ValidationError' && pattern.test(e.message ?? '');
}

export function isStackMissingError(error: unknown): boolean {
  return isValidationError(error, /does not exist/i);
}

export function isNoUpdatesError(error: unknown): boolean {
  return isValidationError(error, /No updates are to be performed/i);
}

function toRecord<T>(items: T[] | undefined, key: (t: T) => string | undefined, value: (t: T) => string | undefined) {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const k = key(item);
    if (k !== undefined) out[k] = value(item) ?? '';
  }
  return out;
}

export function describeStack(stack: Stack): StackDescription {
  return {
    stackId: stack.StackId ?? stack.StackName ?? '',
    stackName: stack.StackName ?? '',
    status: new StackStatus(stack.StackStatus ?? 'UNKNOWN', stack.StackStatusReason),
    parameters: toRecord(stack.Parameters, (p) => p.ParameterKey, (p) => p.ParameterValue),
    outputs: toRecord(stack.Outputs, (o) => o.OutputKey, (o) => o.OutputValue),
    tags: toRecord(stack.Tags, (t) => t.Key, (t) => t.Value),
  };
}

function sdkParameters(parameters: Record<string, ParameterValue>): Parameter[] {
  return Object.entries(parameters)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ParameterKey, p]) =>
      'usePrevious' in p ? { ParameterKey, UsePreviousValue: true } : { ParameterKey, ParameterValue: p.value },
    );
}

function deployCommon(input: DeployInput) {
  return {
    StackName: input.stackName,
    ...(input.templateUrl ? { TemplateURL: input.templateUrl } : { TemplateBody: input.templateBody }),
    Parameters: sdkParameters(input.parameters),
    Capabilities: [...CAPABILITIES],
    Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
    ClientRequestToken: input.clientRequestToken,
  };
}

export function createCloudFormationApi(client: CloudFormationClient): CloudFormationApi {
  const api: CloudFormationApi = {
    async describe(stackNameOrId) {
      try {
        const out = await client.send(new DescribeStacksCommand({ StackName: stackNameOrId }));
        const stack = out.Stacks?.[0];
        return stack ? describeStack(stack) : undefined;
      } catch (error) {
        if (isStackMissingError(error)) return undefined;
        throw error;
      }
    },
    async create(input) {
      const out = await client.send(
        new CreateStackCommand({
          ...deployCommon(input),
          // A failed first create rolls back and keeps the stack for inspection; the
          // installer offers to delete it on the next run.
          OnFailure: 'ROLLBACK',
        }),
      );
      return { stackId: out.StackId ?? input.stackName };
    },
    async update(input) {
      try {
        const out = await client.send(new UpdateStackCommand(deployCommon(input)));
        return { stackId: out.StackId, noChanges: false };
      } catch (error) {
        if (isNoUpdatesError(error)) return { noChanges: true };
        throw error;
      }
    },
    async delete(stackName, clientRequestToken) {
      await client.send(new DeleteStackCommand({ StackName: stackName, ClientRequestToken: clientRequestToken }));
    },
    async events(stackNameOrId, nextToken) {
      const out = await client.send(
        new DescribeStackEventsCommand({ StackName: stackNameOrId, ...(nextToken ? { NextToken: nextToken } : {}) }),
      );
      return { events: out.StackEvents ?? [], ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
    },
    async outputs(stackNameOrId) {
      return (await api.describe(stackNameOrId))?.outputs ?? {};
    },
    async countResources(stackNameOrId) {
      let count = 0;
      let token: string | undefined;
      do {
        const out = await client.send(
          new ListStackResourcesCommand({ StackName: stackNameOrId, ...(token ? { NextToken: token } : {}) }),
        );
        count += out.StackResourceSummaries?.length ?? 0;
        token = out.NextToken;
      } while (token);
      return count;
    },
  };
  return api;
}
