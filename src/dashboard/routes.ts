/**
 * The dashboard's JSON API as a table of routes: a method, a path under /api/ and a handler.
 * New panels add a row (a handler from src/ops behind it). Matching is pure.
 */

export type Method = 'GET' | 'POST';

/** A request as a handler sees it: the query for GET, the checked JSON body (with confirm: true) for POST. */
export interface ApiRequest {
  query: URLSearchParams;
  body: Record<string, unknown>;
}

export interface Route {
  method: Method;
  /** The exact path, e.g. /api/overview. */
  path: string;
  /** What the route answers, for the docs and the index at GET /api. */
  summary: string;
  handler: (request: ApiRequest) => Promise<unknown>;
  /** How long the handler may take before a 504 (default: the server's, 20 s). */
  timeoutMs?: number;
}

export type Match = { route: Route } | { status: 404 } | { status: 405; allow: string[] };

/** The route for a method and path: 404 when no route has the path, 405 (with the allowed methods) when none has the method. */
export function matchRoute(routes: readonly Route[], method: string, path: string): Match {
  const onPath = routes.filter((r) => r.path === path);
  if (onPath.length === 0) return { status: 404 };
  const upper = method.toUpperCase();
  const wanted = upper === 'HEAD' ? 'GET' : upper;
  const route = onPath.find((r) => r.method === wanted);
  if (!route) return { status: 405, allow: [...new Set(onPath.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method])))] };
  return { route };
}
