import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type CollectionTag, type ScalarTag } from 'yaml';

/**
 * Reading the raw CloudFormation template the way CloudFormation does: every short-form
 * intrinsic (`!Ref`, `!GetAtt`, `!Sub`, ...) becomes its long form (`{ Ref: ... }`,
 * `{ "Fn::GetAtt": [...] }`), so tests walk plain JSON.
 */

export const TEMPLATE_PATH = join(process.cwd(), 'cloudformation', 'template.yaml');

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface CfnResource {
  Type: string;
  Properties?: Record<string, Json>;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: Json;
  [key: string]: Json | undefined;
}

export interface CfnParameter {
  Type: string;
  Default?: string | number;
  AllowedPattern?: string;
  AllowedValues?: (string | number)[];
  MinValue?: number;
  MaxValue?: number;
  ConstraintDescription?: string;
  Description?: string;
}

export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Metadata?: Json;
  Parameters?: Record<string, CfnParameter>;
  Mappings?: Record<string, Record<string, Record<string, Json>>>;
  Conditions?: Record<string, Json>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: Json; Description?: string; Condition?: string; Export?: { Name: Json } }>;
}

/** Short forms whose long form is `Fn::<Name>`, except Ref and Condition. */
const FUNCTIONS = [
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Transform',
  'Length',
  'ToJsonString',
] as const;

function longName(name: string): string {
  return name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
}

function tagsFor(name: string): (ScalarTag | CollectionTag)[] {
  const key = longName(name);
  return [
    { tag: `!${name}`, resolve: (value: string) => ({ [key]: value }) },
    { tag: `!${name}`, collection: 'seq', resolve: (seq) => ({ [key]: seq.toJSON() }) },
    { tag: `!${name}`, collection: 'map', resolve: (map) => ({ [key]: map.toJSON() }) },
  ];
}

/** `!GetAtt Res.Attr` is the only short form whose scalar needs splitting (at the first dot). */
const GET_ATT_TAGS: (ScalarTag | CollectionTag)[] = [
  {
    tag: '!GetAtt',
    resolve: (value: string) => {
      const dot = value.indexOf('.');
      return { 'Fn::GetAtt': dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
    },
  },
  { tag: '!GetAtt', collection: 'seq', resolve: (seq) => ({ 'Fn::GetAtt': seq.toJSON() }) },
];

export const CFN_TAGS: (ScalarTag | CollectionTag)[] = [
  ...tagsFor('Ref'),
  ...tagsFor('Condition'),
  ...FUNCTIONS.flatMap(tagsFor),
  ...GET_ATT_TAGS,
];

export function parseTemplate(source: string): CfnTemplate {
  return parse(source, { customTags: CFN_TAGS, maxAliasCount: -1 }) as CfnTemplate;
}

export function loadTemplate(path = TEMPLATE_PATH): CfnTemplate {
  return parseTemplate(readFileSync(path, 'utf8'));
}

export const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

export function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The intrinsic function of a value (`Ref`, `Fn::Sub`, ...) if it is one, else undefined. */
export function intrinsicName(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const key = keys[0]!;
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::') ? key : undefined;
}

/** Visits every value in a JSON tree with its path. */
export function walk(value: unknown, visit: (value: unknown, path: string[]) => void, path: string[] = []): void {
  visit(value, path);
  if (Array.isArray(value)) value.forEach((item, i) => walk(item, visit, [...path, String(i)]));
  else if (isObject(value)) for (const [key, item] of Object.entries(value)) walk(item, visit, [...path, key]);
}

/** Variables named in a Fn::Sub string: `${Name}`, `${Res.Attr}`; `${!Literal}` is not one. */
export function subVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]!.trim()).filter((name) => !name.startsWith('!'));
}

/**
 * A resource value as one comparable string: `!GetAtt X.Arn` → `${X.Arn}`, `!Ref X` → `${X}`,
 * `!Sub 'arn:...${X}/*'` → the string itself. Other shapes give undefined.
 */
export function resourceString(value: Json): string | undefined {
  if (typeof value === 'string') return value;
  const fn = intrinsicName(value);
  if (!fn || !isObject(value)) return undefined;
  const arg = value[fn];
  if (fn === 'Ref' && typeof arg === 'string') return `\${${arg}}`;
  if (fn === 'Fn::GetAtt' && Array.isArray(arg)) return `\${${arg.join('.')}}`;
  if (fn === 'Fn::Sub') {
    if (typeof arg === 'string') return arg;
    if (Array.isArray(arg) && typeof arg[0] === 'string' && isObject(arg[1])) {
      // Inline the variables that are themselves simple references.
      let text = arg[0];
      for (const [name, replacement] of Object.entries(arg[1])) {
        const inner = resourceString(replacement);
        if (inner !== undefined) text = text.split(`\${${name}}`).join(inner);
      }
      return text;
    }
  }
  return undefined;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: Json;
  NotResource?: Json;
  Principal?: Json;
  Condition?: Json;
}

export function asList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Every policy statement in the template, with where it sits. */
export function allPolicyStatements(template: CfnTemplate): { where: string; statement: PolicyStatement }[] {
  const found: { where: string; statement: PolicyStatement }[] = [];
  walk(template.Resources, (value, path) => {
    if (isObject(value) && Array.isArray(value.Statement) && 'Version' in value) {
      for (const statement of value.Statement) found.push({ where: path.join('.'), statement: statement as unknown as PolicyStatement });
    }
  });
  return found;
}

/** The Allow statements of a role's inline policies. */
export function roleStatements(template: CfnTemplate, roleName: string): PolicyStatement[] {
  const role = template.Resources[roleName];
  if (!role || role.Type !== 'AWS::IAM::Role') throw new Error(`${roleName} is not an AWS::IAM::Role`);
  const policies = (role.Properties?.Policies ?? []) as unknown as { PolicyDocument: { Statement: PolicyStatement[] } }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

/** The logical id behind `!GetAtt X.Arn` / `!Ref X`, or undefined. */
export function referencedResource(value: Json | undefined): string | undefined {
  const fn = intrinsicName(value);
  if (!fn || !isObject(value)) return undefined;
  const arg = value[fn];
  if (fn === 'Ref' && typeof arg === 'string') return arg;
  if (fn === 'Fn::GetAtt' && Array.isArray(arg) && typeof arg[0] === 'string') return arg[0];
  return undefined;
}

/** Matches an IAM resource pattern (with `*` and `?` wildcards) against a concrete resource string. */
export function resourceMatches(pattern: string, resource: string): boolean {
  const regex = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`,
  );
  return regex.test(resource);
}
