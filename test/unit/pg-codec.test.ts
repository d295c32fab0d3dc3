import fc from "fast-check";
import { serialize } from "pg-protocol";
import { Parser } from "pg-protocol/dist/parser.js";
import { describe, expect, it } from "vitest";
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeBind,
  decodeClose,
  decodeCommandComplete,
  decodeCopyFail,
  decodeDescribe,
  decodeErrorFields,
  decodeExecute,
  decodeNegotiateProtocolVersion,
  decodeNotification,
  decodeParameterStatus,
  decodeParse,
  decodeQuery,
  decodeReadyForQuery,
  decodeStartup,
  encodeAuthenticationOk,
  encodeBackendKeyData,
  encodeBind,
  encodeCancelRequest,
  encodeClose,
  encodeCommandComplete,
  encodeDescribe,
  encodeErrorResponse,
  encodeExecute,
  encodeFlush,
  encodeGSSENCRequest,
  encodeNoticeResponse,
  encodeParameterStatus,
  encodeParse,
  encodeQuery,
  encodeReadyForQuery,
  encodeSimpleMessage,
  encodeSSLRequest,
  encodeStartup,
  encodeSync,
  encodeTerminate,
  PgFramer,
  type PgErrorFields,
} from "../../protocol/postgres/index.js";
import { ProtocolError } from "../../protocol/shared/protocol-error.js";
import { cstr, fixture, frame, int16, int32 } from "./pg-helpers.js";

/** body view of a whole typed frame */
const body = (f: Buffer): [Buffer, number, number] => [f, 5, f.length];
/** body view of a whole untyped (startup-phase) message */
const ubody = (f: Buffer): [Buffer, number, number] => [f, 4, f.length];

/** every frame of one type in a stream, as whole frames */
function framesOf(side: "frontend" | "backend", stream: Buffer, type: string): Buffer[] {
  const out: Buffer[] = [];
  new PgFramer({ side, interest: [type.charCodeAt(0)] }).push(stream, (t, buf, s, e) => {
    if (t === type.charCodeAt(0)) out.push(Buffer.from(buf.subarray(s - 5, e)));
  });
  return out;
}

const expectProtocolError = (fn: () => unknown) => expect(fn).toThrow(ProtocolError);

describe("frontend messages: golden bytes", () => {
  it("Query is 'Q', length, SQL, NUL", () => {
    expect(encodeQuery("SELECT 1").toString("hex")).toBe("510000000d53454c4543542031" + "00");
    expect(decodeQuery(...body(encodeQuery("SELECT 'é'")))).toBe("SELECT 'é'");
  });

  it("SSLRequest, GSSENCRequest and CancelRequest carry the magic codes", () => {
    expect(encodeSSLRequest().toString("hex")).toBe("0000000804d2162f");
    expect(encodeGSSENCRequest().toString("hex")).toBe("0000000804d21630");
    expect(encodeCancelRequest(1234, 0xdeadbeef).toString("hex")).toBe("0000001004d2162e000004d2deadbeef");
    expect(decodeStartup(...ubody(encodeSSLRequest()))).toEqual({ kind: "ssl" });
    expect(decodeStartup(...ubody(encodeGSSENCRequest()))).toEqual({ kind: "gssenc" });
    expect(decodeStartup(...ubody(encodeCancelRequest(1234, 0xdeadbeef)))).toEqual({
      kind: "cancel",
      processId: 1234,
      secretKey: 0xdeadbeef | 0,
    });
  });

  it("a protocol 3.2 CancelRequest keeps a long secret key as bytes", () => {
    const key = Buffer.alloc(32, 7);
    const msg = decodeStartup(...ubody(encodeCancelRequest(9, key)));
    expect(msg).toEqual({ kind: "cancel", processId: 9, secretKey: key });
  });

  it("matches pg-protocol's serializer for startup, SSLRequest, cancel, Query and Terminate", () => {
    const params = { user: "postgres", database: "test", application_name: "x" };
    // pg-protocol appends client_encoding=UTF8 itself
    expect(encodeStartup({ ...params, client_encoding: "UTF8" })).toEqual(serialize.startup(params));
    expect(encodeSSLRequest()).toEqual(serialize.requestSsl());
    expect(encodeCancelRequest(77, 88)).toEqual(serialize.cancel(77, 88));
    expect(encodeQuery("select now()")).toEqual(serialize.query("select now()"));
    expect(encodeTerminate()).toEqual(serialize.end());
  });

  it("matches pg-protocol's serializer for Parse/Bind/Describe/Execute/Sync/Flush/Close", () => {
    expect(encodeParse("s1", "SELECT $1::int", [23])).toEqual(
      serialize.parse({ name: "s1", text: "SELECT $1::int", types: [23] }),
    );
    expect(encodeBind("", "s1", ["42", null], [0, 0], [0])).toEqual(
      serialize.bind({ statement: "s1", values: ["42", null] }),
    );
    expect(encodeDescribe("P")).toEqual(serialize.describe({ type: "P" }));
    expect(encodeExecute("", 0)).toEqual(serialize.execute({ portal: "", rows: 0 }));
    expect(encodeExecute("p1", 10)).toEqual(serialize.execute({ portal: "p1", rows: 10 }));
    expect(encodeSync()).toEqual(serialize.sync());
    expect(encodeFlush()).toEqual(serialize.flush());
    expect(encodeClose("S", "s1")).toEqual(serialize.close({ type: "S", name: "s1" }));
  });

  it("decodes the startup message pg sent to the real server", () => {
    const fe = fixture("session-frontend");
    const len = fe.readInt32BE(0);
    expect(decodeStartup(fe, 4, len)).toEqual({
      kind: "startup",
      protocol: 196608,
      params: { user: "postgres", database: "test", application_name: "capture", client_encoding: "UTF8" },
    });
  });

  it("decodes the extended-query messages pg sent to the real server", () => {
    const fe = fixture("session-frontend");
    const parses = framesOf("frontend", fe, "P").map((f) => decodeParse(...body(f)));
    expect(parses).toEqual([
      { name: "add", query: "SELECT $1::int + $2::int AS sum", paramTypes: [] },
      { name: "", query: "SELECT * FROM missing_table_xyz WHERE id = $1", paramTypes: [] },
    ]);
    const binds = framesOf("frontend", fe, "B").map((f) => decodeBind(...body(f)));
    expect(binds.map((b) => [b.portal, b.statement, b.params.map((p) => p?.toString())])).toEqual([
      ["", "add", ["2", "3"]],
      ["", "", ["7"]],
    ]);
    const describes = framesOf("frontend", fe, "D").map((f) => decodeDescribe(...body(f)));
    expect(describes).toEqual([
      { kind: "P", name: "" },
      { kind: "P", name: "" },
    ]);
    expect(framesOf("frontend", fe, "E").map((f) => decodeExecute(...body(f)))).toEqual([
      { portal: "", maxRows: 0 },
      { portal: "", maxRows: 0 },
    ]);
  });

  it("Bind keeps formats, NULLs and binary values", () => {
    const f = encodeBind("p", "s", [Buffer.from([0, 1, 2]), null, "x"], [1, 1, 0], [1]);
    const b = decodeBind(...body(f));
    expect(b).toEqual({
      portal: "p",
      statement: "s",
      paramFormats: [1, 1, 0],
      params: [Buffer.from([0, 1, 2]), null, Buffer.from("x")],
      resultFormats: [1],
    });
  });

  it("Close and Describe name a statement or a portal", () => {
    expect(decodeClose(...body(encodeClose("S", "stmt")))).toEqual({ kind: "S", name: "stmt" });
    expect(decodeDescribe(...body(encodeDescribe("S", "x")))).toEqual({ kind: "S", name: "x" });
    expectProtocolError(() => decodeClose(...body(frame("C", Buffer.concat([Buffer.from("X"), cstr("a")])))));
  });

  it("CopyFail carries the client's message", () => {
    expect(decodeCopyFail(...body(frame("f", cstr("aborted by user"))))).toBe("aborted by user");
  });

  it("a startup code of another protocol is reported as unknown", () => {
    const m = Buffer.concat([int32(12), int32(0x00020000), Buffer.alloc(4)]);
    expect(decodeStartup(...ubody(m))).toEqual({ kind: "unknown", code: 0x00020000 });
  });
});

describe("frontend messages: malformed bodies → ProtocolError", () => {
  it("Query without its NUL", () => {
    expectProtocolError(() => decodeQuery(...body(frame("Q", "SELECT 1"))));
  });
  it("Query with bytes after the NUL", () => {
    expectProtocolError(() => decodeQuery(...body(frame("Q", "SELECT 1\0junk"))));
  });
  it("a NUL after the body's end does not count", () => {
    const f = Buffer.concat([frame("Q", "SELECT 1"), Buffer.from([0])]);
    expectProtocolError(() => decodeQuery(f, 5, f.length - 1));
  });
  it("Parse with fewer parameter types than announced", () => {
    expectProtocolError(() =>
      decodeParse(...body(frame("P", Buffer.concat([cstr(""), cstr("x"), int16(2), int32(23)])))),
    );
  });
  it("Bind with a negative parameter length other than -1", () => {
    const b = Buffer.concat([cstr(""), cstr(""), int16(0), int16(1), int32(-2), int16(0)]);
    expectProtocolError(() => decodeBind(...body(frame("B", b))));
  });
  it("Bind whose value runs past the body", () => {
    const b = Buffer.concat([
      cstr(""),
      cstr(""),
      int16(0),
      int16(1),
      int32(100),
      Buffer.from("abc"),
      int16(0),
    ]);
    expectProtocolError(() => decodeBind(...body(frame("B", b))));
  });
  it("StartupMessage whose parameter list is not terminated", () => {
    const m = Buffer.concat([int32(0), int32(196608), cstr("user"), cstr("u")]);
    m.writeInt32BE(m.length, 0);
    expectProtocolError(() => decodeStartup(...ubody(m)));
  });
  it("CancelRequest with a 2-byte key", () => {
    const m = Buffer.concat([int32(14), int32(80877102), int32(1), Buffer.alloc(2)]);
    expectProtocolError(() => decodeStartup(...ubody(m)));
  });
  it("a parameter called __proto__ stays a plain parameter", () => {
    const m = Buffer.concat([int32(0), int32(196608), cstr("__proto__"), cstr("x"), cstr("")]);
    m.writeInt32BE(m.length, 0);
    const s = decodeStartup(...ubody(m));
    expect(s.kind === "startup" && Object.entries(s.params)).toEqual([["__proto__", "x"]]);
    expect(s.kind === "startup" && Object.getPrototypeOf(s.params)).toBeNull();
  });
});

describe("backend messages", () => {
  const be = fixture("session-backend");

  it("decodes every field of the real division-by-zero and missing-table errors", () => {
    const errors = framesOf("backend", be, "E").map((f) => decodeErrorFields(...body(f)));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({
      severity: "ERROR",
      severityNonLocalized: "ERROR",
      code: "22012",
      message: "division by zero",
      routine: "int4div",
    });
    expect(errors[1]).toMatchObject({
      severity: "ERROR",
      code: "42P01",
      message: 'relation "missing_table_xyz" does not exist',
      position: "15",
      routine: "parserOpenTable",
    });
    expect(errors[1]?.file).toMatch(/\.c$/);
    expect(errors[1]?.line).toMatch(/^\d+$/);
  });

  it("re-encoding a real ErrorResponse gives back the server's exact bytes", () => {
    for (const f of framesOf("backend", be, "E")) {
      expect(encodeErrorResponse(decodeErrorFields(...body(f))).toString("hex")).toBe(f.toString("hex"));
    }
  });

  it("agrees with pg-protocol's parser on the real errors", () => {
    const theirs: Record<string, unknown>[] = [];
    new Parser().parse(be, (msg) => {
      if (msg.name === "error") theirs.push(msg as unknown as Record<string, unknown>);
    });
    const ours = framesOf("backend", be, "E").map((f) => decodeErrorFields(...body(f)));
    expect(ours.map((e) => [e.severity, e.code, e.message, e.position, e.file, e.line, e.routine])).toEqual(
      theirs.map((e) => [e.severity, e.code, e.message, e.position, e.file, e.line, e.routine]),
    );
  });

  it("reads every named field and keeps unknown codes in other", () => {
    const codes = "SVCMDHPpqWstcdnFLR";
    const parts = [...codes].map((c) => Buffer.concat([Buffer.from(c), cstr(`v-${c}`)]));
    const f = frame("E", Buffer.concat([...parts, Buffer.from("Z"), cstr("zed"), Buffer.from([0])]));
    expect(decodeErrorFields(...body(f))).toEqual({
      severity: "v-S",
      severityNonLocalized: "v-V",
      code: "v-C",
      message: "v-M",
      detail: "v-D",
      hint: "v-H",
      position: "v-P",
      internalPosition: "v-p",
      internalQuery: "v-q",
      where: "v-W",
      schema: "v-s",
      table: "v-t",
      column: "v-c",
      dataType: "v-d",
      constraint: "v-n",
      file: "v-F",
      line: "v-L",
      routine: "v-R",
      other: { Z: "zed" },
    });
  });

  it("ErrorResponse without its final terminator → ProtocolError", () => {
    expectProtocolError(() =>
      decodeErrorFields(...body(frame("E", Buffer.concat([Buffer.from("S"), cstr("ERROR")])))),
    );
    expectProtocolError(() => decodeErrorFields(...body(frame("E", Buffer.from("SERROR")))));
  });

  it("NoticeResponse uses the same fields under 'N'", () => {
    const n = encodeNoticeResponse({ severity: "NOTICE", code: "00000", message: "hello" });
    expect(n[0]).toBe("N".charCodeAt(0));
    expect(decodeErrorFields(...body(n))).toEqual({ severity: "NOTICE", code: "00000", message: "hello" });
  });

  it("ReadyForQuery from the real session says idle, and I/T/E round-trip", () => {
    const rfq = framesOf("backend", be, "Z").map((f) => decodeReadyForQuery(...body(f)));
    expect(rfq).toEqual(["I", "I", "I", "I", "I"]);
    expect(encodeReadyForQuery("T").toString("hex")).toBe("5a0000000554");
    for (const s of ["I", "T", "E"] as const)
      expect(decodeReadyForQuery(...body(encodeReadyForQuery(s)))).toBe(s);
    expectProtocolError(() => decodeReadyForQuery(...body(frame("Z", "X"))));
    expectProtocolError(() => decodeReadyForQuery(...body(frame("Z", "II"))));
  });

  it("CommandComplete tags from the real session", () => {
    const tags = framesOf("backend", be, "C").map((f) => decodeCommandComplete(...body(f)));
    expect(tags).toEqual(["SELECT 1", "SELECT 1"]);
    expect(decodeCommandComplete(...body(encodeCommandComplete("INSERT 0 3")))).toBe("INSERT 0 3");
  });

  it("BackendKeyData and ParameterStatus from the real session", () => {
    const [key] = framesOf("backend", be, "K").map((f) => decodeBackendKeyData(...body(f)));
    expect(key?.processId).toBeGreaterThan(0);
    expect(typeof key?.secretKey).toBe("number");
    const params = framesOf("backend", be, "S").map((f) => decodeParameterStatus(...body(f)));
    expect(params).toContainEqual({ name: "client_encoding", value: "UTF8" });
    expect(params).toContainEqual({ name: "application_name", value: "capture" });
    expect(decodeBackendKeyData(...body(encodeBackendKeyData(5, -1)))).toEqual({
      processId: 5,
      secretKey: -1,
    });
    const long = Buffer.alloc(32, 9);
    expect(decodeBackendKeyData(...body(encodeBackendKeyData(5, long)))).toEqual({
      processId: 5,
      secretKey: long,
    });
    expect(decodeParameterStatus(...body(encodeParameterStatus("TimeZone", "UTC")))).toEqual({
      name: "TimeZone",
      value: "UTC",
    });
  });

  it("Authentication requests: ok, cleartext, md5 salt, SASL mechanisms and payloads", () => {
    expect(decodeAuthentication(...body(encodeAuthenticationOk()))).toEqual({ kind: "ok", code: 0 });
    expect(framesOf("backend", be, "R").map((f) => decodeAuthentication(...body(f)).kind)).toEqual(["ok"]);
    expect(decodeAuthentication(...body(frame("R", int32(3))))).toEqual({ kind: "cleartext", code: 3 });
    expect(
      decodeAuthentication(...body(frame("R", Buffer.concat([int32(5), Buffer.from([1, 2, 3, 4])])))),
    ).toEqual({
      kind: "md5",
      code: 5,
      salt: Buffer.from([1, 2, 3, 4]),
    });
    const sasl = frame(
      "R",
      Buffer.concat([int32(10), cstr("SCRAM-SHA-256-PLUS"), cstr("SCRAM-SHA-256"), cstr("")]),
    );
    expect(decodeAuthentication(...body(sasl))).toEqual({
      kind: "sasl",
      code: 10,
      mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"],
    });
    const cont = frame("R", Buffer.concat([int32(11), Buffer.from("r=abc,s=xyz,i=4096")]));
    expect(decodeAuthentication(...body(cont))).toEqual({
      kind: "saslContinue",
      code: 11,
      data: Buffer.from("r=abc,s=xyz,i=4096"),
    });
    expect(decodeAuthentication(...body(frame("R", int32(99))))).toEqual({ kind: "unknown", code: 99 });
    expectProtocolError(() =>
      decodeAuthentication(...body(frame("R", Buffer.concat([int32(5), Buffer.from([1])])))),
    );
  });

  it("NotificationResponse and NegotiateProtocolVersion", () => {
    const n = frame("A", Buffer.concat([int32(17), cstr("jobs"), cstr("{}")]));
    expect(decodeNotification(...body(n))).toEqual({ processId: 17, channel: "jobs", payload: "{}" });
    const v = frame("v", Buffer.concat([int32(0), int32(1), cstr("_pq_.x")]));
    expect(decodeNegotiateProtocolVersion(...body(v))).toEqual({
      minorVersion: 0,
      unrecognizedOptions: ["_pq_.x"],
    });
  });
});

describe("encoders refuse caller bugs with TypeError", () => {
  it("a NUL inside any string", () => {
    expect(() => encodeQuery("SELECT 1\0")).toThrow(TypeError);
    expect(() => encodeStartup({ user: "a\0b" })).toThrow(TypeError);
    expect(() =>
      encodeErrorResponse({ severity: "ERROR", code: "XX000", message: "m", detail: "\0" }),
    ).toThrow(TypeError);
    expect(() => encodeParse("", "x\0")).toThrow(TypeError);
  });
  it("an other-field key that is not one unnamed byte", () => {
    const base = { severity: "ERROR", code: "XX000", message: "m" };
    expect(() => encodeErrorResponse({ ...base, other: { S: "dup" } })).toThrow(TypeError);
    expect(() => encodeErrorResponse({ ...base, other: { ab: "x" } })).toThrow(TypeError);
  });
  it("a startup message above 10000 bytes, an empty parameter name, a bad status or type", () => {
    expect(() => encodeStartup({ options: "x".repeat(10000) })).toThrow(TypeError);
    expect(() => encodeStartup({ "": "x" })).toThrow(TypeError);
    expect(() => encodeReadyForQuery("X" as "I")).toThrow(TypeError);
    expect(() => encodeSimpleMessage(0)).toThrow(TypeError);
  });
  it("encodeSimpleMessage writes any type with its body", () => {
    expect(encodeSimpleMessage("d".charCodeAt(0), Buffer.from("ab")).toString("hex")).toBe("64000000066162");
  });
});

describe("codec properties", () => {
  const text = fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0"));
  const named = [
    "severityNonLocalized",
    "detail",
    "hint",
    "position",
    "internalPosition",
    "internalQuery",
  ] as const;
  const more = [
    "where",
    "schema",
    "table",
    "column",
    "dataType",
    "constraint",
    "file",
    "line",
    "routine",
  ] as const;
  const unknownCode = fc
    .integer({ min: 1, max: 255 })
    .map((c) => String.fromCharCode(c))
    .filter((c) => !"SVCMDHPpqWstcdnFLR".includes(c));

  const fieldsArb: fc.Arbitrary<PgErrorFields> = fc
    .record({
      severity: text,
      code: text,
      message: text,
      optional: fc.dictionary(fc.constantFrom(...named, ...more), text),
      other: fc.option(fc.dictionary(unknownCode, text, { minKeys: 1, maxKeys: 4 }), { nil: undefined }),
    })
    .map(({ optional, other, ...req }) => ({
      ...req,
      ...optional,
      ...(other === undefined ? {} : { other: { ...other } }),
    }));

  it("decodeErrorFields(encodeErrorResponse(x)) == x", () => {
    fc.assert(
      fc.property(fieldsArb, (x) => {
        expect(decodeErrorFields(...body(encodeErrorResponse(x)))).toEqual(x);
      }),
    );
  });

  it("decodeQuery(encodeQuery(sql)) == sql", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 500 }).filter((s) => !s.includes("\0")),
        (sql) => {
          expect(decodeQuery(...body(encodeQuery(sql)))).toBe(sql);
        },
      ),
    );
  });

  it("ReadyForQuery round-trips", () => {
    fc.assert(
      fc.property(fc.constantFrom("I" as const, "T" as const, "E" as const), (s) => {
        expect(decodeReadyForQuery(...body(encodeReadyForQuery(s)))).toBe(s);
      }),
    );
  });

  it("startup params round-trip and the framer switches to typed mode after them", () => {
    const key = text.filter((k) => k.length > 0);
    fc.assert(
      fc.property(fc.dictionary(key, text, { maxKeys: 8 }), (params) => {
        const plain = { ...params };
        const msg = encodeStartup(plain);
        expect(decodeStartup(...ubody(msg))).toEqual({ kind: "startup", protocol: 196608, params: plain });
        const f = new PgFramer({ side: "frontend" });
        f.push(msg, () => {});
        expect(f.inStartup).toBe(false);
      }),
    );
  });

  it("random bodies never make a decoder throw anything but ProtocolError", () => {
    const decoders = [
      decodeStartup,
      decodeQuery,
      decodeParse,
      decodeBind,
      decodeClose,
      decodeDescribe,
      decodeExecute,
      decodeCopyFail,
      decodeErrorFields,
      decodeReadyForQuery,
      decodeCommandComplete,
      decodeBackendKeyData,
      decodeAuthentication,
      decodeParameterStatus,
      decodeNotification,
      decodeNegotiateProtocolVersion,
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 8 }), (bytes, pad) => {
        const buf = Buffer.concat([Buffer.from(bytes), Buffer.alloc(pad)]);
        for (const d of decoders) {
          try {
            d(buf, 0, bytes.length);
          } catch (e) {
            if (!(e instanceof ProtocolError)) throw e;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
