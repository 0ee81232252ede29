import { beforeAll, describe, expect, it } from '@jest/globals';
import { loadTemplate, parseTemplate, type CfnTemplate } from '../support/cloudformation.js';
import { loadResourceSpec, validateTemplate, type ResourceSpec } from '../support/cfn-spec-validation.js';

let spec: ResourceSpec;
let template: CfnTemplate;
beforeAll(() => {
  spec = loadResourceSpec();
  template = loadTemplate();
});

describe('the CloudFormation YAML reader', () => {
  it('turns every short-form intrinsic into its long form', () => {
    const parsed = parseTemplate(`
Resources:
  R:
    Type: T
    Properties:
      Ref: !Ref P
      GetAttDot: !GetAtt Res.Attr.Nested
      GetAttList: !GetAtt [Res, Attr]
      Sub: !Sub 'a-\${P}'
      SubList: !Sub ['a-\${X}', { X: !Ref P }]
      Join: !Join ['-', [a, b]]
      If: !If [C, 1, !Ref AWS::NoValue]
      Equals: !Equals [a, b]
      Not: !Not [!Condition C]
      And: !And [!Condition C, !Condition D]
      Or: !Or [!Condition C, !Condition D]
      Select: !Select [0, !Split [',', 'a,b']]
      FindInMap: !FindInMap [M, K, V]
      Base64: !Base64 'text'
      Base64Map: !Base64 { Fn::Sub: x }
      Cidr: !Cidr [10.0.0.0/16, 4, 8]
      GetAZs: !GetAZs ''
      ImportValue: !ImportValue shared-name
`);
    expect(parsed.Resources.R!.Properties).toEqual({
      Ref: { Ref: 'P' },
      GetAttDot: { 'Fn::GetAtt': ['Res', 'Attr.Nested'] },
      GetAttList: { 'Fn::GetAtt': ['Res', 'Attr'] },
      Sub: { 'Fn::Sub': 'a-${P}' },
      SubList: { 'Fn::Sub': ['a-${X}', { X: { Ref: 'P' } }] },
      Join: { 'Fn::Join': ['-', ['a', 'b']] },
      If: { 'Fn::If': ['C', 1, { Ref: 'AWS::NoValue' }] },
      Equals: { 'Fn::Equals': ['a', 'b'] },
      Not: { 'Fn::Not': [{ Condition: 'C' }] },
      And: { 'Fn::And': [{ Condition: 'C' }, { Condition: 'D' }] },
      Or: { 'Fn::Or': [{ Condition: 'C' }, { Condition: 'D' }] },
      Select: { 'Fn::Select': [0, { 'Fn::Split': [',', 'a,b'] }] },
      FindInMap: { 'Fn::FindInMap': ['M', 'K', 'V'] },
      Base64: { 'Fn::Base64': 'text' },
      Base64Map: { 'Fn::Base64': { 'Fn::Sub': 'x' } },
      Cidr: { 'Fn::Cidr': ['10.0.0.0/16', 4, 8] },
      GetAZs: { 'Fn::GetAZs': '' },
      ImportValue: { 'Fn::ImportValue': 'shared-name' },
    });
  });
});

describe('the template validator', () => {
  function problemsOf(resources: string, extra = ''): string[] {
    return validateTemplate(parseTemplate(`${extra}\nResources:\n${resources}`), spec);
  }

  it('accepts a small valid template', () => {
    expect(
      problemsOf(`
  Q:
    Type: AWS::SQS::Queue
    Properties: { QueueName: !Sub '\${AWS::StackName}-q', VisibilityTimeout: 30 }
  P:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Q]
      PolicyDocument: { Statement: [{ Effect: Allow, Resource: !GetAtt Q.Arn }] }
`),
    ).toEqual([]);
  });

  it('reports an unknown resource type', () => {
    expect(problemsOf('  Q: { Type: AWS::SQS::Queeue }')).toEqual([expect.stringContaining('unknown resource type AWS::SQS::Queeue')]);
  });

  it('reports an unknown property, also inside nested types', () => {
    const problems = problemsOf(`
  F:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: f
      BatchSizee: 10
      ScalingConfig: { MaxConcurrency: 2 }
`);
    expect(problems).toEqual([
      expect.stringContaining('unknown property BatchSizee'),
      expect.stringContaining('ScalingConfig: unknown property MaxConcurrency'),
    ]);
  });

  it('reports a missing required property, also inside nested types', () => {
    const problems = problemsOf(`
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{ AttributeName: id, KeyType: HASH }]
      TimeToLiveSpecification: { AttributeName: expiresAt }
`);
    expect(problems).toEqual([expect.stringContaining('TimeToLiveSpecification: required property Enabled is missing')]);
  });

  it('reports values of the wrong primitive type and values outside the allowed set', () => {
    const problems = problemsOf(`
  Q:
    Type: AWS::SQS::Queue
    Properties: { VisibilityTimeout: soon, FifoQueue: maybe }
  U:
    Type: AWS::Lambda::Url
    Properties: { TargetFunctionArn: x, AuthType: OPEN }
`);
    expect(problems).toEqual([
      expect.stringContaining('VisibilityTimeout: expected a integer'),
      expect.stringContaining('FifoQueue: expected a boolean'),
      expect.stringContaining('AuthType: "OPEN" is not one of'),
    ]);
  });

  it('reports references to things that do not exist', () => {
    const problems = problemsOf(
      `
  Q:
    Type: AWS::SQS::Queue
    Condition: Missing
    DependsOn: [Ghost]
    Properties:
      QueueName: !Sub '\${Nope}-\${Q.Arnn}-\${AWS::Region}'
      RedrivePolicy: { deadLetterTargetArn: !GetAtt Q.Url, maxReceiveCount: !Ref Unknown }
      Tags: [{ Key: k, Value: !If [AlsoMissing, a, b] }]
`,
      'Parameters: { P: { Type: String } }',
    );
    expect(problems.sort()).toEqual(
      [
        expect.stringContaining('Condition: undefined condition Missing'),
        expect.stringContaining('DependsOn: unknown resource Ghost'),
        expect.stringContaining('${Nope} is not a parameter'),
        expect.stringContaining('AWS::SQS::Queue has no attribute Arnn'),
        expect.stringContaining('AWS::SQS::Queue has no attribute Url'),
        expect.stringContaining('Ref to unknown "Unknown"'),
        expect.stringContaining('If uses undefined condition AlsoMissing'),
      ].sort(),
    );
    expect(problems).toHaveLength(7);
  });
});

describe('cloudformation/template.yaml', () => {
  it('is valid against the current AWS resource specification', () => {
    expect(validateTemplate(template, spec)).toEqual([]);
  });

  it('uses only parameters it declares and declares none it does not use', () => {
    const text = JSON.stringify(template.Resources) + JSON.stringify(template.Outputs) + JSON.stringify(template.Conditions);
    for (const name of Object.keys(template.Parameters ?? {})) {
      expect({ name, used: text.includes(`"Ref":"${name}"`) || text.includes(`\${${name}}`) }).toEqual({ name, used: true });
    }
  });

  it('has parameter defaults that satisfy their own constraints', () => {
    for (const [name, p] of Object.entries(template.Parameters ?? {})) {
      expect(p.Description).toBeTruthy();
      if (p.Default === undefined) continue;
      const value = String(p.Default);
      if (p.AllowedPattern) expect({ name, ok: new RegExp(p.AllowedPattern).test(value) }).toEqual({ name, ok: true });
      if (p.AllowedValues) expect(p.AllowedValues.map(String)).toContain(value);
      if (p.MinValue !== undefined) expect(Number(value)).toBeGreaterThanOrEqual(p.MinValue);
      if (p.MaxValue !== undefined) expect(Number(value)).toBeLessThanOrEqual(p.MaxValue);
      if (p.AllowedPattern || p.MinValue !== undefined || p.MaxValue !== undefined) {
        expect({ name, constraint: Boolean(p.ConstraintDescription) }).toEqual({ name, constraint: true });
      }
    }
  });
});
