import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { templatesValidate } from '../../src/commands/templates.js';
import { pushTemplate } from '../../src/ops/template-bucket.js';
import { readTemplateFolders } from '../../src/ops/template-folders.js';
import { captureIo } from '../support/cli-harness.js';
import { startStandIns, type StandIns } from '../support/stand-ins.js';

/**
 * `templates validate` and `templates push` on a template in the original product's shape:
 * metadata.json with only subject, senderEmail and replyTo, sometimes with fields this
 * engine does not know.
 */

let work: string;
let aws: StandIns;

function contactFolder(name: string, metadata: Record<string, unknown>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify(metadata));
  writeFileSync(join(dir, 'template.html'), '<p>{{ formSenderName }} wrote: {{ message }}</p>');
  writeFileSync(join(dir, 'template.txt'), '{{ formSenderName }} wrote: {{ message }}');
  writeFileSync(join(dir, 'sample-data.json'), JSON.stringify({ formSenderName: 'Grace', formSenderEmail: 'grace@visitor.example', message: 'Hello' }));
  return dir;
}

const ORIGINAL = { subject: 'Contact Form: {{ formSenderName }}', senderEmail: 'noreply@company.com', replyTo: '{{ formSenderEmail }}' };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tpl-original-'));
  aws = await startStandIns('tplorig');
});
afterAll(async () => {
  await aws?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('templates validate', () => {
  it('passes original-shape metadata, warning that it has no version', async () => {
    const dir = contactFolder('contact', ORIGINAL);
    const io = captureIo();
    expect(await templatesValidate({ dir, cwd: work, io })).toBe(0);
    expect(io.out()).toContain('warning metadata.json: no "version"');
    expect(io.err()).toContain('1 template valid.');
  });

  it('warns about each unknown field, by name, and still exits 0', async () => {
    const dir = contactFolder('contact-extra', { ...ORIGINAL, version: '1.0.0', templateId: 'contact-v1', tags: ['web'] });
    const io = captureIo();
    expect(await templatesValidate({ dir, cwd: work, io, json: true })).toBe(0);
    const out = JSON.parse(io.out());
    expect(out.ok).toBe(true);
    expect(out.templates[0].problems).toEqual([
      expect.objectContaining({ severity: 'warning', file: 'metadata.json', message: 'unknown field "templateId" is ignored' }),
      expect.objectContaining({ severity: 'warning', file: 'metadata.json', message: 'unknown field "tags" is ignored' }),
    ]);
  });
});

describe('templates push of a template without a version', () => {
  it('installs where the bucket has none, then replaces it only with --force', async () => {
    const [template] = readTemplateFolders(contactFolder('contact-push', ORIGINAL));
    expect(await pushTemplate(aws.s3, aws.bucket, template!, undefined, false)).toMatchObject({ action: 'installed', reason: 'not installed' });
    const again = await pushTemplate(aws.s3, aws.bucket, template!, undefined, false);
    expect(again).toMatchObject({ action: 'refused', remoteVersion: '(none)', reason: expect.stringContaining('no "version" to compare') });
    expect(again.localVersion).toBeUndefined();
    expect(await pushTemplate(aws.s3, aws.bucket, template!, undefined, true)).toMatchObject({ action: 'replaced' });
  });

  it('does not replace an unversioned template in the bucket with a versioned one unless forced', async () => {
    const [template] = readTemplateFolders(contactFolder('contact-push', { ...ORIGINAL, version: '2.0.0' }));
    expect(await pushTemplate(aws.s3, aws.bucket, template!, '2.0.0', false)).toMatchObject({
      action: 'refused',
      reason: expect.stringContaining('no version (treated as customised)'),
    });
  });
});
