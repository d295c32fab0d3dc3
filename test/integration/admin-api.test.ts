import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestProxy, type TestProxy } from "../support/proxy.js";

let proxy: TestProxy;

beforeAll(async () => {
  proxy = await startTestProxy();
});

afterAll(async () => {
  await proxy.stop();
});

describe("admin API", () => {
  it("serves /healthz and /readyz while the upstream answers", async () => {
    expect(await proxy.get("/healthz")).toEqual({ status: "ok" });
    const ready = await proxy.get("/readyz");
    expect(ready.status).toBe("ready");
    expect(ready.upstreams.postgres.ok).toBe(true);
  });

  it("answers /readyz with 503 naming the upstream that does not answer", async () => {
    const down = await startTestProxy((c) => {
      c.upstream.postgres = { host: "127.0.0.1", port: 1 };
    });
    try {
      const res = await fetch(`${down.admin}/readyz`);
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.error).toMatch(/postgres/);
      expect(body.upstreams.postgres.ok).toBe(false);
    } finally {
      await down.stop();
    }
  });

  it("reports stats with databases, AI status, patterns and health", async () => {
    const stats = await proxy.get("/api/stats");
    expect(stats.databases[0]).toMatchObject({ protocol: "postgres", healthy: true, embedded: false });
    expect(stats.ai).toEqual({ status: "disabled", model: "llama3.2", host: "http://127.0.0.1:11434" });
    expect(stats.health).toBe("healthy");
    expect(typeof stats.patterns).toBe("number");
    expect(typeof stats.errorRatePerHour).toBe("number");
    expect(stats.autoResolution.policy.DEADLOCK).toBe("apply");
  });

  it("simulates an error through classification and strategy, counting occurrences", async () => {
    const body = {
      protocol: "mysql",
      code: "1146",
      message: "Table 'shop.orders' doesn't exist",
      statement: "SELECT * FROM orders WHERE id = 5",
    };
    const first = await proxy.post("/api/simulate", body);
    expect(first.status).toBe(200);
    expect(first.body.event.errorType).toBe("TABLE_NOT_FOUND");
    expect(first.body.event.strategy).toBe("AI_POWERED");
    expect(first.body.resolution.dryRun).toBe(true);
    expect(first.body.event.statementDigest).not.toContain("5");
    const second = await proxy.post("/api/simulate", {
      ...body,
      statement: "SELECT * FROM orders WHERE id = 6",
    });
    expect(second.body.event.signature).toBe(first.body.event.signature);
    expect(second.body.event.strategy).toBe("PREVENTIVE");
    const third = await proxy.post("/api/simulate", body);
    expect(third.body.event.strategy).toBe("SELF_HEALING");
    expect(third.body.pattern.count).toBe(3);
    expect(third.body.resolution.policy).toBe("suggest");
    expect(third.body.resolution.outcome).toBe("proposed");
    const deadlock = await proxy.post("/api/simulate", {
      protocol: "postgres",
      code: "40P01",
      message: "deadlock detected",
    });
    expect(deadlock.body.event.strategy).toBe("IMMEDIATE_FIX");
  });

  it("rejects bad simulate requests with 400 and a message", async () => {
    const bad = [
      [{ protocol: "oracle", code: "1", message: "x" }, /protocol/],
      [{ protocol: "postgres", message: "x" }, /code/],
      [{ protocol: "postgres", code: "42P01" }, /message/],
      ["not json", /JSON/],
    ] as const;
    for (const [body, re] of bad) {
      const res = await proxy.post("/api/simulate", body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(re);
    }
  });

  it("filters patterns and rejects unknown filters", async () => {
    const r = await proxy.get("/api/patterns?protocol=mysql&limit=1");
    expect(r.patterns).toHaveLength(1);
    expect(r.patterns[0].protocol).toBe("mysql");
    const res = await fetch(`${proxy.admin}/api/patterns?errorType=NOPE`);
    expect(res.status).toBe(400);
    const missing = await fetch(`${proxy.admin}/api/patterns/000000000000`);
    expect(missing.status).toBe(404);
    const unknown = await fetch(`${proxy.admin}/api/nothing-here`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toMatch(/no such endpoint/);
  });

  it("exposes Prometheus metrics for connections, queries, errors and latency", async () => {
    const c = new pg.Client({ connectionString: proxy.pgUrl() });
    await c.connect();
    await c.query("SELECT 1");
    await c.query("SELECT * FROM metrics_missing_table").catch(() => {});
    const text = await (await fetch(`${proxy.admin}/metrics`)).text();
    await c.end();
    expect(text).toMatch(/dbagpt_client_connections\{protocol="postgres"\} [1-9]/);
    expect(text).toMatch(/dbagpt_queries_total\{protocol="postgres"\} [1-9]/);
    expect(text).toMatch(/dbagpt_errors_total\{protocol="postgres",error_type="TABLE_NOT_FOUND"\} [1-9]/);
    expect(text).toMatch(/dbagpt_relay_latency_seconds_count\{protocol="postgres"\} [1-9]/);
    expect(text).toContain("dbagpt_retry_budget_tokens");
  });

  it("requires the admin token when one is set, except for /healthz and /metrics", async () => {
    const locked = await startTestProxy((c) => {
      c.admin.token = "s3cret-token";
    });
    try {
      expect((await fetch(`${locked.admin}/healthz`)).status).toBe(200);
      expect((await fetch(`${locked.admin}/metrics`)).status).toBe(200);
      const denied = await fetch(`${locked.admin}/api/stats`);
      expect(denied.status).toBe(401);
      const ok = await fetch(`${locked.admin}/api/stats`, {
        headers: { authorization: "Bearer s3cret-token" },
      });
      expect(ok.status).toBe(200);
    } finally {
      await locked.stop();
    }
  });
});

describe("pattern store", () => {
  it("keeps learned patterns across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dba-gpt-persist-"));
    try {
      const first = await startTestProxy(() => {}, { stateDir: dir });
      const c = new pg.Client({ connectionString: first.pgUrl() });
      await c.connect();
      await c.query("SELECT * FROM persist_missing_table").catch(() => {});
      await c.end();
      const before = await first.get("/api/patterns?errorType=TABLE_NOT_FOUND");
      await first.stop();
      const second = await startTestProxy(() => {}, { stateDir: dir });
      try {
        const after = await second.get("/api/patterns?errorType=TABLE_NOT_FOUND");
        expect(after.patterns).toHaveLength(1);
        expect(after.patterns[0].signature).toBe(before.patterns[0].signature);
        expect(after.patterns[0].count).toBe(1);
        expect(after.patterns[0].template).toContain("persist_missing_table");
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
