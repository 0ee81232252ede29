import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeTableCommand, type TableDescription } from '@aws-sdk/client-dynamodb';
import { PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CloudFormationApi } from '../aws/cloudformation.js';
import { clientConfig, sdkModule } from '../aws/clients.js';
import { CliError, UsageError } from '../errors.js';
import { createUi, processIo, type Io, type Spinner, type Ui } from '../ui.js';
import { mapConcurrently } from '../../functions/core/concurrency.js';
import { batchGetAll, BATCH_GET_MAX_KEYS } from '../../functions/lib/batch-get.js';
import { conditionalWrite } from '../../functions/lib/dynamo-errors.js';
import {
  checkpointKey,
  emptyCheckpoint,
  KEY_OF,
  originalTableNames,
  progressBar,
  startingPoint,
  suppressionFromOriginal,
  trackingFromOriginal,
  type Checkpoint,
  type TableKind,
  type TableProgress,
} from '../ops/migration.js';
import { table } from '../ops/print.js';
import { withTarget, type EngineTarget, type TargetOptions } from '../ops/target.js';
import { DEFAULT_STACK_NAME, stackNameProblem, type CommonOptions } from '../shared-options.js';

/**
 * `sesmailengine migrate`: brings the original engine's suppression list and tracking
 * history into this engine's tables. It finds the original's stack and tables by the names
 * its documents give (`<stack>-EmailTracking`, `<stack>-Suppression`), reads them with a
 * paged Scan, and — only with --apply — copies each item with a conditional put that never
 * overwrites an item this engine has. A dry run reads the same and writes nothing. The scan
 * position is saved after every page (sesmailengine-migrate.json), so an interrupted run
 * resumes; nothing is ever deleted.
 */

export const CHECKPOINT_FILE = 'sesmailengine-migrate.json';
const PUTS_IN_FLIGHT = 8;
/** Refused items named in the report (the count covers them all). */
const REFUSALS_KEPT = 20;

export interface MigrateOptions extends CommonOptions, TargetOptions {
  /** Copy; without it, a dry run. */
  apply?: boolean;
  json?: boolean;
  /** Ignore a saved position and start each table from its beginning. */
  restart?: boolean;
  /** The original's stack name (default sesmailengine). */
  sourceStack?: string;
  sourceTrackingTable?: string;
  sourceSuppressionTable?: string;
  /** Items per Scan page (default: DynamoDB's 1 MB pages). */
  pageSize?: number;
}

interface SourceTable {
  kind: TableKind;
  source: string;
  target: string;
  /** DynamoDB's approximate item count (updated about every six hours). */
  itemCount?: number;
}

export interface MigrateReport {
  apply: boolean;
  target: string;
  sourceStack: { name: string; status?: string; note: string };
  tables: (TableProgress & { kind: TableKind; resumed: boolean })[];
  checkpointFile?: string;
}

export async function migrate(options: MigrateOptions): Promise<number> {
  const io = options.io ?? processIo();
  const sourceStack = options.sourceStack ?? DEFAULT_STACK_NAME;
  const problem = stackNameProblem(sourceStack);
  if (problem) throw new UsageError('OPS004', `--source-stack "${sourceStack}" ${problem}.`, 'Pass the stack name the original was installed under, e.g. --source-stack sesmailengine.');
  if (options.pageSize !== undefined && (!Number.isInteger(options.pageSize) || options.pageSize < 1)) {
    throw new UsageError('OPS004', `The scan page size must be a whole number of at least 1, got ${options.pageSize}.`, 'Leave it out to use DynamoDB’s 1 MB pages.');
  }
  return withTarget(options, (target) => new Migration(options, target, io, sourceStack).run());
}

class Migration {
  private readonly ui: Ui;
  private readonly apply: boolean;
  private readonly checkpointPath: string;
  private ddb!: DynamoDBDocumentClient;

  constructor(
    private readonly options: MigrateOptions,
    private readonly target: EngineTarget,
    private readonly io: Io,
    private readonly sourceStack: string,
  ) {
    this.ui = createUi(io);
    this.apply = Boolean(options.apply);
    this.checkpointPath = join(options.cwd ?? process.cwd(), CHECKPOINT_FILE);
  }

  async run(): Promise<number> {
    this.ddb = await this.target.clients.ddb();
    const stack = await this.findSourceStack();
    const tables = await this.findTables();
    if (!this.options.json) this.showPlan(stack, tables);
    const checkpoint = this.apply ? await this.loadCheckpoint() : emptyCheckpoint();
    const results: MigrateReport['tables'] = [];
    for (const t of tables) results.push({ kind: t.kind, ...(await this.copyTable(t, checkpoint)) });
    const report: MigrateReport = {
      apply: this.apply,
      target: this.target.description,
      sourceStack: { name: this.sourceStack, ...stack },
      tables: results,
      ...(this.apply ? { checkpointFile: this.checkpointPath } : {}),
    };
    this.printReport(report);
    return 0;
  }

  // ------------------------------------------------------------------ finding the original

  /** The original's stack, on AWS: found, gone (its kept tables may remain), or unreadable. */
  private async findSourceStack(): Promise<{ status?: string; note: string }> {
    if (this.target.kind !== 'aws') return { note: 'local mode: the source tables are looked up in its DynamoDB' };
    if (this.sourceStack === this.target.stackName && !this.options.sourceTrackingTable && !this.options.sourceSuppressionTable) {
      throw new CliError(
        'MIG001',
        `The source stack and this engine's stack are both ${this.sourceStack}: there is nothing to copy into itself.`,
        'Install this engine under another name (sesmailengine install --stack-name mail) and run migrate --stack-name mail; see docs/MIGRATING.md.',
      );
    }
    let cfn: CloudFormationApi;
    try {
      cfn = this.options.clients?.cloudFormation ?? (await this.cloudFormation());
      const stack = await cfn.describe(this.sourceStack);
      if (!stack) return { note: `no stack named ${this.sourceStack}; looking for the tables it kept` };
      const engineVersion = stack.outputs.EngineVersion ?? stack.tags['sesmailengine:version'];
      return {
        status: stack.status.name,
        note: engineVersion ? `a stack of this engine (version ${engineVersion}), not the original` : 'the original engine',
      };
    } catch (error) {
      return { note: `could not read the stack (${(error as Error).message}); looking for its tables` };
    }
  }

  private async cloudFormation(): Promise<CloudFormationApi> {
    const [{ CloudFormationClient }, { createCloudFormationApi }] = await Promise.all([
      sdkModule(import('@aws-sdk/client-cloudformation')),
      import('../aws/cloudformation.js'),
    ]);
    const config = clientConfig({ region: this.target.region, ...(this.options.profile ? { profile: this.options.profile } : {}) });
    return createCloudFormationApi(new CloudFormationClient(config));
  }

  private async describe(name: string): Promise<TableDescription | undefined> {
    try {
      return (await this.ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  private async findTables(): Promise<SourceTable[]> {
    const names = originalTableNames(this.sourceStack);
    const wanted: { kind: TableKind; source: string; target: string }[] = [
      { kind: 'suppression', source: this.options.sourceSuppressionTable ?? names.suppression, target: this.target.resources.suppressionTable },
      { kind: 'tracking', source: this.options.sourceTrackingTable ?? names.tracking, target: this.target.resources.trackingTable },
    ];
    const ours = new Set([this.target.resources.trackingTable, this.target.resources.suppressionTable, this.target.resources.countersTable]);
    const found: SourceTable[] = [];
    const missing: string[] = [];
    for (const w of wanted) {
      if (ours.has(w.source)) {
        throw new CliError(
          'MIG001',
          `${w.source} is one of this engine's own tables (${this.target.description}); migrate copies from the original's tables into these.`,
          'Pass the original stack with --source-stack (or its tables with --source-tracking-table / --source-suppression-table), and this engine with --stack-name.',
        );
      }
      const description = await this.describe(w.source);
      if (!description) {
        missing.push(w.source);
        continue;
      }
      const hash = description.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
      const range = description.KeySchema?.find((k) => k.KeyType === 'RANGE');
      if (hash !== KEY_OF[w.kind] || range) {
        throw new CliError(
          'MIG003',
          `${w.source} is keyed on ${(description.KeySchema ?? []).map((k) => k.AttributeName).join(' + ')}, not on ${KEY_OF[w.kind]} as the original's ${w.kind} table is.`,
          `Check the name; pass the right table with --source-${w.kind}-table.`,
        );
      }
      found.push({ ...w, ...(description.ItemCount !== undefined ? { itemCount: description.ItemCount } : {}) });
    }
    if (found.length === 0) {
      throw new CliError(
        'MIG002',
        `Neither of the original's tables was found in ${this.target.kind === 'aws' ? this.target.region : 'local mode'}: ${missing.join(', ')}.`,
        'Check --source-stack and --region (the original was installed with python install.py, default stack name sesmailengine), or name the tables with --source-tracking-table / --source-suppression-table.',
      );
    }
    for (const name of missing) this.ui.warn(`${name} was not found; it is left out.`);
    return found;
  }

  private showPlan(stack: { status?: string; note: string }, tables: SourceTable[]): void {
    this.ui.info(`Source: stack ${this.sourceStack}${stack.status ? ` (${stack.status})` : ''} — ${stack.note}.`);
    this.ui.info(`Target: ${this.target.description}.`);
    for (const t of tables) {
      this.ui.info(`  ${t.kind.padEnd(11)} ${t.source} → ${t.target}${t.itemCount !== undefined ? ` (about ${t.itemCount.toLocaleString('en-US')} items)` : ''}`);
    }
    this.ui.info(
      this.apply
        ? 'Copying: each item is written only if this engine does not have it yet; nothing is deleted.'
        : 'Dry run: reading both sides, writing nothing (--apply copies).',
    );
  }

  // ------------------------------------------------------------------ copying

  private async copyTable(t: SourceTable, checkpoint: Checkpoint): Promise<TableProgress & { resumed: boolean }> {
    const key = checkpointKey(t.source, t.target);
    const progress = startingPoint(checkpoint.tables[key], t.source, t.target, Boolean(this.options.restart));
    const resumed = progress.lastKey !== undefined;
    const label = `${this.apply ? 'Copying' : 'Reading'} ${t.source}`;
    const spinner: Spinner | undefined = this.options.json ? undefined : await this.ui.spinner(`${label}${resumed ? ` (resuming after ${progress.scanned.toLocaleString('en-US')} items)` : ''}`);
    let start = progress.lastKey;
    try {
      do {
        const page = await this.ddb.send(
          new ScanCommand({
            TableName: t.source,
            ...(this.options.pageSize ? { Limit: this.options.pageSize } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        const items = (page.Items ?? []).map((item) => (t.kind === 'tracking' ? trackingFromOriginal(item, t.source) : suppressionFromOriginal(item, t.source)));
        const keyName = KEY_OF[t.kind];
        const usable = items.filter((item) => typeof item[keyName] === 'string' && item[keyName] !== '');
        const refusedAtStart = progress.refused ?? 0;
        progress.skipped += items.length - usable.length;
        const written = this.apply ? await this.put(t.target, keyName, usable, progress) : await this.absent(t.target, keyName, usable);
        const refusedNow = (progress.refused ?? 0) - refusedAtStart;
        progress.copied += written;
        progress.present += usable.length - written - refusedNow;
        progress.scanned += items.length;
        start = page.LastEvaluatedKey;
        progress.lastKey = start;
        progress.done = !start;
        if (this.apply) {
          checkpoint.tables[key] = progress;
          await this.saveCheckpoint(checkpoint);
        }
        spinner?.update(`${label} ${progressBar(progress.scanned, t.itemCount)}`);
      } while (start);
    } catch (error) {
      spinner?.fail(`${label}: stopped after ${progress.scanned.toLocaleString('en-US')} items (${(error as Error).message})`);
      if (!this.apply) throw error;
      throw new CliError(
        'MIG004',
        `Copying ${t.source} stopped after ${progress.scanned.toLocaleString('en-US')} items: ${(error as Error).message}`,
        `Fix the cause and run the same command again: it carries on from the position saved in ${this.checkpointPath}. Nothing was deleted.`,
        { cause: error },
      );
    }
    spinner?.succeed(
      `${t.source}: ${progress.scanned.toLocaleString('en-US')} read, ${progress.copied.toLocaleString('en-US')} ${this.apply ? 'copied' : 'to copy'}, ${progress.present.toLocaleString('en-US')} already there${progress.skipped ? `, ${progress.skipped} without a key (left out)` : ''}${progress.refused ? `, ${progress.refused} refused by DynamoDB (left out)` : ''}.`,
    );
    if (progress.refused && !this.options.json) {
      for (const r of progress.refusals ?? []) this.ui.warn(`Not copied: ${KEY_OF[t.kind]} ${JSON.stringify(r.key)}: ${r.reason}`);
      const unnamed = progress.refused - (progress.refusals?.length ?? 0);
      if (unnamed > 0) this.ui.warn(`…and ${unnamed} more (--json lists the first ${REFUSALS_KEPT}).`);
    }
    const { lastKey: _lastKey, ...rest } = progress;
    return { ...rest, resumed };
  }

  /**
   * Conditional puts; returns how many were written. Of the rest, this engine already had
   * each, or DynamoDB refused it (ValidationException: counted in `progress.refused`, the
   * copy goes on; a rerun would meet the same item again and stop at the same place).
   */
  private async put(tableName: string, keyName: string, items: Record<string, unknown>[], progress: TableProgress): Promise<number> {
    const written = await mapConcurrently(items, PUTS_IN_FLIGHT, async (item): Promise<number> => {
      try {
        const applied = await conditionalWrite(
          this.ddb.send(
            new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(#k)', ExpressionAttributeNames: { '#k': keyName } }),
          ),
        );
        return applied ? 1 : 0;
      } catch (error) {
        if ((error as { name?: string } | null)?.name !== 'ValidationException') throw error;
        progress.refused = (progress.refused ?? 0) + 1;
        progress.refusals ??= [];
        if (progress.refusals.length < REFUSALS_KEPT) progress.refusals.push({ key: String(item[keyName]), reason: (error as Error).message });
        return 0;
      }
    });
    return written.reduce((a, b) => a + b, 0);
  }

  /** How many of the items this engine does not have yet (BatchGetItem, keys only). */
  private async absent(tableName: string, keyName: string, items: Record<string, unknown>[]): Promise<number> {
    const keys = [...new Set(items.map((item) => item[keyName] as string))];
    let present = 0;
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX_KEYS) {
      const chunk = keys.slice(i, i + BATCH_GET_MAX_KEYS).map((k) => ({ [keyName]: k }));
      present += (await batchGetAll(this.ddb, tableName, chunk, { what: 'Migration check' })).length;
    }
    return items.length - present;
  }

  // ------------------------------------------------------------------ the saved position

  private async loadCheckpoint(): Promise<Checkpoint> {
    let text: string;
    try {
      text = await readFile(this.checkpointPath, 'utf8');
    } catch {
      return emptyCheckpoint();
    }
    try {
      const parsed = JSON.parse(text) as Checkpoint;
      if (parsed?.version !== 1 || typeof parsed.tables !== 'object' || parsed.tables === null) throw new Error('not a migrate checkpoint');
      return parsed;
    } catch (error) {
      throw new CliError(
        'MIG005',
        `${this.checkpointPath} cannot be read as migrate's saved position (${(error as Error).message}).`,
        'Move the file away (or pass --restart): the copy then starts from the beginning, which is safe, as items already copied are left as they are.',
      );
    }
  }

  private async saveCheckpoint(checkpoint: Checkpoint): Promise<void> {
    // Write then rename, so an interruption never leaves half a file.
    const temporary = `${this.checkpointPath}.tmp`;
    await writeFile(temporary, `${JSON.stringify(checkpoint, null, 2)}\n`);
    await rename(temporary, this.checkpointPath);
  }

  // ------------------------------------------------------------------ output

  private printReport(report: MigrateReport): void {
    if (this.options.json) {
      this.io.stdout.write(`${JSON.stringify(report)}\n`);
      return;
    }
    table(
      this.ui,
      ['table', 'from', 'to', 'read', this.apply ? 'copied' : 'to copy', 'already there'],
      report.tables.map((t) => [t.kind, t.source, t.target, String(t.scanned), String(t.copied), String(t.present)]),
    );
    if (this.apply) {
      this.ui.ok(`Done. Nothing was deleted. Run it again before you uninstall the original: it copies only what is new.`);
    } else {
      this.ui.info(`Dry run: nothing was written. Run it again with --apply to copy${report.tables.some((t) => t.copied > 0) ? '' : ' (there is nothing new to copy)'}.`);
    }
  }
}
