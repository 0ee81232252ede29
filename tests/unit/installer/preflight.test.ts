import { describe, it, expect } from '@jest/globals';
import { accountWarnings, quotaLine, senderAdvice } from '../../../src/installer/preflight.js';
import { bucketNameProblem, defaultBucketName, denyInsecureTransportPolicy } from '../../../src/installer/bucket.js';
import { nextStepFor, reasonHint } from '../../../src/installer/follow.js';
import { viewOutputs } from '../../../src/installer/stack-outputs.js';

describe('senderAdvice', () => {
  it('gives the exact command for an unknown identity', () => {
    const a = senderAdvice({ verified: false, identity: 'a@example.com', problem: 'missing' }, 'a@example.com', 'eu-west-1');
    expect(a.fix).toContain('aws sesv2 create-email-identity --email-identity a@example.com --region eu-west-1');
  });
  it('points at the inbox for a pending address and at DNS for a pending domain', () => {
    expect(senderAdvice({ verified: false, identity: 'a@example.com', problem: 'pending', status: 'PENDING' }, 'a@example.com', 'eu-west-1').fix).toContain('verification e-mail');
    expect(senderAdvice({ verified: false, identity: 'example.com', problem: 'pending' }, 'a@example.com', 'eu-west-1').fix).toContain('DKIM CNAME');
  });
  it('says to re-create a failed identity', () => {
    expect(senderAdvice({ verified: false, identity: 'a@example.com', problem: 'failed', status: 'FAILED' }, 'a@example.com', 'eu-west-1').fix).toContain('delete-email-identity');
  });
});

describe('SES account', () => {
  it('warns about the sandbox and paused sending, not about a healthy account', () => {
    expect(accountWarnings({ productionAccess: true, sendingEnabled: true }, 'us-east-1')).toEqual([]);
    const warnings = accountWarnings({ productionAccess: false, sendingEnabled: false, enforcementStatus: 'SHUTDOWN' }, 'us-east-1');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('sandbox');
    expect(warnings[1]).toContain('SHUTDOWN');
  });
  it('prints the quota', () => {
    expect(quotaLine({ productionAccess: true, sendingEnabled: true, max24HourSend: 50000, maxSendRate: 14, sentLast24Hours: 1234 })).toBe(
      'SES quota: 50,000 emails/24h, 14/s; 1,234 sent in the last 24h.',
    );
  });
});

describe('bucket names', () => {
  it('builds <stack>-<account>-<region>, lower-case and within 63 characters', () => {
    expect(defaultBucketName('SesMailEngine', '123456789012', 'eu-west-1')).toBe('sesmailengine-123456789012-eu-west-1');
    const long = defaultBucketName(`a${'b'.repeat(45)}`, '123456789012', 'ap-southeast-2');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(bucketNameProblem(long)).toBeUndefined();
  });
  it('rejects names S3 rejects', () => {
    for (const bad of ['ab', 'Upper', 'under_score', '-start', 'end-', 'a..b', '192.168.1.1', 'x'.repeat(64)]) {
      expect(bucketNameProblem(bad)).toBeDefined();
    }
  });
  it('denies non-TLS access to the bucket and its objects', () => {
    const policy = JSON.parse(denyInsecureTransportPolicy('b1')) as { Statement: { Effect: string; Resource: string[]; Condition: unknown }[] };
    expect(policy.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: ['arn:aws:s3:::b1', 'arn:aws:s3:::b1/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  });
});

describe('after a failed operation', () => {
  it('tells what to do for each end state', () => {
    expect(nextStepFor('ROLLBACK_COMPLETE', 's', 'r')).toContain('run install again');
    expect(nextStepFor('UPDATE_ROLLBACK_COMPLETE', 's', 'r')).toContain('previous version keeps running');
    expect(nextStepFor('UPDATE_ROLLBACK_FAILED', 's', 'r')).toContain('aws cloudformation continue-update-rollback --stack-name s --region r');
    expect(nextStepFor('DELETE_FAILED', 's', 'r')).toContain('--retain-resources');
  });
  it('explains well-known reasons', () => {
    expect(reasonHint('sesmailengine-EmailTracking already exists')).toContain('kept by an earlier uninstall');
    expect(reasonHint('User: arn:aws:iam::1:user/x is not authorized to perform: iam:CreateRole')).toContain('permission');
    expect(reasonHint('something new')).toBeUndefined();
  });
});

describe('viewOutputs', () => {
  it('finds tables, the counters table, DLQ URLs and the bucket by what they hold', () => {
    const view = viewOutputs({
      EmailTrackingTableName: 't1',
      SuppressionTableName: 't2',
      CountersTableName: 't3',
      SendQueueUrl: 'https://sqs/q',
      SendDeadLetterQueueUrl: 'https://sqs/send-dlq',
      FeedbackDeadLetterQueueUrl: 'https://sqs/fb-dlq',
      TemplateBucketName: 'bkt',
    });
    expect(view.tables.map((t) => t.name)).toEqual(['t3', 't1', 't2']);
    expect(view.countersTable).toBe('t3');
    expect(view.deadLetterQueues.map((q) => q.url)).toEqual(['https://sqs/fb-dlq', 'https://sqs/send-dlq']);
    expect(view.bucket).toBe('bkt');
  });

  it('lists the webhook DLQ next to the others when the stack has webhooks (status shows its depth)', () => {
    const view = viewOutputs({
      SendDeadLetterQueueUrl: 'https://sqs/send-dlq',
      WebhookUrl: 'https://hooks.example.com/x',
      WebhookQueueUrl: 'https://sqs/webhook',
      WebhookDeadLetterQueueUrl: 'https://sqs/webhook-dlq',
    });
    expect(view.deadLetterQueues).toEqual([
      { key: 'SendDeadLetterQueueUrl', url: 'https://sqs/send-dlq' },
      { key: 'WebhookDeadLetterQueueUrl', url: 'https://sqs/webhook-dlq' },
    ]);
  });
});

describe('denyInsecureTransportPolicy', () => {
  it.each([
    ['eu-west-1', 'arn:aws:s3:::b1'],
    ['cn-north-1', 'arn:aws-cn:s3:::b1'],
    ['us-gov-west-1', 'arn:aws-us-gov:s3:::b1'],
  ])('names the bucket in the partition of %s', (region, arn) => {
    const policy = JSON.parse(denyInsecureTransportPolicy('b1', region)) as { Statement: { Resource: string[] }[] };
    expect(policy.Statement[0]!.Resource).toEqual([arn, `${arn}/*`]);
  });
});
