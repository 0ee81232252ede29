/**
 * How the CLI configures AWS clients: the SDK's own defaults for everything (credentials
 * chain, region from AWS_REGION or the profile, endpoints from AWS_ENDPOINT_URL and
 * AWS_ENDPOINT_URL_<SERVICE>), narrowed only by --profile and --region. Each command
 * builds the clients it needs with `clientConfig`, so nothing else loads.
 */

export interface AwsTarget {
  region?: string;
  profile?: string;
}

export interface ClientConfig {
  region?: string;
  profile?: string;
  requestHandler: { requestTimeout: number; connectionTimeout: number };
  maxAttempts: number;
}

export function clientConfig(target: AwsTarget): ClientConfig {
  return {
    ...(target.region ? { region: target.region } : {}),
    ...(target.profile ? { profile: target.profile } : {}),
    requestHandler: { requestTimeout: 30_000, connectionTimeout: 5_000 },
    maxAttempts: 5,
  };
}

/** S3 against a custom endpoint (an emulator) needs path-style addressing. */
export function s3Config(target: AwsTarget, env: NodeJS.ProcessEnv = process.env) {
  return {
    ...clientConfig(target),
    forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL),
    followRegionRedirects: true,
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
  };
}

export type CallListener = (call: { service: string; operation: string; ms: number; error?: string }) => void;

interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (next: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; override?: boolean },
    ): void;
  };
}

/** Reports every AWS call a client makes (service, operation, duration, error name) to a listener. */
export function watchCalls(client: unknown, listener: CallListener): void {
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      const started = Date.now();
      const service = (context.clientName ?? 'Client').replace(/Client$/, '');
      const operation = (context.commandName ?? 'Command').replace(/Command$/, '');
      try {
        const result = await next(args);
        listener({ service, operation, ms: Date.now() - started });
        return result;
      } catch (error) {
        listener({ service, operation, ms: Date.now() - started, error: (error as Error)?.name ?? 'Error' });
        throw error;
      }
    },
    { step: 'initialize', name: 'sesmailengineCallLog', override: true },
  );
}

/** The error's name and HTTP status, for classifying AWS failures. */
export function awsErrorInfo(error: unknown): { name: string; status?: number; message: string } {
  const e = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return {
    name: e?.name ?? e?.Code ?? 'Error',
    ...(e?.$metadata?.httpStatusCode !== undefined ? { status: e.$metadata.httpStatusCode } : {}),
    message: e?.message ?? String(error),
  };
}

/**
 * An SDK package loaded on first use (`await sdkModule(import('@aws-sdk/client-sqs'))`). The
 * SDK's packages are CommonJS: Node's own import() lists their exports by name, but in the
 * npm package's bundle a dynamically imported CommonJS package is a chunk whose only export
 * is `default`, holding them. Either way this returns the object with the named exports.
 */
export async function sdkModule<T extends object>(loading: Promise<T>): Promise<T> {
  const module = await loading;
  const keys = Object.keys(module);
  const inner = (module as { default?: unknown }).default;
  return keys.length === 1 && keys[0] === 'default' && typeof inner === 'object' && inner !== null ? (inner as T) : module;
}
