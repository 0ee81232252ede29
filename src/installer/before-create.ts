import { randomUUID } from 'node:crypto';
import type { StackDescription } from '../aws/cloudformation.js';
import { StackProgress } from '../aws/stack-progress.js';
import { CliError } from '../errors.js';
import { reportFailure } from './follow.js';
import type { InstallSession } from './install-session.js';
import { deleteCommand, describeResource, findExisting, listOrder, namedResources, planLeftovers, type FoundResource } from './named-resources.js';
import type { StackTemplate } from './stack-template.js';

/**
 * The two steps before a stack is created: deleting the stack a failed first install left
 * (it cannot be updated), and checking the names the new stack would take, so that the data
 * an earlier install kept comes back by import and anything else in the way stops the
 * install before it starts.
 */

/** A stack left by a failed first install cannot be updated: delete it (after asking), then create. */
export async function deleteFailedStack(session: InstallSession, existing: StackDescription, emptyAfterImport: boolean): Promise<void> {
  const { ui, log, stackName, region, aws } = session;
  ui.warn(
    emptyAfterImport
      ? `The stack ${stackName} is in ${existing.status.name} and holds nothing (an earlier import rolled back): it is deleted and the install starts afresh.`
      : `The stack ${stackName} is in ${existing.status.name}${existing.status.reason ? ` (${existing.status.reason})` : ''}: it cannot be updated and must be deleted before installing again.`,
  );
  if (session.confirm) {
    const del = await session.confirm(`Delete the failed stack ${stackName} now?`, true);
    if (!del) {
      throw new CliError('INS007', `The stack ${stackName} is in ${existing.status.name} and was not deleted.`, `Delete it (sesmailengine uninstall --stack-name ${stackName}) or install under another --stack-name.`);
    }
  } else {
    ui.info(`--yes: deleting the failed stack ${stackName} first.`);
  }
  session.step(`delete failed stack ${stackName}`);
  const token = `sesmailengine-delete-${randomUUID()}`;
  const progress = new StackProgress({ stackName, startTime: new Date(), clientRequestToken: token, total: await aws.cloudFormation.countResources(existing.stackId) });
  await aws.cloudFormation.delete(existing.stackId, token);
  const gone = await session.follow(existing.stackId, progress, 'Deleting');
  if (gone && gone.status.name !== 'DELETE_COMPLETE') {
    const next = reportFailure(ui, log, progress, gone.status.name, stackName, region, gone.status.reason);
    throw new CliError('INS007', `Deleting the failed stack ${stackName} ended in ${gone.status.name}.`, next);
  }
}

/**
 * Checks the template's named resources against the account; returns the ones an earlier
 * install kept, to import. `conditions`: resources behind a false Condition are not created.
 */
export async function checkNamedResources(session: InstallSession, template: StackTemplate, conditions: Record<string, boolean>): Promise<FoundResource[]> {
  const { ui, stackName, region, aws } = session;
  const named = namedResources(template.document, stackName, conditions);
  session.step(`look for existing named resources: ${named.map((r) => r.name).join(', ')}`);
  const probe = await findExisting(aws, named);
  for (const u of probe.unchecked) {
    ui.warn(`Could not check whether the ${describeResource(u.resource)} already exists (${u.error}); CloudFormation will say so if it does.`);
    session.step(`could not check ${u.resource.name}: ${u.error}`);
  }
  const plan = planLeftovers(template.document, probe.found);
  for (const f of probe.found) session.step(`exists: ${f.logicalId} ${f.name} ${JSON.stringify(f.existing.identifier)}`);
  if (plan.collisions.length > 0 || plan.incomplete.length > 0) {
    const lines = [
      ...plan.collisions.map((c) => `the ${describeResource(c.resource)}: ${c.why}`),
      ...plan.incomplete.map((c) => `the ${describeResource(c.resource)}: kept by an earlier install, but it cannot come back without ${c.missing.join(', ')}, which ${c.missing.length === 1 ? 'is' : 'are'} gone`),
    ];
    const commands = [...plan.collisions.map((c) => c.resource), ...plan.incomplete.map((c) => c.resource)].map((r) => `  ${deleteCommand(r, region)}`);
    throw new CliError(
      'INS017',
      `The stack ${stackName} would create resources whose names are already taken:\n  ${lines.join('\n  ')}`,
      `Install under another --stack-name, or delete what is in the way (check first that nothing else uses it):\n${commands.join('\n')}`,
    );
  }
  if (plan.schemaMismatches.length > 0) {
    const lines = plan.schemaMismatches.map((m) => `the ${describeResource(m.resource)} has the key ${m.actual}; the engine needs ${m.expected}`);
    throw new CliError(
      'INS018',
      `Tables kept by an earlier install cannot be brought back into ${stackName}:\n  ${lines.join('\n  ')}`,
      `A table's key cannot change in place. Install under another --stack-name, or export what you need and delete the table:\n${plan.schemaMismatches.map((m) => `  ${deleteCommand(m.resource, region)}`).join('\n')}`,
    );
  }
  if (plan.toImport.length > 0) {
    ui.info(`Found ${plan.toImport.length} resources kept by an earlier install of ${stackName}; they come back into the new stack with their data (CloudFormation resource import):`);
    for (const r of listOrder(plan.toImport)) ui.info(`  ${describeResource(r)}`);
  }
  return plan.toImport;
}
