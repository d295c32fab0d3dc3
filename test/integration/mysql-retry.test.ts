import mysql from "mysql2/promise";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/types.js";
import { directConnection } from "../support/mysql-setup.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";

const DL = "retry_my_dl";
const LOCK = "retry_my_lock";

interface Resolution {
  protocol: string;
  errorType: string;
  strategy: string;
  action: string;
  outcome: string;
  reason: string;
  attempts?: number;
  durationMs?: number;
}

let admin: mysql.Connection;

async function resolutions(p: TestProxy): Promise<Resolution[]> {
  return (await p.get<{ resolutions: Resolution[] }>("/api/resolutions?limit=500")).resolutions.filter(
    (r) => r.protocol === "mysql",
  );
}

function connect(
  p: TestProxy | null,
  opts: Partial<mysql.ConnectionOptions> = {},
): Promise<mysql.Connection> {
  if (!p) return directConnection(opts);
  return mysql.createConnection({
    host: "127.0.0.1",
    port: p.mysqlPort,
    user: "root",
    database: "test",
    ...opts,
  });
}

async function innodbDeadlocks(): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'");
  return Number(rows[0]?.Value);
}

/** Sessions waiting on a row lock for `query` (INNODB_TRX is refreshed at most every 100 ms). */
async function waitForLockWaits(query: string, n: number): Promise<void> {
  await eventually(
    async () => {
      await new Promise((r) => setTimeout(r, 150));
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        "SELECT count(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_query = ?",
        [query],
      );
      return Number(rows[0]?.n) >= n;
    },
    `${n} session(s) waiting on a lock for ${query}`,
    10_000,
  );
}

type Outcome = "ok" | number | undefined;
const outcome = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    () => "ok" as const,
    (e: { errno?: number }) => e.errno,
  );

/**
 * The deadlock recipe: a third session holds an uncommitted INSERT of key 1 while two autocommit
 * `INSERT IGNORE ... VALUES (1)` wait on it; when it rolls back, both get a shared lock, both want the
 * exclusive one, and InnoDB makes one of them the victim.
 */
async function deadlockPair(p: TestProxy | null, prepared: boolean): Promise<Outcome[]> {
  await admin.query(`DELETE FROM ${DL}`);
  const holder = await directConnection();
  const a = await connect(p);
  const b = await connect(p);
  try {
    await holder.query("BEGIN");
    await holder.query(`INSERT INTO ${DL} VALUES (1)`);
    const sql = prepared ? `INSERT IGNORE INTO ${DL} VALUES (?)` : `INSERT IGNORE INTO ${DL} VALUES (1)`;
    const run = (c: mysql.Connection) => outcome(prepared ? c.execute(sql, [1]) : c.query(sql));
    const waiting = [run(a), run(b)];
    await waitForLockWaits(sql, 2);
    await holder.query("ROLLBACK");
    return await Promise.all(waiting);
  } finally {
    await holder.end();
    await a.end();
    await b.end();
  }
}

/** A third session locks row 1 of LOCK; it commits after `releaseAfterMs`. */
async function lockRow(releaseAfterMs: number): Promise<{ released: Promise<void> }> {
  const holder = await directConnection();
  await holder.query("BEGIN");
  await holder.query(`UPDATE ${LOCK} SET v = v + 100 WHERE id = 1`);
  const released = new Promise<void>((resolve, reject) => {
    setTimeout(() => {
      holder
        .query("COMMIT")
        .then(() => holder.end())
        .then(resolve, reject);
    }, releaseAfterMs);
  });
  return { released };
}

const UPDATE_LOCKED = `UPDATE ${LOCK} SET v = v + 1 WHERE id = 1`;

async function lockedUpdate(p: TestProxy, opts: { tx?: boolean } = {}): Promise<Outcome> {
  const c = await connect(p);
  try {
    await c.query("SET SESSION innodb_lock_wait_timeout = 1");
    if (opts.tx) await c.query("BEGIN");
    return await outcome(c.query(UPDATE_LOCKED));
  } finally {
    await c.end();
  }
}

async function withProxy(edit: (c: Config) => void, body: (p: TestProxy) => Promise<void>): Promise<void> {
  const p = await startTestProxy(edit, { mysql: true });
  try {
    await body(p);
  } finally {
    await p.stop();
  }
}

beforeAll(async () => {
  admin = await directConnection({ multipleStatements: true });
  await admin.query(`DROP TABLE IF EXISTS ${DL}, ${LOCK};
    CREATE TABLE ${DL} (id int PRIMARY KEY) ENGINE=InnoDB;
    CREATE TABLE ${LOCK} (id int PRIMARY KEY, v int NOT NULL) ENGINE=InnoDB`);
});

afterAll(async () => {
  await admin?.query(`DROP TABLE IF EXISTS ${DL}, ${LOCK}`);
  await admin?.end();
});

beforeEach(async () => {
  await admin.query(`DELETE FROM ${LOCK}`);
  await admin.query(`INSERT INTO ${LOCK} VALUES (1, 0)`);
});

describe("transparent retry of MariaDB deadlocks", () => {
  it("sent directly, one of the two inserts fails with 1213", async () => {
    const before = await innodbDeadlocks();
    const outcomes = await deadlockPair(null, false);
    expect(outcomes.sort()).toEqual([1213, "ok"].sort());
    expect(await innodbDeadlocks()).toBeGreaterThan(before);
  });

  it("through the proxy both inserts succeed; the deadlock happened and was resolved by a retry", async () => {
    await withProxy(
      () => {},
      async (p) => {
        const before = await innodbDeadlocks();
        expect(await deadlockPair(p, false)).toEqual(["ok", "ok"]);
        expect(await innodbDeadlocks()).toBeGreaterThan(before);
        const r = await eventually(
          async () => (await resolutions(p)).find((x) => x.errorType === "DEADLOCK"),
          "a DEADLOCK resolution",
        );
        expect(r.strategy).toBe("IMMEDIATE_FIX");
        expect(r.outcome).toBe("succeeded");
        expect(r.attempts).toBeGreaterThanOrEqual(1);
        const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT count(*) AS n FROM ${DL}`);
        expect(Number(rows[0]?.n)).toBe(1);
        const stats = await p.get<{ errors?: unknown }>("/api/errors?limit=50");
        expect(JSON.stringify(stats)).toContain("1213");
      },
    );
  });

  it("retries a prepared statement (mysql2 execute) the same way", async () => {
    await withProxy(
      () => {},
      async (p) => {
        const before = await innodbDeadlocks();
        expect(await deadlockPair(p, true)).toEqual(["ok", "ok"]);
        expect(await innodbDeadlocks()).toBeGreaterThan(before);
        const r = (await resolutions(p)).find((x) => x.errorType === "DEADLOCK");
        expect(r?.outcome).toBe("succeeded");
      },
    );
  });
});

describe("transparent retry of lock wait timeouts", () => {
  it("retries an autocommit UPDATE until the lock holder commits (~1.5 s)", async () => {
    await withProxy(
      () => {},
      async (p) => {
        const { released } = await lockRow(1500);
        expect(await lockedUpdate(p)).toBe("ok");
        await released;
        const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT v FROM ${LOCK} WHERE id = 1`);
        expect(Number(rows[0]?.v)).toBe(101); // the holder's +100 and exactly one +1
        const r = (await resolutions(p)).find((x) => x.errorType === "LOCK_WAIT_TIMEOUT");
        expect(r?.outcome).toBe("succeeded");
        expect(r?.attempts).toBeGreaterThanOrEqual(1);
      },
    );
  });

  it("gives the client the real 1205 when the lock is held longer than all attempts", async () => {
    await withProxy(
      (c) => {
        c.resolution.retry.maxAttempts = 2;
      },
      async (p) => {
        const { released } = await lockRow(4500);
        const started = Date.now();
        expect(await lockedUpdate(p)).toBe(1205);
        // the first wait and two retries, a second each
        expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
        await released;
        const r = (await resolutions(p)).find((x) => x.errorType === "LOCK_WAIT_TIMEOUT");
        expect(r?.outcome).toBe("failed");
        expect(r?.attempts).toBe(2);
        expect(r?.reason).toContain("no attempts left");
      },
    );
  });

  it("passes the error through inside an explicit transaction, saying why", async () => {
    await withProxy(
      () => {},
      async (p) => {
        const { released } = await lockRow(1500);
        expect(await lockedUpdate(p, { tx: true })).toBe(1205);
        await released;
        const r = (await resolutions(p)).find((x) => x.errorType === "LOCK_WAIT_TIMEOUT");
        expect(r?.outcome).toBe("skipped");
        expect(r?.reason).toContain("inside an explicit transaction");
        expect(r?.reason).toContain("PostgreSQL-only");
      },
    );
  });

  it("stops retrying when the budget (1/s) is spent by a storm: errors pass through, counted", async () => {
    await withProxy(
      (c) => {
        c.resolution.retry.budgetPerSecond = 1;
        c.resolution.retry.maxAttempts = 1;
      },
      async (p) => {
        const { released } = await lockRow(3500);
        const clients = 5;
        const outcomes = await Promise.all(Array.from({ length: clients }, () => lockedUpdate(p)));
        expect(outcomes).toEqual(Array(clients).fill(1205));
        await released;
        const rs = (await resolutions(p)).filter((x) => x.errorType === "LOCK_WAIT_TIMEOUT");
        const exhausted = rs.filter((x) => x.outcome === "skipped" && x.reason === "retry budget exhausted");
        const retried = rs.filter((x) => x.outcome === "failed");
        expect(retried.length).toBe(1);
        expect(exhausted.length).toBe(clients - 1);
        const metrics = await (await fetch(`${p.admin}/metrics`)).text();
        expect(metrics).toMatch(/^dbagpt_retry_budget_exhausted_total 4$/m);
      },
    );
  });

  it("with policy observe, records what it would have done and passes the error through", async () => {
    await withProxy(
      (c) => {
        c.resolution.policy.LOCK_WAIT_TIMEOUT = "observe";
      },
      async (p) => {
        const { released } = await lockRow(1500);
        expect(await lockedUpdate(p)).toBe(1205);
        await released;
        const r = (await resolutions(p)).find((x) => x.errorType === "LOCK_WAIT_TIMEOUT");
        expect(r?.outcome).toBe("observed");
        expect(r?.reason).toBe("would have retried the statement");
      },
    );
  });

  it("with policy off, passes the error through and records no resolution", async () => {
    await withProxy(
      (c) => {
        c.resolution.policy.LOCK_WAIT_TIMEOUT = "off";
      },
      async (p) => {
        const { released } = await lockRow(1500);
        expect(await lockedUpdate(p)).toBe(1205);
        await released;
        await eventually(
          async () => JSON.stringify(await p.get("/api/errors?limit=50")).includes("1205"),
          "the 1205 event",
        );
        expect((await resolutions(p)).filter((x) => x.errorType === "LOCK_WAIT_TIMEOUT")).toEqual([]);
      },
    );
  });
});
