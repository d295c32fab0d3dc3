/**
 * Decoders of client→server messages. Each takes the frame body as the framer reports it
 * (buf[start, end), after the type byte and length) and throws only ProtocolError on
 * malformed input.
 */
import { ProtocolError } from "../shared/protocol-error.js";
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE } from "./constants.js";
import { BodyReader } from "./reader.js";

const r = new BodyReader();

export type StartupDecoded =
  | { kind: "startup"; protocol: number; params: Record<string, string> }
  | { kind: "ssl" }
  | { kind: "gssenc" }
  /** secretKey is a number for the classic 4-byte key, a Buffer (copy) for longer keys (protocol 3.2) */
  | { kind: "cancel"; processId: number; secretKey: number | Buffer }
  | { kind: "unknown"; code: number };

/** Untyped startup-phase message; the body begins at the 4-byte code. */
export function decodeStartup(buf: Buffer, start: number, end: number): StartupDecoded {
  r.reset(buf, start, end, "startup");
  const code = r.int32();
  if (code === SSL_REQUEST_CODE) {
    r.done();
    return { kind: "ssl" };
  }
  if (code === GSSENC_REQUEST_CODE) {
    r.done();
    return { kind: "gssenc" };
  }
  if (code === CANCEL_REQUEST_CODE) {
    const processId = r.int32();
    const keyLen = r.remaining;
    if (keyLen < 4 || keyLen > 256) {
      throw new ProtocolError(`CancelRequest: secret key of ${keyLen} bytes`, "bad-cancel");
    }
    if (keyLen === 4) return { kind: "cancel", processId, secretKey: r.int32() };
    return { kind: "cancel", processId, secretKey: Buffer.from(r.bytes(keyLen)) };
  }
  if (code >>> 16 !== 3) return { kind: "unknown", code };
  // Null prototype: a parameter named "__proto__" must stay a plain key.
  const params = Object.create(null) as Record<string, string>;
  for (;;) {
    const name = r.cstring();
    if (name === "") break;
    params[name] = r.cstring();
  }
  r.done();
  return { kind: "startup", protocol: code, params };
}

/** 'Q' Query → the SQL text. */
export function decodeQuery(buf: Buffer, start: number, end: number): string {
  r.reset(buf, start, end, "Query");
  const sql = r.cstring();
  r.done();
  return sql;
}

export interface ParseDecoded {
  /** prepared statement name, "" = unnamed */
  name: string;
  query: string;
  /** parameter type OIDs (0 = unspecified), as unsigned numbers */
  paramTypes: number[];
}

/** 'P' Parse. */
export function decodeParse(buf: Buffer, start: number, end: number): ParseDecoded {
  r.reset(buf, start, end, "Parse");
  const name = r.cstring();
  const query = r.cstring();
  const n = r.int16();
  if (n < 0) throw new ProtocolError(`Parse: negative parameter count ${n}`, "malformed");
  const paramTypes = new Array<number>(n);
  for (let i = 0; i < n; i++) paramTypes[i] = r.int32() >>> 0;
  r.done();
  return { name, query, paramTypes };
}

export interface BindDecoded {
  /** destination portal, "" = unnamed */
  portal: string;
  /** source prepared statement, "" = unnamed */
  statement: string;
  /** parameter format codes as sent: [] = all text, [f] = f for all, else one per parameter */
  paramFormats: number[];
  /** parameter values as views into the body (not copies); null = SQL NULL */
  params: (Buffer | null)[];
  /** result column format codes as sent */
  resultFormats: number[];
}

function formatCodes(what: string): number[] {
  const n = r.int16();
  if (n < 0) throw new ProtocolError(`${what}: negative format code count ${n}`, "malformed");
  const codes = new Array<number>(n);
  for (let i = 0; i < n; i++) codes[i] = r.int16();
  return codes;
}

/** 'B' Bind. Parameter values are views: copy them if they must outlive the chunk. */
export function decodeBind(buf: Buffer, start: number, end: number): BindDecoded {
  r.reset(buf, start, end, "Bind");
  const portal = r.cstring();
  const statement = r.cstring();
  const paramFormats = formatCodes("Bind");
  const n = r.int16();
  if (n < 0) throw new ProtocolError(`Bind: negative parameter count ${n}`, "malformed");
  const params = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) {
    const len = r.int32();
    if (len === -1) params[i] = null;
    else if (len < 0) throw new ProtocolError(`Bind: parameter length ${len}`, "malformed");
    else params[i] = r.bytes(len);
  }
  const resultFormats = formatCodes("Bind");
  r.done();
  return { portal, statement, paramFormats, params, resultFormats };
}

export interface TargetDecoded {
  /** 'S' prepared statement or 'P' portal */
  kind: "S" | "P";
  name: string;
}

function decodeTarget(buf: Buffer, start: number, end: number, what: string): TargetDecoded {
  r.reset(buf, start, end, what);
  const k = r.byte();
  if (k !== 0x53 && k !== 0x50) {
    throw new ProtocolError(`${what}: invalid target kind 0x${k.toString(16)}`, "malformed");
  }
  const name = r.cstring();
  r.done();
  return { kind: k === 0x53 ? "S" : "P", name };
}

/** 'C' Close (frontend). */
export function decodeClose(buf: Buffer, start: number, end: number): TargetDecoded {
  return decodeTarget(buf, start, end, "Close");
}

/** 'D' Describe (frontend). */
export function decodeDescribe(buf: Buffer, start: number, end: number): TargetDecoded {
  return decodeTarget(buf, start, end, "Describe");
}

export interface ExecuteDecoded {
  portal: string;
  /** 0 = no limit */
  maxRows: number;
}

/** 'E' Execute (frontend). */
export function decodeExecute(buf: Buffer, start: number, end: number): ExecuteDecoded {
  r.reset(buf, start, end, "Execute");
  const portal = r.cstring();
  const maxRows = r.int32();
  r.done();
  return { portal, maxRows };
}

/** 'f' CopyFail → the client's error message. */
export function decodeCopyFail(buf: Buffer, start: number, end: number): string {
  r.reset(buf, start, end, "CopyFail");
  const msg = r.cstring();
  r.done();
  return msg;
}
