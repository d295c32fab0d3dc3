import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_PAYLOAD_LENGTH } from "../../protocol/mysql/constants.js";
import { MysqlFramer } from "../../protocol/mysql/framer.js";
import { encodePacket } from "../../protocol/mysql/packets.js";
import { ProtocolError } from "../../protocol/shared/protocol-error.js";
import { framePackets, loadChunks, packet } from "./mysql-fixtures.js";

interface Seen {
  seq: number;
  first: string;
  length: number;
}

function peekAll(chunks: Buffer[], peek: number): Seen[] {
  const framer = new MysqlFramer({ peek });
  const out: Seen[] = [];
  for (const c of chunks) {
    framer.push(c, (seq, buf, start, end, _off, length) =>
      out.push({ seq, first: buf.toString("hex", start, end), length }),
    );
  }
  return out;
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.min(c, buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const serverStream = Buffer.concat(loadChunks("mysql2-session", "server"));
const clientStream = Buffer.concat(loadChunks("mysql2-session", "client"));

describe("MysqlFramer on a recorded MariaDB session", () => {
  it("finds the greeting, the auth OK and every result packet with their sequence ids", () => {
    const packets = framePackets(loadChunks("mysql2-session", "server"));
    expect(packets).toHaveLength(40);
    expect(packets[0]!.seq).toBe(0);
    expect(packets[0]!.payload[0]).toBe(10); // protocol version of HandshakeV10
    expect(packets[1]!.seq).toBe(2); // OK after the client's seq-1 handshake response
    expect(packets[1]!.payload[0]).toBe(0x00);
    expect(packets.map((p) => p.payload.length).reduce((a, b) => a + b, 0) + packets.length * 4).toBe(
      serverStream.length,
    );
  });

  it("gives the same packets for the server stream split at every offset", () => {
    const whole = framePackets([serverStream]);
    for (let i = 0; i <= serverStream.length; i++) {
      expect(framePackets([serverStream.subarray(0, i), serverStream.subarray(i)])).toEqual(whole);
    }
  });

  it("gives the same packets for the client stream split at every offset and fed byte by byte", () => {
    const whole = framePackets([clientStream]);
    for (let i = 0; i <= clientStream.length; i++) {
      expect(framePackets([clientStream.subarray(0, i), clientStream.subarray(i)])).toEqual(whole);
    }
    const bytes = [...clientStream].map((b) => Buffer.from([b]));
    expect(framePackets(bytes)).toEqual(whole);
  });

  it("hands out packets that lie in one chunk as views with the header offset", () => {
    const framer = new MysqlFramer();
    const offsets: number[] = [];
    framer.push(serverStream, (seq, buf, start, end, chunkOffset) => {
      expect(buf).toBe(serverStream);
      expect(chunkOffset).toBe(start - 4);
      expect(serverStream.readUIntLE(chunkOffset, 3)).toBe(end - start);
      expect(serverStream[chunkOffset + 3]).toBe(seq);
      offsets.push(chunkOffset);
    });
    expect(offsets[0]).toBe(0);
    expect(framer.pendingBytes).toBe(0);
    expect(framer.packets).toBe(40);
  });

  it("reports chunkOffset -1 and a copy for a packet split across chunks", () => {
    const framer = new MysqlFramer();
    const seen: number[] = [];
    const a = serverStream.subarray(0, 50);
    const b = serverStream.subarray(50, 104);
    framer.push(a, (_s, _b, _st, _e, off) => seen.push(off));
    expect(seen).toEqual([]);
    expect(framer.pendingBytes).toBe(46);
    framer.push(b, (_s, buf, start, end, off) => {
      seen.push(off);
      expect(buf.subarray(start, end).equals(serverStream.subarray(4, 104))).toBe(true);
    });
    expect(seen).toEqual([-1]);
    expect(framer.pendingBytes).toBe(0);
  });
});

describe("MysqlFramer continuation packets", () => {
  it("joins a payload longer than 16 MB sent as two physical packets", () => {
    const payload = Buffer.alloc(MAX_PAYLOAD_LENGTH + 1000);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = (i >> 12) & 0xff;
    payload[payload.length - 1] = 0x7e;
    const wire = encodePacket(payload, 5);
    expect(wire.length).toBe(payload.length + 8);
    expect(wire[3]).toBe(5);
    expect(wire[MAX_PAYLOAD_LENGTH + 4 + 3]).toBe(6);

    const framer = new MysqlFramer();
    const got: { seq: number; len: number; equal: boolean }[] = [];
    for (let i = 0; i < wire.length; i += 65536) {
      framer.push(wire.subarray(i, i + 65536), (seq, buf, start, end, off, len) => {
        expect(off).toBe(-1);
        got.push({ seq, len, equal: buf.subarray(start, end).equals(payload) });
      });
    }
    expect(got).toEqual([{ seq: 5, len: payload.length, equal: true }]);
    expect(framer.lastSeq).toBe(6);
    expect(framer.pendingBytes).toBe(0);
  });

  it("ends a payload of exactly 0xFFFFFF bytes with an empty packet", () => {
    const payload = Buffer.alloc(MAX_PAYLOAD_LENGTH, 0x61);
    const wire = encodePacket(payload, 0);
    expect(wire.length).toBe(MAX_PAYLOAD_LENGTH + 8);
    expect(wire.subarray(wire.length - 4)).toEqual(Buffer.from([0, 0, 0, 1]));
    const lengths: number[] = [];
    new MysqlFramer().push(wire, (_s, _b, start, end) => lengths.push(end - start));
    expect(lengths).toEqual([MAX_PAYLOAD_LENGTH]);
    const next = packet(2, [0x00, 0, 0, 2, 0, 0, 0]);
    const f = new MysqlFramer();
    const seqs: number[] = [];
    f.push(Buffer.concat([wire, next]), (seq) => seqs.push(seq));
    expect(seqs).toEqual([0, 2]);
  });
});

describe("MysqlFramer peek mode", () => {
  it("does not assemble a 50 MB row: one call with its first bytes and its real length", () => {
    const total = 50 * 1024 * 1024;
    const payload = Buffer.alloc(total, 0x78);
    payload.write("\u00fcrow", 0, "latin1");
    const wire = Buffer.concat([encodePacket(payload, 7), packet(11, [0xfe, 0, 0, 2, 0])]);
    const framer = new MysqlFramer({ peek: 16, maxPacketLength: 64 * 1024 * 1024 });
    const seen: Seen[] = [];
    let maxPending = 0;
    for (let i = 0; i < wire.length; i += 65536) {
      framer.push(wire.subarray(i, i + 65536), (seq, buf, start, end, _off, length) => {
        expect(end - start).toBeLessThanOrEqual(16);
        seen.push({ seq, first: buf.toString("hex", start, end), length });
      });
      maxPending = Math.max(maxPending, framer.pendingBytes);
    }
    expect(seen).toEqual([
      { seq: 7, first: payload.toString("hex", 0, 16), length: total },
      { seq: 11, first: "fe00000200", length: 5 },
    ]);
    expect(maxPending).toBeLessThanOrEqual(20);
    expect(framer.packets).toBe(2);
  });

  it("passes small packets as views into the chunk", () => {
    const framer = new MysqlFramer({ peek: 32 });
    let calls = 0;
    framer.push(serverStream, (_seq, buf, start, end, off, length) => {
      calls++;
      expect(buf).toBe(serverStream);
      expect(start).toBe(off + 4);
      expect(end - start).toBe(Math.min(32, length));
    });
    expect(calls).toBe(40);
  });

  it("sees the same first bytes and lengths for every split of the stream", () => {
    const expected = framePackets([serverStream]).map((p) => ({
      seq: p.seq,
      first: p.payload.toString("hex", 0, 8),
      length: p.payload.length,
    }));
    for (let i = 0; i <= serverStream.length; i++) {
      expect(peekAll([serverStream.subarray(0, i), serverStream.subarray(i)], 8)).toEqual(expected);
    }
  });
});

describe("MysqlFramer bad input", () => {
  it("throws ProtocolError when a packet is longer than maxPacketLength", () => {
    const framer = new MysqlFramer({ maxPacketLength: 1024 });
    const wire = Buffer.from([0x01, 0x04, 0x00, 0x00]); // 1025 bytes announced
    expect(() => framer.push(wire, () => {})).toThrow(ProtocolError);
    const peeking = new MysqlFramer({ maxPacketLength: 1024, peek: 8 });
    expect(() => peeking.push(wire, () => {})).toThrow(/exceeds the limit/);
  });

  it("throws when continuation parts add up beyond maxPacketLength", () => {
    const framer = new MysqlFramer({ maxPacketLength: MAX_PAYLOAD_LENGTH + 10 });
    const first = Buffer.alloc(4 + MAX_PAYLOAD_LENGTH);
    first.writeUIntLE(MAX_PAYLOAD_LENGTH, 0, 3);
    framer.push(first, () => {});
    expect(() => framer.push(Buffer.from([11, 0, 0, 1]), () => {})).toThrow(ProtocolError);
  });
});

describe("MysqlFramer properties", () => {
  const packetArb = fc.record({
    seq: fc.integer({ min: 0, max: 255 }),
    payload: fc.uint8Array({ maxLength: 300 }),
  });

  it("split streams give the same packets", () => {
    fc.assert(
      fc.property(
        fc.array(packetArb, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (ps, cuts) => {
          const wire = Buffer.concat(ps.map((p) => packet(p.seq, Buffer.from(p.payload))));
          const expected = ps.map((p) => ({ seq: p.seq, payload: Buffer.from(p.payload) }));
          expect(framePackets(splitAt(wire, cuts))).toEqual(expected);
          const peeked = peekAll(splitAt(wire, cuts), 4);
          expect(peeked).toEqual(
            ps.map((p) => ({
              seq: p.seq,
              first: Buffer.from(p.payload).toString("hex", 0, 4),
              length: p.payload.length,
            })),
          );
        },
      ),
    );
  });

  it("random bytes only ever raise ProtocolError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        for (const peek of [0, 5]) {
          const framer = new MysqlFramer({ maxPacketLength: 4096, peek });
          try {
            for (const c of splitAt(Buffer.from(bytes), cuts)) framer.push(c, () => {});
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
          }
        }
      }),
    );
  });
});
