import net from "node:net";
import { Readable } from "node:stream";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLIENT_COMPRESS,
  CLIENT_SSL,
  MARIADB_CLIENT_CACHE_METADATA,
  MARIADB_CLIENT_PROGRESS,
} from "../../protocol/mysql/constants.js";
import { decodeHandshakeV10 } from "../../protocol/mysql/handshake.js";
import {
  ED25519_USER,
  NATIVE_USER,
  directConnection,
  dropEd25519User,
  setupMysqlUsers,
} from "../support/mysql-setup.js";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";
import { runCommand } from "../support/servers.js";

let proxy: TestProxy;

async function connect(opts: Partial<mysql.ConnectionOptions> = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: "127.0.0.1",
    port: proxy.mysqlPort,
    user: "root",
    database: "test",
    connectAttributes: { program_name: "relay-test" },
    ...opts,
  });
}

/** The mariadb CLI through the proxy (spawned asynchronously: the proxy runs in this process). */
function mariadbCli(args: string[], input?: string) {
  return runCommand("mariadb", ["-h", "127.0.0.1", "-P", String(proxy.mysqlPort), "--batch", ...args], {
    input,
  });
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${proxy.admin}/metrics`)).text();
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) && line.includes('protocol="mysql"'))
      return Number(line.split(" ").pop());
  }
  return 0;
}

beforeAll(async () => {
  await setupMysqlUsers({ ed25519: true });
  const c = await directConnection({ multipleStatements: true });
  await c.query(`DROP TABLE IF EXISTS relay_items, relay_infile;
    CREATE TABLE relay_items (id int PRIMARY KEY, note varchar(100));
    CREATE TABLE relay_infile (id int PRIMARY KEY, name varchar(50));
    DROP PROCEDURE IF EXISTS relay_two_results;
    CREATE PROCEDURE relay_two_results() BEGIN SELECT 1 AS a; SELECT 'x' AS b, 2 AS c; END`);
  await c.end();
  proxy = await startTestProxy(() => {}, { mysql: true });
});

afterAll(async () => {
  await proxy?.stop();
  await dropEd25519User();
});

describe("MySQL relay through the proxy", () => {
  it("answers text queries and prepared statements, and counts them", async () => {
    const before = await metric("dbagpt_queries_total");
    const c = await connect();
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT 1 AS one, 'two' AS two");
      expect(rows).toEqual([{ one: 1, two: "two" }]);
      await c.query("DELETE FROM relay_items");
      for (let i = 1; i <= 5; i++) {
        await c.execute("INSERT INTO relay_items VALUES (?, ?)", [i, `n${i}`]);
      }
      const [counted] = await c.execute<mysql.RowDataPacket[]>(
        "SELECT count(*) AS n FROM relay_items WHERE id > ?",
        [2],
      );
      expect(Number(counted[0]?.n)).toBe(3);
    } finally {
      await c.end();
    }
    // 2 COM_QUERY + 6 COM_STMT_EXECUTE at least
    expect(await metric("dbagpt_queries_total")).toBeGreaterThanOrEqual(before + 8);
  });

  it("relays multi-statements and the two result sets of a stored procedure", async () => {
    const c = await connect({ multipleStatements: true });
    try {
      const [multi] = await c.query<mysql.RowDataPacket[][]>("SELECT 1 AS a; SELECT 2 AS b; SELECT 3 AS c");
      expect(multi).toEqual([[{ a: 1 }], [{ b: 2 }], [{ c: 3 }]]);
      const [proc] = await c.query<mysql.RowDataPacket[][]>("CALL relay_two_results()");
      expect(proc[0]).toEqual([{ a: 1 }]);
      expect(proc[1]).toEqual([{ b: "x", c: 2 }]);
      // the connection goes on after the multi-result response
      const [after] = await c.query<mysql.RowDataPacket[]>("SELECT 42 AS answer");
      expect(after[0]?.answer).toBe(42);
    } finally {
      await c.end();
    }
  });

  it("relays LOAD DATA LOCAL INFILE (client file packets, then the empty one)", async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `${i + 1}\tname-${i + 1}\n`).join("");
    const c = await connect({
      infileStreamFactory: () => Readable.from([Buffer.from(lines)]),
    });
    try {
      await c.query("DELETE FROM relay_infile");
      const [res] = await c.query<mysql.ResultSetHeader>(
        "LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE relay_infile (id, name)",
      );
      expect(res.affectedRows).toBe(2000);
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        "SELECT count(*) AS n, max(name) AS top FROM relay_infile",
      );
      expect(Number(rows[0]?.n)).toBe(2000);
    } finally {
      await c.end();
    }
  });

  it("streams a 50 MB result intact", async () => {
    const c = await connect();
    try {
      // 50 rows of 1 MiB each
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        "SELECT seq AS n, REPEAT(CHAR(65 + seq % 26 USING ascii), 1048576) AS blob_col FROM seq_1_to_50",
      );
      expect(rows).toHaveLength(50);
      let total = 0;
      for (const r of rows) {
        const s = r.blob_col as string;
        total += s.length;
        expect(s[0]).toBe(String.fromCharCode(65 + (Number(r.n) % 26)));
      }
      expect(total).toBe(50 * 1048576);
      const [after] = await c.query<mysql.RowDataPacket[]>("SELECT 'still here' AS s");
      expect(after[0]?.s).toBe("still here");
    } finally {
      await c.end();
    }
  });

  it("follows COM_CHANGE_USER: new user and database show up on the next error event", async () => {
    const c = await connect();
    try {
      await c.changeUser({ user: NATIVE_USER.user, password: NATIVE_USER.password, database: "test" });
      const [who] = await c.query<mysql.RowDataPacket[]>("SELECT CURRENT_USER() AS u");
      expect(String(who[0]?.u)).toMatch(new RegExp(`^${NATIVE_USER.user}@`));
      await expect(c.query("SELECT * FROM relay_after_change_user_missing")).rejects.toMatchObject({
        errno: 1146,
      });
    } finally {
      await c.end();
    }
    const ev = await eventually(async () => {
      const { errors } = await proxy.get<{
        errors: { message: string; user: string; application: string }[];
      }>("/api/errors?limit=100");
      return errors.find((e) => e.message.includes("relay_after_change_user_missing"));
    }, "the 1146 after change user");
    expect(ev.user).toBe(NATIVE_USER.user);
    expect(ev.application).toBe("relay-test");
  });

  it("logs in a mysql_native_password user (mysql2) and an ed25519 user (mariadb CLI)", async () => {
    const c = await connect({ user: NATIVE_USER.user, password: NATIVE_USER.password });
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT 5 AS five");
      expect(rows[0]?.five).toBe(5);
    } finally {
      await c.end();
    }
    // mysql2 has no ed25519 client plugin; the mariadb CLI (libmariadb client_ed25519) has
    const r = await mariadbCli([
      "-u",
      ED25519_USER.user,
      `-p${ED25519_USER.password}`,
      "test",
      "-e",
      "SELECT CONCAT('ed', 25519) AS plugin_ok",
    ]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("ed25519");
    // a wrong ed25519 password is relayed as the server's 1045
    const bad = await mariadbCli(["-u", ED25519_USER.user, "-pwrong", "test", "-e", "SELECT 1"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("1045");
  });

  it("keeps a libmariadb client's prepared statements in step (sysbench oltp_point_select)", async () => {
    const common = [
      "--db-driver=mysql",
      "--mysql-host=127.0.0.1",
      "--mysql-user=root",
      "--mysql-db=test",
      "--mysql-ssl=off",
      "--tables=1",
      "--table-size=200",
    ];
    const prep = await runCommand("sysbench", [
      "oltp_point_select",
      ...common,
      "--mysql-port=3306",
      "prepare",
    ]);
    expect(prep.status, prep.stderr).toBe(0);
    try {
      const r = await runCommand("sysbench", [
        "oltp_point_select",
        ...common,
        `--mysql-port=${proxy.mysqlPort}`,
        "--db-ps-mode=auto",
        "--threads=2",
        "--events=2000",
        "--time=0",
        "run",
      ]);
      expect(r.stdout + r.stderr).not.toContain("FATAL");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/queries:\s+2000\b/);
    } finally {
      await runCommand("sysbench", ["oltp_point_select", ...common, "--mysql-port=3306", "cleanup"]);
    }
  });

  it("runs the mariadb CLI through the proxy, including its own error output", async () => {
    const r = await mariadbCli(
      ["-u", "root", "test"],
      "SELECT 6 * 7 AS answer;\nUSE mysql;\nSELECT DATABASE();\n",
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("42");
    expect(r.stdout).toContain("mysql");
    const e = await mariadbCli(["-u", "root", "test", "-e", "SELECT * FROM relay_cli_missing_table"]);
    expect(e.status).toBe(1);
    expect(e.stderr).toContain("ERROR 1146");
  });
});

describe("TLS and compression are declined", () => {
  it("the greeting through the proxy never offers CLIENT_SSL or CLIENT_COMPRESS", async () => {
    // a stand-in upstream that offers both
    const stub = net.createServer((s) => {
      const payload = Buffer.alloc(128);
      let o = 0;
      payload[o++] = 10;
      o += payload.write("10.11.99-MariaDB-stub\0", o, "latin1");
      payload.writeUInt32LE(7, o);
      o += 4;
      o += payload.write("abcdefgh", o, "latin1");
      payload[o++] = 0;
      const caps = 0xffff & ~1; // everything in the low word (SSL and COMPRESS included), MariaDB
      payload.writeUInt16LE(caps, o);
      o += 2;
      payload[o++] = 45;
      payload.writeUInt16LE(2, o);
      o += 2;
      payload.writeUInt16LE((1 << 3) | (1 << 4), o); // PLUGIN_AUTH | CONNECT_ATTRS (bits 19, 20)
      o += 2;
      payload[o++] = 21;
      o += 6;
      payload.writeUInt32LE(0x1f, o); // MariaDB extended: PROGRESS ... CACHE_METADATA (bits 32..36)
      o += 4;
      o += payload.write("ijklmnopqrst\0", o, "latin1");
      o += payload.write("mysql_native_password\0", o, "latin1");
      const pkt = Buffer.alloc(4 + o);
      pkt.writeUIntLE(o, 0, 3);
      pkt[3] = 0;
      payload.copy(pkt, 4, 0, o);
      s.end(pkt);
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", r));
    const stubProxy = await startTestProxy(
      (cfg) => {
        cfg.upstream.mysql = { host: "127.0.0.1", port: (stub.address() as net.AddressInfo).port };
      },
      { mysql: true },
    );
    try {
      const sock = net.connect(stubProxy.mysqlPort, "127.0.0.1");
      const chunks: Buffer[] = [];
      sock.on("data", (d) => chunks.push(d));
      await new Promise<void>((r) => sock.on("close", () => r()));
      const all = Buffer.concat(chunks);
      const hs = decodeHandshakeV10(all, 4, 4 + all.readUIntLE(0, 3));
      expect(hs.serverVersion).toBe("10.11.99-MariaDB-stub");
      expect(hs.capabilities & CLIENT_SSL).toBe(0n);
      expect(hs.capabilities & CLIENT_COMPRESS).toBe(0n);
      // metadata caching and progress reports stay on offer (the tracker follows both)
      expect(hs.capabilities & MARIADB_CLIENT_CACHE_METADATA).toBe(MARIADB_CLIENT_CACHE_METADATA);
      expect(hs.capabilities & MARIADB_CLIENT_PROGRESS).toBe(MARIADB_CLIENT_PROGRESS);
      expect(hs.authPluginName).toBe("mysql_native_password");
    } finally {
      await stubProxy.stop();
      stub.close();
    }
  });

  it("a client that requires TLS fails clearly; the default falls back to plain text", async () => {
    const strict = await mariadbCli(["-u", "root", "--ssl", "--ssl-verify-server-cert", "-e", "SELECT 1"]);
    expect(strict.status).not.toBe(0);
    expect(strict.stderr).toMatch(/SSL is required, but the server does not support it/);
    const fallback = await mariadbCli(["-u", "root", "-e", "SELECT 'plain' AS t"]);
    expect(fallback.status).toBe(0);
    expect(fallback.stdout).toContain("plain");
    // mysql2 asked for TLS: refused with its own clear message, not a hang
    await expect(connect({ ssl: {} })).rejects.toThrow(/secure connection/i);
  });
});
