import { describe, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTemplate, readTemplateFolders, renderTemplateFiles, type TemplateFiles } from '../../../src/ops/template-folders.js';

/** What `templates validate` finds in template folders, file by file, with the engine's renderer. */

const STARTERS = join(process.cwd(), 'starter-templates');

function template(files: Record<string, string>, name = 'greeting'): TemplateFiles {
  return { name, files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)])) };
}

const METADATA = JSON.stringify({ subject: 'Hi {{ userName }}', requiredVariables: ['userName'], category: 'transactional', version: '1.0.0', description: 'x' });
const GOOD = {
  'metadata.json': METADATA,
  'template.html': '<p>Hello {{ userName }}</p>',
  'template.txt': 'Hello {{ userName }}',
  'sample-data.json': '{"userName": "Ada"}',
};

function errors(files: Record<string, string>) {
  return checkTemplate(template(files)).problems.filter((p) => p.severity === 'error');
}

describe('checkTemplate', () => {
  it('passes every starter template', () => {
    const checks = readTemplateFolders(STARTERS).map(checkTemplate);
    expect(checks.length).toBeGreaterThanOrEqual(8);
    expect(checks.flatMap((c) => c.problems)).toEqual([]);
  });

  it('passes a good template and reports its version', () => {
    const check = checkTemplate(template(GOOD));
    expect(check.problems).toEqual([]);
    expect(check.version).toBe('1.0.0');
  });

  it('passes metadata in the original product\'s shape, warning only that it has no version', () => {
    const original = JSON.stringify({ subject: 'Hi {{ userName }}', senderEmail: 'noreply@company.com', replyTo: 'help@company.com' });
    const check = checkTemplate(template({ ...GOOD, 'metadata.json': original }));
    expect(check.problems).toEqual([expect.objectContaining({ file: 'metadata.json', severity: 'warning', message: expect.stringContaining('no "version"') })]);
    expect(check.version).toBeUndefined();
  });

  it('warns about each unknown metadata field, naming it, and still passes', () => {
    const extra = JSON.stringify({ ...JSON.parse(METADATA), templateId: 'tpl-7', subjectLine: 'x' });
    const check = checkTemplate(template({ ...GOOD, 'metadata.json': extra }));
    expect(check.problems).toEqual([
      expect.objectContaining({ file: 'metadata.json', severity: 'warning', message: 'unknown field "templateId" is ignored' }),
      expect.objectContaining({ file: 'metadata.json', severity: 'warning', message: 'unknown field "subjectLine" is ignored' }),
    ]);
    expect(check.version).toBe('1.0.0');
  });

  it('names each missing file', () => {
    const { ['template.txt']: _t, ...rest } = GOOD;
    expect(errors(rest)).toEqual([expect.objectContaining({ file: 'template.txt', message: 'missing' })]);
  });

  it('reports metadata.json that is not JSON, and a schema break with the field', () => {
    expect(errors({ ...GOOD, 'metadata.json': '{"subject": "x",}' })[0]).toMatchObject({ file: 'metadata.json', message: expect.stringMatching(/^is not valid JSON/) });
    const bad = JSON.stringify({ ...JSON.parse(METADATA), category: 'promo' });
    expect(errors({ ...GOOD, 'metadata.json': bad })[0]).toMatchObject({ file: 'metadata.json', message: '"category" must be one of transactional, marketing.' });
  });

  it('reports a syntax error in the file it is in', () => {
    const [problem] = errors({ ...GOOD, 'template.html': '<p>{% if userName %}Hello</p>' });
    expect(problem).toMatchObject({ file: 'template.html' });
    expect(problem!.message).toMatch(/template\.html|line/);
    expect(problem!.fix).toContain('{% endif %}');
  });

  it('reports required variables missing from sample-data.json', () => {
    expect(errors({ ...GOOD, 'sample-data.json': '{"other": 1}' })).toEqual([
      expect.objectContaining({ file: 'sample-data.json', message: 'lacks required variable userName (listed in metadata.json requiredVariables)' }),
    ]);
  });

  it('reports a template that does not render with its sample data', () => {
    const [problem] = errors({ ...GOOD, 'template.txt': 'Hello {{ userName }} from {{ company }}' });
    expect(problem).toMatchObject({ file: 'template.txt' });
    expect(problem!.message).toMatch(/^does not render with sample-data.json: TMPL004/);
  });

  it('only warns when there is no sample-data.json', () => {
    const { ['sample-data.json']: _s, ...rest } = GOOD;
    const check = checkTemplate(template(rest));
    expect(check.problems).toEqual([expect.objectContaining({ severity: 'warning', file: 'sample-data.json' })]);
  });

  it('refuses a folder name that cannot be a templateName', () => {
    expect(checkTemplate(template(GOOD, 'my template')).problems[0]).toMatchObject({ file: '(folder name)' });
  });

  it('checks that a rendered replyTo is one address', () => {
    const meta = JSON.stringify({ ...JSON.parse(METADATA), replyTo: '{{ userName }}' });
    expect(errors({ ...GOOD, 'metadata.json': meta })[0]).toMatchObject({ file: 'metadata.json', message: expect.stringContaining('replyTo renders to "Ada"') });
  });
});

describe('readTemplateFolders', () => {
  it('reads one template folder, or a folder of them', () => {
    const root = mkdtempSync(join(tmpdir(), 'tpl-'));
    cpSync(join(STARTERS, 'welcome'), join(root, 'welcome'), { recursive: true });
    cpSync(join(STARTERS, 'invoice'), join(root, 'invoice'), { recursive: true });
    expect(readTemplateFolders(root).map((t) => t.name)).toEqual(['invoice', 'welcome']);
    expect(readTemplateFolders(join(root, 'welcome')).map((t) => t.name)).toEqual(['welcome']);
  });

  it('says TMPL101 for a folder that does not exist or holds no templates', () => {
    const empty = mkdtempSync(join(tmpdir(), 'tpl-'));
    expect(() => readTemplateFolders(join(empty, 'nope'))).toThrow(/does not exist/);
    expect(() => readTemplateFolders(empty)).toThrow(/holds no template folders/);
    mkdirSync(join(empty, 'x'));
    writeFileSync(join(empty, 'x', 'notes.md'), '');
    expect(readTemplateFolders(empty)[0]!.name).toBe('x');
  });
});

describe('renderTemplateFiles', () => {
  it('renders with the given data, else with sample-data.json', () => {
    const withData = renderTemplateFiles(template(GOOD), { userName: 'Bo' });
    const withSample = renderTemplateFiles(template(GOOD), undefined);
    expect(withData.ok && withData.email.subject).toBe('Hi Bo');
    expect(withSample.ok && [withSample.email.subject, withSample.dataFrom]).toEqual(['Hi Ada', 'sample-data']);
  });

  it('escapes HTML in the data, as the Email Sender does', () => {
    const out = renderTemplateFiles(template(GOOD), { userName: '<script>x</script>' });
    expect(out.ok && out.email.html).toBe('<p>Hello &lt;script&gt;x&lt;/script&gt;</p>');
  });

  it('fails TMPL003 when data lacks a required variable', () => {
    const out = renderTemplateFiles(template(GOOD), {});
    expect(out.ok ? 'ok' : out.code).toBe('TMPL003');
  });
});
