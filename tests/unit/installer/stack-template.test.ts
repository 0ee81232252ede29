import { describe, it, expect } from '@jest/globals';
import { chooseInterruptedSend, loadStackTemplate, parseStackTemplate, parseParameterFlags, stackParameters } from '../../../src/installer/stack-template.js';
import { packageRoot } from '../../../src/package-root.js';
import { HANDLERS } from '../../../src/packaging/build.js';
import { CliError } from '../../../src/errors.js';

const ARTIFACTS = {
  codeKeys: { EmailSenderCodeKey: 'artifacts/email-sender-1.zip', TemplateSeederCodeKey: 'artifacts/template-seeder-1.zip' },
  starterTemplatesPrefix: 'artifacts/starter-templates/abc',
};
const PARAMS = ['DefaultSenderEmail', 'DefaultSenderName', 'AdminEmail', 'BounceRateThreshold', 'ArtifactBucket', 'EmailSenderCodeKey', 'TemplateSeederCodeKey', 'StarterTemplatesPrefix', 'NewInThisVersion'];

describe('stackParameters', () => {
  it('sends the answers, the bucket and the artifact keys on a create, and nothing else', () => {
    const out = stackParameters(PARAMS, { sender: 'a@example.com', adminEmail: 'b@example.com', bucket: 'bkt' }, ARTIFACTS);
    expect(out).toEqual({
      DefaultSenderEmail: { value: 'a@example.com' },
      AdminEmail: { value: 'b@example.com' },
      ArtifactBucket: { value: 'bkt' },
      EmailSenderCodeKey: { value: 'artifacts/email-sender-1.zip' },
      TemplateSeederCodeKey: { value: 'artifacts/template-seeder-1.zip' },
      StarterTemplatesPrefix: { value: 'artifacts/starter-templates/abc' },
    });
  });

  it('keeps what the running stack has unless given anew; a parameter new in this template takes its default', () => {
    const previous = { DefaultSenderEmail: 'old@example.com', DefaultSenderName: 'Old', AdminEmail: 'x@example.com', BounceRateThreshold: '3', ArtifactBucket: 'bkt' };
    const out = stackParameters(PARAMS, { senderName: 'New', bucket: 'bkt' }, ARTIFACTS, previous);
    expect(out.DefaultSenderEmail).toEqual({ usePrevious: true });
    expect(out.DefaultSenderName).toEqual({ value: 'New' });
    expect(out.BounceRateThreshold).toEqual({ usePrevious: true });
    expect(out.NewInThisVersion).toBeUndefined();
  });

  it('takes --parameter values and refuses names the template lacks', () => {
    expect(stackParameters(PARAMS, { bucket: 'b', extra: { BounceRateThreshold: '2' } }, ARTIFACTS).BounceRateThreshold).toEqual({ value: '2' });
    expect(() => stackParameters(PARAMS, { bucket: 'b', extra: { Nope: '1' } }, ARTIFACTS)).toThrow(CliError);
  });

  it('sends the engine version as EngineVersion only when the template declares it', () => {
    const withVersion = { ...ARTIFACTS, engineVersion: '1.2.3' };
    expect(stackParameters([...PARAMS, 'EngineVersion'], { bucket: 'b' }, withVersion).EngineVersion).toEqual({ value: '1.2.3' });
    expect(stackParameters(PARAMS, { bucket: 'b' }, withVersion).EngineVersion).toBeUndefined();
  });

  it('parses Key=Value flags, values may hold "="', () => {
    expect(parseParameterFlags(['A=1', 'UnsubscribeMailto=mailto:x@y.z?subject=unsubscribe'])).toEqual({ A: '1', UnsubscribeMailto: 'mailto:x@y.z?subject=unsubscribe' });
    expect(() => parseParameterFlags(['novalue'])).toThrow(/Key=Value/);
  });
});

describe('the shipped stack template', () => {
  it('declares every parameter the installer sends, and its resources are counted', async () => {
    const template = await loadStackTemplate(packageRoot());
    for (const name of ['DefaultSenderEmail', 'DefaultSenderName', 'AdminEmail', 'ArtifactBucket', 'StarterTemplatesPrefix', ...HANDLERS.map((h) => h.parameter)]) {
      expect(template.parameters).toContain(name);
    }
    expect(template.resourceCount).toBeGreaterThan(20);
    // Over 51,200 bytes it goes to CloudFormation through the bucket; 1 MB is the limit there.
    expect(Buffer.byteLength(template.body)).toBeLessThan(1_048_576);
  });

  it('parses short-form intrinsic tags without complaint', async () => {
    const t = await parseStackTemplate("Parameters:\n  P: {Type: String}\nResources:\n  R:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub '${AWS::StackName}-q'\n      Tags: !If [c, !Ref P, !GetAtt X.Arn]\n");
    expect(t.parameters).toEqual(['P']);
    expect(t.resourceCount).toBe(1);
  });
});

describe('stack names', () => {
  it('accepts up to 46 characters of letters, digits and hyphens, starting with a letter', async () => {
    const { stackNameProblem } = await import('../../../src/shared-options.js');
    expect(stackNameProblem('sesmailengine')).toBeUndefined();
    expect(stackNameProblem(`a${'b'.repeat(45)}`)).toBeUndefined();
    expect(stackNameProblem(`a${'b'.repeat(46)}`)).toMatch(/46/);
    expect(stackNameProblem('1abc')).toBeDefined();
    expect(stackNameProblem('my_stack')).toBeDefined();
  });
});

describe('chooseInterruptedSend', () => {
  it('takes --interrupted-send or the parameter, and keeps the stack\'s when neither is given', () => {
    expect(chooseInterruptedSend('fail', undefined)).toBe('fail');
    expect(chooseInterruptedSend(undefined, 'resend')).toBe('resend');
    expect(chooseInterruptedSend('fail', 'fail')).toBe('fail');
    expect(chooseInterruptedSend(undefined, undefined)).toBeUndefined();
  });

  it('refuses another value, and two different ones', () => {
    expect(() => chooseInterruptedSend('retry', undefined)).toThrow(/--interrupted-send must be "resend" or "fail"/);
    expect(() => chooseInterruptedSend('fail', 'resend')).toThrow(/given twice/);
  });
});
