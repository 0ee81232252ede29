import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import { s3Config } from '../aws/clients.js';
import { createCloudFormationApi, type CloudFormationApi } from '../aws/cloudformation.js';
import { CliError } from '../errors.js';
import { connectAccount, stackNotFound } from '../aws-account.js';
import { viewOutputs } from '../installer/stack-outputs.js';
import { packageRoot } from '../package-root.js';
import { createUi, processIo } from '../ui.js';
import { readStarterTemplatesFromDirectory, seedTemplates, type SeedResult } from '../../functions/lib/template-seeding.js';
import { UNVERSIONED_REASON } from '../../functions/core/seed-plan.js';
import { DEFAULT_STACK_NAME, type CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine seed-templates`: copies the starter templates shipped in this package into
 * the stack's bucket, version-aware (a template whose installed metadata.json version is
 * the same or newer is left alone, so customised templates survive; one whose metadata.json
 * has no version is taken as customised and never overwritten).
 */

export interface SeedTemplatesOptions extends CommonOptions {
  bucket?: string;
  json?: boolean;
  /** Folder with `<name>/{template.html,template.txt,metadata.json}` (default: the package's starter-templates/). */
  source?: string;
  clients?: Partial<{ sts: STSClient; s3: S3Client; cloudFormation: CloudFormationApi }>;
}

export async function seedTemplatesCommand(options: SeedTemplatesOptions): Promise<number> {
  const io = options.io ?? processIo();
  const ui = createUi(io);
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  const { region, target, config } = await connectAccount(options, options.clients?.sts);

  let bucket = options.bucket;
  if (!bucket) {
    const cfn = options.clients?.cloudFormation ?? createCloudFormationApi(new CloudFormationClient(config));
    const stack = await cfn.describe(stackName);
    const fix = 'Pass the bucket with --bucket <name>, or check --stack-name and --region.';
    if (!stack) throw stackNotFound({ stackName, region }, fix);
    bucket = viewOutputs(stack.outputs, stack.parameters).bucket;
    if (!bucket) throw new CliError('AWS004', `The stack ${stackName} in ${region} names no template bucket in its outputs.`, fix);
  }

  const source = options.source ?? join(packageRoot(), 'starter-templates');
  const templates = await readStarterTemplatesFromDirectory(source);
  const s3 = options.clients?.s3 ?? new S3Client(s3Config(target));
  let result: SeedResult;
  const unversioned: string[] = [];
  const onDecision = (name: string, _action: string, reason: string) => {
    if (reason === UNVERSIONED_REASON) unversioned.push(name);
  };
  try {
    result = await seedTemplates(s3, bucket, templates, { onDecision });
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchBucket') {
      throw new CliError('INS014', `The bucket ${bucket} does not exist in ${region}.`, 'Pass the right bucket with --bucket, or run sesmailengine install first.', { cause: error });
    }
    throw error;
  }

  if (options.json) {
    io.stdout.write(`${JSON.stringify({ bucket, ...result })}\n`);
    return 0;
  }
  ui.ok(`Starter templates in s3://${bucket}/templates/: ${result.installed.length} installed, ${result.updated.length} updated, ${result.skipped.length} skipped.`);
  if (result.installed.length > 0) ui.out(`  installed: ${result.installed.join(', ')}`);
  if (result.updated.length > 0) ui.out(`  updated:   ${result.updated.join(', ')}`);
  const versioned = result.skipped.filter((name) => !unversioned.includes(name));
  if (versioned.length > 0) ui.out(`  skipped:   ${versioned.join(', ')} (same or newer version installed)`);
  if (unversioned.length > 0) {
    ui.out(`  skipped:   ${unversioned.sort().join(', ')} (no "version" in the installed metadata.json: treated as customised, never overwritten)`);
    ui.info('To take the starter version instead, delete that metadata.json or give it a version older than the starter\'s, then run seed-templates again.');
  }
  return 0;
}
