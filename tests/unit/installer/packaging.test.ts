import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HANDLERS, buildHandlers, handlerEntry, packageBundle, bundleHandler } from '../../../src/packaging/build.js';
import { packageRoot } from '../../../src/package-root.js';
import { readZip } from '../../support/zip-reader.js';

/**
 * Handler packaging: esbuild bundle → deterministic zip → content-hashed key. The zip is
 * unpacked and its index.mjs imported by a real Node process (as Lambda's runtime would),
 * which must find an exported `handler` function.
 */

const ROOT = packageRoot();
// Under node_modules so that the unpacked bundle resolves @aws-sdk/* like the Lambda runtime does.
const SCRATCH_BASE = join(ROOT, 'node_modules', '.cache', 'sesmailengine-tests');

let scratch: string;
beforeAll(() => {
  mkdirSync(SCRATCH_BASE, { recursive: true });
  scratch = mkdtempSync(join(SCRATCH_BASE, 'pkg-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function exportedHandlerType(zip: Buffer, name: string): string {
  const entries = readZip(zip);
  expect(entries.map((e) => e.name)).toContain('index.mjs');
  for (const entry of entries) expect(entry.name).toMatch(/^(index\.mjs|chunks\/[\w.-]+\.mjs)$/);
  const dir = join(scratch, name);
  for (const entry of entries) {
    mkdirSync(dirname(join(dir, entry.name)), { recursive: true });
    writeFileSync(join(dir, entry.name), entry.data);
  }
  const file = join(dir, 'index.mjs');
  return execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `const m = await import(${JSON.stringify(file)}); console.log(typeof m.handler);`],
    { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'us-east-1' } },
  ).trim();
}

describe('handler packaging with a fixture entry', () => {
  let fixtureRoot: string;
  beforeAll(() => {
    fixtureRoot = mkdtempSync(join(scratch, 'fixture-'));
    mkdirSync(join(fixtureRoot, 'functions', 'demo'), { recursive: true });
    writeFileSync(join(fixtureRoot, 'functions', 'demo', 'greeting.ts'), 'export const greet = (n: string): string => `hello ${n}`;\n');
    writeFileSync(
      join(fixtureRoot, 'functions', 'demo', 'handler.ts'),
      [
        "import { S3Client } from '@aws-sdk/client-s3';",
        "import { greet } from './greeting.js';",
        'let client: S3Client | undefined;',
        'export const handler = async (event: { name?: string }) => {',
        '  client ??= new S3Client({});',
        "  return greet(event.name ?? 'world');",
        '};',
      ].join('\n'),
    );
  });

  it('builds the same bytes and key twice', async () => {
    const spec = [{ name: 'demo', parameter: 'DemoCodeKey' }];
    const [first] = await buildHandlers(fixtureRoot, spec);
    const [second] = await buildHandlers(fixtureRoot, spec);
    expect(first!.zip.equals(second!.zip)).toBe(true);
    expect(first!.key).toBe(second!.key);
    expect(first!.key).toMatch(/^artifacts\/demo-[0-9a-f]{64}\.zip$/);
  });

  it('leaves the AWS SDK out of the bundle and exports handler', async () => {
    const files = await bundleHandler(join(fixtureRoot, 'functions', 'demo', 'handler.ts'), fixtureRoot);
    expect(files.map((f) => f.path)).toEqual(['index.mjs']);
    const bundle = Buffer.from(files[0]!.data);
    expect(bundle.toString()).toMatch(/from\s*"@aws-sdk\/client-s3"/);
    expect(bundle.length).toBeLessThan(5_000);
    const artifact = packageBundle({ name: 'demo', parameter: 'DemoCodeKey' }, files);
    expect(exportedHandlerType(artifact.zip, 'demo')).toBe('function');
  });

  it('changes the key when the code changes', () => {
    const a = packageBundle({ name: 'demo', parameter: 'X' }, Buffer.from('export const handler = () => 1;'));
    const b = packageBundle({ name: 'demo', parameter: 'X' }, Buffer.from('export const handler = () => 2;'));
    expect(a.key).not.toBe(b.key);
  });
});

describe('the real handlers', () => {
  it('keep the scheduling path and its SDK packages out of the Email Sender\'s entry module', async () => {
    const files = await bundleHandler(handlerEntry(ROOT, 'email-sender'), ROOT);
    const entry = Buffer.from(files[0]!.data).toString();
    const rest = files.slice(1).map((f) => Buffer.from(f.data).toString()).join('\n');
    expect(entry).not.toMatch(/@aws-sdk\/client-(scheduler|sqs)/);
    expect(rest).toMatch(/@aws-sdk\/client-scheduler/);
    expect(entry).toMatch(/@aws-sdk\/client-sesv2/);
  });

  const present = HANDLERS.filter((h) => existsSync(join(ROOT, 'functions', h.name, 'handler.ts')));

  it('finds all five handlers', () => {
    expect(present.map((h) => h.name)).toEqual(['email-sender', 'feedback-processor', 'unsubscribe', 'template-seeder', 'webhook-delivery']);
  });

  it('names one artifact per handler and stack parameter', () => {
    expect(HANDLERS.map((h) => h.parameter)).toEqual([
      'EmailSenderCodeKey',
      'FeedbackProcessorCodeKey',
      'UnsubscribeCodeKey',
      'TemplateSeederCodeKey',
      'WebhookDeliveryCodeKey',
    ]);
    for (const h of present) expect(handlerEntry(ROOT, h.name)).toMatch(/handler\.ts$/);
  });

  it(
    'build deterministically into small zips (< 1 MB) whose index.mjs exports handler',
    async () => {
      const first = await buildHandlers(ROOT, present);
      const second = await buildHandlers(ROOT, present);
      for (const [i, artifact] of first.entries()) {
        expect(artifact.zip.equals(second[i]!.zip)).toBe(true);
        expect(artifact.zip.length).toBeLessThan(1024 * 1024);
        expect(exportedHandlerType(artifact.zip, artifact.name)).toBe('function');
      }
    },
  );
});
