import nunjucks from 'nunjucks';
import { hasControlChars, parseEmailAddress, type EmailAddress } from './email-address.js';
import { REQUEST_LIMITS } from './request-validation.js';
import type { Outcome } from './outcome.js';

/**
 * Step 4 of sending: template metadata, compilation and rendering with nunjucks (Jinja2
 * syntax). HTML renders with autoescape on, so templateData cannot inject markup; the text
 * part, the subject and the template's replyTo render with autoescape off. Templates come
 * from strings only: there is no loader, so `include`/`extends`/`import` cannot reach files.
 * Undefined or null values in `{{ }}` are errors; `requiredVariables` is checked before
 * rendering because nunjucks does not throw for undefined values inside `if`/`for`.
 */

export const TEMPLATE_CATEGORIES = ['transactional', 'marketing'] as const;
export type TemplateCategory = (typeof TEMPLATE_CATEGORIES)[number];

/**
 * metadata.json as the engine uses it. Only `subject` is required; absent optional fields
 * take the defaults in METADATA_DEFAULTS (`version` stays absent: an unversioned template
 * is one the seeder treats as customised and never overwrites). Fields the engine does not
 * know are ignored, so the original product's metadata files load unchanged.
 */
export interface TemplateMetadata {
  subject: string;
  requiredVariables: string[];
  category: TemplateCategory;
  version?: string;
  description: string;
  senderEmail?: string;
  senderName?: string;
  replyTo?: string;
}

/** The fields metadata.json may hold; any other is ignored (and `templates validate` warns). */
export const METADATA_FIELDS = ['subject', 'senderEmail', 'senderName', 'replyTo', 'requiredVariables', 'category', 'version', 'description'] as const;

/** What an absent (or null) optional field means. */
export const METADATA_DEFAULTS = {
  requiredVariables: [] as readonly string[],
  category: 'transactional' as TemplateCategory,
  description: '',
} as const;

/** The three files of `templates/<name>/` as text. */
export interface TemplateSource {
  name: string;
  html: string;
  text: string;
  metadata: string;
}

export interface CompiledTemplate {
  name: string;
  metadata: TemplateMetadata;
  /** metadata.senderEmail, parsed (its domain in ASCII form). */
  senderAddress?: EmailAddress;
  subject: nunjucks.Template;
  html: nunjucks.Template;
  text: nunjucks.Template;
  replyTo?: nunjucks.Template;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  /** The template's replyTo, rendered (only when asked for). */
  replyTo?: string;
}

export interface RenderOptions {
  /** The request's subject: used literally (never rendered as a template). */
  subjectOverride?: string;
  /** Render the template's replyTo (not needed when the request gives one). */
  renderReplyTo?: boolean;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Property names through which a template expression could climb from a value to the
// Function constructor (and from there to the Node.js globals). Looked-up names in this set
// read as undefined, unless the object has them as its own data (templateData such as
// {"form": {"constructor": {"name": "x"}}}, which is rendered as given): an own value that is
// not a function leads nowhere. Patched once on nunjucks' shared runtime, which compiled
// templates call.
const BLOCKED_MEMBERS = new Set([
  'constructor',
  'prototype',
  '__proto__',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);
type MemberLookup = (obj: unknown, name: unknown) => unknown;
const runtime = nunjucks.runtime as unknown as { memberLookup: MemberLookup & { guarded?: boolean } };
if (!runtime.memberLookup.guarded) {
  const original = runtime.memberLookup;
  const guarded: MemberLookup & { guarded?: boolean } = (obj, name) => {
    if (typeof name !== 'string' || !BLOCKED_MEMBERS.has(name)) return original(obj, name);
    if (typeof obj !== 'object' || obj === null || !Object.hasOwn(obj, name)) return undefined;
    const own = Object.getOwnPropertyDescriptor(obj, name);
    return own && 'value' in own && typeof own.value !== 'function' ? own.value : undefined;
  };
  guarded.guarded = true;
  runtime.memberLookup = guarded;
}

// A top-level name reads only the data's own keys (and nunjucks' globals): `{{ toString }}`
// or `{{ constructor }}` without such a key in templateData is undefined (TMPL004 under
// throwOnUndefined), never a function's source inherited from Object.prototype.
interface LookupContext {
  ctx: Record<string, unknown>;
  env: { globals: Record<string, unknown> };
}
type NameLookup = ((context: LookupContext, frame: { lookup(name: string): unknown }, name: string) => unknown) & { guarded?: boolean };
const contextRuntime = nunjucks.runtime as unknown as { contextOrFrameLookup: NameLookup };
if (!contextRuntime.contextOrFrameLookup.guarded) {
  const guardedLookup: NameLookup = (context, frame, name) => {
    const local = frame.lookup(name);
    if (local !== undefined) return local;
    if (Object.hasOwn(context.ctx, name)) return context.ctx[name];
    return Object.hasOwn(context.env.globals, name) ? context.env.globals[name] : undefined;
  };
  guardedLookup.guarded = true;
  contextRuntime.contextOrFrameLookup = guardedLookup;
}

function environment(autoescape: boolean): nunjucks.Environment {
  const env = new nunjucks.Environment([], { autoescape, throwOnUndefined: true });
  // Only nunjucks' own helpers (range, cycler, joiner) are global; nothing is added.
  return env;
}

const htmlEnv = environment(true);
const textEnv = environment(false);

function cleanMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  return raw
    .replace(/Template render error:\s*/g, '')
    .replace(/\s+/g, ' ')
    .replace(/^\s*\(([^)]*)\)\s*/, '$1: ')
    .trim();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function metadataError(message: string): Outcome<never> {
  return { ok: false, code: 'TMPL002', message: `metadata.json: ${message}` };
}

/** Fields of a metadata.json object that the engine does not know (it ignores them). */
export function unknownMetadataFields(raw: unknown): string[] {
  if (!isPlainObject(raw)) return [];
  return Object.keys(raw).filter((key) => !(METADATA_FIELDS as readonly string[]).includes(key));
}

const absent = (value: unknown): value is undefined | null => value === undefined || value === null;

/** Checks metadata.json's shape and fills in the defaults; the same rules `templates validate` applies. */
export function validateTemplateMetadata(raw: unknown): Outcome<TemplateMetadata> {
  if (!isPlainObject(raw)) return metadataError('must be a JSON object.');
  const { subject, requiredVariables, category, version, description, senderEmail, senderName, replyTo } = raw;
  if (typeof subject !== 'string' || subject.trim() === '') return metadataError('"subject" must be a non-empty string.');
  if (hasControlChars(subject)) return metadataError('"subject" contains a line break or control character.');
  if (!absent(requiredVariables) && (!Array.isArray(requiredVariables) || !requiredVariables.every((v) => typeof v === 'string' && VARIABLE_NAME.test(v)))) {
    return metadataError('"requiredVariables" must be an array of variable names (letters, digits, "_").');
  }
  if (!absent(category) && (typeof category !== 'string' || !(TEMPLATE_CATEGORIES as readonly string[]).includes(category))) {
    return metadataError(`"category" must be one of ${TEMPLATE_CATEGORIES.join(', ')}.`);
  }
  if (!absent(version) && (typeof version !== 'string' || !SEMVER.test(version))) {
    return metadataError('"version" must be a semantic version such as "1.0.0".');
  }
  if (!absent(description) && typeof description !== 'string') return metadataError('"description" must be a string.');
  for (const [field, value] of [['senderEmail', senderEmail], ['senderName', senderName], ['replyTo', replyTo]] as const) {
    if (absent(value)) continue;
    if (typeof value !== 'string') return metadataError(`"${field}" must be a string.`);
    if (hasControlChars(value)) return metadataError(`"${field}" contains a line break or control character.`);
  }
  if (typeof senderEmail === 'string' && senderEmail.trim() !== '') {
    const parsed = parseEmailAddress(senderEmail);
    if (!parsed.ok) return metadataError(`"senderEmail" ${parsed.reason}.`);
  }
  const optional = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);
  const email = optional(senderEmail);
  const name = optional(senderName);
  const reply = optional(replyTo);
  return {
    ok: true,
    value: {
      subject,
      requiredVariables: absent(requiredVariables) ? [...METADATA_DEFAULTS.requiredVariables] : (requiredVariables as string[]),
      category: absent(category) ? METADATA_DEFAULTS.category : (category as TemplateCategory),
      ...(typeof version === 'string' ? { version } : {}),
      description: typeof description === 'string' ? description : METADATA_DEFAULTS.description,
      ...(email !== undefined ? { senderEmail: email } : {}),
      ...(name !== undefined ? { senderName: name } : {}),
      ...(reply !== undefined ? { replyTo: reply } : {}),
    },
  };
}

function compilePart(src: string, env: nunjucks.Environment, path: string): nunjucks.Template {
  return new nunjucks.Template(src, env, path, true);
}

/** Parses the metadata and compiles every part once (a compiled template renders many times). */
export function compileTemplate(source: TemplateSource): Outcome<CompiledTemplate> {
  let rawMetadata: unknown;
  try {
    rawMetadata = JSON.parse(source.metadata);
  } catch (error) {
    return metadataError(`is not valid JSON (${cleanMessage(error)}).`);
  }
  const metadata = validateTemplateMetadata(rawMetadata);
  if (!metadata.ok) return metadata;
  const meta = metadata.value;
  const name = source.name;
  try {
    const senderParsed = meta.senderEmail !== undefined ? parseEmailAddress(meta.senderEmail) : undefined;
    return {
      ok: true,
      value: {
        name,
        metadata: meta,
        ...(senderParsed?.ok ? { senderAddress: senderParsed.value } : {}),
        subject: compilePart(meta.subject, textEnv, `${name}/metadata.json subject`),
        html: compilePart(source.html, htmlEnv, `${name}/template.html`),
        text: compilePart(source.text, textEnv, `${name}/template.txt`),
        ...(meta.replyTo !== undefined ? { replyTo: compilePart(meta.replyTo, textEnv, `${name}/metadata.json replyTo`) } : {}),
      },
    };
  } catch (error) {
    return { ok: false, code: 'TMPL004', message: `Template syntax error in ${cleanMessage(error)}` };
  }
}

// Attributes whose value a mail client may follow or load as a URL. An attribute name
// follows whitespace, a quote (right after the previous value) or "/" (`<a/href=…>`).
const URL_ATTRIBUTE = /[\s"'/](href|src|action|formaction|background|poster|xlink:href|srcset|cite)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi;
const NAMED_ENTITIES: Record<string, string> = { colon: ':', tab: '\t', newline: '\n', amp: '&', lpar: '(', rpar: ')', sol: '/' };
const SAFE_DATA_IMAGE = /^data:image\/(?:png|gif|jpe?g|webp);/;

function decodeAttribute(value: string): string {
  return value.replace(/&(?:#x([0-9a-f]+)|#(\d+)|([a-z]+));?/gi, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    const code = hex !== undefined ? parseInt(hex, 16) : dec !== undefined ? parseInt(dec, 10) : undefined;
    if (code !== undefined) return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
    return NAMED_ENTITIES[name!.toLowerCase()] ?? whole;
  });
}

/**
 * The first link or image in rendered HTML whose URL would run script or carry a document:
 * `javascript:`, `vbscript:`, or `data:` (except inline png/gif/jpeg/webp images), however
 * it is disguised with entities, case or whitespace. Autoescaping keeps templateData from
 * adding markup, but a value used as a whole URL (`href="{{ link }}"`) needs this check.
 */
export function unsafeUrlIn(html: string): { attribute: string; url: string } | undefined {
  for (const match of html.matchAll(URL_ATTRIBUTE)) {
    const attribute = match[1]!.toLowerCase();
    const raw = match[2] ?? match[3] ?? match[4] ?? '';
    const urls = attribute === 'srcset' ? raw.split(',').map((part) => part.trim().split(/\s+/)[0] ?? '') : [raw];
    for (const url of urls) {
      // Browsers drop control characters and whitespace anywhere in a scheme.
      const normalised = decodeAttribute(url).replace(/[\u0000-\u0020\u007f-\u009f]+/g, '').toLowerCase();
      const scheme = /^([a-z][a-z0-9+.-]*):/.exec(normalised)?.[1];
      if (scheme === 'javascript' || scheme === 'vbscript' || (scheme === 'data' && !(attribute !== 'href' && SAFE_DATA_IMAGE.test(normalised)))) {
        return { attribute, url: url.slice(0, 60) };
      }
    }
  }
  return undefined;
}

/** Required variables absent from templateData (null counts as absent). */
export function missingVariables(required: readonly string[], data: Record<string, unknown>): string[] {
  return required.filter((name) => !Object.hasOwn(data, name) || data[name] === null || data[name] === undefined);
}

export function renderEmail(template: CompiledTemplate, data: Record<string, unknown>, options: RenderOptions = {}): Outcome<RenderedEmail> {
  const missing = missingVariables(template.metadata.requiredVariables, data);
  if (missing.length > 0) {
    return {
      ok: false,
      code: 'TMPL003',
      message: `templateData lacks required variable${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} of template "${template.name}".`,
    };
  }
  let rendered: RenderedEmail;
  try {
    rendered = {
      subject: options.subjectOverride ?? template.subject.render(data),
      html: template.html.render(data),
      text: template.text.render(data),
      ...(options.renderReplyTo && template.replyTo ? { replyTo: template.replyTo.render(data).trim() } : {}),
    };
  } catch (error) {
    return { ok: false, code: 'TMPL004', message: `Rendering failed: ${cleanMessage(error)}` };
  }
  rendered.subject = rendered.subject.trim();
  if (hasControlChars(rendered.subject)) {
    return { ok: false, code: 'VAL005', message: 'The subject rendered with a line break or control character (check the templateData values used in it).' };
  }
  if (rendered.subject === '') return { ok: false, code: 'TMPL004', message: 'The subject rendered empty.' };
  if (rendered.subject.length > REQUEST_LIMITS.subjectLength) {
    return { ok: false, code: 'VAL007', message: `The subject rendered to ${rendered.subject.length} characters; the limit is ${REQUEST_LIMITS.subjectLength}.` };
  }
  if (rendered.html.trim() === '' && rendered.text.trim() === '') {
    return { ok: false, code: 'TMPL004', message: 'Both the HTML and the text part rendered empty.' };
  }
  const unsafe = unsafeUrlIn(rendered.html);
  if (unsafe) {
    return {
      ok: false,
      code: 'TMPL006',
      message: `The HTML rendered a ${unsafe.attribute} with a script or data URL (${JSON.stringify(unsafe.url)}); links must be http(s), mailto or tel.`,
    };
  }
  return { ok: true, value: rendered };
}
