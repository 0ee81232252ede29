/**
 * Structured logs for the handlers: one JSON line per entry, tagged with the handler's
 * name; warnings and errors go to stderr. Lambda sends both streams to CloudWatch Logs.
 */

export type Logger = (entry: Record<string, unknown>) => void;

export function jsonLogger(component: string): Logger {
  return (entry) => {
    const line = JSON.stringify({ component, ...entry });
    if (entry.level === 'error' || entry.level === 'warn') console.error(line);
    else console.log(line);
  };
}

/** An error as one short line for a log or a record: `[code: ]Name: message`. */
export function describeError(error: unknown, maxLength = 500): string {
  if (!(error instanceof Error)) return String(error).slice(0, maxLength);
  const code = (error as { code?: unknown }).code;
  const text = `${typeof code === 'string' ? `${code}: ` : ''}${error.name}: ${error.message}`;
  return text.slice(0, maxLength);
}
