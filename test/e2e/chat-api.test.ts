import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTENT_EXAMPLES } from "../../src/chat/intents.js";
import { startTestProxy, type TestProxy } from "../support/proxy.js";
import { MYSQL_URL, psqlDirect } from "../support/servers.js";

/** POST /api/chat against the real PostgreSQL and MariaDB behind an in-process proxy (no LLM). */

interface ChatReply {
  mode: string;
  protocol: string | null;
  sql?: string;
  columns?: string[];
  rows?: unknown[][];
  answer: string;
  source: string;
  refused?: boolean;
  error?: string;
}

const TABLE = "dbagpt_chat_probe";
let proxy: TestProxy;
let my: mysql.Connection;

async function chat(body: unknown): Promise<ChatReply> {
  const r = await proxy.post<ChatReply>("/api/chat", body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

function column(reply: ChatReply, name: string): unknown[] {
  const i = reply.columns?.indexOf(name) ?? -1;
  expect(i, `column ${name} in ${JSON.stringify(reply.columns)}`).toBeGreaterThanOrEqual(0);
  return (reply.rows ?? []).map((r) => r[i]);
}

beforeAll(async () => {
  psqlDirect(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id int PRIMARY KEY, note text)`);
  psqlDirect(`INSERT INTO ${TABLE} SELECT g, 'n' || g FROM generate_series(1, 7) g`);
  my = await mysql.createConnection(MYSQL_URL);
  await my.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await my.query(`CREATE TABLE ${TABLE} (id INT PRIMARY KEY, note VARCHAR(20)) ENGINE=InnoDB`);
  await my.query(`INSERT INTO ${TABLE} VALUES (1,'a'),(2,'b'),(3,'c')`);
  proxy = await startTestProxy(
    (c) => {
      c.chat.postgres.database = "test";
      c.chat.mysql.database = "test";
    },
    { mysql: true },
  );
});

afterAll(async () => {
  await proxy?.stop();
  psqlDirect(`DROP TABLE IF EXISTS ${TABLE}`);
  await my?.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await my?.end();
});

describe("POST /api/chat, database mode", () => {
  it("lists the real PostgreSQL tables", async () => {
    const r = await chat({
      mode: "database",
      protocol: "postgres",
      message: "show me all tables in my database",
    });
    expect(r).toMatchObject({ mode: "database", protocol: "postgres", source: "intent" });
    expect(r.refused).toBeUndefined();
    expect(r.sql).toMatch(/information_schema\.tables/);
    const direct = psqlDirect(
      "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'",
    ).split(",");
    const listed = column(r, "table_name");
    expect(listed).toContain(TABLE);
    for (const t of direct) expect(listed).toContain(t);
  });

  it("lists the real MariaDB tables", async () => {
    const r = await chat({
      mode: "database",
      protocol: "mysql",
      message: "show me all tables in my database",
    });
    expect(r).toMatchObject({ protocol: "mysql", source: "intent" });
    const [rows] = await my.query(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'test'",
    );
    const listed = column(r, "table_name");
    for (const row of rows as { t: string }[]) expect(listed).toContain(row.t);
    expect(listed).toContain(TABLE);
  });

  it("counts the rows of a named table in both dialects", async () => {
    const pg = await chat({
      mode: "database",
      protocol: "postgres",
      message: `how many records are in the ${TABLE} table?`,
    });
    expect(pg.sql).toBe(`SELECT count(*) AS row_count FROM "${TABLE}"`);
    expect(column(pg, "row_count")).toEqual(["7"]);
    const my2 = await chat({
      mode: "database",
      protocol: "mysql",
      message: `how many records are in the ${TABLE} table?`,
    });
    expect(my2.sql).toBe(`SELECT count(*) AS row_count FROM \`${TABLE}\``);
    expect(column(my2, "row_count").map(String)).toEqual(["3"]);
  });

  it("refuses 'drop table' and leaves the table in place", async () => {
    for (const protocol of ["postgres", "mysql"]) {
      const r = await chat({ mode: "database", protocol, message: `drop table ${TABLE}` });
      expect(r.refused).toBe(true);
      expect(r.answer).toMatch(/Refused: database mode runs read-only statements only/);
      expect(r.rows).toBeUndefined();
    }
    expect(psqlDirect(`SELECT count(*) FROM ${TABLE}`)).toBe("7");
    const [rows] = await my.query(`SELECT count(*) AS n FROM ${TABLE}`);
    expect((rows as { n: number }[])[0]?.n).toBe(3);
  });

  it("refuses side effects hidden in a SELECT, and the server's read-only session backs the check", async () => {
    const r = await chat({
      mode: "database",
      protocol: "postgres",
      message: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
    });
    expect(r.refused).toBe(true);
    expect(r.answer).toMatch(/pg_terminate_backend/);
    const sleep = await chat({ mode: "database", protocol: "mysql", message: "SELECT SLEEP(30)" });
    expect(sleep.refused).toBe(true);
    // a natural-language request to change data is refused without asking anyone for SQL
    const del = await chat({
      mode: "database",
      protocol: "postgres",
      message: "please delete all rows in users",
    });
    expect(del).toMatchObject({ refused: true });
    expect(del.sql).toBeUndefined();
  });

  it("runs typed SELECTs read-only with the row limit", async () => {
    const r = await chat({
      mode: "database",
      protocol: "postgres",
      message: "SELECT g FROM generate_series(1, 2000) g",
    });
    expect(r.rows).toHaveLength(500);
    expect(r).toMatchObject({ truncated: true });
    const m = await chat({
      mode: "database",
      protocol: "mysql",
      message: `SELECT id FROM ${TABLE} ORDER BY id`,
    });
    expect(r.refused).toBeUndefined();
    expect(m.rows?.map((x) => String(x[0]))).toEqual(["1", "2", "3"]);
  });

  it("every built-in intent runs without a server error on both upstreams", async () => {
    for (const protocol of ["postgres", "mysql"]) {
      const examples = INTENT_EXAMPLES.map((q) => q.replace(/\b(users|orders)\b/, TABLE));
      for (const message of [...examples, "show indexes", `describe the ${TABLE} table`]) {
        const r = await chat({ mode: "database", protocol, message });
        expect(r.error, `${protocol}: ${message}\n${r.sql}`).toBeUndefined();
        expect(r.refused, `${protocol}: ${message}`).toBeUndefined();
        expect(Array.isArray(r.columns), `${protocol}: ${message}`).toBe(true);
      }
    }
  });

  it("answers a question it cannot map with what it can do", async () => {
    const r = await chat({ mode: "database", protocol: "postgres", message: "tell me a joke" });
    expect(r.sql).toBeUndefined();
    expect(r.answer).toMatch(/show me all tables in my database/);
  });

  it("rejects a bad request with 400", async () => {
    expect((await proxy.post("/api/chat", { mode: "sql", message: "x" })).status).toBe(400);
    expect((await proxy.post("/api/chat", { mode: "database", message: "" })).status).toBe(400);
    expect(
      (await proxy.post("/api/chat", { mode: "database", protocol: "oracle", message: "x" })).status,
    ).toBe(400);
  });
});

describe("POST /api/chat, general mode", () => {
  it("explains a concept from the built-in list", async () => {
    const r = await chat({ mode: "general", message: "What is a deadlock and how do I avoid it?" });
    expect(r).toMatchObject({ mode: "general", source: "knowledge-base" });
    expect(r.answer).toMatch(/^Deadlocks/);
    expect(r.answer).toMatch(/same order/);
    const iso = await chat({ mode: "general", message: "explain isolation levels" });
    expect(iso.answer).toMatch(/SERIALIZABLE/);
  });

  it("explains an error the question names from the knowledge base", async () => {
    const r = await chat({ mode: "general", message: "what does 40P01 mean?" });
    expect(r.source).toBe("knowledge-base");
    expect(r.answer).toMatch(/40P01/);
    expect(r.answer).toMatch(/IMMEDIATE SOLUTION/);
    const m = await chat({
      mode: "general",
      message: "ERROR 1146 (42S02): Table 'shop.orders' doesn't exist",
    });
    expect(m.answer).toMatch(/1146/);
    expect(m.answer).toMatch(/orders/);
  });
});
