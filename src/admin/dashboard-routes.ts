/**
 * The dashboard (PRODUCT.md section 7): GET / and /assets/:file from the page built into
 * dist/dashboard by scripts/build-dashboard.mjs, and GET /api/events, a Server-Sent Events stream of
 * the error pipeline ("error-event" after each recorded error, "resolution" after each resolution) with a
 * heartbeat, cleaned up when the client goes away. (Named "error-event", not "error": EventSource
 * reserves "error" for its own connection failures.)
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ErrorPipeline } from "../errors/pipeline.js";
import type { ErrorEvent } from "../errors/types.js";
import { HttpError, type Router } from "./http.js";

export interface DashboardDeps {
  pipeline: ErrorPipeline;
  /** where the built page lives; default: dist/dashboard found from this module */
  assetsDir?: string;
  /** SSE comment line interval (keeps proxies and the browser from timing the stream out) */
  heartbeatMs?: number;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

/** open /api/events streams at most (each dashboard tab holds one) */
const MAX_STREAMS = 50;

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The built page: from the compiled module (dist/src/admin) it is ../../dashboard; from the sources
 * (src/admin, under vitest or tsx) it is ../../dist/dashboard.
 */
export function defaultAssetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, "../../dashboard"), resolve(here, "../../dist/dashboard")];
  return candidates.find((d) => existsSync(join(d, "index.html"))) ?? (candidates[1] as string);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

async function serveFile(res: ServerResponse, dir: string, name: string, head: boolean): Promise<void> {
  if (!SAFE_NAME.test(name) || name.includes("..")) {
    sendText(res, 404, `no such asset: ${name}`);
    return;
  }
  let body: Buffer;
  try {
    body = await readFile(join(dir, name));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") throw e;
    if (!existsSync(join(dir, "index.html"))) {
      sendText(
        res,
        500,
        `the dashboard is not built: ${join(dir, "index.html")} is missing. Run "npm run build" (or "node scripts/build-dashboard.mjs") and reload.`,
      );
    } else sendText(res, 404, `no such asset: ${name}`);
    return;
  }
  res.writeHead(200, {
    "content-type": TYPES[extname(name)] ?? "application/octet-stream",
    "content-length": body.length,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  res.end(head ? undefined : body);
}

export function addDashboardRoutes(router: Router, deps: DashboardDeps): void {
  const dir = deps.assetsDir ?? defaultAssetsDir();
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  let streams = 0;
  // two listeners per open stream, on top of the pipeline's own (healer, resolver)
  deps.pipeline.setMaxListeners(deps.pipeline.getMaxListeners() + 2 * MAX_STREAMS);

  router.add("GET", "/", async (req, res) => {
    await serveFile(res, dir, "index.html", req.method === "HEAD");
    return undefined;
  });

  router.add("GET", "/assets/:file", async (req, res) => {
    await serveFile(res, dir, req.params.file as string, req.method === "HEAD");
    return undefined;
  });

  router.add("GET", "/api/events", (req, res) => {
    if (streams >= MAX_STREAMS) {
      throw new HttpError(503, `too many open event streams (${MAX_STREAMS}); close a dashboard tab`);
    }
    streams += 1;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.socket?.setNoDelay(true);
    res.write("retry: 3000\n: connected\n\n");
    const send = (type: string, data: unknown) => {
      res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const onEvent = (ev: ErrorEvent) => send("error-event", ev);
    const onResolution = (ev: ErrorEvent) => send("resolution", ev);
    deps.pipeline.on("event", onEvent);
    deps.pipeline.on("resolution", onResolution);
    const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), heartbeatMs);
    heartbeat.unref();
    let open = true;
    const cleanup = () => {
      if (!open) return;
      open = false;
      streams -= 1;
      clearInterval(heartbeat);
      deps.pipeline.off("event", onEvent);
      deps.pipeline.off("resolution", onResolution);
    };
    req.raw.once("close", cleanup);
    res.once("close", cleanup);
    return undefined;
  });
}
