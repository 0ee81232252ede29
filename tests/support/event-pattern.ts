/**
 * A small EventBridge event-pattern matcher covering the operators the stack's rules use
 * (exact values, anything-but, prefix, exists), so tests can check what a rule routes.
 */
type Pattern = { [key: string]: Pattern | unknown[] };

function matchesValue(condition: unknown, value: unknown): boolean {
  if (condition === null || typeof condition !== 'object') return condition === value;
  const c = condition as Record<string, unknown>;
  if ('anything-but' in c) {
    const excluded = c['anything-but'];
    const list = Array.isArray(excluded) ? excluded : [excluded];
    return value !== undefined && !list.some((x) => matchesValue(x, value));
  }
  if ('prefix' in c) return typeof value === 'string' && value.startsWith(String(c.prefix));
  if ('exists' in c) return (value !== undefined) === Boolean(c.exists);
  throw new Error(`Unsupported pattern operator ${JSON.stringify(condition)}`);
}

function matchesField(conditions: unknown[], value: unknown): boolean {
  const values = Array.isArray(value) ? value : [value];
  return conditions.some((condition) =>
    typeof condition === 'object' && condition !== null && 'exists' in condition
      ? matchesValue(condition, value)
      : values.some((v) => matchesValue(condition, v)),
  );
}

export function matchesPattern(pattern: Pattern, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, condition]) => {
    const value = event[key];
    if (Array.isArray(condition)) return matchesField(condition, value);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    return matchesPattern(condition, value as Record<string, unknown>);
  });
}
