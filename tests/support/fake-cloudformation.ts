import {
  CloudFormationClient,
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
  type CreateChangeSetCommandInput,
  type CreateStackCommandInput,
  type Parameter,
  type StackEvent,
  type UpdateStackCommandInput,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { loadResourceSpec } from './cfn-spec-validation.js';
import { isObject, parseTemplate, subVariables, walk, type CfnTemplate, type Json } from './cloudformation.js';
import { evaluateConditions, parameterValues, resourceIncluded, type TemplateDocument } from '../../src/installer/template-document.js';

/**
 * An in-memory CloudFormation behind aws-sdk-client-mock (or the HTTP fake), with an
 * "account" of the named resources stacks create. Each stack operation queues the steps
 * AWS would go through (statuses and resource events, with realistic reasons); one step
 * happens per DescribeStacks call, i.e. per poll of the code under test, so a test with
 * fake timers sees the same sequences a real install sees:
 *
 *   create:   CREATE_IN_PROGRESS → resources → CREATE_COMPLETE
 *   update:   UPDATE_IN_PROGRESS → resources → UPDATE_COMPLETE_CLEANUP_IN_PROGRESS → UPDATE_COMPLETE
 *   no-op:    UpdateStack fails with "No updates are to be performed."; a change set FAILs
 *             with "The submitted information didn't contain changes."
 *   rollback: CREATE_IN_PROGRESS → CREATE_FAILED (reason) → ROLLBACK_IN_PROGRESS → ROLLBACK_COMPLETE
 *   delete:   DELETE_IN_PROGRESS → resources (kept ones DELETE_SKIPPED) → DELETE_COMPLETE, then gone
 *   import:   REVIEW_IN_PROGRESS → IMPORT_IN_PROGRESS → resources → IMPORT_COMPLETE
 *   update rollback: UPDATE_FAILED → UPDATE_ROLLBACK_IN_PROGRESS → UPDATE_ROLLBACK_COMPLETE
 *             (or UPDATE_ROLLBACK_FAILED when the rollback fails too)
 *
 * What AWS does with data resources is modelled on the account:
 *   - a rolled-back create deletes what it created, except `DeletionPolicy: Retain`
 *     (unless the create asked for RetainExceptOnCreate); `RetainExceptOnCreate` deletes;
 *   - a stack delete leaves Retain / RetainExceptOnCreate / Snapshot resources in the
 *     account, owned by no stack (DELETE_SKIPPED);
 *   - creating a named resource whose name is taken fails with "already exists";
 *   - an IMPORT change set checks each ResourceToImport: the template holds it (and, for a
 *     new stack, nothing else), it has a DeletionPolicy, its identifier keys are the
 *     specification's primaryIdentifier, it exists and belongs to no stack;
 *   - an update that replaces a resource whose fixed name stays the same fails as
 *     CloudFormation does ("cannot update a stack when a custom-named resource requires replacing").
 *
 * Two ways to know a stack's resources: the fixed DEFAULT_RESOURCES list (the default), or,
 * with `{ templates: true }`, the resources of the template each operation is given.
 */

export type Outcome = 'succeed' | 'fail' | 'rollback-fails';

export interface FakeResource {
  logicalId: string;
  type: string;
  /** Shorthand for DeletionPolicy RetainExceptOnCreate. */
  retain?: boolean;
  deletionPolicy?: string;
  updateReplacePolicy?: string;
  /** Physical name, `{stack}` standing for the stack name; unnamed resources get a generated one. */
  name?: string;
  /** The template definition as JSON (template mode), for diffs. */
  definition?: string;
  /** Parameters the definition refers to (template mode). */
  parameterRefs?: string[];
}

export interface FakeIndex {
  IndexName: string;
  KeySchema: { AttributeName: string; KeyType: string }[];
}

export interface AccountResource {
  type: string;
  name: string;
  physicalId: string;
  /** Stack id of the stack that holds it; undefined when it belongs to none. */
  owner?: string;
  /** Stand-in for the data inside (a table's items): survives as long as the resource does. */
  items: number;
  /** Tables: key schema and attribute types. */
  keySchema?: { AttributeName: string; KeyType: string }[];
  attributeTypes?: Record<string, string>;
  /** Tables: global secondary indexes (name and key schema), when the template gave them. */
  indexes?: FakeIndex[];
  /** Secrets: scheduled for deletion. */
  deletedDate?: Date;
}

interface StepEvent {
  logicalId: string;
  type: string;
  status: string;
  reason?: string;
  physicalId?: string;
  effect?: () => void;
}

interface Step {
  status?: string;
  reason?: string;
  events: StepEvent[];
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
  /** The resources the stack holds now. */
  resources: FakeResource[];
  /** The template the stack was last deployed with. */
  template?: string;
  /** When the running operation started, and how many of its steps have happened. */
  opStartedAt?: number;
  applied?: number;
}

export interface FakeChange {
  action: 'Add' | 'Modify' | 'Remove' | 'Import';
  logicalId: string;
  type: string;
  replacement?: 'True' | 'False' | 'Conditional';
  scope: string[];
  physicalId?: string;
}

export interface FakeChangeSet {
  id: string;
  name: string;
  stackId: string;
  type: 'CREATE' | 'UPDATE' | 'IMPORT';
  status: string;
  statusReason?: string;
  executionStatus: string;
  changes: FakeChange[];
  parameters: Record<string, string>;
  tags: Record<string, string>;
  template?: string;
  hasOutputs: boolean;
  resources: FakeResource[];
  /** Imports: logical id → account key. */
  imports: Record<string, string>;
  polls: number;
  deleted: boolean;
}

export const DEFAULT_RESOURCES: FakeResource[] = [
  { logicalId: 'EmailBus', type: 'AWS::Events::EventBus', name: '{stack}-EmailBus' },
  { logicalId: 'SendQueue', type: 'AWS::SQS::Queue', name: '{stack}-send' },
  { logicalId: 'SendDeadLetterQueue', type: 'AWS::SQS::Queue', name: '{stack}-send-dlq' },
  { logicalId: 'EmailTrackingTable', type: 'AWS::DynamoDB::Table', retain: true, name: '{stack}-EmailTracking' },
  { logicalId: 'SuppressionTable', type: 'AWS::DynamoDB::Table', retain: true, name: '{stack}-Suppression' },
  { logicalId: 'CountersTable', type: 'AWS::DynamoDB::Table', retain: true, name: '{stack}-Counters' },
  { logicalId: 'EmailSenderRole', type: 'AWS::IAM::Role' },
  { logicalId: 'EmailSenderFunction', type: 'AWS::Lambda::Function', name: '{stack}-EmailSender' },
  { logicalId: 'TemplateSeederFunction', type: 'AWS::Lambda::Function', name: '{stack}-TemplateSeeder' },
];

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

/** The property holding a type's physical name. */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Events::EventBus': 'Name',
  'AWS::Events::Rule': 'Name',
  'AWS::SES::ConfigurationSet': 'Name',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
};

/** Properties whose change makes CloudFormation replace the resource (a new physical resource). */
const REPLACE_ON: Record<string, string[]> = {
  'AWS::DynamoDB::Table': ['TableName', 'KeySchema'],
  'AWS::SQS::Queue': ['QueueName', 'FifoQueue'],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::SecretsManager::Secret': ['Name'],
  'AWS::Events::EventBus': ['Name'],
  'AWS::SES::ConfigurationSet': ['Name'],
  'AWS::Lambda::Function': ['FunctionName'],
  'AWS::SNS::Topic': ['TopicName'],
};

/** Types a stack tag does not reach. */
const UNTAGGED = new Set([
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::SNS::Subscription',
  'AWS::S3::BucketPolicy',
  'AWS::Lambda::Permission',
  'AWS::Lambda::Url',
  'AWS::SES::ConfigurationSetEventDestination',
]);

const KEEPING = new Set(['Retain', 'RetainExceptOnCreate', 'Snapshot']);

function mockCloudFormation() {
  return mockClient(CloudFormationClient);
}

export function validationError(message: string): Error {
  return Object.assign(new Error(message), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
}

export function serviceError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

function policyOf(r: FakeResource): string {
  return r.deletionPolicy ?? (r.retain ? 'RetainExceptOnCreate' : 'Delete');
}

function physicalIdFor(type: string, name: string): string {
  if (type === 'AWS::SQS::Queue') return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
  if (type === 'AWS::SecretsManager::Secret') return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-Ab12Cd`;
  if (type === 'AWS::SNS::Topic') return `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`;
  return name;
}

/** The identifier of an existing resource, keyed as the specification's primaryIdentifier says. */
export function identifierFor(resource: AccountResource): Record<string, string> {
  switch (resource.type) {
    case 'AWS::DynamoDB::Table':
      return { TableName: resource.name };
    case 'AWS::SQS::Queue':
      return { QueueUrl: resource.physicalId };
    case 'AWS::Logs::LogGroup':
      return { LogGroupName: resource.name };
    case 'AWS::SecretsManager::Secret':
      return { Id: resource.physicalId };
    case 'AWS::Lambda::Function':
      return { FunctionName: resource.name };
    default:
      return { Name: resource.name };
  }
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isObject(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

/** Parameters a value refers to (Ref P, ${P} in a Sub). */
function parameterRefs(value: unknown, parameters: Set<string>): string[] {
  const found = new Set<string>();
  walk(value, (v) => {
    if (!isObject(v) || Object.keys(v).length !== 1) return;
    if (typeof v.Ref === 'string' && parameters.has(v.Ref)) found.add(v.Ref);
    const sub = v['Fn::Sub'];
    const text = typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : undefined;
    if (text) for (const name of subVariables(text)) if (parameters.has(name)) found.add(name);
  });
  return [...found];
}

/** Resources referenced by a value (Ref, GetAtt, Sub variables) that are not parameters or pseudo parameters. */
function unresolved(doc: CfnTemplate): string[] {
  const known = new Set([...Object.keys(doc.Resources ?? {}), ...Object.keys(doc.Parameters ?? {})]);
  const missing = new Set<string>();
  const note = (name: string) => {
    if (!name.startsWith('AWS::') && !known.has(name)) missing.add(name);
  };
  walk([doc.Resources, doc.Outputs ?? {}], (v) => {
    if (!isObject(v) || Object.keys(v).length !== 1) return;
    if (typeof v.Ref === 'string') note(v.Ref);
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') note(getAtt[0]);
    const sub = v['Fn::Sub'];
    if (typeof sub === 'string') for (const name of subVariables(sub)) note(name.split('.')[0]!);
    if (Array.isArray(sub) && typeof sub[0] === 'string') {
      const local = new Set(Object.keys(isObject(sub[1]) ? sub[1] : {}));
      for (const name of subVariables(sub[0])) if (!local.has(name)) note(name.split('.')[0]!);
    }
  });
  for (const r of Object.values(doc.Resources ?? {})) {
    for (const d of r.DependsOn === undefined ? [] : Array.isArray(r.DependsOn) ? r.DependsOn : [r.DependsOn]) note(d);
  }
  return [...missing].sort();
}

/** Template mode: the resources of a template, with names, policies and definitions. */
export function resourcesOfTemplate(body: string, values: Record<string, string> = {}): FakeResource[] {
  const doc = parseTemplate(body);
  const parameters = new Set(Object.keys(doc.Parameters ?? {}));
  // A resource whose Condition is false for these parameter values is not part of the stack.
  const document = doc as unknown as TemplateDocument;
  const conditions = evaluateConditions(document, parameterValues(document, values));
  const included = Object.entries(doc.Resources ?? {}).filter(([logicalId]) => resourceIncluded(document, logicalId, conditions));
  return included.map(([logicalId, r]) => {
    const nameValue = NAME_PROPERTY[r.Type] ? r.Properties?.[NAME_PROPERTY[r.Type]!] : undefined;
    let name: string | undefined;
    if (typeof nameValue === 'string') name = nameValue;
    else if (isObject(nameValue) && typeof nameValue['Fn::Sub'] === 'string' && subVariables(nameValue['Fn::Sub']).every((v) => v === 'AWS::StackName')) {
      name = nameValue['Fn::Sub'].split('${AWS::StackName}').join('{stack}');
    }
    return {
      logicalId,
      type: r.Type,
      ...(r.DeletionPolicy ? { deletionPolicy: r.DeletionPolicy } : {}),
      ...(r.UpdateReplacePolicy ? { updateReplacePolicy: r.UpdateReplacePolicy } : {}),
      ...(name ? { name } : {}),
      definition: stableJson(r),
      parameterRefs: parameterRefs(r, parameters),
    };
  });
}

function propertiesOf(r: FakeResource): Record<string, Json> {
  return r.definition ? (((JSON.parse(r.definition) as { Properties?: Record<string, Json> }).Properties ?? {}) as Record<string, Json>) : {};
}

function mentionsResource(value: Json | undefined): boolean {
  let found = false;
  walk(value, (v) => {
    if (isObject(v) && ('Fn::GetAtt' in v || (typeof v.Ref === 'string' && !v.Ref.startsWith('AWS::')))) found = true;
  });
  return found;
}

export class FakeCloudFormation {
  readonly stacks: FakeStack[] = [];
  readonly changeSets: FakeChangeSet[] = [];
  /** Named resources that exist in the fake account, by `${type}|${name}`. */
  readonly account = new Map<string, AccountResource>();
  /**
   * Where a TemplateURL is read from (a test wires it to its S3 stand-in or mock): the
   * template text, or undefined when the object does not exist.
   */
  templateStore?: (url: string) => string | undefined;
  /** The aws-sdk-client-mock stub, unless the fake serves HTTP instead (see fake-aws-server.ts). */
  readonly mock?: ReturnType<typeof mockCloudFormation>;
  /** Every call, in order: [command, input]. */
  readonly calls: [string, Record<string, unknown>][] = [];
  resources: FakeResource[] = DEFAULT_RESOURCES;
  /** How the next create/update/delete ends. */
  nextOutcome: Outcome = 'succeed';
  failing = { logicalId: 'EmailSenderFunction', type: 'AWS::Lambda::Function', reason: 'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey."' };
  pageSize = 4;
  /** Change set pages are this long (DescribeChangeSet pages through Changes). */
  changePageSize = 25;
  /** Replacement values a test imposes on the next change sets, by logical id. */
  forcedReplacement: Record<string, 'True' | 'Conditional'> = {};
  private seq = 0;
  private readonly templates: boolean;

  /** In wall-clock mode (the HTTP fake), one step happens every stepMs instead of one per poll. */
  private readonly stepMs?: number;

  constructor(options: { mock?: boolean; stepMs?: number; templates?: boolean } = {}) {
    if (options.stepMs) this.stepMs = options.stepMs;
    this.templates = Boolean(options.templates);
    if (options.mock === false) return;
    const m = mockCloudFormation();
    this.mock = m;
    m.on(DescribeStacksCommand).callsFake((input: { StackName?: string }) => this.describeStacks(input));
    m.on(CreateStackCommand).callsFake((input: CreateStackCommandInput) => this.createStack(input));
    m.on(UpdateStackCommand).callsFake((input: UpdateStackCommandInput) => this.updateStack(input));
    m.on(DeleteStackCommand).callsFake((input: { StackName: string; ClientRequestToken?: string }) => this.deleteStack(input));
    m.on(DescribeStackEventsCommand).callsFake((input: { StackName: string; NextToken?: string }) => this.describeEvents(input));
    m.on(ListStackResourcesCommand).callsFake((input: { StackName: string; NextToken?: string }) => this.listResources(input));
    m.on(CreateChangeSetCommand).callsFake((input: CreateChangeSetCommandInput) => this.createChangeSet(input));
    m.on(DescribeChangeSetCommand).callsFake((input: { ChangeSetName: string; StackName?: string; NextToken?: string }) => this.describeChangeSet(input));
    m.on(ExecuteChangeSetCommand).callsFake((input: { ChangeSetName: string; StackName?: string; ClientRequestToken?: string }) => this.executeChangeSet(input));
    m.on(DeleteChangeSetCommand).callsFake((input: { ChangeSetName: string; StackName?: string }) => this.deleteChangeSet(input));
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
      case 'CreateChangeSet':
        return this.createChangeSet(fromQueryChangeSetInput(input));
      case 'DescribeChangeSet':
        return this.describeChangeSet(input as { ChangeSetName: string; StackName?: string; NextToken?: string });
      case 'ExecuteChangeSet':
        return this.executeChangeSet(input as { ChangeSetName: string; StackName?: string; ClientRequestToken?: string });
      case 'DeleteChangeSet':
        return this.deleteChangeSet(input as { ChangeSetName: string; StackName?: string });
      default:
        throw validationError(`The fake does not implement ${action}.`);
    }
  }

  /** The input with TemplateURL read into TemplateBody, as CloudFormation reads it from S3. */
  private withTemplateBody<T extends { TemplateBody?: string; TemplateURL?: string }>(input: T): T {
    if (input.TemplateBody !== undefined || input.TemplateURL === undefined) return input;
    if (!this.templateStore) throw validationError('TemplateURL was given, but this fake has no templateStore to read it from.');
    const body = this.templateStore(input.TemplateURL);
    if (body === undefined) throw validationError(`S3 error: Access Denied or the object does not exist: ${input.TemplateURL}`);
    return { ...input, TemplateBody: body };
  }

  // ---------------------------------------------------------------- the account

  /** Puts a resource in the account as if made earlier (by another stack, an uninstall, or by hand). */
  putResource(type: string, name: string, extra: Partial<AccountResource> = {}): AccountResource {
    const resource: AccountResource = { type, name, physicalId: physicalIdFor(type, name), items: 0, ...extra };
    this.account.set(`${type}|${name}`, resource);
    return resource;
  }

  resource(type: string, name: string): AccountResource | undefined {
    return this.account.get(`${type}|${name}`);
  }

  /** The names of the account's resources of a type, sorted. */
  names(type: string): string[] {
    return [...this.account.values()].filter((r) => r.type === type).map((r) => r.name).sort();
  }

  private nameFor(r: FakeResource, stackName: string): string | undefined {
    return r.name?.split('{stack}').join(stackName);
  }

  private physicalFor(stack: FakeStack, r: FakeResource): string {
    const name = this.nameFor(r, stack.name);
    if (name) return this.resource(r.type, name)?.physicalId ?? physicalIdFor(r.type, name);
    return `${stack.name}-${r.logicalId}-${stack.stackId.slice(-4)}`;
  }

  private createInAccount(stack: FakeStack, r: FakeResource): void {
    const name = this.nameFor(r, stack.name);
    if (!name) return;
    const props = propertiesOf(r);
    const extra: Partial<AccountResource> = { owner: stack.stackId };
    if (r.type === 'AWS::DynamoDB::Table') {
      if (Array.isArray(props.KeySchema)) extra.keySchema = props.KeySchema as unknown as AccountResource['keySchema'];
      if (Array.isArray(props.AttributeDefinitions)) {
        extra.attributeTypes = Object.fromEntries(
          (props.AttributeDefinitions as { AttributeName: string; AttributeType: string }[]).map((a) => [a.AttributeName, a.AttributeType]),
        );
      }
      if (r.definition !== undefined) extra.indexes = indexesOf(props);
    }
    this.putResource(r.type, name, extra);
  }

  /** An update of a table in place: its indexes become the template's (the items stay). */
  private updateInAccount(stack: FakeStack, r: FakeResource): void {
    const name = this.nameFor(r, stack.name);
    const existing = name ? this.resource(r.type, name) : undefined;
    if (!existing || r.type !== 'AWS::DynamoDB::Table' || r.definition === undefined) return;
    existing.indexes = indexesOf(propertiesOf(r));
  }

  /**
   * What DynamoDB's resource handler refuses in an update of a table: an index of the same
   * name with other keys, or more than one index created or deleted at once.
   */
  private indexChangeRefused(stack: FakeStack, r: FakeResource): string | undefined {
    if (r.type !== 'AWS::DynamoDB::Table') return undefined;
    const before = stack.resources.find((o) => o.logicalId === r.logicalId);
    if (!before || before.definition === undefined || r.definition === undefined) return undefined;
    const old = new Map(indexesOf(propertiesOf(before)).map((i) => [i.IndexName, stableJson(i.KeySchema)]));
    const next = new Map(indexesOf(propertiesOf(r)).map((i) => [i.IndexName, stableJson(i.KeySchema)]));
    for (const [indexName, keys] of next) {
      if (old.has(indexName) && old.get(indexName) !== keys) {
        return "Resource handler returned message: \"Cannot update GSI's properties other than Provisioned Throughput and Contributor Insights Specification. You can create a new GSI with a different name.\" (HandlerErrorCode: InvalidRequest)";
      }
    }
    const created = [...next.keys()].filter((n) => !old.has(n)).length;
    const deleted = [...old.keys()].filter((n) => !next.has(n)).length;
    if (created + deleted > 1) {
      return 'Resource handler returned message: "Cannot perform more than one GSI creation or deletion in a single update" (HandlerErrorCode: InvalidRequest)';
    }
    return undefined;
  }

  /** What deleting a resource of a stack does: kept (no owner) or gone. */
  private deleteFromAccount(stack: FakeStack, r: FakeResource, keep: boolean): void {
    const name = this.nameFor(r, stack.name);
    if (!name) return;
    const existing = this.resource(r.type, name);
    if (keep) {
      if (existing) delete existing.owner;
      else this.putResource(r.type, name);
    } else if (existing && (existing.owner === stack.stackId || existing.owner === undefined)) {
      this.account.delete(`${r.type}|${name}`);
    }
  }

  /** A named resource of `resources` whose name is taken in the account by something else. */
  private collision(stack: FakeStack, resources: FakeResource[]): { resource: FakeResource; reason: string } | undefined {
    for (const r of resources) {
      const name = this.nameFor(r, stack.name);
      if (!name) continue;
      const existing = this.resource(r.type, name);
      if (existing && existing.owner !== stack.stackId) {
        return {
          resource: r,
          reason: `Resource handler returned message: "Resource of type '${r.type}' with identifier '${name}' already exists." (RequestToken: 5f0c, HandlerErrorCode: AlreadyExists)`,
        };
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------- stacks

  /** A stack that exists before the test starts; its resources exist in the account. */
  seed(
    name: string,
    status: string,
    parameters: Record<string, string> = {},
    outputs: Record<string, string> = {},
    options: { template?: string; tags?: Record<string, string> } = {},
  ): FakeStack {
    const empty = ['ROLLBACK_COMPLETE', 'REVIEW_IN_PROGRESS', 'DELETE_COMPLETE'].includes(status);
    const resources = empty ? [] : options.template ? resourcesOfTemplate(options.template, parameters) : this.resources;
    const stack = this.newStack(name, status, parameters, outputs, options);
    stack.resources = resources;
    for (const r of resources) this.createInAccount(stack, r);
    return stack;
  }

  /** A stack record with no resources yet. */
  private newStack(
    name: string,
    status: string,
    parameters: Record<string, string> = {},
    outputs: Record<string, string> = {},
    options: { template?: string; tags?: Record<string, string> } = {},
  ): FakeStack {
    const stack: FakeStack = {
      stackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/${++this.seq}`,
      name,
      status,
      parameters,
      outputs,
      tags: options.tags ?? {},
      events: [],
      pending: [],
      deleted: false,
      resources: [],
      ...(options.template ? { template: options.template } : {}),
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
    const stack = this.live(name);
    return {
      EventBusName: `${name}-EmailBus`,
      EventBusArn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}-EmailBus`,
      CustomerIAMPolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}-EmailBus` }],
      }),
      TrackingTableName: `${name}-EmailTracking`,
      SuppressionTableName: `${name}-Suppression`,
      CountersTableName: `${name}-Counters`,
      SendDeadLetterQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}-send-dlq`,
      TemplateBucketName: stack?.parameters.ArtifactBucket ?? 'bucket',
      ...(stack?.parameters.EngineVersion ? { EngineVersion: stack.parameters.EngineVersion } : {}),
    };
  }

  private pushEvent(stack: FakeStack, logicalId: string, type: string, status: string, reason?: string, physicalId?: string) {
    stack.events.unshift({
      StackId: stack.stackId,
      StackName: stack.name,
      EventId: `${logicalId}-${status}-${++this.seq}`,
      LogicalResourceId: logicalId,
      PhysicalResourceId: physicalId ?? (logicalId === stack.name ? stack.stackId : `${stack.name}-${logicalId}`),
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
      for (const e of step.events) {
        this.pushEvent(stack, e.logicalId, e.type, e.status, e.reason, e.physicalId);
        e.effect?.();
      }
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

  /** Resource events in groups of three: IN_PROGRESS, then COMPLETE with its effect on the account. */
  private resourceSteps(verb: 'CREATE' | 'UPDATE' | 'IMPORT', stack: FakeStack, resources: FakeResource[], effect?: (r: FakeResource) => void): Step[] {
    const steps: Step[] = [];
    for (let i = 0; i < resources.length; i += 3) {
      const group = resources.slice(i, i + 3);
      steps.push({ events: group.map((r) => ({ logicalId: r.logicalId, type: r.type, status: `${verb}_IN_PROGRESS` })) });
      steps.push({
        events: group.map((r) => ({
          logicalId: r.logicalId,
          type: r.type,
          status: `${verb}_COMPLETE`,
          physicalId: this.physicalFor(stack, r),
          ...(effect ? { effect: () => effect(r) } : {}),
        })),
      });
    }
    return steps;
  }

  /** Deletes in groups of three; `keep(r)` decides DELETE_SKIPPED (kept in the account) or deleted. */
  private deleteSteps(stack: FakeStack, resources: FakeResource[], keep: (r: FakeResource) => boolean): Step[] {
    const steps: Step[] = [];
    for (let i = 0; i < resources.length; i += 3) {
      const group = resources.slice(i, i + 3);
      steps.push({
        events: group.flatMap((r): StepEvent[] => {
          const physicalId = this.physicalFor(stack, r);
          return keep(r)
            ? [{ logicalId: r.logicalId, type: r.type, status: 'DELETE_SKIPPED', physicalId, effect: () => this.deleteFromAccount(stack, r, true) }]
            : [
                { logicalId: r.logicalId, type: r.type, status: 'DELETE_IN_PROGRESS', physicalId },
                { logicalId: r.logicalId, type: r.type, status: 'DELETE_COMPLETE', physicalId, effect: () => this.deleteFromAccount(stack, r, false) },
              ];
        }),
      });
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

  /** The steps of a create: every resource, or a failure at one resource and the rollback. */
  private createSteps(stack: FakeStack, resources: FakeResource[], retainExceptOnCreate: boolean, doneStatus: string): Step[] {
    const collision = this.collision(stack, resources);
    const fail = collision ?? (this.nextOutcome !== 'succeed' ? { resource: resources.find((r) => r.logicalId === this.failing.logicalId), reason: this.failing.reason } : undefined);
    const created = (r: FakeResource) => this.createInAccount(stack, r);
    if (!fail) {
      return [
        ...this.resourceSteps('CREATE', stack, resources, created),
        {
          status: doneStatus,
          events: [],
          after: () => {
            stack.resources = resources;
            stack.outputs = this.outputsFor(stack.name);
          },
        },
      ];
    }
    const failing = fail.resource ?? { logicalId: this.failing.logicalId, type: this.failing.type };
    const at = Math.max(0, resources.findIndex((r) => r.logicalId === failing.logicalId));
    const ok = (fail.resource ? resources.slice(0, at) : resources.slice(0, 3)).filter((r) => r.logicalId !== failing.logicalId);
    const cancelled = resources.filter((r) => r.logicalId !== failing.logicalId && !ok.includes(r)).slice(0, 2);
    // A rolled-back create deletes what it made; `Retain` survives unless the create asked for RetainExceptOnCreate.
    const keepOnRollback = (r: FakeResource) => policyOf(r) === 'Retain' && !retainExceptOnCreate;
    return [
      ...this.resourceSteps('CREATE', stack, ok, created),
      {
        events: [
          { logicalId: failing.logicalId, type: failing.type, status: 'CREATE_IN_PROGRESS' },
          ...cancelled.map((r) => ({ logicalId: r.logicalId, type: r.type, status: 'CREATE_IN_PROGRESS' })),
        ],
      },
      {
        events: [
          { logicalId: failing.logicalId, type: failing.type, status: 'CREATE_FAILED', reason: fail.reason },
          ...cancelled.map((r) => ({ logicalId: r.logicalId, type: r.type, status: 'CREATE_FAILED', reason: 'Resource creation cancelled' })),
        ],
      },
      {
        status: 'ROLLBACK_IN_PROGRESS',
        reason: `The following resource(s) failed to create: [${failing.logicalId}]. Rollback requested by user.`,
        events: [],
      },
      ...this.deleteSteps(stack, [...ok].reverse(), keepOnRollback),
      { status: 'ROLLBACK_COMPLETE', events: [], after: () => (stack.resources = []) },
    ];
  }

  private createStack(given: CreateStackCommandInput) {
    this.record('CreateStack', given);
    const input = this.withTemplateBody(given);
    if (this.live(input.StackName!)) throw serviceError('AlreadyExistsException', `Stack [${input.StackName}] already exists`);
    const stack = this.newStack(input.StackName!, 'CREATE_IN_PROGRESS', this.resolveParameters(input.Parameters, {}));
    stack.token = input.ClientRequestToken;
    stack.tags = Object.fromEntries((input.Tags ?? []).map((t) => [t.Key!, t.Value!]));
    if (input.TemplateBody) stack.template = input.TemplateBody;
    const resources = this.templates && input.TemplateBody ? resourcesOfTemplate(input.TemplateBody, stack.parameters) : this.resources;
    this.stackEvent(stack, 'CREATE_IN_PROGRESS', 'User Initiated');
    stack.pending = this.createSteps(stack, resources, Boolean(input.RetainExceptOnCreate), 'CREATE_COMPLETE');
    this.nextOutcome = 'succeed';
    return { StackId: stack.stackId };
  }

  private updateStack(given: UpdateStackCommandInput) {
    this.record('UpdateStack', given);
    const input = this.withTemplateBody(given);
    const stack = this.live(input.StackName!);
    if (!stack) throw validationError(`Stack [${input.StackName}] does not exist`);
    if (!['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE'].includes(stack.status)) {
      throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`);
    }
    const parameters = this.resolveParameters(input.Parameters, stack.parameters);
    const same =
      JSON.stringify(Object.entries(parameters).sort()) === JSON.stringify(Object.entries(stack.parameters).sort()) &&
      (input.TemplateBody ?? '') === (stack.template ?? input.TemplateBody ?? '');
    if (same) throw validationError('No updates are to be performed.');
    const before = stack.parameters;
    stack.parameters = parameters;
    stack.token = input.ClientRequestToken;
    if (input.TemplateBody) stack.template = input.TemplateBody;
    this.stackEvent(stack, 'UPDATE_IN_PROGRESS', 'User Initiated');
    const changed = stack.resources.filter((r) => r.type === 'AWS::Lambda::Function');
    if (this.nextOutcome === 'succeed') {
      stack.pending = [
        ...this.resourceSteps('UPDATE', stack, changed),
        { status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', events: [] },
        { status: 'UPDATE_COMPLETE', events: [], after: () => (stack.outputs = this.outputsFor(stack.name)) },
      ];
    } else {
      stack.pending = this.updateFailureSteps(stack, this.failing, this.failing.reason, () => (stack.parameters = before));
    }
    this.nextOutcome = 'succeed';
    return { StackId: stack.stackId };
  }

  /** A failed update: the failing resource, then the rollback (which fails too with 'rollback-fails'). */
  private updateFailureSteps(stack: FakeStack, failing: { logicalId: string; type: string }, reason: string, undo: () => void): Step[] {
    const steps: Step[] = [
      { events: [{ logicalId: failing.logicalId, type: failing.type, status: 'UPDATE_IN_PROGRESS' }] },
      { events: [{ logicalId: failing.logicalId, type: failing.type, status: 'UPDATE_FAILED', reason }] },
      { status: 'UPDATE_ROLLBACK_IN_PROGRESS', reason: `The following resource(s) failed to update: [${failing.logicalId}].`, events: [] },
    ];
    if (this.nextOutcome === 'rollback-fails') {
      steps.push(
        {
          events: [
            {
              logicalId: failing.logicalId,
              type: failing.type,
              status: 'UPDATE_FAILED',
              reason: 'Resource handler returned message: "The role defined for the function cannot be assumed by Lambda." (HandlerErrorCode: InvalidRequest)',
            },
          ],
        },
        { status: 'UPDATE_ROLLBACK_FAILED', reason: `The following resource(s) failed to update: [${failing.logicalId}].`, events: [] },
      );
      return steps;
    }
    steps.push(
      { events: [{ logicalId: failing.logicalId, type: failing.type, status: 'UPDATE_COMPLETE' }], after: undo },
      { status: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', events: [] },
      { status: 'UPDATE_ROLLBACK_COMPLETE', events: [] },
    );
    return steps;
  }

  private deleteStack(input: { StackName: string; ClientRequestToken?: string }) {
    this.record('DeleteStack', input);
    const stack = this.find(input.StackName);
    if (!stack || stack.deleted) return {};
    stack.token = input.ClientRequestToken;
    this.stackEvent(stack, 'DELETE_IN_PROGRESS', 'User Initiated');
    for (const cs of this.changeSets) if (cs.stackId === stack.stackId) cs.deleted = true;
    if (this.nextOutcome === 'succeed') {
      stack.pending = [
        ...this.deleteSteps(stack, [...stack.resources].reverse(), (r) => KEEPING.has(policyOf(r))),
        {
          status: 'DELETE_COMPLETE',
          events: [],
          after: () => {
            stack.deleted = true;
            stack.resources = [];
          },
        },
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

  private listResources(input: { StackName: string; NextToken?: string }) {
    this.record('ListStackResources', input);
    const stack = this.find(input.StackName);
    if (!stack) throw validationError(`Stack [${input.StackName}] does not exist`);
    const all = stack.resources.map((r) => ({
      LogicalResourceId: r.logicalId,
      PhysicalResourceId: this.physicalFor(stack, r),
      ResourceType: r.type,
      ResourceStatus: 'CREATE_COMPLETE' as const,
      LastUpdatedTimestamp: new Date(),
    }));
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const size = 20;
    const next = start + size < all.length ? String(start + size) : undefined;
    return { StackResourceSummaries: all.slice(start, start + size), ...(next ? { NextToken: next } : {}) };
  }

  // ---------------------------------------------------------------- change sets

  private findChangeSet(input: { ChangeSetName: string; StackName?: string }): FakeChangeSet {
    const cs = this.changeSets.find((c) => !c.deleted && (c.id === input.ChangeSetName || (c.name === input.ChangeSetName && this.find(input.StackName ?? '')?.stackId === c.stackId)));
    if (!cs) throw serviceError('ChangeSetNotFoundException', `ChangeSet [${input.ChangeSetName}] does not exist`, 404);
    return cs;
  }

  private changesFor(stack: FakeStack, next: FakeResource[], parameters: Record<string, string>, tags: Record<string, string>): FakeChange[] {
    const old = new Map(stack.resources.map((r) => [r.logicalId, r]));
    const changes: FakeChange[] = [];
    const changedParams = new Set(
      [...new Set([...Object.keys(parameters), ...Object.keys(stack.parameters)])].filter((k) => parameters[k] !== stack.parameters[k]),
    );
    const tagsChanged = stableJson(tags) !== stableJson(stack.tags);
    for (const r of next) {
      const before = old.get(r.logicalId);
      if (!before) {
        changes.push({ action: 'Add', logicalId: r.logicalId, type: r.type, scope: [] });
        continue;
      }
      const scope = new Set<string>();
      let replacement: 'True' | 'False' | 'Conditional' = 'False';
      const oldProps = propertiesOf(before);
      const newProps = propertiesOf(r);
      if (this.templates && before.definition !== undefined && before.definition !== r.definition) {
        for (const key of new Set([...Object.keys(oldProps), ...Object.keys(newProps)])) {
          if (stableJson(oldProps[key]) === stableJson(newProps[key])) continue;
          scope.add('Properties');
          if (REPLACE_ON[r.type]?.includes(key)) {
            // A value that depends on another resource's attribute may or may not change at run time.
            const next = mentionsResource(newProps[key]) ? 'Conditional' : 'True';
            if (replacement !== 'True') replacement = next;
          }
        }
        if (scope.size === 0) scope.add('Metadata');
      }
      const params = this.templates ? (r.parameterRefs ?? []) : r.type === 'AWS::Lambda::Function' ? [...changedParams] : [];
      for (const p of params) {
        if (!changedParams.has(p)) continue;
        scope.add('Properties');
        const inReplacing = (REPLACE_ON[r.type] ?? []).some((key) => parameterRefs(newProps[key], new Set([p])).length > 0);
        if (inReplacing) replacement = 'True';
      }
      if (tagsChanged && !UNTAGGED.has(r.type) && !r.type.startsWith('Custom::')) scope.add('Tags');
      const forced = this.forcedReplacement[r.logicalId];
      if (forced) {
        replacement = forced;
        scope.add('Properties');
      }
      if (scope.size > 0) {
        changes.push({ action: 'Modify', logicalId: r.logicalId, type: r.type, replacement, scope: [...scope].sort(), physicalId: this.physicalFor(stack, r) });
      }
    }
    const nextIds = new Set(next.map((r) => r.logicalId));
    for (const r of stack.resources) {
      if (!nextIds.has(r.logicalId)) changes.push({ action: 'Remove', logicalId: r.logicalId, type: r.type, scope: [], physicalId: this.physicalFor(stack, r) });
    }
    return changes;
  }

  private createChangeSet(given: CreateChangeSetCommandInput) {
    this.record('CreateChangeSet', given);
    const input = this.withTemplateBody(given);
    const type = (input.ChangeSetType ?? 'UPDATE') as FakeChangeSet['type'];
    if (!input.ChangeSetName || !/^[a-zA-Z][-a-zA-Z0-9]{0,127}$/.test(input.ChangeSetName)) {
      throw validationError(`1 validation error detected: Value '${input.ChangeSetName}' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`);
    }
    let stack = this.live(input.StackName!);
    if (type === 'UPDATE') {
      if (!stack) throw validationError(`Stack [${input.StackName}] does not exist`);
      if (!['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE'].includes(stack.status)) {
        throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`);
      }
    } else if (stack && stack.status !== 'REVIEW_IN_PROGRESS') {
      // CREATE needs a new stack; IMPORT may also go into a stack that can be updated.
      const updatable = ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE'].includes(stack.status);
      if (type === 'CREATE' || !updatable) {
        throw serviceError('AlreadyExistsException', `Stack [${input.StackName}] already exists and cannot be created again with the changeSet [${input.ChangeSetName}].`);
      }
    }
    const body = input.TemplateBody;
    if (!body) throw validationError('Either TemplateBody or TemplateURL must be given.');
    const doc = parseTemplate(body);
    const missing = unresolved(doc);
    if (missing.length > 0) throw validationError(`Template format error: Unresolved resource dependencies [${missing.join(', ')}] in the Resources block of the template`);
    const previous = stack?.parameters ?? {};
    const parameters = this.resolveParameters(input.Parameters, previous);
    const tags = Object.fromEntries((input.Tags ?? []).map((t) => [t.Key!, t.Value!]));
    const resources = this.templates || type === 'IMPORT' ? resourcesOfTemplate(body, parameters) : this.resources;
    const imports: Record<string, string> = {};
    let changes: FakeChange[] = [];
    let status = 'CREATE_COMPLETE';
    let statusReason: string | undefined;

    if (type === 'IMPORT') {
      const toImport = input.ResourcesToImport ?? [];
      if (toImport.length === 0) throw validationError('ResourcesToImport must not be empty for an IMPORT change set.');
      const importIds = new Set(toImport.map((r) => r.LogicalResourceId!));
      const stackIds = new Set((stack?.resources ?? []).map((r) => r.logicalId));
      const extra = resources.filter((r) => !importIds.has(r.logicalId) && !stackIds.has(r.logicalId)).map((r) => r.logicalId);
      if (extra.length > 0) {
        throw validationError(`You have modified resources [${extra.join(', ')}] in your template that are not being imported. Update, create or delete operations cannot be executed during import operations.`);
      }
      const noPolicy = toImport.filter((r) => !doc.Resources[r.LogicalResourceId!]?.DeletionPolicy).map((r) => r.LogicalResourceId);
      if (noPolicy.length > 0) throw validationError(`The following resources to import [${noPolicy.join(', ')}] must have DeletionPolicy attribute specified in the template.`);
      const spec = loadResourceSpec();
      for (const r of toImport) {
        const declared = doc.Resources[r.LogicalResourceId!];
        if (!declared) throw validationError(`Resource ${r.LogicalResourceId} to import does not exist in the template.`);
        if (declared.Type !== r.ResourceType) throw validationError(`Resource type ${r.ResourceType} of ${r.LogicalResourceId} does not match the template (${declared.Type}).`);
        const expected = [...(spec.resource(r.ResourceType!)?.primaryIdentifier ?? [])].sort();
        const given = Object.keys(r.ResourceIdentifier ?? {}).sort();
        if (stableJson(expected) !== stableJson(given)) {
          throw validationError(`Invalid resource identifier [${given.join(', ')}] for ${r.LogicalResourceId} of type ${r.ResourceType}: expected [${expected.join(', ')}].`);
        }
        const found = [...this.account.values()].find((a) => a.type === r.ResourceType && stableJson(identifierFor(a)) === stableJson(r.ResourceIdentifier));
        const label = `${r.ResourceType} with identifier '${Object.values(r.ResourceIdentifier ?? {}).join(', ')}'`;
        if (!found) {
          status = 'FAILED';
          statusReason = `Resource of type ${label} was not found.`;
        } else if (found.owner) {
          status = 'FAILED';
          statusReason = `Resource of type ${label} already exists in stack ${found.owner}`;
        } else {
          imports[r.LogicalResourceId!] = `${found.type}|${found.name}`;
        }
        changes.push({ action: 'Import', logicalId: r.LogicalResourceId!, type: r.ResourceType!, scope: [], ...(found ? { physicalId: found.physicalId } : {}) });
      }
    }

    if (!stack) {
      stack = this.newStack(input.StackName!, 'REVIEW_IN_PROGRESS');
      this.stackEvent(stack, 'REVIEW_IN_PROGRESS', 'User Initiated');
    }
    if (type === 'CREATE') changes = resources.map((r) => ({ action: 'Add', logicalId: r.logicalId, type: r.type, scope: [] }));
    if (type === 'UPDATE') {
      if (!this.templates && (input.TemplateBody ?? '') !== (stack.template ?? input.TemplateBody ?? '')) {
        // Default mode knows no template diff: a new template touches the functions.
        changes = stack.resources.filter((r) => r.type === 'AWS::Lambda::Function').map((r) => ({ action: 'Modify', logicalId: r.logicalId, type: r.type, replacement: 'False', scope: ['Properties'], physicalId: this.physicalFor(stack!, r) }));
      }
      const computed = this.changesFor(stack, resources, parameters, tags);
      const seen = new Set(changes.map((c) => c.logicalId));
      changes.push(...computed.filter((c) => !seen.has(c.logicalId)));
      if (changes.length === 0) {
        status = 'FAILED';
        statusReason = "The submitted information didn't contain changes. Submit different information to create a change set.";
      }
    }
    const cs: FakeChangeSet = {
      id: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:changeSet/${input.ChangeSetName}/${++this.seq}`,
      name: input.ChangeSetName,
      stackId: stack.stackId,
      type,
      status,
      ...(statusReason ? { statusReason } : {}),
      executionStatus: 'UNAVAILABLE',
      changes,
      parameters,
      tags,
      template: body,
      hasOutputs: Boolean(doc.Outputs && Object.keys(doc.Outputs).length > 0),
      resources,
      imports,
      polls: 0,
      deleted: false,
    };
    this.changeSets.push(cs);
    return { Id: cs.id, StackId: stack.stackId };
  }

  private describeChangeSet(input: { ChangeSetName: string; StackName?: string; NextToken?: string }) {
    this.record('DescribeChangeSet', input);
    const cs = this.findChangeSet(input);
    cs.polls++;
    // CloudFormation takes a moment to compute a change set.
    const computing = cs.polls === 1;
    const status = computing ? 'CREATE_IN_PROGRESS' : cs.status;
    const executionStatus = computing ? 'UNAVAILABLE' : cs.status === 'CREATE_COMPLETE' && cs.executionStatus === 'UNAVAILABLE' ? 'AVAILABLE' : cs.executionStatus;
    if (!computing && cs.executionStatus === 'UNAVAILABLE' && cs.status === 'CREATE_COMPLETE') cs.executionStatus = 'AVAILABLE';
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const all: Change[] = computing
      ? []
      : cs.changes.map((c) => ({
          Type: 'Resource',
          ResourceChange: {
            Action: c.action,
            LogicalResourceId: c.logicalId,
            ResourceType: c.type,
            ...(c.physicalId ? { PhysicalResourceId: c.physicalId } : {}),
            ...(c.replacement ? { Replacement: c.replacement } : {}),
            Scope: c.scope as never,
          },
        }));
    const next = start + this.changePageSize < all.length ? String(start + this.changePageSize) : undefined;
    const stack = this.find(cs.stackId)!;
    return {
      ChangeSetId: cs.id,
      ChangeSetName: cs.name,
      StackId: cs.stackId,
      StackName: stack.name,
      Status: status,
      ...(cs.statusReason && !computing ? { StatusReason: cs.statusReason } : {}),
      ExecutionStatus: executionStatus,
      Changes: all.slice(start, start + this.changePageSize),
      ...(next ? { NextToken: next } : {}),
    };
  }

  private deleteChangeSet(input: { ChangeSetName: string; StackName?: string }) {
    this.record('DeleteChangeSet', input);
    const cs = this.findChangeSet(input);
    if (cs.executionStatus === 'EXECUTE_IN_PROGRESS') throw serviceError('InvalidChangeSetStatus', `ChangeSet [${cs.id}] cannot be deleted while it is executing.`);
    cs.deleted = true;
    return {};
  }

  private executeChangeSet(input: { ChangeSetName: string; StackName?: string; ClientRequestToken?: string }) {
    this.record('ExecuteChangeSet', input);
    const cs = this.findChangeSet(input);
    if (cs.status !== 'CREATE_COMPLETE' || cs.executionStatus !== 'AVAILABLE') {
      throw serviceError('InvalidChangeSetStatus', `ChangeSet [${cs.id}] cannot be executed in its current status of [${cs.status}] (execution status ${cs.executionStatus})`);
    }
    const stack = this.find(cs.stackId)!;
    cs.executionStatus = 'EXECUTE_IN_PROGRESS';
    for (const other of this.changeSets) if (other !== cs && other.stackId === stack.stackId && !other.deleted) other.executionStatus = 'OBSOLETE';
    stack.token = input.ClientRequestToken;
    const finished = () => (cs.executionStatus = 'EXECUTE_COMPLETE');
    const adopt = () => {
      stack.parameters = cs.parameters;
      stack.tags = cs.tags;
      if (cs.template) stack.template = cs.template;
      stack.resources = cs.resources;
      stack.outputs = cs.hasOutputs || !this.templates ? this.outputsFor(stack.name) : {};
      finished();
    };
    if (cs.type === 'IMPORT') {
      const imported = cs.resources.filter((r) => r.logicalId in cs.imports);
      this.stackEvent(stack, 'IMPORT_IN_PROGRESS', 'User Initiated');
      if (this.nextOutcome !== 'succeed') {
        const first = imported[0]!;
        stack.pending = [
          { events: [{ logicalId: first.logicalId, type: first.type, status: 'IMPORT_IN_PROGRESS' }] },
          { events: [{ logicalId: first.logicalId, type: first.type, status: 'IMPORT_FAILED', reason: this.failing.reason }] },
          { status: 'IMPORT_ROLLBACK_IN_PROGRESS', reason: `The following resource(s) failed to import: [${first.logicalId}].`, events: [] },
          { status: 'IMPORT_ROLLBACK_COMPLETE', events: [], after: finished },
        ];
      } else {
        stack.pending = [
          ...this.resourceSteps('IMPORT', stack, imported, (r) => {
            const owned = this.account.get(cs.imports[r.logicalId]!);
            if (owned) owned.owner = stack.stackId;
          }),
          { status: 'IMPORT_COMPLETE', events: [], after: adopt },
        ];
      }
      this.nextOutcome = 'succeed';
      return {};
    }
    if (cs.type === 'CREATE') {
      this.stackEvent(stack, 'CREATE_IN_PROGRESS', 'User Initiated');
      stack.parameters = cs.parameters;
      stack.tags = cs.tags;
      stack.pending = this.createSteps(stack, cs.resources, false, 'CREATE_COMPLETE');
      stack.pending.at(-1)!.after = ((after) => () => {
        after?.();
        finished();
      })(stack.pending.at(-1)!.after);
      this.nextOutcome = 'succeed';
      return {};
    }

    // UPDATE
    this.stackEvent(stack, 'UPDATE_IN_PROGRESS', 'User Initiated');
    const byId = new Map(cs.resources.map((r) => [r.logicalId, r]));
    const added = cs.changes.filter((c) => c.action === 'Add').map((c) => byId.get(c.logicalId)!);
    const modified = cs.changes.filter((c) => c.action === 'Modify').map((c) => ({ change: c, resource: byId.get(c.logicalId)! }));
    const removed = cs.changes.filter((c) => c.action === 'Remove').map((c) => stack.resources.find((r) => r.logicalId === c.logicalId)!);
    // What makes this update fail: a name taken by something else, a custom-named resource to replace, or the test's outcome.
    const collision = this.collision(stack, added);
    const renameless = modified.find(({ change, resource }) => {
      if (change.replacement !== 'True') return false;
      const before = stack.resources.find((r) => r.logicalId === resource.logicalId);
      const name = this.nameFor(resource, stack.name);
      return name !== undefined && before !== undefined && this.nameFor(before, stack.name) === name;
    });
    const indexRefusal = modified
      .map(({ resource }) => ({ resource, reason: this.indexChangeRefused(stack, resource) }))
      .find((x) => x.reason !== undefined);
    const failure = collision
      ? { failing: collision.resource, reason: collision.reason }
      : indexRefusal
        ? { failing: indexRefusal.resource, reason: indexRefusal.reason! }
        : renameless
          ? {
              failing: renameless.resource,
              reason: `CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename ${this.nameFor(renameless.resource, stack.name)} and update the stack again.`,
            }
          : this.nextOutcome !== 'succeed'
            ? { failing: byId.get(this.failing.logicalId) ?? this.failing, reason: this.failing.reason }
            : undefined;
    if (failure) {
      const createdHere = added.slice(0, Math.max(0, added.indexOf(failure.failing as FakeResource)));
      stack.pending = [
        ...this.resourceSteps('CREATE', stack, createdHere, (r) => this.createInAccount(stack, r)),
        ...this.updateFailureSteps(stack, failure.failing, failure.reason, () => {
          for (const r of createdHere) this.deleteFromAccount(stack, r, false);
          finished();
        }),
      ];
      if (this.nextOutcome === 'rollback-fails') stack.pending.at(-1)!.after = finished;
      this.nextOutcome = 'succeed';
      return {};
    }
    const replacedOld = modified.filter(({ change }) => change.replacement === 'True').map(({ resource }) => stack.resources.find((r) => r.logicalId === resource.logicalId)!);
    stack.pending = [
      ...this.resourceSteps('CREATE', stack, added, (r) => this.createInAccount(stack, r)),
      ...this.resourceSteps('UPDATE', stack, modified.map((m) => m.resource), (r) => {
        if (replacedOld.some((o) => o.logicalId === r.logicalId)) this.createInAccount(stack, r);
        else this.updateInAccount(stack, r);
      }),
      { status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', events: [] },
      ...this.deleteSteps(stack, removed, (r) => KEEPING.has(policyOf(r))),
      ...this.deleteSteps(stack, replacedOld, (r) => r.updateReplacePolicy === 'Retain'),
      { status: 'UPDATE_COMPLETE', events: [], after: adopt },
    ];
    this.nextOutcome = 'succeed';
    return {};
  }

  /** The names of the calls made so far (for asserting order). */
  callNames(): string[] {
    return this.calls.map(([name]) => name);
  }
}

/** A CreateChangeSet input as the query protocol parser gives it (maps as entry lists) in SDK shape. */
function fromQueryChangeSetInput(input: Record<string, unknown>): CreateChangeSetCommandInput {
  const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : isObject(value) ? (Object.values(value) as T[]) : []);
  const resources = list<Record<string, unknown>>(input.ResourcesToImport).map((r) => {
    const identifier = r.ResourceIdentifier as Record<string, unknown> | undefined;
    const entries = list<{ key: string; value: string }>(identifier?.entry);
    return {
      LogicalResourceId: r.LogicalResourceId as string,
      ResourceType: r.ResourceType as string,
      ResourceIdentifier: Object.fromEntries(entries.map((e) => [e.key, e.value])),
    };
  });
  return {
    ...(input as unknown as CreateChangeSetCommandInput),
    Parameters: list(input.Parameters),
    Tags: list(input.Tags),
    ...(resources.length > 0 ? { ResourcesToImport: resources } : {}),
  };
}

// ---------------------------------------------------------------- the other services, from the account

type Handler = (input: Record<string, unknown>) => unknown;

/**
 * Answers of DynamoDB, SQS, CloudWatch Logs, Secrets Manager, EventBridge, SES v2 and
 * Lambda about the account's named resources, in each SDK's output shape, throwing each
 * service's own not-found error. Tests plug them into their aws-sdk-client-mock stubs;
 * the HTTP fake serves them on the wire.
 */
export function accountServices(cfn: FakeCloudFormation): Record<string, Handler> {
  const find = (type: string, name: string) => cfn.resource(type, name);
  const notFound = (name: string, message: string) => serviceError(name, message, name === 'QueueDoesNotExist' ? 400 : 404);
  return {
    DescribeTable: (input) => {
      const t = find('AWS::DynamoDB::Table', input.TableName as string);
      if (!t) throw serviceError('ResourceNotFoundException', `Requested resource not found: Table: ${input.TableName} not found`);
      const keys = t.keySchema ?? [{ AttributeName: 'id', KeyType: 'HASH' }];
      return {
        Table: {
          TableName: t.name,
          TableStatus: 'ACTIVE',
          ItemCount: t.items,
          KeySchema: keys,
          AttributeDefinitions: keys.map((k) => ({ AttributeName: k.AttributeName, AttributeType: t.attributeTypes?.[k.AttributeName] ?? 'S' })),
          TableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${t.name}`,
          ...(t.indexes && t.indexes.length > 0
            ? { GlobalSecondaryIndexes: t.indexes.map((i) => ({ ...i, IndexStatus: 'ACTIVE', Projection: { ProjectionType: 'ALL' } })) }
            : {}),
        },
      };
    },
    // The account keeps no items (only their number), so a scan finds none.
    Scan: (input) => {
      const t = find('AWS::DynamoDB::Table', input.TableName as string);
      if (!t) throw serviceError('ResourceNotFoundException', 'Requested resource not found');
      return { Items: [], Count: 0, ScannedCount: 0 };
    },
    DeleteTable: (input) => {
      const t = find('AWS::DynamoDB::Table', input.TableName as string);
      if (!t) throw serviceError('ResourceNotFoundException', `Requested resource not found: Table: ${input.TableName} not found`);
      cfn.account.delete(`${t.type}|${t.name}`);
      return { TableDescription: { TableName: t.name, TableStatus: 'DELETING' } };
    },
    GetQueueUrl: (input) => {
      const q = find('AWS::SQS::Queue', input.QueueName as string);
      if (!q) throw notFound('QueueDoesNotExist', 'The specified queue does not exist.');
      return { QueueUrl: q.physicalId };
    },
    DeleteQueue: (input) => {
      const url = input.QueueUrl as string;
      const q = find('AWS::SQS::Queue', url.slice(url.lastIndexOf('/') + 1));
      if (!q) throw notFound('QueueDoesNotExist', 'The specified queue does not exist.');
      cfn.account.delete(`${q.type}|${q.name}`);
      return {};
    },
    DescribeLogGroups: (input) => ({
      logGroups: [...cfn.account.values()]
        .filter((g) => g.type === 'AWS::Logs::LogGroup' && g.name.startsWith((input.logGroupNamePrefix as string) ?? ''))
        .map((g) => ({ logGroupName: g.name, arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${g.name}:*` })),
    }),
    DeleteLogGroup: (input) => {
      const g = find('AWS::Logs::LogGroup', input.logGroupName as string);
      if (!g) throw serviceError('ResourceNotFoundException', 'The specified log group does not exist.');
      cfn.account.delete(`${g.type}|${g.name}`);
      return {};
    },
    DescribeSecret: (input) => {
      const id = input.SecretId as string;
      const s = [...cfn.account.values()].find((r) => r.type === 'AWS::SecretsManager::Secret' && (r.name === id || r.physicalId === id));
      if (!s) throw serviceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      return { ARN: s.physicalId, Name: s.name, ...(s.deletedDate ? { DeletedDate: s.deletedDate } : {}) };
    },
    DeleteSecret: (input) => {
      const id = input.SecretId as string;
      const s = [...cfn.account.values()].find((r) => r.type === 'AWS::SecretsManager::Secret' && (r.name === id || r.physicalId === id));
      if (!s) throw serviceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      if (input.ForceDeleteWithoutRecovery) cfn.account.delete(`${s.type}|${s.name}`);
      else s.deletedDate = new Date(Date.now() + 30 * 86_400_000);
      return { ARN: s.physicalId, Name: s.name };
    },
    DescribeEventBus: (input) => {
      const b = find('AWS::Events::EventBus', input.Name as string);
      if (!b) throw serviceError('ResourceNotFoundException', `Event bus ${input.Name} does not exist.`);
      return { Name: b.name, Arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${b.name}` };
    },
    GetConfigurationSet: (input) => {
      const c = find('AWS::SES::ConfigurationSet', input.ConfigurationSetName as string);
      if (!c) throw serviceError('NotFoundException', `Configuration set <${input.ConfigurationSetName}> does not exist.`);
      return { ConfigurationSetName: c.name };
    },
    GetFunction: (input) => {
      const f = find('AWS::Lambda::Function', input.FunctionName as string);
      if (!f) throw serviceError('ResourceNotFoundException', `Function not found: arn:aws:lambda:${REGION}:${ACCOUNT}:function:${input.FunctionName}`);
      return { Configuration: { FunctionName: f.name, FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${f.name}` } };
    },
  };
}

interface Stub {
  on(command: never): { callsFake(fn: (input: never) => unknown): unknown };
}

/** The service client stubs a test may hand over, each wired to the account. */
export interface AccountStubs {
  dynamodb?: unknown;
  sqs?: unknown;
  logs?: unknown;
  secrets?: unknown;
  events?: unknown;
  ses?: unknown;
  lambda?: unknown;
}

/**
 * Wires aws-sdk-client-mock stubs to the fake account: DescribeTable, GetQueueUrl,
 * DescribeLogGroups, DescribeSecret, DescribeEventBus, GetConfigurationSet, GetFunction and
 * the deletes answer from (and change) `cfn.account`. Call it after resetting the stubs.
 */
export async function wireAccountStubs(cfn: FakeCloudFormation, stubs: AccountStubs): Promise<void> {
  const services = accountServices(cfn);
  const [ddb, sqs, logs, secrets, events, ses, lambda] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-sqs'),
    import('@aws-sdk/client-cloudwatch-logs'),
    import('@aws-sdk/client-secrets-manager'),
    import('@aws-sdk/client-eventbridge'),
    import('@aws-sdk/client-sesv2'),
    import('@aws-sdk/client-lambda'),
  ]);
  const wire = (stub: unknown, command: unknown, handler: string) => {
    if (!stub) return;
    (stub as Stub).on(command as never).callsFake(((input: Record<string, unknown>) => services[handler]!(input)) as never);
  };
  wire(stubs.dynamodb, ddb.DescribeTableCommand, 'DescribeTable');
  wire(stubs.dynamodb, ddb.DeleteTableCommand, 'DeleteTable');
  wire(stubs.sqs, sqs.GetQueueUrlCommand, 'GetQueueUrl');
  wire(stubs.sqs, sqs.DeleteQueueCommand, 'DeleteQueue');
  wire(stubs.logs, logs.DescribeLogGroupsCommand, 'DescribeLogGroups');
  wire(stubs.logs, logs.DeleteLogGroupCommand, 'DeleteLogGroup');
  wire(stubs.secrets, secrets.DescribeSecretCommand, 'DescribeSecret');
  wire(stubs.secrets, secrets.DeleteSecretCommand, 'DeleteSecret');
  wire(stubs.events, events.DescribeEventBusCommand, 'DescribeEventBus');
  wire(stubs.ses, ses.GetConfigurationSetCommand, 'GetConfigurationSet');
  wire(stubs.lambda, lambda.GetFunctionCommand, 'GetFunction');
}

/**
 * A templateStore over the objects a test's S3 stub was given (PutObject inputs): the
 * installer puts a template over the inline limit in the bucket and passes its URL.
 */
export function templateStoreOf(puts: () => { Key?: string; Body?: unknown }[]): (url: string) => string | undefined {
  return (url) => {
    const key = url.replace(/^https:\/\/[^/]+\//, '');
    const put = [...puts()].reverse().find((input) => input.Key === key);
    return put ? String(put.Body) : undefined;
  };
}

function indexesOf(props: Record<string, Json>): FakeIndex[] {
  const list = props.GlobalSecondaryIndexes;
  if (!Array.isArray(list)) return [];
  return (list as unknown as FakeIndex[]).map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema }));
}
