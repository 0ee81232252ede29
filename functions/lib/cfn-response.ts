/**
 * Answering a CloudFormation custom resource request: a PUT of a JSON document to the
 * pre-signed S3 URL in the request. Until that PUT lands, the stack waits (up to the
 * resource's ServiceTimeout), so every path through a custom-resource handler ends here.
 */

export interface CustomResourceRequest {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceType?: string;
  ResourceProperties?: Record<string, unknown>;
}

export interface CustomResourceResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  NoEcho?: boolean;
  Data?: Record<string, string>;
}

/** CloudFormation caps the whole response at 4 KB; keep the reason well inside it. */
const MAX_REASON_LENGTH = 1000;

export function isCustomResourceRequest(event: unknown): event is CustomResourceRequest {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  return (
    (e.RequestType === 'Create' || e.RequestType === 'Update' || e.RequestType === 'Delete') &&
    typeof e.ResponseURL === 'string' &&
    typeof e.StackId === 'string' &&
    typeof e.RequestId === 'string' &&
    typeof e.LogicalResourceId === 'string'
  );
}

/** The physical id to report: the existing one on Update/Delete, a stable one derived from the stack on Create. */
export function physicalResourceIdFor(request: CustomResourceRequest): string {
  if (request.PhysicalResourceId) return request.PhysicalResourceId;
  const stackName = request.StackId.split('/')[1] ?? 'stack';
  return `${stackName}-${request.LogicalResourceId}`;
}

export function buildResponse(
  request: CustomResourceRequest,
  outcome: { status: 'SUCCESS' | 'FAILED'; reason?: string; data?: Record<string, string> },
): CustomResourceResponse {
  const reason = outcome.reason && outcome.reason.length > MAX_REASON_LENGTH
    ? `${outcome.reason.slice(0, MAX_REASON_LENGTH - 3)}...`
    : outcome.reason;
  return {
    Status: outcome.status,
    ...(reason ? { Reason: reason } : {}),
    PhysicalResourceId: physicalResourceIdFor(request),
    StackId: request.StackId,
    RequestId: request.RequestId,
    LogicalResourceId: request.LogicalResourceId,
    ...(outcome.data ? { Data: outcome.data } : {}),
  };
}

export type Fetch = typeof fetch;

/**
 * PUTs the response, retrying transient failures. Throws if it never lands, so the Lambda
 * invocation fails and its asynchronous retry answers again.
 */
export async function sendResponse(
  url: string,
  response: CustomResourceResponse,
  options: { fetch?: Fetch; attempts?: number; timeoutMs?: number; backoffMs?: number } = {},
): Promise<void> {
  const doFetch = options.fetch ?? fetch;
  const attempts = options.attempts ?? 4;
  const body = JSON.stringify(response);
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await doFetch(url, {
        method: 'PUT',
        body,
        // The pre-signed URL is signed without a content type; send an empty one.
        headers: { 'content-type': '' },
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      lastError = new Error(`The CloudFormation response URL answered HTTP ${res.status}.`);
      if (res.status < 500 && res.status !== 429) break;
    } catch (error) {
      lastError = error;
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, (options.backoffMs ?? 500) * 2 ** (attempt - 1)));
  }
  throw new Error('Could not deliver the custom resource response to CloudFormation.', { cause: lastError });
}
