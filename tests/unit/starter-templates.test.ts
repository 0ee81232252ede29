import { beforeAll, describe, it, expect } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compileTemplate,
  renderEmail,
  validateTemplateMetadata,
  type CompiledTemplate,
  type RenderedEmail,
  type TemplateMetadata,
} from '../../functions/core/template-render.js';
import { decodeEntities, scanHtml } from '../support/html-check.js';

/**
 * Every directory in starter-templates/ is checked the same way: its metadata is valid,
 * it renders with its sample-data.json through the engine's renderer, the HTML is
 * well-formed and mail-client friendly, the text part is real text, optional variables
 * are optional, and template data cannot inject markup.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'starter-templates');
const NAMES = readdirSync(ROOT)
  .filter((name) => statSync(join(ROOT, name)).isDirectory())
  .sort();
const FILES = ['template.html', 'template.txt', 'metadata.json', 'sample-data.json'];
const INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>&\'"';

type Data = Record<string, unknown>;

function read(name: string, file: string): string {
  return readFileSync(join(ROOT, name, file), 'utf8');
}

function compile(name: string): CompiledTemplate {
  const compiled = compileTemplate({
    name,
    html: read(name, 'template.html'),
    text: read(name, 'template.txt'),
    metadata: read(name, 'metadata.json'),
  });
  if (!compiled.ok) throw new Error(`${name}: ${compiled.code} ${compiled.message}`);
  return compiled.value;
}

function sampleData(name: string): Data {
  return JSON.parse(read(name, 'sample-data.json')) as Data;
}

function render(template: CompiledTemplate, data: Data): RenderedEmail {
  const rendered = renderEmail(template, data, { renderReplyTo: true });
  if (!rendered.ok) throw new Error(`${template.name}: ${rendered.code} ${rendered.message}`);
  return rendered.value;
}

/** Replaces every string (at any depth) with `value`, keeping the data's shape. */
function mapStrings(value: unknown, replace: (s: string) => string): unknown {
  if (typeof value === 'string') return replace(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, replace));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, replace)]));
  }
  return value;
}

/** Scalar strings and numbers found in the data (deep), as the reader should see them. */
function visibleValues(value: unknown): string[] {
  if (typeof value === 'string' || typeof value === 'number') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(visibleValues);
  if (value && typeof value === 'object') return Object.values(value).flatMap(visibleValues);
  return [];
}

function normaliseSpace(text: string): string {
  return text.replace(/\s+/g, ' ');
}

it('holds the starter set named in the specification', () => {
  expect(NAMES).toEqual(
    expect.arrayContaining([
      'welcome',
      'password-reset',
      'order-confirmation',
      'invoice',
      'newsletter',
      'contact-form-notification',
      'email-verification',
      'notification',
    ]),
  );
});

// SPEC §6: each requires only what the seeds' example requests send; the rest is optional.
it.each([
  ['welcome', ['userName']],
  ['password-reset', ['userName', 'resetLink']],
  ['order-confirmation', ['orderId', 'total']],
  ['invoice', ['userName', 'invoiceId', 'amount']],
  ['newsletter', ['unsubscribeLink']],
  ['contact-form-notification', ['formSenderName', 'formSenderEmail', 'message']],
])('starter template %s requires only %j', (name, required) => {
  expect(compile(name).metadata.requiredVariables).toEqual(required);
});

describe('optional variables fall back to sensible text', () => {
  it('welcome leaves the company out when there is no companyName', () => {
    const email = render(compile('welcome'), { userName: 'John' });
    expect(email.subject).toBe('Welcome, John!');
    expect(email.text).toContain('Thanks for joining us.');
    expect(email.text).toContain('The team');
    const withCompany = render(compile('welcome'), { userName: 'John', companyName: 'My Company' });
    expect(withCompany.subject).toBe('Welcome to My Company, John!');
  });

  it('password-reset says the link expires soon when there is no expiresIn', () => {
    const template = compile('password-reset');
    expect(render(template, { userName: 'John', resetLink: 'https://example.com/reset/abc123' }).text).toContain('The link expires soon');
    expect(render(template, { userName: 'John', resetLink: 'https://example.com/r', expiresIn: '24 hours' }).text).toContain('The link expires in 24 hours');
  });

  it('order-confirmation greets userName, else customerName, else "there", and shows the items table only with items', () => {
    const template = compile('order-confirmation');
    const base = { orderId: 'ORD-123', total: '$99.99' };
    expect(render(template, { ...base, userName: 'John', customerName: 'Jo' }).text).toMatch(/^Hi John,/);
    expect(render(template, { ...base, customerName: 'Jo' }).text).toMatch(/^Hi Jo,/);
    expect(render(template, base).text).toMatch(/^Hi there,/);
    const bare = render(template, base);
    expect(bare.html).not.toContain('>Qty<');
    expect(bare.text).toContain('Total: $99.99');
    const items = render(template, { ...base, items: [{ name: 'Bag', quantity: 1, price: '$99.99' }] });
    expect(items.html).toContain('>Qty<');
    expect(items.text).toContain('1 x Bag ... $99.99');
  });

  it('newsletter greets firstName, else userName, else "there"', () => {
    const template = compile('newsletter');
    const link = { unsubscribeLink: 'https://u.example/x' };
    expect(render(template, { ...link, firstName: 'Alex', userName: 'Al' }).text).toContain('Hi Alex,');
    expect(render(template, { ...link, userName: 'Alice' }).text).toContain('Hi Alice,');
    expect(render(template, link).text).toContain('Hi there,');
  });
});

describe.each(NAMES)('starter template %s', (name) => {
  const dir = join(ROOT, name);

  it('is listed in docs/TEMPLATES.md with its required variables', () => {
    const guide = readFileSync(join(ROOT, '..', 'docs', 'TEMPLATES.md'), 'utf8');
    const row = guide.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
    expect(row).toBeDefined();
    const required = (JSON.parse(read(name, 'metadata.json')) as { requiredVariables: string[] }).requiredVariables;
    for (const variable of required) expect(row).toContain(`**${variable}**`);
  });

  it('has the template files and sample data', () => {
    for (const file of FILES) expect(existsSync(join(dir, file)) ? file : `${file} (missing)`).toBe(file);
  });

  describe('metadata.json', () => {
    let raw: Record<string, unknown>;
    let metadata: TemplateMetadata | undefined;
    beforeAll(() => {
      raw = JSON.parse(read(name, 'metadata.json')) as Record<string, unknown>;
      const validated = validateTemplateMetadata(raw);
      metadata = validated.ok ? validated.value : undefined;
    });

    it('passes the engine validator', () => {
      expect(validateTemplateMetadata(raw)).toMatchObject({ ok: true });
    });

    it('has a description and a semantic version', () => {
      expect(typeof raw.description === 'string' && raw.description.length > 10).toBe(true);
      expect(raw.version).toMatch(/^\d+\.\d+\.\d+$/);
    });

    it('lists only variables the template uses', () => {
      const sources = [read(name, 'template.html'), read(name, 'template.txt'), String(raw.subject), String(raw.replyTo ?? '')].join('\n');
      const unused = (metadata as TemplateMetadata).requiredVariables.filter((v) => !new RegExp(`\\b${v}\\b`).test(sources));
      expect(unused).toEqual([]);
    });

    it('gives every required variable a value in sample-data.json', () => {
      const data = sampleData(name);
      const missing = (metadata as TemplateMetadata).requiredVariables.filter((v) => data[v] === undefined || data[v] === null);
      expect(missing).toEqual([]);
    });
  });

  describe('rendered with its sample data', () => {
    let template: CompiledTemplate;
    let data: Data;
    let email: RenderedEmail;
    let scan: ReturnType<typeof scanHtml>;
    beforeAll(() => {
      template = compile(name);
      data = sampleData(name);
      email = render(template, data);
      scan = scanHtml(email.html);
    });

    it('renders a subject, an HTML part and a text part', () => {
      expect(email.subject.trim().length).toBeGreaterThan(0);
      expect(email.html.length).toBeGreaterThan(500);
      expect(email.text.trim().length).toBeGreaterThan(50);
    });

    it('renders the template replyTo to an address when it has one', () => {
      if (template.metadata.replyTo === undefined) return;
      expect(email.replyTo).toMatch(/^[^\s@]+@[^\s@]+\.[^\s@]+$/);
    });

    it('produces well-formed HTML', () => {
      expect(scan.problems).toEqual([]);
    });

    it('declares a doctype, lang, charset, viewport, title and both colour schemes', () => {
      expect(email.html.trimStart().toLowerCase().startsWith('<!doctype html>')).toBe(true);
      const html = scan.tags.find((t) => t.name === 'html');
      expect(html?.attrs.lang).toMatch(/^[a-z]{2}/);
      const metas = scan.tags.filter((t) => t.name === 'meta');
      expect(metas.some((m) => m.attrs.charset?.toLowerCase() === 'utf-8')).toBe(true);
      expect(metas.some((m) => m.attrs.name === 'viewport' && m.attrs.content?.includes('width=device-width'))).toBe(true);
      expect(metas.find((m) => m.attrs.name === 'color-scheme')?.attrs.content).toBe('light dark');
      expect(metas.find((m) => m.attrs.name === 'supported-color-schemes')?.attrs.content).toBe('light dark');
      const title = /<title>([\s\S]*?)<\/title>/i.exec(email.html)?.[1]?.trim();
      expect(title).toBeTruthy();
    });

    it('has a hidden preheader with text', () => {
      const preheader = decodeEntities(scan.hiddenPreheader ?? '').replace(/[\s\u00a0\u034f\u2007\u200c\ufeff]+/g, ' ').trim();
      expect(preheader.length).toBeGreaterThan(10);
    });

    it('loads nothing from outside the message: no script, no external stylesheet, no web font', () => {
      expect(scan.tags.filter((t) => ['script', 'iframe', 'object', 'embed', 'form', 'base'].includes(t.name))).toEqual([]);
      expect(scan.tags.filter((t) => t.name === 'link')).toEqual([]);
      expect(/<script/i.test(email.html)).toBe(false);
      for (const css of scan.styles) {
        expect(css).not.toMatch(/@import|@font-face|url\(/i);
      }
      expect(/url\(/i.test(scan.tags.map((t) => t.attrs.style ?? '').join(';'))).toBe(false);
    });

    it('keeps the layout at most 600px wide, in tables, with alt text on images', () => {
      expect(email.html).toMatch(/max-width:\s*600px/);
      expect(email.html).toMatch(/<!--\[if mso\]>[\s\S]*width="600"[\s\S]*<!\[endif\]-->/);
      expect(scan.tags.some((t) => t.name === 'table' && t.attrs.role === 'presentation')).toBe(true);
      for (const img of scan.tags.filter((t) => t.name === 'img')) expect(img.attrs.alt).toBeDefined();
    });

    it('uses only absolute http(s) or mailto links', () => {
      const hrefs = scan.tags.filter((t) => t.name === 'a').map((t) => decodeEntities(t.attrs.href ?? ''));
      expect(hrefs.length).toBeGreaterThan(0);
      for (const href of hrefs) expect(href).toMatch(/^(https?:\/\/|mailto:)\S+$/);
    });

    it('shows every sample value in both the HTML and the text part', () => {
      const visible = normaliseSpace(decodeEntities(scan.text));
      const text = normaliseSpace(email.text);
      const required = template.metadata.requiredVariables;
      const values = required.flatMap((v) => visibleValues(data[v])).map(normaliseSpace);
      // Links appear as hrefs in HTML; every other value must be readable text.
      const hrefs = new Set(scan.tags.map((t) => decodeEntities(t.attrs.href ?? '')));
      for (const value of values) {
        if (!hrefs.has(value)) expect(visible).toContain(value);
        expect(text).toContain(value);
      }
    });

    it('has a real plain-text part, not markup', () => {
      expect(email.text).not.toMatch(/<\/?[a-z][a-z0-9]*[\s>/]/i);
      expect(email.text).not.toMatch(/&(amp|lt|gt|quot|#\d+);/);
      expect(email.text).not.toMatch(/\n{4,}/);
    });

    it('never marks template data as safe', () => {
      expect(read(name, 'template.html')).not.toMatch(/\|\s*safe\b/);
    });
  });

  it('renders with only its required variables (optional ones are guarded or have defaults)', () => {
    const template = compile(name);
    const full = sampleData(name);
    const minimal = Object.fromEntries(template.metadata.requiredVariables.map((v) => [v, full[v]]));
    const email = render(template, minimal);
    const scan = scanHtml(email.html);
    expect(scan.problems).toEqual([]);
    // No trace of a missing value: no "undefined", no "Welcome to , …", no empty greeting.
    for (const part of [email.subject, email.text, decodeEntities(scan.text)]) {
      expect(part).not.toMatch(/\bundefined\b|\bnull\b|\[object/);
      expect(part).not.toMatch(/[^\S\n][,.!:]|\b(to|with|Hi) ?[,.!]/);
    }
  });

  it('refuses to render without a required variable (TMPL003)', () => {
    const template = compile(name);
    for (const variable of template.metadata.requiredVariables) {
      const data = { ...sampleData(name) };
      delete data[variable];
      expect(renderEmail(template, data)).toMatchObject({ ok: false, code: 'TMPL003' });
    }
  });

  it('escapes markup injected through template data', () => {
    const template = compile(name);
    const hostile = mapStrings(sampleData(name), () => INJECTION) as Data;
    const rendered = renderEmail(template, hostile, { subjectOverride: 'Subject' });
    expect(rendered.ok).toBe(true);
    if (!rendered.ok) return;
    const { html } = rendered.value;
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img src=x/i);
    expect(html).toContain('&lt;script&gt;');
    expect(scanHtml(html).problems).toEqual([]);
  });

  it('shows a visible unsubscribe link in HTML and text when it is marketing mail', () => {
    const template = compile(name);
    if (template.metadata.category !== 'marketing') return;
    expect(template.metadata.requiredVariables).toContain('unsubscribeLink');
    const link = 'https://unsubscribe.example.com/u?token=abc123';
    const email = render(template, { ...sampleData(name), unsubscribeLink: link });
    const scan = scanHtml(email.html);
    const anchor = scan.tags.find((t) => t.name === 'a' && decodeEntities(t.attrs.href ?? '') === link);
    expect(anchor).toBeDefined();
    expect(scan.hiddenPreheader ?? '').not.toContain(link);
    expect(decodeEntities(scan.text)).toMatch(/unsubscribe/i);
    expect(email.text).toContain(link);
  });
});

describe('html-check', () => {
  it('reports unclosed, misnested and stray markup', () => {
    expect(scanHtml('<table><tr><td>x</tr></table>').problems.length).toBeGreaterThan(0);
    expect(scanHtml('<div><p>a</div>').problems.length).toBeGreaterThan(0);
    expect(scanHtml('<p>1 < 2</p>').problems).toEqual([expect.stringContaining('"<" that starts no tag')]);
    expect(scanHtml('<p>a & b</p>').problems).toEqual([expect.stringContaining('bare "&"')]);
    expect(scanHtml('<p><table></table></p>').problems.length).toBeGreaterThan(0);
    expect(scanHtml('<td>x</td>').problems).toEqual([]);
    expect(scanHtml('<table><td>x</td></table>').problems.length).toBeGreaterThan(0);
    expect(scanHtml('<a href="x" href="y">z</a>').problems).toEqual([expect.stringContaining('duplicate attribute')]);
  });

  it('checks Outlook conditional comments as their own balanced stream', () => {
    const ok = '<div><!--[if mso]><table><tr><td><![endif]-->x<!--[if mso]></td></tr></table><![endif]--></div>';
    expect(scanHtml(ok).problems).toEqual([]);
    const broken = '<div><!--[if mso]><table><tr><td><![endif]-->x</div>';
    expect(scanHtml(broken).problems.length).toBeGreaterThan(0);
  });

  it('finds the hidden preheader text in the body', () => {
    const scan = scanHtml('<html><body><div style="display: none">Preview &amp; more</div><p>Body</p></body></html>');
    expect(scan.hiddenPreheader).toBe('Preview &amp; more');
    expect(scan.problems).toEqual([]);
  });
});
