import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import {
  readStarterTemplatesFromDirectory,
  readStarterTemplatesFromS3,
  seedTemplates,
  type StarterTemplate,
} from '../../functions/lib/template-seeding.js';

let env: StandIns;
beforeAll(async () => {
  env = await startStandIns('seeding');
});
afterAll(async () => {
  await env?.stop();
});

let prefixCounter = 0;
async function freshPrefix(): Promise<string> {
  // One prefix per test keeps the tests independent inside the stand-in bucket.
  prefixCounter += 1;
  return `case${prefixCounter}/templates`;
}

function starter(name: string, version: string, html = `<p>${name} ${version}</p>`): StarterTemplate {
  return {
    name,
    version,
    files: {
      'template.html': html,
      'template.txt': `${name} ${version}`,
      'metadata.json': JSON.stringify({ subject: name, version, requiredVariables: [], category: 'transactional' }),
    },
  };
}

async function read(key: string): Promise<string> {
  const out = await env.s3.send(new GetObjectCommand({ Bucket: env.bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

async function put(key: string, body: string): Promise<void> {
  await env.s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: key, Body: body }));
}

describe('seedTemplates', () => {
  it('installs every template that is not in the bucket yet', async () => {
    const prefix = await freshPrefix();
    const result = await seedTemplates(env.s3, env.bucket, [starter('welcome', '1.0.0'), starter('invoice', '1.0.0')], { prefix });
    expect(result).toEqual({ installed: ['invoice', 'welcome'], updated: [], skipped: [] });
    expect(await read(`${prefix}/welcome/template.html`)).toBe('<p>welcome 1.0.0</p>');
    expect(JSON.parse(await read(`${prefix}/invoice/metadata.json`)).version).toBe('1.0.0');
  });

  it('stores files with content types the sender and browsers understand', async () => {
    const prefix = await freshPrefix();
    await seedTemplates(env.s3, env.bucket, [starter('welcome', '1.0.0')], { prefix });
    const head = await env.s3.send(new HeadObjectCommand({ Bucket: env.bucket, Key: `${prefix}/welcome/template.html` }));
    expect(head.ContentType).toBe('text/html; charset=utf-8');
  });

  it('skips templates that are already at the starter version', async () => {
    const prefix = await freshPrefix();
    await seedTemplates(env.s3, env.bucket, [starter('welcome', '1.0.0')], { prefix });
    const again = await seedTemplates(env.s3, env.bucket, [starter('welcome', '1.0.0')], { prefix });
    expect(again).toEqual({ installed: [], updated: [], skipped: ['welcome'] });
  });

  it('updates templates whose installed version is older', async () => {
    const prefix = await freshPrefix();
    await seedTemplates(env.s3, env.bucket, [starter('welcome', '1.0.0')], { prefix });
    const result = await seedTemplates(env.s3, env.bucket, [starter('welcome', '1.2.0')], { prefix });
    expect(result).toEqual({ installed: [], updated: ['welcome'], skipped: [] });
    expect(await read(`${prefix}/welcome/template.html`)).toBe('<p>welcome 1.2.0</p>');
  });

  it('never overwrites a customised template with a newer version', async () => {
    const prefix = await freshPrefix();
    await put(`${prefix}/welcome/template.html`, '<p>my own welcome</p>');
    await put(`${prefix}/welcome/metadata.json`, JSON.stringify({ subject: 'Hi', version: '1.1.0' }));
    const result = await seedTemplates(env.s3, env.bucket, [starter('welcome', '1.0.5')], { prefix });
    expect(result).toEqual({ installed: [], updated: [], skipped: ['welcome'] });
    expect(await read(`${prefix}/welcome/template.html`)).toBe('<p>my own welcome</p>');
  });

  it('leaves alone an installed template whose metadata has no readable version', async () => {
    const prefix = await freshPrefix();
    await put(`${prefix}/welcome/template.html`, '<p>hand made</p>');
    await put(`${prefix}/welcome/metadata.json`, '{ not json');
    const result = await seedTemplates(env.s3, env.bucket, [starter('welcome', '9.0.0')], { prefix });
    expect(result.skipped).toEqual(['welcome']);
    expect(await read(`${prefix}/welcome/template.html`)).toBe('<p>hand made</p>');
  });

  it('completes a template whose earlier copy stopped before metadata.json was written', async () => {
    const prefix = await freshPrefix();
    await put(`${prefix}/welcome/template.html`, '<p>half</p>');
    const result = await seedTemplates(env.s3, env.bucket, [starter('welcome', '1.0.0')], { prefix });
    expect(result.installed).toEqual(['welcome']);
    expect(await read(`${prefix}/welcome/template.html`)).toBe('<p>welcome 1.0.0</p>');
  });

  it('reports installed, updated and skipped in one run', async () => {
    const prefix = await freshPrefix();
    await seedTemplates(env.s3, env.bucket, [starter('a', '1.0.0'), starter('b', '2.0.0')], { prefix });
    const result = await seedTemplates(
      env.s3,
      env.bucket,
      [starter('a', '1.0.1'), starter('b', '1.9.0'), starter('c', '0.1.0')],
      { prefix },
    );
    expect(result).toEqual({ installed: ['c'], updated: ['a'], skipped: ['b'] });
  });

  it('refuses a starter template with an unsafe name or file name', async () => {
    const prefix = await freshPrefix();
    await expect(seedTemplates(env.s3, env.bucket, [starter('../escape', '1.0.0')], { prefix })).rejects.toMatchObject({
      code: 'TMPL002',
    });
    const bad = starter('ok', '1.0.0');
    bad.files['../../outside.txt'] = 'x';
    await expect(seedTemplates(env.s3, env.bucket, [bad], { prefix })).rejects.toMatchObject({ code: 'TMPL002' });
  });
});

describe('readStarterTemplatesFromS3', () => {
  it('groups objects under <prefix>/<name>/ into templates with their metadata version', async () => {
    const prefix = 'artifacts/abc123/starter-templates';
    await put(`${prefix}/welcome/template.html`, '<p>hi</p>');
    await put(`${prefix}/welcome/template.txt`, 'hi');
    await put(`${prefix}/welcome/metadata.json`, JSON.stringify({ version: '1.2.3' }));
    await put(`${prefix}/invoice/metadata.json`, JSON.stringify({ version: '0.1.0' }));
    await put(`${prefix}/README.md`, 'a loose file is not a template');

    const templates = await readStarterTemplatesFromS3(env.s3, env.bucket, `${prefix}/`);

    expect(templates.map((t) => [t.name, t.version])).toEqual([
      ['invoice', '0.1.0'],
      ['welcome', '1.2.3'],
    ]);
    expect(Object.keys(templates[1]!.files).sort()).toEqual(['metadata.json', 'template.html', 'template.txt']);
    expect(templates[1]!.files['template.html']!.toString()).toBe('<p>hi</p>');
  });

  it('returns nothing for an empty prefix', async () => {
    expect(await readStarterTemplatesFromS3(env.s3, env.bucket, 'nothing/here')).toEqual([]);
  });

  it('fails with TMPL002 on a starter template without a version', async () => {
    const prefix = 'artifacts/broken/starter-templates';
    await put(`${prefix}/welcome/metadata.json`, JSON.stringify({ subject: 'no version' }));
    await expect(readStarterTemplatesFromS3(env.s3, env.bucket, prefix)).rejects.toMatchObject({ code: 'TMPL002' });
  });
});

describe('readStarterTemplatesFromDirectory', () => {
  it('reads each folder as a template and ignores dot files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starter-'));
    try {
      mkdirSync(join(dir, 'welcome'));
      writeFileSync(join(dir, 'welcome', 'template.html'), '<p>hi</p>');
      writeFileSync(join(dir, 'welcome', 'metadata.json'), JSON.stringify({ version: '1.0.0' }));
      writeFileSync(join(dir, 'welcome', '.DS_Store'), 'junk');
      writeFileSync(join(dir, 'notes.txt'), 'not a template');

      const templates = await readStarterTemplatesFromDirectory(dir);

      expect(templates).toHaveLength(1);
      expect(templates[0]!.name).toBe('welcome');
      expect(Object.keys(templates[0]!.files).sort()).toEqual(['metadata.json', 'template.html']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the packaged starter-templates folder, each with a semantic version', async () => {
    const dir = join(process.cwd(), 'starter-templates');
    const folders = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
    const templates = await readStarterTemplatesFromDirectory(dir);
    expect(templates.map((t) => t.name).sort()).toEqual(folders.map((f) => f.name).sort());
  });

  it('says which directory it could not read', async () => {
    await expect(readStarterTemplatesFromDirectory('/no/such/dir')).rejects.toThrow('/no/such/dir');
  });
});
