import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../functions/core/error-codes.js';
import { CLI_ERROR_CODES, ENGINE_ERROR_TITLES, ERROR_ALIASES, errorIndexMarkdown, headingAnchor, lookupError, registryEntries } from '../../src/error-registry.js';

/** The registry is the one list of codes: the guide and the AI index must say exactly what it says. */

const GUIDE = readFileSync(join(process.cwd(), 'docs', 'TROUBLESHOOTING.md'), 'utf8');
const INDEX = readFileSync(join(process.cwd(), 'docs', 'ai', 'ERROR_INDEX.md'), 'utf8');

function guideHeadings(): [string, string][] {
  return [...GUIDE.matchAll(/^#### `([A-Z]{2,5}\d{3})` (.+)$/gm)].map((m) => [m[1]!, m[2]!]);
}

function guideCliRows(): [string, string, string][] {
  const section = GUIDE.slice(GUIDE.indexOf('## CLI error codes'), GUIDE.indexOf('## Exit codes'));
  return [...section.matchAll(/^\| `([A-Z]{2,5}\d{3})` \| (.*) \| (.*) \|$/gm)].map((m) => [m[1]!, m[2]!, m[3]!]);
}

describe('error registry', () => {
  it('has a title for exactly the engine codes of ERROR_CODES', () => {
    expect(Object.keys(ENGINE_ERROR_TITLES).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('matches the guide\'s engine headings, code and title, in order', () => {
    expect(guideHeadings()).toEqual(Object.entries(ENGINE_ERROR_TITLES));
  });

  it('matches the guide\'s CLI error table, code, meaning and fix, in order', () => {
    expect(guideCliRows()).toEqual(Object.entries(CLI_ERROR_CODES).map(([code, e]) => [code, e.title, e.fix]));
  });

  it('gives each engine code the anchor of its heading in the guide', () => {
    const anchors = guideHeadings().map(([code, title]) => headingAnchor(`\`${code}\` ${title}`));
    expect(registryEntries().filter((e) => e.area === 'engine').map((e) => e.anchor)).toEqual(anchors);
    expect(lookupError('VAL001')?.anchor).toBe('val001-the-event-is-not-an-email-request');
    expect(GUIDE).toContain('## CLI error codes');
  });

  it('holds no code twice, and every alias points at a code it holds', () => {
    const codes = registryEntries().map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [old, now] of Object.entries(ERROR_ALIASES)) {
      expect(codes).not.toContain(old);
      expect(lookupError(old)?.code).toBe(now);
    }
  });

  it('is what docs/ai/ERROR_INDEX.md says (regenerate: npm run build && node scripts/error-index.mjs)', () => {
    expect(INDEX).toBe(errorIndexMarkdown());
  });
});
