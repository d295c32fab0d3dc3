import net from "node:net";
import mysql from "mysql2/promise";
import { afterEach, describe, expect, it } from "vitest";
import {
  CLIENT_CONNECT_WITH_DB,
  CLIENT_LONG_PASSWORD,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PROTOCOL_41,
  CLIENT_SECURE_CONNECTION,
  CLIENT_TRANSACTIONS,
} from "../../protocol/mysql/constants.js";
import { encodeHandshakeV10 } from "../../protocol/mysql/handshake.js";
import { encodeOk, encodePacket } from "../../protocol/mysql/packets.js";
import { directConnection } from "../support/mysql-setup.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";

interface ApiError {
  code: string;
  errorType: string;
  statementDigest: string | null;
  user: string | null;
}

let proxy: TestProxy | null = null;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await proxy?.stop();
  proxy = null;
});

function connect(p: TestProxy, opts: Partial<mysql.ConnectionOptions> = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: "127.0.0.1",
    port: p.mysqlPort,
    user: "root",
    database: "test",
    ...opts,
  });
}

describe("MySQL session endings", () => {
  it("drain closes idle sessions at once and lets a statement in flight finish", async () => {
    const p = await startTestProxy(() => {}, { mysql: true });
    const idle = await connect(p);
    const busy = await connect(p);
    idle.on("error", () => {});
    busy.on("error", () => {});
    const idleClosed = new Promise<void>((r) => idle.connection.stream.on("close", () => r()));
    const running = busy.query<mysql.RowDataPacket[]>("SELECT SLEEP(0.5) AS s, 'finished' AS outcome");
    // the statement is on its way before the drain starts
    await eventually(async () => {
      const admin = await directConnection();
      try {
        const [rows] = await admin.query<mysql.RowDataPacket[]>(
          "SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(0.5)%'",
        );
        return Number(rows[0]?.n) === 1;
      } finally {
        await admin.end();
      }
    }, "the sleeping statement on the server");
    const stopped = p.stop();
    await idleClosed;
    const [rows] = await running;
    expect(rows[0]?.outcome).toBe("finished");
    await stopped;
    await expect(busy.query("SELECT 1")).rejects.toThrow();
    busy.destroy();
    idle.destroy();
  });

  it("a server-side KILL of an idle connection is recorded as a lost upstream and closes the client", async () => {
    proxy = await startTestProxy(() => {}, { mysql: true });
    const c = await connect(proxy);
    c.on("error", () => {});
    cleanups.push(() => c.destroy());
    const closed = new Promise<void>((r) => c.connection.stream.on("close", () => r()));
    const [[row]] = await c.query<mysql.RowDataPacket[]>("SELECT CONNECTION_ID() AS id");
    const admin = await directConnection();
    try {
      await admin.query(`KILL CONNECTION ${Number(row?.id)}`);
    } finally {
      await admin.end();
    }
    await closed;
    const p = proxy;
    const ev = await eventually(async () => {
      const { errors } = await p.get<{ errors: ApiError[] }>("/api/errors?limit=20");
      return errors.find((e) => e.code === "PROXY_UPSTREAM_LOST");
    }, "PROXY_UPSTREAM_LOST");
    expect(ev.errorType).toBe("CONNECTION_ERROR");
    expect(ev.user).toBe("root");
  });

  it("an upstream lost in the middle of a command gives the client ERR 1053 from dba-gpt", async () => {
    // a stand-in upstream: logs anyone in, then drops the connection on the first command
    const caps =
      CLIENT_LONG_PASSWORD |
      CLIENT_PROTOCOL_41 |
      CLIENT_SECURE_CONNECTION |
      CLIENT_PLUGIN_AUTH |
      CLIENT_CONNECT_WITH_DB |
      CLIENT_TRANSACTIONS;
    const stub = net.createServer((s) => {
      s.on("error", () => {});
      s.write(
        encodePacket(
          encodeHandshakeV10({
            protocolVersion: 10,
            serverVersion: "10.11.99-MariaDB-stub",
            connectionId: 3,
            authPluginData: Buffer.from("abcdefghijklmnopqrst"),
            capabilities: caps,
            charset: 45,
            statusFlags: 2,
            authPluginName: "mysql_native_password",
            authPluginDataLength: 21,
          }),
          0,
        ),
      );
      let loggedIn = false;
      s.on("data", () => {
        if (!loggedIn) {
          loggedIn = true;
          s.write(encodeOk({ statusFlags: 2 }, 2));
        } else s.destroy();
      });
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", r));
    cleanups.push(() => {
      stub.close();
    });
    proxy = await startTestProxy(
      (cfg) => {
        cfg.upstream.mysql = { host: "127.0.0.1", port: (stub.address() as net.AddressInfo).port };
      },
      { mysql: true },
    );
    const c = await connect(proxy);
    c.on("error", () => {});
    cleanups.push(() => c.destroy());
    const err = await c.query("SELECT * FROM orders WHERE id = 42").then(
      () => null,
      (e: { errno?: number; sqlState?: string; message: string }) => e,
    );
    expect(err?.errno).toBe(1053);
    expect(err?.sqlState).toBe("08S01");
    expect(err?.message).toContain("dba-gpt");
    const { errors } = await proxy.get<{ errors: ApiError[] }>("/api/errors");
    expect(errors[0]?.code).toBe("PROXY_UPSTREAM_LOST");
    expect(errors[0]?.statementDigest).toContain("orders");
  });
});
