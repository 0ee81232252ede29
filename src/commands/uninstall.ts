import { randomUUID } from 'node:crypto';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { awsErrorInfo, clientConfig, s3Config, type AwsTarget } from '../aws/clients.js';
import { createCloudFormationApi, type CloudFormationApi, type StackDescription } from '../aws/cloudformation.js';
import { StackProgress } from '../aws/stack-progress.js';
import { CliError, UserCancelled } from '../errors.js';
import { checkCredentials, requireRegion, stackNotFound } from '../aws-account.js';
import { nullLog } from '../install-log.js';
import { bucketState, defaultBucketName, emptyAndDeleteBucket } from '../installer/bucket.js';
import { followOperation, reportFailure } from '../installer/follow.js';
import {
  canDeleteData,
  deleteDataResource,
  describeResource,
  displayName,
  findExisting,
  listOrder,
  namedResources,
  physicalIdOf,
  type ProbeClients,
} from '../installer/named-resources.js';
import { viewOutputs } from '../installer/stack-outputs.js';
import { loadStackTemplate } from '../installer/stack-template.js';
import { packageRoot } from '../package-root.js';
import { createPrompter, type Prompter } from '../prompts.js';
import { createUi, processIo, type Ui } from '../ui.js';
import { DEFAULT_STACK_NAME, type CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine uninstall`: deletes the stack and says what was kept. The tables, queues,
 * log groups and the unsubscribe key keep their data (their DeletionPolicy retains them:
 * a later install under the same name imports them back) unless --delete-data deletes
 * them once the stack is gone; the bucket is kept unless --delete-bucket empties it
 * (every version and delete marker) and deletes it.
 */

export interface UninstallClients extends ProbeClients {
  sts: STSClient;
  s3: S3Client;
  cloudFormation: CloudFormationApi;
}

export interface UninstallOptions extends CommonOptions {
  /** Delete the resources the stack keeps (tables, queues, log groups, secret) after it is gone. */
  deleteData?: boolean;
  deleteBucket?: boolean;
  bucket?: string;
  yes?: boolean;
  clients?: Partial<UninstallClients>;
  prompter?: Prompter;
  /** The package root holding cloudformation/ (for the names of kept resources when the stack is gone). */
  root?: string;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface KeptResource {
  logicalId: string;
  type: string;
  physicalId: string;
  name: string;
}

export async function uninstall(options: UninstallOptions): Promise<number> {
  const ui = createUi(options.io ?? processIo());
  const region = await requireRegion(options, options.clients?.sts);
  return new Uninstall(options, ui, region).run();
}

/** One uninstall: its clients and answers in fields, one method a step. */
class Uninstall {
  private readonly stackName: string;
  private readonly config: ReturnType<typeof clientConfig>;
  private readonly given: Partial<UninstallClients>;
  private readonly sts: STSClient;
  private readonly s3: S3Client;
  private readonly cfn: CloudFormationApi;
  private readonly prompter: Prompter;

  constructor(
    private readonly options: UninstallOptions,
    private readonly ui: Ui,
    private readonly region: string,
  ) {
    this.stackName = options.stackName ?? DEFAULT_STACK_NAME;
    const target: AwsTarget = { region, ...(options.profile ? { profile: options.profile } : {}) };
    this.config = clientConfig(target);
    this.given = options.clients ?? {};
    this.sts = this.given.sts ?? new STSClient(this.config);
    this.s3 = this.given.s3 ?? new S3Client(s3Config(target));
    this.cfn = this.given.cloudFormation ?? createCloudFormationApi(new CloudFormationClient(this.config));
    this.prompter = options.prompter ?? createPrompter();
  }

  async run(): Promise<number> {
    const { options, stackName, region } = this;
    const identity = await checkCredentials(this.sts, options.profile);
    const stack = await this.cfn.describe(stackName);
    const view = stack ? viewOutputs(stack.outputs, stack.parameters) : undefined;
    const bucket = options.bucket ?? view?.bucket ?? (options.deleteBucket ? defaultBucketName(stackName, identity.account, region) : undefined);
    this.refuse(stack, identity.account);
    if (!options.yes) await this.confirm(stack, bucket);

    let kept: KeptResource[] = [];
    if (stack) {
      kept = await this.deleteStack(stack, view);
    } else if (options.deleteData) {
      kept = await this.findKeptData();
    } else {
      this.ui.info(`There is no stack named ${stackName} in ${region}; only the bucket is left to delete.`);
    }
    await this.settleKept(kept, Boolean(stack), bucket);
    if (options.deleteBucket && bucket) await this.deleteBucket(bucket);
    return 0;
  }

  /** The resources that may hold data, asked for only when needed. */
  private dataClients(): Partial<ProbeClients> {
    const { given, config } = this;
    return {
      dynamodb: given.dynamodb ?? new DynamoDBClient(config),
      sqs: given.sqs ?? new SQSClient({ ...config, useQueueUrlAsEndpoint: false }),
      logs: given.logs ?? new CloudWatchLogsClient(config),
      secrets: given.secrets ?? new SecretsManagerClient(config),
    };
  }

  /** Nothing to do, or a stack that is busy: say so before asking anything. */
  private refuse(stack: StackDescription | undefined, account: string): void {
    const { options, stackName, region } = this;
    if (!stack && !options.deleteBucket && !options.deleteData) {
      throw stackNotFound(
        { stackName, region, account },
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
  }

  /** The first confirmation: everything that will be deleted, and what is kept. */
  private async confirm(stack: StackDescription | undefined, bucket: string | undefined): Promise<void> {
    const { options, stackName, region } = this;
    const what = [
      stack ? `the stack ${stackName} in ${region}` : undefined,
      options.deleteData ? 'the data it keeps (tables with the tracking history and the suppression list, queues, log groups, the unsubscribe key; you are asked once more)' : undefined,
      options.deleteBucket && bucket ? `the bucket ${bucket} with every object version in it (templates included)` : undefined,
    ]
      .filter(Boolean)
      .join(' and ');
    const kept = options.deleteData
      ? options.deleteBucket
        ? ''
        : ' The bucket is kept.'
      : options.deleteBucket
        ? ' The tables are kept.'
        : ' The tables and the bucket are kept.';
    const sure = await this.prompter.confirm(`Delete ${what}?${kept}`, false);
    if (!sure) throw new UserCancelled('Uninstall cancelled; nothing was deleted.');
  }

  /** Deletes the stack and follows it; returns what its DeletionPolicy kept. */
  private async deleteStack(stack: StackDescription, view: ReturnType<typeof viewOutputs> | undefined): Promise<KeptResource[]> {
    const { options, stackName, region, ui, cfn } = this;
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
    // CloudFormation reports each resource its DeletionPolicy kept as DELETE_SKIPPED.
    const kept = listOrder(
      progress.retained.map((r) => {
        const physicalId = r.physicalId ?? r.logicalId;
        return { logicalId: r.logicalId, type: r.type, physicalId, name: displayName(r.type, physicalId) };
      }),
    );
    if (kept.length === 0 && view) {
      return view.tables.map((t) => ({ logicalId: t.key, type: 'AWS::DynamoDB::Table', physicalId: t.name, name: t.name }));
    }
    return kept;
  }

  /** No stack, --delete-data: the kept resources are found by the names the template gives them. */
  private async findKeptData(): Promise<KeptResource[]> {
    const { options, stackName, region, ui } = this;
    ui.info(`There is no stack named ${stackName} in ${region}; looking for the data an earlier install kept.`);
    const template = await loadStackTemplate(options.root ?? packageRoot());
    const probe = await findExisting(this.dataClients(), namedResources(template.document, stackName).filter((r) => r.kept && canDeleteData(r.type)));
    for (const u of probe.unchecked) ui.warn(`Could not check the ${describeResource(u.resource)}: ${u.error}`);
    const kept = listOrder(probe.found.map((f) => ({ logicalId: f.logicalId, type: f.type, physicalId: physicalIdOf(f), name: f.name })));
    if (kept.length === 0) ui.info(`Nothing kept by ${stackName} was found in ${region}.`);
    return kept;
  }

  /** Deletes the kept data (--delete-data), or says what was kept and how to get it back. */
  private async settleKept(kept: KeptResource[], stackDeleted: boolean, bucket: string | undefined): Promise<void> {
    const { options, stackName, region, ui } = this;
    const data = kept.filter((k) => canDeleteData(k.type));
    if (options.deleteData && data.length > 0) {
      await this.deleteKeptData(data, stackDeleted);
    } else if (kept.length > 0) {
      ui.info('Kept, with their data (the stack retains them on delete):');
      for (const k of kept) ui.info(`  ${describeResource(k)}`);
      if (!options.deleteBucket && bucket) ui.info(`  S3 bucket ${bucket} (code and your templates)`);
      ui.info(`To bring them back with their data, install again under the same name (the install imports them): sesmailengine install --stack-name ${stackName} --region ${region}`);
      ui.info(`To delete them for good: sesmailengine uninstall --delete-data --stack-name ${stackName} --region ${region}`);
      if (!options.deleteBucket && bucket) ui.info(`To delete the bucket too: sesmailengine uninstall --delete-bucket --stack-name ${stackName} --region ${region}`);
    } else if (stackDeleted && !options.deleteBucket && bucket) {
      ui.info(`Kept: S3 bucket ${bucket} (code and your templates). To delete it too: sesmailengine uninstall --delete-bucket --stack-name ${stackName} --region ${region}`);
    }
  }

  /** --delete-bucket: every object version and delete marker, then the bucket. */
  private async deleteBucket(bucket: string): Promise<void> {
    const { ui, s3 } = this;
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

  /** The second confirmation, then each kept resource deleted and said so. */
  private async deleteKeptData(targets: KeptResource[], stackDeleted: boolean): Promise<void> {
    const { options, stackName, region, ui } = this;
    ui.info('The stack kept these, with their data:');
    for (const k of targets) ui.info(`  ${describeResource(k)}`);
    if (!options.yes) {
      const sure = await this.prompter.confirm(
        `Delete these ${targets.length} resources and their data for good? The tracking history and the suppression list cannot be recovered.`,
        false,
      );
      if (!sure) {
        throw new UserCancelled(
          `The data is kept${stackDeleted ? ' (the stack itself is deleted)' : ''}. Install again under ${stackName} to bring it back, or run uninstall --delete-data again to delete it.`,
        );
      }
    }
    const clients = this.dataClients();
    const failed: string[] = [];
    for (const k of targets) {
      try {
        await deleteDataResource(clients, k.type, k.physicalId);
        ui.ok(`Deleted the ${describeResource(k)}.`);
      } catch (error) {
        const info = awsErrorInfo(error);
        if (info.name === 'ResourceNotFoundException' || info.name === 'QueueDoesNotExist') {
          ui.info(`The ${describeResource(k)} was already gone.`);
          continue;
        }
        failed.push(`${describeResource(k)}: ${info.name}: ${info.message}`);
        ui.warn(`Could not delete the ${describeResource(k)}: ${info.message}`);
      }
    }
    if (failed.length > 0) {
      throw new CliError(
        'INS022',
        `Some of the kept data could not be deleted:\n  ${failed.join('\n  ')}`,
        `Check your permissions (dynamodb:DeleteTable, sqs:DeleteQueue, logs:DeleteLogGroup, secretsmanager:DeleteSecret) and deletion protection on the tables, then run: sesmailengine uninstall --delete-data --stack-name ${stackName} --region ${region}`,
      );
    }
  }
}
