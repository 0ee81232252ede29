import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTemplate } from '../support/cloudformation.js';
import { FUNCTIONS_DIR, analyseHandler } from '../support/handler-analysis.js';

/**
 * The template sets exactly the environment each handler reads: every variable read through
 * lib/env.ts (with a literal name, anywhere in the handler's import graph) is set on that
 * function, and every variable set is read.
 */

const template = loadTemplate();

/** The handler folder of each function. */
const HANDLER_DIRS: Record<string, string> = {
  EmailSenderFunction: 'email-sender',
  FeedbackProcessorFunction: 'feedback-processor',
  UnsubscribeFunction: 'unsubscribe',
  TemplateSeederFunction: 'template-seeder',
  WebhookDeliveryFunction: 'webhook-delivery',
};

/** The documented contract: the "Environment variables" table of docs/ARCHITECTURE.md. */
function documentedContract(): Record<string, { dir: string; vars: string[] }> {
  const doc = readFileSync(join(process.cwd(), 'docs', 'ARCHITECTURE.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Environment variables'));
  const contract: Record<string, { dir: string; vars: string[] }> = {};
  for (const line of section.split('\n')) {
    const row = /^\| `(\w+)` \| (.+) \|$/.exec(line);
    if (!row) continue;
    const [, fn, cell] = row as unknown as [string, string, string];
    contract[fn] = { dir: HANDLER_DIRS[fn] ?? '', vars: [...cell.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!) };
  }
  return contract;
}

const CONTRACT = documentedContract();

/** Read by the code but set only by local mode and tests (the stack uses the *_ARN form). */
const LOCAL_ONLY = new Set(['UNSUBSCRIBE_SECRET', 'WEBHOOK_SECRET']);

function templateVariables(fn: string): string[] {
  const props = template.Resources[fn]!.Properties as { Environment?: { Variables?: Record<string, unknown> } };
  return Object.keys(props.Environment?.Variables ?? {}).sort();
}

describe('the documented environment contract', () => {
  it('covers every Lambda function of the template', () => {
    const functions = Object.entries(template.Resources)
      .filter(([, resource]) => (resource as { Type?: string }).Type === 'AWS::Lambda::Function')
      .map(([name]) => name)
      .sort();
    expect(Object.keys(CONTRACT).sort()).toEqual(functions);
    expect(Object.values(CONTRACT).every((entry) => entry.dir !== '' && entry.vars.length > 0)).toBe(true);
  });
});

describe.each(Object.entries(CONTRACT))('%s environment', (fn, { dir, vars }) => {
  const entry = join(FUNCTIONS_DIR, dir, 'handler.ts');
  const analysis = existsSync(entry) ? analyseHandler(entry) : undefined;
  const check = analysis ? it : it.skip;

  it('is exactly the documented contract', () => {
    expect(templateVariables(fn)).toEqual([...vars].sort());
  });

  check('sets every variable the handler reads', () => {
    const read = [...new Set(analysis!.envReads.map((e) => e.name))].filter((name) => !LOCAL_ONLY.has(name));
    expect(read.length).toBeGreaterThan(0);
    expect(read.filter((name) => !templateVariables(fn).includes(name)).sort()).toEqual([]);
  });

  check('sets no variable the handler never reads', () => {
    const read = new Set(analysis!.envReads.map((e) => e.name));
    expect(templateVariables(fn).filter((name) => !read.has(name))).toEqual([]);
  });

  check('reads the environment only through lib/env.ts with literal names', () => {
    expect(analysis!.nonLiteralEnvReads).toEqual([]);
    expect(analysis!.directEnvReads).toEqual([]);
  });

});
