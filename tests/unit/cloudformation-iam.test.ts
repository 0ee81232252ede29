import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  allPolicyStatements,
  asList,
  loadTemplate,
  referencedResource,
  resourceMatches,
  resourceString,
  roleStatements,
  type Json,
  type PolicyStatement,
} from '../support/cloudformation.js';
import {
  FUNCTIONS_DIR,
  analyseHandler,
  iamActionsFor,
  indexHint,
  tableHint,
  usesIndex,
  type SdkCall,
} from '../support/handler-analysis.js';

/**
 * Least privilege, checked against the code: the AWS SDK commands each handler can send
 * (found by following its imports) must be allowed by its function's role on the right
 * resource, and the role must allow nothing else beyond logging and its queue consumption.
 */

const template = loadTemplate();

const HANDLERS = [
  { dir: 'email-sender', fn: 'EmailSenderFunction' },
  { dir: 'feedback-processor', fn: 'FeedbackProcessorFunction' },
  { dir: 'unsubscribe', fn: 'UnsubscribeFunction' },
  { dir: 'template-seeder', fn: 'TemplateSeederFunction' },
  { dir: 'webhook-delivery', fn: 'WebhookDeliveryFunction' },
] as const;

const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/** What the Lambda SQS event source does with the function's role (not the handler's code). */
const QUEUE_CONSUMER_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'];

const TEMPLATES = 'arn:${AWS::Partition}:s3:::${ArtifactBucket}/templates/example/metadata.json';
const STARTER = 'arn:${AWS::Partition}:s3:::${ArtifactBucket}/${StarterTemplatesPrefix}/example/metadata.json';
const BUCKET = 'arn:${AWS::Partition}:s3:::${ArtifactBucket}';
const ATTACHMENTS = 'arn:${AWS::Partition}:s3:::${ArtifactBucket}/attachments/invoices/example.pdf';

/** The concrete resources a non-DynamoDB action must be allowed on, per handler. */
const EXPECTED_RESOURCES: Record<string, (handler: string) => string[]> = {
  'ses:SendEmail': () => [
    'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${DefaultSenderEmail}',
    'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${ConfigurationSet}',
  ],
  'events:PutEvents': () => ['${EmailBus.Arn}'],
  'sqs:SendMessage': () => ['${SendQueue.Arn}'],
  // The unsubscribe secret also yields the key that signs the engine's own events (Feedback Processor, Webhook Delivery).
  'secretsmanager:GetSecretValue': (handler) => (handler === 'webhook-delivery' ? ['${WebhookSecret}', '${UnsubscribeSecret}'] : ['${UnsubscribeSecret}']),
  // Webhook Delivery delays the next attempt of a failed delivery on its own queue.
  'sqs:ChangeMessageVisibility': () => ['${WebhookQueue.Arn}'],
  's3:GetObject': (handler) => (handler === 'template-seeder' ? [TEMPLATES, STARTER] : handler === 'email-sender' ? [TEMPLATES, ATTACHMENTS] : [TEMPLATES]),
  's3:PutObject': () => [TEMPLATES],
  's3:ListBucket': () => [BUCKET],
  'scheduler:CreateSchedule': () => ['arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${ScheduleGroup}/email-1'],
  'iam:PassRole': () => ['${SchedulerRole.Arn}'],
  // GetAccount has no resource type in the SES v2 authorization reference: only "*" allows it.
  'ses:GetAccount': () => ['*'],
};

/** Actions IAM can only allow on every resource (no resource-level permissions). */
const RESOURCELESS_ACTIONS = new Set(['ses:GetAccount']);

function allowedResources(statements: PolicyStatement[], action: string): string[] {
  return statements
    .filter((s) => s.Effect === 'Allow' && asList(s.Action).includes(action))
    .flatMap((s) => asList(s.Resource as Json | Json[]))
    .map((r) => resourceString(r as Json) ?? JSON.stringify(r));
}

function allows(statements: PolicyStatement[], action: string, resource: string): boolean {
  return allowedResources(statements, action).some((pattern) => resourceMatches(pattern, resource));
}

interface Requirement {
  action: string;
  resource: string;
  because: string;
}

/** What a handler's code needs: one requirement per (IAM action, concrete resource). */
function requirementsOf(handlerDir: string, calls: SdkCall[], statements: PolicyStatement[]): { needs: Requirement[]; unknown: string[] } {
  const needs: Requirement[] = [];
  const unknown: string[] = [];
  for (const call of calls) {
    for (const action of iamActionsFor(call)) {
      const because = `${call.command} in ${call.file}`;
      if (action.startsWith('dynamodb:')) {
        const tables = tableHint(call);
        if (tables.length === 0) unknown.push(`${because}: cannot tell which table`);
        for (const table of tables) {
          const resource = usesIndex(call)
            ? `\${${table}.Arn}/index/${indexHint(call) ?? 'some-index'}`
            : `\${${table}.Arn}`;
          needs.push({ action, resource, because });
        }
        continue;
      }
      const expected = EXPECTED_RESOURCES[action];
      if (!expected) {
        unknown.push(`${because}: no expected resource known for ${action}; add it to EXPECTED_RESOURCES`);
        continue;
      }
      for (const resource of expected(handlerDir)) needs.push({ action, resource, because });
    }
  }
  // A GetObject on a missing key answers 404 only with ListBucket; without it S3 says 403.
  if (needs.some((n) => n.action === 's3:GetObject')) needs.push({ action: 's3:ListBucket', resource: BUCKET, because: 'GetObject of missing keys' });
  void statements;
  return { needs, unknown };
}

describe('the handler analysis', () => {
  function writeModules(files: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), 'analysis-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  it('follows only the functions a handler uses, carrying the table named at the call site', () => {
    const root = writeModules({
      'lib/env.ts': 'export function requiredString(env: Env, name: string): string { return name; }\n',
      'lib/store.ts': [
        "import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';",
        'export async function readThing(ddb: Ddb, table: string) {',
        '  return ddb.send(new GetCommand({ TableName: table, Key: { id: 1 } }));',
        '}',
        'export async function writeThing(ddb: Ddb, table: string) {',
        '  await cleanUp(ddb, table);',
        '  return ddb.send(new PutCommand({ TableName: table, Item: {} }));',
        '}',
        'async function cleanUp(ddb: Ddb, table: string) {',
        '  return ddb.send(new DeleteCommand({ TableName: table, Key: {} }));',
        '}',
      ].join('\n'),
      'lib/types.ts': "import { ScanCommand } from '@aws-sdk/lib-dynamodb';\nexport const scan = new ScanCommand({ TableName: 'x' });\n",
      'handler/handler.ts': [
        "import { readThing } from '../lib/store.js';",
        "import type { Thing } from '../lib/types.js';",
        "import { requiredString } from '../lib/env.js';",
        'export async function handle(env: Env, ddb: Ddb) {',
        "  const config = { trackingTable: requiredString(env, 'TRACKING_TABLE') };",
        '  return readThing(ddb, config.trackingTable);',
        '}',
      ].join('\n'),
    });
    try {
      const analysis = analyseHandler(join(root, 'handler', 'handler.ts'), root);
      expect(analysis.calls.map((c) => [c.command, c.file, tableHint(c)])).toEqual([['GetCommand', 'lib/store.ts', ['TrackingTable']]]);
      expect(analysis.envReads.map((e) => e.name)).toEqual(['TRACKING_TABLE']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reads a Query index from a string constant and counts module-level code', () => {
    const root = writeModules({
      'h/handler.ts': [
        "import { QueryCommand } from '@aws-sdk/lib-dynamodb';",
        "import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';",
        "const BY_MESSAGE = 'by-message-index';",
        'new EventBridgeClient({}).send(new PutEventsCommand({ Entries: [] }));',
        'export const handler = async (ddb: Ddb) =>',
        '  ddb.send(new QueryCommand({ TableName: process.env.X_TRACKING_TABLE, IndexName: BY_MESSAGE }));',
      ].join('\n'),
    });
    try {
      const analysis = analyseHandler(join(root, 'h', 'handler.ts'), root);
      expect(analysis.calls.map((c) => [c.command, c.index])).toEqual([
        ['PutEventsCommand', undefined],
        ['QueryCommand', 'by-message-index'],
      ]);
      expect(analysis.directEnvReads).toEqual(['h/handler.ts: process.env.X_TRACKING_TABLE']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('maps SDK commands to IAM actions', () => {
    expect(iamActionsFor({ pkg: '@aws-sdk/client-sesv2', command: 'SendEmailCommand' })).toEqual(['ses:SendEmail']);
    expect(iamActionsFor({ pkg: '@aws-sdk/lib-dynamodb', command: 'BatchGetCommand' })).toEqual(['dynamodb:BatchGetItem']);
    expect(iamActionsFor({ pkg: '@aws-sdk/client-dynamodb', command: 'UpdateItemCommand' })).toEqual(['dynamodb:UpdateItem']);
    expect(iamActionsFor({ pkg: '@aws-sdk/client-eventbridge', command: 'PutEventsCommand' })).toEqual(['events:PutEvents']);
    expect(iamActionsFor({ pkg: '@aws-sdk/client-s3', command: 'ListObjectsV2Command' })).toEqual(['s3:ListBucket']);
    expect(iamActionsFor({ pkg: '@aws-sdk/client-sqs', command: 'SendMessageBatchCommand' })).toEqual(['sqs:SendMessage']);
  });

  it('finds the commands the Template Seeder sends through its imports', () => {
    const analysis = analyseHandler(join(FUNCTIONS_DIR, 'template-seeder', 'handler.ts'));
    expect(analysis.files).toEqual(expect.arrayContaining(['template-seeder/handler.ts', 'lib/template-seeding.ts']));
    expect(new Set(analysis.calls.map((c) => c.command))).toEqual(new Set(['GetObjectCommand', 'ListObjectsV2Command', 'PutObjectCommand']));
  });

  it('finds the Webhook Delivery calls: the webhook secret, and the unsubscribe secret its event key comes from', () => {
    const analysis = analyseHandler(join(FUNCTIONS_DIR, 'webhook-delivery', 'handler.ts'));
    expect(analysis.calls.map((c) => [c.command, c.file]).sort()).toEqual([
      ['ChangeMessageVisibilityCommand', 'webhook-delivery/handler.ts'],
      ['GetSecretValueCommand', 'lib/secrets.ts'],
    ]);
    const read = new Set(analysis.envReads.map((e) => e.name));
    expect(read).toEqual(
      new Set(['WEBHOOK_URL', 'WEBHOOK_QUEUE_URL', 'WEBHOOK_SECRET_ARN', 'WEBHOOK_SECRET', 'WEBHOOK_EVENT_TYPES', 'UNSUBSCRIBE_SECRET_ARN', 'UNSUBSCRIBE_SECRET']),
    );
  });
});

describe('IAM statements', () => {
  const statements = allPolicyStatements(template);

  it('never allow a wildcard action', () => {
    expect(statements.length).toBeGreaterThan(10);
    for (const { where, statement } of statements) {
      expect(statement.NotAction).toBeUndefined();
      if (statement.Effect !== 'Allow') continue;
      for (const action of asList(statement.Action)) {
        expect({ where, action, wildcard: action.includes('*') }).toEqual({ where, action, wildcard: false });
      }
    }
  });

  it('never allow an action on every resource', () => {
    for (const { where, statement } of statements) {
      if (statement.Effect !== 'Allow') continue;
      if (asList(statement.Action).every((action) => RESOURCELESS_ACTIONS.has(action as string))) continue;
      for (const resource of asList(statement.Resource as Json | Json[])) {
        expect({ where, resource }).not.toEqual({ where, resource: '*' });
      }
    }
  });

  it('use a wildcard action only to deny (the bucket policy refusing plain HTTP)', () => {
    const wildcardDenies = statements.filter(({ statement }) => statement.Effect === 'Deny' && asList(statement.Action).some((a) => a.includes('*')));
    expect(wildcardDenies.map(({ statement }) => statement.Sid)).toEqual(['DenyInsecureTransport']);
  });
});

describe.each(HANDLERS)('$fn role', ({ dir, fn }) => {
  const entry = join(FUNCTIONS_DIR, dir, 'handler.ts');
  const exists = existsSync(entry);
  const roleId = referencedResource((template.Resources[fn]!.Properties as Record<string, Json>).Role)!;
  const statements = roleStatements(template, roleId);
  const analysis = exists ? analyseHandler(entry) : undefined;
  const consumesQueue = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && referencedResource((r.Properties as Record<string, Json>).FunctionName) === fn,
  );

  const check = exists ? it : it.skip;

  check('can be assumed only by Lambda', () => {
    const trust = (template.Resources[roleId]!.Properties as any).AssumeRolePolicyDocument.Statement;
    expect(trust).toEqual([{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
  });

  check('allows every AWS call the handler code makes, on the resource it makes it on', () => {
    const { needs, unknown } = requirementsOf(dir, analysis!.calls, statements);
    expect(unknown).toEqual([]);
    const missing = needs.filter((n) => !allows(statements, n.action, n.resource)).map((n) => `${n.action} on ${n.resource} (${n.because})`);
    expect(missing).toEqual([]);
  });

  check('allows nothing the handler never does, besides logging and consuming its queue', () => {
    const { needs } = requirementsOf(dir, analysis!.calls, statements);
    const needed = new Set([...needs.map((n) => n.action), ...LOG_ACTIONS, ...(consumesQueue ? QUEUE_CONSUMER_ACTIONS : [])]);
    const granted = statements.flatMap((s) => asList(s.Action));
    expect([...new Set(granted.filter((a) => !needed.has(a)))]).toEqual([]);
    // Table by table too: no access to a table (or index) the code never touches.
    const touched = new Set(needs.filter((n) => n.action.startsWith('dynamodb:')).map((n) => n.resource.replace(/\/index\/.*/, '/index/')));
    for (const s of statements) {
      for (const action of asList(s.Action).filter((a) => a.startsWith('dynamodb:'))) {
        for (const r of asList(s.Resource as Json | Json[]).map((x) => resourceString(x as Json)!)) {
          const usedHere = needs.some((n) => n.action === action && resourceMatches(r, n.resource));
          expect({ action, resource: r, usedHere, touched: touched.has(r.replace(/\/index\/.*/, '/index/')) }).toEqual({ action, resource: r, usedHere: true, touched: true });
        }
      }
    }
  });

  check('writes logs only to its own log group', () => {
    const logStatements = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('logs:')));
    expect(logStatements).toHaveLength(1);
    expect(asList(logStatements[0]!.Action).sort()).toEqual([...LOG_ACTIONS].sort());
    const group = referencedResource((template.Resources[fn]!.Properties as any).LoggingConfig.LogGroup);
    expect(logStatements[0]!.Resource).toEqual({ 'Fn::GetAtt': [group, 'Arn'] });
  });

  check('consumes only the queue its event source reads', () => {
    const consumer = statements.filter((s) => asList(s.Action).includes('sqs:ReceiveMessage'));
    if (!consumesQueue) {
      expect(consumer).toEqual([]);
      return;
    }
    expect(consumer.map((s) => s.Resource)).toEqual([(consumesQueue.Properties as Record<string, Json>).EventSourceArn]);
  });
});

describe('EmailSenderRole S3 reads', () => {
  const statements = roleStatements(template, 'EmailSenderRole');
  const reads = allowedResources(statements, 's3:GetObject');

  it('cover exactly templates/ and attachments/ of the artifact bucket', () => {
    expect(reads.sort()).toEqual([
      'arn:${AWS::Partition}:s3:::${ArtifactBucket}/attachments/*',
      'arn:${AWS::Partition}:s3:::${ArtifactBucket}/templates/*',
    ]);
  });

  it('do not reach the function code under artifacts/ or keys merely starting with "attachments"', () => {
    for (const key of ['artifacts/email-sender-abc.zip', 'attachmentsX/a.pdf', 'starter-templates/welcome/metadata.json']) {
      expect({ key, allowed: allows(statements, 's3:GetObject', `arn:\${AWS::Partition}:s3:::\${ArtifactBucket}/${key}`) }).toEqual({ key, allowed: false });
    }
  });
});
