/**
 * Encoders: each returns one whole frame (type byte, int32 length, body) as a fresh Buffer,
 * sized exactly. Strings are UTF-8 and NUL-terminated; a string that contains NUL cannot be
 * sent and is a caller bug → TypeError.
 */
import type { PgErrorFields } from "./backend.js";
import { ERROR_FIELD_CODES, isKnownErrorFieldCode } from "./backend.js";
import {
  BackendMessage,
  CANCEL_REQUEST_CODE,
  FrontendMessage,
  GSSENC_REQUEST_CODE,
  MAX_STARTUP_LENGTH,
  PROTOCOL_3_0,
  SSL_REQUEST_CODE,
  type TransactionStatus,
} from "./constants.js";

/** byte length of s as a C string (UTF-8 + NUL); throws TypeError when s holds a NUL */
function cstrLen(s: string, what: string): number {
  if (typeof s !== "string") throw new TypeError(`${what}: expected a string`);
  if (s.indexOf("\0") !== -1) throw new TypeError(`${what}: string contains a NUL character`);
  return Buffer.byteLength(s, "utf8") + 1;
}

/** writes s + NUL at off (length already checked), returns the next offset */
function putCString(buf: Buffer, off: number, s: string): number {
  const n = buf.write(s, off, "utf8");
  buf[off + n] = 0;
  return off + n + 1;
}

/** a frame with header written; the body starts at offset 5 */
function typedFrame(type: number, bodyLen: number): Buffer {
  const buf = Buffer.allocUnsafe(5 + bodyLen);
  buf[0] = type;
  buf.writeInt32BE(4 + bodyLen, 1);
  return buf;
}

function checkType(type: number): void {
  if (!Number.isInteger(type) || type < 1 || type > 255) {
    throw new TypeError(`message type ${type} is not a byte in 1..255`);
  }
}

/** Any typed message: type byte (char code), length, then body as given. */
export function encodeSimpleMessage(type: number, body?: Uint8Array): Buffer {
  checkType(type);
  const len = body === undefined ? 0 : body.length;
  const buf = typedFrame(type, len);
  if (body !== undefined) buf.set(body, 5);
  return buf;
}

/** Any typed message whose body is a single C string (Query, CommandComplete, CopyFail, ...). */
function encodeStringMessage(type: number, s: string, what: string): Buffer {
  const buf = typedFrame(type, cstrLen(s, what));
  putCString(buf, 5, s);
  return buf;
}

function encodeFields(type: number, fields: PgErrorFields, what: string): Buffer {
  let size = 1; // final terminator
  for (const [, name] of ERROR_FIELD_CODES) {
    const v = fields[name];
    if (v === undefined) {
      if (name === "severity" || name === "code" || name === "message") size += 2;
      continue;
    }
    size += 1 + cstrLen(v, `${what}.${name}`);
  }
  const other = fields.other;
  if (other !== undefined) {
    for (const key of Object.keys(other)) {
      const c = key.charCodeAt(0);
      if (key.length !== 1 || c < 1 || c > 255 || isKnownErrorFieldCode(c)) {
        throw new TypeError(`${what}.other: "${key}" is not an unnamed one-byte field code`);
      }
      size += 1 + cstrLen(other[key]!, `${what}.other.${key}`);
    }
  }
  const buf = typedFrame(type, size);
  let off = 5;
  for (const [code, name] of ERROR_FIELD_CODES) {
    let v = fields[name];
    if (v === undefined) {
      if (name !== "severity" && name !== "code" && name !== "message") continue;
      v = "";
    }
    buf[off++] = code.charCodeAt(0);
    off = putCString(buf, off, v);
  }
  if (other !== undefined) {
    for (const key of Object.keys(other)) {
      buf[off++] = key.charCodeAt(0);
      off = putCString(buf, off, other[key]!);
    }
  }
  buf[off] = 0;
  return buf;
}

/** 'E' ErrorResponse; severity, code and message are always written. Round-trips with decodeErrorFields. */
export function encodeErrorResponse(fields: PgErrorFields): Buffer {
  return encodeFields(BackendMessage.ErrorResponse, fields, "ErrorResponse");
}

/** 'N' NoticeResponse, same fields as ErrorResponse. */
export function encodeNoticeResponse(fields: PgErrorFields): Buffer {
  return encodeFields(BackendMessage.NoticeResponse, fields, "NoticeResponse");
}

/** 'Z' ReadyForQuery. */
export function encodeReadyForQuery(status: TransactionStatus): Buffer {
  if (status !== "I" && status !== "T" && status !== "E") {
    throw new TypeError(`ReadyForQuery: invalid status ${String(status)}`);
  }
  const buf = typedFrame(BackendMessage.ReadyForQuery, 1);
  buf[5] = status.charCodeAt(0);
  return buf;
}

/** 'C' CommandComplete with a command tag. */
export function encodeCommandComplete(tag: string): Buffer {
  return encodeStringMessage(BackendMessage.CommandComplete, tag, "CommandComplete");
}

/** 'R' AuthenticationOk. */
export function encodeAuthenticationOk(): Buffer {
  const buf = typedFrame(BackendMessage.Authentication, 4);
  buf.writeInt32BE(0, 5);
  return buf;
}

/** 'S' ParameterStatus. */
export function encodeParameterStatus(name: string, value: string): Buffer {
  const buf = typedFrame(
    BackendMessage.ParameterStatus,
    cstrLen(name, "ParameterStatus.name") + cstrLen(value, "ParameterStatus.value"),
  );
  putCString(buf, putCString(buf, 5, name), value);
  return buf;
}

function checkKey(key: number | Uint8Array, what: string): void {
  if (typeof key === "number") {
    if (!Number.isInteger(key) || key < -0x80000000 || key > 0xffffffff) {
      throw new TypeError(`${what}: secret key ${key} is not a 32-bit integer`);
    }
  } else if (key.length < 4 || key.length > 256) {
    throw new TypeError(`${what}: secret key of ${key.length} bytes (4..256 allowed)`);
  }
}

function putKey(buf: Buffer, off: number, key: number | Uint8Array): void {
  if (typeof key === "number") buf.writeUInt32BE(key >>> 0, off);
  else buf.set(key, off);
}

/** 'K' BackendKeyData; a number key is 4 bytes, a Buffer key is written as is (protocol 3.2). */
export function encodeBackendKeyData(processId: number, secretKey: number | Uint8Array): Buffer {
  checkKey(secretKey, "BackendKeyData");
  const keyLen = typeof secretKey === "number" ? 4 : secretKey.length;
  const buf = typedFrame(BackendMessage.BackendKeyData, 4 + keyLen);
  buf.writeInt32BE(processId | 0, 5);
  putKey(buf, 9, secretKey);
  return buf;
}

// ---- frontend messages (replay clients, tests) ----

/** 'Q' Query. */
export function encodeQuery(sql: string): Buffer {
  return encodeStringMessage(FrontendMessage.Query, sql, "Query");
}

/** Untyped StartupMessage: length, protocol code, name/value pairs, final NUL. */
export function encodeStartup(params: Record<string, string>, protocol: number = PROTOCOL_3_0): Buffer {
  let size = 4 + 4 + 1;
  const keys = Object.keys(params);
  for (const k of keys) {
    if (k === "") throw new TypeError("startup: empty parameter name");
    size += cstrLen(k, "startup name") + cstrLen(params[k]!, `startup.${k}`);
  }
  if (size > MAX_STARTUP_LENGTH) {
    throw new TypeError(`startup: message of ${size} bytes exceeds ${MAX_STARTUP_LENGTH}`);
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt32BE(size, 0);
  buf.writeInt32BE(protocol, 4);
  let off = 8;
  for (const k of keys) {
    off = putCString(buf, off, k);
    off = putCString(buf, off, params[k]!);
  }
  buf[off] = 0;
  return buf;
}

function untypedCode(code: number): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeInt32BE(8, 0);
  buf.writeInt32BE(code, 4);
  return buf;
}

/** Untyped SSLRequest. */
export function encodeSSLRequest(): Buffer {
  return untypedCode(SSL_REQUEST_CODE);
}

/** Untyped GSSENCRequest. */
export function encodeGSSENCRequest(): Buffer {
  return untypedCode(GSSENC_REQUEST_CODE);
}

/** Untyped CancelRequest; a number key is 4 bytes, a Buffer key is written as is (protocol 3.2). */
export function encodeCancelRequest(processId: number, secretKey: number | Uint8Array): Buffer {
  checkKey(secretKey, "CancelRequest");
  const size = 12 + (typeof secretKey === "number" ? 4 : secretKey.length);
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt32BE(size, 0);
  buf.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  buf.writeInt32BE(processId | 0, 8);
  putKey(buf, 12, secretKey);
  return buf;
}

/** 'X' Terminate. */
export function encodeTerminate(): Buffer {
  return typedFrame(FrontendMessage.Terminate, 0);
}

/** 'S' Sync. */
export function encodeSync(): Buffer {
  return typedFrame(FrontendMessage.Sync, 0);
}

/** 'H' Flush. */
export function encodeFlush(): Buffer {
  return typedFrame(FrontendMessage.Flush, 0);
}

/** 'P' Parse. */
export function encodeParse(name: string, query: string, paramTypes: readonly number[] = []): Buffer {
  if (paramTypes.length > 0xffff) throw new TypeError("Parse: too many parameter types");
  const buf = typedFrame(
    FrontendMessage.Parse,
    cstrLen(name, "Parse.name") + cstrLen(query, "Parse.query") + 2 + 4 * paramTypes.length,
  );
  let off = putCString(buf, 5, name);
  off = putCString(buf, off, query);
  buf.writeUInt16BE(paramTypes.length, off);
  off += 2;
  for (const oid of paramTypes) {
    buf.writeUInt32BE(oid >>> 0, off);
    off += 4;
  }
  return buf;
}

/** 'B' Bind. Strings are sent as UTF-8 bytes, null as SQL NULL; formats as given (default: all text). */
export function encodeBind(
  portal: string,
  statement: string,
  params: readonly (string | Uint8Array | null)[] = [],
  paramFormats: readonly number[] = [],
  resultFormats: readonly number[] = [],
): Buffer {
  if (params.length > 0xffff || paramFormats.length > 0xffff || resultFormats.length > 0xffff) {
    throw new TypeError("Bind: too many parameters or format codes");
  }
  const values = params.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p));
  let size = cstrLen(portal, "Bind.portal") + cstrLen(statement, "Bind.statement");
  size += 2 + 2 * paramFormats.length + 2 + 2 + 2 * resultFormats.length;
  for (const v of values) size += 4 + (v === null ? 0 : v.length);
  const buf = typedFrame(FrontendMessage.Bind, size);
  let off = putCString(buf, 5, portal);
  off = putCString(buf, off, statement);
  off = buf.writeUInt16BE(paramFormats.length, off);
  for (const f of paramFormats) off = buf.writeInt16BE(f, off);
  off = buf.writeUInt16BE(values.length, off);
  for (const v of values) {
    if (v === null) {
      off = buf.writeInt32BE(-1, off);
    } else {
      off = buf.writeInt32BE(v.length, off);
      buf.set(v, off);
      off += v.length;
    }
  }
  off = buf.writeUInt16BE(resultFormats.length, off);
  for (const f of resultFormats) off = buf.writeInt16BE(f, off);
  return buf;
}

/** 'E' Execute; maxRows 0 = all rows. */
export function encodeExecute(portal = "", maxRows = 0): Buffer {
  const buf = typedFrame(FrontendMessage.Execute, cstrLen(portal, "Execute.portal") + 4);
  const off = putCString(buf, 5, portal);
  buf.writeInt32BE(maxRows, off);
  return buf;
}

function encodeTarget(type: number, kind: "S" | "P", name: string, what: string): Buffer {
  if (kind !== "S" && kind !== "P") throw new TypeError(`${what}: kind must be "S" or "P"`);
  const buf = typedFrame(type, 1 + cstrLen(name, `${what}.name`));
  buf[5] = kind.charCodeAt(0);
  putCString(buf, 6, name);
  return buf;
}

/** 'D' Describe a statement ('S') or portal ('P'). */
export function encodeDescribe(kind: "S" | "P", name = ""): Buffer {
  return encodeTarget(FrontendMessage.Describe, kind, name, "Describe");
}

/** 'C' Close a statement ('S') or portal ('P'). */
export function encodeClose(kind: "S" | "P", name = ""): Buffer {
  return encodeTarget(FrontendMessage.Close, kind, name, "Close");
}
