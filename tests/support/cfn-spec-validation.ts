import { createRequire } from 'node:module';
import {
  PSEUDO_PARAMETERS,
  intrinsicName,
  isObject,
  subVariables,
  walk,
  type CfnTemplate,
  type Json,
} from './cloudformation.js';

/**
 * Validates a parsed CloudFormation template against the current AWS resource
 * specification shipped in @aws-cdk/aws-service-spec (the database the AWS CDK generates
 * its L1 constructs from): resource types, property names (recursively into nested
 * types), required properties, primitive value types, allowed values, and every
 * reference (Ref, GetAtt and its attribute names, Sub variables, conditions, DependsOn).
 * Returns a list of problems; an empty list means the template passed.
 */

const require = createRequire(import.meta.url);

interface PrimitiveType {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag';
  allowedValues?: (string | number)[];
}
interface RefType {
  type: 'ref';
  reference: { $ref: string };
}
interface CollectionType {
  type: 'array' | 'map';
  element: PropertyType;
}
interface UnionType {
  type: 'union';
  types: PropertyType[];
}
type PropertyType = PrimitiveType | RefType | CollectionType | UnionType;

interface SpecProperty {
  type: PropertyType;
  required?: boolean;
  deprecated?: string;
}
interface SpecResource {
  cloudFormationType: string;
  properties: Record<string, SpecProperty>;
  attributes: Record<string, unknown>;
  /** The properties that identify an existing resource (what a resource import names it by). */
  primaryIdentifier?: string[];
  /** The resource holds data that is lost when it is replaced or deleted. */
  isStateful?: boolean;
}
interface SpecTypeDefinition {
  name: string;
  properties: Record<string, SpecProperty>;
}

export interface ResourceSpec {
  resource(type: string): SpecResource | undefined;
  /** Every resource type of the specification. */
  allResources(): SpecResource[];
  typeDefinition(id: string): SpecTypeDefinition;
}

let cached: ResourceSpec | undefined;

/** Loads the specification database once per process (about a second). */
export function loadResourceSpec(): ResourceSpec {
  if (cached) return cached;
  const { loadAwsServiceSpecSync } = require('@aws-cdk/aws-service-spec') as {
    loadAwsServiceSpecSync(): {
      lookup(collection: 'resource', index: 'cloudFormationType', how: 'equals', value: string): SpecResource[];
      get(collection: 'typeDefinition', id: string): SpecTypeDefinition;
      all(collection: 'resource'): SpecResource[];
    };
  };
  const db = loadAwsServiceSpecSync();
  cached = {
    resource: (type) => db.lookup('resource', 'cloudFormationType', 'equals', type)[0],
    allResources: () => db.all('resource'),
    typeDefinition: (id) => db.get('typeDefinition', id),
  };
  return cached;
}

const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'Metadata',
  'CreationPolicy',
  'UpdatePolicy',
]);
const DELETION_POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);
const UPDATE_REPLACE_POLICIES = new Set(['Delete', 'Retain', 'Snapshot']);
const CUSTOM_RESOURCE = /^(Custom::[A-Za-z0-9_@-]{1,60}|AWS::CloudFormation::CustomResource)$/;

function describeType(spec: ResourceSpec, type: PropertyType): string {
  switch (type.type) {
    case 'ref':
      return spec.typeDefinition(type.reference.$ref).name;
    case 'array':
      return `List<${describeType(spec, type.element)}>`;
    case 'map':
      return `Map<${describeType(spec, type.element)}>`;
    case 'union':
      return type.types.map((t) => describeType(spec, t)).join(' | ');
    default:
      return type.type;
  }
}

/** Intrinsics that produce a list where a list is expected. */
const LIST_FUNCTIONS = new Set(['Fn::Split', 'Fn::GetAZs', 'Fn::Cidr', 'Fn::If', 'Ref', 'Fn::GetAtt', 'Fn::FindInMap']);

class Validator {
  readonly problems: string[] = [];
  constructor(
    private readonly spec: ResourceSpec,
    private readonly template: CfnTemplate,
  ) {}

  private fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  /** Checks one value against a spec type; returns problems instead of recording them (for unions). */
  private check(value: Json, type: PropertyType, path: string): string[] {
    const fn = intrinsicName(value);
    if (fn === 'Fn::If' && isObject(value) && Array.isArray(value[fn])) {
      const [, whenTrue, whenFalse] = value[fn] as Json[];
      return [whenTrue, whenFalse].flatMap((branch, i) =>
        isObject(branch) && branch.Ref === 'AWS::NoValue' ? [] : this.check(branch as Json, type, `${path}(If.${i})`),
      );
    }
    if (fn) {
      // The value is computed at deploy time; only the obvious shape mismatch is checkable.
      if (type.type === 'ref' && !['Fn::If', 'Fn::FindInMap', 'Fn::GetAtt', 'Ref', 'Fn::ImportValue', 'Fn::Transform'].includes(fn)) {
        return [`${path}: ${fn} cannot produce an object of type ${describeType(this.spec, type)}`];
      }
      if (type.type === 'array' && !LIST_FUNCTIONS.has(fn)) {
        return [`${path}: ${fn} does not produce a list`];
      }
      return [];
    }
    switch (type.type) {
      case 'union': {
        const attempts = type.types.map((t) => this.check(value, t, path));
        return attempts.some((a) => a.length === 0) ? [] : [`${path}: matches none of ${describeType(this.spec, type)}`];
      }
      case 'array':
        if (!Array.isArray(value)) return [`${path}: expected a list (${describeType(this.spec, type)})`];
        return value.flatMap((item, i) => this.check(item, type.element, `${path}[${i}]`));
      case 'map':
        if (!isObject(value)) return [`${path}: expected a map (${describeType(this.spec, type)})`];
        return Object.entries(value).flatMap(([k, v]) => this.check(v, type.element, `${path}.${k}`));
      case 'ref': {
        if (!isObject(value)) return [`${path}: expected an object of type ${describeType(this.spec, type)}`];
        return this.checkObject(value, this.spec.typeDefinition(type.reference.$ref).properties, path);
      }
      case 'tag':
        return isObject(value) && 'Key' in value && 'Value' in value ? [] : [`${path}: expected a tag {Key, Value}`];
      case 'json':
        return [];
      case 'string':
      case 'date-time':
        if (typeof value === 'object' && value !== null) return [`${path}: expected a string, got ${Array.isArray(value) ? 'a list' : 'an object'}`];
        if (type.type === 'string' && type.allowedValues && !type.allowedValues.includes(String(value))) {
          return [`${path}: "${String(value)}" is not one of ${type.allowedValues.join(', ')}`];
        }
        return [];
      case 'integer':
      case 'number': {
        const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (typeof n !== 'number' || !Number.isFinite(n)) return [`${path}: expected a ${type.type}, got ${JSON.stringify(value)}`];
        if (type.type === 'integer' && !Number.isInteger(n)) return [`${path}: expected an integer, got ${n}`];
        if (type.type === 'integer' && type.allowedValues && !type.allowedValues.includes(n)) {
          return [`${path}: ${n} is not one of ${type.allowedValues.join(', ')}`];
        }
        return [];
      }
      case 'boolean':
        return typeof value === 'boolean' || value === 'true' || value === 'false' ? [] : [`${path}: expected a boolean, got ${JSON.stringify(value)}`];
      case 'null':
        return value === null ? [] : [`${path}: expected null`];
    }
  }

  private checkObject(value: Record<string, Json>, properties: Record<string, SpecProperty>, path: string): string[] {
    const problems: string[] = [];
    for (const [name, property] of Object.entries(properties)) {
      if (property.required && !(name in value)) problems.push(`${path}: required property ${name} is missing`);
    }
    for (const [name, item] of Object.entries(value)) {
      const property = properties[name];
      if (!property) {
        problems.push(`${path}: unknown property ${name} (known: ${Object.keys(properties).sort().join(', ')})`);
        continue;
      }
      if (property.deprecated === 'IGNORE') continue;
      problems.push(...this.check(item, property.type, `${path}.${name}`));
    }
    return problems;
  }

  private checkResource(logicalId: string): void {
    const resource = this.template.Resources[logicalId]!;
    const path = `Resources.${logicalId}`;
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) this.fail(path, `unknown resource attribute ${key}`);
    if (resource.DeletionPolicy !== undefined && !DELETION_POLICIES.has(resource.DeletionPolicy)) {
      this.fail(path, `DeletionPolicy ${resource.DeletionPolicy} is not valid`);
    }
    if (resource.UpdateReplacePolicy !== undefined && !UPDATE_REPLACE_POLICIES.has(resource.UpdateReplacePolicy)) {
      this.fail(path, `UpdateReplacePolicy ${resource.UpdateReplacePolicy} is not valid`);
    }
    if (CUSTOM_RESOURCE.test(resource.Type)) {
      if (!resource.Properties || !('ServiceToken' in resource.Properties)) this.fail(path, 'a custom resource needs ServiceToken');
      return;
    }
    const specResource = this.spec.resource(resource.Type);
    if (!specResource) {
      this.fail(path, `unknown resource type ${resource.Type}`);
      return;
    }
    this.problems.push(...this.checkObject((resource.Properties ?? {}) as Record<string, Json>, specResource.properties, `${path}.Properties`));
  }

  private attributeExists(logicalId: string, attribute: string): boolean {
    const resource = this.template.Resources[logicalId];
    if (!resource) return false;
    if (CUSTOM_RESOURCE.test(resource.Type)) return true;
    const specResource = this.spec.resource(resource.Type);
    return specResource ? attribute in specResource.attributes : false;
  }

  private checkReferences(): void {
    const parameters = this.template.Parameters ?? {};
    const resources = this.template.Resources;
    const conditions = this.template.Conditions ?? {};
    const mappings = this.template.Mappings ?? {};
    const isName = (name: string) => name in resources || name in parameters || PSEUDO_PARAMETERS.has(name);

    const visit = (value: unknown, path: string[]) => {
      const fn = intrinsicName(value);
      if (!fn || !isObject(value)) return;
      const arg = value[fn];
      const where = path.join('.');
      switch (fn) {
        case 'Ref':
          if (typeof arg !== 'string' || !isName(arg)) this.fail(where, `Ref to unknown ${JSON.stringify(arg)}`);
          else if (path[0] === 'Conditions' && arg in resources) this.fail(where, `conditions cannot Ref resource ${arg}`);
          break;
        case 'Fn::GetAtt': {
          if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string' || typeof arg[1] !== 'string') {
            this.fail(where, `GetAtt needs [resource, attribute], got ${JSON.stringify(arg)}`);
          } else if (!(arg[0] in resources)) this.fail(where, `GetAtt of unknown resource ${arg[0]}`);
          else if (!this.attributeExists(arg[0], arg[1])) {
            this.fail(where, `${resources[arg[0]]!.Type} has no attribute ${arg[1]}`);
          }
          break;
        }
        case 'Fn::Sub': {
          const [text, variables] = typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? [arg[0], arg[1] ?? {}] : [undefined, {}];
          if (typeof text !== 'string' || !isObject(variables)) {
            this.fail(where, 'Sub needs a string or [string, map]');
            break;
          }
          for (const name of subVariables(text)) {
            if (name in variables) continue;
            const dot = name.indexOf('.');
            if (dot > 0 && !PSEUDO_PARAMETERS.has(name)) {
              const [res, attr] = [name.slice(0, dot), name.slice(dot + 1)];
              if (!(res in resources)) this.fail(where, `Sub variable \${${name}} names unknown resource ${res}`);
              else if (!this.attributeExists(res, attr)) this.fail(where, `Sub variable \${${name}}: ${resources[res]!.Type} has no attribute ${attr}`);
            } else if (!isName(name)) this.fail(where, `Sub variable \${${name}} is not a parameter, resource or pseudo parameter`);
          }
          break;
        }
        case 'Fn::If':
          if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string') this.fail(where, 'If needs [condition, then, else]');
          else if (!(arg[0] in conditions)) this.fail(where, `If uses undefined condition ${arg[0]}`);
          break;
        case 'Condition':
          if (typeof arg !== 'string' || !(arg in conditions)) this.fail(where, `Condition ${JSON.stringify(arg)} is not defined`);
          break;
        case 'Fn::FindInMap':
          if (!Array.isArray(arg) || typeof arg[0] !== 'string' || !(arg[0] in mappings)) this.fail(where, `FindInMap of unknown mapping ${JSON.stringify(arg)}`);
          break;
        case 'Fn::Equals':
        case 'Fn::Join':
        case 'Fn::Select':
        case 'Fn::Split':
          if (!Array.isArray(arg) || arg.length !== 2) this.fail(where, `${fn} needs two arguments`);
          break;
        case 'Fn::Not':
          if (!Array.isArray(arg) || arg.length !== 1) this.fail(where, 'Not needs one condition');
          break;
        case 'Fn::And':
        case 'Fn::Or':
          if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10) this.fail(where, `${fn} needs 2 to 10 conditions`);
          break;
        default:
          break;
      }
    };
    walk(this.template.Resources, visit, ['Resources']);
    walk(this.template.Outputs ?? {}, visit, ['Outputs']);
    walk(this.template.Conditions ?? {}, visit, ['Conditions']);

    for (const [logicalId, resource] of Object.entries(resources)) {
      for (const target of typeof resource.DependsOn === 'string' ? [resource.DependsOn] : resource.DependsOn ?? []) {
        if (!(target in resources)) this.fail(`Resources.${logicalId}.DependsOn`, `unknown resource ${target}`);
      }
      if (resource.Condition !== undefined && !(resource.Condition in conditions)) {
        this.fail(`Resources.${logicalId}.Condition`, `undefined condition ${resource.Condition}`);
      }
    }
    for (const [name, output] of Object.entries(this.template.Outputs ?? {})) {
      if (output.Condition !== undefined && !(output.Condition in conditions)) this.fail(`Outputs.${name}.Condition`, `undefined condition ${output.Condition}`);
      if (output.Value === undefined) this.fail(`Outputs.${name}`, 'has no Value');
    }
  }

  run(): string[] {
    if (!isObject(this.template.Resources) || Object.keys(this.template.Resources).length === 0) {
      this.fail('Resources', 'the template declares no resources');
      return this.problems;
    }
    for (const logicalId of Object.keys(this.template.Resources)) this.checkResource(logicalId);
    this.checkReferences();
    return this.problems;
  }
}

export function validateTemplate(template: CfnTemplate, spec: ResourceSpec = loadResourceSpec()): string[] {
  return new Validator(spec, template).run();
}
