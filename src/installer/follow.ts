import type { CloudFormationApi, StackDescription } from '../aws/cloudformation.js';
import { StackProgress, waitForStack, type ProgressEvent, type ResourceFailure } from '../aws/stack-progress.js';
import type { RunLog } from '../install-log.js';
import type { Ui } from '../ui.js';

/**
 * Follows one stack operation on screen: a spinner with the resource counter, one line per
 * stack event above it, every event in the run log; and, when it ends badly, the failing
 * resources with CloudFormation's reasons and what to do about them.
 */

export interface FollowOptions {
  ui: Ui;
  log: RunLog;
  /** "Creating", "Updating", "Deleting" */
  verb: string;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** The stack's status before an executed change set (see WaitOptions.statusesBefore). */
  statusesBefore?: string[];
}

export function eventLine(event: ProgressEvent): string {
  const time = event.timestamp.toISOString().slice(11, 19);
  const reason = event.reason ? `  ${event.reason}` : '';
  return `${time}  ${event.status.padEnd(28)} ${event.type.padEnd(34)} ${event.logicalId}${reason}`;
}

export async function followOperation(
  api: CloudFormationApi,
  stackId: string,
  progress: StackProgress,
  stackName: string,
  options: FollowOptions,
): Promise<StackDescription | undefined> {
  const { ui, log, verb } = options;
  const spinner = await ui.spinner(`${verb} ${stackName}: ${progress.counter}`);
  // Ctrl-C stops the CLI, not CloudFormation: say so before the entry point exits.
  const onInterrupt = () => {
    spinner.stop();
    ui.warn(`Stopped following ${stackName}; the stack operation goes on in CloudFormation. Follow it with: sesmailengine status --stack-name ${stackName}`);
  };
  process.prependListener('SIGINT', onInterrupt);
  let final: StackDescription | undefined;
  try {
    final = await waitForStack(api, stackId, progress, {
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.statusesBefore ? { statusesBefore: options.statusesBefore } : {}),
      onEvents: (events) => {
        for (const event of events) {
          spinner.log(eventLine(event));
          log.write(`stack event ${event.logicalId} ${event.type} ${event.status}${event.reason ? ` — ${event.reason}` : ''}`);
        }
        spinner.update(`${verb} ${stackName}: ${progress.counter}`);
      },
    });
  } catch (error) {
    spinner.fail(`${verb} ${stackName}: stopped following (${(error as Error).message})`);
    throw error;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
  const status = final?.status.name ?? 'DELETE_COMPLETE';
  const good = final ? final.status.isSuccess : true;
  const text = `${stackName}: ${status} (${progress.counter})`;
  if (good || status === 'DELETE_COMPLETE') spinner.succeed(text);
  else spinner.fail(text);
  log.write(`stack ${stackName} ended ${status}${final?.status.reason ? ` — ${final.status.reason}` : ''}`);
  return final;
}

/** One line per failing resource: logical id, type and reason. */
export function failureLines(failures: ResourceFailure[]): string[] {
  return failures.map((f) => `${f.logicalId} (${f.type}) ${f.status}: ${f.reason}`);
}

/** A hint for reasons that have a well-known cause. */
export function reasonHint(reason: string): string | undefined {
  if (/already exists/i.test(reason)) {
    return 'A resource with that name already exists — often a table or bucket kept by an earlier uninstall, or another stack using the same stack name. Remove the leftover or install under another --stack-name.';
  }
  if (/not authorized|AccessDenied|is not authorized to perform/i.test(reason)) {
    return 'Your credentials lack a permission the stack needs: install with an administrator role (or one allowed to manage IAM, Lambda, SQS, DynamoDB, SES, EventBridge, SNS and CloudWatch).';
  }
  if (/S3 Error Code: NoSuchKey|NoSuchBucket|Error occurred while GetObject/i.test(reason)) {
    return 'Lambda could not read its code from the bucket: run install again (it re-uploads missing artifacts) and check the bucket is in the same region.';
  }
  if (/limit|quota|exceeded/i.test(reason)) {
    return 'An account limit was reached: raise it in Service Quotas, or free capacity, then run install again.';
  }
  return undefined;
}

/** What to do after an operation ended in `status`. */
export function nextStepFor(status: string, stackName: string, region: string): string {
  switch (status) {
    case 'ROLLBACK_COMPLETE':
    case 'ROLLBACK_FAILED':
    case 'CREATE_FAILED':
      return `The first install failed and was rolled back; nothing is running. Fix the cause above and run install again: it offers to delete the failed stack first (or run: sesmailengine uninstall --stack-name ${stackName} --region ${region}).`;
    case 'UPDATE_ROLLBACK_COMPLETE':
      return 'The update failed and was rolled back: the previous version keeps running, with its data. Fix the cause above and run install again.';
    case 'IMPORT_ROLLBACK_COMPLETE':
      return 'Bringing the kept resources back failed and was rolled back: they are still there, with their data, outside the stack. Fix the cause above and run install again.';
    case 'UPDATE_ROLLBACK_FAILED':
    case 'IMPORT_ROLLBACK_FAILED':
      return `The rollback itself failed. Fix the cause above, then continue it: aws cloudformation continue-update-rollback --stack-name ${stackName} --region ${region}`;
    case 'DELETE_FAILED':
      return `Some resources could not be deleted (above). Fix the cause and run uninstall again, or keep them: aws cloudformation delete-stack --stack-name ${stackName} --region ${region} --retain-resources <LogicalId ...>`;
    default:
      return `Look at the stack's events in the CloudFormation console (${region}) for details, then run the command again.`;
  }
}

/** Prints the failures of an operation and what to do; also writes them to the log. */
export function reportFailure(
  ui: Ui,
  log: RunLog,
  progress: StackProgress,
  status: string,
  stackName: string,
  region: string,
  statusReason?: string,
): string {
  const failures = progress.failures;
  if (failures.length > 0) {
    ui.info('Failed resources:');
    for (const line of failureLines(failures)) {
      ui.info(`  ${line}`);
      log.write(`failed resource ${line}`);
    }
    const hints = [...new Set(failures.map((f) => reasonHint(f.reason)).filter((h): h is string => Boolean(h)))];
    for (const hint of hints) ui.info(`  → ${hint}`);
  } else if (statusReason) {
    ui.info(`Reason: ${statusReason}`);
    log.write(`stack reason ${statusReason}`);
  }
  return nextStepFor(status, stackName, region);
}
