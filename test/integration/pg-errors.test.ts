import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MD5_USER } from "../support/global-setup.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";
import { psqlDirect } from "../support/servers.js";

let proxy: TestProxy;

interface ApiError {
  code: string;
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

async function connect(url = proxy.pgUrl()): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: "errors-test" });
  await c.connect();
  return c;
}

async function failWith(c: pg.Client, sql: string, code: string): Promise<void> {
  const err = await c.query(sql).then(
    () => null,
    (e: { code?: string }) => e,
  );
  expect(err?.code, sql).toBe(code);
}

async function findError(code: string): Promise<ApiError> {
  return eventually(async () => {
    const { errors } = await proxy.get<{ errors: ApiError[] }>("/api/errors?limit=200");
    return errors.find((e) => e.code === code);
  }, `error ${code} on /api/errors`);
}

beforeAll(async () => {
  psqlDirect(`DROP TABLE IF EXISTS err_child, err_parent, err_secret, err_dl;
    CREATE TABLE err_parent (id int PRIMARY KEY, email text UNIQUE);
    CREATE TABLE err_child (id int PRIMARY KEY, parent_id int REFERENCES err_parent(id));
    CREATE TABLE err_secret (id int);
    REVOKE ALL ON err_secret FROM PUBLIC;
    CREATE TABLE err_dl (id int PRIMARY KEY, v int);
    INSERT INTO err_dl VALUES (1, 0), (2, 0);
    INSERT INTO err_parent VALUES (1, 'a@example.com')`);
  proxy = await startTestProxy();
});

afterAll(async () => {
  await proxy.stop();
});

describe("PostgreSQL errors become events and patterns", () => {
  const cases: [string, string, string][] = [
    ["42P01", "SELECT * FROM err_missing_table WHERE id = 7", "TABLE_NOT_FOUND"],
    ["42703", "SELECT no_such_column FROM err_parent", "COLUMN_NOT_FOUND"],
    ["42601", "SELEC 1", "SYNTAX_ERROR"],
    ["23505", "INSERT INTO err_parent VALUES (2, 'a@example.com')", "DUPLICATE_KEY"],
    ["23503", "INSERT INTO err_child VALUES (1, 999)", "CONSTRAINT_VIOLATION"],
    ["22012", "SELECT 1 / 0", "DATA_ERROR"],
  ];

  it.each(cases)(
    "records %s with its errorType, pattern and statement digest",
    async (code, sql, errorType) => {
      const c = await connect();
      try {
        await failWith(c, sql, code);
      } finally {
        await c.end();
      }
      const ev = await findError(code);
      expect(ev.errorType).toBe(errorType);
      expect(ev.signature).toMatch(/^[0-9a-f]{12}$/);
      expect(ev.database).toBe("test");
      expect(ev.user).toBe("postgres");
      expect(ev.application).toBe("errors-test");
      expect(ev.inTransaction).toBe(false);
      expect(ev.statementDigest).not.toBeNull();
      // literals never reach the digest
      expect(ev.statementDigest).not.toContain("a@example.com");
      expect(ev.statementDigest).not.toContain("999");
      const { patterns } = await proxy.get<{
        patterns: { signature: string; errorType: string; count: number; code: string }[];
      }>(`/api/patterns?errorType=${errorType}`);
      const p = patterns.find((x) => x.signature === ev.signature);
      expect(p?.code).toBe(code);
      expect(p?.count).toBeGreaterThanOrEqual(1);
      const one = await proxy.get<{ pattern: { signature: string; strategy: string } }>(
        `/api/patterns/${ev.signature}`,
      );
      expect(one.pattern.strategy).toBe("AI_POWERED");
    },
  );

  it("records 42501 for a role without privileges", async () => {
    const c = await connect(proxy.pgUrl(MD5_USER.user, MD5_USER.password));
    try {
      await failWith(c, "SELECT * FROM err_secret", "42501");
    } finally {
      await c.end();
    }
    const ev = await findError("42501");
    expect(ev.errorType).toBe("ACCESS_DENIED");
    expect(ev.user).toBe(MD5_USER.user);
  });

  it("records 57014 from a statement timeout", async () => {
    const c = await connect();
    try {
      await c.query("SET statement_timeout = 50");
      await failWith(c, "SELECT pg_sleep(2)", "57014");
    } finally {
      await c.end();
    }
    expect((await findError("57014")).errorType).toBe("QUERY_TIMEOUT");
  });

  it("records 25006 inside a read-only transaction, marked inTransaction", async () => {
    const c = await connect();
    try {
      await c.query("BEGIN READ ONLY");
      await failWith(c, "INSERT INTO err_parent VALUES (3, 'b@example.com')", "25006");
      await c.query("ROLLBACK");
    } finally {
      await c.end();
    }
    const ev = await findError("25006");
    expect(ev.errorType).toBe("READ_ONLY");
    expect(ev.inTransaction).toBe(true);
  });

  it("records 40P01 from a real deadlock between two clients", async () => {
    const a = await connect();
    const b = await connect();
    try {
      const q = (first: number, second: number) =>
        `WITH x AS (UPDATE err_dl SET v = v + 1 WHERE id = ${first} RETURNING pg_sleep(0.5)) UPDATE err_dl SET v = v + 1 WHERE id = ${second} AND EXISTS (SELECT 1 FROM x)`;
      const results = await Promise.allSettled([a.query(q(1, 2)), b.query(q(2, 1))]);
      const codes = results.map((r) =>
        r.status === "rejected" ? (r.reason as { code?: string }).code : "ok",
      );
      // the proxy retries deadlocks only once resolution is on; either way the server saw one
      expect(codes).toContain("ok");
      if (codes.includes("40P01")) expect((await findError("40P01")).errorType).toBe("DEADLOCK");
    } finally {
      await a.end();
      await b.end();
    }
    const ev = await findError("40P01");
    expect(ev.errorType).toBe("DEADLOCK");
    expect(ev.strategy).toBe("IMMEDIATE_FIX");
  });

  it("keeps one pattern for one template hit with other literals, and two for two tables", async () => {
    const c = await connect();
    try {
      await failWith(c, "SELECT * FROM err_missing_a WHERE id = 1", "42P01");
      await failWith(c, "SELECT * FROM err_missing_a WHERE id = 2 AND note = 'x'", "42P01");
      await failWith(c, "SELECT * FROM err_missing_b", "42P01");
    } finally {
      await c.end();
    }
    const { patterns } = await proxy.get<{
      patterns: { template: string; count: number; strategy: string }[];
    }>("/api/patterns?errorType=TABLE_NOT_FOUND");
    const a = patterns.find((p) => p.template.includes("err_missing_a"));
    const b = patterns.find((p) => p.template.includes("err_missing_b"));
    expect(a?.count).toBe(2);
    expect(a?.strategy).toBe("PREVENTIVE");
    expect(b?.count).toBe(1);
  });

  it("records errors during startup: unknown database and wrong password", async () => {
    const bad = new pg.Client({ connectionString: proxy.pgUrl("postgres", undefined, "no_such_db_x") });
    await expect(bad.connect()).rejects.toMatchObject({ code: "3D000" });
    const ev = await findError("3D000");
    expect(ev.errorType).toBe("DATABASE_NOT_FOUND");
    expect(ev.database).toBe("no_such_db_x");

    const wrong = new pg.Client({ connectionString: proxy.pgUrl(MD5_USER.user, "not-the-password") });
    await expect(wrong.connect()).rejects.toMatchObject({ code: "28P01" });
    const pw = await findError("28P01");
    expect(pw.errorType).toBe("ACCESS_DENIED");
    expect(pw.user).toBe(MD5_USER.user);
    // no password or literal in the event
    expect(JSON.stringify(pw)).not.toContain("not-the-password");
  });

  it("records an upstream the proxy cannot reach as CONNECTION_ERROR and tells the client", async () => {
    const down = await startTestProxy((c) => {
      c.upstream.postgres = { host: "127.0.0.1", port: 1 };
    });
    try {
      const c = new pg.Client({ connectionString: down.pgUrl() });
      const err = await c.connect().then(
        () => null,
        (e: { code?: string; message: string }) => e,
      );
      expect(err?.code).toBe("08006");
      expect(err?.message).toMatch(/upstream/);
      const { errors } = await down.get<{ errors: ApiError[] }>("/api/errors");
      expect(errors[0]?.errorType).toBe("CONNECTION_ERROR");
      expect(errors[0]?.code).toBe("PROXY_UPSTREAM_REFUSED");
    } finally {
      await down.stop();
    }
  });
});
