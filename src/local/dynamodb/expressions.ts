/**
 * The DynamoDB expression language — condition, filter, update, projection and key-condition
 * expressions — parsed and evaluated in memory for the local DynamoDB-compatible store.
 *
 * Each expression string is tokenized and parsed once (recursive descent) into an AST that keeps
 * #name and :value references unresolved, and that AST is cached by kind and text. Every request
 * then binds the AST to its own ExpressionAttributeNames/Values, which is where the errors that
 * depend on those inputs are found, and evaluates the bound form against items.
 *
 * Errors are ValidationExceptions in DynamoDB's wording, and when one expression has several
 * problems the one reported is the one DynamoDB reports (its precedence is mirrored below).
 */
import {
  addNumbers,
  cloneValue,
  compareValues,
  copyRecord,
  ExpressionValidationError,
  getOwn,
  normalizeNumber,
  setOwn,
  typeOf,
  valuesEqual,
  type AttributeType,
  type AttributeValue,
  type Item,
} from './attribute-values.js';
import { isReservedWord } from './reserved-words.js';

export { normalizeNumber };
export {
  compareValues,
  ExpressionValidationError,
  itemSize,
  valuesEqual,
  type AttributeValue,
  type Item,
} from './attribute-values.js';

export type ExpressionKind =
  | 'ConditionExpression'
  | 'FilterExpression'
  | 'KeyConditionExpression'
  | 'UpdateExpression'
  | 'ProjectionExpression';

export interface ExpressionInputs {
  names?: Record<string, string>; // ExpressionAttributeNames
  values?: Record<string, AttributeValue>; // ExpressionAttributeValues
}

/** A resolved document path: attribute and map-key names, and list indexes. */
export type DocumentPath = readonly (string | number)[];

/** Records which #names and :values a request's expressions used; one per request, shared by its expressions. */
export class ExpressionUsage {
  private readonly unusedNames: Set<string>;
  private readonly unusedValues: Set<string>;

  constructor(inputs: ExpressionInputs) {
    this.unusedNames = new Set(inputs.names ? Object.keys(inputs.names) : []);
    this.unusedValues = new Set(inputs.values ? Object.keys(inputs.values) : []);
  }

  useName(ref: string): void {
    this.unusedNames.delete(ref);
  }

  useValue(ref: string): void {
    this.unusedValues.delete(ref);
  }

  /** Throws ExpressionValidationError for unused names/values, with DynamoDB's messages. */
  assertAllUsed(): void {
    if (this.unusedNames.size > 0) {
      throw new ExpressionValidationError(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${[...this.unusedNames].join(', ')}}`,
      );
    }
    if (this.unusedValues.size > 0) {
      throw new ExpressionValidationError(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${[...this.unusedValues].join(', ')}}`,
      );
    }
  }
}

const NAME_KEY = /^#[0-9a-zA-Z_]+$/;
const VALUE_KEY = /^:[0-9a-zA-Z_]+$/;

/** The request-level checks DynamoDB makes on ExpressionAttributeNames/Values before parsing
 *  any expression: not empty, and every key of the #name / :value form. */
export function validateExpressionInputs(inputs: ExpressionInputs): void {
  if (inputs.names) {
    const keys = Object.keys(inputs.names);
    if (keys.length === 0) throw new ExpressionValidationError('ExpressionAttributeNames must not be empty');
    const bad = keys.find((key) => !NAME_KEY.test(key));
    if (bad !== undefined) throw new ExpressionValidationError(`ExpressionAttributeNames contains invalid key: Syntax error; key: "${bad}"`);
  }
  if (inputs.values) {
    const keys = Object.keys(inputs.values);
    if (keys.length === 0) throw new ExpressionValidationError('ExpressionAttributeValues must not be empty');
    const bad = keys.find((key) => !VALUE_KEY.test(key));
    if (bad !== undefined) throw new ExpressionValidationError(`ExpressionAttributeValues contains invalid key: Syntax error; key: "${bad}"`);
  }
}

// =============================================================================================
// Tokens

type TokenType = 'ident' | 'name' | 'value' | 'int' | 'punct' | 'bad' | 'eof';

interface Token {
  type: TokenType;
  text: string;
  /** Upper-cased text of identifiers, for case-insensitive keywords. */
  upper: string;
  start: number;
  end: number;
}

const PUNCT_TWO = new Set(['<>', '<=', '>=']);
const PUNCT_ONE = new Set(['(', ')', '[', ']', '.', ',', '=', '<', '>', '+', '-']);

function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (type: TokenType, start: number, end: number): void => {
    const text = source.slice(start, end);
    tokens.push({ type, text, upper: type === 'ident' ? text.toUpperCase() : text, start, end });
  };
  while (i < source.length) {
    const ch = source[i] as string;
    const code = source.charCodeAt(i);
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (ch === '#' || ch === ':') {
      i++;
      while (i < source.length && isWordChar(source.charCodeAt(i))) i++;
      push(i - start > 1 ? (ch === '#' ? 'name' : 'value') : 'bad', start, i);
    } else if (code >= 48 && code <= 57) {
      while (i < source.length && source.charCodeAt(i) >= 48 && source.charCodeAt(i) <= 57) i++;
      push('int', start, i);
    } else if (isWordChar(code)) {
      while (i < source.length && isWordChar(source.charCodeAt(i))) i++;
      push('ident', start, i);
    } else if (PUNCT_TWO.has(source.slice(i, i + 2))) {
      i += 2;
      push('punct', start, i);
    } else if (PUNCT_ONE.has(ch)) {
      i++;
      push('punct', start, i);
    } else {
      // One whole character (a surrogate pair counts as one) that no grammar accepts.
      i += code >= 0xd800 && code <= 0xdbff && i + 1 < source.length ? 2 : 1;
      push('bad', start, i);
    }
  }
  const last = tokens[tokens.length - 1];
  const end = last ? last.end : 0;
  tokens.push({ type: 'eof', text: '', upper: '', start: end, end });
  return tokens;
}

/** Walks a token list; syntax errors quote the offending token and the text around it
 *  (from the token before it to the token after it), as DynamoDB does. */
class Cursor {
  pos = 0;
  constructor(
    readonly source: string,
    readonly tokens: Token[],
    readonly kind: ExpressionKind,
  ) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)] as Token;
  }

  next(): Token {
    const token = this.peek();
    if (token.type !== 'eof') this.pos++;
    return token;
  }

  isPunct(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.type === 'punct' && token.text === text;
  }

  isKeyword(word: string): boolean {
    const token = this.peek();
    return token.type === 'ident' && token.upper === word;
  }

  expectPunct(text: string): void {
    if (!this.isPunct(text)) this.fail();
    this.pos++;
  }

  fail(token: Token = this.peek()): never {
    const index = this.tokens.indexOf(token);
    const before = index > 0 ? this.tokens[index - 1] : undefined;
    const after = token.type === 'eof' ? undefined : this.tokens[index + 1];
    const start = before ? before.start : token.start;
    const end = after && after.type !== 'eof' ? after.end : token.end;
    const shown = token.type === 'eof' ? '<EOF>' : token.text;
    throw new ExpressionValidationError(
      `Invalid ${this.kind}: Syntax error; token: "${shown}", near: "${this.source.slice(start, end)}"`,
    );
  }
}

// =============================================================================================
// AST shared by the grammars

interface NameRef {
  ref: string;
}
type PathSegment = string | number | NameRef;

interface PathNode {
  t: 'path';
  segments: PathSegment[];
  /** The resolved path when no segment is a #name (reused by every binding). */
  literal: DocumentPath | undefined;
  paren?: boolean;
}
interface ValueNode {
  t: 'value';
  ref: string;
  paren?: boolean;
}
interface FunctionNode {
  t: 'fn';
  name: string;
  args: OperandNode[];
  paren?: boolean;
}
type OperandNode = PathNode | ValueNode | FunctionNode;

type Comparator = '=' | '<>' | '<' | '<=' | '>' | '>=';
const COMPARATORS = new Set<string>(['=', '<>', '<', '<=', '>', '>=']);

interface CompareNode {
  t: 'cmp';
  op: Comparator;
  a: OperandNode;
  b: OperandNode;
  paren?: boolean;
}
interface BetweenNode {
  t: 'between';
  a: OperandNode;
  lo: OperandNode;
  hi: OperandNode;
  paren?: boolean;
}
interface InNode {
  t: 'in';
  a: OperandNode;
  list: OperandNode[];
  paren?: boolean;
}
interface LogicNode {
  t: 'and' | 'or';
  a: ConditionNode;
  b: ConditionNode;
  paren?: boolean;
}
interface NotNode {
  t: 'not';
  a: ConditionNode;
  paren?: boolean;
}
type ConditionNode = CompareNode | BetweenNode | InNode | LogicNode | NotNode | FunctionNode;
type AnyNode = ConditionNode | OperandNode;

/** Input-independent errors found while parsing, reported ahead of any that depend on the inputs. */
interface StaticErrors {
  parens?: string;
  unknownFunction?: string;
  misusedFunction?: string;
  reserved?: string;
  section?: string;
}

function reservedMessage(name: string): string {
  return `Attribute name is a reserved keyword; reserved keyword: ${name}`;
}

function makePath(segments: PathSegment[]): PathNode {
  const literal = segments.every((s) => typeof s !== 'object') ? (segments as (string | number)[]) : undefined;
  return { t: 'path', segments, literal };
}

/** Path rules common to the grammars: first segment a name or #name, then `.name`, `.#name`, `[n]`. */
function parsePathTail(cursor: Cursor, first: PathSegment, identifier: () => string | NameRef): PathNode {
  const segments: PathSegment[] = [first];
  for (;;) {
    if (cursor.isPunct('[')) {
      cursor.next();
      const index = cursor.next();
      if (index.type !== 'int') cursor.fail(index);
      cursor.expectPunct(']');
      segments.push(Number(index.text));
    } else if (cursor.isPunct('.')) {
      cursor.next();
      segments.push(identifier());
    } else {
      return makePath(segments);
    }
  }
}

// =============================================================================================
// Condition grammar (ConditionExpression, FilterExpression, KeyConditionExpression)

const CONDITION_KEYWORDS = new Set(['AND', 'OR', 'NOT', 'BETWEEN', 'IN']);
/** Function name -> number of operands (a Map, so names like 'constructor' are not found on a prototype). */
const CONDITION_FUNCTIONS = new Map<string, number>([
  ['attribute_exists', 1],
  ['attribute_not_exists', 1],
  ['attribute_type', 2],
  ['begins_with', 2],
  ['contains', 2],
  ['size', 1],
]);
const MAX_IN_OPERANDS = 100;

function isCondition(node: AnyNode): node is Exclude<ConditionNode, FunctionNode> {
  return node.t === 'cmp' || node.t === 'between' || node.t === 'in' || node.t === 'and' || node.t === 'or' || node.t === 'not';
}

class ConditionParser {
  readonly errors: StaticErrors = {};
  private readonly cursor: Cursor;

  constructor(source: string, kind: ExpressionKind) {
    this.cursor = new Cursor(source, tokenize(source), kind);
  }

  usesNoInputs(): boolean {
    return usesNoInputs(this.cursor);
  }

  parse(): ConditionNode {
    const node = this.parseOr(false) as ConditionNode;
    if (this.cursor.peek().type !== 'eof') this.cursor.fail();
    return node;
  }

  // OR binds loosest, then AND, then NOT; comparisons bind tighter than all three.
  private parseOr(inParens: boolean): AnyNode {
    let left = this.parseAnd(inParens);
    while (this.cursor.isKeyword('OR')) {
      this.cursor.next();
      left = { t: 'or', a: left as ConditionNode, b: this.parseAnd(false) as ConditionNode };
    }
    return left;
  }

  private parseAnd(inParens: boolean): AnyNode {
    let left = this.parseNot(inParens);
    while (this.cursor.isKeyword('AND')) {
      this.cursor.next();
      left = { t: 'and', a: left as ConditionNode, b: this.parseNot(false) as ConditionNode };
    }
    return left;
  }

  private parseNot(inParens: boolean): AnyNode {
    if (this.cursor.isKeyword('NOT')) {
      this.cursor.next();
      return { t: 'not', a: this.parseComparison(false) as ConditionNode };
    }
    return this.parseComparison(inParens);
  }

  /**
   * One condition, or — only as the whole content of a parenthesis — a bare operand, since
   * `(a) = :v` and `(a = :v)` both open with `(` and only what follows `)` tells them apart.
   */
  private parseComparison(operandAllowed: boolean): AnyNode {
    const cursor: Cursor = this.cursor;
    const left = this.parsePrimary();
    const token = cursor.peek();
    const isComparator = token.type === 'punct' && COMPARATORS.has(token.text);
    if (isComparator || cursor.isKeyword('BETWEEN') || cursor.isKeyword('IN')) {
      if (isCondition(left)) cursor.fail(token);
      cursor.next();
      if (isComparator) {
        const right = this.parseOperand();
        this.checkOperandUse([left, right]);
        return { t: 'cmp', op: token.text as Comparator, a: left, b: right };
      }
      if (token.upper === 'BETWEEN') {
        const lo = this.parseOperand();
        if (!cursor.isKeyword('AND')) cursor.fail();
        cursor.next();
        const hi = this.parseOperand();
        this.checkOperandUse([left, lo, hi]);
        return { t: 'between', a: left, lo, hi };
      }
      cursor.expectPunct('(');
      const list = [this.parseOperand()];
      while (cursor.isPunct(',')) {
        cursor.next();
        list.push(this.parseOperand());
      }
      cursor.expectPunct(')');
      this.checkOperandUse([left, ...list]);
      return { t: 'in', a: left, list };
    }
    if (isCondition(left)) return left;
    if (operandAllowed && cursor.isPunct(')')) return left;
    if (left.t === 'fn') {
      if (left.name === 'size') this.misused('size');
      return left;
    }
    return cursor.fail(token);
  }

  private parsePrimary(): AnyNode {
    if (!this.cursor.isPunct('(')) return this.parseBareOperand();
    this.cursor.next();
    const inner = this.parseOr(true);
    this.cursor.expectPunct(')');
    return this.wrapParens(inner);
  }

  private parseOperand(): OperandNode {
    if (!this.cursor.isPunct('(')) return this.parseBareOperand();
    this.cursor.next();
    const inner = this.parseOperand();
    this.cursor.expectPunct(')');
    return this.wrapParens(inner);
  }

  private wrapParens<T extends AnyNode>(node: T): T {
    if (node.paren) this.errors.parens ??= 'The expression has redundant parentheses;';
    node.paren = true;
    return node;
  }

  private parseBareOperand(): OperandNode {
    const cursor: Cursor = this.cursor;
    const token = cursor.peek();
    if (token.type === 'value') {
      cursor.next();
      return { t: 'value', ref: token.text };
    }
    if (token.type === 'name') {
      cursor.next();
      return parsePathTail(cursor, { ref: token.text }, () => this.pathIdentifier());
    }
    if (token.type !== 'ident' || CONDITION_KEYWORDS.has(token.upper)) return cursor.fail(token);
    if (cursor.isPunct('(', 1)) return this.parseFunction();
    return parsePathTail(cursor, this.pathIdentifier(), () => this.pathIdentifier());
  }

  private pathIdentifier(): string | NameRef {
    const token = this.cursor.next();
    if (token.type === 'name') return { ref: token.text };
    // Attribute names in these grammars start with a letter; `_` may start only a function name.
    if (token.type !== 'ident' || CONDITION_KEYWORDS.has(token.upper) || token.text.charCodeAt(0) === 95) {
      return this.cursor.fail(token);
    }
    if (isReservedWord(token.text)) this.errors.reserved ??= reservedMessage(token.text);
    return token.text;
  }

  private parseFunction(): FunctionNode {
    const cursor: Cursor = this.cursor;
    const name = cursor.next().text;
    cursor.expectPunct('(');
    const args = [this.parseOperand()];
    while (cursor.isPunct(',')) {
      cursor.next();
      args.push(this.parseOperand());
    }
    cursor.expectPunct(')');
    this.checkOperandUse(args);
    if (!CONDITION_FUNCTIONS.has(name)) this.errors.unknownFunction ??= `Invalid function name; function: ${name}`;
    return { t: 'fn', name, args };
  }

  /** Only size() may stand where a value is compared or passed. */
  private checkOperandUse(operands: OperandNode[]): void {
    for (const operand of operands) {
      if (operand.t === 'fn' && operand.name !== 'size') this.misused(operand.name);
    }
  }

  private misused(name: string): void {
    this.errors.misusedFunction ??= `The function is not allowed to be used this way in an expression; function: ${name}`;
  }
}

// =============================================================================================
// Binding: resolve #names and :values for one request

/** Errors that depend on the request's names and values, by category. */
interface InputErrors {
  attrName?: string;
  attrVal?: string;
  operand?: string;
  distinct?: string;
  function?: string;
  pathOverlap?: string;
  pathConflict?: string;
}

function pathString(path: readonly (string | number | undefined)[]): string {
  return `[${path.map((piece) => (typeof piece === 'number' ? `[${piece}]` : piece)).join(', ')}]`;
}

class Binder {
  errors: InputErrors = {};
  private readonly names: Record<string, string>;
  private readonly values: Record<string, AttributeValue>;

  constructor(
    inputs: ExpressionInputs,
    private readonly usage: ExpressionUsage,
    /** The condition grammar reports undefined names and values as one category (first one wins). */
    private readonly sharedNameValueCategory: boolean,
  ) {
    this.names = inputs.names ?? {};
    this.values = inputs.values ?? {};
  }

  path(node: PathNode): DocumentPath {
    if (node.literal) return node.literal;
    return node.segments.map((segment) => (typeof segment === 'object' ? this.name(segment.ref) : segment));
  }

  private name(ref: string): string {
    const name = getOwn(this.names, ref);
    if (name === undefined || name === '') {
      if (!this.sharedNameValueCategory || this.errors.attrVal === undefined) {
        this.errors.attrName ??= `An expression attribute name used in the document path is not defined; attribute name: ${ref}`;
      }
      return '';
    }
    this.usage.useName(ref);
    return name;
  }

  value(ref: string): AttributeValue {
    const value = getOwn(this.values, ref);
    if (value === undefined) {
      if (!this.sharedNameValueCategory || this.errors.attrName === undefined) {
        this.errors.attrVal ??= `An expression attribute value used in expression is not defined; attribute value: ${ref}`;
      }
      return { NULL: true };
    }
    this.usage.useValue(ref);
    return value;
  }
}

function throwFirst(kind: ExpressionKind, errors: object, order: readonly string[]): void {
  const record = errors as Record<string, string | undefined>;
  for (const category of order) {
    const message = record[category];
    if (message !== undefined) throw new ExpressionValidationError(`Invalid ${kind}: ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Bound conditions

type BoundOperand = { k: 'path'; p: DocumentPath } | { k: 'value'; v: AttributeValue } | { k: 'size'; a: BoundOperand };

type BoundCondition =
  | { k: 'and' | 'or'; a: BoundCondition; b: BoundCondition }
  | { k: 'not'; a: BoundCondition }
  | { k: 'cmp'; op: Comparator; a: BoundOperand; b: BoundOperand }
  | { k: 'between'; a: BoundOperand; lo: BoundOperand; hi: BoundOperand }
  | { k: 'in'; a: BoundOperand; list: BoundOperand[] }
  | { k: 'fn'; name: string; args: BoundOperand[] };

/** A bound operand plus what the checks need: its static type (a value's own, a function's result). */
interface Typed {
  bound: BoundOperand;
  type: AttributeType | undefined;
  /** The value itself when the operand is a :value. */
  immediate: AttributeValue | undefined;
}

const LEAF_ERROR_ORDER = ['attrName', 'attrVal', 'operand', 'distinct', 'function'] as const;
const VALID_TYPE_NAMES = new Set(['S', 'N', 'B', 'NULL', 'SS', 'BOOL', 'L', 'BS', 'NS', 'M']);

class ConditionBinder extends Binder {
  constructor(
    inputs: ExpressionInputs,
    usage: ExpressionUsage,
    private readonly kind: ExpressionKind,
  ) {
    super(inputs, usage, true);
  }

  condition(node: ConditionNode): BoundCondition {
    switch (node.t) {
      case 'and':
      case 'or':
        return { k: node.t, a: this.condition(node.a), b: this.condition(node.b) };
      case 'not':
        return { k: 'not', a: this.condition(node.a) };
      default:
        return this.leaf(node);
    }
  }

  /** DynamoDB reports the first leaf condition (comparison or function) that has an input error. */
  private leaf(node: CompareNode | BetweenNode | InNode | FunctionNode): BoundCondition {
    this.errors = {};
    let bound: BoundCondition;
    if (node.t === 'cmp') {
      const a = this.operand(node.a);
      const b = this.operand(node.b);
      this.checkDistinct(node.op, [a, b]);
      bound = { k: 'cmp', op: node.op, a: a.bound, b: b.bound };
    } else if (node.t === 'between') {
      const a = this.operand(node.a);
      const lo = this.operand(node.lo);
      const hi = this.operand(node.hi);
      this.checkBetween(lo, hi);
      bound = { k: 'between', a: a.bound, lo: lo.bound, hi: hi.bound };
    } else if (node.t === 'in') {
      const a = this.operand(node.a);
      const list = node.list.map((item) => this.operand(item).bound);
      if (list.length > MAX_IN_OPERANDS) {
        this.errors.operand ??= `The IN operator is provided with too many operands; number of operands: ${list.length}`;
      }
      bound = { k: 'in', a: a.bound, list };
    } else {
      const args = node.args.map((arg) => this.operand(arg));
      this.checkFunction(node.name, args);
      bound = { k: 'fn', name: node.name, args: args.map((arg) => arg.bound) };
    }
    throwFirst(this.kind, this.errors, LEAF_ERROR_ORDER);
    return bound;
  }

  private operand(node: OperandNode): Typed {
    if (node.t === 'path') return { bound: { k: 'path', p: this.path(node) }, type: undefined, immediate: undefined };
    if (node.t === 'value') {
      const v = this.value(node.ref);
      return { bound: { k: 'value', v }, type: typeOf(v), immediate: v };
    }
    // Only size() reaches here: any other function in a value position is a parse error.
    const args = node.args.map((arg) => this.operand(arg));
    const type = this.checkFunction(node.name, args);
    return { bound: { k: 'size', a: (args[0] as Typed).bound }, type, immediate: undefined };
  }

  private checkFunction(name: string, args: Typed[]): AttributeType | undefined {
    const errors = this.errors;
    if (errors.operand !== undefined) return undefined;
    if (CONDITION_FUNCTIONS.get(name) !== args.length) {
      errors.operand = `Incorrect number of operands for operator or function; operator or function: ${name}, number of operands: ${args.length}`;
      return undefined;
    }
    this.checkDistinct(name, args);
    if (errors.function !== undefined) return undefined;
    const incorrect = (type: string): undefined => {
      errors.function = `Incorrect operand type for operator or function; operator or function: ${name}, operand type: ${type}`;
      return undefined;
    };
    const first = args[0] as Typed;
    switch (name) {
      case 'attribute_exists':
      case 'attribute_not_exists':
        if (first.bound.k !== 'path') errors.function = `Operator or function requires a document path; operator or function: ${name}`;
        return undefined;
      case 'begins_with':
        for (const arg of args) if (arg.type !== undefined && arg.type !== 'S' && arg.type !== 'B') return incorrect(arg.type);
        return 'BOOL';
      case 'attribute_type': {
        const typeArg = args[1] as Typed;
        if (typeArg.type !== 'S') return incorrect(typeArg.type ?? '{NS,SS,L,BS,N,M,B,BOOL,NULL,S}');
        const typeName = (typeArg.immediate as { S: string }).S;
        if (!VALID_TYPE_NAMES.has(typeName)) {
          errors.function = `Invalid attribute type name found; type: ${typeName}, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}`;
        }
        return 'BOOL';
      }
      case 'size':
        if (first.type === 'N' || first.type === 'BOOL' || first.type === 'NULL') return incorrect(first.type);
        return 'N';
      default:
        return 'BOOL';
    }
  }

  private checkDistinct(operator: string, args: Typed[]): void {
    if (this.errors.distinct !== undefined || args.length !== 2) return;
    const [a, b] = args as [Typed, Typed];
    if (a.bound.k !== 'path' || b.bound.k !== 'path') return;
    const p = a.bound.p;
    const q = b.bound.p;
    if (p.length !== q.length || !p.every((piece, i) => piece === q[i])) return;
    this.errors.distinct = `The first operand must be distinct from the remaining operands for this operator or function; operator: ${operator}, first operand: ${pathString(p)}`;
  }

  private checkBetween(lo: Typed, hi: Typed): void {
    if (this.errors.function !== undefined || !lo.immediate || !hi.immediate) return;
    const loType = lo.type as AttributeType;
    const hiType = hi.type as AttributeType;
    const bounds = `lower bound operand: AttributeValue: {${loType}:${shown(lo.immediate)}}, upper bound operand: AttributeValue: {${hiType}:${shown(hi.immediate)}}`;
    if (loType !== hiType) {
      this.errors.function = `The BETWEEN operator requires same data type for lower and upper bounds; ${bounds}`;
    } else if (isScalar(lo.immediate) && compareValues(lo.immediate, hi.immediate) > 0) {
      this.errors.function = `The BETWEEN operator requires upper bound to be greater than or equal to lower bound; ${bounds}`;
    }
  }
}

function shown(value: AttributeValue): string {
  return String(Object.values(value)[0]);
}

function isScalar(value: AttributeValue): boolean {
  return 'S' in value || 'N' in value || 'B' in value;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** The value at a document path, or undefined where any step is missing or of the wrong type. */
export function resolvePath(item: Item | undefined, path: DocumentPath): AttributeValue | undefined {
  if (!item) return undefined;
  let current = getOwn(item, path[0] as string);
  for (let i = 1; i < path.length && current !== undefined; i++) {
    const piece = path[i] as string | number;
    if (typeof piece === 'number') current = 'L' in current ? current.L[piece] : undefined;
    else current = 'M' in current ? getOwn(current.M, piece) : undefined;
  }
  return current;
}

function byteLength(value: AttributeValue): number | undefined {
  if ('S' in value) return Buffer.byteLength(value.S, 'utf8');
  if ('B' in value) return Buffer.byteLength(value.B, 'base64');
  if ('SS' in value) return value.SS.length;
  if ('NS' in value) return value.NS.length;
  if ('BS' in value) return value.BS.length;
  if ('L' in value) return value.L.length;
  if ('M' in value) return Object.keys(value.M).length;
  return undefined;
}

function operandValue(operand: BoundOperand, item: Item | undefined): AttributeValue | undefined {
  if (operand.k === 'path') return resolvePath(item, operand.p);
  if (operand.k === 'value') return operand.v;
  const of = operandValue(operand.a, item);
  const size = of === undefined ? undefined : byteLength(of);
  return size === undefined ? undefined : { N: String(size) };
}

function sameScalarType(a: AttributeValue, b: AttributeValue): boolean {
  return ('S' in a && 'S' in b) || ('N' in a && 'N' in b) || ('B' in a && 'B' in b);
}

function compareWith(op: Comparator, a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (op === '=') return a !== undefined && b !== undefined && valuesEqual(a, b);
  if (op === '<>') return !(a !== undefined && b !== undefined && valuesEqual(a, b));
  if (a === undefined || b === undefined || !sameScalarType(a, b)) return false;
  const order = compareValues(a, b);
  switch (op) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    default:
      return order >= 0;
  }
}

function bytesOf(base64: string): Buffer {
  return Buffer.from(base64, 'base64');
}

function containsValue(haystack: AttributeValue, needle: AttributeValue): boolean {
  if ('S' in haystack) return 'S' in needle && haystack.S.includes(needle.S);
  if ('B' in haystack) return 'B' in needle && bytesOf(haystack.B).includes(bytesOf(needle.B));
  if ('SS' in haystack) return 'S' in needle && haystack.SS.includes(needle.S);
  if ('NS' in haystack) return 'N' in needle && haystack.NS.some((n) => valuesEqual({ N: n }, needle));
  if ('BS' in haystack) return 'B' in needle && haystack.BS.some((b) => valuesEqual({ B: b }, needle));
  if ('L' in haystack) return haystack.L.some((element) => valuesEqual(element, needle));
  return false;
}

function beginsWith(value: AttributeValue, prefix: AttributeValue): boolean {
  if ('S' in value) return 'S' in prefix && value.S.startsWith(prefix.S);
  if ('B' in value && 'B' in prefix) {
    const bytes = bytesOf(value.B);
    const start = bytesOf(prefix.B);
    return start.length <= bytes.length && bytes.subarray(0, start.length).equals(start);
  }
  return false;
}

function evaluate(condition: BoundCondition, item: Item | undefined): boolean {
  switch (condition.k) {
    case 'and':
      return evaluate(condition.a, item) && evaluate(condition.b, item);
    case 'or':
      return evaluate(condition.a, item) || evaluate(condition.b, item);
    case 'not':
      return !evaluate(condition.a, item);
    case 'cmp':
      return compareWith(condition.op, operandValue(condition.a, item), operandValue(condition.b, item));
    case 'between': {
      const value = operandValue(condition.a, item);
      const lo = operandValue(condition.lo, item);
      const hi = operandValue(condition.hi, item);
      if (value === undefined || lo === undefined || hi === undefined) return false;
      if (!sameScalarType(value, lo) || !sameScalarType(value, hi)) return false;
      return compareValues(lo, value) <= 0 && compareValues(value, hi) <= 0;
    }
    case 'in': {
      const value = operandValue(condition.a, item);
      if (value === undefined) return false;
      return condition.list.some((candidate) => {
        const other = operandValue(candidate, item);
        return other !== undefined && valuesEqual(value, other);
      });
    }
    case 'fn':
      return evaluateFunction(condition.name, condition.args, item);
  }
}

function evaluateFunction(name: string, args: BoundOperand[], item: Item | undefined): boolean {
  const first = operandValue(args[0] as BoundOperand, item);
  switch (name) {
    case 'attribute_exists':
      return first !== undefined;
    case 'attribute_not_exists':
      return first === undefined;
    default: {
      const second = operandValue(args[1] as BoundOperand, item);
      if (first === undefined || second === undefined) return false;
      if (name === 'attribute_type') return 'S' in second && typeOf(first) === second.S;
      if (name === 'begins_with') return beginsWith(first, second);
      return containsValue(first, second);
    }
  }
}

// =============================================================================================
// Parse cache: each expression text is parsed once per kind.

type Parsed<T> = { ast: T; error?: undefined } | { ast?: undefined; error: string };

const CACHE_LIMIT = 1000;
/** DynamoDB's limit on an expression string, in UTF-8 bytes as sent (names and values not substituted). */
const MAX_EXPRESSION_BYTES = 4096;
// One map per kind, so a lookup needs no composite key built per request.
const parseCaches = new Map<ExpressionKind, Map<string, Parsed<unknown>>>();

function cachedParse<T>(kind: ExpressionKind, expression: string, parse: () => T): T {
  let cache = parseCaches.get(kind);
  if (cache === undefined) {
    cache = new Map();
    parseCaches.set(kind, cache);
  }
  let entry = cache.get(expression) as Parsed<T> | undefined;
  if (entry === undefined) {
    const size = expression.length > MAX_EXPRESSION_BYTES / 3 ? Buffer.byteLength(expression) : expression.length;
    if (expression === '') entry = { error: `Invalid ${kind}: The expression can not be empty;` };
    else if (size > MAX_EXPRESSION_BYTES) {
      entry = { error: `Invalid ${kind}: Expression size has exceeded the maximum allowed size; expression size: ${size}` };
    } else {
      try {
        entry = { ast: parse() };
      } catch (error) {
        if (!(error instanceof ExpressionValidationError)) throw error;
        entry = { error: error.message };
      }
    }
    // A full cache drops its oldest entry; an engine uses a few dozen expressions, so this only
    // bounds memory against a client that generates expression text.
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(expression, entry);
  }
  if (entry.error !== undefined) throw new ExpressionValidationError(entry.error);
  return entry.ast as T;
}

/** Number of parsed expressions held for one kind (for tests and diagnostics). */
export function parseCacheSize(kind: ExpressionKind): number {
  return parseCaches.get(kind)?.size ?? 0;
}

/** True when the expression refers to no #name or :value, so binding it gives the same result
 *  for every request and can be kept with the parse. */
function usesNoInputs(cursor: Cursor): boolean {
  return cursor.tokens.every((token) => token.type !== 'name' && token.type !== 'value');
}

interface ParsedCondition {
  root: ConditionNode;
  staticError: string | undefined;
  inputFree: boolean;
  /** The bound form and its Condition, kept once made when the expression uses no inputs. */
  bound?: BoundCondition;
  condition?: Condition;
}

const CONDITION_STATIC_ORDER = ['parens', 'unknownFunction', 'misusedFunction', 'reserved'] as const;

function parseConditionText(expression: string, kind: ExpressionKind): ParsedCondition {
  const parser = new ConditionParser(expression, kind);
  const root = parser.parse();
  const errors = parser.errors;
  const category = CONDITION_STATIC_ORDER.find((name) => errors[name] !== undefined);
  return {
    root,
    staticError: category ? `Invalid ${kind}: ${errors[category] as string}` : undefined,
    inputFree: parser.usesNoInputs(),
  };
}

function parsedCondition(expression: string, kind: ExpressionKind): ParsedCondition {
  const parsed = cachedParse(kind, expression, () => parseConditionText(expression, kind));
  if (parsed.staticError !== undefined) throw new ExpressionValidationError(parsed.staticError);
  return parsed;
}

function bindCondition(parsed: ParsedCondition, inputs: ExpressionInputs, usage: ExpressionUsage, kind: ExpressionKind): BoundCondition {
  if (parsed.bound) return parsed.bound;
  const bound = new ConditionBinder(inputs, usage, kind).condition(parsed.root);
  if (parsed.inputFree) parsed.bound = bound;
  return bound;
}

// =============================================================================================
// Public: conditions and filters

export interface Condition {
  test(item: Item | undefined): boolean;
}

export function parseCondition(
  expression: string,
  inputs: ExpressionInputs,
  usage: ExpressionUsage,
  kind: 'ConditionExpression' | 'FilterExpression',
): Condition {
  const parsed = parsedCondition(expression, kind);
  if (parsed.condition) return parsed.condition;
  const bound = bindCondition(parsed, inputs, usage, kind);
  const condition: Condition = { test: (item) => evaluate(bound, item) };
  if (parsed.inputFree) parsed.condition = condition;
  return condition;
}

// =============================================================================================
// Public: key conditions

export interface KeyCondition {
  hash: { name: string; value: AttributeValue };
  range?: { name: string; op: '=' | '<' | '<=' | '>' | '>=' | 'BETWEEN' | 'begins_with'; values: AttributeValue[] };
}
type RangeOp = NonNullable<KeyCondition['range']>['op'];

const FLIPPED: Record<string, RangeOp> = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const NON_KEY_FUNCTIONS = new Set(['attribute_exists', 'attribute_not_exists', 'attribute_type', 'contains']);

function keyError(message: string): never {
  throw new ExpressionValidationError(message);
}

/** Splits a key condition into one condition per key attribute, with DynamoDB's rules and wording. */
function collectKeyConditions(node: BoundCondition, found: Map<string, { op: RangeOp; values: AttributeValue[] }>): void {
  if (node.k === 'or' || node.k === 'not' || node.k === 'in') keyError(`Invalid operator used in KeyConditionExpression: ${node.k.toUpperCase()}`);
  if (node.k === 'cmp' && node.op === '<>') keyError('Invalid operator used in KeyConditionExpression: <>');
  if (node.k === 'fn' && NON_KEY_FUNCTIONS.has(node.name)) keyError(`Invalid operator used in KeyConditionExpression: ${node.name}`);
  if (node.k === 'and') {
    collectKeyConditions(node.a, found);
    collectKeyConditions(node.b, found);
    return;
  }
  const args = node.k === 'cmp' ? [node.a, node.b] : node.k === 'between' ? [node.a, node.lo, node.hi] : (node as { args: BoundOperand[] }).args;
  const label = node.k === 'between' ? 'BETWEEN' : 'begins_with';
  if (node.k !== 'cmp' && (args[0] as BoundOperand).k !== 'path') {
    keyError(`Invalid condition in KeyConditionExpression: ${label} operator must have the key attribute as its first operand`);
  }
  let name: string | undefined;
  let nameAt = 0;
  args.forEach((arg, i) => {
    if (arg.k === 'path') {
      if (name !== undefined) keyError('Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition');
      if (arg.p.length > 1) keyError('KeyConditionExpressions cannot have conditions on nested attributes');
      name = arg.p[0] as string;
      nameAt = i;
    } else if (arg.k === 'size') {
      keyError('KeyConditionExpressions cannot contain nested operations');
    }
  });
  if (name === undefined) keyError('Invalid condition in KeyConditionExpression: No key attribute specified');
  if (found.has(name)) keyError('KeyConditionExpressions must only contain one condition per key');
  const values = args.filter((_, i) => i !== nameAt).map((arg) => (arg as { v: AttributeValue }).v);
  const op: RangeOp = node.k === 'cmp' ? (nameAt === 0 ? node.op : FLIPPED[node.op]) as RangeOp : node.k === 'between' ? 'BETWEEN' : 'begins_with';
  found.set(name, { op, values });
}

export function parseKeyCondition(
  expression: string,
  inputs: ExpressionInputs,
  usage: ExpressionUsage,
  key: { hash: string; range?: string },
): KeyCondition {
  const bound = bindCondition(parsedCondition(expression, 'KeyConditionExpression'), inputs, usage, 'KeyConditionExpression');
  const found = new Map<string, { op: RangeOp; values: AttributeValue[] }>();
  collectKeyConditions(bound, found);
  if (found.size !== 1 && found.size !== 2) keyError('Conditions can be of length 1 or 2 only');
  if (key.range === undefined && found.size > 1) keyError('Query key condition not supported');
  const hash = found.get(key.hash);
  if (!hash) keyError(`Query condition missed key schema element: ${key.hash}`);
  if (hash.op !== '=') keyError('Query key condition not supported');
  const range = key.range === undefined ? undefined : found.get(key.range);
  if (key.range !== undefined && !range && found.size > 1) keyError(`Query condition missed key schema element: ${key.range}`);
  const result: KeyCondition = { hash: { name: key.hash, value: hash.values[0] as AttributeValue } };
  if (range && key.range !== undefined) result.range = { name: key.range, op: range.op, values: range.values };
  return result;
}

// =============================================================================================
// Update grammar

type UpdateOperand = PathNode | ValueNode | UpdateFunction;
interface UpdateFunction {
  t: 'fn';
  name: string;
  args: UpdateOperand[];
}
type SetValue = UpdateOperand | { t: 'arith'; op: '+' | '-'; a: UpdateOperand; b: UpdateOperand };
type UpdateAction =
  | { t: 'set'; path: PathNode; value: SetValue }
  | { t: 'remove'; path: PathNode }
  | { t: 'add' | 'delete'; path: PathNode; value: ValueNode };

const SECTIONS = new Set(['SET', 'REMOVE', 'ADD', 'DELETE']);
const UPDATE_FUNCTIONS = new Map<string, number>([
  ['if_not_exists', 2],
  ['list_append', 2],
  ['+', 2],
  ['-', 2],
]);

class UpdateParser {
  readonly errors: StaticErrors = {};
  private readonly cursor: Cursor;

  constructor(source: string) {
    this.cursor = new Cursor(source, tokenize(source), 'UpdateExpression');
  }

  usesNoInputs(): boolean {
    return usesNoInputs(this.cursor);
  }

  parse(): UpdateAction[] {
    const cursor: Cursor = this.cursor;
    const actions: UpdateAction[] = [];
    const seen = new Set<string>();
    do {
      const token = cursor.peek();
      if (token.type !== 'ident' || !SECTIONS.has(token.upper)) cursor.fail(token);
      cursor.next();
      for (;;) {
        actions.push(this.action(token.upper));
        if (!cursor.isPunct(',')) break;
        cursor.next();
      }
      if (seen.has(token.upper)) this.errors.section ??= `The "${token.upper}" section can only be used once in an update expression;`;
      seen.add(token.upper);
    } while (cursor.peek().type !== 'eof');
    return actions;
  }

  private action(section: string): UpdateAction {
    const path = this.path();
    if (section === 'SET') {
      this.cursor.expectPunct('=');
      return { t: 'set', path, value: this.setValue() };
    }
    if (section === 'REMOVE') return { t: 'remove', path };
    const token = this.cursor.next();
    if (token.type !== 'value') this.cursor.fail(token);
    return { t: section === 'ADD' ? 'add' : 'delete', path, value: { t: 'value', ref: token.text } };
  }

  private setValue(): SetValue {
    const cursor: Cursor = this.cursor;
    if (cursor.isPunct('(')) {
      // `(a + b)` is a parenthesised value; `(a) + b` starts with a parenthesised operand.
      cursor.next();
      const inner = this.arithmetic();
      cursor.expectPunct(')');
      if (inner.t !== 'arith' && (cursor.isPunct('+') || cursor.isPunct('-'))) return this.arithmeticAfter(inner);
      return inner;
    }
    return this.arithmetic();
  }

  private arithmetic(): SetValue {
    return this.arithmeticAfter(this.operand());
  }

  private arithmeticAfter(left: UpdateOperand): SetValue {
    const cursor: Cursor = this.cursor;
    if (!cursor.isPunct('+') && !cursor.isPunct('-')) return left;
    const op = cursor.next().text as '+' | '-';
    return { t: 'arith', op, a: left, b: this.operand() };
  }

  private operand(): UpdateOperand {
    const cursor: Cursor = this.cursor;
    if (cursor.isPunct('(')) {
      cursor.next();
      const inner = this.bareOperand();
      cursor.expectPunct(')');
      return inner;
    }
    return this.bareOperand();
  }

  private bareOperand(): UpdateOperand {
    const cursor: Cursor = this.cursor;
    const token = cursor.peek();
    if (token.type === 'value') {
      cursor.next();
      return { t: 'value', ref: token.text };
    }
    if (token.type === 'ident' && !SECTIONS.has(token.upper) && cursor.isPunct('(', 1)) {
      cursor.next();
      cursor.next();
      const args = [this.operand()];
      while (cursor.isPunct(',')) {
        cursor.next();
        args.push(this.operand());
      }
      cursor.expectPunct(')');
      if (token.text !== 'if_not_exists' && token.text !== 'list_append') {
        this.errors.unknownFunction ??= `Invalid function name; function: ${token.text}`;
      }
      return { t: 'fn', name: token.text, args };
    }
    return this.path();
  }

  private path(): PathNode {
    return parsePathTail(this.cursor, this.identifier(), () => this.identifier());
  }

  private identifier(): string | NameRef {
    const token = this.cursor.next();
    if (token.type === 'name') return { ref: token.text };
    if (token.type !== 'ident' || SECTIONS.has(token.upper)) return this.cursor.fail(token);
    if (isReservedWord(token.text)) this.errors.reserved ??= reservedMessage(token.text);
    return token.text;
  }
}

// ---------------------------------------------------------------------------------------------
// Update binding

type BoundSetValue =
  | { k: 'path'; p: DocumentPath }
  | { k: 'value'; v: AttributeValue }
  | { k: 'if_not_exists'; p: DocumentPath; fallback: BoundSetValue }
  | { k: 'list_append' | '+' | '-'; a: BoundSetValue; b: BoundSetValue };

type BoundAction =
  | { k: 'set'; p: DocumentPath; v: BoundSetValue }
  | { k: 'remove'; p: DocumentPath }
  | { k: 'add' | 'delete'; p: DocumentPath; v: AttributeValue };

const UPDATE_ERROR_ORDER = ['attrName', 'attrVal', 'pathOverlap', 'pathConflict', 'operand', 'function'] as const;
const OPERAND_TYPE_NAMES: Partial<Record<AttributeType, string>> = {
  S: 'STRING',
  N: 'NUMBER',
  B: 'BINARY',
  NULL: 'NULL',
  BOOL: 'BOOLEAN',
  L: 'LIST',
  M: 'MAP',
};

/** Records each path an expression writes, failing on two that overlap or conflict. */
class PathChecker {
  private readonly seen: DocumentPath[] = [];
  constructor(private readonly errors: InputErrors) {}

  add(path: DocumentPath): void {
    if (this.errors.pathOverlap !== undefined) return;
    for (const earlier of this.seen) {
      this.compare(earlier, path);
      if (this.errors.pathOverlap !== undefined) return;
    }
    this.seen.push(path);
  }

  private compare(one: DocumentPath, two: DocumentPath): void {
    const shared = Math.min(one.length, two.length);
    for (let i = 0; i < shared; i++) {
      if (typeof one[i] !== typeof two[i]) {
        this.errors.pathConflict = `Two document paths conflict with each other; must remove or rewrite one of these paths; path one: ${pathString(one)}, path two: ${pathString(two)}`;
        return;
      }
      if (one[i] !== two[i]) return;
    }
    this.errors.pathOverlap = `Two document paths overlap with each other; must remove or rewrite one of these paths; path one: ${pathString(one)}, path two: ${pathString(two)}`;
  }
}

class UpdateBinder extends Binder {
  private readonly paths = new PathChecker(this.errors);

  constructor(inputs: ExpressionInputs, usage: ExpressionUsage) {
    super(inputs, usage, false);
  }

  bind(actions: UpdateAction[]): BoundAction[] {
    const bound = actions.map((action): BoundAction => {
      const p = this.path(action.path);
      if (action.t === 'set') {
        const v = this.setValue(action.value);
        this.paths.add(p);
        return { k: 'set', p, v };
      }
      if (action.t === 'remove') {
        this.paths.add(p);
        return { k: 'remove', p };
      }
      const v = this.value(action.value.ref);
      this.paths.add(p);
      const operator = action.t === 'add' ? 'ADD' : 'DELETE';
      const type = typeOf(v);
      const typeName = OPERAND_TYPE_NAMES[type];
      if (typeName !== undefined && !(operator === 'ADD' && type === 'N')) {
        this.errors.operand ??= `Incorrect operand type for operator or function; operator: ${operator}, operand type: ${typeName}`;
      }
      return { k: action.t, p, v };
    });
    throwFirst('UpdateExpression', this.errors, UPDATE_ERROR_ORDER);
    return bound;
  }

  private setValue(node: SetValue): BoundSetValue {
    if (node.t === 'arith') return this.call(node.op, [node.a, node.b]);
    if (node.t === 'fn') return this.call(node.name, node.args);
    if (node.t === 'path') return { k: 'path', p: this.path(node) };
    return { k: 'value', v: this.value(node.ref) };
  }

  private call(name: string, argNodes: UpdateOperand[]): BoundSetValue {
    const args = argNodes.map((arg) => this.setValue(arg));
    this.checkFunction(name, args);
    const [a, b] = args as [BoundSetValue, BoundSetValue];
    if (name === 'if_not_exists') return { k: 'if_not_exists', p: a.k === 'path' ? a.p : [], fallback: b };
    return { k: name as 'list_append' | '+' | '-', a, b };
  }

  private checkFunction(name: string, args: BoundSetValue[]): void {
    const errors = this.errors;
    if (errors.function !== undefined) return;
    if (UPDATE_FUNCTIONS.get(name) !== args.length) {
      errors.function = `Incorrect number of operands for operator or function; operator or function: ${name}, number of operands: ${args.length}`;
      return;
    }
    if (name === 'if_not_exists') {
      if ((args[0] as BoundSetValue).k !== 'path') errors.function = `Operator or function requires a document path; operator or function: ${name}`;
      return;
    }
    const wanted: AttributeType = name === 'list_append' ? 'L' : 'N';
    for (const arg of args) {
      if (arg.k === 'value' && typeOf(arg.v) !== wanted) {
        errors.function = `Incorrect operand type for operator or function; operator or function: ${name}, operand type: ${typeOf(arg.v)}`;
        return;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Applying an update

const INCORRECT_TYPE = 'An operand in the update expression has an incorrect data type';
const INVALID_PATH = 'The document path provided in the update expression is invalid for update';
const MISSING_ATTRIBUTE = 'The provided expression refers to an attribute that does not exist in the item';

function setValueOf(value: BoundSetValue, item: Item): AttributeValue {
  switch (value.k) {
    case 'value':
      return value.v;
    case 'path': {
      const found = resolvePath(item, value.p);
      if (found === undefined) throw new ExpressionValidationError(MISSING_ATTRIBUTE);
      return found;
    }
    case 'if_not_exists':
      return resolvePath(item, value.p) ?? setValueOf(value.fallback, item);
    case 'list_append': {
      const a = setValueOf(value.a, item);
      if (!('L' in a)) throw new ExpressionValidationError(INCORRECT_TYPE);
      const b = setValueOf(value.b, item);
      if (!('L' in b)) throw new ExpressionValidationError(INCORRECT_TYPE);
      return { L: [...a.L, ...b.L] };
    }
    default: {
      const a = setValueOf(value.a, item);
      if (!('N' in a)) throw new ExpressionValidationError(INCORRECT_TYPE);
      const b = setValueOf(value.b, item);
      if (!('N' in b)) throw new ExpressionValidationError(INCORRECT_TYPE);
      return { N: addNumbers(a.N, b.N, value.k === '-') };
    }
  }
}

type Container = Record<string, AttributeValue> | (AttributeValue | undefined)[];

/**
 * Copy-on-write access to the containers of a new item: each map or list on the way to a
 * written path is copied once, so the caller's item is never changed. A removed list element
 * leaves a gap and a write past the end is held aside; both are settled at the end (gaps
 * closed, the held elements appended in index order), which is how every index in one
 * expression refers to the list as it was before. Holding them aside, rather than writing at
 * the index, keeps `SET l[4000000000] = :v` from making a list of that length.
 */
class ItemWriter {
  // Made on first use: most updates write top-level attributes only.
  private copied: Set<object> | undefined;
  private lists: Set<(AttributeValue | undefined)[]> | undefined;
  private appended: Map<(AttributeValue | undefined)[], { index: number; value: AttributeValue }[]> | undefined;

  constructor(readonly item: Item) {}

  /** The container that holds the last segment of `path`, or the invalid-path error. */
  parentOf(path: DocumentPath): Container {
    let container: Container = this.item;
    for (let i = 0; i < path.length - 1; i++) {
      const piece = path[i] as string | number;
      const child = this.read(container, piece);
      const wantList = typeof path[i + 1] === 'number';
      if (child === undefined || (wantList ? !('L' in child) : !('M' in child))) throw new ExpressionValidationError(INVALID_PATH);
      container = this.writable(container, piece, child);
    }
    return container;
  }

  read(container: Container, piece: string | number): AttributeValue | undefined {
    if (Array.isArray(container)) return typeof piece === 'number' ? container[piece] : undefined;
    return typeof piece === 'string' ? getOwn(container, piece) : undefined;
  }

  write(container: Container, piece: string | number, value: AttributeValue): void {
    if (Array.isArray(container)) {
      const index = piece as number;
      if (index < container.length) container[index] = value;
      else {
        this.appended ??= new Map();
        let held = this.appended.get(container);
        if (!held) this.appended.set(container, (held = []));
        held.push({ index, value });
      }
    } else {
      setOwn(container, piece as string, value);
    }
  }

  remove(container: Container, piece: string | number): void {
    if (Array.isArray(container)) {
      const index = piece as number;
      if (index < container.length) {
        container[index] = undefined;
        (this.lists ??= new Set()).add(container);
      }
    } else {
      delete container[piece as string];
    }
  }

  finish(): Item {
    for (const list of this.lists ?? []) {
      const kept = list.filter((element) => element !== undefined);
      list.length = 0;
      list.push(...kept);
    }
    for (const [list, held] of this.appended ?? []) {
      held.sort((a, b) => a.index - b.index);
      for (const { value } of held) list.push(value);
    }
    return this.item;
  }

  private writable(container: Container, piece: string | number, child: AttributeValue): Container {
    const inner = 'L' in child ? child.L : (child as { M: Record<string, AttributeValue> }).M;
    if (this.copied?.has(inner)) return inner;
    const copy: AttributeValue = 'L' in child ? { L: [...child.L] } : { M: copyRecord((child as { M: Record<string, AttributeValue> }).M) };
    const copiedInner = 'L' in copy ? copy.L : (copy as { M: Record<string, AttributeValue> }).M;
    (this.copied ??= new Set()).add(copiedInner);
    this.write(container, piece, copy);
    return copiedInner;
  }
}

function setKey(value: AttributeValue, member: string): string {
  if ('NS' in value) return normalizeNumber(member);
  if ('BS' in value) return bytesOf(member).toString('base64');
  return member;
}

function membersOf(value: AttributeValue): string[] {
  if ('SS' in value) return value.SS;
  if ('NS' in value) return value.NS;
  return (value as { BS: string[] }).BS;
}

function withMembers(type: AttributeType, members: string[]): AttributeValue {
  return { [type]: members } as unknown as AttributeValue;
}

function applyAction(action: BoundAction, setValue: AttributeValue | undefined, writer: ItemWriter): void {
  const container = writer.parentOf(action.p);
  const last = action.p[action.p.length - 1] as string | number;
  if ((typeof last === 'number') !== Array.isArray(container)) throw new ExpressionValidationError(INVALID_PATH);
  if (action.k === 'set') {
    writer.write(container, last, cloneValue(setValue as AttributeValue));
    return;
  }
  if (action.k === 'remove') {
    writer.remove(container, last);
    return;
  }
  const existing = writer.read(container, last);
  const type = typeOf(action.v);
  if (existing !== undefined && typeOf(existing) !== type) throw new ExpressionValidationError(INCORRECT_TYPE);
  if (action.k === 'add') {
    if ('N' in action.v) {
      writer.write(container, last, { N: addNumbers(existing ? (existing as { N: string }).N : '0', action.v.N) });
      return;
    }
    const current = existing ? membersOf(existing) : [];
    const keys = new Set(current.map((member) => setKey(action.v, member)));
    const added = membersOf(action.v).filter((member) => {
      const key = setKey(action.v, member);
      if (keys.has(key)) return false;
      keys.add(key);
      return true;
    });
    writer.write(container, last, withMembers(type, [...current, ...added]));
    return;
  }
  if (existing === undefined) return;
  const removed = new Set(membersOf(action.v).map((member) => setKey(action.v, member)));
  const left = membersOf(existing).filter((member) => !removed.has(setKey(action.v, member)));
  if (left.length === 0) writer.remove(container, last);
  else writer.write(container, last, withMembers(type, left));
}

export interface Update {
  /** Returns a NEW item (input untouched); `updated` = top-level attribute names the actions
   *  set, removed or changed; `paths` = every document path the actions write. */
  apply(item: Item): { item: Item; updated: string[]; paths: DocumentPath[] };
}

interface ParsedUpdate {
  actions: UpdateAction[];
  staticError: string | undefined;
  inputFree: boolean;
  /** The Update, kept once made when the expression uses no inputs. */
  update?: Update;
}

export function parseUpdate(expression: string, inputs: ExpressionInputs, usage: ExpressionUsage): Update {
  const parsed = cachedParse('UpdateExpression', expression, (): ParsedUpdate => {
    const parser = new UpdateParser(expression);
    const actions = parser.parse();
    const errors = parser.errors;
    // Input-independent errors, in DynamoDB's order; the input-dependent ones follow at binding.
    const message = errors.reserved ?? errors.unknownFunction ?? errors.section;
    return {
      actions,
      staticError: message === undefined ? undefined : `Invalid UpdateExpression: ${message}`,
      inputFree: parser.usesNoInputs(),
    };
  });
  if (parsed.staticError !== undefined) throw new ExpressionValidationError(parsed.staticError);
  if (parsed.update) return parsed.update;
  const actions = new UpdateBinder(inputs, usage).bind(parsed.actions);
  const paths = actions.map((action) => action.p);
  const updated = [...new Set(paths.map((path) => path[0] as string))];
  const result: Update = {
    apply(item) {
      // Every value is computed from the item as it was before any action applies.
      const setValues = actions.map((action) => (action.k === 'set' ? setValueOf(action.v, item) : undefined));
      const writer = new ItemWriter(copyRecord(item));
      actions.forEach((action, i) => applyAction(action, setValues[i], writer));
      return { item: writer.finish(), updated: [...updated], paths };
    },
  };
  if (parsed.inputFree) parsed.update = result;
  return result;
}

// =============================================================================================
// Projection

class ProjectionParser {
  readonly errors: StaticErrors = {};
  private readonly cursor: Cursor;

  constructor(source: string) {
    this.cursor = new Cursor(source, tokenize(source), 'ProjectionExpression');
  }

  usesNoInputs(): boolean {
    return usesNoInputs(this.cursor);
  }

  parse(): PathNode[] {
    const cursor: Cursor = this.cursor;
    const paths = [this.path()];
    while (cursor.isPunct(',')) {
      cursor.next();
      paths.push(this.path());
    }
    if (cursor.peek().type !== 'eof') cursor.fail();
    return paths;
  }

  private path(): PathNode {
    return parsePathTail(this.cursor, this.identifier(), () => this.identifier());
  }

  private identifier(): string | NameRef {
    const token = this.cursor.next();
    if (token.type === 'name') return { ref: token.text };
    if (token.type !== 'ident') return this.cursor.fail(token);
    if (isReservedWord(token.text)) this.errors.reserved ??= reservedMessage(token.text);
    return token.text;
  }
}

/** The parts of `item` at `paths`, nested as in the item; list elements keep their index order. */
export function projectPaths(item: Item, paths: readonly DocumentPath[]): Item {
  const result: Item = {};
  const lists = new Set<(AttributeValue | undefined)[]>();
  for (const path of paths) {
    const found = resolvePath(item, path);
    if (found === undefined) continue;
    let container: Container = result;
    for (let i = 0; i < path.length; i++) {
      const piece = path[i] as string | number;
      const isLast = i === path.length - 1;
      let value: AttributeValue | undefined = isLast ? cloneValue(found) : undefined;
      if (!isLast) {
        const existing: AttributeValue | undefined = Array.isArray(container)
          ? container[piece as number]
          : getOwn(container, piece as string);
        value = existing ?? (typeof path[i + 1] === 'number' ? { L: [] } : { M: {} });
      }
      if (Array.isArray(container)) {
        if ((piece as number) >= container.length) lists.add(container);
        container[piece as number] = value;
      } else {
        setOwn(container, piece as string, value as AttributeValue);
      }
      if (!isLast) container = 'L' in (value as AttributeValue) ? (value as { L: AttributeValue[] }).L : (value as { M: Item }).M;
    }
  }
  for (const list of lists) {
    const kept = list.filter((element) => element !== undefined);
    list.length = 0;
    list.push(...kept);
  }
  return result;
}

export interface Projection {
  project(item: Item): Item;
}

interface ParsedProjection {
  paths: PathNode[];
  staticError: string | undefined;
  inputFree: boolean;
  /** The Projection, kept once made when the expression uses no #names. */
  projection?: Projection;
}

export function parseProjection(expression: string, inputs: ExpressionInputs, usage: ExpressionUsage): Projection {
  const parsed = cachedParse('ProjectionExpression', expression, (): ParsedProjection => {
    const parser = new ProjectionParser(expression);
    const paths = parser.parse();
    const reserved = parser.errors.reserved;
    return {
      paths,
      staticError: reserved === undefined ? undefined : `Invalid ProjectionExpression: ${reserved}`,
      inputFree: parser.usesNoInputs(),
    };
  });
  if (parsed.staticError !== undefined) throw new ExpressionValidationError(parsed.staticError);
  if (parsed.projection) return parsed.projection;
  const binder = new Binder(inputs, usage, true);
  const paths = parsed.paths.map((node) => binder.path(node));
  const checker = new PathChecker(binder.errors);
  for (const path of paths) checker.add(path);
  throwFirst('ProjectionExpression', binder.errors, ['attrName', 'pathOverlap', 'pathConflict']);
  const projection: Projection = { project: (item) => projectPaths(item, paths) };
  if (parsed.inputFree) parsed.projection = projection;
  return projection;
}
