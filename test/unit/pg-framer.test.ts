import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BackendMessage as B,
  decodeQuery,
  decodeStartup,
  encodeCancelRequest,
  encodeGSSENCRequest,
  encodeQuery,
  encodeSSLRequest,
  encodeStartup,
  encodeSync,
  encodeTerminate,
  FrontendMessage as F,
  PgFramer,
  STARTUP,
} from "../../protocol/postgres/index.js";
import { ProtocolError } from "../../protocol/shared/protocol-error.js";
import { bytesOf, cutAt, fixture, frame, frameAll, int32, type SeenFrame } from "./pg-helpers.js";

const typesOf = (frames: SeenFrame[]) =>
  frames.map((f) => (f.type === 0 ? "0" : String.fromCharCode(f.type))).join("");

const noop = () => {};

function pushThrows(opts: ConstructorParameters<typeof PgFramer>[0], chunks: Buffer[]): unknown {
  const f = new PgFramer(opts);
  try {
    for (const c of chunks) f.push(c, noop);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("PgFramer on a real pg session", () => {
  const fe = fixture("session-frontend");
  const be = fixture("session-backend");

  it("frames the client side: startup, then simple and extended queries, then Terminate", () => {
    const frames = frameAll({ side: "frontend" }, [fe]);
    expect(typesOf(frames)).toBe("0QPBDESQPBDESX");
    const first = frames[0]!;
    const body = Buffer.from(first.body, "hex");
    const startup = decodeStartup(body, 0, body.length);
    expect(startup).toMatchObject({ kind: "startup", protocol: 196608 });
    expect(startup.kind === "startup" && startup.params.user).toBe("postgres");
    const q = Buffer.from(frames[1]!.body, "hex");
    expect(decodeQuery(q, 0, q.length)).toBe("SELECT 1 AS one");
  });

  it("frames the server side: auth, parameters, key, results, two errors", () => {
    expect(typesOf(frameAll({ side: "backend" }, [be]))).toBe("RSSSSSSSSSSSSSKZTDCZ12TDCZEZEZ");
  });

  it("reports chunkOffset at the frame's first byte and the body right after the header", () => {
    const offsets: number[] = [];
    const f = new PgFramer({ side: "backend" });
    f.push(be, (type, buf, start, _end, off) => {
      expect(buf).toBe(be);
      expect(be[off]).toBe(type);
      expect(start).toBe(off + 5);
      offsets.push(off);
    });
    expect(offsets[0]).toBe(0);
    expect(f.frames).toBe(30);
    expect(f.pendingBytes).toBe(0);
  });

  for (const [name, side, stream, subset] of [
    ["client", "frontend", fe, [F.Query, F.Parse, F.Sync]],
    ["server", "backend", be, [B.ErrorResponse, B.ReadyForQuery, B.CommandComplete]],
  ] as const) {
    for (const interest of ["all", subset] as const) {
      const label = interest === "all" ? "all" : "a subset";
      it(`${name} stream cut in two at every offset gives the same frames (interest ${label})`, () => {
        const whole = frameAll({ side, interest }, [stream]);
        expect(whole.length).toBeGreaterThan(3);
        for (let i = 0; i <= stream.length; i++) {
          expect(frameAll({ side, interest }, cutAt(stream, [i]))).toEqual(whole);
        }
      });

      it(`${name} stream in 1-byte chunks gives the same frames (interest ${label})`, () => {
        const whole = frameAll({ side, interest }, [stream]);
        expect(frameAll({ side, interest }, bytesOf(stream))).toEqual(whole);
      });
    }
  }

  it("a subset of interest reports only those types, yet counts every frame", () => {
    const f = new PgFramer({ side: "backend", interest: [B.ErrorResponse] });
    const seen: number[] = [];
    f.push(be, (t) => seen.push(t));
    expect(seen).toEqual([B.ErrorResponse, B.ErrorResponse]);
    expect(f.frames).toBe(30);
  });
});

describe("PgFramer carry across chunks", () => {
  it("skips an uninteresting 1 MB frame without carrying its body", () => {
    const big = frame("D", Buffer.alloc(1 << 20, 0x61));
    const stream = Buffer.concat([big, frame("Z", "I")]);
    const f = new PgFramer({ side: "backend", interest: [B.ReadyForQuery] });
    const seen: string[] = [];
    let maxPending = 0;
    for (let i = 0; i < stream.length; i += 1000) {
      f.push(stream.subarray(i, i + 1000), (t, buf, s, e) =>
        seen.push(String.fromCharCode(t) + buf.toString("latin1", s, e)),
      );
      maxPending = Math.max(maxPending, f.pendingBytes);
    }
    expect(seen).toEqual(["ZI"]);
    expect(maxPending).toBe(0);
    expect(f.frames).toBe(2);
  });

  it("keeps at most 5 header bytes while a header is split", () => {
    const f = new PgFramer({ side: "backend", interest: [] });
    const z = frame("Z", "I");
    f.push(z.subarray(0, 3), noop);
    expect(f.pendingBytes).toBe(3);
    f.push(z.subarray(3, 5), noop);
    expect(f.pendingBytes).toBe(0);
    f.push(z.subarray(5), noop);
    expect(f.frames).toBe(1);
  });

  it("reports chunkOffset -1 for a frame whose header began in the previous chunk", () => {
    const f = new PgFramer({ side: "backend" });
    const got: [string, number][] = [];
    const z = Buffer.concat([frame("Z", "I"), frame("Z", "T")]);
    const onFrame = (_t: number, buf: Buffer, s: number, e: number, off: number) =>
      got.push([buf.toString("latin1", s, e), off]);
    f.push(z.subarray(0, 8), onFrame);
    f.push(z.subarray(8), onFrame);
    expect(got).toEqual([
      ["I", 0],
      ["T", -1],
    ]);
  });

  it("assembles an interesting frame split over chunks and reports chunkOffset -1", () => {
    const q = encodeQuery("SELECT 'a long enough statement'");
    const f = new PgFramer({ side: "backend", interest: [F.Query] });
    const got: [string, number][] = [];
    const onFrame = (_t: number, buf: Buffer, s: number, e: number, off: number) =>
      got.push([decodeQuery(buf, s, e), off]);
    f.push(Buffer.concat([encodeSync(), q.subarray(0, 10)]), onFrame);
    expect(f.pendingBytes).toBe(5);
    f.push(q.subarray(10, 20), onFrame);
    expect(f.pendingBytes).toBe(15);
    f.push(Buffer.concat([q.subarray(20), q]), onFrame);
    expect(got).toEqual([
      ["SELECT 'a long enough statement'", -1],
      ["SELECT 'a long enough statement'", q.length - 20],
    ]);
    expect(f.pendingBytes).toBe(0);
  });
});

describe("PgFramer startup phase", () => {
  it("stays untyped after SSLRequest and GSSENCRequest, turns typed after a 3.0 StartupMessage", () => {
    const stream = Buffer.concat([
      encodeSSLRequest(),
      encodeGSSENCRequest(),
      encodeStartup({ user: "u", database: "d" }),
      encodeQuery("SELECT 1"),
      encodeTerminate(),
    ]);
    const f = new PgFramer({ side: "frontend", interest: [F.Query] });
    const kinds: string[] = [];
    const modes: boolean[] = [];
    f.push(stream, (t, buf, s, e) => {
      kinds.push(t === STARTUP ? decodeStartup(buf, s, e).kind : String.fromCharCode(t));
      modes.push(f.inStartup);
    });
    expect(kinds).toEqual(["ssl", "gssenc", "startup", "Q"]);
    expect(modes).toEqual([true, true, false, false]);
    expect(f.frames).toBe(5);
  });

  it("reports startup messages even when STARTUP is not in the interest set", () => {
    const got = frameAll({ side: "frontend", interest: [F.Sync] }, [
      Buffer.concat([encodeStartup({ user: "u" }), encodeQuery("x"), encodeSync()]),
    ]);
    expect(got.map((g) => g.type)).toEqual([STARTUP, F.Sync]);
  });

  it("a CancelRequest keeps the framer untyped", () => {
    const f = new PgFramer({ side: "frontend" });
    f.push(encodeCancelRequest(42, 7), noop);
    expect(f.inStartup).toBe(true);
  });

  it("expectStartup makes the next frame untyped again", () => {
    const f = new PgFramer({ side: "backend" });
    expect(f.inStartup).toBe(false);
    f.expectStartup();
    const seen: number[] = [];
    f.push(Buffer.concat([encodeStartup({ user: "u" }), encodeSync()]), (t) => seen.push(t));
    expect(seen).toEqual([STARTUP, F.Sync]);
  });
});

describe("PgFramer rejects impossible lengths", () => {
  const typed = (len: number) => Buffer.concat([Buffer.from("Q"), int32(len), Buffer.alloc(8)]);
  const untyped = (len: number) => Buffer.concat([int32(len), int32(196608), Buffer.alloc(8)]);
  const cases: [string, "frontend" | "backend", Buffer, string][] = [
    ["typed length 2^31 (0x80000000)", "backend", typed(-0x80000000), "bad-length"],
    ["typed length 3", "backend", typed(3), "bad-length"],
    ["typed length above maxFrameLength", "backend", typed(0x40000001), "frame-too-large"],
    ["startup length 7", "frontend", untyped(7), "bad-length"],
    ["startup length 20000", "frontend", untyped(20000), "bad-length"],
    ["type byte 0 after startup", "backend", Buffer.concat([Buffer.from([0]), int32(4)]), "bad-type"],
  ];
  for (const [name, side, bytes, reason] of cases) {
    it(`${name} → ProtocolError, whole or byte by byte`, () => {
      for (const chunks of [[bytes], bytesOf(bytes)]) {
        const e = pushThrows({ side }, chunks);
        expect(e).toBeInstanceOf(ProtocolError);
        expect((e as ProtocolError).reason).toBe(reason);
      }
    });
  }

  it("honours a smaller maxFrameLength", () => {
    const ok = pushThrows({ side: "backend", maxFrameLength: 100 }, [frame("D", Buffer.alloc(96))]);
    expect(ok).toBeUndefined();
    const e = pushThrows({ side: "backend", maxFrameLength: 100 }, [frame("D", Buffer.alloc(97))]);
    expect(e).toBeInstanceOf(ProtocolError);
  });

  it("accepts startup lengths 8 and 10000 exactly", () => {
    expect(pushThrows({ side: "frontend" }, [encodeSSLRequest()])).toBeUndefined();
    const big = Buffer.concat([int32(10000), int32(80877103), Buffer.alloc(9992)]);
    expect(pushThrows({ side: "frontend" }, [big])).toBeUndefined();
  });
});

describe("PgFramer properties", () => {
  const chunking = (len: number) => fc.uniqueArray(fc.integer({ min: 0, max: len }), { maxLength: 8 });

  it("random bytes never make push throw anything but ProtocolError", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("frontend" as const, "backend" as const),
        fc
          .uint8Array({ maxLength: 400 })
          .chain((a) => fc.tuple(fc.constant(Buffer.from(a)), chunking(a.length))),
        (side, [bytes, cuts]) => {
          const e = pushThrows(
            { side },
            cutAt(
              bytes,
              cuts.sort((x, y) => x - y),
            ),
          );
          return e === undefined || e instanceof ProtocolError;
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("random valid frame streams split at random points give the frames that were written", () => {
    const frameArb = fc.record({
      type: fc.integer({ min: 1, max: 255 }),
      body: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 20 }),
        fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { maxLength: 10 }), { nil: undefined }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, subset, rawCuts) => {
          const stream = Buffer.concat(
            frames.map((f) => frame(String.fromCharCode(f.type), Buffer.from(f.body))),
          );
          const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const interest = subset ?? "all";
          const wanted = subset === undefined ? frames : frames.filter((f) => subset.includes(f.type));
          const expected = wanted.map((f) => ({ type: f.type, body: Buffer.from(f.body).toString("hex") }));
          expect(frameAll({ side: "backend", interest }, cutAt(stream, cuts))).toEqual(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
