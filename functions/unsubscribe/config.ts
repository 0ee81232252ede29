import { requiredString, type Env } from '../lib/env.js';

/** The Unsubscribe endpoint's settings. The HMAC secret is loaded separately (lib/secrets.ts). */
export interface UnsubscribeConfig {
  suppressionTable: string;
}

export function unsubscribeConfig(env: Env): UnsubscribeConfig {
  return { suppressionTable: requiredString(env, 'SUPPRESSION_TABLE') };
}
