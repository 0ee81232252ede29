import {
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  ListStackResourcesCommand,
  UpdateStackCommand,
  type Change,
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

export type ChangeSetType = 'CREATE' | 'UPDATE' | 'IMPORT';

/** A resource an IMPORT change set brings into the stack, named by its primary identifier. */
export interface ResourceToImport {
  logicalId: string;
  type: string;
  identifier: Record<string, string>;
}

export interface ChangeSetInput extends DeployInput {
  changeSetName: string;
  changeSetType: ChangeSetType;
  resourcesToImport?: ResourceToImport[];
}

/** One resource change of a change set, flattened from CloudFormation's shape. */
export interface ResourceChange {
  action: string;
  logicalId: string;
  type: string;
  physicalId?: string;
  /** 'True', 'False' or 'Conditional' (Modify only). */
  replacement?: string;
  scope: string[];
}

export interface ChangeSetDescription {
  changeSetId: string;
  stackId: string;
  /** CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, FAILED, DELETE_… */
  status: string;
  statusReason?: string;
  /** UNAVAILABLE, AVAILABLE, EXECUTE_IN_PROGRESS, EXECUTE_COMPLETE, EXECUTE_FAILED, OBSOLETE */
  executionStatus?: string;
  changes: ResourceChange[];
}

/** One resource of a stack as ListStackResources reports it. */
export interface StackResourceSummary {
  logicalId: string;
  type: string;
  physicalId?: string;
  status: string;
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
  /** Every resource of the stack, page by page. */
  resources(stackNameOrId: string): Promise<StackResourceSummary[]>;
  createChangeSet(input: ChangeSetInput): Promise<{ changeSetId: string; stackId: string }>;
  /** The change set with all its changes (every page). */
  describeChangeSet(changeSetId: string, stackName: string): Promise<ChangeSetDescription>;
  executeChangeSet(changeSetId: string, stackName: string, clientRequestToken: string): Promise<void>;
  deleteChangeSet(changeSetId: string, stackName: string): Promise<void>;
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

/**
 * The reason CloudFormation gives a change set it refused because there is nothing to do
 * ("The submitted information didn't contain changes…", or the UpdateStack wording).
 */
export function isNoChangesReason(reason: string | undefined): boolean {
  return /didn't contain changes|No updates are to be performed/i.test(reason ?? '');
}

export function toResourceChange(change: Change): ResourceChange | undefined {
  const r = change.ResourceChange;
  if (!r) return undefined;
  return {
    action: r.Action ?? '?',
    logicalId: r.LogicalResourceId ?? '?',
    type: r.ResourceType ?? '?',
    ...(r.PhysicalResourceId ? { physicalId: r.PhysicalResourceId } : {}),
    ...(r.Replacement ? { replacement: r.Replacement } : {}),
    scope: [...(r.Scope ?? [])],
  };
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
      return (await api.resources(stackNameOrId)).length;
    },
    async resources(stackNameOrId) {
      const found: StackResourceSummary[] = [];
      let token: string | undefined;
      do {
        const out = await client.send(
          new ListStackResourcesCommand({ StackName: stackNameOrId, ...(token ? { NextToken: token } : {}) }),
        );
        for (const r of out.StackResourceSummaries ?? []) {
          found.push({
            logicalId: r.LogicalResourceId ?? '?',
            type: r.ResourceType ?? '?',
            ...(r.PhysicalResourceId ? { physicalId: r.PhysicalResourceId } : {}),
            status: r.ResourceStatus ?? '?',
          });
        }
        token = out.NextToken;
      } while (token);
      return found;
    },
    async createChangeSet(input) {
      const { ClientRequestToken: _token, ...common } = deployCommon(input);
      const out = await client.send(
        new CreateChangeSetCommand({
          ...common,
          ChangeSetName: input.changeSetName,
          ChangeSetType: input.changeSetType,
          // The installer's own token is for ExecuteChangeSet; CreateChangeSet's ClientToken only dedupes retries.
          ClientToken: input.clientRequestToken,
          ...(input.resourcesToImport
            ? {
                ResourcesToImport: input.resourcesToImport.map((r) => ({
                  LogicalResourceId: r.logicalId,
                  ResourceType: r.type,
                  ResourceIdentifier: r.identifier,
                })),
              }
            : {}),
        }),
      );
      return { changeSetId: out.Id ?? input.changeSetName, stackId: out.StackId ?? input.stackName };
    },
    async describeChangeSet(changeSetId, stackName) {
      let token: string | undefined;
      let description: ChangeSetDescription | undefined;
      do {
        const out = await client.send(
          new DescribeChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackName, ...(token ? { NextToken: token } : {}) }),
        );
        description ??= {
          changeSetId: out.ChangeSetId ?? changeSetId,
          stackId: out.StackId ?? stackName,
          status: out.Status ?? 'UNKNOWN',
          ...(out.StatusReason ? { statusReason: out.StatusReason } : {}),
          ...(out.ExecutionStatus ? { executionStatus: out.ExecutionStatus } : {}),
          changes: [],
        };
        for (const change of out.Changes ?? []) {
          const flat = toResourceChange(change);
          if (flat) description.changes.push(flat);
        }
        token = out.NextToken;
      } while (token);
      return description;
    },
    async executeChangeSet(changeSetId, stackName, clientRequestToken) {
      await client.send(new ExecuteChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackName, ClientRequestToken: clientRequestToken }));
    },
    async deleteChangeSet(changeSetId, stackName) {
      await client.send(new DeleteChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackName }));
    },
  };
  return api;
}
