import type { IncomingMessage, ServerResponse } from "node:http";

/** An error a route throws to answer with a 4xx and `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RouteRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  raw: IncomingMessage;
}

/** A route answers with a JSON value, or takes over the response itself (returns undefined). */
export type RouteHandler = (req: RouteRequest, res: ServerResponse) => unknown | Promise<unknown>;

interface Route {
  method: string;
  parts: string[];
  handler: RouteHandler;
}

const MAX_BODY = 1024 * 1024;

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler): this {
    this.routes.push({ method, parts: pattern.split("/").filter(Boolean), handler });
    return this;
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } | "method" | null {
    const parts = path.split("/").filter(Boolean);
    let pathMatched = false;
    for (const route of this.routes) {
      if (route.parts.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const want = route.parts[i] as string;
        const got = parts[i] as string;
        if (want.startsWith(":")) params[want.slice(1)] = decodeURIComponent(got);
        else if (want !== got) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, params };
    }
    return pathMatched ? "method" : null;
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(body);
}

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, "request body larger than 1 MiB");
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "request body is not valid JSON");
  }
}

/** Parse ?limit= as a positive integer (bounded), or the default. */
export function limitParam(q: URLSearchParams, def: number, max = 1000): number {
  const v = q.get("limit");
  if (v === null) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new HttpError(400, `limit must be a positive integer, got "${v}"`);
  return Math.min(n, max);
}
