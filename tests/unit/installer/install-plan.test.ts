import { describe, it, expect } from '@jest/globals';
import type { StackDescription } from '../../../src/aws/cloudformation.js';
import { StackStatus } from '../../../src/aws/stack-status.js';
import { CliError } from '../../../src/errors.js';
import {
  answersFromFlags,
  answersLine,
  extraParameters,
  installParameters,
  missingForYes,
  parametersLine,
  refuseBusyStack,
  regionAnswerProblem,
  requireForYes,
  requireRegion,
  senderToCheck,
  stackSituation,
  type Answers,
} from '../../../src/installer/install-plan.js';

const WHERE = { stackName: 'mail', region: 'eu-west-1', account: '123456789012' };
const PREVIOUS = { DefaultSenderEmail: 'old@example.com', AdminEmail: 'ops@example.com', ArtifactBucket: 'kept-bucket', BounceRateThreshold: '3' };
const TEMPLATE_PARAMETERS = [
  'DefaultSenderEmail',
  'DefaultSenderName',
  'AdminEmail',
  'ArtifactBucket',
  'BounceRateThreshold',
  'EmailSenderCodeKey',
  'StarterTemplatesPrefix',
  'EngineVersion',
  'WebhookUrl',
];
const UPLOADED = { codeKeys: { EmailSenderCodeKey: 'artifacts/email-sender-abc.zip' }, starterTemplatesPrefix: 'artifacts/starter-templates/def/' };

function stack(status: string, parameters: Record<string, string> = PREVIOUS): StackDescription {
  return { stackId: `arn:stack/mail/${status}`, stackName: 'mail', status: new StackStatus(status), parameters, outputs: {}, tags: {} };
}

function codeOf(body: () => unknown): string | undefined {
  try {
    body();
  } catch (error) {
    return (error as CliError).code;
  }
  return undefined;
}

describe('extraParameters', () => {
  it('returns the --parameter pairs as given', () => {
    expect(extraParameters({ parameter: ['BounceRateThreshold=3', 'TemplateCacheSeconds=60'] })).toEqual({ BounceRateThreshold: '3', TemplateCacheSeconds: '60' });
  });

  it('folds the webhook and interrupted-send flags into the parameters', () => {
    const extra = extraParameters({ webhookUrl: 'https://hooks.example.com/mail', webhookEvents: '', interruptedSend: 'fail' });
    expect(extra).toEqual({ WebhookUrl: 'https://hooks.example.com/mail', WebhookEvents: '', InterruptedSendPolicy: 'fail' });
  });

  it('adds nothing for flags that were not given, so an upgrade keeps the stack’s values', () => {
    expect(extraParameters({})).toEqual({});
  });

  it('refuses a pair without "="', () => {
    expect(codeOf(() => extraParameters({ parameter: ['BounceRateThreshold'] }))).toBe('INS003');
  });

  it('refuses an interrupted-send flag that disagrees with its --parameter', () => {
    expect(codeOf(() => extraParameters({ interruptedSend: 'fail', parameter: ['InterruptedSendPolicy=resend'] }))).toBe('INS003');
  });

  it('refuses a webhook on a private address unless allowed', () => {
    expect(codeOf(() => extraParameters({ webhookUrl: 'https://10.0.0.1/hook' }))).toBe('INS026');
    expect(extraParameters({ webhookUrl: 'https://10.0.0.1/hook', allowPrivateWebhook: true }).WebhookUrl).toBe('https://10.0.0.1/hook');
  });
});

describe('answersFromFlags', () => {
  it('takes the flags and names the bucket after the stack, account and region on a first install', () => {
    const answers = answersFromFlags({ sender: 'a@example.com', adminEmail: 'b@example.com' }, WHERE, undefined);
    expect(answers).toEqual({ stackName: 'mail', region: 'eu-west-1', sender: 'a@example.com', adminEmail: 'b@example.com', bucket: 'mail-123456789012-eu-west-1' });
  });

  it('keeps the bucket of the earlier install', () => {
    expect(answersFromFlags({}, WHERE, PREVIOUS).bucket).toBe('kept-bucket');
  });

  it('lets --bucket win over the earlier install', () => {
    expect(answersFromFlags({ bucket: 'mine' }, WHERE, PREVIOUS).bucket).toBe('mine');
  });

  it('keeps an empty sender name (it clears the name) but drops an empty sender', () => {
    const answers = answersFromFlags({ sender: '', senderName: '' }, WHERE, undefined);
    expect(answers.senderName).toBe('');
    expect('sender' in answers).toBe(false);
  });
});

describe('missingForYes and requireForYes', () => {
  const bare: Answers = { stackName: 'mail', region: 'eu-west-1', bucket: 'b' };

  it('names the sender and the admin e-mail when neither a flag nor the stack gives them', () => {
    expect(missingForYes(bare, undefined)).toEqual(['the default sender address (--sender <address>)', 'the admin e-mail for alarms (--admin-email <address>)']);
  });

  it('needs nothing when the running stack has both', () => {
    expect(missingForYes(bare, PREVIOUS)).toEqual([]);
  });

  it('needs nothing when the flags give both', () => {
    expect(missingForYes({ ...bare, sender: 'a@example.com', adminEmail: 'b@example.com' }, undefined)).toEqual([]);
  });

  it('refuses with INS003 and an example command carrying the stack name and region', () => {
    let error: CliError | undefined;
    try {
      requireForYes(bare, undefined);
    } catch (e) {
      error = e as CliError;
    }
    expect(error?.code).toBe('INS003');
    expect(error?.fix).toContain('--stack-name mail --region eu-west-1');
  });
});

describe('stackSituation', () => {
  it('creates when there is no stack', () => {
    expect(stackSituation(undefined, false)).toEqual({ recreate: false, creating: true });
  });

  it('updates a stable stack, its parameters the defaults of the questions', () => {
    expect(stackSituation(stack('UPDATE_COMPLETE'), false)).toEqual({ recreate: false, previous: PREVIOUS, creating: false });
  });

  it('recreates a stack whose first create failed, without its parameters as defaults', () => {
    expect(stackSituation(stack('ROLLBACK_COMPLETE'), false)).toEqual({ recreate: true, creating: true });
  });

  it('recreates a stack that an import rolled back and that holds nothing', () => {
    expect(stackSituation(stack('IMPORT_ROLLBACK_COMPLETE'), true)).toEqual({ recreate: true, creating: true });
  });

  it('updates a stack that an import rolled back but that holds resources', () => {
    expect(stackSituation(stack('IMPORT_ROLLBACK_COMPLETE'), false).creating).toBe(false);
  });
});

describe('refuseBusyStack', () => {
  it('lets a missing or stable stack through', () => {
    expect(() => refuseBusyStack(undefined, 'mail', 'eu-west-1')).not.toThrow();
    expect(() => refuseBusyStack(stack('UPDATE_ROLLBACK_COMPLETE'), 'mail', 'eu-west-1')).not.toThrow();
  });

  it('refuses a stack with an operation running (INS008)', () => {
    expect(codeOf(() => refuseBusyStack(stack('UPDATE_IN_PROGRESS'), 'mail', 'eu-west-1'))).toBe('INS008');
  });

  it('refuses a stack whose rollback failed (INS010)', () => {
    expect(codeOf(() => refuseBusyStack(stack('UPDATE_ROLLBACK_FAILED'), 'mail', 'eu-west-1'))).toBe('INS010');
  });
});

describe('region', () => {
  it('accepts region codes and explains anything else', () => {
    expect(regionAnswerProblem('eu-west-1')).toBeUndefined();
    expect(regionAnswerProblem('us-gov-west-1')).toBeUndefined();
    expect(regionAnswerProblem('Ireland')).toBe('Give a region code such as eu-west-1.');
  });

  it('requires one (AWS003)', () => {
    expect(requireRegion('eu-west-1')).toBe('eu-west-1');
    expect(codeOf(() => requireRegion(undefined))).toBe('AWS003');
  });
});

describe('senderToCheck', () => {
  it('checks the new sender, else the one the stack runs with', () => {
    expect(senderToCheck({ ...WHERE, bucket: 'b', sender: 'new@example.com' }, PREVIOUS)).toBe('new@example.com');
    expect(senderToCheck({ ...WHERE, bucket: 'b' }, PREVIOUS)).toBe('old@example.com');
    expect(senderToCheck({ ...WHERE, bucket: 'b' }, undefined)).toBeUndefined();
  });
});

describe('installParameters', () => {
  const answers: Answers = { stackName: 'mail', region: 'eu-west-1', sender: 'a@example.com', senderName: 'Mail', adminEmail: 'b@example.com', bucket: 'bkt' };

  it('sends the answers, the uploads and the engine version on a create', () => {
    expect(installParameters(TEMPLATE_PARAMETERS, answers, {}, UPLOADED, '1.2.3', undefined)).toEqual({
      DefaultSenderEmail: { value: 'a@example.com' },
      DefaultSenderName: { value: 'Mail' },
      AdminEmail: { value: 'b@example.com' },
      ArtifactBucket: { value: 'bkt' },
      EmailSenderCodeKey: { value: 'artifacts/email-sender-abc.zip' },
      StarterTemplatesPrefix: { value: 'artifacts/starter-templates/def/' },
      EngineVersion: { value: '1.2.3' },
    });
  });

  it('keeps what an upgrade was not given (UsePreviousValue)', () => {
    const out = installParameters(TEMPLATE_PARAMETERS, { stackName: 'mail', region: 'eu-west-1', bucket: 'kept-bucket' }, {}, UPLOADED, '1.2.3', PREVIOUS);
    expect(out.DefaultSenderEmail).toEqual({ usePrevious: true });
    expect(out.AdminEmail).toEqual({ usePrevious: true });
    expect(out.BounceRateThreshold).toEqual({ usePrevious: true });
    expect(out.ArtifactBucket).toEqual({ value: 'kept-bucket' });
    expect(out.DefaultSenderName).toBeUndefined();
  });

  it('sends the extra parameters', () => {
    const out = installParameters(TEMPLATE_PARAMETERS, answers, { WebhookUrl: 'https://hooks.example.com/x', BounceRateThreshold: '2' }, UPLOADED, '1.2.3', undefined);
    expect(out.WebhookUrl).toEqual({ value: 'https://hooks.example.com/x' });
    expect(out.BounceRateThreshold).toEqual({ value: '2' });
  });

  it('refuses an extra parameter the template lacks (INS003)', () => {
    expect(codeOf(() => installParameters(TEMPLATE_PARAMETERS, answers, { Nope: '1' }, UPLOADED, '1.2.3', undefined))).toBe('INS003');
  });
});

describe('log lines', () => {
  it('shows "(previous)" for what the stack keeps', () => {
    expect(answersLine({ stackName: 'mail', region: 'eu-west-1', bucket: 'b' })).toBe('answers stack=mail region=eu-west-1 sender=(previous) adminEmail=(previous) bucket=b');
    expect(parametersLine({ ArtifactBucket: { value: 'b' }, AdminEmail: { usePrevious: true } })).toBe('parameters ArtifactBucket=b AdminEmail=(previous)');
  });
});
