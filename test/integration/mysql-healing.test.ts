import { readFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/types.js";
import { directConnection } from "../support/mysql-setup.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";

interface ProposalView {
  id: string;
  kind: string;
  status: string;
  sql: string;
  result: string | null;
  errorType: string;
  protocol: string;
}

interface Resolution {
  protocol: string;
  errorType: string;
  strategy: string;
  outcome: string;
  reason: string;
}

let admin: mysql.Connection;
let proxy: TestProxy | null = null;

async function run(
  p: TestProxy,
  sql: string,
  prepared = false,
): Promise<{ rows?: mysql.RowDataPacket[]; errno?: number }> {
  const c = await mysql.createConnection({
    host: "127.0.0.1",
    port: p.mysqlPort,
    user: "root",
    database: "test",
  });
  try {
    const [rows] = prepared ? await c.execute(sql) : await c.query(sql);
    return { rows: rows as mysql.RowDataPacket[] };
  } catch (e) {
    return { errno: (e as { errno?: number }).errno };
  } finally {
    await c.end();
  }
}

async function tableExists(name: string): Promise<boolean> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'test' AND table_name = ?",
    [name],
  );
  return Number(rows[0]?.n) === 1;
}

function withTemplate(table: string, ddl: string, mode: "apply" | "suggest") {
  return (c: Config) => {
    c.resolution.policy.TABLE_NOT_FOUND = mode;
    c.resolution.schemaTemplates.mysql = { [table]: ddl };
  };
}

async function mysqlResolutions(p: TestProxy): Promise<Resolution[]> {
  const { resolutions } = await p.get<{ resolutions: Resolution[] }>("/api/resolutions?limit=100");
  return resolutions.filter((r) => r.protocol === "mysql");
}

const TABLES = ["heal_my_orders", "heal_my_prepared", "heal_my_items", "heal_my_bad"];

beforeAll(async () => {
  admin = await directConnection();
  for (const t of TABLES) await admin.query(`DROP TABLE IF EXISTS ${t}`);
  await admin.query("DROP EVENT IF EXISTS dbagpt_monitor_table_not_found");
});

afterEach(async () => {
  await proxy?.stop();
  proxy = null;
});

afterAll(async () => {
  for (const t of TABLES) await admin.query(`DROP TABLE IF EXISTS ${t}`);
  await admin.query("DROP EVENT IF EXISTS dbagpt_monitor_table_not_found");
  await admin.end();
});

describe("self-healing a missing table (MariaDB)", () => {
  it("with apply and a template, the third client succeeds and the table exists", async () => {
    proxy = await startTestProxy(
      withTemplate("heal_my_orders", "CREATE TABLE heal_my_orders (id int PRIMARY KEY, note text)", "apply"),
      { mysql: true },
    );
    expect((await run(proxy, "SELECT count(*) AS n FROM heal_my_orders")).errno).toBe(1146);
    expect((await run(proxy, "SELECT count(*) AS n FROM heal_my_orders WHERE id > 1")).errno).toBe(1146);
    expect(await tableExists("heal_my_orders")).toBe(false);
    // the second occurrence produced the MySQL EVENT preventive proposal
    const { proposals } = await proxy.get<{ proposals: ProposalView[] }>("/api/proposals");
    const preventive = proposals.find((x) => x.kind === "preventive-monitoring" && x.protocol === "mysql");
    expect(preventive?.sql).toContain("CREATE EVENT");

    const third = await run(proxy, "SELECT count(*) AS n FROM heal_my_orders WHERE id > 2");
    expect(third.errno).toBeUndefined();
    expect(Number(third.rows?.[0]?.n)).toBe(0);
    expect(await tableExists("heal_my_orders")).toBe(true);
    const [r] = await mysqlResolutions(proxy);
    expect(r).toMatchObject({ errorType: "TABLE_NOT_FOUND", strategy: "SELF_HEALING", outcome: "succeeded" });
    const audit = readFileSync(join(proxy.stateDir, "audit.log"), "utf8");
    expect(audit).toContain("CREATE TABLE heal_my_orders");
  });

  it("heals a prepared statement (mysql2 execute) too: the prepare is re-sent after the DDL", async () => {
    proxy = await startTestProxy(
      withTemplate("heal_my_prepared", "CREATE TABLE heal_my_prepared (id int PRIMARY KEY)", "apply"),
      { mysql: true },
    );
    for (let i = 0; i < 2; i++)
      expect((await run(proxy, `SELECT id FROM heal_my_prepared WHERE id = ${i}`, true)).errno).toBe(1146);
    const third = await run(proxy, "SELECT id FROM heal_my_prepared WHERE id = 3", true);
    expect(third.errno).toBeUndefined();
    expect(third.rows).toEqual([]);
    expect(await tableExists("heal_my_prepared")).toBe(true);
  });

  it("when the template fails, the client gets the original 1146 and the heal is recorded failed", async () => {
    proxy = await startTestProxy(
      withTemplate("heal_my_bad", "CREATE TABLE heal_my_bad (id int, id int)", "apply"),
      {
        mysql: true,
      },
    );
    for (let i = 0; i < 3; i++) expect((await run(proxy, "SELECT * FROM heal_my_bad")).errno).toBe(1146);
    expect(await tableExists("heal_my_bad")).toBe(false);
    const [r] = await mysqlResolutions(proxy);
    expect(r).toMatchObject({ errorType: "TABLE_NOT_FOUND", strategy: "SELF_HEALING", outcome: "failed" });
    expect(r?.reason).toMatch(/Duplicate column/);
  });

  it("with suggest, proposals appear; approving the EVENT proposal creates the event, the table one the table", async () => {
    proxy = await startTestProxy(
      withTemplate("heal_my_items", "CREATE TABLE heal_my_items (id int PRIMARY KEY)", "suggest"),
      { mysql: true },
    );
    for (let i = 0; i < 3; i++)
      expect((await run(proxy, `SELECT * FROM heal_my_items WHERE id = ${i}`)).errno).toBe(1146);
    const pending = async () =>
      (await proxy!.get<{ proposals: ProposalView[] }>("/api/proposals?status=pending")).proposals;
    const table = await eventually(
      async () => (await pending()).find((x) => x.kind === "create-table-from-template"),
      "a create-table proposal",
    );
    expect(table.sql).toBe("CREATE TABLE heal_my_items (id int PRIMARY KEY)");
    expect(await tableExists("heal_my_items")).toBe(false);
    const event = (await pending()).find((x) => x.kind === "preventive-monitoring");
    expect(event).toBeDefined();

    const approvedEvent = await proxy.post(`/api/proposals/${event!.id}/approve`, {});
    expect(approvedEvent.body.proposal.status).toBe("applied");
    const [events] = await admin.query<mysql.RowDataPacket[]>("SHOW EVENTS FROM test");
    expect(events.map((e) => e.Name)).toContain("dbagpt_monitor_table_not_found");

    const approvedTable = await proxy.post(`/api/proposals/${table.id}/approve`, {});
    expect(approvedTable.body.proposal.status).toBe("applied");
    expect(await tableExists("heal_my_items")).toBe(true);
    expect((await run(proxy, "SELECT count(*) AS n FROM heal_my_items")).errno).toBeUndefined();
  });
});
