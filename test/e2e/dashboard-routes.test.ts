import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDashboardRoutes } from "../../src/admin/dashboard-routes.js";
import { Router } from "../../src/admin/http.js";
import { Metrics } from "../../src/admin/metrics.js";
import { AdminServer } from "../../src/admin/server.js";
import { ErrorPipeline } from "../../src/errors/pipeline.js";
import { silentLogger } from "../../src/log.js";
import { PatternStore } from "../../src/patterns/store.js";

/** GET /, /assets/:file and the SSE stream, on an admin server of their own. */

const empty = mkdtempSync(join(tmpdir(), "dba-gpt-no-dashboard-"));
let pipeline: ErrorPipeline;
let admin: AdminServer;
let base: string;

beforeAll(async () => {
  pipeline = new ErrorPipeline(new PatternStore({ stateDir: null }), new Metrics(), {
    preventive: 2,
    selfHealing: 3,
  });
  const router = new Router();
  addDashboardRoutes(router, { pipeline, assetsDir: empty, heartbeatMs: 50 });
  admin = new AdminServer({
    listen: { host: "127.0.0.1", port: 0 },
    router,
    token: () => null,
    log: silentLogger,
  });
  const a = await admin.listen();
  base = `http://127.0.0.1:${a.port}`;
});

afterAll(async () => {
  await admin.close();
  rmSync(empty, { recursive: true, force: true });
});

describe("dashboard routes", () => {
  it("says how to build the page when dist/dashboard is missing", async () => {
    const r = await fetch(`${base}/`);
    expect(r.status).toBe(500);
    expect(await r.text()).toMatch(
      /the dashboard is not built: .*index\.html is missing\. Run "npm run build"/,
    );
  });

  it("serves nothing outside the assets folder", async () => {
    for (const path of ["/assets/..%2Fpackage.json", "/assets/.env", "/assets/%2e%2e"]) {
      const r = await fetch(base + path);
      expect(r.status, path).not.toBe(200);
    }
  });

  it("streams pipeline errors as SSE with heartbeats and drops its listeners when the client leaves", async () => {
    const before = pipeline.listenerCount("event");
    const chunks: string[] = [];
    const req = http.get(`${base}/api/events`);
    const res = await new Promise<http.IncomingMessage>((r) => req.once("response", r));
    expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
    res.setEncoding("utf8");
    const got = (re: RegExp) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (re.test(chunks.join(""))) {
            res.off("data", onData);
            resolve();
          }
        };
        const onData = (d: string) => {
          chunks.push(d);
          check();
        };
        res.on("data", onData);
        check();
      });
    await got(/: connected/);
    expect(pipeline.listenerCount("event")).toBe(before + 1);
    pipeline.record({
      protocol: "postgres",
      code: "40P01",
      message: "deadlock detected",
      inTransaction: false,
    });
    await got(/event: error-event\ndata: \{.*"errorType":"DEADLOCK"/);
    await got(/: heartbeat/);
    req.destroy();
    await new Promise<void>((resolve) => {
      const poll = () => (pipeline.listenerCount("event") === before ? resolve() : setImmediate(poll));
      poll();
    });
    expect(pipeline.listenerCount("resolution")).toBe(0);
  });
});
