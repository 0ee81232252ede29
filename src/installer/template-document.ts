import { parse, type CollectionTag, type ScalarTag } from 'yaml';

/**
 * The stack template as data: YAML with CloudFormation's short-form intrinsics (`!Ref`,
 * `!Sub`, `!GetAtt`, …) read into their long form (`{ "Ref": … }`, `{ "Fn::Sub": … }`), so
 * the installer can find the names a stack will give its resources, what each resource
 * refers to, and cut out the part of the template that an IMPORT change set may hold.
 * Pure functions: no AWS.
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, Json>;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  [key: string]: Json | undefined;
}

export interface TemplateDocument {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Metadata?: Json;
  Parameters?: Record<string, Json>;
  Mappings?: Record<string, Json>;
  Conditions?: Record<string, Json>;
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, Json>;
}

const FUNCTIONS = ['Base64', 'Cidr', 'FindInMap', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub', 'If', 'Equals', 'Not', 'And', 'Or', 'Transform', 'Length', 'ToJsonString'];

function tagsFor(name: string): (ScalarTag | CollectionTag)[] {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  return [
    { tag: `!${name}`, resolve: (value: string) => ({ [key]: value }) },
    { tag: `!${name}`, collection: 'seq', resolve: (seq) => ({ [key]: seq.toJSON() }) },
    { tag: `!${name}`, collection: 'map', resolve: (map) => ({ [key]: map.toJSON() }) },
  ];
}

const CFN_TAGS: (ScalarTag | CollectionTag)[] = [
  ...tagsFor('Ref'),
  ...tagsFor('Condition'),
  ...FUNCTIONS.flatMap(tagsFor),
  {
    tag: '!GetAtt',
    resolve: (value: string) => {
      const dot = value.indexOf('.');
      return { 'Fn::GetAtt': dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
    },
  },
  { tag: '!GetAtt', collection: 'seq', resolve: (seq) => ({ 'Fn::GetAtt': seq.toJSON() }) },
];

/** Reads a template (YAML or JSON) with every intrinsic in its long form. */
export function parseTemplateDocument(body: string): TemplateDocument {
  const doc = parse(body, { customTags: CFN_TAGS, maxAliasCount: -1 }) as TemplateDocument | null;
  return { ...(doc ?? {}), Resources: doc?.Resources ?? {} };
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walk(value: unknown, visit: (value: unknown) => void): void {
  visit(value);
  if (Array.isArray(value)) for (const item of value) walk(item, visit);
  else if (isObject(value)) for (const item of Object.values(value)) walk(item, visit);
}

/** `${Name}` and `${Res.Attr}` in a Fn::Sub string (`${!Literal}` is not a variable). */
function subVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]!.trim()).filter((name) => !name.startsWith('!'));
}

/**
 * The physical name a name property resolves to for a stack: a literal, or a `Fn::Sub`
 * whose only variable is `${AWS::StackName}`. Anything else (a reference, another
 * variable) cannot be known before CloudFormation runs: undefined.
 */
export function resolveName(value: Json | undefined, stackName: string): string | undefined {
  if (typeof value === 'string') return value;
  if (!isObject(value) || Object.keys(value).length !== 1) return undefined;
  const sub = value['Fn::Sub'];
  if (typeof sub !== 'string') return undefined;
  if (subVariables(sub).some((v) => v !== 'AWS::StackName')) return undefined;
  return sub.split('${AWS::StackName}').join(stackName);
}

/**
 * The other resources a resource depends on: every Ref, Fn::GetAtt and Fn::Sub variable
 * naming a logical id of the template, and its DependsOn.
 */
export function referencedResources(doc: TemplateDocument, logicalId: string, options: { dependsOn?: boolean } = {}): string[] {
  const resource = doc.Resources[logicalId];
  if (!resource) return [];
  const ids = new Set(Object.keys(doc.Resources));
  const found = new Set<string>();
  const note = (name: string | undefined) => {
    if (name && ids.has(name) && name !== logicalId) found.add(name);
  };
  walk(resource.Properties ?? {}, (value) => {
    if (!isObject(value) || Object.keys(value).length !== 1) return;
    if (typeof value.Ref === 'string') note(value.Ref);
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') note(getAtt[0]);
    if (typeof getAtt === 'string') note(getAtt.split('.')[0]);
    const sub = value['Fn::Sub'];
    const text = typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : undefined;
    if (text) for (const v of subVariables(text)) note(v.split('.')[0]);
  });
  if (options.dependsOn !== false) for (const d of dependsOnList(resource)) note(d);
  return [...found].sort();
}

function dependsOnList(resource: TemplateResource): string[] {
  if (resource.DependsOn === undefined) return [];
  return Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn];
}

/** Deletion policies that leave the resource, with its data, when the stack deletes it. */
export const KEEPING_DELETION_POLICIES = new Set(['Retain', 'RetainExceptOnCreate', 'Snapshot']);

/**
 * The template of an IMPORT change set for a new stack: only the resources being imported
 * (CloudFormation refuses any other), each with its DeletionPolicy, plus the parameters,
 * mappings and conditions they may use. Outputs are left out: they would name resources
 * that do not exist yet; the update that follows the import brings them.
 */
export function importTemplateBody(doc: TemplateDocument, logicalIds: string[]): string {
  const chosen = new Set(logicalIds);
  const resources: Record<string, TemplateResource> = {};
  for (const id of logicalIds) {
    const resource = doc.Resources[id];
    if (!resource) throw new Error(`The template has no resource ${id} to import.`);
    if (!resource.DeletionPolicy) throw new Error(`${id} has no DeletionPolicy; CloudFormation imports only resources that have one.`);
    // A property naming another resource needs it in the template; a bare DependsOn is only order.
    const needed = referencedResources(doc, id, { dependsOn: false }).filter((r) => !chosen.has(r));
    if (needed.length > 0) throw new Error(`${id} refers to ${needed.join(', ')}, which ${needed.length === 1 ? 'is' : 'are'} not imported.`);
    const kept = dependsOnList(resource).filter((d) => chosen.has(d));
    const { DependsOn: _dependsOn, ...rest } = resource;
    resources[id] = { ...rest, ...(kept.length > 0 ? { DependsOn: kept } : {}) } as TemplateResource;
  }
  const out: TemplateDocument = {
    AWSTemplateFormatVersion: doc.AWSTemplateFormatVersion ?? '2010-09-09',
    ...(doc.Description ? { Description: doc.Description } : {}),
    ...(doc.Parameters ? { Parameters: doc.Parameters } : {}),
    ...(doc.Mappings ? { Mappings: doc.Mappings } : {}),
    ...(doc.Conditions ? { Conditions: doc.Conditions } : {}),
    Resources: resources,
  };
  return JSON.stringify(out, null, 1);
}

/**
 * Parameter values as a stack would get them: the given ones over the template's defaults
 * (a parameter with neither is absent).
 */
export function parameterValues(doc: TemplateDocument, given: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, declaration] of Object.entries(doc.Parameters ?? {})) {
    const fallback = isObject(declaration) ? declaration.Default : undefined;
    if (given[name] !== undefined) out[name] = given[name];
    else if (fallback !== undefined && fallback !== null) out[name] = String(fallback);
  }
  return out;
}

/**
 * The value of each of the template's Conditions for these parameter values (Fn::Equals,
 * Fn::Not, Fn::And, Fn::Or, Condition, Ref to a parameter). A condition that cannot be
 * worked out (an unknown function or parameter) counts as true: the caller then treats the
 * resources behind it as present, the cautious side for a name check.
 */
export function evaluateConditions(doc: TemplateDocument, values: Record<string, string>): Record<string, boolean> {
  const conditions = doc.Conditions ?? {};
  const results: Record<string, boolean> = {};
  const unknown = Symbol('unknown');
  const value = (v: Json): string | typeof unknown => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (isObject(v) && typeof v.Ref === 'string') return values[v.Ref] ?? unknown;
    return unknown;
  };
  const evaluate = (v: Json, seen: Set<string>): boolean | typeof unknown => {
    if (!isObject(v)) return unknown;
    if (typeof v.Condition === 'string') return named(v.Condition, seen);
    const [fn, arg] = Object.entries(v)[0] ?? [];
    if (!Array.isArray(arg)) return unknown;
    switch (fn) {
      case 'Fn::Equals': {
        const [a, b] = [value(arg[0] as Json), value(arg[1] as Json)];
        return a === unknown || b === unknown ? unknown : a === b;
      }
      case 'Fn::Not': {
        const inner = evaluate(arg[0] as Json, seen);
        return inner === unknown ? unknown : !inner;
      }
      case 'Fn::And':
      case 'Fn::Or': {
        const parts = arg.map((a) => evaluate(a, seen));
        if (parts.includes(unknown)) return unknown;
        return fn === 'Fn::And' ? parts.every(Boolean) : parts.some(Boolean);
      }
      default:
        return unknown;
    }
  };
  const named = (name: string, seen: Set<string>): boolean | typeof unknown => {
    if (name in results) return results[name]!;
    if (seen.has(name) || !(name in conditions)) return unknown;
    return evaluate(conditions[name] as Json, new Set([...seen, name]));
  };
  for (const name of Object.keys(conditions)) {
    const result = named(name, new Set());
    results[name] = result === unknown ? true : result;
  }
  return results;
}

/** Whether a resource is part of the stack for these condition values (no Condition: always). */
export function resourceIncluded(doc: TemplateDocument, logicalId: string, conditions: Record<string, boolean>): boolean {
  const condition = doc.Resources[logicalId]?.Condition;
  return condition === undefined || conditions[condition] !== false;
}
