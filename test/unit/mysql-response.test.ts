import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CLIENT_DEPRECATE_EOF,
  CLIENT_OPTIONAL_RESULTSET_METADATA,
  CLIENT_PROTOCOL_41,
  CLIENT_TRANSACTIONS,
  COM_CHANGE_USER,
  COM_PING,
  COM_QUERY,
  COM_QUIT,
  COM_STMT_CLOSE,
  COM_STMT_EXECUTE,
  COM_STMT_FETCH,
  COM_STMT_PREPARE,
  COM_STMT_SEND_LONG_DATA,
  MARIADB_CLIENT_CACHE_METADATA,
  MAX_PAYLOAD_LENGTH,
  MIN_TRACKER_PEEK,
  SERVER_MORE_RESULTS_EXISTS,
  SERVER_STATUS_AUTOCOMMIT,
  SERVER_STATUS_CURSOR_EXISTS,
  SERVER_STATUS_IN_TRANS,
} from "../../protocol/mysql/constants.js";
import { MysqlFramer } from "../../protocol/mysql/framer.js";
import { decodeHandshakeResponse41, decodeHandshakeV10 } from "../../protocol/mysql/handshake.js";
import { encodeEof, encodeErr, encodeOk, PacketWriter } from "../../protocol/mysql/packets.js";
import { MysqlResponseTracker, type ResponseEvent } from "../../protocol/mysql/response.js";
import { ProtocolError } from "../../protocol/shared/protocol-error.js";
import { framePackets, loadChunks, type Packet } from "./mysql-fixtures.js";

const CLASSIC = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;
const MODERN = CLASSIC | CLIENT_DEPRECATE_EOF;
const AC = SERVER_STATUS_AUTOCOMMIT;

/** Payloads of common server packets. */
const P = {
  ok: (flags = AC, header = 0x00) => encodeOk({ header, statusFlags: flags }, 0).subarray(4),
  eof: (flags = AC) => encodeEof({ statusFlags: flags }, 0).subarray(4),
  err: (code: number) => encodeErr({ code, sqlstate: "HY000", message: "boom" }, 0).subarray(4),
  progress: () =>
    new PacketWriter().u8(0xff).u16(0xffff).u8(1).u8(1).u8(2).u24(5000).lenencString("x").finish(),
  count: (n: number) => Buffer.from([n]),
  column: (name: string) =>
    new PacketWriter().lenencString("def").lenencString("").lenencString(name).finish(),
  row: (...vals: string[]) => {
    const w = new PacketWriter();
    for (const v of vals) w.lenencString(v);
    return w.finish();
  },
  binaryRow: () => Buffer.from([0x00, 0x00, 0x05, 0, 0, 0]),
  infile: () => Buffer.from("\xfbdata.csv", "latin1"),
  prepareOk: (id: number, cols: number, params: number) =>
    new PacketWriter().u8(0).u32(id).u16(cols).u16(params).u8(0).u16(0).finish(),
};

type Step = { kind: string; done: boolean; flags?: number | undefined; code?: number };

function feed(t: MysqlResponseTracker, payloads: Buffer[]): Step[] {
  return payloads.map((p) => snap(t.onPacket(p, 0, p.length)));
}

function snap(ev: ResponseEvent): Step {
  const s: Step = { kind: ev.kind, done: ev.done };
  if (ev.statusFlags !== undefined) s.flags = ev.statusFlags;
  if (ev.errorCode >= 0) s.code = ev.errorCode;
  return s;
}

function tracker(caps: bigint): MysqlResponseTracker {
  return new MysqlResponseTracker(caps, false);
}

/**
 * Replays a recorded session through a tracker the way a proxy session would: client packets
 * are commands unless the tracker expects client data; server packets go to onPacket.
 */
function replay(session: string, peek?: number) {
  const client = framePackets(loadChunks(session, "client"));
  let server: Packet[] & { length: number };
  let lengths: number[];
  if (peek) {
    const framer = new MysqlFramer({ peek });
    server = [];
    lengths = [];
    for (const c of loadChunks(session, "server")) {
      framer.push(c, (seq, buf, start, end, _o, len) => {
        server.push({ seq, payload: Buffer.from(buf.subarray(start, end)) });
        lengths.push(len);
      });
    }
  } else {
    server = framePackets(loadChunks(session, "server"));
    lengths = server.map((p) => p.payload.length);
  }
  const t = new MysqlResponseTracker();
  const log: { command: string; events: Step[]; inTransaction: boolean; nextSeqOk: boolean[] }[] = [];
  let si = 0;
  const serverUntilDone = (entry: (typeof log)[number]) => {
    while (si < server.length) {
      const p = server[si]!;
      const ev = t.onPacket(p.payload, 0, p.payload.length, lengths[si], p.seq);
      entry.events.push(snap(ev));
      si++;
      const next = server[si];
      if (next) entry.nextSeqOk.push(t.nextSeq === next.seq || ev.done || t.clientDataExpected);
      if (ev.done || t.clientDataExpected) break;
    }
    entry.inTransaction = t.inTransaction;
  };

  const hello = {
    command: "greeting",
    events: [] as Step[],
    inTransaction: false,
    nextSeqOk: [] as boolean[],
  };
  const g = server[si]!;
  hello.events.push(snap(t.onPacket(g.payload, 0, g.payload.length, lengths[si], g.seq)));
  si++;
  log.push(hello);
  const fullGreeting = framePackets(loadChunks(session, "server"))[0]!.payload;
  const serverCaps = decodeHandshakeV10(fullGreeting, 0, fullGreeting.length).capabilities;
  for (const c of client) {
    if (c === client[0]) {
      const r = decodeHandshakeResponse41(c.payload, 0, c.payload.length);
      t.beginAuth(r.capabilities & serverCaps, c.seq);
      const entry = {
        command: "auth",
        events: [] as Step[],
        inTransaction: false,
        nextSeqOk: [] as boolean[],
      };
      log.push(entry);
      serverUntilDone(entry);
      continue;
    }
    if (t.clientDataExpected) {
      t.onClientPacket(c.seq, c.payload.length);
      if (t.clientDataExpected) continue;
      serverUntilDone(log[log.length - 1]!);
      continue;
    }
    const entry = {
      command: c.payload.toString("latin1", 0, 40),
      events: [] as Step[],
      inTransaction: false,
      nextSeqOk: [] as boolean[],
    };
    log.push(entry);
    if (t.begin(c.payload[0]!, c.seq)) serverUntilDone(entry);
  }
  return { log, consumed: si, total: server.length, idle: t.idle };
}

describe("MysqlResponseTracker on a recorded mysql2 session", () => {
  for (const peek of [undefined, MIN_TRACKER_PEEK]) {
    it(`walks every response to its end${peek ? " from peeked bytes" : ""}`, () => {
      const { log, consumed, total, idle } = replay("mysql2-session", peek);
      expect(consumed).toBe(total);
      expect(idle).toBe(true);
      const kinds = (i: number) => log[i]!.events.map((e) => e.kind);
      const dones = (i: number) => log[i]!.events.map((e) => e.done);
      expect(kinds(0)).toEqual(["handshake"]);
      expect(kinds(1)).toEqual(["ok"]);
      // SELECT 1 AS a, 'x' AS b
      expect(kinds(2)).toEqual(["column-count", "column", "column", "eof", "row", "eof"]);
      expect(dones(2)).toEqual([false, false, false, false, false, true]);
      // SELECT * FROM nope
      expect(log[3]!.events).toEqual([{ kind: "err", done: true, code: 1146 }]);
      // CREATE, INSERT
      expect(kinds(4)).toEqual(["ok"]);
      expect(kinds(5)).toEqual(["ok"]);
      // BEGIN / UPDATE / COMMIT: inTransaction follows the status flags
      expect(log.slice(6, 9).map((l) => l.inTransaction)).toEqual([true, true, false]);
      // multi-statement: two result sets, the first EOF says more results follow
      expect(kinds(9)).toEqual([
        ...["column-count", "column", "eof", "row", "eof"],
        ...["column-count", "column", "eof", "row", "eof"],
      ]);
      expect(log[9]!.events[4]!.flags! & SERVER_MORE_RESULTS_EXISTS).toBeTruthy();
      expect(dones(9).filter(Boolean)).toEqual([true]);
      // prepare: OK, 2 params + EOF, 2 columns + EOF
      expect(kinds(10)).toEqual(["prepare-ok", "param", "param", "eof", "column", "column", "eof"]);
      expect(dones(10).at(-1)).toBe(true);
      // execute: binary result set
      expect(kinds(11)).toEqual(["column-count", "column", "column", "eof", "row", "eof"]);
      // LOAD DATA LOCAL INFILE: request, client sends the file, server says OK
      expect(kinds(12)).toEqual(["local-infile", "ok"]);
      expect(kinds(13)).toEqual(["ok"]); // ping
      expect(log.every((l) => l.nextSeqOk.every(Boolean))).toBe(true);
    });
  }

  it("handles MariaDB's metadata-follows byte (CACHE_METADATA) from the mariadb CLI", () => {
    const { log, consumed, total } = replay("mariadb-cli-session");
    expect(consumed).toBe(total);
    expect(log[2]!.events.map((e) => e.kind)).toEqual([
      "column-count",
      "column",
      "column",
      "eof",
      "row",
      "eof",
    ]);
    expect(log[3]!.events).toEqual([{ kind: "err", done: true, code: 1146 }]);
  });
});

describe("MysqlResponseTracker result sets", () => {
  it("ends a text result set with an OK (0xFE) under CLIENT_DEPRECATE_EOF", () => {
    const t = tracker(MODERN);
    t.begin(COM_QUERY);
    const steps = feed(t, [
      P.count(2),
      P.column("a"),
      P.column("b"),
      P.row("1", "x"),
      P.row("2", "y"),
      P.ok(AC, 0xfe),
    ]);
    expect(steps.map((s) => s.kind)).toEqual(["column-count", "column", "column", "row", "row", "ok"]);
    expect(steps.at(-1)).toEqual({ kind: "ok", done: true, flags: AC });
    expect(t.idle).toBe(true);
  });

  it("ends a result set with EOF without CLIENT_DEPRECATE_EOF", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_QUERY);
    const steps = feed(t, [P.count(1), P.column("a"), P.eof(), P.row("1"), P.eof()]);
    expect(steps.map((s) => [s.kind, s.done])).toEqual([
      ["column-count", false],
      ["column", false],
      ["eof", false],
      ["row", false],
      ["eof", true],
    ]);
  });

  it("tells a row starting with 0xFE from the end of the result set by its length", () => {
    const classic = tracker(CLASSIC);
    classic.begin(COM_QUERY);
    feed(classic, [P.count(1), P.column("a"), P.eof()]);
    const bigRow = Buffer.from([0xfe, 1, 0, 0, 0, 0, 0, 0, 0, 0x41]); // lenenc 8-byte length
    expect(classic.onPacket(bigRow, 0, bigRow.length).kind).toBe("row");
    expect(classic.onPacket(P.eof(), 0, 5).done).toBe(true);

    const modern = tracker(MODERN);
    modern.begin(COM_QUERY);
    feed(modern, [P.count(1), P.column("a")]);
    // a 16 MB+ text value: first byte 0xFE, payload at least 0xFFFFFF bytes (peeked)
    expect(modern.onPacket(bigRow, 0, bigRow.length, MAX_PAYLOAD_LENGTH + 20).kind).toBe("row");
    expect(modern.nextSeq).toBe(5); // the 16 MB row took two sequence ids (3 and 4)
    expect(modern.onPacket(P.ok(AC, 0xfe), 0, 7).kind).toBe("ok");
    expect(modern.idle).toBe(true);
  });

  it("follows multi-results with SERVER_MORE_RESULTS_EXISTS, DEPRECATE_EOF and a final OK", () => {
    const more = AC | SERVER_MORE_RESULTS_EXISTS;
    const t = tracker(MODERN);
    t.begin(COM_QUERY);
    const steps = feed(t, [
      P.count(1),
      P.column("a"),
      P.row("1"),
      P.ok(more, 0xfe),
      P.ok(more),
      P.count(1),
      P.column("b"),
      P.row("2"),
      P.ok(AC, 0xfe),
    ]);
    expect(steps.map((s) => s.done)).toEqual([false, false, false, false, false, false, false, false, true]);
    expect(steps[4]).toEqual({ kind: "ok", done: false, flags: more });
  });

  it("ends the response at an ERR in the middle of a result set", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_QUERY);
    const steps = feed(t, [P.count(1), P.column("a"), P.eof(), P.row("1"), P.err(1317)]);
    expect(steps.at(-1)).toEqual({ kind: "err", done: true, code: 1317 });
    expect(t.idle).toBe(true);
  });

  it("reports MariaDB progress packets as progress, not errors, and keeps waiting", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_QUERY);
    const steps = feed(t, [P.progress(), P.progress(), P.ok()]);
    expect(steps).toEqual([
      { kind: "progress", done: false, code: 0xffff },
      { kind: "progress", done: false, code: 0xffff },
      { kind: "ok", done: true, flags: AC },
    ]);
  });

  it("follows the LOCAL INFILE exchange", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_QUERY);
    expect(t.clientDataExpected).toBe(false);
    expect(snap(t.onPacket(P.infile(), 0, 9, 9, 1))).toEqual({ kind: "local-infile", done: false });
    expect(t.clientDataExpected).toBe(true);
    t.onClientPacket(2, 1000);
    t.onClientPacket(3, 200);
    expect(t.clientDataExpected).toBe(true);
    t.onClientPacket(4, 0);
    expect(t.clientDataExpected).toBe(false);
    expect(t.nextSeq).toBe(5);
    expect(snap(t.onPacket(P.ok(), 0, 7, 7, 5))).toEqual({ kind: "ok", done: true, flags: AC });
  });

  it("takes inTransaction from the last status flags, and keeps it across an ERR", () => {
    const t = tracker(CLASSIC);
    expect(t.inTransaction).toBe(false);
    t.begin(COM_QUERY);
    feed(t, [P.ok(AC | SERVER_STATUS_IN_TRANS)]);
    expect(t.inTransaction).toBe(true);
    t.begin(COM_QUERY);
    feed(t, [P.err(1062)]);
    expect(t.inTransaction).toBe(true);
    t.begin(COM_QUERY);
    feed(t, [P.count(1), P.column("a"), P.eof(AC | SERVER_STATUS_IN_TRANS), P.row("1"), P.eof(AC)]);
    expect(t.inTransaction).toBe(false);
  });
});

describe("MysqlResponseTracker metadata skipping", () => {
  it("skips column definitions when MariaDB says the client has them cached (CACHE_METADATA)", () => {
    const t = tracker(CLASSIC | MARIADB_CLIENT_CACHE_METADATA);
    t.begin(COM_STMT_EXECUTE);
    // MariaDB 10.11 still sends the EOF that follows the (skipped) column definitions
    const steps = feed(t, [Buffer.from([2, 0]), P.eof(), P.binaryRow(), P.eof()]);
    expect(steps.map((s) => [s.kind, s.done])).toEqual([
      ["column-count", false],
      ["eof", false],
      ["row", false],
      ["eof", true],
    ]);
    t.begin(COM_STMT_EXECUTE);
    expect(feed(t, [Buffer.from([1, 1]), P.column("a"), P.eof(), P.binaryRow(), P.eof()]).at(-1)!.done).toBe(
      true,
    );
  });

  it("does not end a cached-metadata result at the EOF after the skipped columns (sysbench's execute)", () => {
    const t = tracker(CLASSIC | MARIADB_CLIENT_CACHE_METADATA);
    t.begin(COM_STMT_EXECUTE);
    const steps = feed(t, [Buffer.from([1, 0]), P.eof(), P.binaryRow(), P.binaryRow(), P.eof()]);
    expect(steps.map((s) => s.done)).toEqual([false, false, false, false, true]);
    expect(t.idle).toBe(true);
    // the next command's OK is read as its own response, not as a stray packet of this one
    t.begin(COM_QUERY);
    expect(feed(t, [P.ok()])).toEqual([{ kind: "ok", done: true, flags: AC }]);
    // under CLIENT_DEPRECATE_EOF nothing follows the column count but the rows and the final OK
    const m = tracker(MODERN | MARIADB_CLIENT_CACHE_METADATA);
    m.begin(COM_STMT_EXECUTE);
    expect(feed(m, [Buffer.from([1, 0]), P.binaryRow(), P.ok(AC, 0xfe)]).map((s) => s.done)).toEqual([
      false,
      false,
      true,
    ]);
  });

  it("skips column definitions but keeps the EOF with MySQL's optional result set metadata", () => {
    const t = tracker(CLASSIC | CLIENT_OPTIONAL_RESULTSET_METADATA);
    t.begin(COM_QUERY);
    const steps = feed(t, [Buffer.from([1, 0]), P.eof(), P.row("1"), P.eof()]);
    expect(steps.map((s) => s.kind)).toEqual(["column-count", "eof", "row", "eof"]);
    expect(t.idle).toBe(true);
  });
});

describe("MysqlResponseTracker prepared statements", () => {
  it("reads a prepare response with EOFs", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_STMT_PREPARE);
    const first = { ...t.onPacket(P.prepareOk(9, 1, 2), 0, 12) };
    expect(first).toMatchObject({
      kind: "prepare-ok",
      done: false,
      statementId: 9,
      columnCount: 1,
      paramCount: 2,
    });
    const rest = feed(t, [P.column("?"), P.column("?"), P.eof(), P.column("a"), P.eof()]);
    expect(rest.map((s) => [s.kind, s.done])).toEqual([
      ["param", false],
      ["param", false],
      ["eof", false],
      ["column", false],
      ["eof", true],
    ]);
  });

  it("reads a prepare response without EOFs under CLIENT_DEPRECATE_EOF", () => {
    const t = tracker(MODERN);
    t.begin(COM_STMT_PREPARE);
    const steps = feed(t, [P.prepareOk(1, 2, 1), P.column("?"), P.column("a"), P.column("b")]);
    expect(steps.map((s) => [s.kind, s.done])).toEqual([
      ["prepare-ok", false],
      ["param", false],
      ["column", false],
      ["column", true],
    ]);
    t.begin(COM_STMT_PREPARE);
    expect(feed(t, [P.prepareOk(2, 0, 1), P.column("?")]).map((s) => s.done)).toEqual([false, true]);
  });

  it("ends at the prepare OK when there are no params and no columns", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_STMT_PREPARE);
    expect(t.onPacket(P.prepareOk(3, 0, 0), 0, 12).done).toBe(true);
    expect(t.idle).toBe(true);
  });

  it("reads binary rows of COM_STMT_EXECUTE and a cursor opened by it, then COM_STMT_FETCH", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_STMT_EXECUTE);
    expect(feed(t, [P.count(1), P.column("a"), P.eof(), P.binaryRow(), P.eof()]).at(-1)!.done).toBe(true);

    t.begin(COM_STMT_EXECUTE);
    const cursor = AC | SERVER_STATUS_CURSOR_EXISTS;
    expect(feed(t, [P.count(1), P.column("a"), P.eof(cursor)]).at(-1)).toEqual({
      kind: "eof",
      done: true,
      flags: cursor,
    });
    t.begin(COM_STMT_FETCH);
    expect(feed(t, [P.binaryRow(), P.binaryRow(), P.eof(cursor)]).map((s) => s.kind)).toEqual([
      "row",
      "row",
      "eof",
    ]);
    expect(t.idle).toBe(true);
  });

  it("expects no answer to COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA and COM_QUIT", () => {
    const t = tracker(CLASSIC);
    expect(t.begin(COM_STMT_CLOSE)).toBe(false);
    expect(t.begin(COM_STMT_SEND_LONG_DATA)).toBe(false);
    expect(t.begin(COM_QUIT)).toBe(false);
    expect(t.idle).toBe(true);
    expect(() => t.onPacket(P.ok(), 0, 7)).toThrow(ProtocolError);
  });
});

describe("MysqlResponseTracker connection phase, sequence ids, pipelining", () => {
  it("follows greeting, auth switch, auth more data and OK", () => {
    const t = new MysqlResponseTracker();
    const greeting = Buffer.from([10, 0x35, 0]);
    expect(t.onPacket(greeting, 0, 3, 3, 0).kind).toBe("handshake");
    t.beginAuth(MODERN, 1);
    expect(t.clientDataExpected).toBe(true);
    const sw = Buffer.from("\xfecaching_sha2_password\0abc", "latin1");
    expect(snap(t.onPacket(sw, 0, sw.length, sw.length, 2))).toEqual({ kind: "auth-switch", done: false });
    t.onClientPacket(3, 32);
    expect(snap(t.onPacket(Buffer.from([1, 3]), 0, 2, 2, 4))).toEqual({
      kind: "auth-more-data",
      done: false,
    });
    expect(snap(t.onPacket(P.ok(), 0, 7, 7, 5))).toEqual({ kind: "ok", done: true, flags: AC });
    expect(t.idle).toBe(true);
    expect(t.clientDataExpected).toBe(false);
  });

  it("reports an ERR greeting (too many connections) as a finished error", () => {
    const t = new MysqlResponseTracker();
    expect(snap(t.onPacket(P.err(1040), 0, 11))).toEqual({ kind: "err", done: true, code: 1040 });
  });

  it("treats COM_CHANGE_USER as an auth exchange", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_CHANGE_USER);
    expect(t.clientDataExpected).toBe(true);
    expect(feed(t, [P.ok()]).at(-1)).toEqual({ kind: "ok", done: true, flags: AC });
  });

  it("gives the sequence id an injected ERR must carry", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_QUERY, 0);
    expect(t.nextSeq).toBe(1);
    t.onPacket(P.count(1), 0, 1, 1, 1);
    t.onPacket(P.column("a"), 0, 10, 10, 2);
    const err = encodeErr({ code: 2013, sqlstate: "HY000", message: "Lost connection" }, t.nextSeq);
    expect(err[3]).toBe(3);
  });

  it("tracks pipelined commands in order", () => {
    const t = tracker(CLASSIC);
    t.begin(COM_QUERY);
    t.begin(COM_PING);
    t.begin(COM_QUERY);
    expect(t.queued).toBe(2);
    const steps = feed(t, [P.count(1), P.column("a"), P.eof(), P.row("1"), P.eof(), P.ok(), P.err(1146)]);
    expect(steps.map((s) => [s.kind, s.done])).toEqual([
      ["column-count", false],
      ["column", false],
      ["eof", false],
      ["row", false],
      ["eof", true],
      ["ok", true],
      ["err", true],
    ]);
    expect(t.idle).toBe(true);
    expect(t.queued).toBe(0);
  });

  it("throws ProtocolError for a packet that cannot come now", () => {
    const t = tracker(CLASSIC);
    expect(() => t.onPacket(P.row("1"), 0, 2)).toThrow(ProtocolError);
    t.begin(COM_STMT_PREPARE);
    expect(() => t.onPacket(P.count(1), 0, 1)).toThrow(ProtocolError);
    const g = new MysqlResponseTracker();
    expect(() => g.onPacket(P.ok(), 0, 7)).toThrow(/greeting/);
  });

  it("never throws anything but ProtocolError on random server packets", () => {
    const commands = [
      COM_QUERY,
      COM_STMT_PREPARE,
      COM_STMT_EXECUTE,
      COM_PING,
      COM_STMT_FETCH,
      0x09,
      0x04,
      0x12,
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...commands),
        fc.boolean(),
        fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 30 }),
        (command, modern, packets) => {
          const t = tracker(modern ? MODERN : CLASSIC);
          t.begin(command);
          for (const p of packets) {
            const b = Buffer.from(p);
            try {
              t.onPacket(b, 0, b.length);
            } catch (e) {
              expect(e).toBeInstanceOf(ProtocolError);
              return;
            }
            if (t.idle) t.begin(command);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
