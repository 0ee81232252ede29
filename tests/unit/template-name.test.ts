import { describe, expect, it } from '@jest/globals';
import { TEMPLATE_NAME_PATTERN } from '../../functions/core/template-name.js';
import { starterTemplateFromFiles } from '../../functions/lib/template-seeding.js';

const files = { 'metadata.json': JSON.stringify({ version: '1.0.0' }), 'template.html': '<p>x</p>' };

describe('template names', () => {
  it.each(['welcome', 'order-confirmation', 'v2_invoice', '9lives'])('accepts %s everywhere', (name) => {
    expect(TEMPLATE_NAME_PATTERN.test(name)).toBe(true);
    expect(starterTemplateFromFiles(name, files).name).toBe(name);
  });

  it.each(['_hidden', '-dash', '../up', 'a/b', 'a.b', '', 'x'.repeat(65)])(
    'the seeder refuses %j, which the sender could never load',
    (name) => {
      expect(TEMPLATE_NAME_PATTERN.test(name)).toBe(false);
      expect(() => starterTemplateFromFiles(name, files)).toThrow(/not a valid template name/);
    },
  );
});
