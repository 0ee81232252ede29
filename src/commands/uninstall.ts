import { randomUUID } from 'node:crypto';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { clientConfig, s3Config, type AwsTarget } from '../aws/clients.js';
import { createCloudFormationApi, type CloudFormationApi } from '../aws/cloudformation.js';
import { StackProgress } from '../aws/stack-progress.js';
import { CliError, UserCancelled } from '../errors.js';
import { nullLog } from '../install-log.js';
import { bucketState, defaultBucketName, emptyAndDeleteBucket } from '../installer/bucket.js';
import { followOperation, reportFailure } from '../installer/follow.js';
import { checkCredentials, configuredRegion, credentialsError, resolveCredentials } from '../installer/preflight.js';
import { viewOutputs } from '../installer/stack-outputs.js';
import { createPrompter, type Prompter } from '../prompts.js';
import { createUi, processIo } from '../ui.js';
import { DEFAULT_STACK_NAME, type CommonOptions } from './shared-options.js';

/**
 * `sesmailengine uninstall`: deletes the stack and says what was kept. The tables keep
 * their data (their DeletionPolicy retains them), and so does the bucket unless
 * --delete-bucket empties it (every version and delete marker) and deletes it.
 */

export interface UninstallClients {
  sts: STSClient;
  s3: S3Client;
  cloudFormation: CloudFormationApi;
}

export interface UninstallOptions extends CommonOptions {
  deleteBucket?: boolean;
  bucket?: string;
  yes?: boolean;
  clients?: Partial<UninstallClients>;
  prompter?: Prompter;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export async function requireRegion(options: { region?: string; profile?: string }, probe?: STSClient): Promise<string> {
  if (options.region) return options.region;
  const client = probe ?? new STSClient(clientConfig(options.profile ? { profile: options.profile } : {}));
  const region = await configuredRegion(client);
  if (region) return region;
  // Missing credentials are reported before a missing region, as in install.
  await resolveCredentials(client, options.profile);
  throw credentialsError(new Error('Region is missing'), options.profile);
}

export async function uninstall(options: UninstallOptions): Promise<number> {
  const ui = createUi(options.io ?? processIo());
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  const region = await requireRegion(options, options.clients?.sts);
  const target: AwsTarget = { region, ...(options.profile ? { profile: options.profile } : {}) };
  const sts = options.clients?.sts ?? new STSClient(clientConfig(target));
  const s3 = options.clients?.s3 ?? new S3Client(s3Config(target));
  const cfn = options.clients?.cloudFormation ?? createCloudFormationApi(new CloudFormationClient(clientConfig(target)));
  const prompter = options.prompter ?? createPrompter();

  const identity = await checkCredentials(sts, options.profile);
  const stack = await cfn.describe(stackName);
  const view = stack ? viewOutputs(stack.outputs, stack.parameters) : undefined;
  const bucket = options.bucket ?? view?.bucket ?? (options.deleteBucket ? defaultBucketName(stackName, identity.account, region) : undefined);

  if (!stack && !options.deleteBucket) {
    throw new CliError(
      'INS012',
      `There is no stack named ${stackName} in ${region} (account ${identity.account}).`,
      `Check --stack-name and --region; list your stacks with: aws cloudformation list-stacks --region ${region} --stack-status-filter CREATE_COMPLETE UPDATE_COMPLETE ROLLBACK_COMPLETE UPDATE_ROLLBACK_COMPLETE`,
    );
  }
  if (stack?.status.isInProgress) {
    throw new CliError(
      'INS008',
      `The stack ${stackName} is busy: ${stack.status.name}.`,
      `Wait for the running operation to end (sesmailengine status --stack-name ${stackName}), then run uninstall again.`,
    );
  }

  if (!options.yes) {
    const what = [
      stack ? `the stack ${stackName} in ${region}` : undefined,
      options.deleteBucket && bucket ? `the bucket ${bucket} with every object version in it (templates included)` : undefined,
    ]
      .filter(Boolean)
      .join(' and ');
    const kept = options.deleteBucket ? 'The tables are kept.' : 'The tables and the bucket are kept.';
    const sure = await prompter.confirm(`Delete ${what}? ${kept}`, false);
    if (!sure) throw new UserCancelled('Uninstall cancelled; nothing was deleted.');
  }

  if (stack) {
    const token = `sesmailengine-uninstall-${randomUUID()}`;
    const total = await cfn.countResources(stack.stackId).catch(() => 0);
    const progress = new StackProgress({ stackName, startTime: new Date(), clientRequestToken: token, total });
    await cfn.delete(stack.stackId, token);
    const final = await followOperation(cfn, stack.stackId, progress, stackName, {
      ui,
      log: nullLog,
      verb: 'Deleting',
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
    if (final && final.status.name !== 'DELETE_COMPLETE') {
      const next = reportFailure(ui, nullLog, progress, final.status.name, stackName, region, final.status.reason);
      throw new CliError('INS013', `Deleting the stack ${stackName} ended in ${final.status.name}.`, next);
    }
    ui.ok(`Deleted the stack ${stackName}.`);
    const kept = (view?.tables ?? []).map((t) => `DynamoDB table ${t.name}`);
    if (!options.deleteBucket && bucket) kept.push(`S3 bucket ${bucket} (code and your templates)`);
    if (kept.length > 0) {
      ui.info('Kept, with their data (the stack retains them on delete):');
      for (const line of kept) ui.info(`  ${line}`);
      if (view && view.tables.length > 0) {
        ui.info(
          `Installing again under the same stack name needs these tables brought back or removed; to delete one for good: aws dynamodb delete-table --region ${region} --table-name <name>`,
        );
      }
      if (!options.deleteBucket && bucket) {
        ui.info(`To delete the bucket too: sesmailengine uninstall --delete-bucket --stack-name ${stackName} --region ${region}`);
      }
    }
  } else {
    ui.info(`There is no stack named ${stackName} in ${region}; only the bucket is left to delete.`);
  }

  if (options.deleteBucket && bucket) {
    const state = await bucketState(s3, bucket);
    if (state.kind === 'missing') {
      ui.info(`The bucket ${bucket} does not exist (already deleted).`);
    } else if (state.kind === 'foreign') {
      throw new CliError('INS015', `The bucket ${bucket} is not yours to delete (access denied).`, 'Pass the right name with --bucket <name>.');
    } else {
      const spinner = await ui.spinner(`Emptying ${bucket}`);
      try {
        const deleted = await emptyAndDeleteBucket(s3, bucket, (n) => spinner.update(`Emptying ${bucket}: ${n} object versions deleted`));
        spinner.succeed(`Deleted the bucket ${bucket} (${deleted} object versions and delete markers).`);
      } catch (error) {
        spinner.fail(`Could not delete the bucket ${bucket}.`);
        throw error;
      }
    }
  }
  return 0;
}
