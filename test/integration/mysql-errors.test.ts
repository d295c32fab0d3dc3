import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITED_USER, NATIVE_USER, directConnection, setupMysqlUsers } from "../support/mysql-setup.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";

let proxy: TestProxy;
let admin: mysql.Connection;

interface ApiError {
  protocol: string;
  code: string;
  sqlstate: string | null;
  errorType: string;
  signature: string;
  message: string;
  statementDigest: string | null;
  inTransaction: boolean;
  database: string | null;
  user: string | null;
  application: string | null;
  strategy: string;
}

async function connect(opts: Partial<mysql.ConnectionOptions> = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: "127.0.0.1",
    port: proxy.mysqlPort,
    user: "root",
    database: "test",
    connectAttributes: { program_name: "errors-test" },
    ...opts,
  });
}

async function failWith(c: mysql.Connection, sql: string, errno: number, params?: unknown[]): Promise<void> {
  const run = params ? c.execute(sql, params as never) : c.query(sql);
  const err = await run.then(
    () => null,
    (e: { errno?: number }) => e,
  );
  expect(err?.errno, sql).toBe(errno);
}

async function findError(pred: (e: ApiError) => boolean, what: string): Promise<ApiError> {
  return eventually(async () => {
    const { errors } = await proxy.get<{ errors: ApiError[] }>("/api/errors?limit=500");
    return errors.find((e) => e.protocol === "mysql" && pred(e));
  }, what);
}

async function patternOf(ev: ApiError): Promise<{ code: string; errorType: string; count: number }> {
  const { patterns } = await proxy.get<{
    patterns: { signature: string; code: string; errorType: string; count: number }[];
  }>(`/api/patterns?protocol=mysql&errorType=${ev.errorType}&limit=500`);
  const p = patterns.find((x) => x.signature === ev.signature);
  if (!p) throw new Error(`no pattern ${ev.signature} on /api/patterns`);
  return p;
}

beforeAll(async () => {
  await setupMysqlUsers();
  admin = await directConnection({ multipleStatements: true });
  await admin.query(`DROP TABLE IF EXISTS err_child, err_parent, err_lock, err_dl;
    CREATE TABLE err_parent (id int PRIMARY KEY, email varchar(100) UNIQUE) ENGINE=InnoDB;
    CREATE TABLE err_child (id int PRIMARY KEY, parent_id int, FOREIGN KEY (parent_id) REFERENCES err_parent(id)) ENGINE=InnoDB;
    CREATE TABLE err_lock (id int PRIMARY KEY, v int) ENGINE=InnoDB;
    CREATE TABLE err_dl (id int PRIMARY KEY) ENGINE=InnoDB;
    INSERT INTO err_parent VALUES (1, 'a@example.com');
    INSERT INTO err_lock VALUES (1, 0)`);
  // the server's own errors as they are: the inline retry of 1213/1205 is tested in mysql-retry.test.ts
  proxy = await startTestProxy(
    (c) => {
      c.resolution.policy.DEADLOCK = "off";
      c.resolution.policy.LOCK_WAIT_TIMEOUT = "off";
    },
    { mysql: true },
  );
});

afterAll(async () => {
  await admin?.end();
  await proxy?.stop();
});

describe("MySQL errors become events and patterns", () => {
  const cases: [number, string, string, string][] = [
    [1146, "SELECT * FROM err_missing_table WHERE id = 7", "TABLE_NOT_FOUND", "err_missing_table"],
    [1054, "SELECT no_such_column FROM err_parent WHERE id = 3", "COLUMN_NOT_FOUND", "no_such_column"],
    [1064, "SELEC 1", "SYNTAX_ERROR", "SELEC"],
    [1062, "INSERT INTO err_parent VALUES (2, 'a@example.com')", "DUPLICATE_KEY", "err_parent"],
    [1452, "INSERT INTO err_child VALUES (1, 999)", "CONSTRAINT_VIOLATION", "err_child"],
  ];

  it.each(cases)(
    "records %i with its errorType, pattern and statement digest",
    async (errno, sql, errorType, marker) => {
      const c = await connect();
      try {
        await failWith(c, sql, errno);
      } finally {
        await c.end();
      }
      const ev = await findError(
        (e) => e.code === String(errno) && (e.statementDigest ?? "").includes(marker),
        `error ${errno} on /api/errors`,
      );
      expect(ev.errorType).toBe(errorType);
      expect(ev.sqlstate).toMatch(/^[0-9A-Z]{5}$/);
      expect(ev.signature).toMatch(/^[0-9a-f]{12}$/);
      expect(ev.database).toBe("test");
      expect(ev.user).toBe("root");
      expect(ev.application).toBe("errors-test");
      expect(ev.inTransaction).toBe(false);
      // literals never reach the digest
      expect(ev.statementDigest).not.toContain("a@example.com");
      expect(ev.statementDigest).not.toContain("999");
      const p = await patternOf(ev);
      expect(p.code).toBe(String(errno));
      expect(p.count).toBeGreaterThanOrEqual(1);
    },
  );

  it("gives a failing prepared statement its prepared text, and marks errors inside a transaction", async () => {
    const c = await connect();
    try {
      await failWith(c, "SELECT * FROM err_prepared_missing WHERE id = ?", 1146, [5]);
      await c.query("BEGIN");
      await c.query("INSERT INTO err_lock VALUES (50, 1)");
      await failWith(c, "INSERT INTO err_parent VALUES (1, 'tx@example.com')", 1062);
      await c.query("ROLLBACK");
      await failWith(c, "INSERT INTO err_parent VALUES (1, 'after@example.com')", 1062);
    } finally {
      await c.end();
    }
    const prepared = await findError(
      (e) => e.code === "1146" && (e.statementDigest ?? "").includes("err_prepared_missing"),
      "the prepared 1146",
    );
    expect(prepared.statementDigest).toMatch(/where id = \?/i);
    const inTx = await findError(
      (e) => e.code === "1062" && e.message.includes("'1'") && e.inTransaction,
      "the 1062 inside the transaction",
    );
    expect(inTx.errorType).toBe("DUPLICATE_KEY");
    // after ROLLBACK the same error is outside a transaction
    const { errors } = await proxy.get<{ errors: ApiError[] }>("/api/errors?limit=5");
    expect(errors.find((e) => e.code === "1062")?.inTransaction).toBe(false);
  });

  it("records 1142 for a user without table privileges", async () => {
    const c = await connect({
      user: LIMITED_USER.user,
      password: LIMITED_USER.password,
      database: undefined,
    });
    try {
      await failWith(c, "SELECT * FROM test.err_parent", 1142);
    } finally {
      await c.end();
    }
    const ev = await findError((e) => e.code === "1142", "1142");
    expect(ev.errorType).toBe("ACCESS_DENIED");
    expect(ev.user).toBe(LIMITED_USER.user);
  });

  it("records login errors: 1045 wrong password and 1049 unknown database", async () => {
    await expect(connect({ user: NATIVE_USER.user, password: "not-the-password" })).rejects.toMatchObject({
      errno: 1045,
    });
    const pw = await findError((e) => e.code === "1045" && e.user === NATIVE_USER.user, "1045");
    expect(pw.errorType).toBe("ACCESS_DENIED");
    expect(pw.application).toBe("errors-test");
    expect(JSON.stringify(pw)).not.toContain("not-the-password");

    await expect(connect({ database: "no_such_db_x" })).rejects.toMatchObject({ errno: 1049 });
    const db = await findError((e) => e.code === "1049", "1049");
    expect(db.errorType).toBe("DATABASE_NOT_FOUND");
    expect(db.database).toBe("no_such_db_x");
  });

  it("records 1205 when a row lock is held past innodb_lock_wait_timeout", async () => {
    const holder = await directConnection();
    const c = await connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT * FROM err_lock WHERE id = 1 FOR UPDATE");
      await c.query("SET SESSION innodb_lock_wait_timeout = 1");
      await failWith(c, "UPDATE err_lock SET v = v + 1 WHERE id = 1", 1205);
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
      await c.end();
    }
    const ev = await findError((e) => e.code === "1205", "1205");
    expect(ev.errorType).toBe("LOCK_WAIT_TIMEOUT");
    expect(ev.statementDigest).toContain("err_lock");
    expect(ev.strategy).toBe("IMMEDIATE_FIX");
  });

  it("records 1213 from a real InnoDB deadlock between two clients", async () => {
    await admin.query("DELETE FROM err_dl");
    const holder = await directConnection();
    const a = await connect();
    const b = await connect();
    try {
      // a third session holds an uncommitted insert of key 1; two autocommit inserts of key 1 wait on it
      await holder.query("BEGIN");
      await holder.query("INSERT INTO err_dl VALUES (1)");
      const waiting = [a, b].map((c) =>
        c.query("INSERT IGNORE INTO err_dl VALUES (1)").then(
          () => "ok",
          (e: { errno?: number }) => e.errno,
        ),
      );
      await eventually(
        async () => {
          // InnoDB refreshes INNODB_TRX only when it was not read for 100 ms: poll slower than that
          await new Promise((r) => setTimeout(r, 150));
          const [rows] = await admin.query<mysql.RowDataPacket[]>(
            "SELECT count(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_query = 'INSERT IGNORE INTO err_dl VALUES (1)'",
          );
          return Number(rows[0]?.n) === 2;
        },
        "both inserts waiting on the lock",
        10_000,
      );
      // the holder rolls back: both get a shared lock and want an exclusive one; InnoDB picks a victim
      await holder.query("ROLLBACK");
      const outcomes = await Promise.all(waiting);
      expect(outcomes).toContain(1213);
      expect(outcomes).toContain("ok");
    } finally {
      await holder.end();
      await a.end();
      await b.end();
    }
    const ev = await findError((e) => e.code === "1213", "1213");
    expect(ev.errorType).toBe("DEADLOCK");
    expect(ev.sqlstate).toBe("40001");
    expect(ev.inTransaction).toBe(false);
    expect(ev.statementDigest).toContain("err_dl");
    expect(ev.strategy).toBe("IMMEDIATE_FIX");
    const p = await patternOf(ev);
    expect(p.errorType).toBe("DEADLOCK");
  });

  it("records an upstream the proxy cannot reach and tells the client with an ERR it understands", async () => {
    const down = await startTestProxy(
      (cfg) => {
        cfg.upstream.mysql = { host: "127.0.0.1", port: 1 };
      },
      { mysql: true },
    );
    try {
      const err = await mysql
        .createConnection({ host: "127.0.0.1", port: down.mysqlPort, user: "root" })
        .then(
          () => null,
          (e: { errno?: number; message: string }) => e,
        );
      expect(err?.errno).toBe(1053);
      expect(err?.message).toContain("dba-gpt");
      const { errors } = await down.get<{ errors: ApiError[] }>("/api/errors");
      expect(errors[0]?.code).toBe("PROXY_UPSTREAM_REFUSED");
      expect(errors[0]?.errorType).toBe("CONNECTION_ERROR");
    } finally {
      await down.stop();
    }
  });
});
