import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../log.js";
import type { Endpoint } from "../util/host-port.js";
import { HttpError, type RouteRequest, type Router, readJsonBody, sendJson } from "./http.js";

/** Paths anyone may read even when a token is required (liveness and scraping). */
const OPEN_PATHS = new Set(["/healthz", "/metrics"]);

export interface AdminServerOptions {
  listen: Endpoint;
  router: Router;
  /** the Bearer token required for everything but /healthz and /metrics; null = none */
  token: () => string | null;
  log: Logger;
}

export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly opts: AdminServerOptions) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (e instanceof HttpError) {
          sendJson(res, e.status, { error: e.message });
          return;
        }
        opts.log.error({ err: e, path: req.url }, "admin request failed");
        if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://admin");
    const method = req.method ?? "GET";
    const token = this.opts.token();
    if (token && !OPEN_PATHS.has(url.pathname) && !isAuthorized(req, token, url)) {
      // the dashboard page itself loads without a token and asks for it
      if (!(method === "GET" && (url.pathname === "/" || url.pathname.startsWith("/assets/")))) {
        res.setHeader("www-authenticate", 'Bearer realm="dba-gpt"');
        throw new HttpError(401, "admin token required: send it as 'Authorization: Bearer <token>'");
      }
    }
    const m = this.opts.router.match(method, url.pathname);
    if (m === null) throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
    if (m === "method") throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
    const body = method === "POST" || method === "PUT" ? await readJsonBody(req) : undefined;
    const r: RouteRequest = {
      method,
      path: url.pathname,
      params: m.params,
      query: url.searchParams,
      body,
      raw: req,
    };
    const result = await m.route.handler(r, res);
    if (result !== undefined && !res.headersSent) sendJson(res, 200, result);
  }

  listen(): Promise<Endpoint> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.listen.port, this.opts.listen.host, () => {
        this.server.off("error", reject);
        const a = this.server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function isAuthorized(req: http.IncomingMessage, token: string, url: URL): boolean {
  const h = req.headers.authorization;
  if (h?.startsWith("Bearer ") && sameSecret(h.slice(7), token)) return true;
  // EventSource cannot send headers: the dashboard's live stream passes the token as a query parameter
  return url.pathname === "/api/events" && sameSecret(url.searchParams.get("token") ?? "", token);
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
