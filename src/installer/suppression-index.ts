import type { TemplateDocument } from './template-document.js';
import { SUPPRESSION_TABLE } from '../../functions/lib/table-schemas.js';

/**
 * CloudFormation cannot change an index's key schema in place, nor delete and re-create an
 * index of the same name in one update, so install upgrades a stack whose
 * suppression-type-date-index is still on `createdAt` in two updates: first this template
 * without the index, then the real one, which adds it again (functions/lib/suppression-index.ts
 * tells the states apart and fills the dates in between). Pure.
 */

const SUPPRESSION_LOGICAL_ID = 'SuppressionTable';

/**
 * The template of the first step: the same template, the suppression table without its
 * index (and without the attribute definitions only the index used). JSON, which
 * CloudFormation reads as well as YAML.
 */
export function templateWithoutSuppressionIndex(document: TemplateDocument): string {
  const copy = JSON.parse(JSON.stringify(document)) as TemplateDocument;
  const table = copy.Resources[SUPPRESSION_LOGICAL_ID] as { Properties?: Record<string, unknown> } | undefined;
  if (!table?.Properties) throw new Error(`the template has no ${SUPPRESSION_LOGICAL_ID}`);
  delete table.Properties.GlobalSecondaryIndexes;
  const keys = new Set([SUPPRESSION_TABLE.hashKey]);
  const definitions = table.Properties.AttributeDefinitions as { AttributeName: string }[];
  table.Properties.AttributeDefinitions = definitions.filter((d) => keys.has(d.AttributeName));
  return JSON.stringify(copy);
}
