/**
 * An SDK request handler that answers from this process: the engine's clients in local mode
 * reach the stores and endpoints that live in the same process (the DynamoDB store, the SES
 * stand-in, the local EventBridge/SQS endpoint) without a socket. The SDK still builds,
 * serializes and parses every call as it would over the wire; only the TCP round trip and
 * the HTTP parsing on both ends are skipped, which at burst rates is a large share of the
 * CPU. Requests a route does not answer go over HTTP as usual.
 */
import { HttpResponse, type HttpRequest } from '@smithy/core/transport';
import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler';

/** One answer: status, headers and the body text. */
export interface InProcessResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

/**
 * Answers a request in-process, or returns undefined (now or as the promise's value) to let
 * it go over HTTP. `body` is the request body as text.
 */
export type InProcessRoute = (request: HttpRequest, body: string) => InProcessResponse | Promise<InProcessResponse | undefined> | undefined;

const decoder = new TextDecoder();
/** Without a configured request timeout, an in-process call still ends. */
const DEFAULT_TIMEOUT_MS = 30_000;

function abortError(): Error {
  const error = new Error('Request aborted');
  error.name = 'AbortError';
  return error;
}

/** What the SDK passes a request handler per call (its abort signal may lack addEventListener). */
interface CallOptions {
  abortSignal?: { aborted: boolean; addEventListener?: (type: 'abort', listener: () => void, options?: { once?: boolean }) => void };
  requestTimeout?: number;
}

function bodyText(body: unknown): string | undefined {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return decoder.decode(body);
  return undefined; // a stream: leave it to HTTP
}

export class InProcessHttpHandler extends NodeHttpHandler {
  constructor(
    private readonly route: InProcessRoute,
    fallbackOptions: NodeHttpHandlerOptions = {},
  ) {
    super(fallbackOptions);
  }

  override async handle(request: HttpRequest, options?: Parameters<NodeHttpHandler['handle']>[1]): Promise<{ response: HttpResponse }> {
    const text = bodyText(request.body);
    const answer = text === undefined ? undefined : this.route(request, text);
    const result = answer === undefined ? undefined : await this.inTime(answer, options);
    if (result === undefined) return super.handle(request, options);
    const { statusCode, headers, body } = result;
    return {
      response: new HttpResponse({
        statusCode,
        headers: { 'content-type': 'application/json', ...headers },
        body: Buffer.from(body, 'utf8'),
      }),
    };
  }

  /**
   * An in-process answer within the client's request timeout (as over HTTP, the SDK then
   * treats it as a transient error and retries), and no later than the caller's abort.
   */
  private inTime<T>(answer: T | Promise<T>, options?: CallOptions): Promise<T> {
    if (!(answer instanceof Promise)) return Promise.resolve(answer);
    const timeoutMs = options?.requestTimeout ?? this.httpHandlerConfigs().requestTimeout ?? DEFAULT_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new Error(`The in-process call took more than ${timeoutMs} ms.`);
        error.name = 'TimeoutError';
        reject(error);
      }, timeoutMs);
      timer.unref();
      const signal = options?.abortSignal;
      if (signal?.aborted) {
        clearTimeout(timer);
        reject(abortError());
        return;
      }
      signal?.addEventListener?.('abort', () => {
        clearTimeout(timer);
        reject(abortError());
      }, { once: true });
      answer.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}

/** The X-Amz-Target header of an AWS JSON request, whatever its case. */
export function amzTarget(request: HttpRequest): string | undefined {
  const headers = request.headers;
  return headers['x-amz-target'] ?? headers['X-Amz-Target'];
}
