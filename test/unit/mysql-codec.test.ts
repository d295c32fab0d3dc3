import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  commandText,
  decodeCommand,
  encodeInitDb,
  encodeQuery,
  encodeSimpleCommand,
  encodeStmtCommand,
  encodeStmtPrepare,
} from "../../protocol/mysql/commands.js";
import {
  CLIENT_COMPRESS,
  CLIENT_CONNECT_ATTRS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_DEPRECATE_EOF,
  CLIENT_MYSQL,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
  CLIENT_PROTOCOL_41,
  CLIENT_QUERY_ATTRIBUTES,
  CLIENT_SECURE_CONNECTION,
  CLIENT_SESSION_TRACK,
  CLIENT_SSL,
  CLIENT_TRANSACTIONS,
  COM_CHANGE_USER,
  COM_PING,
  COM_QUIT,
  COM_RESET_CONNECTION,
  COM_STMT_CLOSE,
  COM_STMT_RESET,
  MARIADB_CLIENT_CACHE_METADATA,
  MARIADB_CLIENT_PROGRESS,
  SERVER_SESSION_STATE_CHANGED,
  SERVER_STATUS_AUTOCOMMIT,
  SERVER_STATUS_IN_TRANS,
} from "../../protocol/mysql/constants.js";
import {
  clearCapabilities,
  decodeAuthMoreData,
  decodeAuthSwitchRequest,
  decodeHandshakeResponse41,
  decodeHandshakeV10,
  encodeAuthSwitchRequest,
  encodeHandshakeResponse41,
  encodeHandshakeV10,
  type HandshakeV10,
  isSslRequest,
} from "../../protocol/mysql/handshake.js";
import {
  decodeEof,
  decodeErr,
  decodeOk,
  encodeEof,
  encodeErr,
  encodeOk,
  encodePacket,
  okStatusFlags,
  PacketWriter,
} from "../../protocol/mysql/packets.js";
import { ProtocolError } from "../../protocol/shared/protocol-error.js";
import { framePackets, loadChunks, packet } from "./mysql-fixtures.js";

const server = framePackets(loadChunks("mysql2-session", "server"));
const client = framePackets(loadChunks("mysql2-session", "client"));
const cliClient = framePackets(loadChunks("mariadb-cli-session", "client"));
const greeting = server[0]!.payload;
const full = (p: Buffer) => [p, 0, p.length] as const;
const wire = (i: number) => packet(server[i]!.seq, server[i]!.payload);

describe("greeting (HandshakeV10) from MariaDB 10.11", () => {
  const h = decodeHandshakeV10(...full(greeting));

  it("decodes version, connection id, scramble, plugin and MariaDB extended capabilities", () => {
    expect(h.protocolVersion).toBe(10);
    expect(h.serverVersion).toBe("5.5.5-10.11.19-MariaDB-0+deb12u1");
    expect(h.connectionId).toBeGreaterThan(0);
    expect(h.authPluginName).toBe("mysql_native_password");
    expect(h.authPluginData).toHaveLength(20);
    expect(h.authPluginDataLength).toBe(21);
    expect(h.capabilities & CLIENT_MYSQL).toBe(0n); // MariaDB
    expect(h.capabilities & CLIENT_PROTOCOL_41).toBe(CLIENT_PROTOCOL_41);
    expect(h.capabilities & CLIENT_DEPRECATE_EOF).toBe(CLIENT_DEPRECATE_EOF);
    expect(h.capabilities & MARIADB_CLIENT_PROGRESS).toBe(MARIADB_CLIENT_PROGRESS);
    expect(h.capabilities & MARIADB_CLIENT_CACHE_METADATA).toBe(MARIADB_CLIENT_CACHE_METADATA);
    expect(h.statusFlags & SERVER_STATUS_AUTOCOMMIT).toBe(SERVER_STATUS_AUTOCOMMIT);
  });

  it("re-encodes to the exact bytes the server sent", () => {
    expect(encodeHandshakeV10(h).equals(greeting)).toBe(true);
  });

  it("clearCapabilities clears only the asked bits, in place, keeping the length", () => {
    const copy = Buffer.from(greeting);
    const withTls = decodeHandshakeV10(...full(copy));
    // pretend the server offers TLS and compression, then strip both
    const offered = encodeHandshakeV10({
      ...withTls,
      capabilities: withTls.capabilities | CLIENT_SSL | CLIENT_COMPRESS,
    });
    const out = clearCapabilities(
      offered,
      0,
      offered.length,
      CLIENT_SSL | CLIENT_COMPRESS | MARIADB_CLIENT_PROGRESS,
    );
    expect(out.buffer).toBe(offered.buffer);
    expect(out.length).toBe(greeting.length);
    const after = decodeHandshakeV10(...full(out));
    expect(after.capabilities).toBe(
      h.capabilities & ~(CLIENT_SSL | CLIENT_COMPRESS | MARIADB_CLIENT_PROGRESS),
    );
    expect({ ...after, capabilities: 0n }).toEqual({ ...h, capabilities: 0n });
  });

  it("refuses an ERR greeting and a truncated one with ProtocolError", () => {
    const err = encodeErr({ code: 1040, sqlstate: "08004", message: "Too many connections" }, 0).subarray(4);
    expect(() => decodeHandshakeV10(...full(err))).toThrow(ProtocolError);
    expect(() => decodeHandshakeV10(greeting, 0, 20)).toThrow(ProtocolError);
    expect(() => clearCapabilities(greeting, 0, 20, CLIENT_SSL)).toThrow(ProtocolError);
  });
});

describe("HandshakeResponse41 and SSLRequest", () => {
  it("decodes mysql2's response: user, database, plugin, scramble, attributes", () => {
    const r = decodeHandshakeResponse41(...full(client[0]!.payload));
    expect(client[0]!.seq).toBe(1);
    expect(r.isSslRequest).toBe(false);
    expect(r.user).toBe("root");
    expect(r.database).toBe("test");
    expect(r.authResponse).toHaveLength(0); // root has no password
    expect(r.authPluginName).toBe("mysql_native_password");
    expect(r.capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA).toBe(
      CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
    );
    expect(r.capabilities & CLIENT_SSL).toBe(0n);
    expect(r.attributes._client_name).toBe("Node-MySQL-2");
    expect(encodeHandshakeResponse41(r).equals(client[0]!.payload)).toBe(true);
  });

  it("decodes the mariadb CLI's response with MariaDB extended capabilities and program_name", () => {
    const r = decodeHandshakeResponse41(...full(cliClient[0]!.payload));
    expect(r.capabilities & CLIENT_MYSQL).toBe(0n);
    expect(r.capabilities & MARIADB_CLIENT_PROGRESS).toBe(MARIADB_CLIENT_PROGRESS);
    expect(r.capabilities & MARIADB_CLIENT_CACHE_METADATA).toBe(MARIADB_CLIENT_CACHE_METADATA);
    expect(r.user).toBe("root");
    expect(r.attributes.program_name).toMatch(/mariadb|mysql/);
    expect(encodeHandshakeResponse41(r).equals(cliClient[0]!.payload)).toBe(true);
  });

  it("detects the 32-byte SSLRequest", () => {
    const caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_SSL | CLIENT_PLUGIN_AUTH;
    const ssl = encodeHandshakeResponse41({
      capabilities: caps,
      maxPacketSize: 16777216,
      charset: 45,
      isSslRequest: true,
      user: "",
      authResponse: Buffer.alloc(0),
      attributes: {},
    });
    expect(ssl).toHaveLength(32);
    expect(isSslRequest(...full(ssl))).toBe(true);
    expect(isSslRequest(...full(client[0]!.payload))).toBe(false);
    const d = decodeHandshakeResponse41(...full(ssl));
    expect(d.isSslRequest).toBe(true);
    expect(d.capabilities).toBe(caps);
    expect(d.charset).toBe(45);
  });

  it("decodes a response with a 1-byte-length scramble and no attributes", () => {
    const caps =
      CLIENT_MYSQL |
      CLIENT_PROTOCOL_41 |
      CLIENT_SECURE_CONNECTION |
      CLIENT_CONNECT_WITH_DB |
      CLIENT_PLUGIN_AUTH;
    const scramble = Buffer.alloc(20, 7);
    const bytes = encodeHandshakeResponse41({
      capabilities: caps,
      maxPacketSize: 1 << 24,
      charset: 33,
      isSslRequest: false,
      user: "app",
      authResponse: scramble,
      database: "shop",
      authPluginName: "mysql_native_password",
      attributes: {},
    });
    const d = decodeHandshakeResponse41(...full(bytes));
    expect(d).toMatchObject({ user: "app", database: "shop", authPluginName: "mysql_native_password" });
    expect(d.authResponse.equals(scramble)).toBe(true);
    expect(() => decodeHandshakeResponse41(bytes, 0, 40)).toThrow(ProtocolError);
  });
});

describe("auth switch and more data", () => {
  it("decodes AuthSwitchRequest, including the bare 0xFE old-password form", () => {
    const data = Buffer.from("abcdefghijklmnopqrst\0", "latin1");
    const p = encodeAuthSwitchRequest({ pluginName: "caching_sha2_password", pluginData: data });
    expect(decodeAuthSwitchRequest(...full(p))).toEqual({
      pluginName: "caching_sha2_password",
      pluginData: data,
    });
    expect(decodeAuthSwitchRequest(Buffer.from([0xfe]), 0, 1).pluginName).toBe("mysql_old_password");
    expect(() => decodeAuthSwitchRequest(Buffer.from([0x00]), 0, 1)).toThrow(ProtocolError);
  });

  it("decodes AuthMoreData (caching_sha2 fast auth ok)", () => {
    expect(decodeAuthMoreData(Buffer.from([0x01, 0x03]), 0, 2).data).toEqual(Buffer.from([0x03]));
    expect(() => decodeAuthMoreData(Buffer.from([0x02]), 0, 1)).toThrow(ProtocolError);
  });
});

describe("commands", () => {
  it("decodes recorded COM_QUERY, COM_STMT_PREPARE, COM_STMT_EXECUTE and COM_PING", () => {
    expect(decodeCommand(...full(client[1]!.payload))).toEqual({
      name: "COM_QUERY",
      command: 3,
      query: "SELECT 1 AS a, 'x' AS b",
      attributes: [],
    });
    expect(commandText(...full(client[2]!.payload))).toBe("SELECT * FROM nope");
    expect(decodeCommand(...full(client[9]!.payload))).toEqual({
      name: "COM_STMT_PREPARE",
      command: 0x16,
      query: "SELECT ? AS v, note FROM t1 WHERE id = ?",
    });
    const exec = decodeCommand(...full(client[10]!.payload));
    expect(exec).toMatchObject({ name: "COM_STMT_EXECUTE", statementId: 2, flags: 0, iterationCount: 1 });
    expect(decodeCommand(...full(client[client.length - 1]!.payload)).name).toBe("COM_PING");
  });

  it("re-encodes a recorded COM_QUERY packet byte for byte", () => {
    expect(encodeQuery("SELECT 1 AS a, 'x' AS b").equals(packet(0, client[1]!.payload))).toBe(true);
  });

  it("skips MySQL query attributes and reads them", () => {
    const w = new PacketWriter()
      .u8(3)
      .lenenc(3)
      .lenenc(1)
      .u8(0b100) // third attribute is NULL
      .u8(1)
      .u8(0xfe)
      .u8(0)
      .lenencString("service")
      .u8(0x08)
      .u8(0x80)
      .lenencString("tenant")
      .u8(0x06)
      .u8(0)
      .lenencString("none")
      .lenencString("billing")
      .u64(42n)
      .string("SELECT 1");
    const cmd = decodeCommand(...full(w.finish()), CLIENT_PROTOCOL_41 | CLIENT_QUERY_ATTRIBUTES);
    expect(cmd).toEqual({
      name: "COM_QUERY",
      command: 3,
      query: "SELECT 1",
      attributes: [
        { name: "service", type: 0xfe, value: "billing" },
        { name: "tenant", type: 0x08, value: "42" },
        { name: "none", type: 0x06, value: null },
      ],
    });
    const empty = encodeQuery("SELECT 2", CLIENT_QUERY_ATTRIBUTES).subarray(4);
    expect(commandText(...full(empty), CLIENT_QUERY_ATTRIBUTES)).toBe("SELECT 2");
  });

  it("decodes statement ids, schema, and argument-less commands", () => {
    expect(decodeCommand(...full(encodeStmtCommand(COM_STMT_CLOSE, 7).subarray(4)))).toEqual({
      name: "COM_STMT_CLOSE",
      command: COM_STMT_CLOSE,
      statementId: 7,
    });
    expect(decodeCommand(...full(encodeStmtCommand(COM_STMT_RESET, 9).subarray(4)))).toMatchObject({
      name: "COM_STMT_RESET",
      statementId: 9,
    });
    const longData = new PacketWriter().u8(0x18).u32(4).u16(1).string("blob").finish();
    expect(decodeCommand(...full(longData))).toEqual({
      name: "COM_STMT_SEND_LONG_DATA",
      command: 0x18,
      statementId: 4,
      paramId: 1,
      dataStart: 7,
    });
    expect(decodeCommand(...full(encodeInitDb("shop").subarray(4)))).toEqual({
      name: "COM_INIT_DB",
      command: 2,
      schema: "shop",
    });
    expect(decodeCommand(...full(encodeStmtPrepare("SELECT ?").subarray(4)))).toMatchObject({
      query: "SELECT ?",
    });
    for (const [c, name] of [
      [COM_QUIT, "COM_QUIT"],
      [COM_PING, "COM_PING"],
      [COM_RESET_CONNECTION, "COM_RESET_CONNECTION"],
      [0x20, "COM_OTHER"],
    ] as const) {
      expect(decodeCommand(...full(encodeSimpleCommand(c).subarray(4)))).toEqual({ name, command: c });
    }
  });

  it("decodes COM_CHANGE_USER with user, database, plugin and attributes", () => {
    const attrs = new PacketWriter().lenencString("program_name").lenencString("billing").finish();
    const p = new PacketWriter()
      .u8(COM_CHANGE_USER)
      .nulString("alice")
      .u8(3)
      .bytes(Buffer.from([1, 2, 3]))
      .nulString("shop")
      .u16(45)
      .nulString("mysql_native_password")
      .lenencBytes(attrs)
      .finish();
    expect(decodeCommand(...full(p))).toEqual({
      name: "COM_CHANGE_USER",
      command: COM_CHANGE_USER,
      user: "alice",
      authResponse: Buffer.from([1, 2, 3]),
      database: "shop",
      charset: 45,
      authPluginName: "mysql_native_password",
      attributes: { program_name: "billing" },
    });
  });

  it("throws ProtocolError on truncated commands", () => {
    expect(() => decodeCommand(Buffer.from([0x19, 1, 2]), 0, 3)).toThrow(ProtocolError);
    expect(() => decodeCommand(Buffer.alloc(0), 0, 0)).toThrow(ProtocolError);
  });
});

const NEGOTIATED = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SESSION_TRACK;

describe("OK, ERR and EOF packets", () => {
  it("decodes the recorded ERR 1146 and encodes it back to the same bytes", () => {
    const i = server.findIndex((p) => p.payload[0] === 0xff);
    const err = decodeErr(...full(server[i]!.payload));
    expect(err).toEqual({
      code: 1146,
      sqlstate: "42S02",
      message: "Table 'test.nope' doesn't exist",
      isProgress: false,
    });
    expect(server[i]!.seq).toBe(1);
    expect(encodeErr(err, 1).equals(wire(i))).toBe(true);
  });

  it("decodes the recorded INSERT OK and encodes it back to the same bytes", () => {
    const i = server.findIndex((p) => p.payload.toString("latin1").includes("Duplicates"));
    const ok = decodeOk(...full(server[i]!.payload), NEGOTIATED);
    expect(ok).toEqual({
      header: 0,
      affectedRows: 2n,
      lastInsertId: 1n,
      statusFlags: SERVER_STATUS_AUTOCOMMIT,
      warnings: 0,
      info: "Records: 2  Duplicates: 0  Warnings: 0",
    });
    expect(okStatusFlags(...full(server[i]!.payload))).toBe(SERVER_STATUS_AUTOCOMMIT);
    expect(encodeOk(ok, server[i]!.seq, NEGOTIATED).equals(wire(i))).toBe(true);
  });

  it("reads SERVER_STATUS_IN_TRANS from the OK after BEGIN", () => {
    const begins = server.filter((p) => p.payload.length === 7 && p.payload[0] === 0);
    const flags = begins.map((p) => decodeOk(...full(p.payload), NEGOTIATED).statusFlags);
    expect(flags).toContain(SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS);
  });

  it("decodes a recorded EOF", () => {
    const eof = server.find((p) => p.payload[0] === 0xfe && p.payload.length === 5)!;
    expect(decodeEof(...full(eof.payload))).toEqual({ warnings: 0, statusFlags: SERVER_STATUS_AUTOCOMMIT });
    expect(encodeEof({ statusFlags: SERVER_STATUS_AUTOCOMMIT }, eof.seq)).toEqual(
      packet(eof.seq, eof.payload),
    );
  });

  it("decodes an OK carrying session state changes", () => {
    const track = Buffer.from([0x00, 0x04, 0x03, 0x02, 0x01, 0x00]);
    const flags = SERVER_STATUS_AUTOCOMMIT | SERVER_SESSION_STATE_CHANGED;
    const p = encodeOk({ header: 0xfe, statusFlags: flags, sessionStateChanges: track }, 3, NEGOTIATED);
    const ok = decodeOk(p, 4, p.length, NEGOTIATED);
    expect(ok.header).toBe(0xfe);
    expect(ok.sessionStateChanges).toEqual(track);
    expect(okStatusFlags(p, 4, p.length)).toBe(flags);
  });

  it("reports a MariaDB progress packet as progress, not as an error", () => {
    const p = new PacketWriter()
      .u8(0xff)
      .u16(0xffff)
      .u8(1)
      .u8(2)
      .u8(3)
      .u24(45_500)
      .lenencString("copy to tmp table");
    const err = decodeErr(...full(p.finish()));
    expect(err.isProgress).toBe(true);
    expect(err.progress).toEqual({ stage: 2, maxStage: 3, percent: 45.5, info: "copy to tmp table" });
  });

  it("decodes an ERR without SQLSTATE (sent before the handshake)", () => {
    const p = encodeErr({ code: 1130, message: "Host 'x' is not allowed to connect" }, 0);
    expect(decodeErr(p, 4, p.length)).toEqual({
      code: 1130,
      message: "Host 'x' is not allowed to connect",
      isProgress: false,
    });
  });

  it("splits payloads of 16 MB and more into continuation packets", () => {
    const p = encodePacket(Buffer.alloc(0xffffff * 2), 250);
    expect(p.length).toBe(0xffffff * 2 + 12);
    expect([p[3], p[0xffffff + 7], p[p.length - 1]]).toEqual([250, 251, 252]);
  });

  it("refuses the wrong header with ProtocolError", () => {
    const ok = server[1]!.payload;
    expect(() => decodeErr(...full(ok))).toThrow(ProtocolError);
    expect(() => decodeEof(...full(ok))).toThrow(ProtocolError);
    expect(() => decodeOk(Buffer.from([0xff, 0, 0]), 0, 3)).toThrow(ProtocolError);
    expect(() => decodeOk(Buffer.from([0x00, 0xfc, 1]), 0, 3)).toThrow(ProtocolError);
  });
});

describe("codec properties", () => {
  const sqlstate = fc.string({ minLength: 5, maxLength: 5 }).filter((s) => /^[\x20-\x7e]{5}$/.test(s));

  it("decodeErr(encodeErr(x)) == x", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xfffe }),
        sqlstate,
        fc.string({ maxLength: 200 }),
        fc.integer({ min: 0, max: 255 }),
        (code, state, message, seq) => {
          const p = encodeErr({ code, sqlstate: state, message }, seq);
          expect(p[3]).toBe(seq);
          expect(decodeErr(p, 4, p.length)).toEqual({ code, sqlstate: state, message, isProgress: false });
        },
      ),
    );
  });

  it("decodeOk(encodeOk(x)) == x", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 0, max: 0xffff }).map((f) => f & ~SERVER_SESSION_STATE_CHANGED),
        fc.integer({ min: 0, max: 0xffff }),
        fc.string({ maxLength: 80 }),
        fc.boolean(),
        (affectedRows, lastInsertId, statusFlags, warnings, info, track) => {
          const caps = track ? NEGOTIATED : CLIENT_PROTOCOL_41;
          const ok = { header: 0, affectedRows, lastInsertId, statusFlags, warnings, info };
          const p = encodeOk(ok, 1, caps);
          expect(decodeOk(p, 4, p.length, caps)).toEqual(ok);
          expect(okStatusFlags(p, 4, p.length)).toBe(statusFlags);
        },
      ),
    );
  });

  it("decodeHandshakeV10(encodeHandshakeV10(h)) == h", () => {
    const arb: fc.Arbitrary<HandshakeV10> = fc.record({
      protocolVersion: fc.constant(10),
      serverVersion: fc.string({ maxLength: 40 }).filter((s) => !s.includes("\0")),
      connectionId: fc.nat({ max: 0xffffffff }),
      authPluginData: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((a) => {
        const b = Buffer.from(a);
        b[19] = b[19]! | 1; // a scramble never ends in NUL
        return b;
      }),
      capabilities: fc
        .bigInt({ min: 0n, max: (1n << 64n) - 1n })
        .map((c) => (c & 1n ? c & 0xffffffffn : c) | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH),
      charset: fc.integer({ min: 0, max: 255 }),
      statusFlags: fc.integer({ min: 0, max: 0xffff }),
      authPluginName: fc.constantFrom("mysql_native_password", "caching_sha2_password", "ed25519"),
      authPluginDataLength: fc.constant(21),
    });
    fc.assert(
      fc.property(arb, (h) => {
        const bytes = encodeHandshakeV10(h);
        expect(decodeHandshakeV10(bytes, 0, bytes.length)).toEqual(h);
      }),
    );
  });

  it("decodeHandshakeResponse41(encode(r)) == r", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.string({ maxLength: 20 }).filter((s) => !s.includes("\0")),
        fc.uint8Array({ maxLength: 40 }),
        fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 4 }),
        (c, user, auth, attributes) => {
          let caps = c & 1n ? c & 0xffffffffn : c;
          caps |= CLIENT_PROTOCOL_41 | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_CONNECT_ATTRS;
          caps |= CLIENT_CONNECT_WITH_DB | CLIENT_PLUGIN_AUTH;
          const r = {
            capabilities: caps,
            maxPacketSize: 1 << 24,
            charset: 45,
            isSslRequest: false,
            user,
            authResponse: Buffer.from(auth),
            database: "db",
            authPluginName: "mysql_native_password",
            attributes: { ...attributes },
          };
          const bytes = encodeHandshakeResponse41(r);
          expect(decodeHandshakeResponse41(bytes, 0, bytes.length)).toEqual(r);
        },
      ),
    );
  });

  it("random bytes make every decoder throw nothing but ProtocolError", () => {
    const decoders = [
      (b: Buffer) => decodeHandshakeV10(b, 0, b.length),
      (b: Buffer) => decodeHandshakeResponse41(b, 0, b.length),
      (b: Buffer) => decodeAuthSwitchRequest(b, 0, b.length),
      (b: Buffer) => decodeAuthMoreData(b, 0, b.length),
      (b: Buffer) => decodeCommand(b, 0, b.length),
      (b: Buffer) => decodeCommand(b, 0, b.length, NEGOTIATED | CLIENT_QUERY_ATTRIBUTES),
      (b: Buffer) => decodeOk(b, 0, b.length, NEGOTIATED),
      (b: Buffer) => decodeErr(b, 0, b.length),
      (b: Buffer) => decodeEof(b, 0, b.length),
      (b: Buffer) => clearCapabilities(b, 0, b.length, CLIENT_SSL),
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat({ max: 255 }), (bytes, first) => {
        const b = Buffer.from(bytes);
        if (b.length > 0) b[0] = first;
        for (const d of decoders) {
          try {
            d(b);
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
