import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CliError } from '../errors.js';
import { parseEmailAddress } from '../../functions/core/email-address.js';
import { TEMPLATE_NAME_PATTERN } from '../../functions/core/request-validation.js';
import {
  compileTemplate,
  METADATA_FIELDS,
  missingVariables,
  renderEmail,
  unknownMetadataFields,
  validateTemplateMetadata,
  type CompiledTemplate,
  type RenderedEmail,
  type TemplateMetadata,
} from '../../functions/core/template-render.js';

/**
 * Template folders on disk (`<name>/{template.html, template.txt, metadata.json,
 * sample-data.json?, …}`) and the checks `templates validate` runs on them, with the
 * engine's own renderer, so a template that passes here renders the same in the Email
 * Sender.
 */

export const REQUIRED_FILES = ['template.html', 'template.txt', 'metadata.json'] as const;
export const SAMPLE_DATA_FILE = 'sample-data.json';

export interface TemplateFiles {
  name: string;
  /** The folder it was read from (absent for templates read from a bucket). */
  dir?: string;
  /** File name ("/"-separated, relative to the template folder) → content. */
  files: Record<string, Buffer>;
}

export interface TemplateProblem {
  template: string;
  file: string;
  message: string;
  fix: string;
  severity: 'error' | 'warning';
}

export interface TemplateCheck {
  name: string;
  dir?: string;
  version?: string;
  problems: TemplateProblem[];
}

function readFolder(dir: string, relative = ''): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const entry of readdirSync(join(dir, relative), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const path = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(files, readFolder(dir, path));
    else if (entry.isFile()) files[path] = readFileSync(join(dir, path));
  }
  return files;
}

/** Whether a folder is one template (it holds a metadata.json or a template file). */
export function isTemplateFolder(dir: string): boolean {
  return REQUIRED_FILES.some((file) => existsSync(join(dir, file)));
}

/**
 * Reads `dir` as one template folder (it holds metadata.json or a template file) or as a
 * folder of template folders.
 */
export function readTemplateFolders(dir: string, cwd = process.cwd()): TemplateFiles[] {
  const root = resolve(cwd, dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new CliError(
      'TMPL101',
      `The folder ${root} does not exist.`,
      'Pass a template folder (holding template.html, template.txt and metadata.json) or a folder of them; sesmailengine templates pull <name> downloads one.',
    );
  }
  if (isTemplateFolder(root)) return [{ name: basename(root), dir: root, files: readFolder(root) }];
  const folders = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const templates = folders.map((name) => ({ name, dir: join(root, name), files: readFolder(join(root, name)) }));
  if (templates.length === 0) {
    throw new CliError(
      'TMPL101',
      `${root} holds no template folders.`,
      'A template folder holds template.html, template.txt and metadata.json; pass it, or the folder that contains such folders.',
    );
  }
  return templates;
}

/** Which file an error message of the renderer is about. */
function fileOf(message: string, fallback: string): string {
  const match = /(template\.html|template\.txt|metadata\.json)/.exec(message);
  return match ? match[1]! : fallback;
}

function text(files: Record<string, Buffer>, name: string): string | undefined {
  return files[name]?.toString('utf8');
}

export type SampleData = { ok: true; data: Record<string, unknown> } | { ok: false; message: string } | undefined;

/** sample-data.json of a template, parsed; undefined when there is none. */
export function readSampleData(template: TemplateFiles): SampleData {
  const raw = text(template.files, SAMPLE_DATA_FILE);
  if (raw === undefined) return undefined;
  try {
    const data = JSON.parse(raw) as unknown;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, message: 'must be a JSON object of template variables' };
    return { ok: true, data: data as Record<string, unknown> };
  } catch (error) {
    return { ok: false, message: `is not valid JSON (${(error as Error).message})` };
  }
}

export type Compiled = { ok: true; template: CompiledTemplate } | { ok: false; code: string; file: string; message: string };

/** Compiles a template's files with the engine's renderer. */
export function compileFiles(template: TemplateFiles): Compiled {
  const missing = REQUIRED_FILES.filter((file) => template.files[file] === undefined);
  if (missing.length > 0) {
    return { ok: false, code: 'TMPL001', file: missing[0]!, message: `${missing.join(', ')} missing` };
  }
  const compiled = compileTemplate({
    name: template.name,
    html: text(template.files, 'template.html')!,
    text: text(template.files, 'template.txt')!,
    metadata: text(template.files, 'metadata.json')!,
  });
  if (!compiled.ok) return { ok: false, code: compiled.code, file: fileOf(compiled.message, 'metadata.json'), message: compiled.message };
  return { ok: true, template: compiled.value };
}

/** Runs every check on one template: the files, metadata schema, syntax, sample data, rendering. */
export function checkTemplate(template: TemplateFiles): TemplateCheck {
  const problems: TemplateProblem[] = [];
  const add = (file: string, message: string, fix: string, severity: 'error' | 'warning' = 'error') =>
    problems.push({ template: template.name, file, message, fix, severity });
  const check: TemplateCheck = { name: template.name, ...(template.dir ? { dir: template.dir } : {}), problems };

  if (!TEMPLATE_NAME_PATTERN.test(template.name)) {
    add('(folder name)', `"${template.name}" cannot be a templateName (letters, digits, "-" and "_", starting with a letter or digit, at most 64).`, 'Rename the folder, e.g. order-confirmation.');
  }
  for (const file of REQUIRED_FILES) {
    if (template.files[file] === undefined) {
      add(file, 'missing', file === 'metadata.json' ? 'Create it with at least a "subject" (see docs/TEMPLATES.md for the optional fields).' : `Create ${file}; every template needs an HTML and a plain-text part.`);
    }
  }
  const rawMetadata = text(template.files, 'metadata.json');
  let metadata: TemplateMetadata | undefined;
  if (rawMetadata !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawMetadata);
    } catch (error) {
      add('metadata.json', `is not valid JSON: ${(error as Error).message}`, 'Correct the JSON syntax (quotes around names, no trailing commas).');
    }
    if (parsed !== undefined) {
      const valid = validateTemplateMetadata(parsed);
      if (valid.ok) {
        metadata = valid.value;
        if (valid.value.version !== undefined) check.version = valid.value.version;
        for (const field of unknownMetadataFields(parsed)) {
          add(
            'metadata.json',
            `unknown field "${field}" is ignored`,
            `Remove it, or check its spelling against ${METADATA_FIELDS.map((f) => `"${f}"`).join(', ')}.`,
            'warning',
          );
        }
        if (valid.value.version === undefined) {
          add(
            'metadata.json',
            'no "version": seed-templates never overwrites it, and push replaces a copy in the bucket only with --force',
            'Add "version": "1.0.0" and raise it with each change.',
            'warning',
          );
        }
      } else {
        add('metadata.json', valid.message.replace(/^metadata\.json:\s*/, ''), 'Follow the metadata.json rules in docs/TEMPLATES.md.');
      }
    }
  }
  if (problems.some((p) => p.severity === 'error')) return check;

  const compiled = compileFiles(template);
  if (!compiled.ok) {
    add(compiled.file, compiled.message, 'Fix the Jinja2/nunjucks syntax at that line (every {% if %} needs {% endif %}, every {% for %} an {% endfor %}).');
    return check;
  }

  const sample = readSampleData(template);
  if (sample === undefined) {
    add(
      SAMPLE_DATA_FILE,
      'absent, so rendering was not checked',
      `Add ${SAMPLE_DATA_FILE} with a value for each variable (${metadata!.requiredVariables.join(', ') || 'the template uses'}).`,
      'warning',
    );
    return check;
  }
  if (!sample.ok) {
    add(SAMPLE_DATA_FILE, sample.message, 'Write a JSON object such as {"userName": "Ada"}.');
    return check;
  }
  const missing = missingVariables(metadata!.requiredVariables, sample.data);
  if (missing.length > 0) {
    add(
      SAMPLE_DATA_FILE,
      `lacks required variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (listed in metadata.json requiredVariables)`,
      `Add ${missing.map((m) => `"${m}"`).join(', ')} to ${SAMPLE_DATA_FILE}, or remove ${missing.length > 1 ? 'them' : 'it'} from requiredVariables if optional.`,
    );
    return check;
  }
  const rendered = renderEmail(compiled.template, sample.data, { renderReplyTo: true });
  if (!rendered.ok) {
    add(
      fileOf(rendered.message, 'template.html'),
      `does not render with ${SAMPLE_DATA_FILE}: ${rendered.code} ${rendered.message}`,
      'Guard optional values with {% if x %} or | default("…"), or add the value to sample-data.json if every request sends it.',
    );
    return check;
  }
  if (rendered.value.replyTo !== undefined && rendered.value.replyTo !== '') {
    const reply = parseEmailAddress(rendered.value.replyTo);
    if (!reply.ok) {
      add('metadata.json', `replyTo renders to "${rendered.value.replyTo}", which ${reply.reason}`, 'Make replyTo one address, e.g. "{{ formSenderEmail }}" with an address in the data.');
    }
  }
  return check;
}

export type RenderResult =
  | { ok: true; email: RenderedEmail; metadata: TemplateMetadata; data: Record<string, unknown>; dataFrom: 'option' | 'sample-data' | 'none' }
  | { ok: false; code: string; file?: string; message: string };

/** Renders a template with `data`, or its sample-data.json when no data is given. */
export function renderTemplateFiles(template: TemplateFiles, data: Record<string, unknown> | undefined): RenderResult {
  const compiled = compileFiles(template);
  if (!compiled.ok) return { ok: false, code: compiled.code, file: compiled.file, message: compiled.message };
  let used = data;
  let dataFrom: 'option' | 'sample-data' | 'none' = 'option';
  if (used === undefined) {
    const sample = readSampleData(template);
    if (sample && !sample.ok) return { ok: false, code: 'TMPL003', file: SAMPLE_DATA_FILE, message: `${SAMPLE_DATA_FILE} ${sample.message}` };
    used = sample?.ok ? sample.data : {};
    dataFrom = sample?.ok ? 'sample-data' : 'none';
  }
  const rendered = renderEmail(compiled.template, used, { renderReplyTo: true });
  if (!rendered.ok) return { ok: false, code: rendered.code, message: rendered.message };
  return { ok: true, email: rendered.value, metadata: compiled.template.metadata, data: used, dataFrom };
}
