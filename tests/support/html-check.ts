/**
 * A small, strict HTML scanner for e-mail templates. Browsers forgive broken markup;
 * mail clients forgive it differently, so tests insist on balanced, explicit markup:
 * every non-void element closed in order, no stray "<" or bare "&", no duplicate
 * attributes, table rows and cells where tables expect them, no block inside <p>.
 * Markup inside Outlook conditional comments (<!--[if mso]>…<![endif]-->) is checked as
 * its own stream, because those fragments open and close across several comments.
 */

export interface HtmlTag {
  name: string;
  attrs: Record<string, string>;
  /** 1-based line of the tag's "<". */
  line: number;
}

export interface HtmlScan {
  /** Problems found; empty when the markup is well-formed. */
  problems: string[];
  /** Every start tag outside comments, in document order. */
  tags: HtmlTag[];
  /** Text content of the document outside comments, style and script, entities left as-is. */
  text: string;
  /** Text inside the first element hidden with display:none in <body> (the preheader), or undefined. */
  hiddenPreheader: string | undefined;
  /** Contents of <style> elements outside comments. */
  styles: string[];
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
const RAW_TEXT = new Set(['script', 'style', 'title', 'textarea']);
const BLOCK_IN_P = new Set(['table', 'div', 'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'blockquote', 'pre', 'hr']);
const PARENTS: Record<string, string[]> = {
  tr: ['table', 'tbody', 'thead', 'tfoot'],
  td: ['tr'],
  th: ['tr'],
  tbody: ['table'],
  thead: ['table'],
  tfoot: ['table'],
  li: ['ul', 'ol'],
};

const COMMENT = /<!--([\s\S]*?)-->/y;
const DOCTYPE = /<!doctype\s[^>]*>/iy;
const END_TAG = /<\/([a-zA-Z][a-zA-Z0-9:-]*)\s*>/y;
const START_TAG =
  /<([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>/y;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const CONDITIONAL = /^\[if [^\]]*\]>([\s\S]*)<!\[endif\]$/;
const BARE_AMPERSAND = /&(?!#\d+;|#x[0-9a-fA-F]+;|[a-zA-Z][a-zA-Z0-9]*;)/;

function lineAt(html: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (html.charCodeAt(i) === 10) line++;
  return line;
}

function parseAttrs(source: string, problems: string[], where: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const match of source.matchAll(ATTR)) {
    const name = match[1]!.toLowerCase();
    if (name in attrs) problems.push(`${where}: duplicate attribute "${name}"`);
    attrs[name] = match[2] ?? match[3] ?? match[4] ?? '';
  }
  return attrs;
}

interface StreamResult {
  tags: HtmlTag[];
  text: string;
  hiddenPreheader: string | undefined;
  styles: string[];
  conditionals: string[];
}

function scanStream(html: string, label: string, problems: string[]): StreamResult {
  const stack: HtmlTag[] = [];
  const tags: HtmlTag[] = [];
  const styles: string[] = [];
  const conditionals: string[] = [];
  let text = '';
  let hiddenDepth = -1;
  let hiddenText: string | undefined;
  let hiddenDone = false;
  let inBody = false;
  let i = 0;

  const addText = (chunk: string, at: number) => {
    if (BARE_AMPERSAND.test(chunk)) problems.push(`${label} line ${lineAt(html, at)}: bare "&" (write &amp;)`);
    text += chunk;
    if (hiddenDepth >= 0 && hiddenText !== undefined) hiddenText += chunk;
  };

  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt === -1) {
      addText(html.slice(i), i);
      break;
    }
    if (lt > i) addText(html.slice(i, lt), i);
    i = lt;
    const where = `${label} line ${lineAt(html, i)}`;

    COMMENT.lastIndex = i;
    const comment = COMMENT.exec(html);
    if (comment) {
      const inner = CONDITIONAL.exec(comment[1]!);
      if (inner) conditionals.push(inner[1]!);
      i = COMMENT.lastIndex;
      continue;
    }
    DOCTYPE.lastIndex = i;
    if (DOCTYPE.exec(html)) {
      i = DOCTYPE.lastIndex;
      continue;
    }
    END_TAG.lastIndex = i;
    const end = END_TAG.exec(html);
    if (end) {
      const name = end[1]!.toLowerCase();
      const open = stack.pop();
      if (!open) problems.push(`${where}: </${name}> closes nothing`);
      else if (open.name !== name) {
        problems.push(`${where}: </${name}> closes <${open.name}> opened on line ${open.line}`);
      }
      if (hiddenDepth >= 0 && stack.length === hiddenDepth) {
        hiddenDepth = -1;
        hiddenDone = true;
      }
      i = END_TAG.lastIndex;
      continue;
    }
    START_TAG.lastIndex = i;
    const start = START_TAG.exec(html);
    if (!start) {
      problems.push(`${where}: "<" that starts no tag (write &lt;)`);
      addText('<', i);
      i += 1;
      continue;
    }
    i = START_TAG.lastIndex;
    const name = start[1]!.toLowerCase();
    const tag: HtmlTag = { name, attrs: parseAttrs(start[2] ?? '', problems, where), line: lineAt(html, start.index) };
    tags.push(tag);
    const parent = stack[stack.length - 1];
    const allowed = PARENTS[name];
    if (allowed && parent && !allowed.includes(parent.name)) {
      problems.push(`${where}: <${name}> inside <${parent.name}> (expected inside ${allowed.join('/')})`);
    }
    if (BLOCK_IN_P.has(name) && stack.some((open) => open.name === 'p')) {
      problems.push(`${where}: <${name}> inside <p> (browsers close the paragraph early)`);
    }
    if (name === 'body') inBody = true;
    if (VOID.has(name) || start[3] === '/') continue;
    if (RAW_TEXT.has(name)) {
      const close = html.toLowerCase().indexOf(`</${name}`, i);
      if (close === -1) {
        problems.push(`${where}: <${name}> is never closed`);
        break;
      }
      const content = html.slice(i, close);
      if (name === 'style') styles.push(content);
      else if (name === 'title' || name === 'textarea') addText(content, i);
      stack.push(tag);
      i = close;
      continue;
    }
    const style = (tag.attrs.style ?? '').replace(/\s+/g, '').toLowerCase();
    if (inBody && !hiddenDone && hiddenDepth < 0 && style.includes('display:none')) {
      hiddenDepth = stack.length;
      hiddenText = '';
    }
    stack.push(tag);
  }
  for (const open of stack.reverse()) problems.push(`${label}: <${open.name}> opened on line ${open.line} is never closed`);
  return { tags, text, hiddenPreheader: hiddenText, styles, conditionals };
}

/** Scans a rendered template. */
export function scanHtml(html: string): HtmlScan {
  const problems: string[] = [];
  const main = scanStream(html, 'html', problems);
  if (main.conditionals.length > 0) {
    scanStream(main.conditionals.join('\n'), 'conditional comments', problems);
  }
  return {
    problems,
    tags: main.tags,
    text: main.text,
    hiddenPreheader: main.hiddenPreheader,
    styles: main.styles,
  };
}

/** Decodes the entities a template's text commonly holds (for comparing visible text). */
export function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', zwnj: '\u200c' };
  return text.replace(/&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return named[entity] ?? whole;
  });
}
