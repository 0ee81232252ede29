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
  /** What a send interrupted without SES's Send event becomes (the stack's InterruptedSendPolicy). */
  interruptedSend: 'resend',
  /**
   * Seconds SES's Send event is awaited before an interrupted claim is resolved: the stand-in
   * publishes it at once, and the local send queue (30 s visibility, 10 receives) must still
   * hold the message when the window ends.
   */
  interruptedSendWindowSeconds: 60,
} as const;

export const DEFAULT_LOCAL_URL = `http://127.0.0.1:${LOCAL_DEFAULTS.port}`;
