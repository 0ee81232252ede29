import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import chalk from 'chalk';
import type { StackDescription } from '../aws/cloudformation.js';
import { checkDeliverability } from '../ops/deliverability-gather.js';
import { warnDeliverability } from '../ops/print.js';
import type { Ui } from '../ui.js';
import { VERSION } from '../version.js';
import type { SeedResult } from '../../functions/lib/template-seeding.js';
import type { InstallSession } from './install-session.js';
import { viewOutputs } from './stack-outputs.js';

/**
 * The end of a successful install or upgrade: the starter templates through the stack's own
 * seeder, the outputs with the publishers' IAM policy and a copy-paste first send, the
 * engine version before and after, and the closing line.
 */

/** The stack tag that records the engine version (also the EngineVersion output, when the template has it). */
export const VERSION_TAG = 'sesmailengine:version';

/** The engine version a stack runs: its EngineVersion output, else its version tag. */
export function engineVersionOf(stack: StackDescription): string {
  return stack.outputs.EngineVersion ?? stack.tags[VERSION_TAG] ?? 'unknown';
}

/** The copy-paste first send: one Email Request to the SES mailbox simulator. */
export function firstSendCommand(busName: string, region: string, profile?: string): string {
  const detail = JSON.stringify({
    to: 'success@simulator.amazonses.com',
    templateName: 'welcome',
    templateData: { userName: 'Ada', companyName: 'Example Co' },
  });
  const entries = JSON.stringify([{ EventBusName: busName, Source: 'my.app', DetailType: 'Email Request', Detail: detail }]);
  return `aws events put-events --region ${region}${profile ? ` --profile ${profile}` : ''} --entries '${entries}'`;
}

export function printOutputs(ui: Ui, stack: StackDescription, region: string, profile?: string): void {
  const outputs = stack.outputs;
  ui.out('');
  ui.out(chalk.bold('Stack outputs'));
  for (const [key, value] of Object.entries(outputs).sort(([a], [b]) => a.localeCompare(b))) {
    if (key === 'CustomerIAMPolicy') continue;
    ui.out(`  ${key.padEnd(28)} ${value}`);
  }
  if (outputs.CustomerIAMPolicy) {
    ui.out('');
    ui.out(chalk.bold('IAM policy for your publishers (allows events:PutEvents on the bus only):'));
    let policy = outputs.CustomerIAMPolicy;
    try {
      policy = JSON.stringify(JSON.parse(policy), null, 2);
    } catch {
      // printed as CloudFormation gave it
    }
    ui.out(policy);
  }
  const bus = outputs.EventBusName;
  if (bus) {
    ui.out('');
    ui.out(chalk.bold('Send a first email (to the SES mailbox simulator, which works in the sandbox too):'));
    ui.out(`  ${firstSendCommand(bus, region, profile)}`);
  }
}

/** Runs the stack's Template Seeder; a function error becomes an Error with its type and message. */
export async function invokeSeeder(lambda: LambdaClient, stackName: string): Promise<SeedResult> {
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: `${stackName}-TemplateSeeder`, Payload: new TextEncoder().encode('{}') }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  if (out.FunctionError) {
    let reason = text;
    try {
      const parsed = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      reason = `${parsed.errorType ?? 'Error'}: ${parsed.errorMessage ?? text}`;
    } catch {
      // keep the raw text
    }
    throw new Error(reason);
  }
  const parsed = JSON.parse(text || '{}') as Partial<SeedResult>;
  return { installed: parsed.installed ?? [], updated: parsed.updated ?? [], skipped: parsed.skipped ?? [] };
}

/**
 * DKIM, MAIL FROM, DMARC and one-click unsubscribe for the stack's sender, as warnings: a
 * sender that receivers may distrust does not make the install fail.
 */
export async function printDeliverabilityCheck(session: InstallSession, stack: StackDescription): Promise<void> {
  const { ui, region, aws } = session;
  const sender = stack.parameters.DefaultSenderEmail;
  if (!sender) return;
  session.step(`check deliverability of ${sender}`);
  try {
    const bucket = viewOutputs(stack.outputs, stack.parameters).bucket;
    const report = await checkDeliverability({ sender, region, ...(bucket ? { bucket } : {}) }, aws);
    ui.info('');
    warnDeliverability(ui, report);
    session.step(`deliverability ${report.state}: ${report.items.map((i) => `${i.id}=${i.state}`).join(' ')}`);
  } catch (error) {
    ui.warn(`The deliverability check did not run: ${(error as Error).message}\n  Run it with: sesmailengine status --stack-name ${session.stackName} --region ${region}`);
    session.step(`deliverability check failed: ${(error as Error).message}`);
  }
}

/**
 * Seeds, prints the outputs and says it is done; returns the exit code (0). `before`: the
 * engine version the stack ran before an upgrade (undefined for a new stack). A failing
 * seeder is a warning with the command that runs it again, not a failed install.
 */
export async function finishInstall(session: InstallSession, stack: StackDescription, before?: string, profile?: string): Promise<number> {
  const { ui, log, stackName, region, aws } = session;
  session.step('invoke template seeder');
  try {
    const seeded = await invokeSeeder(aws.lambda, stackName);
    ui.ok(`Starter templates: ${seeded.installed.length} installed, ${seeded.updated.length} updated, ${seeded.skipped.length} skipped (customised or current).`);
    session.step(`seeded installed=${seeded.installed.join(',')} updated=${seeded.updated.join(',')} skipped=${seeded.skipped.join(',')}`);
  } catch (error) {
    ui.warn(`The Template Seeder failed: ${(error as Error).message}\n  Run it again with: sesmailengine seed-templates --stack-name ${stackName} --region ${region}`);
    session.step(`seeder failed: ${(error as Error).message}`);
  }
  printOutputs(ui, stack, region, profile);
  await printDeliverabilityCheck(session, stack);
  const after = engineVersionOf(stack);
  if (before !== undefined) ui.ok(before === after ? `Engine version ${after} (unchanged).` : `Engine version: ${before} → ${after}.`);
  session.step(`engine version before=${before ?? '(new)'} after=${after}`);
  session.step(`done; time besides CloudFormation and prompts: ${session.timer.overheadSeconds().toFixed(2)} s`);
  ui.info('');
  ui.ok(`SESMailEngine ${VERSION} is installed in ${region} as ${stackName}. Log: ${log.path ?? '(not written)'}`);
  return 0;
}
