/**
 * Local mode's defaults, in one place for the `local` command's flags (and their --help),
 * its validation, and the operating commands' `--local` (which finds local mode at its
 * default port). Kept free of imports so `--help` can read it.
 */
export const LOCAL_DEFAULTS = {
  port: 4010,
  dynamodbPort: 4011,
  s3Port: 4012,
  sesPort: 4013,
  retryDelaySeconds: 5,
  sender: 'no-reply@example.com',
  stackName: 'sesmailengine',
} as const;

export const DEFAULT_LOCAL_URL = `http://127.0.0.1:${LOCAL_DEFAULTS.port}`;
