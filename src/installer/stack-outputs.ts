/**
 * Reading the stack's outputs by what they hold rather than by exact key, so the CLI keeps
 * working when the template adds an output (another queue, another table).
 */

export interface StackResourcesView {
  tables: { key: string; name: string }[];
  countersTable?: string;
  deadLetterQueues: { key: string; url: string }[];
  bucket?: string;
}

export function viewOutputs(outputs: Record<string, string>, parameters: Record<string, string> = {}): StackResourcesView {
  const entries = Object.entries(outputs).sort(([a], [b]) => a.localeCompare(b));
  const tables = entries
    .filter(([key]) => /Table(Name)?$/.test(key))
    .map(([key, name]) => ({ key, name }));
  const counters = tables.find((t) => /counter/i.test(t.key));
  const deadLetterQueues = entries
    .filter(([key, value]) => /(DLQ|DeadLetter)/i.test(key) && /Url$/i.test(key) && /^https?:\/\//.test(value))
    .map(([key, url]) => ({ key, url }));
  const bucket =
    outputs.TemplateBucketName ?? outputs.TemplateBucket ?? outputs.ArtifactBucket ?? outputs.BucketName ?? parameters.ArtifactBucket;
  return {
    tables,
    ...(counters ? { countersTable: counters.name } : {}),
    deadLetterQueues,
    ...(bucket ? { bucket } : {}),
  };
}

/** A queue's name from its URL (the last path segment). */
export function queueNameFromUrl(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}
