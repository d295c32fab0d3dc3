import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCancelRequest } from "../../protocol/postgres/encode.js";
import { MD5_USER, SCRAM_USER } from "../support/global-setup.js";
import { startTestProxy, type TestProxy } from "../support/proxy.js";
import { psqlDirect, runCommand } from "../support/servers.js";

let proxy: TestProxy;

async function connect(url = proxy.pgUrl()): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: "relay-test" });
  await c.connect();
  return c;
}

/** psql through the proxy (asynchronously: the proxy runs in this process). */
async function psql(args: string[], input?: string): Promise<string> {
  const r = await runCommand("psql", [proxy.pgUrl(), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", ...args], {
    input,
  });
  if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  psqlDirect("DROP TABLE IF EXISTS relay_items; CREATE TABLE relay_items (id int PRIMARY KEY, note text)");
  proxy = await startTestProxy();
});

afterAll(async () => {
  await proxy.stop();
});

describe("PostgreSQL relay through the proxy", () => {
  it("answers simple and extended queries, and named prepared statements", async () => {
    const c = await connect();
    try {
      const simple = await c.query("SELECT 1 AS one, 'two' AS two");
      expect(simple.rows).toEqual([{ one: 1, two: "two" }]);
      const extended = await c.query("SELECT $1::int + $2::int AS sum", [20, 22]);
      expect(extended.rows[0].sum).toBe(42);
      await c.query("DELETE FROM relay_items");
      for (let i = 1; i <= 5; i++) {
        await c.query({ name: "ins", text: "INSERT INTO relay_items VALUES ($1, $2)", values: [i, `n${i}`] });
      }
      const named = await c.query({
        name: "cnt",
        text: "SELECT count(*)::int AS n FROM relay_items WHERE id > $1",
        values: [2],
      });
      expect(named.rows[0].n).toBe(3);
      const again = await c.query({
        name: "cnt",
        text: "SELECT count(*)::int AS n FROM relay_items WHERE id > $1",
        values: [0],
      });
      expect(again.rows[0].n).toBe(5);
    } finally {
      await c.end();
    }
  });

  it("works with psql, including COPY in and out", async () => {
    expect((await psql(["-c", "SELECT 40 + 2"])).trim()).toBe("42");
    await psql(["-c", "DELETE FROM relay_items"]);
    const rows = Array.from({ length: 1000 }, (_, i) => `${i + 1}\tcopied ${i + 1}`).join("\n");
    await psql(["-c", "COPY relay_items FROM STDIN"], `${rows}\n\\.\n`);
    expect(psqlDirect("SELECT count(*) FROM relay_items")).toBe("1000");
    const out = await psql(["-c", "COPY (SELECT id, note FROM relay_items ORDER BY id) TO STDOUT"]);
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(1000);
    expect(lines[999]).toBe("1000\tcopied 1000");
  });

  it("relays LISTEN/NOTIFY between two clients", async () => {
    const listener = await connect();
    const notifier = await connect();
    try {
      await listener.query("LISTEN relay_channel");
      const got = new Promise<pg.Notification>((resolve) => listener.once("notification", resolve));
      await notifier.query("NOTIFY relay_channel, 'hello through the proxy'");
      const n = await got;
      expect(n.channel).toBe("relay_channel");
      expect(n.payload).toBe("hello through the proxy");
    } finally {
      await listener.end();
      await notifier.end();
    }
  });

  it("forwards a CancelRequest so a pg_sleep is cancelled and recorded as QUERY_TIMEOUT", async () => {
    const c = await connect();
    try {
      const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
      const sleeping = c.query("SELECT pg_sleep(30)").then(
        () => null,
        (e: { code?: string }) => e,
      );
      // wait until the server really runs the statement, then cancel it through the proxy
      for (let i = 0; i < 200; i++) {
        const active = psqlDirect(
          `SELECT count(*) FROM pg_stat_activity WHERE pid = ${processID} AND state = 'active'`,
        );
        if (active === "1") break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise<void>((resolve, reject) => {
        const s = net.connect(proxy.pgPort, "127.0.0.1", () =>
          s.end(encodeCancelRequest(processID, secretKey)),
        );
        s.on("close", () => resolve());
        s.on("error", reject);
      });
      const err = await sleeping;
      expect(err?.code).toBe("57014");
      const { errors } = await proxy.get("/api/errors?limit=20");
      expect(
        errors.some(
          (e: { code: string; errorType: string }) => e.code === "57014" && e.errorType === "QUERY_TIMEOUT",
        ),
      ).toBe(true);
    } finally {
      await c.end();
    }
  });

  it("streams a 50 MB result intact", async () => {
    const c = await connect();
    try {
      const res = await c.query(
        "SELECT i, repeat(chr(65 + i % 26), 1048576) AS blob FROM generate_series(0, 49) AS i",
      );
      expect(res.rows).toHaveLength(50);
      let total = 0;
      for (const row of res.rows) {
        expect(row.blob).toBe(String.fromCharCode(65 + (row.i % 26)).repeat(1048576));
        total += row.blob.length;
      }
      expect(total).toBe(50 * 1048576);
    } finally {
      await c.end();
    }
  });

  it("lets md5 and SCRAM-SHA-256 users authenticate through it untouched", async () => {
    for (const u of [MD5_USER, SCRAM_USER]) {
      const c = await connect(proxy.pgUrl(u.user, u.password));
      const r = await c.query("SELECT current_user AS who");
      expect(r.rows[0].who).toBe(u.user);
      await c.end();
    }
    // psql with a SCRAM password through the proxy as well
    const out = await runCommand(
      "psql",
      [proxy.pgUrl(SCRAM_USER.user), "-X", "-A", "-t", "-c", "SELECT current_user"],
      {
        env: { ...process.env, PGPASSWORD: SCRAM_USER.password },
      },
    );
    expect(out.stdout.trim()).toBe(SCRAM_USER.user);
  });

  it("declines TLS with N so sslmode=prefer falls back to plain text", async () => {
    const sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    const r = await runCommand("psql", [`${proxy.pgUrl()}?sslmode=prefer`, "-X", "-A", "-t", "-c", sql]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe("f");
    const required = await runCommand("psql", [`${proxy.pgUrl()}?sslmode=require`, "-X", "-c", "SELECT 1"]);
    expect(required.status).not.toBe(0);
    expect(required.stderr).toMatch(/SSL/i);
  });
});
