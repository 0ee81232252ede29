import { CloudWatchLogsClient, DeleteLogGroupCommand, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteSecretCommand, DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetConfigurationSetCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { DeleteQueueCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsErrorInfo } from '../aws/clients.js';
import { COUNTERS_TABLE, SUPPRESSION_TABLE, TRACKING_TABLE, type TableSchema } from '../../functions/lib/table-schemas.js';
import { KEEPING_DELETION_POLICIES, referencedResources, resolveName, resourceIncluded, type TemplateDocument } from './template-document.js';

/**
 * The resources a stack gives a fixed name (`<stack>-Suppression`, `<stack>-EmailBus`, …):
 * which of them hold data, how CloudFormation identifies each type for a resource import
 * (its primaryIdentifier in the resource specification), how to find one that already
 * exists in the account, and how `uninstall --delete-data` removes the data ones. The
 * plan that decides between "import it back" and "it is in the way" is pure.
 */

export interface NamedType {
  /** How people call it: "DynamoDB table". */
  label: string;
  /** The template property that holds the physical name. */
  nameProperty: string;
  /** The keys CloudFormation identifies an existing resource by (the specification's primaryIdentifier). */
  primaryIdentifier: string[];
  /** Holds data that is lost when the resource is replaced or deleted (the specification's isStateful). */
  holdsData: boolean;
}

export const NAMED_TYPES: Record<string, NamedType> = {
  'AWS::DynamoDB::Table': { label: 'DynamoDB table', nameProperty: 'TableName', primaryIdentifier: ['TableName'], holdsData: true },
  'AWS::SQS::Queue': { label: 'SQS queue', nameProperty: 'QueueName', primaryIdentifier: ['QueueUrl'], holdsData: true },
  'AWS::Logs::LogGroup': { label: 'log group', nameProperty: 'LogGroupName', primaryIdentifier: ['LogGroupName'], holdsData: true },
  'AWS::SecretsManager::Secret': { label: 'secret', nameProperty: 'Name', primaryIdentifier: ['Id'], holdsData: true },
  'AWS::Events::EventBus': { label: 'EventBridge bus', nameProperty: 'Name', primaryIdentifier: ['Name'], holdsData: false },
  'AWS::SES::ConfigurationSet': { label: 'SES configuration set', nameProperty: 'Name', primaryIdentifier: ['Name'], holdsData: false },
  'AWS::Lambda::Function': { label: 'Lambda function', nameProperty: 'FunctionName', primaryIdentifier: ['FunctionName'], holdsData: false },
};

/**
 * Resource types whose replacement loses data: an upgrade that would replace one is
 * refused unless --allow-replacement. The bucket is a parameter of the stack, not one of
 * its resources, but is listed should a template ever hold one.
 */
export const DATA_BEARING_TYPES: ReadonlySet<string> = new Set([
  ...Object.entries(NAMED_TYPES)
    .filter(([, t]) => t.holdsData)
    .map(([type]) => type),
  'AWS::S3::Bucket',
]);

/** What each table holds, for the sentences that name it. */
const TABLE_CONTENTS: Record<string, string> = {
  TrackingTable: 'the tracking history',
  SuppressionTable: 'the suppression list',
  CountersTable: 'the daily counters',
};

/** The order kept resources are listed in: the data people care about first. */
const LIST_ORDER = ['AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup'];

/** Sorts resources for listing: tables, queues, the secret, log groups; by name within a type. */
export function listOrder<T extends { type: string; name: string }>(resources: T[]): T[] {
  const rank = (type: string) => (LIST_ORDER.includes(type) ? LIST_ORDER.indexOf(type) : LIST_ORDER.length);
  return [...resources].sort((a, b) => rank(a.type) - rank(b.type) || a.name.localeCompare(b.name));
}

/** The key schemas of the engine's tables (functions/lib/table-schemas.ts), by logical id. */
export const TABLE_SCHEMAS: Record<string, TableSchema> = {
  TrackingTable: TRACKING_TABLE,
  SuppressionTable: SUPPRESSION_TABLE,
  CountersTable: COUNTERS_TABLE,
};

export interface NamedResource {
  logicalId: string;
  type: string;
  name: string;
  label: string;
  /** Its DeletionPolicy keeps it (and its data) when the stack is deleted. */
  kept: boolean;
}

export function describeResource(r: { logicalId: string; type: string; name: string }): string {
  const label = NAMED_TYPES[r.type]?.label ?? r.type;
  const contents = TABLE_CONTENTS[r.logicalId];
  return `${label} ${r.name}${contents ? ` (${contents})` : ''}`;
}

/**
 * Every resource of the template with a fixed name the installer can look for. Given the
 * values of the template's Conditions, a resource whose Condition is false is left out: the
 * stack will not create it (the webhook resources without a WebhookUrl), so an existing one
 * of that name is neither in the way nor brought back.
 */
export function namedResources(doc: TemplateDocument, stackName: string, conditions: Record<string, boolean> = {}): NamedResource[] {
  const out: NamedResource[] = [];
  for (const [logicalId, resource] of Object.entries(doc.Resources)) {
    const type = NAMED_TYPES[resource.Type];
    if (!type) continue;
    if (!resourceIncluded(doc, logicalId, conditions)) continue;
    const name = resolveName(resource.Properties?.[type.nameProperty], stackName);
    if (!name) continue;
    out.push({
      logicalId,
      type: resource.Type,
      name,
      label: type.label,
      kept: KEEPING_DELETION_POLICIES.has(resource.DeletionPolicy ?? 'Delete'),
    });
  }
  return out;
}

// ------------------------------------------------------------------ finding them in the account

export interface KeyAttribute {
  name: string;
  keyType: 'HASH' | 'RANGE';
  attributeType?: string;
}

export interface ExistingResource {
  /** The identifier an IMPORT change set names it by (keys = primaryIdentifier). */
  identifier: Record<string, string>;
  /** Scheduled for deletion (a secret) or being deleted (a table): not usable, not importable. */
  goingAway?: string;
  /** Tables: their key schema, to compare with the one the engine needs. */
  keySchema?: KeyAttribute[];
}

export interface ProbeClients {
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  logs: CloudWatchLogsClient;
  secrets: SecretsManagerClient;
  ses: SESv2Client;
  events: EventBridgeClient;
  lambda: LambdaClient;
}

const NOT_FOUND = new Set([
  'ResourceNotFoundException',
  'NotFoundException',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
]);

type Probe = (clients: Partial<ProbeClients>, name: string) => Promise<ExistingResource | undefined>;

function need<K extends keyof ProbeClients>(clients: Partial<ProbeClients>, key: K): ProbeClients[K] {
  const client = clients[key];
  if (!client) throw new Error(`no ${key} client`);
  return client;
}

const PROBES: Record<string, Probe> = {
  'AWS::DynamoDB::Table': async (c, name) => {
    const table = (await need(c, 'dynamodb').send(new DescribeTableCommand({ TableName: name })))?.Table;
    if (!table) return undefined;
    const types = new Map((table.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
    return {
      identifier: { TableName: name },
      ...(table.TableStatus === 'DELETING' ? { goingAway: 'it is being deleted' } : {}),
      keySchema: (table.KeySchema ?? []).map((k) => ({
        name: k.AttributeName ?? '?',
        keyType: k.KeyType === 'RANGE' ? 'RANGE' : 'HASH',
        ...(types.get(k.AttributeName) ? { attributeType: types.get(k.AttributeName) as string } : {}),
      })),
    };
  },
  'AWS::SQS::Queue': async (c, name) => {
    const url = (await need(c, 'sqs').send(new GetQueueUrlCommand({ QueueName: name })))?.QueueUrl;
    return url ? { identifier: { QueueUrl: url } } : undefined;
  },
  'AWS::Logs::LogGroup': async (c, name) => {
    const out = await need(c, 'logs').send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name, limit: 50 }));
    return out?.logGroups?.some((g) => g.logGroupName === name) ? { identifier: { LogGroupName: name } } : undefined;
  },
  'AWS::SecretsManager::Secret': async (c, name) => {
    const out = await need(c, 'secrets').send(new DescribeSecretCommand({ SecretId: name }));
    if (!out?.ARN) return undefined;
    return {
      identifier: { Id: out.ARN },
      ...(out.DeletedDate ? { goingAway: `it is scheduled for deletion on ${new Date(out.DeletedDate).toISOString().slice(0, 10)}` } : {}),
    };
  },
  'AWS::Events::EventBus': async (c, name) => {
    const out = await need(c, 'events').send(new DescribeEventBusCommand({ Name: name }));
    return out?.Name ? { identifier: { Name: name } } : undefined;
  },
  'AWS::SES::ConfigurationSet': async (c, name) => {
    const out = await need(c, 'ses').send(new GetConfigurationSetCommand({ ConfigurationSetName: name }));
    return out?.ConfigurationSetName ? { identifier: { Name: name } } : undefined;
  },
  'AWS::Lambda::Function': async (c, name) => {
    const out = await need(c, 'lambda').send(new GetFunctionCommand({ FunctionName: name }));
    return out?.Configuration ? { identifier: { FunctionName: name } } : undefined;
  },
};

export interface FoundResource extends NamedResource {
  existing: ExistingResource;
}

export interface ProbeResult {
  found: FoundResource[];
  /** Resources whose existence could not be checked (a missing permission): CloudFormation will tell. */
  unchecked: { resource: NamedResource; error: string }[];
}

/** Looks each named resource up in the account, all at once. */
export async function findExisting(clients: Partial<ProbeClients>, resources: NamedResource[]): Promise<ProbeResult> {
  const result: ProbeResult = { found: [], unchecked: [] };
  await Promise.all(
    resources.map(async (resource) => {
      const probe = PROBES[resource.type];
      if (!probe) return;
      try {
        const existing = await probe(clients, resource.name);
        if (existing) result.found.push({ ...resource, existing });
      } catch (error) {
        const info = awsErrorInfo(error);
        if (NOT_FOUND.has(info.name)) return;
        result.unchecked.push({ resource, error: `${info.name}: ${info.message}` });
      }
    }),
  );
  const order = new Map(resources.map((r, i) => [r.logicalId, i]));
  result.found.sort((a, b) => order.get(a.logicalId)! - order.get(b.logicalId)!);
  return result;
}

/** Deletes one kept data resource by its physical id (what CloudFormation reports or the probe found). */
export async function deleteDataResource(clients: Partial<ProbeClients>, type: string, physicalId: string): Promise<void> {
  switch (type) {
    case 'AWS::DynamoDB::Table':
      await need(clients, 'dynamodb').send(new DeleteTableCommand({ TableName: physicalId }));
      return;
    case 'AWS::SQS::Queue':
      await need(clients, 'sqs').send(new DeleteQueueCommand({ QueueUrl: physicalId }));
      return;
    case 'AWS::Logs::LogGroup':
      await need(clients, 'logs').send(new DeleteLogGroupCommand({ logGroupName: physicalId }));
      return;
    case 'AWS::SecretsManager::Secret':
      // Without a recovery window, so the name is free for a later install at once.
      await need(clients, 'secrets').send(new DeleteSecretCommand({ SecretId: physicalId, ForceDeleteWithoutRecovery: true }));
      return;
    default:
      throw new Error(`Deleting a ${type} is not supported.`);
  }
}

/** Whether deleteDataResource knows how to delete this type. */
export function canDeleteData(type: string): boolean {
  return ['AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup', 'AWS::SecretsManager::Secret'].includes(type);
}

/** A resource's name from its physical id: a queue's from its URL, a secret's from its ARN. */
export function displayName(type: string, physicalId: string): string {
  if (type === 'AWS::SQS::Queue') return physicalId.slice(physicalId.lastIndexOf('/') + 1);
  if (type === 'AWS::SecretsManager::Secret') return /:secret:(.+)-[A-Za-z0-9]{6}$/.exec(physicalId)?.[1] ?? physicalId;
  return physicalId;
}

/** The physical id deleteDataResource takes, from what the probe found. */
export function physicalIdOf(found: FoundResource): string {
  return Object.values(found.existing.identifier)[0] ?? found.name;
}

// ------------------------------------------------------------------ the plan (pure)

export interface LeftoverPlan {
  /** Kept resources of an earlier install, to bring back with a resource import. */
  toImport: FoundResource[];
  /** Resources in the way: not kept by the template (so not ours to import), or going away. */
  collisions: { resource: FoundResource; why: string }[];
  /** Kept resources that cannot be imported: they need another resource that is gone. */
  incomplete: { resource: FoundResource; missing: string[] }[];
  /** Kept tables whose key schema is not the one the engine needs. */
  schemaMismatches: { resource: FoundResource; expected: string; actual: string }[];
}

function keyText(keys: KeyAttribute[]): string {
  return keys.map((k) => `${k.name} (${k.keyType}${k.attributeType ? `, ${k.attributeType}` : ''})`).join(' + ');
}

/** The key schema the engine needs for a table: table-schemas.ts, else the template's own. */
export function expectedKeySchema(doc: TemplateDocument, logicalId: string): KeyAttribute[] {
  const schema = TABLE_SCHEMAS[logicalId];
  if (schema) {
    return [
      { name: schema.hashKey, keyType: 'HASH', attributeType: schema.attributes[schema.hashKey] ?? 'S' },
      ...(schema.rangeKey ? [{ name: schema.rangeKey, keyType: 'RANGE' as const, attributeType: schema.attributes[schema.rangeKey] ?? 'S' }] : []),
    ];
  }
  const props = doc.Resources[logicalId]?.Properties ?? {};
  const types = new Map(((props.AttributeDefinitions ?? []) as { AttributeName: string; AttributeType: string }[]).map((a) => [a.AttributeName, a.AttributeType]));
  return ((props.KeySchema ?? []) as { AttributeName: string; KeyType: string }[]).map((k) => ({
    name: k.AttributeName,
    keyType: k.KeyType === 'RANGE' ? 'RANGE' : 'HASH',
    ...(types.get(k.AttributeName) ? { attributeType: types.get(k.AttributeName) as string } : {}),
  }));
}

function sameKeys(expected: KeyAttribute[], actual: KeyAttribute[]): boolean {
  if (expected.length !== actual.length) return false;
  return expected.every((e) => actual.some((a) => a.name === e.name && a.keyType === e.keyType && (!a.attributeType || !e.attributeType || a.attributeType === e.attributeType)));
}

/**
 * Decides, for a stack about to be created, what to do with each named resource that
 * already exists: import the kept ones (with every resource they refer to), refuse the
 * others.
 */
export function planLeftovers(doc: TemplateDocument, found: FoundResource[]): LeftoverPlan {
  const plan: LeftoverPlan = { toImport: [], collisions: [], incomplete: [], schemaMismatches: [] };
  const candidates: FoundResource[] = [];
  for (const resource of found) {
    if (!resource.kept) plan.collisions.push({ resource, why: 'it exists outside any stack of this name' });
    else if (resource.existing.goingAway) plan.collisions.push({ resource, why: resource.existing.goingAway });
    else candidates.push(resource);
  }
  // A kept resource comes back only with every resource its properties refer to.
  let importable = candidates;
  for (;;) {
    const ids = new Set(importable.map((r) => r.logicalId));
    const next = importable.filter((r) => referencedResources(doc, r.logicalId, { dependsOn: false }).every((d) => ids.has(d)));
    if (next.length === importable.length) break;
    importable = next;
  }
  const ids = new Set(importable.map((r) => r.logicalId));
  for (const resource of candidates) {
    if (ids.has(resource.logicalId)) continue;
    plan.incomplete.push({ resource, missing: referencedResources(doc, resource.logicalId, { dependsOn: false }).filter((d) => !ids.has(d)) });
  }
  for (const resource of importable) {
    if (resource.type === 'AWS::DynamoDB::Table' && resource.existing.keySchema) {
      const expected = expectedKeySchema(doc, resource.logicalId);
      if (!sameKeys(expected, resource.existing.keySchema)) {
        plan.schemaMismatches.push({ resource, expected: keyText(expected), actual: keyText(resource.existing.keySchema) });
        continue;
      }
    }
    plan.toImport.push(resource);
  }
  return plan;
}

/** The command that removes a resource in the way, for the fix text. */
export function deleteCommand(resource: FoundResource, region: string): string {
  const id = physicalIdOf(resource);
  switch (resource.type) {
    case 'AWS::DynamoDB::Table':
      return `aws dynamodb delete-table --region ${region} --table-name ${id}`;
    case 'AWS::SQS::Queue':
      return `aws sqs delete-queue --region ${region} --queue-url ${id}`;
    case 'AWS::Logs::LogGroup':
      return `aws logs delete-log-group --region ${region} --log-group-name ${id}`;
    case 'AWS::SecretsManager::Secret':
      return `aws secretsmanager delete-secret --region ${region} --secret-id ${resource.name} --force-delete-without-recovery`;
    case 'AWS::Events::EventBus':
      return `aws events delete-event-bus --region ${region} --name ${id}`;
    case 'AWS::SES::ConfigurationSet':
      return `aws sesv2 delete-configuration-set --region ${region} --configuration-set-name ${id}`;
    case 'AWS::Lambda::Function':
      return `aws lambda delete-function --region ${region} --function-name ${id}`;
    default:
      return `delete ${resource.type} ${id}`;
  }
}
