import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Static analysis of a Lambda handler's source: follow its relative imports under
 * functions/ and list the AWS SDK commands it can send and the environment variables it
 * reads, so tests can hold the CloudFormation template (IAM, Environment) to the code.
 *
 * It reads text, not types: it sees `new XxxCommand(` for classes imported from @aws-sdk
 * packages and calls of lib/env.ts helpers with literal names. A command built any other
 * way (a class held in a variable, a client's convenience method) is invisible to it, and a
 * DynamoDB call whose table it cannot work out is reported rather than guessed.
 */

export const FUNCTIONS_DIR = join(process.cwd(), 'functions');
const ENV_HELPERS = ['requiredString', 'optionalString', 'numberValue'];

export interface SdkCall {
  /** The npm package the command class comes from, e.g. "@aws-sdk/lib-dynamodb". */
  pkg: string;
  command: string;
  /** File relative to functions/, e.g. "lib/tracking-store.ts". */
  file: string;
  /** Source text of the command's constructor argument (for table and index hints). */
  argument: string;
  /** Tables named at the call sites that lead to this command (see analyseHandler). */
  contextTables: TableKey[];
  /** The index a Query/Scan names, as a literal or a string constant of its module. */
  index?: string;
}

export interface EnvRead {
  name: string;
  helper: 'requiredString' | 'optionalString' | 'numberValue';
  file: string;
}

export interface HandlerAnalysis {
  entry: string;
  files: string[];
  calls: SdkCall[];
  envReads: EnvRead[];
  /** Env helper calls whose name is not a string literal (the template test cannot see them). */
  nonLiteralEnvReads: string[];
  /** Direct `process.env.X` / `env.X` reads of non-AWS variables (should go through env.ts). */
  directEnvReads: string[];
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** Named bindings imported from AWS SDK packages: local name → { pkg, exported name }. */
function sdkBindings(source: string): Map<string, { pkg: string; name: string }> {
  const bindings = new Map<string, { pkg: string; name: string }>();
  const statement = /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"](@aws-sdk\/[^'"]+)['"]/g;
  for (const m of source.matchAll(statement)) {
    for (const part of m[1]!.split(',')) {
      const trimmed = part.trim().replace(/^type\s+/, '');
      if (!trimmed) continue;
      const [name, alias] = trimmed.split(/\s+as\s+/).map((s) => s.trim());
      bindings.set(alias ?? name!, { pkg: m[2]!, name: name! });
    }
  }
  return bindings;
}

/** The text between the parentheses that open at `start` (which points just after "("). */
function argumentText(source: string, start: number): string {
  let depth = 1;
  for (let i = start; i < source.length; i++) {
    const c = source[i];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return source.slice(start, i);
    }
  }
  return source.slice(start);
}

function resolveIn(fromFile: string, spec: string, root: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(fromFile), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts'), base]) {
    if (candidate.startsWith(root) && candidate.endsWith('.ts') && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export type TableKey = 'TrackingTable' | 'SuppressionTable' | 'CountersTable';

/**
 * Tables a piece of source text names as tables: `config.trackingTable`, `TRACKING_TABLE`,
 * `countersTable`, ... (a word such as "suppressionThreshold" does not count).
 */
export function tablesNamedIn(text: string): TableKey[] {
  const found = new Set<TableKey>();
  for (const m of text.matchAll(/(tracking|suppression|counters?)_?table/gi)) {
    const word = m[1]!.toLowerCase();
    found.add(word === 'tracking' ? 'TrackingTable' : word === 'suppression' ? 'SuppressionTable' : 'CountersTable');
  }
  return [...found];
}

/** The table a store module is named after (tracking-store.ts → TrackingTable). */
function tableOfFile(file: string): TableKey[] {
  const name = file.split('/').pop() ?? '';
  if (/track/i.test(name)) return ['TrackingTable'];
  if (/suppress/i.test(name)) return ['SuppressionTable'];
  if (/counter/i.test(name)) return ['CountersTable'];
  return [];
}

// ---------------------------------------------------------------- top-level declarations

interface Chunk {
  /** Declared name, or undefined for module-level code (always runs when the module loads). */
  name?: string;
  text: string;
}

interface ImportBinding {
  spec: string;
  /** Exported name in the target ("default", or "*" for a namespace / dynamic import). */
  imported: string;
}

interface ParsedFile {
  chunks: Chunk[];
  /** Local binding → where it comes from (relative imports only). */
  imports: Map<string, ImportBinding>;
  /** Exported name → where it is re-exported from ("*" for export-star specs). */
  reExports: { exported: string; spec: string; imported: string }[];
  dynamicImports: string[];
  sideEffectImports: string[];
  sdk: Map<string, { pkg: string; name: string }>;
  /** Top-level string constants (`const X = 'value'`), to read an IndexName given by name. */
  constants: Map<string, string>;
}

const DECLARATION =
  /^(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\s*\*?|class|const|let|var|interface|type|enum)\s+([A-Za-z_$][\w$]*)/;

function parseFile(path: string): ParsedFile {
  const source = stripComments(readFileSync(path, 'utf8'));
  const imports = new Map<string, ImportBinding>();
  const reExports: ParsedFile['reExports'] = [];
  const sideEffectImports: string[] = [];
  const chunks: Chunk[] = [];

  // Import and re-export statements first, then remove them from the text that is chunked.
  const importStatement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"];?/g;
  for (const m of source.matchAll(importStatement)) {
    if (m[2]) continue;
    const [kind, clause, spec] = [m[1]!, (m[3] ?? '').trim(), m[4]!];
    if (!spec.startsWith('.')) continue;
    if (kind === 'export') {
      if (clause === '*' || clause.startsWith('* as')) reExports.push({ exported: '*', spec, imported: '*' });
      for (const part of (/^\{([\s\S]*)\}$/.exec(clause)?.[1] ?? '').split(',')) {
        const trimmed = part.trim();
        if (!trimmed || trimmed.startsWith('type ')) continue;
        const [imported, exported] = trimmed.split(/\s+as\s+/).map((x) => x.trim());
        reExports.push({ exported: exported ?? imported!, spec, imported: imported! });
      }
      continue;
    }
    const namespace = /\*\s+as\s+([\w$]+)/.exec(clause);
    if (namespace) imports.set(namespace[1]!, { spec, imported: '*' });
    const named = /\{([\s\S]*)\}/.exec(clause);
    for (const part of (named?.[1] ?? '').split(',')) {
      const trimmed = part.trim();
      if (!trimmed || trimmed.startsWith('type ')) continue;
      const [imported, local] = trimmed.split(/\s+as\s+/).map((x) => x.trim());
      imports.set(local ?? imported!, { spec, imported: imported! });
    }
    const defaultName = /^([\w$]+)\s*(?:,|$)/.exec(clause);
    if (defaultName) imports.set(defaultName[1]!, { spec, imported: 'default' });
  }
  for (const m of source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) if (m[1]!.startsWith('.')) sideEffectImports.push(m[1]!);
  const dynamicImports = [...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!).filter((s) => s.startsWith('.'));

  const body = source.replace(importStatement, '\n').replace(/(?:^|\n)\s*import\s*['"][^'"]+['"];?/g, '\n');
  let current: Chunk = { text: '' };
  for (const line of body.split('\n')) {
    const startsStatement = /^[^\s})\]]/.test(line);
    if (startsStatement) {
      if (current.text.trim()) chunks.push(current);
      current = { name: DECLARATION.exec(line)?.[1], text: '' };
    }
    current.text += `${line}\n`;
  }
  if (current.text.trim()) chunks.push(current);
  const constants = new Map<string, string>();
  for (const m of source.matchAll(/(?:^|\n)(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::\s*string\s*)?=\s*['"]([^'"]*)['"]/g)) {
    constants.set(m[1]!, m[2]!);
  }
  return { chunks, imports, reExports, dynamicImports, sideEffectImports, sdk: sdkBindings(source), constants };
}

function references(text: string, name: string): boolean {
  return new RegExp(`(^|[^\\w$.])${name.replace(/\$/g, '\\$')}\\b`).test(text);
}

/** Tables named at the call sites of `name` in `text`; undefined when it is referenced but never called with a table. */
function callSiteTables(text: string, name: string): TableKey[] {
  const tables = new Set<TableKey>();
  const call = new RegExp(`(^|[^\\w$.])${name.replace(/\$/g, '\\$')}\\s*\\(`, 'g');
  for (const m of text.matchAll(call)) {
    for (const t of tablesNamedIn(argumentText(text, m.index! + m[0].length))) tables.add(t);
  }
  return [...tables];
}

/**
 * Follows the handler from its entry file through the declarations it actually uses: a
 * module's top-level code always counts, a function or constant only when something that
 * counts refers to it. Tables passed as arguments at call sites are carried down, so a
 * generic store function called with `config.countersTable` counts as touching that table.
 */
export function analyseHandler(entry: string, root = FUNCTIONS_DIR): HandlerAnalysis {
  const resolveImport = (fromFile: string, spec: string) => resolveIn(fromFile, spec, root);
  const envModule = join(root, 'lib', 'env.ts');
  const parsed = new Map<string, ParsedFile>();
  const parse = (file: string) => {
    let p = parsed.get(file);
    if (!p) parsed.set(file, (p = parseFile(file)));
    return p;
  };
  // file → chunk index → contexts already processed ("" = no table known)
  const done = new Map<string, Map<number, Set<string>>>();
  const work: { file: string; index: number; context: string }[] = [];
  const calls: SdkCall[] = [];
  const envReads: EnvRead[] = [];
  const nonLiteralEnvReads: string[] = [];
  const directEnvReads: string[] = [];
  const files = new Set<string>();

  const requestChunk = (file: string, index: number, context: string) => {
    const perFile = done.get(file) ?? new Map<number, Set<string>>();
    done.set(file, perFile);
    const contexts = perFile.get(index) ?? new Set<string>();
    perFile.set(index, contexts);
    if (contexts.has(context)) return;
    contexts.add(context);
    work.push({ file, index, context });
  };
  const requestName = (file: string, name: string, contexts: string[], seen = new Set<string>()): void => {
    const key = `${file}#${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    files.add(file);
    const p = parse(file);
    p.chunks.forEach((chunk, index) => {
      if (chunk.name === undefined) requestChunk(file, index, '');
      else if (name === '*' || chunk.name === name || (name === 'default' && /^export\s+default\b/.test(chunk.text))) {
        for (const c of contexts) requestChunk(file, index, c);
      }
    });
    for (const r of p.reExports) {
      if (r.exported !== name && r.exported !== '*' && name !== '*') continue;
      const target = resolveImport(file, r.spec);
      if (target) requestName(target, r.imported === '*' ? name : r.imported, contexts, seen);
    }
    for (const spec of p.sideEffectImports) {
      const target = resolveImport(file, spec);
      if (target) requestName(target, '\0module', [''], seen);
    }
  };

  requestName(entry, '*', ['']);
  while (work.length > 0) {
    const { file, index, context } = work.shift()!;
    const p = parse(file);
    const chunk = p.chunks[index]!;
    const rel = relative(root, file);
    const contextTables = context ? (context.split(',') as TableKey[]) : [];
    const contextFor = (name: string): string[] => {
      const named = callSiteTables(chunk.text, name);
      return [named.length > 0 ? named.sort().join(',') : context];
    };

    // Declarations of the same file this code refers to.
    p.chunks.forEach((other, otherIndex) => {
      if (other.name && otherIndex !== index && references(chunk.text, other.name)) {
        for (const c of contextFor(other.name)) requestChunk(file, otherIndex, c);
      }
    });
    // Imported bindings this code refers to.
    for (const [local, binding] of p.imports) {
      if (!references(chunk.text, local)) continue;
      const target = resolveImport(file, binding.spec);
      if (target) requestName(target, binding.imported, contextFor(local));
    }
    for (const spec of p.dynamicImports) {
      const target = resolveImport(file, spec);
      if (target && chunk.text.includes(spec)) requestName(target, '*', [context]);
    }

    for (const m of chunk.text.matchAll(/\bnew\s+([A-Za-z_$][\w$]*)\s*\(/g)) {
      const binding = p.sdk.get(m[1]!);
      if (!binding || !binding.name.endsWith('Command')) continue;
      const argument = argumentText(chunk.text, m.index! + m[0].length);
      const indexName = /IndexName\s*:\s*(?:['"]([\w.-]+)['"]|([A-Za-z_$][\w$]*))/.exec(argument);
      calls.push({
        pkg: binding.pkg,
        command: binding.name,
        file: rel,
        argument,
        contextTables,
        index: indexName?.[1] ?? (indexName?.[2] ? p.constants.get(indexName[2]) : undefined),
      });
    }
    // Only the helpers of lib/env.ts count (other modules may have functions of the same name).
    const envHelpers = [...p.imports]
      .filter(([, b]) => resolveImport(file, b.spec) === envModule && ENV_HELPERS.includes(b.imported))
      .map(([local, b]) => [local, b.imported] as const);
    for (const [local, helper] of envHelpers) {
      for (const m of chunk.text.matchAll(new RegExp(`(?:^|[^\\w$.])${local}\\(\\s*([^,()]+?)\\s*,\\s*([^,)]+)`, 'g'))) {
        const literal = /^['"]([A-Za-z0-9_]+)['"]$/.exec(m[2]!.trim());
        if (literal) envReads.push({ name: literal[1]!, helper: helper as EnvRead['helper'], file: rel });
        else nonLiteralEnvReads.push(`${rel}: ${m[0].trim()}`);
      }
    }
    for (const m of chunk.text.matchAll(/\b(?:process\.env|env)\s*(?:\.\s*([A-Z][A-Z0-9_]*)\b|\[\s*['"]([^'"]+)['"]\s*\])/g)) {
      const name = m[1] ?? m[2]!;
      if (!name.startsWith('AWS_')) directEnvReads.push(`${rel}: ${m[0]}`);
    }
  }
  const unique = <T>(items: T[], key: (t: T) => string) => [...new Map(items.map((i) => [key(i), i])).values()];
  return {
    entry,
    files: [...files].map((f) => relative(root, f)).sort(),
    calls: unique(calls, (c) => `${c.file}|${c.command}|${c.argument}|${c.contextTables.join(',')}`),
    envReads: unique(envReads, (e) => `${e.file}|${e.name}`),
    nonLiteralEnvReads: [...new Set(nonLiteralEnvReads)],
    directEnvReads: [...new Set(directEnvReads)],
  };
}

const SERVICE_PREFIX: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-sesv2': 'ses',
  '@aws-sdk/client-ses': 'ses',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-eventbridge': 'events',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-sts': 'sts',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-sns': 'sns',
  '@aws-sdk/client-scheduler': 'scheduler',
};

/** DocumentClient commands named after the items API they wrap. */
const DOCUMENT_CLIENT_ACTIONS: Record<string, string[]> = {
  GetCommand: ['GetItem'],
  PutCommand: ['PutItem'],
  UpdateCommand: ['UpdateItem'],
  DeleteCommand: ['DeleteItem'],
  QueryCommand: ['Query'],
  ScanCommand: ['Scan'],
  BatchGetCommand: ['BatchGetItem'],
  BatchWriteCommand: ['BatchWriteItem'],
  // Transactions are authorised item by item.
  TransactGetCommand: ['GetItem'],
  TransactWriteCommand: ['PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
};

/** API operations whose IAM action has a different name. */
const ACTION_OVERRIDES: Record<string, string[]> = {
  's3:ListObjectsV2': ['s3:ListBucket'],
  's3:ListObjects': ['s3:ListBucket'],
  's3:HeadObject': ['s3:GetObject'],
  's3:HeadBucket': ['s3:ListBucket'],
  'sqs:SendMessageBatch': ['sqs:SendMessage'],
  'sqs:DeleteMessageBatch': ['sqs:DeleteMessage'],
  'sqs:ChangeMessageVisibilityBatch': ['sqs:ChangeMessageVisibility'],
  'dynamodb:TransactGetItems': ['dynamodb:GetItem'],
  // A schedule names the role it runs with, which its creator must be allowed to pass.
  'scheduler:CreateSchedule': ['scheduler:CreateSchedule', 'iam:PassRole'],
  'dynamodb:TransactWriteItems': ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
};

/** The IAM actions one SDK command needs, e.g. SendEmailCommand (sesv2) → ["ses:SendEmail"]. */
export function iamActionsFor(call: Pick<SdkCall, 'pkg' | 'command'>): string[] {
  const prefix = SERVICE_PREFIX[call.pkg];
  if (!prefix) throw new Error(`No IAM prefix known for ${call.pkg} (${call.command}); add it to SERVICE_PREFIX.`);
  if (call.pkg === '@aws-sdk/lib-dynamodb') {
    const actions = DOCUMENT_CLIENT_ACTIONS[call.command];
    if (!actions) throw new Error(`No IAM action known for DocumentClient ${call.command}.`);
    return actions.map((a) => `dynamodb:${a}`);
  }
  const action = `${prefix}:${call.command.replace(/Command$/, '')}`;
  return ACTION_OVERRIDES[action] ?? [action];
}

/**
 * Which tables a DynamoDB call targets: named in its own argument, else carried from the
 * call sites that lead to it, else named by the store file it sits in (tracking-store.ts).
 */
export function tableHint(call: SdkCall): TableKey[] {
  const own = tablesNamedIn(call.argument);
  if (own.length > 0) return own;
  if (call.contextTables.length > 0) return call.contextTables;
  return tableOfFile(call.file);
}

/** The index a Query names (a literal or a string constant of its module), if known. */
export function indexHint(call: SdkCall): string | undefined {
  return call.index;
}

export function usesIndex(call: SdkCall): boolean {
  return /IndexName/.test(call.argument);
}
