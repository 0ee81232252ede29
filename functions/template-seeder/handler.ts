import type { AwsClients } from '../lib/clients.js';
import { describeError, jsonLogger } from '../lib/logging.js';
import { createS3Client } from '../lib/clients-s3.js';
import { requiredString, type Env } from '../lib/env.js';
import {
  buildResponse,
  isCustomResourceRequest,
  sendResponse,
  type CustomResourceRequest,
  type Fetch,
} from '../lib/cfn-response.js';
import { readStarterTemplatesFromS3, seedTemplates, type SeedResult } from '../lib/template-seeding.js';
import type { CommonHandlerDeps } from '../lib/handler-deps.js';

/**
 * Template Seeder: copies the starter templates from the artifacts location
 * (`s3://ARTIFACT_BUCKET/STARTER_TEMPLATES_PREFIX/<name>/…`) into the template bucket
 * (`s3://TEMPLATE_BUCKET/templates/<name>/…`), version-aware.
 *
 * Invoked directly (`aws lambda invoke`, any payload) it returns {installed, updated,
 * skipped} or fails. Invoked as a CloudFormation custom resource it always answers the
 * stack: SUCCESS with the counts, or FAILED with the reason; Delete does nothing.
 */

export interface HandlerDeps extends CommonHandlerDeps {
  /** For the custom-resource response (default: global fetch). */
  fetch: Fetch;
}

export interface SeederConfig {
  templateBucket: string;
  artifactBucket: string;
  starterTemplatesPrefix: string;
}

/** Lambda context fields the seeder uses (all optional so tests and local mode can omit them). */
export interface SeederContext {
  getRemainingTimeInMillis?: () => number;
  logStreamName?: string;
}

export function seederConfig(env: Env): SeederConfig {
  return {
    templateBucket: requiredString(env, 'TEMPLATE_BUCKET'),
    artifactBucket: requiredString(env, 'ARTIFACT_BUCKET'),
    starterTemplatesPrefix: requiredString(env, 'STARTER_TEMPLATES_PREFIX'),
  };
}

/** Time kept back from the Lambda deadline to answer CloudFormation before the runtime is killed. */
const RESPONSE_MARGIN_MS = 5_000;

const EMPTY: SeedResult = { installed: [], updated: [], skipped: [] };



export function createTemplateSeederHandler(
  deps: Partial<HandlerDeps> = {},
): (event: unknown, context?: SeederContext) => Promise<SeedResult> {
  const log = deps.log ?? jsonLogger('template-seeder');
  let resolved: { s3: AwsClients['s3']; config: SeederConfig } | undefined;
  function resolve() {
    if (!resolved) {
      const env = deps.env ?? process.env;
      const config = seederConfig(env);
      const s3 = deps.clients?.s3 ?? createS3Client(env);
      resolved = { s3, config };
    }
    return resolved;
  }

  async function seed(): Promise<SeedResult> {
    const { s3, config } = resolve();
    const templates = await readStarterTemplatesFromS3(s3, config.artifactBucket, config.starterTemplatesPrefix);
    if (templates.length === 0) {
      throw new Error(
        `No starter templates found under s3://${config.artifactBucket}/${config.starterTemplatesPrefix}/ (upload them first: sesmailengine install or seed-templates).`,
      );
    }
    const result = await seedTemplates(s3, config.templateBucket, templates, {
      onDecision: (name, action, reason) => log({ template: name, action, reason }),
    });
    log({ result });
    return result;
  }

  async function answerStack(request: CustomResourceRequest, context?: SeederContext): Promise<SeedResult> {
    if (request.RequestType === 'Delete') {
      // Templates belong to the user once installed; removing the stack keeps them.
      await sendResponse(request.ResponseURL, buildResponse(request, { status: 'SUCCESS' }), { fetch: deps.fetch });
      return EMPTY;
    }
    const remaining = context?.getRemainingTimeInMillis?.();
    let timer: NodeJS.Timeout | undefined;
    const deadline =
      remaining === undefined
        ? undefined
        : new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error('Template seeding did not finish before the function timeout.')),
              Math.max(0, remaining - RESPONSE_MARGIN_MS),
            );
          });
    try {
      const result = await (deadline ? Promise.race([seed(), deadline]) : seed());
      const data = {
        Installed: String(result.installed.length),
        Updated: String(result.updated.length),
        Skipped: String(result.skipped.length),
      };
      await sendResponse(request.ResponseURL, buildResponse(request, { status: 'SUCCESS', data }), { fetch: deps.fetch });
      return result;
    } catch (error) {
      const where = context?.logStreamName ? ` (see log stream ${context.logStreamName})` : '';
      const reason = `Template seeding failed: ${describeError(error)}${where}`;
      log({ level: 'error', requestType: request.RequestType, reason });
      // Answered FAILED rather than thrown: a thrown error would make Lambda retry the
      // asynchronous invocation and seed again for a stack that is already rolling back.
      await sendResponse(request.ResponseURL, buildResponse(request, { status: 'FAILED', reason }), { fetch: deps.fetch });
      return EMPTY;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  return async (event: unknown, context?: SeederContext) => {
    if (isCustomResourceRequest(event)) return answerStack(event, context);
    return seed();
  };
}

export const handler = createTemplateSeederHandler();
