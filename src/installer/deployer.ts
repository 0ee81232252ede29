import { randomUUID } from 'node:crypto';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  isNoChangesReason,
  type ChangeSetDescription,
  type ChangeSetType,
  type ParameterValue,
  type ResourceToImport,
  type StackDescription,
} from '../aws/cloudformation.js';
import { StackProgress } from '../aws/stack-progress.js';
import { CliError, UserCancelled } from '../errors.js';
import { INSTALL_LOG_FILE } from '../install-log.js';
import { sha256 } from '../packaging/build.js';
import { objectExists } from '../packaging/upload.js';
import { VERSION } from '../version.js';
import { backfillAddedToSuppressionDate, suppressionIndexState, SUPPRESSION_INDEX, type SuppressionIndexState } from '../../functions/lib/suppression-index.js';
import { changeLines, dataRemovals, dataReplacements, summarizeChanges, summaryLine, waitForChangeSet } from './change-set.js';
import { engineVersionOf, VERSION_TAG } from './finish.js';
import { reportFailure } from './follow.js';
import type { InstallSession } from './install-session.js';
import { deleteCommand, describeResource, findExisting, listOrder, namedResources, type FoundResource } from './named-resources.js';
import { MAX_TEMPLATE_BODY_BYTES, type StackTemplate } from './stack-template.js';
import { templateWithoutSuppressionIndex } from './suppression-index.js';
import { importTemplateBody } from './template-document.js';

/**
 * One deployment of the engine's stack, its state in fields and one method a step (after
 * aws-cdk-cli's FullCloudFormationDeployment): a create; an upgrade through a change set
 * that is shown and confirmed first (in two updates when the suppression index changes
 * key); a reinstall that imports the data an earlier install kept and then adds the rest;
 * and, when an operation ends badly, the failing resources and the error that says what to do.
 */

export type TemplateSource = { templateBody: string } | { templateUrl: string };

/** What `deploy` ends with: the stack, and the engine version it ran before an upgrade. */
export interface Deployed {
  stack: StackDescription;
  before?: string;
}

type Operation = 'install' | 'update' | 'import' | 'reinstall';

/**
 * Inline template text, or (too big for CloudFormation's inline limit) an S3 URL. The key
 * is named by the text's hash, so a template already in the bucket is not uploaded again.
 */
export async function templateLocation(s3: S3Client, bucket: string, region: string, body: string): Promise<TemplateSource> {
  if (Buffer.byteLength(body) <= MAX_TEMPLATE_BODY_BYTES) return { templateBody: body };
  const key = `artifacts/template-${sha256(Buffer.from(body)).slice(0, 16)}.yaml`;
  if (!(await objectExists(s3, bucket, key))) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/yaml' }));
  }
  return { templateUrl: `https://${bucket}.s3.${region}.amazonaws.com/${key}` };
}

export interface StackDeployerInit {
  session: InstallSession;
  template: StackTemplate;
  /** Where CloudFormation reads the full template (see templateLocation). */
  templateSource: TemplateSource;
  parameters: Record<string, ParameterValue>;
  /** The artifacts bucket, for templates too big to send inline. */
  bucket: string;
  /** Let an upgrade replace a resource that holds data. */
  allowReplacement: boolean;
}

export class StackDeployer {
  private readonly session: InstallSession;
  private readonly stackName: string;
  private readonly template: StackTemplate;
  private readonly templateSource: TemplateSource;
  private readonly parameters: Record<string, ParameterValue>;
  private readonly tags = { [VERSION_TAG]: VERSION };
  private readonly bucket: string;
  private readonly allowReplacement: boolean;

  constructor(init: StackDeployerInit) {
    this.session = init.session;
    this.stackName = init.session.stackName;
    this.template = init.template;
    this.templateSource = init.templateSource;
    this.parameters = init.parameters;
    this.bucket = init.bucket;
    this.allowReplacement = init.allowReplacement;
  }

  /** Upgrades the running stack, brings kept resources back into a new one, or creates it. */
  deploy(existing: StackDescription | undefined, toImport: FoundResource[]): Promise<Deployed> {
    if (existing) return this.upgrade(existing);
    if (toImport.length > 0) return this.reinstall(toImport);
    return this.create();
  }

  /** A new stack: CreateStack, then follow it. */
  async create(): Promise<Deployed> {
    const { stackName } = this;
    const token = `sesmailengine-install-${randomUUID()}`;
    const startTime = new Date();
    this.session.step(`create stack ${stackName}`);
    const stackId = (
      await this.session.aws.cloudFormation.create({ stackName, ...this.templateSource, parameters: this.parameters, tags: this.tags, clientRequestToken: token })
    ).stackId;
    const progress = new StackProgress({ stackName, startTime, clientRequestToken: token, total: this.template.resourceCount });
    const final = await this.session.follow(stackId, progress, 'Creating');
    if (!final || !final.status.isSuccess) throw this.operationFailed(final, progress, 'install');
    return { stack: final };
  }

  /** An existing stack: change set, preview, (confirm,) execute, follow. */
  async upgrade(running: StackDescription): Promise<Deployed> {
    const { ui } = this.session;
    let stack = running;
    const before = engineVersionOf(stack);
    ui.info(`Upgrading ${this.stackName}: engine ${before} → ${VERSION}.`);
    const indexState = await this.suppressionIndex(stack);
    if (indexState !== 'current') stack = await this.dropLegacySuppressionIndex(stack, before, indexState);
    const description = await this.prepareChangeSet('UPDATE', this.templateSource);
    if (!description) {
      ui.ok(`Stack ${this.stackName} is up to date (no changes).`);
      this.session.step('no updates to perform');
      return { stack, before };
    }
    await this.refuseTakenNames(description);
    await this.reviewChanges(description);
    await this.approve(description, `Apply these changes to ${this.stackName} in ${this.session.region}?`);
    const { final, progress } = await this.executeChangeSet(description, 'Updating', stack.status.name);
    if (!final || !final.status.isSuccess) throw this.operationFailed(final, progress, 'update', before);
    return { stack: final, before };
  }

  /**
   * A stack name whose kept resources exist: an IMPORT change set brings them into a new
   * stack (the template holding only them), then an update adds everything else.
   */
  async reinstall(found: FoundResource[]): Promise<Deployed> {
    let broughtBack = await this.importKept(found);
    // A kept suppression table of an earlier version comes back with its createdAt index,
    // which the import does not change: remove it first, as an upgrade does.
    const indexState = await this.suppressionIndex(broughtBack);
    if (indexState !== 'current') broughtBack = await this.dropLegacySuppressionIndex(broughtBack, engineVersionOf(broughtBack), indexState);

    const rest = await this.prepareChangeSet('UPDATE', this.templateSource);
    if (!rest) return { stack: broughtBack };
    const summary = summarizeChanges(rest.changes);
    this.session.ui.info(`Adding the rest of the engine (${summaryLine(summary)}).`);
    const risky = dataReplacements(rest.changes);
    if (risky.length > 0) await this.reviewChanges(rest);
    const second = await this.executeChangeSet(rest, 'Creating', broughtBack.status.name);
    if (!second.final || !second.final.status.isSuccess) throw this.operationFailed(second.final, second.progress, 'reinstall');
    return { stack: second.final };
  }

  /** The first half of a reinstall: the IMPORT change set; a refused or failed one leaves no empty stack behind. */
  private async importKept(found: FoundResource[]): Promise<StackDescription> {
    let body: string;
    try {
      body = importTemplateBody(this.template.document, found.map((r) => r.logicalId));
    } catch (error) {
      throw new CliError('INS021', `The kept resources cannot be imported: ${(error as Error).message}`, this.changeSetFix('IMPORT'), { cause: error });
    }
    const resourcesToImport: ResourceToImport[] = found.map((r) => ({ logicalId: r.logicalId, type: r.type, identifier: r.existing.identifier }));
    let imported: ChangeSetDescription | undefined;
    try {
      imported = await this.prepareChangeSet('IMPORT', await this.templateLocation(body), resourcesToImport);
      if (!imported) throw new CliError('INS021', `CloudFormation found nothing to import into ${this.stackName}.`, this.changeSetFix('IMPORT'));
    } catch (error) {
      await this.removeEmptyStack();
      throw error;
    }
    const first = await this.executeChangeSet(imported, 'Importing', 'REVIEW_IN_PROGRESS');
    if (!first.final || first.final.status.name !== 'IMPORT_COMPLETE') {
      const error = this.operationFailed(first.final, first.progress, 'import');
      await this.removeEmptyStack();
      throw error;
    }
    this.session.ui.ok(`Brought back ${found.length} resources with their data into ${this.stackName}.`);
    return first.final;
  }

  /** Whether the stack's suppression-type-date-index still has the createdAt range key (or is gone, after step 1). */
  private async suppressionIndex(stack: StackDescription): Promise<SuppressionIndexState> {
    const table = stack.outputs.SuppressionTableName ?? `${this.stackName}-Suppression`;
    try {
      const described = await this.session.aws.dynamodb.send(new DescribeTableCommand({ TableName: table }));
      const state = suppressionIndexState(described?.Table);
      this.session.step(`${table} ${SUPPRESSION_INDEX}: ${state}`);
      return state;
    } catch (error) {
      this.session.step(`could not describe ${table}: ${(error as Error).message}`);
      return 'current';
    }
  }

  /**
   * Step 1 of 2 of an upgrade from the createdAt index (docs/MIGRATING.md): CloudFormation
   * cannot change an index's keys in place, so this update removes the index, the entries
   * get addedToSuppressionDate, and the ordinary update that follows adds the index back.
   */
  private async dropLegacySuppressionIndex(running: StackDescription, before: string, state: SuppressionIndexState): Promise<StackDescription> {
    const { ui } = this.session;
    let stack = running;
    const table = stack.outputs.SuppressionTableName ?? `${this.stackName}-Suppression`;
    if (state === 'legacy') ui.info(
      `${table} has ${SUPPRESSION_INDEX} on createdAt; this version keys it on addedToSuppressionDate (the original engine's name). CloudFormation cannot change an index in place, so the upgrade takes two updates: the first removes the index (no entry is touched), the second adds it back on the new key. Until then, suppression list cannot query it.`,
    );
    const first = state === 'legacy' ? await this.prepareChangeSet('UPDATE', await this.templateLocation(this.firstStepTemplate())) : undefined;
    if (first) {
      await this.refuseTakenNames(first);
      await this.reviewChanges(first);
      await this.approve(first, `Apply step 1 of 2 to ${this.stackName} in ${this.session.region}?`);
      const { final, progress } = await this.executeChangeSet(first, 'Updating', stack.status.name);
      if (!final || !final.status.isSuccess) throw this.operationFailed(final, progress, 'update', before);
      stack = final;
      ui.ok(`Step 1 of 2 done: ${SUPPRESSION_INDEX} removed.`);
    }
    await this.backfillSuppressionDates(table);
    return stack;
  }

  private firstStepTemplate(): string {
    try {
      return templateWithoutSuppressionIndex(this.template.document);
    } catch (error) {
      throw new CliError('INS020', `The upgrade of ${this.stackName} cannot prepare its first step: ${(error as Error).message}`, this.changeSetFix('UPDATE'), { cause: error });
    }
  }

  /** Between the two updates: every entry gets addedToSuppressionDate (from createdAt). */
  private async backfillSuppressionDates(table: string): Promise<void> {
    this.session.step(`backfill addedToSuppressionDate in ${table}`);
    try {
      const updated = await backfillAddedToSuppressionDate(this.session.aws.dynamodb, table);
      this.session.step(`${updated} entries got addedToSuppressionDate`);
      if (updated > 0) this.session.ui.ok(`${updated} earlier entries of ${table} got addedToSuppressionDate (from createdAt).`);
    } catch (error) {
      throw new CliError(
        'INS020',
        `The upgrade of ${this.stackName} stopped between its two steps: ${(error as Error).message}`,
        `The stack runs this version without ${SUPPRESSION_INDEX}. Run install again: it fills the missing dates and adds the index back.`,
        { cause: error },
      );
    }
  }

  private templateLocation(body: string): Promise<TemplateSource> {
    return templateLocation(this.session.aws.s3, this.bucket, this.session.region, body);
  }

  /**
   * Creates a change set and waits until CloudFormation has computed it. "No changes" comes
   * back as undefined, with the change set deleted; any other refusal is an error.
   */
  private async prepareChangeSet(type: ChangeSetType, source: TemplateSource, resourcesToImport?: ResourceToImport[]): Promise<ChangeSetDescription | undefined> {
    const { session, stackName } = this;
    const what = type === 'IMPORT' ? 'resource import' : 'update';
    const code = type === 'IMPORT' ? 'INS021' : 'INS020';
    const changeSetName = `sesmailengine-${type.toLowerCase()}-${VERSION.replace(/[^A-Za-z0-9]/g, '-')}-${Date.now()}`;
    session.step(`create ${type} change set ${changeSetName}`);
    let created: { changeSetId: string };
    try {
      created = await session.aws.cloudFormation.createChangeSet({
        stackName,
        ...source,
        parameters: this.parameters,
        tags: this.tags,
        clientRequestToken: `sesmailengine-changeset-${randomUUID()}`,
        changeSetName,
        changeSetType: type,
        ...(resourcesToImport ? { resourcesToImport } : {}),
      });
    } catch (error) {
      const e = error as Error;
      throw new CliError(code, `CloudFormation refused the ${what} of ${stackName}: ${e.message}`, this.changeSetFix(type), { cause: error });
    }
    const spinner = await session.ui.spinner(`Preparing the ${what} of ${stackName} (change set)`);
    let description: ChangeSetDescription;
    try {
      description = await session.timer.waiting(() => waitForChangeSet(session.aws.cloudFormation, created.changeSetId, stackName, session.timing));
    } catch (error) {
      spinner.fail(`Preparing the ${what} of ${stackName}: ${(error as Error).message}`);
      throw error;
    }
    session.step(`change set ${description.status}${description.statusReason ? ` — ${description.statusReason}` : ''}; ${description.changes.length} changes`);
    if (description.status === 'CREATE_COMPLETE') {
      spinner.succeed(`Change set ready: ${summaryLine(summarizeChanges(description.changes))}.`);
      return description;
    }
    await this.discardChangeSet(created.changeSetId);
    if (isNoChangesReason(description.statusReason)) {
      spinner.succeed(`Change set: no changes.`);
      return undefined;
    }
    spinner.fail(`The change set failed: ${description.statusReason ?? description.status}`);
    throw new CliError(code, `CloudFormation could not prepare the ${what} of ${stackName}: ${description.statusReason ?? description.status}`, this.changeSetFix(type));
  }

  private changeSetFix(type: ChangeSetType): string {
    const logPath = this.session.log.path ?? INSTALL_LOG_FILE;
    return type === 'IMPORT'
      ? `Nothing was changed: the kept resources are still there, with their data. Fix the cause above and run install again, or see docs/SETUP.md ("Reinstall"). The log is in ${logPath}.`
      : `Nothing was changed; the running stack is as it was. Fix the cause above and run install again. The log is in ${logPath}.`;
  }

  private async discardChangeSet(changeSetId: string): Promise<void> {
    this.session.step(`delete change set ${changeSetId}`);
    await this.session.aws.cloudFormation.deleteChangeSet(changeSetId, this.stackName).catch((error: unknown) => {
      this.session.step(`could not delete change set ${changeSetId}: ${(error as Error).message}`);
    });
  }

  /** Asks before a change set runs (not under --yes); a "no" deletes it and cancels. */
  private async approve(description: ChangeSetDescription, question: string): Promise<void> {
    if (!this.session.confirm) return;
    const go = await this.session.confirm(question, true);
    if (go) return;
    await this.discardChangeSet(description.changeSetId);
    throw new UserCancelled('Upgrade cancelled; the change set was deleted and the stack is unchanged.');
  }

  /** Shows a change set; refuses data-losing replacements unless --allow-replacement. */
  private async reviewChanges(description: ChangeSetDescription): Promise<void> {
    const { ui } = this.session;
    const summary = summarizeChanges(description.changes);
    ui.info(`Changes to ${this.stackName} (${summaryLine(summary)}):`);
    for (const text of changeLines(summary)) ui.info(text);
    for (const c of description.changes) this.session.step(`change ${c.action} ${c.logicalId} ${c.type}${c.replacement ? ` replacement=${c.replacement}` : ''}`);
    const risky = dataReplacements(description.changes);
    const named = (c: { logicalId: string; type: string; physicalId?: string }) =>
      `${c.logicalId} (${c.type}${c.physicalId ? ` ${c.physicalId}` : ''})`;
    if (risky.length > 0 && !this.allowReplacement) {
      await this.discardChangeSet(description.changeSetId);
      throw new CliError(
        'INS019',
        `The upgrade would replace ${risky.map(named).join(', ')}: a new, empty resource would take ${risky.length === 1 ? 'its' : 'their'} place and the data (for a table: its items, such as the suppression list) would stay behind in the old one, outside the stack. Nothing was changed.`,
        'Keep the version you run, or, if you have copied what you need, run install again with --allow-replacement (the old resources are kept by their UpdateReplacePolicy; delete them yourself later).',
      );
    }
    for (const c of risky) ui.warn(`--allow-replacement: ${named(c)} will be replaced by a new, empty one; the old one is kept outside the stack.`);
    for (const c of dataRemovals(description.changes)) ui.warn(`${named(c)} leaves the stack; its DeletionPolicy decides whether its data is kept.`);
  }

  /**
   * An update that adds named resources (turning webhooks on adds a function, a rule and
   * alarms) fails halfway if one of those names is taken outside the stack. Stop before
   * executing anything and say what is in the way.
   */
  private async refuseTakenNames(description: ChangeSetDescription): Promise<void> {
    const { session, stackName } = this;
    const added = new Set(description.changes.filter((c) => c.action === 'Add').map((c) => c.logicalId));
    const named = namedResources(this.template.document, stackName).filter((r) => added.has(r.logicalId));
    if (named.length === 0) return;
    session.step(`look for existing named resources the update adds: ${named.map((r) => r.name).join(', ')}`);
    const probe = await findExisting(session.aws, named);
    for (const u of probe.unchecked) session.step(`could not check ${u.resource.name}: ${u.error}`);
    if (probe.found.length === 0) return;
    await this.discardChangeSet(description.changeSetId);
    const taken = listOrder(probe.found);
    throw new CliError(
      'INS024',
      `The update of ${stackName} would create resources whose names are already taken:\n  ${taken.map((r) => describeResource(r)).join('\n  ')}\nThey exist outside the stack (made by hand or by another stack). Nothing was changed.`,
      `Delete them (check first that nothing else uses them), then run install again:\n${taken.map((r) => `  ${deleteCommand(r, session.region)}`).join('\n')}\nOr install the engine under another --stack-name.`,
    );
  }

  /** Executes a change set and follows the stack until the operation ends. */
  private async executeChangeSet(
    description: ChangeSetDescription,
    verb: string,
    statusBefore: string,
  ): Promise<{ final: StackDescription | undefined; progress: StackProgress }> {
    const { session, stackName } = this;
    const token = `sesmailengine-${verb.toLowerCase()}-${randomUUID()}`;
    const progress = new StackProgress({ stackName, startTime: new Date(), clientRequestToken: token, total: description.changes.length });
    session.step(`execute change set ${description.changeSetId}`);
    await session.aws.cloudFormation.executeChangeSet(description.changeSetId, stackName, token);
    const final = await session.follow(description.stackId, progress, verb, [statusBefore]);
    return { final, progress };
  }

  /**
   * A refused or rolled-back import of a new stack leaves a stack holding nothing
   * (REVIEW_IN_PROGRESS, IMPORT_ROLLBACK_COMPLETE): delete it so the next install starts
   * clean. The kept resources are outside it and untouched.
   */
  private async removeEmptyStack(): Promise<void> {
    const { session, stackName } = this;
    const cfn = session.aws.cloudFormation;
    try {
      const left = await cfn.describe(stackName);
      if (!left || !['REVIEW_IN_PROGRESS', 'IMPORT_ROLLBACK_COMPLETE'].includes(left.status.name)) return;
      if ((await cfn.countResources(left.stackId)) > 0) return;
      session.step(`delete empty stack ${stackName} (${left.status.name})`);
      const token = `sesmailengine-delete-${randomUUID()}`;
      await cfn.delete(left.stackId, token);
      const progress = new StackProgress({ stackName, startTime: new Date(), clientRequestToken: token, total: 0 });
      await session.follow(left.stackId, progress, 'Deleting the empty stack');
    } catch (error) {
      session.step(`could not delete the empty stack: ${(error as Error).message}`);
    }
  }

  /** The error for an operation that did not end well, after printing the failing resources. */
  private operationFailed(final: StackDescription | undefined, progress: StackProgress, operation: Operation, before?: string): CliError {
    const { session, stackName } = this;
    const { region, log } = session;
    const status = final?.status.name ?? 'DELETE_COMPLETE';
    const next = reportFailure(session.ui, log, progress, status, stackName, region, final?.status.reason);
    const cause = progress.failures[0];
    const because = cause ? ` ${cause.logicalId} (${cause.type}) failed: ${cause.reason}` : final?.status.reason ? ` ${final.status.reason}` : '';
    const logLine = `The full event list is in ${log.path ?? INSTALL_LOG_FILE}.`;
    if (final?.status.needsContinueRollback) {
      return new CliError(
        'INS010',
        `The ${operation === 'import' ? 'resource import' : 'update'} of ${stackName} failed and its rollback failed too: the stack is stuck in ${status}.${because}`,
        `Fix the cause above, then continue the rollback:\n  aws cloudformation continue-update-rollback --stack-name ${stackName} --region ${region}\nand run install again. ${logLine}`,
      );
    }
    if (status === 'UPDATE_ROLLBACK_COMPLETE' && operation === 'update') {
      return new CliError(
        'INS009',
        `The update of ${stackName} failed and was rolled back (${status}): the previous version (engine ${before ?? 'unknown'}) keeps running.${because}`,
        `${next}\n${logLine}`,
      );
    }
    if (status === 'UPDATE_ROLLBACK_COMPLETE' && operation === 'reinstall') {
      return new CliError(
        'INS009',
        `${stackName} holds its kept data again, but adding the rest of the engine failed and was rolled back.${because}`,
        `Fix the cause above and run install again: it carries on as an upgrade of ${stackName}. ${logLine}`,
      );
    }
    if (operation === 'import') {
      return new CliError('INS021', `Bringing the kept resources back into ${stackName} ended in ${status}.${because}`, `${next}\n${this.changeSetFix('IMPORT')}`);
    }
    return new CliError('INS009', `The stack ${stackName} did not ${operation === 'install' ? 'install' : 'update'}: it ended in ${status}.${because}`, `${next}\n${logLine}`);
  }
}
