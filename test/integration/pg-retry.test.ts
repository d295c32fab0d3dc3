import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/types.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";
import { PG_URL, psqlDirect } from "../support/servers.js";

const TABLE = "retry_dl";

/** Two data-modifying CTEs locking two rows in opposite order with a pg_sleep between: a deadlock. */
function deadlockPair(a: number, b: number): [string, string] {
  const q = (first: number, second: number) =>
    `WITH x AS (UPDATE ${TABLE} SET v = v + 1 WHERE id = ${first} RETURNING pg_sleep(0.5)) ` +
    `UPDATE ${TABLE} SET v = v + 1 WHERE id = ${second} AND EXISTS (SELECT 1 FROM x)`;
  return [q(a, b), q(b, a)];
}

function serverDeadlocks(): number {
  return Number(psqlDirect("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"));
}

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

type Outcome = "ok" | string;

async function runPair(url: string, sql: [string, string], prepared = false): Promise<Outcome[]> {
  const a = await client(url);
  const b = await client(url);
  try {
    const run = (c: pg.Client, text: string, name: string) =>
      (prepared ? c.query({ name, text }) : c.query(text)).then(
        () => "ok",
        (e: { code?: string }) => e.code ?? "error",
      );
    return await Promise.all([run(a, sql[0], "dl_a"), run(b, sql[1], "dl_b")]);
  } finally {
    await a.end();
    await b.end();
  }
}

interface Resolution {
  errorType: string;
  strategy: string;
  outcome: string;
  reason: string;
  attempts?: number;
  durationMs?: number;
}

async function resolutions(p: TestProxy): Promise<Resolution[]> {
  return (await p.get<{ resolutions: Resolution[] }>("/api/resolutions?limit=100")).resolutions;
}

let proxy: TestProxy;

function resetRows(): void {
  psqlDirect(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id int PRIMARY KEY, v int NOT NULL);
    INSERT INTO ${TABLE} SELECT g, 0 FROM generate_series(1, 20) g`);
}

beforeAll(async () => {
  proxy = await startTestProxy();
});

afterAll(async () => {
  await proxy.stop();
});

beforeEach(() => {
  resetRows();
});

describe("transparent retry of PostgreSQL deadlocks", () => {
  it("sent directly, one of the two statements fails with 40P01", async () => {
    const before = serverDeadlocks();
    const outcomes = await runPair(PG_URL, deadlockPair(1, 2));
    expect(outcomes.sort()).toEqual(["40P01", "ok"]);
    expect(serverDeadlocks()).toBe(before + 1);
  });

  it("through the proxy both autocommit statements succeed; the deadlock happened and was resolved", async () => {
    const before = serverDeadlocks();
    const outcomes = await runPair(proxy.pgUrl(), deadlockPair(1, 2));
    expect(outcomes).toEqual(["ok", "ok"]);
    // the server really deadlocked: its own counter moved
    expect(serverDeadlocks()).toBe(before + 1);
    // each statement applied exactly once
    expect(psqlDirect(`SELECT string_agg(v::text, ',' ORDER BY id) FROM ${TABLE} WHERE id IN (1, 2)`)).toBe(
      "2,2",
    );
    const res = await eventually(
      async () => (await resolutions(proxy)).find((r) => r.outcome === "succeeded"),
      "a resolution",
    );
    expect(res).toMatchObject({ errorType: "DEADLOCK", strategy: "IMMEDIATE_FIX" });
    expect(res.attempts).toBeGreaterThanOrEqual(1);
    const { patterns } = await proxy.get("/api/patterns?errorType=DEADLOCK");
    expect(patterns[0].resolutions.succeeded).toBeGreaterThanOrEqual(1);
    const audit = readFileSync(join(proxy.stateDir, "audit.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(
      audit.some((e) => e.action === "retry" && e.outcome === "succeeded" && e.errorType === "DEADLOCK"),
    ).toBe(true);
    expect(audit.find((e) => e.outcome === "sent")?.sql).toContain(TABLE);
  });

  it("retries the extended protocol with named prepared statements", async () => {
    const outcomes = await runPair(proxy.pgUrl(), deadlockPair(3, 4), true);
    expect(outcomes).toEqual(["ok", "ok"]);
    expect(psqlDirect(`SELECT string_agg(v::text, ',' ORDER BY id) FROM ${TABLE} WHERE id IN (3, 4)`)).toBe(
      "2,2",
    );
    // the same connection keeps working with its prepared statements after the replay
    const c = await client(proxy.pgUrl());
    try {
      await c.query({ name: "again", text: `SELECT v FROM ${TABLE} WHERE id = $1`, values: [3] });
      const r = await c.query({ name: "again", text: `SELECT v FROM ${TABLE} WHERE id = $1`, values: [4] });
      expect(r.rows[0].v).toBe(2);
    } finally {
      await c.end();
    }
  });

  it("inside explicit transactions that cannot be replayed the deadlock error passes through unchanged", async () => {
    const a = await client(proxy.pgUrl());
    const b = await client(proxy.pgUrl());
    try {
      // BEGIN over the extended protocol: the proxy does not record such a transaction for replay
      await a.query({ name: "begin_a", text: "BEGIN" });
      await b.query({ name: "begin_b", text: "BEGIN" });
      await a.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 5`);
      await b.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 6`);
      const results = await Promise.all([
        a.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 6`).then(
          () => "ok",
          (e: { code?: string }) => e.code,
        ),
        b.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 5`).then(
          () => "ok",
          (e: { code?: string }) => e.code,
        ),
      ]);
      expect(results.sort()).toEqual(["40P01", "ok"]);
      await a.query("ROLLBACK");
      await b.query("ROLLBACK");
    } finally {
      await a.end();
      await b.end();
    }
    const skipped = await eventually(
      async () =>
        (await resolutions(proxy)).find(
          (r) => r.outcome === "skipped" && /explicit transaction/.test(r.reason),
        ),
      "a skipped resolution",
    );
    expect(skipped.errorType).toBe("DEADLOCK");
  });

  it("SERIALIZATION_FAILURE between two SERIALIZABLE transactions: replay sees a different result, the error passes through", async () => {
    const a = await client(proxy.pgUrl());
    const b = await client(proxy.pgUrl());
    try {
      await a.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      await b.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      await a.query(`SELECT sum(v) FROM ${TABLE} WHERE id IN (7, 8)`);
      await b.query(`SELECT sum(v) FROM ${TABLE} WHERE id IN (7, 8)`);
      await a.query(`UPDATE ${TABLE} SET v = 1 WHERE id = 7`);
      await b.query(`UPDATE ${TABLE} SET v = 1 WHERE id = 8`);
      await a.query("COMMIT");
      const err = await b.query("COMMIT").then(
        () => null,
        (e: { code?: string }) => e.code,
      );
      expect(err).toBe("40001");
    } finally {
      await a.end();
      await b.end();
    }
    const r = await eventually(
      async () => (await resolutions(proxy)).find((x) => x.errorType === "SERIALIZATION_FAILURE"),
      "a serialization resolution",
    );
    // the other transaction's commit changed what the replayed SELECT returns: no silent re-run
    expect(r.outcome).toBe("failed");
    expect(r.reason).toMatch(/different result/);
  });

  it("LOCK_WAIT_TIMEOUT in autocommit is retried until the lock is released", async () => {
    const holder = await client(PG_URL);
    const c = await client(proxy.pgUrl());
    try {
      await holder.query("BEGIN");
      await holder.query(`UPDATE ${TABLE} SET v = 100 WHERE id = 9`);
      await c.query("SET lock_timeout = '100ms'");
      const release = new Promise<void>((resolve) =>
        setTimeout(() => {
          holder.query("COMMIT").then(() => resolve());
        }, 250),
      );
      const r = await c.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 9 RETURNING v`);
      await release;
      expect(r.rows[0].v).toBe(101);
    } finally {
      await holder.end();
      await c.end();
    }
    const res = await eventually(
      async () =>
        (await resolutions(proxy)).find(
          (x) => x.errorType === "LOCK_WAIT_TIMEOUT" && x.outcome === "succeeded",
        ),
      "a lock-timeout resolution",
    );
    expect(res.attempts).toBeGreaterThanOrEqual(1);
  });

  it("when every retry fails, the client gets the last real error, and the failure is recorded", async () => {
    const holder = await client(PG_URL);
    const c = await client(proxy.pgUrl());
    try {
      await holder.query("BEGIN");
      await holder.query(`UPDATE ${TABLE} SET v = 100 WHERE id = 10`);
      await c.query("SET lock_timeout = '50ms'");
      const err = await c.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 10`).then(
        () => null,
        (e: { code?: string; message: string }) => e,
      );
      expect(err?.code).toBe("55P03");
      expect(err?.message).toMatch(/lock timeout/);
      await holder.query("ROLLBACK");
      // the connection is usable afterwards
      expect((await c.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    } finally {
      await holder.end();
      await c.end();
    }
    const res = await eventually(
      async () =>
        (await resolutions(proxy)).find((x) => x.errorType === "LOCK_WAIT_TIMEOUT" && x.outcome === "failed"),
      "a failed resolution",
    );
    expect(res.attempts).toBe(proxy.config.resolution.retry.maxAttempts);
  });
});

describe("policy and budget", () => {
  async function withProxy(edit: (c: Config) => void, fn: (p: TestProxy) => Promise<void>): Promise<void> {
    const p = await startTestProxy(edit);
    try {
      await fn(p);
    } finally {
      await p.stop();
    }
  }

  it("off passes the deadlock through and records no resolution", async () => {
    await withProxy(
      (c) => {
        c.resolution.policy.DEADLOCK = "off";
      },
      async (p) => {
        const outcomes = await runPair(p.pgUrl(), deadlockPair(11, 12));
        expect(outcomes.sort()).toEqual(["40P01", "ok"]);
        expect(await resolutions(p)).toEqual([]);
      },
    );
  });

  it("observe passes it through and counts what would have been done", async () => {
    await withProxy(
      (c) => {
        c.resolution.policy.DEADLOCK = "observe";
      },
      async (p) => {
        const outcomes = await runPair(p.pgUrl(), deadlockPair(13, 14));
        expect(outcomes.sort()).toEqual(["40P01", "ok"]);
        const r = await eventually(async () => (await resolutions(p))[0], "an observed resolution");
        expect(r.outcome).toBe("observed");
        expect(r.reason).toMatch(/would have retried/);
        const metrics = await (await fetch(`${p.admin}/metrics`)).text();
        expect(metrics).toMatch(
          /dbagpt_resolutions_total\{strategy="IMMEDIATE_FIX",outcome="observed",error_type="DEADLOCK"\} 1/,
        );
      },
    );
  });

  it("with budgetPerSecond 1, a storm of deadlocks gets one retry and the rest pass through, counted", async () => {
    await withProxy(
      (c) => {
        c.resolution.retry.budgetPerSecond = 1;
      },
      async (p) => {
        const pairs = [deadlockPair(1, 2), deadlockPair(3, 4), deadlockPair(5, 6), deadlockPair(7, 8)];
        const outcomes = (await Promise.all(pairs.map((sql) => runPair(p.pgUrl(), sql)))).flat();
        const failed = outcomes.filter((o) => o === "40P01").length;
        expect(failed).toBeGreaterThanOrEqual(2);
        expect(outcomes.filter((o) => o === "ok").length).toBe(8 - failed);
        const rs = await resolutions(p);
        expect(rs.filter((r) => r.outcome === "skipped" && /budget/.test(r.reason)).length).toBe(failed);
        const metrics = await (await fetch(`${p.admin}/metrics`)).text();
        const exhausted = Number(/dbagpt_retry_budget_exhausted_total (\d+)/.exec(metrics)?.[1]);
        expect(exhausted).toBe(failed);
      },
    );
  });

  it("GET/PUT /api/policy changes behaviour and rejects unknown names without changing anything", async () => {
    const before = await proxy.get("/api/policy");
    expect(before.policy.DEADLOCK).toBe("apply");
    const bad1 = await proxy.put("/api/policy", { policy: { DEADLOK: "apply" } });
    expect(bad1.status).toBe(400);
    expect(bad1.body.error).toContain("DEADLOK");
    const bad2 = await proxy.put("/api/policy", { policy: { DEADLOCK: "always" } });
    expect(bad2.status).toBe(400);
    expect(bad2.body.error).toContain("always");
    const bad3 = await proxy.put("/api/policy", { retry: { maxAttempts: -1 } });
    expect(bad3.status).toBe(400);
    expect(bad3.body.error).toContain("maxAttempts");
    expect(await proxy.get("/api/policy")).toEqual(before);

    const ok = await proxy.put("/api/policy", { policy: { DEADLOCK: "off" }, retry: { maxAttempts: 2 } });
    expect(ok.status).toBe(200);
    expect(ok.body.policy.DEADLOCK).toBe("off");
    expect(ok.body.retry.maxAttempts).toBe(2);
    const outcomes = await runPair(proxy.pgUrl(), deadlockPair(15, 16));
    expect(outcomes.sort()).toEqual(["40P01", "ok"]);
    await proxy.put("/api/policy", {
      policy: { DEADLOCK: "apply" },
      retry: { maxAttempts: before.retry.maxAttempts },
    });
    expect(await proxy.get("/api/policy")).toEqual(before);
  });
});

describe("transaction replay (PostgreSQL)", () => {
  /**
   * Two clients each update their own row in a transaction, then the other's: a deadlock. The victim's
   * transaction is rolled back by the server; the proxy replays it and re-runs the failed statement
   * when every replayed result matches what the client already saw.
   */
  async function crossedTransactions(first: (id: number) => string): Promise<Outcome[]> {
    const a = await client(proxy.pgUrl());
    const b = await client(proxy.pgUrl());
    try {
      await a.query("BEGIN");
      await b.query("BEGIN");
      await a.query(first(17));
      await b.query(first(18));
      const second = (c: pg.Client, id: number) =>
        c.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = ${id}`).then(
          async () => {
            await c.query("COMMIT");
            return "ok";
          },
          async (e: { code?: string }) => {
            await c.query("ROLLBACK");
            return e.code ?? "error";
          },
        );
      return await Promise.all([second(a, 18), second(b, 17)]);
    } finally {
      await a.end();
      await b.end();
    }
  }

  it("replays the victim's transaction when results match: both transactions commit", async () => {
    const before = serverDeadlocks();
    const outcomes = await crossedTransactions((id) => `UPDATE ${TABLE} SET v = v + 1 WHERE id = ${id}`);
    expect(outcomes).toEqual(["ok", "ok"]);
    expect(serverDeadlocks()).toBe(before + 1);
    expect(psqlDirect(`SELECT string_agg(v::text, ',' ORDER BY id) FROM ${TABLE} WHERE id IN (17, 18)`)).toBe(
      "2,2",
    );
    const r = await eventually(
      async () =>
        (await resolutions(proxy)).find((x) => x.errorType === "DEADLOCK" && x.outcome === "succeeded"),
      "a replay resolution",
    );
    expect(r.strategy).toBe("IMMEDIATE_FIX");
  });

  it("passes the original error through when a replayed result differs", async () => {
    const before = serverDeadlocks();
    const outcomes = await crossedTransactions(
      (id) => `UPDATE ${TABLE} SET v = v + 1 WHERE id = ${id} RETURNING v`,
    );
    expect(outcomes.sort()).toEqual(["40P01", "ok"]);
    expect(serverDeadlocks()).toBe(before + 1);
    // the loser's transaction did not happen; the winner's did
    expect(psqlDirect(`SELECT sum(v) FROM ${TABLE} WHERE id IN (17, 18)`)).toBe("2");
    const r = await eventually(
      async () =>
        (await resolutions(proxy)).find((x) => x.errorType === "DEADLOCK" && x.outcome === "failed"),
      "a failed replay",
    );
    expect(r.reason).toMatch(/different result/);
  });
});
