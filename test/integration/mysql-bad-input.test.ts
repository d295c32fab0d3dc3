import net from "node:net";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLIENT_CONNECT_WITH_DB,
  CLIENT_LONG_PASSWORD,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PROTOCOL_41,
  CLIENT_SECURE_CONNECTION,
  CLIENT_SSL,
  CLIENT_TRANSACTIONS,
  COM_QUERY,
} from "../../protocol/mysql/constants.js";
import { encodeHandshakeResponse41, encodeHandshakeV10 } from "../../protocol/mysql/handshake.js";
import { decodeErr, encodeOk, encodePacket } from "../../protocol/mysql/packets.js";
import { startTestProxy, type TestProxy } from "../support/proxy.js";

let proxy: TestProxy;
let bystander: mysql.Connection;

const CAPS =
  CLIENT_LONG_PASSWORD |
  CLIENT_PROTOCOL_41 |
  CLIENT_SECURE_CONNECTION |
  CLIENT_PLUGIN_AUTH |
  CLIENT_CONNECT_WITH_DB |
  CLIENT_TRANSACTIONS;

/** A raw client socket that splits what it receives into MySQL packets. */
class RawClient {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.socket.on("close", () => {
        for (const w of this.waiters.splice(0)) w();
        resolve();
      }),
    );
  }

  /** The next packet's payload and sequence id, or null once the connection has closed. */
  async packet(): Promise<{ seq: number; payload: Buffer } | null> {
    for (;;) {
      if (this.buf.length >= 4) {
        const len = this.buf.readUIntLE(0, 3);
        if (this.buf.length >= 4 + len) {
          const seq = this.buf[3] as number;
          const payload = this.buf.subarray(4, 4 + len);
          this.buf = this.buf.subarray(4 + len);
          return { seq, payload };
        }
      }
      if (this.socket.destroyed || this.socket.readableEnded) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Read the greeting and log in as root (no password) on the test database. */
  async login(): Promise<void> {
    const greeting = await this.packet();
    expect(greeting?.payload[0]).toBe(10);
    this.socket.write(
      encodePacket(
        encodeHandshakeResponse41({
          capabilities: CAPS,
          maxPacketSize: 1 << 24,
          charset: 45,
          isSslRequest: false,
          user: "root",
          authResponse: Buffer.alloc(0),
          database: "test",
          authPluginName: "mysql_native_password",
          attributes: {},
        }),
        1,
      ),
    );
    const ok = await this.packet();
    expect(ok?.payload[0], "login OK").toBe(0);
  }
}

async function protocolErrorCount(): Promise<number> {
  const text = await (await fetch(`${proxy.admin}/metrics`)).text();
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("dbagpt_protocol_errors_total{") && line.includes('protocol="mysql"')) {
      n += Number(line.split(" ").pop());
    }
  }
  return n;
}

async function bystanderStillWorks(): Promise<void> {
  const [rows] = await bystander.query<mysql.RowDataPacket[]>("SELECT 7 * 6 AS answer");
  expect(rows[0]?.answer).toBe(42);
}

beforeAll(async () => {
  proxy = await startTestProxy(() => {}, { mysql: true });
  bystander = await mysql.createConnection({
    host: "127.0.0.1",
    port: proxy.mysqlPort,
    user: "root",
    database: "test",
  });
});

afterAll(async () => {
  await bystander?.end();
  await proxy?.stop();
});

describe("hostile bytes from one MySQL client", () => {
  it("a garbage handshake response closes only that client, with an ERR, counted", async () => {
    const before = await protocolErrorCount();
    const c = new RawClient(proxy.mysqlPort);
    expect((await c.packet())?.payload[0]).toBe(10);
    // a well-framed packet whose body is not a HandshakeResponse41 (no CLIENT_PROTOCOL_41)
    c.socket.write(encodePacket(Buffer.from("not a handshake response"), 1));
    const err = await c.packet();
    const payload = err?.payload ?? Buffer.alloc(0);
    expect(payload[0]).toBe(0xff);
    const e = decodeErr(payload, 0, payload.length);
    expect(e.code).toBe(1047);
    expect(e.sqlstate).toBe("08S01");
    expect(err?.seq).toBe(2);
    await c.closed;
    expect(await protocolErrorCount()).toBe(before + 1);
    await bystanderStillWorks();
  });

  it("plain text instead of a handshake response (an absurd packet length) is refused at once", async () => {
    const before = await protocolErrorCount();
    const c = new RawClient(proxy.mysqlPort);
    await c.packet();
    c.socket.write("GET / HTTP/1.1\r\nHost: example\r\n\r\n");
    const err = await c.packet();
    expect(err?.payload[0]).toBe(0xff);
    await c.closed;
    expect(await protocolErrorCount()).toBe(before + 1);
    await bystanderStillWorks();
  });

  it("an SSLRequest is refused with a clear ERR (TLS is declined), counted", async () => {
    const before = await protocolErrorCount();
    const c = new RawClient(proxy.mysqlPort);
    await c.packet();
    c.socket.write(
      encodePacket(
        encodeHandshakeResponse41({
          capabilities: CAPS | CLIENT_SSL,
          maxPacketSize: 1 << 24,
          charset: 45,
          isSslRequest: true,
          user: "",
          authResponse: Buffer.alloc(0),
          attributes: {},
        }),
        1,
      ),
    );
    const err = await c.packet();
    const payload = err?.payload as Buffer;
    expect(payload[0]).toBe(0xff);
    expect(decodeErr(payload, 0, payload.length).message).toMatch(/TLS/);
    await c.closed;
    expect(await protocolErrorCount()).toBe(before + 1);
    await bystanderStillWorks();
  });

  it("a truncated packet then close is counted and harms no one", async () => {
    const before = await protocolErrorCount();
    const c = new RawClient(proxy.mysqlPort);
    await c.login();
    // a COM_QUERY announcing 100 bytes, of which 10 arrive, then the client goes away
    const partial = Buffer.alloc(4 + 10);
    partial.writeUIntLE(100, 0, 3);
    partial[3] = 0;
    partial[4] = COM_QUERY;
    partial.write("SELECT 1 ", 5, "latin1");
    c.socket.end(partial);
    await c.closed;
    await expect.poll(protocolErrorCount, { timeout: 5000 }).toBe(before + 1);
    await bystanderStillWorks();
  });

  it("a command longer than 64 MiB closes only that client with ERR 1153, counted", async () => {
    // a stand-in upstream that logs anyone in and swallows what follows, so only the proxy's limit
    // can stop the packet (a real server's max_allowed_packet would answer first)
    const stub = net.createServer((s) => {
      s.on("error", () => {});
      s.write(
        encodePacket(
          encodeHandshakeV10({
            protocolVersion: 10,
            serverVersion: "10.11.99-MariaDB-stub",
            connectionId: 9,
            authPluginData: Buffer.from("abcdefghijklmnopqrst"),
            capabilities: CAPS,
            charset: 45,
            statusFlags: 2,
            authPluginName: "mysql_native_password",
            authPluginDataLength: 21,
          }),
          0,
        ),
      );
      s.once("data", () => {
        s.write(encodeOk({ statusFlags: 2 }, 2));
        s.resume();
      });
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", r));
    const stubProxy = await startTestProxy(
      (cfg) => {
        cfg.upstream.mysql = { host: "127.0.0.1", port: (stub.address() as net.AddressInfo).port };
      },
      { mysql: true },
    );
    const count = async () => {
      const text = await (await fetch(`${stubProxy.admin}/metrics`)).text();
      const line = text
        .split("\n")
        .find((l) => l.startsWith("dbagpt_protocol_errors_total{") && l.includes("client_packet_too_large"));
      return line ? Number(line.split(" ").pop()) : 0;
    };
    try {
      const c = new RawClient(stubProxy.mysqlPort);
      await c.login();
      const other = new RawClient(stubProxy.mysqlPort);
      await other.login();
      // four full 16 MiB parts (continued) and the header of a fifth: 64 MiB + more
      const part = Buffer.alloc(4 + 0xffffff, 0x20);
      part.writeUIntLE(0xffffff, 0, 3);
      for (let i = 0; i < 4; i++) {
        part[3] = i;
        if (i === 0) part[4] = COM_QUERY;
        else part[4] = 0x20;
        c.socket.write(part);
      }
      const hdr = Buffer.from([0x10, 0, 0, 4]);
      c.socket.write(hdr);
      const err = await c.packet();
      const payload = err?.payload as Buffer;
      expect(payload[0]).toBe(0xff);
      expect(decodeErr(payload, 0, payload.length).code).toBe(1153);
      await c.closed;
      expect(await count()).toBe(1);
      // the other client of the same proxy is still connected
      expect(other.socket.destroyed).toBe(false);
      other.socket.destroy();
    } finally {
      await stubProxy.stop();
      stub.close();
    }
    await bystanderStillWorks();
  });
});
