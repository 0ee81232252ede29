import { PassThrough } from 'node:stream';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { Io } from '../../src/ui.js';
import type { Prompter, TextQuestion } from '../../src/prompts.js';
import { packageBundle, type HandlerArtifact, HANDLERS } from '../../src/packaging/build.js';

/**
 * Helpers for driving CLI commands in tests: captured output streams, a prompter that
 * answers from a script, a tiny package root (template + one starter template), and a
 * loop that advances fake timers until a command settles.
 */

export interface CapturedIo extends Io {
  out(): string;
  err(): string;
}

export function captureIo(): CapturedIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { stdout, stderr, isTTY: false, out: () => out, err: () => err };
}

export interface ScriptedPrompter extends Prompter {
  asked: string[];
}

/** Answers each question whose message contains a key of `answers`; otherwise takes the default. */
export function scriptedPrompter(answers: Record<string, string | boolean> = {}): ScriptedPrompter {
  const asked: string[] = [];
  const pick = (message: string) => Object.entries(answers).find(([k]) => message.includes(k))?.[1];
  return {
    asked,
    async text(q: TextQuestion) {
      asked.push(q.message);
      const answer = pick(q.message);
      const value = typeof answer === 'string' ? answer : (q.default ?? '');
      const problem = q.validate?.(value);
      if (problem) throw new Error(`scripted answer "${value}" to "${q.message}" is invalid: ${problem}`);
      return value;
    },
    async confirm(message: string, defaultAnswer = false) {
      asked.push(message);
      const answer = pick(message);
      return typeof answer === 'boolean' ? answer : defaultAnswer;
    },
  };
}

export const TEMPLATE_PARAMETERS = [
  'DefaultSenderEmail',
  'DefaultSenderName',
  'AdminEmail',
  'BounceRateThreshold',
  'BounceRateMinimumSends',
  'EmailSenderConcurrency',
  'SoftBounceRetryDelaySeconds',
  'SoftBounceSuppressionThreshold',
  'SoftBounceWindowDays',
  'TemplateCacheSeconds',
  'TrackingRetentionDays',
  'UnsubscribeMailto',
  'ArtifactBucket',
  'EmailSenderCodeKey',
  'FeedbackProcessorCodeKey',
  'UnsubscribeCodeKey',
  'TemplateSeederCodeKey',
  'WebhookDeliveryCodeKey',
  'WebhookUrl',
  'StarterTemplatesPrefix',
];

/** A package root with a small stack template (short-form tags included) and one starter template. */
export function fixtureRoot(resourceCount = 9): string {
  const root = mkdtempSync(join(tmpdir(), 'sme-root-'));
  mkdirSync(join(root, 'cloudformation'));
  const params = TEMPLATE_PARAMETERS.map((p) => `  ${p}:\n    Type: String\n    Default: ''`).join('\n');
  const resources = Array.from({ length: resourceCount }, (_, i) => `  R${i}:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub '\${AWS::StackName}-q${i}'`).join('\n');
  writeFileSync(join(root, 'cloudformation', 'template.yaml'), `AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n${params}\nResources:\n${resources}\n`);
  const welcome = join(root, 'starter-templates', 'welcome');
  mkdirSync(welcome, { recursive: true });
  writeFileSync(join(welcome, 'metadata.json'), JSON.stringify({ subject: 'Welcome {{ userName }}', version: '1.0.0', requiredVariables: ['userName'], category: 'transactional', description: 'x' }));
  writeFileSync(join(welcome, 'template.html'), '<p>Hello {{ userName }}</p>');
  writeFileSync(join(welcome, 'template.txt'), 'Hello {{ userName }}');
  return root;
}

/** Stand-in artifacts so command tests do not run esbuild. */
export async function fakeArtifacts(): Promise<HandlerArtifact[]> {
  return HANDLERS.map((h) => packageBundle(h, Buffer.from(`export const handler = async () => '${h.name}';`)));
}

/** Advances fake timers until the promise settles; returns its result (or throws its error). */
export async function settle<T>(promise: Promise<T>, stepMs = 1_000, maxSteps = 10_000): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; !done && i < maxSteps; i++) await jest.advanceTimersByTimeAsync(stepMs);
  return promise;
}

/** DNS that has no records (NXDOMAIN for every name, as node reports it): a deliverability check that never leaves the machine. */
export const noDns = {
  resolveTxt: async (name: string): Promise<string[][]> => Promise.reject(Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' })),
};
