import { MAX_ATTEMPTS } from '../../functions/core/webhook-payload.js';
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  TEMPLATE_PATH,
  isObject,
  loadTemplate,
  referencedResource,
  roleStatements,
  type CfnResource,
  type Json,
} from '../support/cloudformation.js';
import { matchesPattern } from '../support/event-pattern.js';
import { evaluateConditions, parameterValues, parseTemplateDocument, referencedResources, resourceIncluded } from '../../src/installer/template-document.js';

const template = loadTemplate();
const resources = template.Resources;
const params = template.Parameters ?? {};

function props(logicalId: string): Record<string, any> {
  const resource = resources[logicalId];
  if (!resource) throw new Error(`No resource ${logicalId}`);
  return (resource.Properties ?? {}) as Record<string, any>;
}

function ofType(type: string): [string, CfnResource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

/** Replaces `!Ref X` / `!GetAtt X.Y` inside a value with fixed strings, as CloudFormation would. */
function resolveRefs(value: Json, values: Record<string, string>): Json {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, values));
  if (!isObject(value)) return value;
  const ref = referencedResource(value);
  if (ref !== undefined && ref in values) return values[ref]!;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, values)]));
}

const FUNCTIONS = {
  EmailSenderFunction: { name: 'EmailSender', codeKey: 'EmailSenderCodeKey' },
  FeedbackProcessorFunction: { name: 'FeedbackProcessor', codeKey: 'FeedbackProcessorCodeKey' },
  UnsubscribeFunction: { name: 'Unsubscribe', codeKey: 'UnsubscribeCodeKey' },
  TemplateSeederFunction: { name: 'TemplateSeeder', codeKey: 'TemplateSeederCodeKey' },
  WebhookDeliveryFunction: { name: 'WebhookDelivery', codeKey: 'WebhookDeliveryCodeKey' },
} as const;

describe('names', () => {
  const NAME_PROPERTIES = ['Name', 'QueueName', 'FunctionName', 'TableName', 'TopicName', 'AlarmName', 'LogGroupName', 'RoleName', 'RuleName'];

  it('derives every physical name from the stack name, so two stacks coexist in one account', () => {
    for (const [id, resource] of Object.entries(resources)) {
      for (const key of NAME_PROPERTIES) {
        const value = (resource.Properties as Record<string, Json> | undefined)?.[key];
        // A reference to another resource (an event source's FunctionName) names nothing new.
        if (value === undefined || referencedResource(value) !== undefined) continue;
        expect({ id, key, usesStackName: JSON.stringify(value).includes('${AWS::StackName}-') }).toEqual({ id, key, usesStackName: true });
      }
    }
  });

  it('names the bus, configuration set and seeder as the seed documents do', () => {
    expect(props('EmailBus').Name).toEqual({ 'Fn::Sub': '${AWS::StackName}-EmailBus' });
    expect(props('ConfigurationSet').Name).toEqual({ 'Fn::Sub': '${AWS::StackName}-tracking' });
    expect(props('TemplateSeederFunction').FunctionName).toEqual({ 'Fn::Sub': '${AWS::StackName}-TemplateSeeder' });
  });

  it("stays under CloudFormation's 1 MB template limit (beyond 51,200 bytes the installer passes it through the bucket)", () => {
    expect(statSync(TEMPLATE_PATH).size).toBeLessThan(1_048_576);
  });
});

describe('send path', () => {
  const rule = props('EmailRequestRule');
  const request = (source: string, detailType = 'Email Request') => ({
    source,
    'detail-type': detailType,
    detail: { to: 'a@example.com', templateName: 'welcome' },
  });

  it('has a rule on the engine bus that routes "Email Request" from any source but the engine', () => {
    expect(referencedResource(rule.EventBusName)).toBe('EmailBus');
    expect(matchesPattern(rule.EventPattern, request('my.app'))).toBe(true);
    expect(matchesPattern(rule.EventPattern, request('com.example.orders'))).toBe(true);
    expect(matchesPattern(rule.EventPattern, request('sesmailengine'))).toBe(false);
    expect(matchesPattern(rule.EventPattern, request('sesmailengine', 'Email Retry'))).toBe(false);
    expect(matchesPattern(rule.EventPattern, request('my.app', 'Email Status Changed'))).toBe(false);
  });

  it('delivers to the send queue with a retry policy and its own dead-letter queue', () => {
    expect(rule.Targets).toHaveLength(1);
    const target = rule.Targets[0];
    expect(target.Arn).toEqual({ 'Fn::GetAtt': ['SendQueue', 'Arn'] });
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(3600);
    const dlq = referencedResource(target.DeadLetterConfig.Arn)!;
    expect(resources[dlq]?.Type).toBe('AWS::SQS::Queue');
    expect(dlq).not.toBe('SendQueue');
  });

  it('lets only that rule send to the send queue', () => {
    const policies = ofType('AWS::SQS::QueuePolicy').filter(([, p]) =>
      (p.Properties!.Queues as Json[]).some((q) => referencedResource(q) === 'SendQueue'),
    );
    expect(policies).toHaveLength(1);
    const statements = (policies[0]![1].Properties!.PolicyDocument as any).Statement;
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['EmailRequestRule', 'Arn'] } } },
      }),
    ]);
  });

  it('lets EventBridge put undeliverable events of every rule on the event-delivery DLQ (the webhook rule when there is one)', () => {
    const policy = ofType('AWS::SQS::QueuePolicy').find(([, p]) =>
      (p.Properties!.Queues as Json[]).some((q) => referencedResource(q) === 'EventDeliveryDeadLetterQueue'),
    );
    const sources = (policy![1].Properties!.PolicyDocument as any).Statement[0].Condition.ArnEquals['aws:SourceArn'];
    expect(sources.slice(0, 2).map(referencedResource).sort()).toEqual(['EmailRequestRule', 'SesFeedbackRule']);
    expect(sources[2]).toEqual({ 'Fn::If': ['HasWebhook', { 'Fn::GetAtt': ['WebhookRule', 'Arn'] }, { Ref: 'AWS::NoValue' }] });
    const rules = ofType('AWS::Events::Rule').map(([id]) => id).sort();
    expect(rules).toEqual(['EmailRequestRule', 'SesFeedbackRule', 'WebhookRule']);
  });

  it('feeds the Email Sender in batches of 10 with partial batch failures and capped concurrency', () => {
    const mapping = props('EmailSenderEventSource');
    expect(referencedResource(mapping.FunctionName)).toBe('EmailSenderFunction');
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': ['SendQueue', 'Arn'] });
    expect(mapping.BatchSize).toBe(10);
    expect(mapping.MaximumBatchingWindowInSeconds).toBeLessThanOrEqual(5);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: { Ref: 'EmailSenderConcurrency' } });
    expect(params.EmailSenderConcurrency).toMatchObject({ Default: 14, MinValue: 2, MaxValue: 1000 });
  });
});

describe('queues', () => {
  const queues = ofType('AWS::SQS::Queue');
  const mappings = ofType('AWS::Lambda::EventSourceMapping');

  it('are all encrypted', () => {
    for (const [id, q] of queues) expect({ id, sse: q.Properties?.SqsManagedSseEnabled }).toEqual({ id, sse: true });
  });

  it('keep a message invisible for at least six times the timeout of the function that consumes it', () => {
    expect(mappings.length).toBeGreaterThanOrEqual(2);
    for (const [, m] of mappings) {
      const queue = referencedResource(m.Properties!.EventSourceArn as Json)!;
      const fn = referencedResource(m.Properties!.FunctionName as Json)!;
      const visibility = Number(props(queue).VisibilityTimeout);
      expect({ queue, ok: visibility >= 6 * Number(props(fn).Timeout) }).toEqual({ queue, ok: true });
    }
  });

  it('move a message to a dead-letter queue after a bounded number of receives', () => {
    for (const [, m] of mappings) {
      const queue = referencedResource(m.Properties!.EventSourceArn as Json)!;
      const redrive = props(queue).RedrivePolicy;
      expect(resources[referencedResource(redrive.deadLetterTargetArn)!]?.Type).toBe('AWS::SQS::Queue');
      expect(redrive.maxReceiveCount).toBeGreaterThanOrEqual(3);
      expect(redrive.maxReceiveCount).toBeLessThanOrEqual(20);
    }
  });

  it('every consumer reports partial batch failures', () => {
    for (const [id, m] of mappings) expect({ id, types: m.Properties!.FunctionResponseTypes }).toEqual({ id, types: ['ReportBatchItemFailures'] });
  });
});

describe('feedback path', () => {
  const FIXTURES = join(process.cwd(), 'tests', 'fixtures', 'aws', 'event-publishing-sns');
  const pattern = resolveRefs(props('SesFeedbackRule').EventPattern, { ConfigurationSet: 'mystack-tracking' }) as any;

  function sesEvent(file: string, configurationSet: string) {
    const detail = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
    detail.mail.tags = { ...detail.mail.tags, 'ses:configuration-set': [configurationSet] };
    return { source: 'aws.ses', 'detail-type': 'Email Delivered', detail };
  }

  it('publishes every SES event type to the default event bus', () => {
    const destination = props('ConfigurationSetEventDestination');
    expect(referencedResource(destination.ConfigurationSetName)).toBe('ConfigurationSet');
    expect([...destination.EventDestination.MatchingEventTypes].sort()).toEqual(
      ['SEND', 'DELIVERY', 'BOUNCE', 'COMPLAINT', 'REJECT', 'OPEN', 'CLICK', 'RENDERING_FAILURE', 'DELIVERY_DELAY', 'SUBSCRIPTION'].sort(),
    );
    expect(destination.EventDestination.Enabled).toBe(true);
    expect(destination.EventDestination.EventBridgeDestination.EventBusArn).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default',
    });
  });

  it("has a rule on the default bus that takes each real SES event of this stack's configuration set", () => {
    expect(props('SesFeedbackRule').EventBusName).toBeUndefined();
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) {
      expect({ file, matches: matchesPattern(pattern, sesEvent(file, 'mystack-tracking')) }).toEqual({ file, matches: true });
    }
  });

  it("ignores SES events of another stack's configuration set", () => {
    expect(matchesPattern(pattern, sesEvent('delivery.json', 'otherstack-tracking'))).toBe(false);
    expect(matchesPattern(pattern, { ...sesEvent('delivery.json', 'mystack-tracking'), source: 'my.app' })).toBe(false);
  });

  it('delivers to the feedback queue, with a retry policy and a dead-letter queue', () => {
    const target = props('SesFeedbackRule').Targets[0];
    expect(target.Arn).toEqual({ 'Fn::GetAtt': ['FeedbackQueue', 'Arn'] });
    expect(target.RetryPolicy).toBeDefined();
    expect(referencedResource(target.DeadLetterConfig.Arn)).toBe('EventDeliveryDeadLetterQueue');
    const mapping = ofType('AWS::Lambda::EventSourceMapping').find(([, m]) => referencedResource(m.Properties!.FunctionName as Json) === 'FeedbackProcessorFunction');
    expect(mapping![1].Properties!.EventSourceArn).toEqual({ 'Fn::GetAtt': ['FeedbackQueue', 'Arn'] });
  });

  it('keeps reputation metrics for the configuration set and uses a custom tracking domain only when given', () => {
    const set = props('ConfigurationSet');
    expect(set.ReputationOptions).toEqual({ ReputationMetricsEnabled: true });
    expect(set.TrackingOptions).toEqual({
      'Fn::If': ['HasCustomTrackingDomain', { CustomRedirectDomain: { Ref: 'CustomTrackingDomain' } }, { Ref: 'AWS::NoValue' }],
    });
  });
});

describe('soft-bounce retry', () => {
  it('lets the Feedback Processor put retries on the send queue with a delay of at most 900 seconds', () => {
    const env = props('FeedbackProcessorFunction').Environment.Variables;
    expect(env.SEND_QUEUE_URL).toEqual({ Ref: 'SendQueue' });
    expect(env.SOFT_BOUNCE_RETRY_DELAY_SECONDS).toEqual({ Ref: 'SoftBounceRetryDelaySeconds' });
    expect(params.SoftBounceRetryDelaySeconds).toMatchObject({ Default: 900, MaxValue: 900 });
    const send = roleStatements(template, 'FeedbackProcessorRole').filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
    expect(send.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': ['SendQueue', 'Arn'] }]);
  });
});

describe('unsubscribe endpoint', () => {
  it('is a public function URL on the Unsubscribe function', () => {
    const url = props('UnsubscribeFunctionUrl');
    expect(resources.UnsubscribeFunctionUrl!.Type).toBe('AWS::Lambda::Url');
    expect(url.AuthType).toBe('NONE');
    expect(referencedResource(url.TargetFunctionArn)).toBe('UnsubscribeFunction');
    expect(template.Outputs?.UnsubscribeUrl?.Value).toEqual({ 'Fn::GetAtt': ['UnsubscribeFunctionUrl', 'FunctionUrl'] });
  });

  it('grants both permissions a public function URL needs, and nothing broader', () => {
    const permissions = ofType('AWS::Lambda::Permission').map(([, p]) => p.Properties as Record<string, Json>);
    expect(permissions).toHaveLength(2);
    expect(permissions).toEqual(
      expect.arrayContaining([
        { FunctionName: { Ref: 'UnsubscribeFunction' }, Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' },
        { FunctionName: { Ref: 'UnsubscribeFunction' }, Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true },
      ]),
    );
  });

  it('signs links with a secret the stack generates', () => {
    const secret = props('UnsubscribeSecret');
    expect(secret.GenerateSecretString.PasswordLength).toBeGreaterThanOrEqual(32);
    expect(secret.SecretString).toBeUndefined();
    expect(props('EmailSenderFunction').Environment.Variables.UNSUBSCRIBE_SECRET_ARN).toEqual({ Ref: 'UnsubscribeSecret' });
    expect(props('UnsubscribeFunction').Environment.Variables.UNSUBSCRIBE_SECRET_ARN).toEqual({ Ref: 'UnsubscribeSecret' });
  });
});

describe('functions', () => {
  it.each(Object.entries(FUNCTIONS))('%s runs the bundled handler on nodejs22.x / arm64 from the artifact bucket', (id, f) => {
    const fn = props(id);
    expect(fn.FunctionName).toEqual({ 'Fn::Sub': `\${AWS::StackName}-${f.name}` });
    expect(fn.Runtime).toBe('nodejs22.x');
    expect(fn.Handler).toBe('index.handler');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Code).toEqual({ S3Bucket: { Ref: 'ArtifactBucket' }, S3Key: { Ref: f.codeKey } });
    expect(fn.Timeout).toBeGreaterThan(0);
    expect(fn.MemorySize).toBeGreaterThanOrEqual(128);
  });

  it.each(Object.keys(FUNCTIONS))('%s logs to its own log group with the configured retention', (id) => {
    const group = referencedResource(props(id).LoggingConfig.LogGroup)!;
    expect(resources[group]?.Type).toBe('AWS::Logs::LogGroup');
    expect(props(group).RetentionInDays).toEqual({ Ref: 'LogRetentionDays' });
    expect(props(group).LogGroupName).toEqual({ 'Fn::Sub': `/aws/lambda/\${AWS::StackName}-${FUNCTIONS[id as keyof typeof FUNCTIONS].name}` });
  });

  it('each has a role of its own', () => {
    const roles = Object.keys(FUNCTIONS).map((id) => referencedResource(props(id).Role));
    expect(new Set(roles).size).toBe(roles.length);
    // Besides the functions' roles, only EventBridge Scheduler's (scheduled sends).
    expect(ofType('AWS::IAM::Role').map(([id]) => id).sort()).toEqual([...roles, 'SchedulerRole'].sort());
  });

  it('seeds the templates on create and update through a custom resource when asked to', () => {
    const seeding = resources.TemplateSeeding!;
    expect(seeding.Type).toBe('Custom::TemplateSeeding');
    expect(seeding.Condition).toBe('SeedOnDeploy');
    expect(props('TemplateSeeding').ServiceToken).toEqual({ 'Fn::GetAtt': ['TemplateSeederFunction', 'Arn'] });
    expect(props('TemplateSeeding').StarterTemplatesPrefix).toEqual({ Ref: 'StarterTemplatesPrefix' });
    expect(Number(props('TemplateSeeding').ServiceTimeout)).toBeLessThanOrEqual(Number(props('TemplateSeederFunction').Timeout) * 3);
  });
});

describe('alarms', () => {
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as Record<string, any>);
  const notifies = (a: Record<string, any>) => a.AlarmActions?.some((x: Json) => referencedResource(x) === 'AlarmTopic');

  it('go to an SNS topic that e-mails AdminEmail', () => {
    const subscription = props('AlarmEmailSubscription');
    expect(subscription).toEqual({ TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: { Ref: 'AdminEmail' } });
    for (const alarm of alarms) expect({ alarm: alarm.AlarmName, notifies: notifies(alarm) }).toEqual({ alarm: alarm.AlarmName, notifies: true });
  });

  it('watch every dead-letter queue for a message', () => {
    const dlqs = ofType('AWS::SQS::Queue').map(([id]) => id).filter((id) => /DeadLetter/.test(id));
    expect(dlqs).toHaveLength(4);
    for (const dlq of dlqs) {
      const alarm = alarms.find((a) => a.Dimensions?.some((d: any) => referencedResource(d.Value) === dlq));
      expect(alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('watch every function for more than 50 errors in two consecutive 5-minute periods', () => {
    for (const id of Object.keys(FUNCTIONS)) {
      const alarm = alarms.find((a) => a.MetricName === 'Errors' && a.Dimensions?.some((d: any) => referencedResource(d.Value) === id));
      expect(alarm).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 2,
        Threshold: 50,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(alarm!.Dimensions[0].Name).toBe('FunctionName');
    }
  });

  it('watch the SES bounce rate over 3% and complaint rate over 0.05%', () => {
    expect(alarms.find((a) => a.MetricName === 'Reputation.BounceRate')).toMatchObject({ Namespace: 'AWS/SES', Threshold: 0.03, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarms.find((a) => a.MetricName === 'Reputation.ComplaintRate')).toMatchObject({ Namespace: 'AWS/SES', Threshold: 0.0005, ComparisonOperator: 'GreaterThanThreshold' });
  });
});

describe('template bucket', () => {
  it('refuses every request that does not use TLS', () => {
    const policy = props('ArtifactBucketPolicy');
    expect(policy.Bucket).toEqual({ Ref: 'ArtifactBucket' });
    expect(policy.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Resource: [
          { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${ArtifactBucket}' },
          { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${ArtifactBucket}/*' },
        ],
      }),
    ]);
  });
});

describe('parameters', () => {
  it('offers the documented parameters with their defaults', () => {
    const defaults: Record<string, string | number | undefined> = {
      DefaultSenderEmail: undefined,
      DefaultSenderName: '',
      AdminEmail: undefined,
      BounceRateThreshold: 5,
      BounceRateMinimumSends: 100,
      BounceBrakeMaxHardBounces: 10,
      EmailSenderConcurrency: 14,
      MaxSendRate: 0,
      SoftBounceRetryDelaySeconds: 900,
      SoftBounceSuppressionThreshold: 3,
      SoftBounceWindowDays: 30,
      TemplateCacheSeconds: 300,
      TrackingRetentionDays: 365,
      UnsubscribeMailto: '',
      LogRetentionDays: 30,
      ArtifactBucket: undefined,
      EmailSenderCodeKey: undefined,
      FeedbackProcessorCodeKey: undefined,
      UnsubscribeCodeKey: undefined,
      TemplateSeederCodeKey: undefined,
      WebhookDeliveryCodeKey: undefined,
      WebhookUrl: '',
    };
    for (const [name, value] of Object.entries(defaults)) {
      expect({ name, declared: name in params, default: params[name]?.Default }).toEqual({ name, declared: true, default: value });
    }
    expect(params.StarterTemplatesPrefix).toBeDefined();
  });

  it('are each documented in docs/SETUP.md with their default', () => {
    const setup = readFileSync(join(process.cwd(), 'docs', 'SETUP.md'), 'utf8');
    for (const [name, p] of Object.entries(params)) {
      const row = setup.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect({ name, documented: row !== undefined }).toEqual({ name, documented: true });
      const shownDefault = row!.split('|')[2]!.trim();
      const expected = p.Default === undefined ? '—' : p.Default === '' ? "`''`" : `\`${p.Default}\``;
      expect({ name, default: shownDefault.startsWith(expected) }).toEqual({ name, default: true });
    }
  });

  it('rejects addresses that are not e-mail addresses', () => {
    const pattern = new RegExp(params.DefaultSenderEmail!.AllowedPattern!);
    expect(pattern.test('noreply@example.com')).toBe(true);
    expect(pattern.test('not-an-address')).toBe(false);
    expect(pattern.test('a@b.com\nBcc: x@y.com')).toBe(false);
  });
});

describe('outputs', () => {
  it('give publishers and the CLI everything they need', () => {
    expect(Object.keys(template.Outputs ?? {})).toEqual(
      expect.arrayContaining([
        'EventBusName',
        'EventBusArn',
        'CustomerIAMPolicy',
        'EmailTrackingTableName',
        'SuppressionTableName',
        'CountersTableName',
        'TemplateBucketName',
        'UnsubscribeUrl',
        'SendQueueUrl',
        'SendDeadLetterQueueUrl',
        'FeedbackDeadLetterQueueUrl',
        'EventDeliveryDeadLetterQueueUrl',
        'ConfigurationSetName',
        'AlarmTopicArn',
      ]),
    );
  });

  it("offer a publisher policy that allows only events:PutEvents on this bus, and never as the engine's own source", () => {
    const value = template.Outputs!.CustomerIAMPolicy!.Value as { 'Fn::Sub': string };
    const busArn = 'arn:aws:events:eu-west-1:123456789012:event-bus/mystack-EmailBus';
    const policy = JSON.parse(value['Fn::Sub'].split('${EmailBus.Arn}').join(busArn));
    // A publisher that could use source "sesmailengine" could fake status changes, which the
    // webhook rule signs and forwards to the receiver.
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn },
        { Effect: 'Deny', Action: 'events:PutEvents', Resource: busArn, Condition: { StringEquals: { 'events:source': 'sesmailengine' } } },
      ],
    });
    expect(props('WebhookRule').EventPattern.source).toEqual(['sesmailengine']);
  });
});

describe('signed webhooks', () => {
  const doc = parseTemplateDocument(readFileSync(TEMPLATE_PATH, 'utf8'));
  const WEBHOOK_RESOURCES = [
    'WebhookSecret',
    'WebhookRule',
    'WebhookQueuePolicy',
    'WebhookDeliveryFunction',
    'WebhookDeliveryEventSource',
    'WebhookDeliveryRole',
    'WebhookDeadLetterQueueAlarm',
    'WebhookDeliveryErrorsAlarm',
  ];
  /** Always there (idle queues and an empty log group cost nothing), so turning webhooks off and on finds no name in the way. */
  const ALWAYS = ['WebhookQueue', 'WebhookDeadLetterQueue', 'WebhookDeliveryLogGroup'];
  const event = (source: string, detailType: string) => ({ source, 'detail-type': detailType, detail: { emailId: 'email-1', status: 'delivered' } });

  it('exist only when WebhookUrl is set (condition HasWebhook), with their outputs', () => {
    expect(template.Conditions?.HasWebhook).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'WebhookUrl' }, ''] }] });
    const conditional = Object.entries(resources).filter(([, r]) => r.Condition === 'HasWebhook').map(([id]) => id);
    expect(conditional.sort()).toEqual([...WEBHOOK_RESOURCES].sort());
    for (const id of ALWAYS) expect({ id, condition: resources[id]!.Condition }).toEqual({ id, condition: undefined });
    const outputs = Object.entries(template.Outputs ?? {}).filter(([, o]) => o.Condition === 'HasWebhook').map(([name]) => name);
    expect(outputs.sort()).toEqual(['WebhookDeadLetterQueueUrl', 'WebhookQueueUrl', 'WebhookSecretArn', 'WebhookUrl']);
  });

  it.each([
    ['empty', '', false],
    ['set', 'https://hooks.example.com/sesmailengine', true],
  ])('with WebhookUrl %s, the stack holds webhook resources: %s, and nothing it keeps refers to one it lacks', (_label, url, expected) => {
    const conditions = evaluateConditions(doc, parameterValues(doc, { WebhookUrl: url }));
    expect(conditions.HasWebhook).toBe(expected);
    const kept = Object.keys(doc.Resources).filter((id) => resourceIncluded(doc, id, conditions));
    expect(WEBHOOK_RESOURCES.filter((id) => kept.includes(id))).toEqual(expected ? WEBHOOK_RESOURCES : []);
    // A reference to a left-out resource is allowed only inside Fn::If on its condition.
    const strip = (value: Json): Json => {
      if (Array.isArray(value)) return value.map(strip);
      if (!isObject(value)) return value;
      const branches = value['Fn::If'];
      if (Array.isArray(branches) && typeof branches[0] === 'string') return strip(conditions[branches[0]] ? branches[1]! : branches[2]!);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v)]));
    };
    for (const id of kept) {
      const resolved = { ...doc, Resources: { ...doc.Resources, [id]: { ...doc.Resources[id]!, Properties: strip(doc.Resources[id]!.Properties ?? {}) as Record<string, Json> } } };
      const dangling = referencedResources(resolved, id).filter((ref) => !kept.includes(ref));
      expect({ id, dangling }).toEqual({ id, dangling: [] });
    }
    for (const [name, output] of Object.entries(template.Outputs ?? {})) {
      if (output.Condition && !conditions[output.Condition]) continue;
      const refs: string[] = JSON.stringify(output.Value).match(/[A-Za-z]+/g) ?? [];
      expect({ name, dangling: WEBHOOK_RESOURCES.filter((id) => !kept.includes(id) && refs.includes(id)) }).toEqual({ name, dangling: [] });
    }
  });

  it('routes "Email Status Changed" and "Webhook Test" from the engine only, on the engine bus', () => {
    const rule = props('WebhookRule');
    expect(referencedResource(rule.EventBusName)).toBe('EmailBus');
    expect(matchesPattern(rule.EventPattern, event('sesmailengine', 'Email Status Changed'))).toBe(true);
    expect(matchesPattern(rule.EventPattern, event('sesmailengine', 'Webhook Test'))).toBe(true);
    expect(matchesPattern(rule.EventPattern, event('my.app', 'Email Status Changed'))).toBe(false);
    expect(matchesPattern(rule.EventPattern, event('sesmailengine', 'Email Request'))).toBe(false);
    expect(matchesPattern(rule.EventPattern, event('sesmailengine', 'Email Retry'))).toBe(false);
    expect(matchesPattern(rule.EventPattern, event('aws.ses', 'Email Delivered'))).toBe(false);
    // ...and the send rule never takes them.
    expect(matchesPattern(props('EmailRequestRule').EventPattern, event('sesmailengine', 'Webhook Test'))).toBe(false);
  });

  it('delivers to the webhook queue with a retry policy and the event-delivery DLQ, and only that rule may send there', () => {
    const target = props('WebhookRule').Targets;
    expect(target).toHaveLength(1);
    expect(target[0].Arn).toEqual({ 'Fn::GetAtt': ['WebhookQueue', 'Arn'] });
    expect(target[0].RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(referencedResource(target[0].DeadLetterConfig.Arn)).toBe('EventDeliveryDeadLetterQueue');
    const policy = props('WebhookQueuePolicy');
    expect(policy.Queues).toEqual([{ Ref: 'WebhookQueue' }]);
    expect(policy.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['WebhookQueue', 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['WebhookRule', 'Arn'] } } },
      }),
    ]);
  });

  it('keeps retrying a delivery for longer than the retry schedule takes, then dead-letters it', () => {
    const queue = props('WebhookQueue');
    expect(queue.VisibilityTimeout).toBe(90);
    expect(queue.MessageRetentionPeriod).toBe(4 * 86400);
    // The handler returns the last attempt at once: it must be the queue's last receive.
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': ['WebhookDeadLetterQueue', 'Arn'] }, maxReceiveCount: MAX_ATTEMPTS });
    expect(props('WebhookDeadLetterQueue').MessageRetentionPeriod).toBe(14 * 86400);
  });

  it('feeds the Webhook Delivery function in batches of 10 with partial batch failures', () => {
    const mapping = props('WebhookDeliveryEventSource');
    expect(referencedResource(mapping.FunctionName)).toBe('WebhookDeliveryFunction');
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': ['WebhookQueue', 'Arn'] });
    expect(mapping.BatchSize).toBe(10);
    expect(mapping.MaximumBatchingWindowInSeconds).toBe(props('FeedbackProcessorEventSource').MaximumBatchingWindowInSeconds);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: 2 });
    // 10 s for the receiver to answer, plus the key and the visibility call.
    expect(props('WebhookDeliveryFunction').Timeout).toBe(15);
  });

  it('gives the function the endpoint, its queue and the signing key generated by the stack', () => {
    expect(props('WebhookDeliveryFunction').Environment.Variables).toEqual({
      WEBHOOK_URL: { Ref: 'WebhookUrl' },
      WEBHOOK_QUEUE_URL: { Ref: 'WebhookQueue' },
      WEBHOOK_SECRET_ARN: { Ref: 'WebhookSecret' },
      WEBHOOK_EVENT_TYPES: { Ref: 'WebhookEvents' },
      UNSUBSCRIBE_SECRET_ARN: { Ref: 'UnsubscribeSecret' },
    });
    const secret = props('WebhookSecret');
    // No fixed name: a key deleted when webhooks were turned off never blocks a new one.
    expect(secret.Name).toBeUndefined();
    expect(secret.GenerateSecretString).toEqual({ PasswordLength: 32, ExcludePunctuation: true, IncludeSpace: false });
    expect(secret.SecretString).toBeUndefined();
  });

  it('accepts only an empty WebhookUrl or an https:// URL without credentials, up to 2048 characters', () => {
    const p = params.WebhookUrl! as typeof params.WebhookUrl & { MaxLength?: number };
    const pattern = new RegExp(p.AllowedPattern!);
    for (const ok of ['', 'https://hooks.example.com/sesmailengine', 'https://example.com', 'https://api.example.com:8443/hooks?token=abc#x', 'https://h.example.com/a@b']) {
      expect({ ok, matches: pattern.test(ok) }).toEqual({ ok, matches: true });
    }
    for (const bad of ['http://hooks.example.com/x', 'https://', 'https://user:pw@hooks.example.com/x', 'https://user@hooks.example.com', 'ftp://example.com', 'hooks.example.com', 'https://a.example.com/x y', 'https://a.example.com/x\nHost: evil']) {
      expect({ bad, matches: pattern.test(bad) }).toEqual({ bad, matches: false });
    }
    expect(p.MaxLength).toBe(2048);
  });
});

describe('engine-source bus policy', () => {
  const FEEDBACK_ROLE = 'arn:aws:iam::123456789012:role/mystack-FeedbackProcessorRole-AB12';
  const policy = props('EngineSourceBusPolicy');
  const statement = resolveRefs(policy.Statement as Json, { FeedbackProcessorRole: FEEDBACK_ROLE, EmailBus: 'arn:aws:events:eu-west-1:123456789012:event-bus/mystack-EmailBus' }) as Record<string, any>;

  /**
   * The statement's verdict on one PutEvents call, as IAM evaluates its three conditions:
   * events:source and events:detail-type carry one value per entry (ForAnyValue: true when
   * any entry matches); aws:PrincipalArn is the caller's role.
   */
  function denies(principalArn: string, entries: { source: string; detailType: string }[]): boolean {
    const condition = statement.Condition as Record<string, Record<string, string | string[]>>;
    const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
    const sourceIs = list(condition['ForAnyValue:StringEquals']!['events:source']!);
    const detailTypeIsNot = list(condition['ForAnyValue:StringNotEquals']!['events:detail-type']!);
    const principalIsNot = list(condition.ArnNotEquals!['aws:PrincipalArn']!);
    return (
      entries.some((e) => sourceIs.includes(e.source)) &&
      entries.some((e) => detailTypeIsNot.every((v) => v !== e.detailType)) &&
      principalIsNot.every((arn) => arn !== principalArn)
    );
  }

  const publisher = 'arn:aws:iam::123456789012:role/orders-service';
  const operator = 'arn:aws:iam::123456789012:role/Admin';

  it('is a Deny on the engine bus for every principal, the only statement that way', () => {
    expect(referencedResource(policy.EventBusName)).toBe('EmailBus');
    expect(statement).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 'events:PutEvents', Resource: 'arn:aws:events:eu-west-1:123456789012:event-bus/mystack-EmailBus' });
    expect(statement.Sid).toBe(policy.StatementId);
  });

  it('refuses the engine source from anyone but the Feedback Processor', () => {
    expect(denies(publisher, [{ source: 'sesmailengine', detailType: 'Email Status Changed' }])).toBe(true);
    expect(denies(operator, [{ source: 'sesmailengine', detailType: 'Email Status Changed' }])).toBe(true);
    expect(denies(publisher, [{ source: 'sesmailengine', detailType: 'Email Request' }])).toBe(true);
    // A forged entry hidden in a batch with a test event or a request is refused with its batch.
    expect(denies(publisher, [{ source: 'sesmailengine', detailType: 'Webhook Test' }, { source: 'sesmailengine', detailType: 'Email Status Changed' }])).toBe(true);
    expect(denies(publisher, [{ source: 'orders', detailType: 'Email Request' }, { source: 'sesmailengine', detailType: 'Email Status Changed' }])).toBe(true);
  });

  it("lets the engine's own status changes, publishers' requests and the CLI's test event through", () => {
    expect(denies(FEEDBACK_ROLE, [{ source: 'sesmailengine', detailType: 'Email Status Changed' }])).toBe(false);
    expect(denies(publisher, [{ source: 'orders', detailType: 'Email Request' }])).toBe(false);
    expect(denies(publisher, [{ source: 'orders', detailType: 'Email Status Changed' }])).toBe(false);
    // Allowed by the policy; Webhook Delivery still forwards it only with the engine's signature.
    expect(denies(operator, [{ source: 'sesmailengine', detailType: 'Webhook Test' }])).toBe(false);
  });

  it("exempts exactly the stack's roles that may call events:PutEvents (the Feedback Processor's)", () => {
    const putters = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .filter(([id]) => roleStatements(template, id).some((s) => s.Effect === 'Allow' && JSON.stringify(s.Action).includes('events:PutEvents')))
      .map(([id]) => id);
    expect(putters).toEqual(['FeedbackProcessorRole']);
    expect((policy.Statement as any).Condition.ArnNotEquals['aws:PrincipalArn']).toEqual({ 'Fn::GetAtt': ['FeedbackProcessorRole', 'Arn'] });
  });
});

describe('the daily-quota hold', () => {
  it('alarms on the DailyQuotaHeld metric the Email Sender writes in its log (embedded metric format)', async () => {
    const { METRICS_NAMESPACE } = await import('../../functions/email-sender/handler.js');
    const alarm = resources.DailyQuotaHeldAlarm!.Properties as Record<string, unknown>;
    expect(alarm).toMatchObject({ Namespace: METRICS_NAMESPACE, MetricName: 'DailyQuotaHeld', Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarm.Dimensions).toEqual([{ Name: 'Stack', Value: { Ref: 'AWS::StackName' } }]);
    const env = (resources.EmailSenderFunction!.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;
    expect(env.STACK_NAME).toEqual({ Ref: 'AWS::StackName' });
    expect(env.MAX_SEND_RATE).toEqual({ Ref: 'MaxSendRate' });
  });
});
