/**
 * Request checks with DynamoDB's wording: member constraints ("1 validation error detected:
 * Value 'x' at 'tableName' failed to satisfy constraint: ..."), JSON types of attribute values
 * (SerializationException) and the rules for attribute values themselves (one type, sets
 * not empty and without duplicates, numbers in range). Numbers are rewritten in place to
 * their canonical form, so everything after these checks compares and stores canonical text.
 */
import { normalizeNumber, type AttributeValue, type Item } from './expressions.js';
import { serializationError, validationError } from './errors.js';

export type Json = Record<string, unknown>;

const TABLE_NAME_PATTERN = /^[a-zA-Z0-9_.-]+$/;

function valueText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(valueText).join(', ')}]`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Collects member-constraint violations in the order DynamoDB reports them (at most 10). */
export class Constraints {
  private readonly errors: string[] = [];

  private add(value: unknown, path: string, constraint: string): void {
    if (this.errors.length >= 10) return;
    const shown = value === null || value === undefined ? 'null' : `'${valueText(value)}'`;
    this.errors.push(`Value ${shown} at '${path}' failed to satisfy constraint: ${constraint}`);
  }

  notNull(value: unknown, path: string): this {
    if (value === undefined || value === null) this.add(value, path, 'Member must not be null');
    return this;
  }

  name(value: unknown, path: string, notNull = true): this {
    if (value === undefined || value === null) return notNull ? this.notNull(value, path) : this;
    const text = String(value);
    if (!TABLE_NAME_PATTERN.test(text)) this.add(value, path, 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+');
    if (text.length < 3) this.add(value, path, 'Member must have length greater than or equal to 3');
    if (text.length > 255) this.add(value, path, 'Member must have length less than or equal to 255');
    return this;
  }

  enum(value: unknown, path: string, allowed: readonly string[]): this {
    if (value !== undefined && value !== null && !allowed.includes(value as string)) {
      this.add(value, path, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
    }
    return this;
  }

  atLeast(value: unknown, path: string, min: number): this {
    if (typeof value === 'number' && value < min) this.add(value, path, `Member must have value greater than or equal to ${min}`);
    return this;
  }

  atMost(value: unknown, path: string, max: number): this {
    if (typeof value === 'number' && value > max) this.add(value, path, `Member must have value less than or equal to ${max}`);
    return this;
  }

  length(value: unknown, path: string, min?: number, max?: number): this {
    if (value === undefined || value === null) return this;
    const length = Array.isArray(value) || typeof value === 'string' ? value.length : Object.keys(value as object).length;
    if (min !== undefined && length < min) this.add(value, path, `Member must have length greater than or equal to ${min}`);
    if (max !== undefined && length > max) this.add(value, path, `Member must have length less than or equal to ${max}`);
    return this;
  }

  /** A violation checked by the caller. */
  check(ok: boolean, value: unknown, path: string, constraint: string): this {
    if (!ok) this.add(value, path, constraint);
    return this;
  }

  throwIfAny(): void {
    const n = this.errors.length;
    if (n > 0) throw validationError(`${n} validation error${n > 1 ? 's' : ''} detected: ${this.errors.join('; ')}`);
  }
}

/** "The parameter 'TableName' is required ..." and the length rule of the table-level actions. */
export function requireTableName(data: Json, member = 'TableName'): void {
  const value = data[member];
  if (value === undefined || value === null) {
    throw validationError(`The parameter '${member}' is required but was not present in the request`);
  }
  const text = String(value);
  if (text.length < 3 || text.length > 255) {
    throw validationError(`${member} must be at least 3 characters long and at most 255 characters long`);
  }
}

// ---- JSON types of the request members --------------------------------------------------

function javaTypeError(value: unknown, type: 'String' | 'Boolean' | 'Integer' | 'Long'): never {
  if (typeof value === 'boolean') throw serializationError(`${value ? 'TRUE_VALUE' : 'FALSE_VALUE'} cannot be converted to ${type}`);
  if (typeof value === 'number') throw serializationError(`${value % 1 === 0 ? 'NUMBER_VALUE' : 'DECIMAL_VALUE'} cannot be converted to ${type}`);
  if (typeof value === 'string') throw serializationError(`STRING_VALUE cannot be converted to ${type}`);
  if (Array.isArray(value)) throw serializationError(`Unrecognized collection type class java.lang.${type}`);
  throw serializationError('Start of structure or map found where not expected');
}

/** A string member (undefined when absent or null). */
export function stringMember(data: Json, member: string): string | undefined {
  const value = data[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') javaTypeError(value, 'String');
  return value;
}

export function booleanMember(data: Json, member: string): boolean | undefined {
  const value = data[member];
  if (value === undefined || value === null) return undefined;
  return toBoolean(value);
}

function toBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const upper = value.toUpperCase();
    if (upper === 'TRUE' || upper === '1' || upper === 'YES') return true;
    if (upper === 'FALSE' || upper === '0' || upper === 'NO') return false;
    throw serializationError('Unexpected token received from parser');
  }
  if (typeof value === 'number') throw serializationError(`${value % 1 === 0 ? 'NUMBER_VALUE' : 'DECIMAL_VALUE'} cannot be converted to Boolean`);
  if (Array.isArray(value)) throw serializationError('Unrecognized collection type class java.lang.Boolean');
  throw serializationError('Start of structure or map found where not expected');
}

export function integerMember(data: Json, member: string): number | undefined {
  const value = data[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') javaTypeError(value, 'Integer');
  return Math.floor(value);
}

/** A structure member: a JSON object (undefined when absent or null). */
export function structMember(data: Json, member: string, className: string): Json | undefined {
  const value = data[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') throw serializationError('Unexpected field type');
  if (Array.isArray(value)) throw serializationError(`Unrecognized collection type class com.amazonaws.dynamodb.v20120810.${className}`);
  return value as Json;
}

export function listMember(data: Json, member: string): unknown[] | undefined {
  const value = data[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') throw serializationError('Unexpected field type');
  if (!Array.isArray(value)) throw serializationError('Start of structure or map found where not expected');
  return value;
}

/** A map of strings (ExpressionAttributeNames). */
export function stringMapMember(data: Json, member: string): Record<string, string> | undefined {
  const value = data[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') throw serializationError('Unexpected field type');
  if (Array.isArray(value)) throw serializationError('Unrecognized collection type java.util.Map<java.lang.String, java.lang.String>');
  for (const key in value) {
    const entry = (value as Json)[key];
    if (entry === null || entry === undefined) delete (value as Json)[key];
    else if (typeof entry !== 'string') javaTypeError(entry, 'String');
  }
  return value as Record<string, string>;
}

const ATTRIBUTE_MAP_TYPE = 'Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>';

/**
 * A map of attribute values (Item, Key, ExpressionAttributeValues, ExclusiveStartKey):
 * JSON types checked, values validated, numbers made canonical.
 */
export function attributeMapMember(data: Json, member: string): Item | undefined {
  const value = data[member];
  if (value === undefined || value === null) return undefined;
  return attributeMap(value);
}

/** DynamoDB keeps documents (maps and lists) up to 32 levels deep. */
export const MAX_NESTING = 32;
export const NESTING_MESSAGE = 'One or more parameter values were invalid: Nesting Levels have exceeded supported limits';

export function attributeMap(value: unknown, depth = 0): Item {
  if (typeof value !== 'object' || value === null) throw serializationError('Unexpected field type');
  if (Array.isArray(value)) throw serializationError(ATTRIBUTE_MAP_TYPE);
  const map = value as Record<string, unknown>;
  for (const name in map) {
    const entry = map[name];
    if (entry === null || entry === undefined) {
      delete map[name];
      continue;
    }
    checkAttributeValue(entry, 'ValueStruct', depth);
  }
  return map as Item;
}

// ---- attribute values ----------------------------------------------------------------------

const EMPTY_VALUE = 'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes';
const MANY_TYPES = 'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes';

function checkString(value: unknown): string {
  if (typeof value !== 'string') javaTypeError(value, 'String');
  return value;
}

function checkBlob(value: unknown): string {
  if (typeof value === 'boolean' || typeof value === 'number') throw serializationError('only base-64-encoded strings are convertible to bytes');
  if (typeof value === 'object' && value !== null) {
    if (Array.isArray(value)) throw serializationError('Unrecognized collection type class java.nio.ByteBuffer');
    throw serializationError('Start of structure or map found where not expected');
  }
  const text = value as string;
  if (text.length % 4) throw serializationError(`Base64 encoded length is expected a multiple of 4 bytes but found: ${text.length}`);
  if (Buffer.from(text, 'base64').toString('base64') !== text) throw serializationError('Invalid last non-pad Base64 character dectected');
  return text;
}

function checkList(value: unknown): unknown[] {
  if (typeof value !== 'object' || value === null) throw serializationError('Unexpected field type');
  if (!Array.isArray(value)) throw serializationError('Start of structure or map found where not expected');
  return value;
}

/** Integers of up to 15 digits without a leading zero are canonical already: the common case, checked without parsing. */
const CANONICAL_INTEGER = /^(?:0|-?[1-9]\d{0,14})$/;

function checkNumber(text: string): string {
  if (!text) throw validationError('The parameter cannot be converted to a numeric value');
  return CANONICAL_INTEGER.test(text) ? text : normalizeNumber(text);
}

function firstDuplicate(values: string[]): string | undefined {
  if (values.length < 2) return undefined;
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) return value;
    seen.add(value);
  }
  return undefined;
}

/**
 * Validates one attribute value in place (numbers become canonical). `context` names the
 * structure for the JSON type error of a non-object; `depth` counts the maps and lists the
 * value sits in.
 */
export function checkAttributeValue(value: unknown, context: 'ValueStruct' | 'FieldStruct' = 'ValueStruct', depth = 0): AttributeValue {
  if (typeof value !== 'object' || value === null) {
    throw serializationError(context === 'ValueStruct' ? 'Unexpected value type in payload' : 'Unexpected field type');
  }
  if (Array.isArray(value)) throw serializationError('Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue');
  const av = value as Record<string, unknown>;
  let types = 0;
  for (const type in av) {
    const inner = av[type];
    if (inner === null || inner === undefined) {
      delete av[type];
      continue;
    }
    switch (type) {
      case 'S':
        checkString(inner);
        break;
      case 'N':
        av.N = checkNumber(checkString(inner));
        break;
      case 'B':
        checkBlob(inner);
        break;
      case 'BOOL':
        av.BOOL = toBoolean(inner);
        break;
      case 'NULL':
        av.NULL = toBoolean(inner);
        if (!av.NULL) throw validationError('One or more parameter values were invalid: Null attribute value types must have the value of true');
        break;
      case 'SS': {
        const list = checkList(inner).map(checkString);
        if (list.length === 0) throw validationError('One or more parameter values were invalid: An string set  may not be empty');
        if (firstDuplicate(list) !== undefined) {
          throw validationError(`One or more parameter values were invalid: Input collection ${valueText(list)} contains duplicates.`);
        }
        break;
      }
      case 'NS': {
        const list = checkList(inner).map(checkString);
        if (list.length === 0) throw validationError('One or more parameter values were invalid: An number set  may not be empty');
        const canonical = list.map(checkNumber);
        av.NS = canonical;
        if (firstDuplicate(canonical) !== undefined) throw validationError('Input collection contains duplicates');
        break;
      }
      case 'BS': {
        const list = checkList(inner).map(checkBlob);
        if (list.length === 0) throw validationError('One or more parameter values were invalid: Binary sets should not be empty');
        if (firstDuplicate(list) !== undefined) {
          throw validationError(`One or more parameter values were invalid: Input collection ${valueText(list)}of type BS contains duplicates.`);
        }
        break;
      }
      case 'L': {
        const list = checkList(inner);
        if (depth >= MAX_NESTING) throw validationError(NESTING_MESSAGE);
        for (const element of list) checkAttributeValue(element, 'ValueStruct', depth + 1);
        break;
      }
      case 'M':
        if (depth >= MAX_NESTING && typeof inner === 'object' && inner !== null && !Array.isArray(inner)) throw validationError(NESTING_MESSAGE);
        attributeMap(inner, depth + 1);
        break;
      default:
        // DynamoDB drops members it does not know.
        delete av[type];
        continue;
    }
    types++;
  }
  if (types === 0) throw validationError(EMPTY_VALUE);
  if (types > 1) throw validationError(MANY_TYPES);
  return av as AttributeValue;
}

/** The type letter of a validated attribute value. */
export function typeOf(value: AttributeValue): string {
  for (const type in value) return type;
  return '';
}

/** ExpressionAttributeNames / ExpressionAttributeValues rules checked before any expression is parsed. */
export function checkExpressionInputs(names: Record<string, string> | undefined, values: Item | undefined): void {
  if (names !== undefined) {
    const keys = Object.keys(names);
    if (keys.length === 0) throw validationError('ExpressionAttributeNames must not be empty');
    for (const key of keys) {
      if (!/^#[0-9a-zA-Z_]+$/.test(key)) throw validationError(`ExpressionAttributeNames contains invalid key: Syntax error; key: "${key}"`);
    }
  }
  if (values !== undefined) {
    const keys = Object.keys(values);
    if (keys.length === 0) throw validationError('ExpressionAttributeValues must not be empty');
    for (const key of keys) {
      if (!/^:[0-9a-zA-Z_]+$/.test(key)) throw validationError(`ExpressionAttributeValues contains invalid key: Syntax error; key: "${key}"`);
    }
  }
}

/**
 * ExpressionAttributeValues, validated with DynamoDB's "... for key :v" wording. The raw map
 * is checked for JSON types first (SerializationException), then each value's rules.
 */
export function expressionValuesMember(data: Json): Item | undefined {
  const value = data.ExpressionAttributeValues;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') throw serializationError('Unexpected field type');
  if (Array.isArray(value)) throw serializationError(ATTRIBUTE_MAP_TYPE);
  const map = value as Record<string, unknown>;
  for (const key in map) {
    if (map[key] === null || map[key] === undefined) delete map[key];
  }
  return map as Item;
}

export function checkExpressionValues(values: Item): void {
  for (const key in values) {
    try {
      checkAttributeValue(values[key]);
    } catch (error) {
      if ((error as { name?: string }).name === 'ValidationException') {
        throw validationError(`ExpressionAttributeValues contains invalid value: ${(error as Error).message} for key ${key}`);
      }
      throw error;
    }
  }
}

/**
 * The checks shared by the expression-based actions: expression and legacy members not
 * mixed, names/values given only with expressions.
 */
export function checkExpressionParams(data: Json, expressions: readonly string[], legacy: readonly string[]): void {
  let used = false;
  for (const member of expressions) if (data[member] != null) used = true;
  if (used) {
    let legacyMembers = legacy;
    if (data.KeyConditions != null && data.KeyConditionExpression == null) legacyMembers = legacy.filter((m) => m !== 'KeyConditions');
    const mixed = legacyMembers.filter((member) => data[member] != null);
    if (mixed.length > 0) {
      const given = expressions.filter((member) => data[member] != null);
      throw validationError(
        'Can not use both expression and non-expression parameters in the same request: ' +
          `Non-expression parameters: {${mixed.join(', ')}} Expression parameters: {${given.join(', ')}}`,
      );
    }
  }
  if (data.ExpressionAttributeNames != null && !used) {
    throw validationError('ExpressionAttributeNames can only be specified when using expressions');
  }
  if (data.ExpressionAttributeValues != null) {
    const valueExpressions = expressions.filter((member) => member !== 'ProjectionExpression');
    if (valueExpressions.length > 0 && valueExpressions.every((member) => data[member] == null)) {
      throw validationError(
        `ExpressionAttributeValues can only be specified when using expressions: ${valueExpressions.join(' and ')} ${valueExpressions.length > 1 ? 'are' : 'is'} null`,
      );
    }
  }
}
