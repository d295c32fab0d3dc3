import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  directConnection,
  dropCredentialsFixtures,
  NATIVE_USER,
  ONE_CONN_USER,
  OTHER_DB,
  setupCredentialsFixtures,
} from "../support/mysql-setup.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";
import { runCommand } from "../support/servers.js";

let proxy: TestProxy;
let admin: mysql.Connection;

function connect(user = NATIVE_USER.user, password = NATIVE_USER.password, p: TestProxy = proxy) {
  return mysql.createConnection({ host: "127.0.0.1", port: p.mysqlPort, user, password, database: "test" });
}

async function connectionId(c: mysql.Connection): Promise<number> {
  const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT CONNECTION_ID() AS id");
  return Number(rows[0]?.id);
}

/** KILL an upstream connection directly and wait until the server has let it go. */
async function kill(id: number): Promise<void> {
  await admin.query(`KILL ${id}`);
  await eventually(async () => {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      "SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?",
      [id],
    );
    return Number(rows[0]?.n) === 0;
  }, `connection ${id} gone`);
}

beforeAll(async () => {
  await setupCredentialsFixtures();
  admin = await directConnection();
  await admin.query("DROP TABLE IF EXISTS cred_rows");
  await admin.query("CREATE TABLE cred_rows (id int PRIMARY KEY, v int NOT NULL) ENGINE=InnoDB");
  await admin.query("INSERT INTO cred_rows VALUES (1, 0)");
  proxy = await startTestProxy(
    (c) => {
      c.auth.mode = "credentials";
      c.auth.users = [NATIVE_USER, ONE_CONN_USER];
      c.resolution.connectQueue = { maxWaitMs: 5000, maxAttempts: 100 };
    },
    { mysql: true },
  );
});

afterAll(async () => {
  await admin?.query("DROP TABLE IF EXISTS cred_rows");
  await admin?.end();
  await proxy?.stop();
  await dropCredentialsFixtures();
});

describe("credentials mode on the MySQL side: the proxy logs clients in", () => {
  it("lets mysql2 in with the configured password and logs in upstream as that user", async () => {
    const c = await connect();
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT CURRENT_USER() AS u, VERSION() AS v");
      expect(String(rows[0]?.u)).toMatch(/^dbagpt_native@/);
      // the proxy's own greeting carries the upstream's server version
      const greeting = (c as unknown as { connection: { _handshakePacket: { serverVersion: string } } })
        .connection._handshakePacket;
      const [direct] = await admin.query<mysql.RowDataPacket[]>("SELECT VERSION() AS v");
      // (MariaDB's greeting says "5.5.5-" in front, for old clients)
      expect(greeting.serverVersion.replace(/^5\.5\.5-/, "")).toBe(String(direct[0]?.v));
    } finally {
      await c.end();
    }
  });

  it("refuses a wrong password with the server's 1045 / 28000 and records it", async () => {
    const err = await connect(NATIVE_USER.user, "wrong-password").then(
      async (c) => {
        await c.end();
        return null;
      },
      (e: { errno?: number; sqlState?: string; message: string }) => e,
    );
    expect(err?.errno).toBe(1045);
    expect(err?.sqlState).toBe("28000");
    expect(err?.message).toContain("Access denied for user 'dbagpt_native'@");
    const unknown = await connect("nobody_here", "x").then(
      () => null,
      (e: { errno?: number }) => e,
    );
    expect(unknown?.errno).toBe(1045);
    await eventually(async () => {
      const { errors } = await proxy.get<{
        errors: { code: string; errorType: string; user: string | null }[];
      }>("/api/errors?limit=100");
      return errors.find(
        (e) => e.code === "1045" && e.user === "dbagpt_native" && e.errorType === "ACCESS_DENIED",
      );
    }, "the 1045 event");
  });

  it("works with the mariadb CLI, right and wrong passwords", async () => {
    const cli = (password: string) =>
      runCommand("mariadb", [
        "-h",
        "127.0.0.1",
        "-P",
        String(proxy.mysqlPort),
        "--batch",
        "--skip-ssl",
        "-u",
        NATIVE_USER.user,
        `-p${password}`,
        "test",
        "-e",
        "SELECT CURRENT_USER() AS u",
      ]);
    const ok = await cli(NATIVE_USER.password);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("dbagpt_native@");
    const bad = await cli("wrong");
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("1045");
  });
});

describe("credentials mode: COM_CHANGE_USER", () => {
  it("re-authenticates with the configured password and lands on a new upstream session", async () => {
    const c = await connect();
    try {
      await c.query("SET @marker = 1");
      await c.changeUser({ user: NATIVE_USER.user, password: NATIVE_USER.password, database: OTHER_DB });
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        "SELECT DATABASE() AS d, @marker AS m, CURRENT_USER() AS u",
      );
      expect(rows[0]?.d).toBe(OTHER_DB);
      expect(rows[0]?.m).toBeNull();
      expect(String(rows[0]?.u)).toMatch(/^dbagpt_native@/);
      const bad = await c.changeUser({ user: NATIVE_USER.user, password: "wrong" }).then(
        () => null,
        (e: { errno?: number }) => e,
      );
      expect(bad?.errno).toBe(1045);
    } finally {
      c.destroy();
    }
  });
});

describe("credentials mode: reconnect when the upstream connection is lost", () => {
  it("an idle connection KILLed upstream: the next statements run with the session intact", async () => {
    const c = await connect();
    try {
      await c.query("SET SESSION group_concat_max_len = 12345");
      await c.query("SET @@session.sql_mode = 'NO_ENGINE_SUBSTITUTION'");
      await c.query(`USE ${OTHER_DB}`);
      const [a] = await c.execute<mysql.RowDataPacket[]>("SELECT ? + 1 AS v", [1]);
      expect(a[0]?.v).toBe(2);
      const [b] = await c.execute<mysql.RowDataPacket[]>("SELECT ? * 10 AS v", [2]);
      expect(b[0]?.v).toBe(20);
      // the first statement is closed: after the reconnect the second gets a different server id
      await c.unprepare("SELECT ? + 1 AS v");
      const before = await connectionId(c);
      await kill(before);

      const [vars] = await c.query<mysql.RowDataPacket[]>(
        "SELECT @@session.group_concat_max_len AS g, @@session.sql_mode AS m, DATABASE() AS d",
      );
      expect(vars[0]).toEqual({ g: 12345, m: "NO_ENGINE_SUBSTITUTION", d: OTHER_DB });
      expect(await connectionId(c)).not.toBe(before);
      // the prepared statement from before the loss, under the id the client knows
      const [b2] = await c.execute<mysql.RowDataPacket[]>("SELECT ? * 10 AS v", [3]);
      expect(b2[0]?.v).toBe(30);
      // a statement prepared after the reconnect and the old one side by side
      const [n] = await c.execute<mysql.RowDataPacket[]>("SELECT ? - 1 AS v", [5]);
      expect(n[0]?.v).toBe(4);
      const [b3] = await c.execute<mysql.RowDataPacket[]>("SELECT ? * 10 AS v", [4]);
      expect(b3[0]?.v).toBe(40);
      const { resolutions } = await proxy.get<{
        resolutions: { outcome: string; action: string; protocol: string }[];
      }>("/api/resolutions?limit=50");
      expect(
        resolutions.find(
          (r) => r.protocol === "mysql" && r.action.startsWith("reconnect") && r.outcome === "succeeded",
        ),
      ).toBeDefined();
    } finally {
      await c.end();
    }
  });

  it("an UPDATE in flight when its upstream is killed is not re-run: clear error, row changed at most once", async () => {
    await admin.query("UPDATE cred_rows SET v = 0 WHERE id = 1");
    const c = await connect();
    try {
      const id = await connectionId(c);
      const update = c.query("UPDATE cred_rows SET v = v + 1 WHERE id = 1 AND SLEEP(1) = 0").then(
        () => null,
        (e: { errno?: number; message: string }) => e,
      );
      await eventually(async () => {
        const [rows] = await admin.query<mysql.RowDataPacket[]>(
          "SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'UPDATE cred_rows%'",
          [id],
        );
        return Number(rows[0]?.n) === 1;
      }, "the UPDATE running");
      await kill(id);
      const err = await update;
      expect(err?.message).toContain("not re-run because it may have written");
      const [after] = await admin.query<mysql.RowDataPacket[]>("SELECT v FROM cred_rows WHERE id = 1");
      expect(Number(after[0]?.v)).toBeLessThanOrEqual(1);
      // the same client goes on, on a new connection
      const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT v FROM cred_rows WHERE id = 1");
      expect(Number(rows[0]?.v)).toBe(Number(after[0]?.v));
      expect(await connectionId(c)).not.toBe(id);
    } finally {
      await c.end();
    }
  });

  it("a read-only statement in flight when its upstream is killed is re-run on a new connection", async () => {
    const c = await connect();
    try {
      const id = await connectionId(c);
      const q = c.query<mysql.RowDataPacket[]>("SELECT SLEEP(1) AS s, 7 AS v");
      await eventually(async () => {
        const [rows] = await admin.query<mysql.RowDataPacket[]>(
          "SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'",
          [id],
        );
        return Number(rows[0]?.n) === 1;
      }, "the SELECT running");
      await kill(id);
      const [rows] = await q;
      expect(rows[0]?.v).toBe(7);
    } finally {
      await c.end();
    }
  });
});

describe("credentials mode: TOO_MANY_CONNECTIONS at connect waits in the connect queue", () => {
  it("a second client of a MAX_USER_CONNECTIONS 1 user waits for the slot and gets in", async () => {
    const first = await connect(ONE_CONN_USER.user, ONE_CONN_USER.password);
    const started = Date.now();
    const second = connect(ONE_CONN_USER.user, ONE_CONN_USER.password);
    let settled = false;
    second.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await new Promise((r) => setTimeout(r, 400));
    expect(settled).toBe(false);
    await first.end();
    const c = await second;
    try {
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT CURRENT_USER() AS u");
      expect(String(rows[0]?.u)).toMatch(/^dbagpt_oneconn@/);
    } finally {
      await c.end();
    }
  });

  it("past the bound the client gets the server's real error", async () => {
    const short = await startTestProxy(
      (c) => {
        c.auth.mode = "credentials";
        c.auth.users = [ONE_CONN_USER];
        c.resolution.connectQueue = { maxWaitMs: 300, maxAttempts: 100 };
      },
      { mysql: true },
    );
    const first = await connect(ONE_CONN_USER.user, ONE_CONN_USER.password, short);
    try {
      const err = await connect(ONE_CONN_USER.user, ONE_CONN_USER.password, short).then(
        async (c) => {
          await c.end();
          return null;
        },
        (e: { errno?: number }) => e,
      );
      expect([1226, 1203]).toContain(err?.errno);
      const { resolutions } = await short.get<{ resolutions: { outcome: string; errorType: string }[] }>(
        "/api/resolutions",
      );
      expect(resolutions.find((r) => r.errorType === "TOO_MANY_CONNECTIONS")?.outcome).toBe("failed");
    } finally {
      await first.end();
      await short.stop();
    }
  });
});
