import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadTemplate } from '../support/cloudformation.js';
import { FUNCTIONS_DIR, analyseHandler } from '../support/handler-analysis.js';

/**
 * The template sets exactly the environment each handler reads: every variable read through
 * lib/env.ts (with a literal name, anywhere in the handler's import graph) is set on that
 * function, and every variable set is read.
 */

const template = loadTemplate();

/** The documented contract: the variables the stack sets on each function (docs/ARCHITECTURE.md). */
const CONTRACT = {
  EmailSenderFunction: {
    dir: 'email-sender',
    vars: [
      'SEND_QUEUE_URL',
      'SEND_QUEUE_ARN',
      'SCHEDULE_GROUP_NAME',
      'SCHEDULER_ROLE_ARN',
      'TRACKING_TABLE',
      'SUPPRESSION_TABLE',
      'COUNTERS_TABLE',
      'TEMPLATE_BUCKET',
      'CONFIGURATION_SET',
      'DEFAULT_SENDER_EMAIL',
      'DEFAULT_SENDER_NAME',
      'BOUNCE_RATE_THRESHOLD',
      'BOUNCE_RATE_MIN_SENDS',
      'TEMPLATE_CACHE_SECONDS',
      'TRACKING_RETENTION_DAYS',
      'UNSUBSCRIBE_URL',
      'UNSUBSCRIBE_SECRET_ARN',
      'UNSUBSCRIBE_MAILTO',
      'ATTACHMENTS_MAX_BYTES',
    ],
  },
  FeedbackProcessorFunction: {
    dir: 'feedback-processor',
    vars: [
      'TRACKING_TABLE',
      'SUPPRESSION_TABLE',
      'COUNTERS_TABLE',
      'EVENT_BUS_NAME',
      'SEND_QUEUE_URL',
      'SOFT_BOUNCE_RETRY_DELAY_SECONDS',
      'SOFT_BOUNCE_SUPPRESSION_THRESHOLD',
      'SOFT_BOUNCE_WINDOW_DAYS',
      'TRACKING_RETENTION_DAYS',
    ],
  },
  UnsubscribeFunction: { dir: 'unsubscribe', vars: ['SUPPRESSION_TABLE', 'UNSUBSCRIBE_SECRET_ARN'] },
  TemplateSeederFunction: { dir: 'template-seeder', vars: ['TEMPLATE_BUCKET', 'ARTIFACT_BUCKET', 'STARTER_TEMPLATES_PREFIX'] },
} as const;

/** Read by the code but set only by local mode and tests (the stack uses the *_ARN form). */
const LOCAL_ONLY = new Set(['UNSUBSCRIBE_SECRET']);

function templateVariables(fn: string): string[] {
  const props = template.Resources[fn]!.Properties as { Environment?: { Variables?: Record<string, unknown> } };
  return Object.keys(props.Environment?.Variables ?? {}).sort();
}

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
