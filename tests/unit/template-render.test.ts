import { describe, expect, it } from '@jest/globals';
import {
  compileTemplate,
  missingVariables,
  renderEmail,
  unknownMetadataFields,
  unsafeUrlIn,
  validateTemplateMetadata,
  type CompiledTemplate,
  type TemplateSource,
} from '../../functions/core/template-render.js';

const metadata = {
  subject: 'Welcome to {{ companyName }}, {{ userName }}!',
  requiredVariables: ['userName', 'companyName'],
  category: 'transactional',
  version: '1.0.0',
  description: 'Welcome mail',
};

function source(overrides: Partial<TemplateSource> & { meta?: object } = {}): TemplateSource {
  return {
    name: 'welcome',
    html: '<p>Hello {{ userName }}</p>{% if promo %}<p>{{ promo }}</p>{% endif %}',
    text: 'Hello {{ userName }}',
    metadata: JSON.stringify(overrides.meta ?? metadata),
    ...overrides,
  };
}

function compiled(overrides: Parameters<typeof source>[0] = {}): CompiledTemplate {
  const result = compileTemplate(source(overrides));
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result.value;
}

function rendered(template: CompiledTemplate, data: Record<string, unknown>, options = {}) {
  const result = renderEmail(template, data, options);
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result.value;
}

describe('validateTemplateMetadata', () => {
  it('accepts a complete metadata object', () => {
    const result = validateTemplateMetadata({ ...metadata, senderEmail: 'hello@app.example', senderName: 'App', replyTo: '{{ x }}' });
    expect(result).toEqual({ ok: true, value: { ...metadata, senderEmail: 'hello@app.example', senderName: 'App', replyTo: '{{ x }}' } });
  });

  it('drops empty optional sender fields', () => {
    const result = validateTemplateMetadata({ ...metadata, senderEmail: '', senderName: null });
    expect(result.ok && result.value).toEqual(metadata);
  });

  it.each([
    ['not an object', []],
    ['no subject', { ...metadata, subject: undefined }],
    ['an empty subject', { ...metadata, subject: ' ' }],
    ['a subject with a line break', { ...metadata, subject: 'Hi\nthere' }],
    ['requiredVariables not an array', { ...metadata, requiredVariables: 'userName' }],
    ['a non-string required variable', { ...metadata, requiredVariables: ['userName', 3] }],
    ['a required variable that is no name', { ...metadata, requiredVariables: ['user name'] }],
    ['an unknown category', { ...metadata, category: 'promo' }],
    ['a version that is not semver', { ...metadata, version: '1.0' }],
    ['a numeric version', { ...metadata, version: 1 }],
    ['a numeric description', { ...metadata, description: 7 }],
    ['a category of the wrong type', { ...metadata, category: ['marketing'] }],
    ['an invalid senderEmail', { ...metadata, senderEmail: 'noreply' }],
    ['a senderName with a line break', { ...metadata, senderName: 'A\r\nBcc: x@y.com' }],
    ['a numeric replyTo', { ...metadata, replyTo: 5 }],
  ])('refuses %s with TMPL002', (_label, raw) => {
    expect(validateTemplateMetadata(raw)).toMatchObject({ ok: false, code: 'TMPL002' });
  });

  it('needs only a subject, and fills in the documented defaults', () => {
    expect(validateTemplateMetadata({ subject: 'Hi' })).toEqual({
      ok: true,
      value: { subject: 'Hi', requiredVariables: [], category: 'transactional', description: '' },
    });
  });

  it('accepts the original product\'s contact-form metadata (subject, senderEmail, replyTo)', () => {
    const original = { subject: 'Contact Form: {{ formSenderName }}', senderEmail: 'noreply@company.com', replyTo: '{{ formSenderEmail }}' };
    expect(validateTemplateMetadata(original)).toEqual({ ok: true, value: { ...original, requiredVariables: [], category: 'transactional', description: '' } });
  });

  it('treats null optional fields as absent', () => {
    const result = validateTemplateMetadata({ subject: 'Hi', requiredVariables: null, category: null, version: null, description: null });
    expect(result).toEqual({ ok: true, value: { subject: 'Hi', requiredVariables: [], category: 'transactional', description: '' } });
  });

  it('ignores fields it does not know, and names them', () => {
    const raw = { subject: 'Hi', templateId: 'tpl-7', tags: ['a'] };
    expect(validateTemplateMetadata(raw)).toMatchObject({ ok: true, value: { subject: 'Hi' } });
    expect(unknownMetadataFields(raw)).toEqual(['templateId', 'tags']);
    expect(unknownMetadataFields(metadata)).toEqual([]);
  });

  it('accepts pre-release and build semver', () => {
    expect(validateTemplateMetadata({ ...metadata, version: '2.1.0-beta.1+build.5' }).ok).toBe(true);
  });
});

describe('compileTemplate', () => {
  it('refuses metadata that is not JSON with TMPL002', () => {
    expect(compileTemplate(source({ metadata: '{subject:' }))).toMatchObject({ ok: false, code: 'TMPL002' });
  });

  it('reports a syntax error with TMPL004 naming the file', () => {
    const result = compileTemplate(source({ html: '<p>{{ userName </p>' }));
    expect(result).toMatchObject({ ok: false, code: 'TMPL004' });
    expect(!result.ok && result.message).toMatch(/welcome\/template\.html/);
  });

  it('parses the template sender address', () => {
    expect(compiled({ meta: { ...metadata, senderEmail: 'hi@bücher.de' } }).senderAddress?.address).toBe('hi@xn--bcher-kva.de');
  });
});

describe('renderEmail', () => {
  const data = { userName: 'Ann', companyName: 'Acme' };

  it('renders subject, HTML and text', () => {
    expect(rendered(compiled(), data)).toEqual({ subject: 'Welcome to Acme, Ann!', html: '<p>Hello Ann</p>', text: 'Hello Ann' });
  });

  it('escapes templateData in HTML but not in text or subject', () => {
    const email = rendered(compiled(), { userName: '<script>alert("x")</script> & \'co\'', companyName: 'A&B' });
    expect(email.html).toBe('<p>Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</p>');
    expect(email.text).toBe('Hello <script>alert("x")</script> & \'co\'');
    expect(email.subject).toBe('Welcome to A&B, <script>alert("x")</script> & \'co\'!');
  });

  it('escapes attribute-breaking values', () => {
    const template = compiled({ html: '<a href="{{ link }}">go</a>', meta: { ...metadata, requiredVariables: ['link'] } });
    expect(rendered(template, { ...data, link: '" onmouseover="alert(1)' }).html).toBe('<a href="&quot; onmouseover=&quot;alert(1)">go</a>');
  });

  it('uses the request subject literally, never as a template', () => {
    expect(rendered(compiled(), data, { subjectOverride: 'Your code: {{ 7*7 }}' }).subject).toBe('Your code: {{ 7*7 }}');
  });

  it('checks required variables before rendering (TMPL003), even those used only inside if', () => {
    const template = compiled({ html: '{% if userName %}Hi {{ userName }}{% endif %}', text: 'x', meta: { ...metadata, subject: 'Hi' } });
    const result = renderEmail(template, { companyName: 'Acme' });
    expect(result).toEqual({ ok: false, code: 'TMPL003', message: 'templateData lacks required variable "userName" of template "welcome".' });
  });

  it('lists every missing variable', () => {
    const result = renderEmail(compiled(), {});
    expect(!result.ok && result.message).toMatch(/variables "userName", "companyName"/);
  });

  it('fails with TMPL004 on an undefined variable that is output but not declared required', () => {
    const template = compiled({ text: 'Order {{ orderId }}' });
    expect(renderEmail(template, data)).toMatchObject({ ok: false, code: 'TMPL004' });
  });

  it('renders loops over templateData', () => {
    const template = compiled({ html: '<ul>{% for i in items %}<li>{{ i.name }}: {{ i.qty }}</li>{% endfor %}</ul>' });
    expect(rendered(template, { ...data, items: [{ name: '<b>', qty: 2 }] }).html).toBe('<ul><li>&lt;b&gt;: 2</li></ul>');
  });

  it('cannot include, extend or import other files', () => {
    for (const html of ['{% include "../../etc/passwd" %}', '{% extends "base.html" %}', '{% import "macros.html" as m %}']) {
      expect(renderEmail(compiled({ html }), data)).toMatchObject({ ok: false, code: 'TMPL004' });
    }
  });

  it('cannot reach the Function constructor or Node.js globals from a template', () => {
    const escapes = [
      '{{ "".constructor.constructor("return process")().env }}',
      '{{ range.constructor("return process")() }}',
      '{{ cycler.__proto__ }}',
    ];
    for (const html of escapes) {
      const result = renderEmail(compiled({ html }), data);
      // Either the lookup renders as nothing (and so fails as undefined) or it renders harmlessly.
      if (result.ok) expect(result.value.html).not.toMatch(/object|process|function|native/i);
      else expect(result.code).toBe('TMPL004');
    }
  });

  it('renders templateData keys named after Object.prototype members as given, at the top and as members', () => {
    const html = '{{ constructor }}|{{ toString }}|{{ __defineGetter__ }}|{{ form.constructor.name }}|{{ form.hasOwnProperty }}|{{ form.prototype }}';
    const given = { ...data, constructor: 'C', toString: 'T', __defineGetter__: 'G', form: { constructor: { name: 'N' }, hasOwnProperty: 'H', prototype: 'P' } };
    expect(rendered(compiled({ html }), given).html).toBe('C|T|G|N|H|P');
  });

  it('still hides those members where the data does not have them as its own keys', () => {
    // An own "constructor" that is a string leads to String's members, which stay hidden.
    for (const html of ['{{ form.constructor }}', '{{ form.constructor.constructor }}', '{{ form.name.constructor }}']) {
      expect(renderEmail(compiled({ html }), { ...data, form: { name: 'x', constructor: 'y' }, ...(html === '{{ form.constructor }}' ? { form: { name: 'x' } } : {}) })).toMatchObject({
        ok: false,
        code: 'TMPL004',
      });
    }
  });

  it('reads a top-level name only from the data itself: an inherited one is undefined, not a function', () => {
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf']) {
      expect(renderEmail(compiled({ html: `{{ ${name} }}` }), data)).toMatchObject({ ok: false, code: 'TMPL004' });
      expect(renderEmail(compiled({ html: `[{{ ${name} | default("none") }}]` }), data)).toMatchObject({ ok: true, value: { html: '[none]' } });
    }
    // nunjucks' own helpers stay available, and a loop variable still shadows the data.
    expect(rendered(compiled({ html: '{% for i in range(2) %}{{ i }}{% endfor %}|{% for userName in ["L"] %}{{ userName }}{% endfor %}' }), data).html).toBe('01|L');
  });

  it('fails with TMPL004, not a crash, when a template prints an object whose own toString is data', () => {
    const given = { ...data, form: { toString: 'T', valueOf: 'V' } };
    expect(renderEmail(compiled({ html: '{{ form }}' }), given)).toMatchObject({ ok: false, code: 'TMPL004' });
    expect(renderEmail(compiled({ text: '{{ form }}' }), given)).toMatchObject({ ok: false, code: 'TMPL004' });
  });

  it('refuses a subject that renders with a line break (VAL005)', () => {
    expect(renderEmail(compiled(), { userName: 'Ann\r\nBcc: x@y.com', companyName: 'Acme' })).toMatchObject({ ok: false, code: 'VAL005' });
  });

  it('refuses a subject that renders too long (VAL007) or empty (TMPL004)', () => {
    expect(renderEmail(compiled(), { userName: 'x'.repeat(1000), companyName: 'A' })).toMatchObject({ ok: false, code: 'VAL007' });
    const blank = compiled({ meta: { ...metadata, subject: '{{ userName }}' } });
    expect(renderEmail(blank, { userName: ' ', companyName: 'A' })).toMatchObject({ ok: false, code: 'TMPL004' });
  });

  it('refuses a message whose HTML and text both render empty', () => {
    expect(renderEmail(compiled({ html: ' ', text: '' }), data)).toMatchObject({ ok: false, code: 'TMPL004' });
  });

  it('renders the template replyTo only when asked', () => {
    const template = compiled({ meta: { ...metadata, replyTo: '{{ formSenderEmail }}' } });
    expect(rendered(template, data).replyTo).toBeUndefined();
    expect(rendered(template, { ...data, formSenderEmail: 'jane@example.com' }, { renderReplyTo: true }).replyTo).toBe('jane@example.com');
  });

  it('does not treat inherited object properties as provided variables', () => {
    expect(missingVariables(['constructor', 'toString'], {})).toEqual(['constructor', 'toString']);
    expect(missingVariables(['a', 'b', 'c'], { a: '', b: 0, c: null })).toEqual(['c']);
  });
});

describe('script and data URLs in links', () => {
  const linked = compiled({ html: '<p>Hi {{ userName }}</p><a href="{{ link }}">Open</a><img src="{{ image }}" alt="">' });
  const data = (link: string, image = 'https://cdn.example.com/logo.png') => ({ userName: 'Ann', companyName: 'Acme', link, image });

  it.each([
    'javascript:alert(document.cookie)',
    'JavaScript:alert(1)',
    ' \tjavascript:alert(1)',
    'java\nscript:alert(1)',
    'vbscript:msgbox(1)',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'data:image/png;base64,iVBORw0KGgo=',
  ])('refuses href="%s" with TMPL006 (the email is not sent)', (link) => {
    const result = renderEmail(linked, data(link));
    expect(result).toMatchObject({ ok: false, code: 'TMPL006' });
    if (!result.ok) expect(result.message).toContain('href');
  });

  it('refuses a data: document as an image source but keeps inline images', () => {
    expect(renderEmail(linked, data('https://app.example.com', 'data:image/svg+xml;base64,PHN2Zz4='))).toMatchObject({ ok: false, code: 'TMPL006' });
    expect(renderEmail(linked, data('https://app.example.com', 'data:image/png;base64,iVBORw0KGgo='))).toMatchObject({ ok: true });
  });

  it.each(['https://app.example.com/reset?token=a&b=c', 'http://example.com', 'mailto:help@example.com', 'tel:+15551234567', '/relative/path', '#top', 'https://example.com/javascript:x'])(
    'keeps %s',
    (link) => {
      expect(renderEmail(linked, data(link))).toMatchObject({ ok: true });
    },
  );

  it('sees through entities in URLs written into the template itself', () => {
    // (Entities in templateData are escaped by autoescape and stay literal text.)
    for (const html of ['<a href="jav&#x09;ascript:alert(1)">', '<a href="javascript&colon;alert(1)">', '<a href="&#106;avascript:alert(1)">', '<a href="&#x6A;avascript&#58;x">']) {
      expect(unsafeUrlIn(html)).toMatchObject({ attribute: 'href' });
    }
    expect(renderEmail(compiled({ html: '<a href="&#106;avascript:go()">{{ userName }}</a>' }), { userName: 'A', companyName: 'B' })).toMatchObject({ ok: false, code: 'TMPL006' });
  });

  it('looks at every URL attribute, quoted or not, and at srcset candidates', () => {
    expect(unsafeUrlIn('<form action=javascript:go()>')).toEqual({ attribute: 'action', url: 'javascript:go()' });
    expect(unsafeUrlIn("<table background='vbscript:x'>")).toMatchObject({ attribute: 'background' });
    expect(unsafeUrlIn('<img srcset="https://a.example/1.png 1x, javascript:x 2x">')).toMatchObject({ attribute: 'srcset', url: 'javascript:x' });
    expect(unsafeUrlIn('<p>Type javascript:alert(1) into nothing</p><a title="javascript:x" href="https://ok.example">')).toBeUndefined();
    expect(unsafeUrlIn('<a/href="javascript:x">')).toMatchObject({ attribute: 'href' });
    expect(unsafeUrlIn('<a title="t"href="javascript:x">')).toMatchObject({ attribute: 'href' });
    expect(unsafeUrlIn('<a\n  HREF = \'JavaScript:x\'>')).toMatchObject({ attribute: 'href' });
  });
});
