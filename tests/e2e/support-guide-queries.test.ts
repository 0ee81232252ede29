import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';

/**
 * The original engine's support guide and integration guide query its tables with the AWS
 * CLI and boto3. docs/MIGRATING.md says which of those run unchanged here; this test runs
 * each one, verbatim, against local mode's DynamoDB (the real `aws` CLI and Python's boto3,
 * pointed at it with AWS_ENDPOINT_URL). The commands are read from MIGRATING.md's section
 * "The support guide's queries"; only `{STACK}`, `X` and `YYYY-MM-DD` are filled in, as
 * that section says. Local mode runs under the stack name the integration guide's examples
 * use, so its boto3 snippets need no change at all.
 */

const run = promisify(execFile);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GUIDE = readFileSync(join(REPO, 'docs', 'MIGRATING.md'), 'utf8');
const STACK = 'my-email-engine';
const BOUNCED = 'bounce@simulator.amazonses.com';
const TODAY = new Date().toISOString().slice(0, 10);

/** The ```bash blocks of the section "The support guide's queries". */
function guideCommands(): string[] {
  const start = GUIDE.indexOf("## The support guide's queries");
  const end = GUIDE.indexOf('\n## ', start + 1);
  const section = GUIDE.slice(start, end);
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

function fill(command: string): string {
  return command.replaceAll('{STACK}', STACK).replaceAll('"X"', JSON.stringify(BOUNCED)).replaceAll('YYYY-MM-DD', TODAY);
}

let local: LocalMode;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  local = await startLocalMode(['--stack-name', STACK, '--retry-delay-seconds', '1']);
  env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: local.info.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: local.info.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: local.info.region,
    AWS_REGION: local.info.region,
    AWS_ENDPOINT_URL: local.info.dynamoDbEndpoint,
    AWS_DEFAULT_OUTPUT: 'json',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_PROFILE: '',
  };
  delete env.AWS_PROFILE;
  const send = (emailId: string, to: string, extra: Record<string, unknown> = {}) =>
    local.publish([local.request({ emailId, to, templateName: 'welcome', templateData: { userName: 'Ada', companyName: 'Acme' }, ...extra })]);
  await send('email-123', 'user@example.com', { metadata: { campaignId: 'summer-sale-2024', source: 'newsletter' } });
  await send('my-custom-id-123', 'reader@example.com');
  await send('email-abc123', 'success@simulator.amazonses.com');
  await send('email-bounce', BOUNCED);
  await eventually(async () => ((await local.record('email-123'))?.status === 'sent' ? true : undefined), 30_000, 'email-123 sent');
  await eventually(async () => ((await local.record('my-custom-id-123'))?.status === 'sent' ? true : undefined), 30_000, 'my-custom-id-123 sent');
  await eventually(async () => ((await local.record('email-abc123'))?.status === 'delivered' ? true : undefined), 30_000, 'email-abc123 delivered');
  await eventually(() => local.suppression(BOUNCED), 30_000, 'the bounced address suppressed');
  // An entry written by the original engine, in its shape.
  await local.ddb.send(
    new PutCommand({
      TableName: `${STACK}-Suppression`,
      Item: { email: 'user@example.com', reason: 'hard-bounce', suppressionType: 'bounce', addedToSuppressionDate: `${TODAY}T08:00:00Z` },
    }),
  );
}, 120_000);

afterAll(async () => {
  await local?.stop();
}, 30_000);

async function aws(command: string): Promise<any> {
  const { stdout } = await run('bash', ['-c', fill(command)], { env, timeout: 60_000 });
  return stdout.trim() ? JSON.parse(stdout) : {};
}

async function python(code: string): Promise<string> {
  const { stdout } = await run('python3', ['-c', code], { env, timeout: 60_000 });
  return stdout;
}

describe("the support guide's AWS CLI queries, from docs/MIGRATING.md", () => {
  const commands = guideCommands();
  const find = (...parts: string[]) => {
    const found = commands.filter((c) => parts.every((p) => c.includes(p)));
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  it('are the ones the guide lists (nine, each an aws dynamodb command)', () => {
    expect(commands).toHaveLength(9);
    expect(commands.every((c) => c.startsWith('aws dynamodb '))).toBe(true);
  });

  it('is X suppressed: the entry the engine wrote for a hard bounce, with its reason and addedToSuppressionDate', async () => {
    const out = await aws(find('get-item', '{STACK}-Suppression', '"X"'));
    expect(out.Item.reason.S).toBe('hard-bounce');
    expect(out.Item.suppressionType.S).toBe('bounce');
    expect(out.Item.addedToSuppressionDate.S.startsWith(TODAY)).toBe(true);
  });

  it('the records sent to X (to-email-timestamp-index)', async () => {
    const out = await aws(find('to-email-timestamp-index'));
    expect(out.Count).toBe(1);
    expect(out.Items[0].emailId.S).toBe('email-bounce');
  });

  it('was it opened: the record by emailId', async () => {
    const out = await aws(find('get-item', '{STACK}-EmailTracking'));
    expect(out.Item.status.S).toBe('sent');
  });

  it("today's emails (date-partition-index, COUNT)", async () => {
    expect((await aws(find('datePartition = :date', 'YYYY-MM-DD', '--select COUNT'))).Count).toBe(4);
  });

  it("today's bounces (suppression-type-date-index on addedToSuppressionDate, COUNT): the engine's entry and the original's", async () => {
    expect((await aws(find('suppression-type-date-index', '--select COUNT'))).Count).toBe(2);
  });

  it('why is someone suppressed, then remove them', async () => {
    expect((await aws(find('get-item', 'user@example.com'))).Item.reason.S).toBe('hard-bounce');
    await aws(find('delete-item', 'user@example.com'));
    expect(await local.suppression('user@example.com')).toBeUndefined();
  });

  it('emails of one campaign (scan on metadata.campaignId)', async () => {
    const out = await aws(find('scan', 'summer-sale-2024'));
    expect(out.Count).toBe(1);
    expect(out.Items[0].emailId.S).toBe('email-123');
  });

  it('a day’s emails: runs, and returns keys only (MIGRATING.md points at stats --date instead)', async () => {
    const command = find('2024-12-22');
    expect((await aws(command)).Count).toBe(0);
    const today = await aws(command.replace('2024-12-22', TODAY));
    expect(today.Count).toBe(4);
    expect(Object.keys(today.Items[0]).sort()).toEqual(['datePartition', 'emailId', 'timestamp']);
  });
});

describe("the integration guide's boto3 reads, verbatim", () => {
  it('query by email ID', async () => {
    const out = await python(`import boto3

dynamodb = boto3.client('dynamodb')

response = dynamodb.get_item(
    TableName='my-email-engine-EmailTracking',
    Key={'emailId': {'S': 'my-custom-id-123'}},
)

if 'Item' in response:
    item = response['Item']
    print(f"Status: {item['status']['S']}")
    print(f"Sent at: {item['timestamp']['S']}")
`);
    expect(out).toMatch(/^Status: sent\nSent at: \d{4}-\d{2}-\d{2}T/);
  });

  it('query by recipient', async () => {
    const out = await python(`import boto3
dynamodb = boto3.client('dynamodb')
response = dynamodb.query(
    TableName='my-email-engine-EmailTracking',
    IndexName='to-email-timestamp-index',
    KeyConditionExpression='toEmail = :email',
    ExpressionAttributeValues={':email': {'S': 'user@example.com'}},
)

for item in response['Items']:
    print(f"{item['emailId']['S']}: {item['status']['S']}")
`);
    expect(out).toBe('email-123: sent\n');
  });

  it('all attempts of one email, oldest first, and the final outcome (original-email-id-index)', async () => {
    const all = await python(`import boto3

dynamodb = boto3.client('dynamodb')

# Find all attempts (original + retries) for a specific email
# Use the originalEmailId from your first send
response = dynamodb.query(
    TableName='my-email-engine-EmailTracking',
    IndexName='original-email-id-index',
    KeyConditionExpression='originalEmailId = :origId',
    ExpressionAttributeValues={':origId': {'S': 'email-abc123'}},
    ScanIndexForward=True,  # Oldest first
)

for item in response['Items']:
    email_id = item['emailId']['S']
    retry = int(item.get('retryAttempt', {}).get('N', '0'))
    status = item['status']['S']
    
    if retry > 0:
        print(f"  └─ Retry #{retry}: {email_id} → {status}")
    else:
        print(f"Original: {email_id} → {status}")
`);
    // Local mode's mailbox simulator delivers success@ and then reports an open.
    const status = /^Original: email-abc123 → (delivered|opened)\n$/.exec(all)?.[1];
    expect(status).toBeDefined();
    const final = await python(`import boto3
dynamodb = boto3.client('dynamodb')
# Query all attempts and get the latest one
response = dynamodb.query(
    TableName='my-email-engine-EmailTracking',
    IndexName='original-email-id-index',
    KeyConditionExpression='originalEmailId = :origId',
    ExpressionAttributeValues={':origId': {'S': 'email-abc123'}},
    ScanIndexForward=False,  # Newest first
    Limit=1,  # Get only the latest attempt
)

if response['Items']:
    final = response['Items'][0]
    print(f"Final status: {final['status']['S']}")
`);
    expect(final).toMatch(/^Final status: (delivered|opened)\n$/);
  });

  it('is an address suppressed, and why', async () => {
    const out = await python(`import boto3
dynamodb = boto3.client('dynamodb')
email = 'Bounce@Simulator.AmazonSES.com'
response = dynamodb.get_item(
    TableName='my-email-engine-Suppression',
    Key={'email': {'S': email.lower()}},
)

if 'Item' in response:
    print(f"Email is suppressed: {response['Item']['reason']['S']}")
`);
    expect(out).toBe('Email is suppressed: hard-bounce\n');
  });
});
