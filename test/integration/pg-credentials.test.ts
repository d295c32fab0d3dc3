import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/types.js";
import { MD5_USER, SCRAM_USER } from "../support/global-setup.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";
import { psqlDirect, runCommand } from "../support/servers.js";

const APP = { user: "postgres", password: "app-secret" };
const LIMITED = { user: "dbagpt_limited", password: "limited-secret" };

function credentials(method: "scram-sha-256" | "md5" = "scram-sha-256") {
  return (c: Config) => {
    c.auth.mode = "credentials";
    c.auth.pgMethod = method;
    c.auth.users = [APP, SCRAM_USER, MD5_USER, LIMITED];
    c.resolution.connectQueue = { maxWaitMs: 3000, maxAttempts: 50 };
  };
}

async function connect(p: TestProxy, user: string, password: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: p.pgUrl(user, password), application_name: "creds-test" });
  c.on("error", () => {});
  await c.connect();
  return c;
}

async function connectError(
  p: TestProxy,
  user: string,
  password: string,
): Promise<{ code?: string; message: string } | null> {
  const c = new pg.Client({ connectionString: p.pgUrl(user, password) });
  c.on("error", () => {});
  return c.connect().then(
    async () => {
      await c.end();
      return null;
    },
    (e: { code?: string; message: string }) => e,
  );
}

/** Kill the server backend serving a proxied client, directly on the server, and wait until it is gone. */
async function killBackend(pid: number): Promise<void> {
  psqlDirect(`SELECT pg_terminate_backend(${pid})`);
  for (let i = 0; i < 100; i++) {
    if (psqlDirect(`SELECT count(*) FROM pg_stat_activity WHERE pid = ${pid}`) === "0") return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`backend ${pid} did not go away`);
}

let proxy: TestProxy;

beforeAll(async () => {
  psqlDirect(`DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${LIMITED.user}') THEN CREATE ROLE ${LIMITED.user} LOGIN; END IF;
  END $$; ALTER ROLE ${LIMITED.user} CONNECTION LIMIT 1;
  DROP TABLE IF EXISTS creds_t; CREATE TABLE creds_t (id int PRIMARY KEY, v int); INSERT INTO creds_t VALUES (1, 0), (2, 0);
  CREATE SCHEMA IF NOT EXISTS creds_schema; DROP TABLE IF EXISTS creds_schema.only_here; CREATE TABLE creds_schema.only_here (x int); INSERT INTO creds_schema.only_here VALUES (7);
  GRANT ALL ON creds_t TO PUBLIC`);
  proxy = await startTestProxy(credentials());
});

afterAll(async () => {
  await proxy.stop();
});

describe("credentials mode: the proxy authenticates clients itself", () => {
  it("accepts the right SCRAM password and logs in upstream with the user's own credentials", async () => {
    for (const u of [APP, SCRAM_USER, MD5_USER]) {
      const c = await connect(proxy, u.user, u.password);
      const r = await c.query("SELECT current_user AS who");
      expect(r.rows[0].who).toBe(u.user);
      await c.end();
    }
  });

  it("rejects a wrong password with the protocol's normal auth error, recorded", async () => {
    const err = await connectError(proxy, APP.user, "wrong-password");
    expect(err?.code).toBe("28P01");
    expect(err?.message).toMatch(/password authentication failed/);
    const unknown = await connectError(proxy, "nobody_here", "x");
    expect(unknown?.code).toBe("28P01");
    const { errors } = await proxy.get("/api/errors?limit=10");
    expect(
      errors.some((e: { code: string; user: string }) => e.code === "28P01" && e.user === APP.user),
    ).toBe(true);
    expect(JSON.stringify(errors)).not.toContain("wrong-password");
  });

  it("works with psql, right and wrong passwords", async () => {
    const ok = await runCommand("psql", [proxy.pgUrl(APP.user), "-X", "-A", "-t", "-c", "SELECT 'psql ok'"], {
      env: { ...process.env, PGPASSWORD: APP.password },
    });
    expect(ok.stdout.trim()).toBe("psql ok");
    const bad = await runCommand("psql", [proxy.pgUrl(APP.user), "-X", "-c", "SELECT 1"], {
      env: { ...process.env, PGPASSWORD: "nope" },
    });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/password authentication failed/);
  });

  it("authenticates clients with md5 when configured", async () => {
    const md5 = await startTestProxy(credentials("md5"));
    try {
      const c = await connect(md5, APP.user, APP.password);
      expect((await c.query("SELECT 1 AS one")).rows[0].one).toBe(1);
      await c.end();
      expect((await connectError(md5, APP.user, "bad"))?.code).toBe("28P01");
    } finally {
      await md5.stop();
    }
  });
});

describe("reconnect (credentials mode)", () => {
  it("after pg_terminate_backend of an idle session, the next statement succeeds with session state intact", async () => {
    const c = await connect(proxy, APP.user, APP.password);
    try {
      await c.query("SET search_path TO creds_schema, public");
      await c.query("SET statement_timeout = 54321");
      await c.query({ name: "lookup", text: "SELECT x FROM only_here WHERE x = $1", values: [7] });
      const pid = (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
      await killBackend(pid);
      // the client sees nothing of it
      const after = await c.query(
        "SELECT current_database() AS db, current_setting('statement_timeout') AS st, pg_backend_pid() AS pid",
      );
      expect(after.rows[0].db).toBe("test");
      expect(after.rows[0].st).toBe("54321ms");
      expect(after.rows[0].pid).not.toBe(pid);
      // search_path restored: the unqualified table resolves
      expect((await c.query("SELECT x FROM only_here")).rows[0].x).toBe(7);
      // the named prepared statement was re-prepared under the same name (pg sends only Bind/Execute now)
      expect(
        (await c.query({ name: "lookup", text: "SELECT x FROM only_here WHERE x = $1", values: [7] })).rows[0]
          .x,
      ).toBe(7);
    } finally {
      await c.end();
    }
    const { resolutions } = await proxy.get("/api/resolutions");
    expect(
      resolutions.some(
        (r: { outcome: string; action: string }) => r.outcome === "succeeded" && /reconnect/.test(r.action),
      ),
    ).toBe(true);
  });

  it("an UPDATE in flight when its upstream is killed is not replayed: clear error, row changed at most once", async () => {
    psqlDirect("UPDATE creds_t SET v = 0 WHERE id = 1");
    const c = await connect(proxy, APP.user, APP.password);
    try {
      const pid = (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
      const update = c.query("UPDATE creds_t SET v = v + 1 WHERE id = 1 AND pg_sleep(1) IS NOT NULL").then(
        () => null,
        (e: { code?: string; message: string }) => e,
      );
      for (let i = 0; i < 100; i++) {
        if (
          psqlDirect(`SELECT count(*) FROM pg_stat_activity WHERE pid = ${pid} AND state = 'active'`) === "1"
        )
          break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await killBackend(pid);
      const err = await update;
      expect(err?.code).toBe("08006");
      expect(err?.message).toMatch(/not re-run/);
      await new Promise((r) => setTimeout(r, 200));
      expect(Number(psqlDirect("SELECT v FROM creds_t WHERE id = 1"))).toBeLessThanOrEqual(1);
      // the session goes on with a new upstream
      expect((await c.query("SELECT 5 AS five")).rows[0].five).toBe(5);
    } finally {
      await c.end();
    }
  });

  it("a read-only statement in autocommit killed in flight is re-run and succeeds", async () => {
    const c = await connect(proxy, APP.user, APP.password);
    try {
      const pid = (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
      const read = c.query("SELECT pg_sleep(0.6), 42 AS answer");
      for (let i = 0; i < 100; i++) {
        if (
          psqlDirect(`SELECT count(*) FROM pg_stat_activity WHERE pid = ${pid} AND state = 'active'`) === "1"
        )
          break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await killBackend(pid);
      expect((await read).rows[0].answer).toBe(42);
    } finally {
      await c.end();
    }
  });

  it("in passthrough mode a killed upstream gives the client a clear error and a recorded event", async () => {
    const plain = await startTestProxy();
    try {
      const c = new pg.Client({ connectionString: plain.pgUrl() });
      const gotError = new Promise<{ code?: string; message: string }>((resolve) => c.on("error", resolve));
      await c.connect();
      const pid = (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
      await killBackend(pid);
      const err = await gotError;
      expect(err.message).toMatch(/terminating connection|administrator/);
      const ev = await eventually(async () => {
        const { errors } = await plain.get("/api/errors");
        return errors.find((e: { errorType: string }) => e.errorType === "CONNECTION_ERROR");
      }, "a CONNECTION_ERROR event");
      expect(ev.code).toBe("57P01");
      await c.end().catch(() => {});
    } finally {
      await plain.stop();
    }
  });
});

describe("TOO_MANY_CONNECTIONS at connect (credentials mode)", () => {
  it("a second client waits while the first holds the role's only slot and gets in when it leaves", async () => {
    const first = await connect(proxy, LIMITED.user, LIMITED.password);
    const second = connect(proxy, LIMITED.user, LIMITED.password);
    await new Promise((r) => setTimeout(r, 300));
    await first.end();
    const c = await second;
    expect((await c.query("SELECT current_user AS who")).rows[0].who).toBe(LIMITED.user);
    await c.end();
    const r = await eventually(async () => {
      const { resolutions } = await proxy.get("/api/resolutions");
      return resolutions.find(
        (x: { errorType: string; outcome: string }) =>
          x.errorType === "TOO_MANY_CONNECTIONS" && x.outcome === "succeeded",
      );
    }, "a queue resolution");
    expect(r.attempts).toBeGreaterThanOrEqual(1);
  });

  it("past the bound the client gets the real error", async () => {
    const short = await startTestProxy((c) => {
      credentials()(c);
      c.resolution.connectQueue = { maxWaitMs: 300, maxAttempts: 5 };
    });
    const holder = await connect(short, LIMITED.user, LIMITED.password);
    try {
      const err = await connectError(short, LIMITED.user, LIMITED.password);
      expect(err?.code).toBe("53300");
      expect(err?.message).toMatch(/too many connections/);
    } finally {
      await holder.end();
      await short.stop();
    }
  });
});
