import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import chalk from 'chalk';
import { CliError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { createUi, processIo, type Ui } from '../ui.js';
import { compareSemver, isSemver } from '../../functions/core/semver.js';
import { fixFor } from '../ops/error-fixes.js';
import { jsonObjectOption } from '../ops/input.js';
import { listTemplateNames, pushTemplate, readTemplateFromBucket, type PushOutcome } from '../ops/template-bucket.js';
import {
  checkTemplate,
  readTemplateFolders,
  renderTemplateFiles,
  type TemplateCheck,
  type TemplateFiles,
  type TemplateProblem,
} from '../ops/template-folders.js';
import { withTarget, type EngineTarget, type TargetOptions } from '../ops/target.js';
import type { CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine templates preview|validate|push|pull`: work on templates with the engine's
 * own renderer (functions/core/template-render.ts), on disk and in the engine's bucket.
 */

export interface TemplatesCommonOptions extends CommonOptions, TargetOptions {
  json?: boolean;
}

function relativePath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : `./${rel}`;
}

// ---------------------------------------------------------------------------------------
// preview

export interface PreviewOptions extends TemplatesCommonOptions {
  name: string;
  data?: string;
  /** A template folder, or a folder of them. */
  dir?: string;
  /** Use the starter templates shipped with the package. */
  starter?: boolean;
  /** Write the HTML to this file. */
  open?: string;
}

async function templateFromBucket(target: EngineTarget, name: string): Promise<TemplateFiles> {
  const s3 = await target.clients.s3();
  const template = await readTemplateFromBucket(s3, target.resources.templateBucket, name);
  if (template) return template;
  const names = await listTemplateNames(s3, target.resources.templateBucket);
  throw new CliError(
    'TMPL101',
    `There is no template "${name}" in s3://${target.resources.templateBucket}/templates/ (${target.description}).`,
    names.length > 0
      ? `Templates there: ${names.join(', ')}. Upload yours with: sesmailengine templates push ./${name}${target.flags}`
      : `The bucket holds no templates: sesmailengine seed-templates${target.flags.includes('--local') ? '' : target.flags} installs the starter set.`,
  );
}

function templateFromFolder(dir: string, name: string, cwd: string): TemplateFiles {
  const templates = readTemplateFolders(dir, cwd);
  if (templates.length === 1 && templates[0]!.dir === resolve(cwd, dir)) return templates[0]!;
  const found = templates.find((t) => t.name === name);
  if (found) return found;
  throw new CliError('TMPL101', `There is no folder "${name}" in ${resolve(cwd, dir)}.`, `Folders there: ${templates.map((t) => t.name).join(', ')}.`);
}

export async function templatesPreview(options: PreviewOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const cwd = options.cwd ?? process.cwd();
  const data = options.data !== undefined ? jsonObjectOption(options.data, '--data', cwd) : undefined;
  const fromDisk = options.dir !== undefined || options.starter;

  const load = async (): Promise<{ template: TemplateFiles; source: string }> => {
    if (fromDisk) {
      const dir = options.starter ? join(packageRoot(), 'starter-templates') : options.dir!;
      const template = templateFromFolder(dir, options.name, cwd);
      return { template, source: template.dir ? relativePath(template.dir, cwd) : dir };
    }
    return withTarget(options, async (target) => ({
      template: await templateFromBucket(target, options.name),
      source: `s3://${target.resources.templateBucket}/templates/${options.name}/ (${target.description})`,
    }));
  };
  const { template, source } = await load();

  const result = renderTemplateFiles(template, data);
  if (!result.ok) {
    const noData = data === undefined && result.code === 'TMPL003';
    throw new CliError(
      'TMPL103',
      `Template "${template.name}" does not render${result.file ? ` (${result.file})` : ''}: ${result.code} ${result.message}`,
      noData ? `Pass the variables: --data '{"name": "value"}' or --data @data.json (or add a sample-data.json to the template folder).` : fixFor(result.code),
    );
  }
  let htmlFile: string | undefined;
  if (options.open) {
    htmlFile = resolve(cwd, options.open);
    mkdirSync(dirname(htmlFile), { recursive: true });
    writeFileSync(htmlFile, result.email.html);
  }
  const meta = result.metadata;
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify({
        name: template.name,
        source,
        version: meta.version ?? null,
        category: meta.category,
        dataFrom: result.dataFrom,
        subject: result.email.subject,
        ...(meta.senderEmail ? { senderEmail: meta.senderEmail } : {}),
        ...(meta.senderName ? { senderName: meta.senderName } : {}),
        ...(result.email.replyTo ? { replyTo: result.email.replyTo } : {}),
        text: result.email.text,
        html: result.email.html,
        ...(htmlFile ? { htmlFile } : {}),
      })}\n`,
    );
    return 0;
  }
  const dataLabel = result.dataFrom === 'option' ? '--data' : result.dataFrom === 'sample-data' ? 'sample-data.json' : 'none (no --data, no sample-data.json)';
  ui.out(`${chalk.bold(`Template ${template.name}`)} ${meta.version ?? '(no version)'}, ${meta.category} — ${source}`);
  ui.out(`  data      ${dataLabel}`);
  ui.out(`  from      ${meta.senderEmail ? `${meta.senderName ? `${meta.senderName} ` : ''}<${meta.senderEmail}>` : '(the stack default sender)'}`);
  if (result.email.replyTo) ui.out(`  reply-to  ${result.email.replyTo}`);
  ui.out(`  subject   ${chalk.bold(result.email.subject)}`);
  ui.out('');
  ui.out(chalk.dim('--- text part ---'));
  ui.out(result.email.text.trimEnd());
  ui.out(chalk.dim('--- end ---'));
  if (htmlFile) ui.ok(`HTML part written to ${htmlFile} (${Buffer.byteLength(result.email.html)} bytes); open it in a browser.`);
  else ui.info(`HTML part: ${Buffer.byteLength(result.email.html)} bytes (write it to a file with --open preview.html).`);
  return 0;
}

// ---------------------------------------------------------------------------------------
// validate

export interface ValidateOptions extends TemplatesCommonOptions {
  dir?: string;
}

function printChecks(ui: Ui, checks: TemplateCheck[], cwd: string): void {
  for (const check of checks) {
    const errors = check.problems.filter((p) => p.severity === 'error');
    const where = check.dir ? relativePath(check.dir, cwd) : check.name;
    if (errors.length === 0) ui.out(`${chalk.green('✔')} ${check.name}${check.version ? ` ${check.version}` : ''} ${chalk.dim(where)}`);
    else ui.out(`${chalk.red('✖')} ${check.name} ${chalk.dim(where)}`);
    for (const p of check.problems) {
      const mark = p.severity === 'error' ? chalk.red('error') : chalk.yellow('warning');
      ui.out(`    ${mark} ${p.file}: ${p.message}`);
      ui.out(`      fix: ${p.fix}`);
    }
  }
}

function problemsError(errors: TemplateProblem[], checks: TemplateCheck[], what: string): CliError {
  const templates = new Set(errors.map((e) => e.template));
  return new CliError(
    'TMPL102',
    `${errors.length} problem${errors.length === 1 ? '' : 's'} in ${templates.size} of ${checks.length} template${checks.length === 1 ? '' : 's'}${what}: ${errors
      .slice(0, 3)
      .map((e) => `${e.template}/${e.file}: ${e.message}`)
      .join('; ')}${errors.length > 3 ? '; …' : ''}`,
    'Fix each problem as listed above (each line names the file and the fix), then run sesmailengine templates validate again.',
  );
}

export async function templatesValidate(options: ValidateOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const cwd = options.cwd ?? process.cwd();
  const checks = readTemplateFolders(options.dir ?? '.', cwd).map(checkTemplate);
  const errors = checks.flatMap((c) => c.problems.filter((p) => p.severity === 'error'));
  const templates = checks.map((c) => ({ ...c, ok: !c.problems.some((p) => p.severity === 'error') }));
  // Under --json the outcome is one object: the checks, or the TMPL102 error carrying them.
  if (options.json) {
    if (errors.length > 0) throw problemsError(errors, checks, '').withDetails({ templates });
    io.stdout.write(`${JSON.stringify({ ok: true, templates })}\n`);
  } else {
    printChecks(ui, checks, cwd);
  }
  if (errors.length > 0) throw problemsError(errors, checks, '');
  if (!options.json) ui.ok(`${checks.length} template${checks.length === 1 ? '' : 's'} valid.`);
  return 0;
}

// ---------------------------------------------------------------------------------------
// push

export interface PushOptions extends TemplatesCommonOptions {
  dir: string;
  force?: boolean;
}

export async function templatesPush(options: PushOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const cwd = options.cwd ?? process.cwd();
  const templates = readTemplateFolders(options.dir, cwd);
  const checks = templates.map(checkTemplate);
  const errors = checks.flatMap((c) => c.problems.filter((p) => p.severity === 'error'));
  if (errors.length > 0) {
    if (!options.json) printChecks(ui, checks, cwd);
    const error = problemsError(errors, checks, '; nothing was uploaded');
    throw options.json ? error.withDetails({ templates: checks }) : error;
  }
  return withTarget(options, async (target) => {
    const s3 = await target.clients.s3();
    const bucket = target.resources.templateBucket;
    const outcomes: PushOutcome[] = [];
    for (const [i, template] of templates.entries()) {
      outcomes.push(await pushTemplate(s3, bucket, template, checks[i]!.version, Boolean(options.force)));
    }
    const refused = outcomes.filter((o) => o.action === 'refused');
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ bucket, target: target.kind, templates: outcomes, cacheSeconds: target.settings.templateCacheSeconds })}\n`);
    } else {
      for (const o of outcomes) {
        const was = o.remoteVersion ? ` (was ${o.remoteVersion})` : '';
        const version = o.localVersion ?? '(no version)';
        if (o.action === 'refused') ui.out(`${chalk.red('✖')} ${o.name} ${version} not uploaded: ${o.reason} (s3://${bucket}/templates/${o.name}/)`);
        else ui.out(`${chalk.green('✔')} ${o.name} ${version} ${o.action}${was} → s3://${bucket}/templates/${o.name}/`);
      }
      if (refused.length < outcomes.length) {
        ui.info(`The Email Sender caches templates for up to ${target.settings.templateCacheSeconds} s; new sends use the upload after that.`);
      }
    }
    if (refused.length > 0) {
      const unversioned = refused.some((o) => o.localVersion === undefined);
      throw new CliError(
        'TMPL104',
        `${refused.map((o) => `${o.name} (${o.localVersion ?? 'no version'} vs ${o.remoteVersion} in the bucket)`).join(', ')} not uploaded: ${
          unversioned ? 'the bucket already holds it and there is no version to compare' : 'the bucket holds the same or a newer version'
        }.`,
        unversioned
          ? 'Add "version" to metadata.json (higher than the one in the bucket, e.g. "1.0.0") and push again; --force uploads anyway.'
          : 'Bump "version" in metadata.json (e.g. 1.0.0 → 1.1.0) and push again; --force uploads anyway (also over a newer version).',
      );
    }
    return 0;
  });
}

// ---------------------------------------------------------------------------------------
// pull

export interface PullOptions extends TemplatesCommonOptions {
  name: string;
  /** Folder to pull into (default the current folder); the template lands in <out>/<name>. */
  out?: string;
  force?: boolean;
}

/** True when `path` is `dir` itself or below it. */
function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function versionOf(files: Record<string, Buffer>): string | undefined {
  try {
    const version = (JSON.parse(files['metadata.json']?.toString('utf8') ?? '') as { version?: unknown }).version;
    return isSemver(version) ? version : undefined;
  } catch {
    return undefined;
  }
}

export async function templatesPull(options: PullOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const cwd = options.cwd ?? process.cwd();
  const dest = resolve(cwd, options.out ?? '.', options.name);
  return withTarget(options, async (target) => {
    const template = await templateFromBucket(target, options.name);
    // Object keys come from the bucket, which others can write: none may land outside `dest`.
    const escaping = Object.keys(template.files).filter((file) => !isInside(dest, resolve(dest, file)));
    if (escaping.length > 0) {
      throw new CliError(
        'TMPL106',
        `templates/${options.name}/ in the bucket holds keys that would be written outside ${relativePath(dest, cwd)}: ${escaping.join(', ')}.`,
        `Nothing was written. Delete those objects from s3://${target.resources.templateBucket}/templates/${options.name}/ and pull again.`,
      );
    }
    const remoteVersion = versionOf(template.files);
    const changed = Object.entries(template.files)
      .filter(([file, content]) => {
        const path = join(dest, file);
        return existsSync(path) && !readFileSync(path).equals(content);
      })
      .map(([file]) => file);
    if (changed.length > 0 && !options.force) {
      const localMeta: Record<string, Buffer> = existsSync(join(dest, 'metadata.json')) ? { 'metadata.json': readFileSync(join(dest, 'metadata.json')) } : {};
      const localVersion = versionOf(localMeta);
      const newer = localVersion && remoteVersion && compareSemver(localVersion, remoteVersion) > 0;
      throw new CliError(
        'TMPL105',
        newer
          ? `${relativePath(dest, cwd)} holds version ${localVersion}, newer than the bucket's ${remoteVersion}; pulling would overwrite ${changed.join(', ')}.`
          : `Pulling ${options.name} would overwrite local changes in ${relativePath(dest, cwd)}: ${changed.join(', ')}.`,
        newer
          ? `Push your copy instead (sesmailengine templates push ${relativePath(dest, cwd)}), pull into another folder with --out, or pass --force to overwrite it.`
          : 'Pull into another folder with --out <dir>, or pass --force to overwrite them.',
      );
    }
    for (const [file, content] of Object.entries(template.files)) {
      const path = join(dest, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
    const files = Object.keys(template.files).sort();
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ name: options.name, dir: dest, version: remoteVersion ?? null, files, overwritten: changed })}\n`);
    } else {
      ui.ok(`Pulled ${options.name}${remoteVersion ? ` ${remoteVersion}` : ''} from s3://${target.resources.templateBucket}/templates/${options.name}/ into ${relativePath(dest, cwd)} (${files.join(', ')}).`);
      ui.info(`Edit it, bump "version" in metadata.json, check it with sesmailengine templates validate ${relativePath(dest, cwd)}, then push it with sesmailengine templates push ${relativePath(dest, cwd)}${target.flags}.`);
    }
    return 0;
  });
}
