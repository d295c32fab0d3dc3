import mysql from "mysql2/promise";
import { afterEach, describe, expect, it } from "vitest";
import { startTestProxy, type TestProxy } from "../support/proxy.js";
import { mysqlEndpoint } from "../support/servers.js";

let proxy: TestProxy | null = null;

afterEach(async () => {
  await proxy?.stop();
  proxy = null;
});

async function failure(
  port: number,
  sql: string,
): Promise<{ errno?: number; sqlState?: string; sqlMessage?: string }> {
  const c = await mysql.createConnection({ host: "127.0.0.1", port, user: "root", database: "test" });
  try {
    await c.query(sql);
    return {};
  } catch (e) {
    return e as { errno?: number; sqlState?: string; sqlMessage?: string };
  } finally {
    await c.end();
  }
}

describe("ai.annotateErrors (MySQL)", () => {
  it("on: the ERR message gains a short DBA-GPT suffix and mysql2 still parses code and SQLSTATE", async () => {
    proxy = await startTestProxy(
      (c) => {
        c.ai.annotateErrors = true;
      },
      { mysql: true },
    );
    const e = await failure(proxy.mysqlPort, "SELECT * FROM annotate_missing_orders");
    expect(e.errno).toBe(1146);
    expect(e.sqlState).toBe("42S02");
    expect(e.sqlMessage).toMatch(/^Table 'test\.annotate_missing_orders' doesn't exist \[DBA-GPT: .+\]$/);
  });

  it("off (the default): the message is the server's own", async () => {
    proxy = await startTestProxy(() => {}, { mysql: true });
    const direct = await failure(mysqlEndpoint().port, "SELECT * FROM annotate_missing_items");
    const proxied = await failure(proxy.mysqlPort, "SELECT * FROM annotate_missing_items");
    expect(proxied).toMatchObject({
      errno: direct.errno,
      sqlState: direct.sqlState,
      sqlMessage: direct.sqlMessage,
    });
  });
});
