import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/types.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";
import { psqlDirect } from "../support/servers.js";

interface ProposalView {
  id: string;
  kind: string;
  status: string;
  sql: string;
  result: string | null;
  errorType: string;
}

async function query(p: TestProxy, sql: string): Promise<{ rows?: unknown[]; code?: string }> {
  const c = new pg.Client({ connectionString: p.pgUrl() });
  await c.connect();
  try {
    const r = await c.query(sql);
    return { rows: r.rows };
  } catch (e) {
    return { code: (e as { code?: string }).code };
  } finally {
    await c.end();
  }
}

function tableExists(name: string): boolean {
  return psqlDirect(`SELECT to_regclass('public.${name}') IS NOT NULL`) === "t";
}

let proxy: TestProxy | null = null;
const dirs: string[] = [];

afterEach(async () => {
  await proxy?.stop();
  proxy = null;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function withTemplate(table: string, ddl: string, mode: "apply" | "suggest") {
  return (c: Config) => {
    c.resolution.policy.TABLE_NOT_FOUND = mode;
    c.resolution.schemaTemplates.postgres = { [table]: ddl };
  };
}

describe("self-healing a missing table (PostgreSQL)", () => {
  it("with apply and a template, the third client succeeds and the table exists", async () => {
    psqlDirect("DROP TABLE IF EXISTS heal_orders");
    proxy = await startTestProxy(
      withTemplate("heal_orders", "CREATE TABLE heal_orders (id serial PRIMARY KEY, note text)", "apply"),
    );
    expect((await query(proxy, "SELECT count(*)::int AS n FROM heal_orders")).code).toBe("42P01");
    expect((await query(proxy, "SELECT count(*)::int AS n FROM heal_orders WHERE id > 1")).code).toBe(
      "42P01",
    );
    expect(tableExists("heal_orders")).toBe(false);
    // the second occurrence produced a preventive proposal
    const { proposals } = await proxy.get<{ proposals: ProposalView[] }>("/api/proposals");
    expect(proposals.some((p) => p.kind === "preventive-check" && p.errorType === "TABLE_NOT_FOUND")).toBe(
      true,
    );

    const third = await query(proxy, "SELECT count(*)::int AS n FROM heal_orders WHERE id > 2");
    expect(third.code).toBeUndefined();
    expect(third.rows).toEqual([{ n: 0 }]);
    expect(tableExists("heal_orders")).toBe(true);
    const { resolutions } = await proxy.get("/api/resolutions");
    expect(resolutions[0]).toMatchObject({
      errorType: "TABLE_NOT_FOUND",
      strategy: "SELF_HEALING",
      outcome: "succeeded",
    });
    const audit = readFileSync(join(proxy.stateDir, "audit.log"), "utf8");
    expect(audit).toContain("CREATE TABLE heal_orders");
  });

  it("with suggest, a proposal appears, and approving it creates the table", async () => {
    psqlDirect("DROP TABLE IF EXISTS heal_items");
    proxy = await startTestProxy(
      withTemplate("heal_items", "CREATE TABLE heal_items (id serial PRIMARY KEY)", "suggest"),
    );
    for (let i = 0; i < 3; i++)
      expect((await query(proxy, `SELECT * FROM heal_items WHERE id = ${i}`)).code).toBe("42P01");
    const p = await eventually(async () => {
      const { proposals } = await proxy!.get<{ proposals: ProposalView[] }>("/api/proposals?status=pending");
      return proposals.find((x) => x.kind === "create-table-from-template");
    }, "a create-table proposal");
    expect(p.sql).toBe("CREATE TABLE heal_items (id serial PRIMARY KEY)");
    expect(tableExists("heal_items")).toBe(false);
    const approved = await proxy.post(`/api/proposals/${p.id}/approve`, {});
    expect(approved.status).toBe(200);
    expect(approved.body.proposal.status).toBe("applied");
    expect(approved.body.proposal.result).toMatch(/CREATE/);
    // the approval counts as a resolution of the pattern
    const { resolutions } = await proxy.get("/api/resolutions");
    expect(resolutions[0]).toMatchObject({
      errorType: "TABLE_NOT_FOUND",
      strategy: "SELF_HEALING",
      outcome: "succeeded",
    });
    expect((await proxy.get("/api/stats")).totalResolutions).toBeGreaterThanOrEqual(1);
    expect(tableExists("heal_items")).toBe(true);
    // a decided proposal cannot run twice
    const again = await proxy.post(`/api/proposals/${p.id}/approve`, {});
    expect(again.status).toBe(409);
    expect((await query(proxy, "SELECT count(*)::int AS n FROM heal_items")).rows).toEqual([{ n: 0 }]);
  });

  it("a proposal whose SQL fails is recorded as failed and changes nothing; proposals survive a restart", async () => {
    psqlDirect("DROP TABLE IF EXISTS heal_bad");
    const dir = mkdtempSync(join(tmpdir(), "dba-gpt-heal-"));
    dirs.push(dir);
    const edit = withTemplate("heal_bad", "CREATE TABLE heal_bad (id int, id int)", "suggest");
    proxy = await startTestProxy(edit, { stateDir: dir });
    for (let i = 0; i < 3; i++) await query(proxy, "SELECT * FROM heal_bad");
    const p = await eventually(async () => {
      const { proposals } = await proxy!.get<{ proposals: ProposalView[] }>("/api/proposals?status=pending");
      return proposals.find((x) => x.kind === "create-table-from-template");
    }, "a proposal");
    const res = await proxy.post(`/api/proposals/${p.id}/approve`, {});
    expect(res.body.proposal.status).toBe("failed");
    expect(res.body.proposal.result).toMatch(/42701|specified more than once/);
    expect(tableExists("heal_bad")).toBe(false);
    const rejectMe = (await proxy.get<{ proposals: ProposalView[] }>("/api/proposals?status=pending"))
      .proposals[0];
    if (rejectMe) {
      const rejected = await proxy.post(`/api/proposals/${rejectMe.id}/reject`, {});
      expect(rejected.body.proposal.status).toBe("rejected");
    }
    await proxy.stop();
    proxy = await startTestProxy(edit, { stateDir: dir });
    const after = await proxy.get<{ proposals: ProposalView[] }>("/api/proposals");
    expect(after.proposals.find((x) => x.id === p.id)?.status).toBe("failed");
    const missing = await proxy.post("/api/proposals/nope/approve", {});
    expect(missing.status).toBe(404);
  });
});
