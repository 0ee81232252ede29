import type { AwsClients } from './clients.js';
import type { Env } from './env.js';
import type { Logger } from './logging.js';

/**
 * What every handler factory takes (`create<Name>Handler(deps)`, all optional): Lambda uses
 * the defaults; local mode and tests hand in clients pointing at the stand-ins, an env map,
 * a clock and a log sink. Handlers read configuration only from `env`, never process.env.
 */
export interface CommonHandlerDeps {
  /** Clients not given are built from the SDK's defaults (region, credentials, endpoints). */
  clients: Partial<AwsClients>;
  env: Env;
  now: () => Date;
  /** One JSON log line per outcome (default: jsonLogger; Lambda sends it to CloudWatch Logs). */
  log: Logger;
}
