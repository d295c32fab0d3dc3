/**
 * Decoders of server→client messages. Each takes the frame body as the framer reports it
 * (buf[start, end), after the type byte and length) and throws only ProtocolError on
 * malformed input.
 */
import { ProtocolError } from "../shared/protocol-error.js";
import type { TransactionStatus } from "./constants.js";
import { BodyReader } from "./reader.js";

const r = new BodyReader();

/**
 * Fields of an ErrorResponse / NoticeResponse, as strings exactly as sent. severity, code
 * and message are always sent by PostgreSQL; they decode as "" if a peer leaves them out.
 */
export interface PgErrorFields {
  /** S: ERROR, FATAL, PANIC, WARNING, NOTICE, ... (may be localized) */
  severity: string;
  /** V: severity, never localized (9.6+) */
  severityNonLocalized?: string;
  /** C: SQLSTATE */
  code: string;
  /** M: primary message */
  message: string;
  /** D: detail */
  detail?: string;
  /** H: hint */
  hint?: string;
  /** P: 1-based character position in the query text, as a decimal string */
  position?: string;
  /** p: position in an internally generated query */
  internalPosition?: string;
  /** q: the internally generated query */
  internalQuery?: string;
  /** W: context / call stack */
  where?: string;
  /** s: schema name */
  schema?: string;
  /** t: table name */
  table?: string;
  /** c: column name */
  column?: string;
  /** d: data type name */
  dataType?: string;
  /** n: constraint name */
  constraint?: string;
  /** F: source file */
  file?: string;
  /** L: source line, as a decimal string */
  line?: string;
  /** R: source routine */
  routine?: string;
  /** fields with codes not listed above, keyed by the one-character code */
  other?: Record<string, string>;
}

export type PgErrorFieldName = Exclude<keyof PgErrorFields, "other">;

/** Field code (char) → property name, in the order PostgreSQL writes them. */
export const ERROR_FIELD_CODES: ReadonlyArray<readonly [string, PgErrorFieldName]> = [
  ["S", "severity"],
  ["V", "severityNonLocalized"],
  ["C", "code"],
  ["M", "message"],
  ["D", "detail"],
  ["H", "hint"],
  ["P", "position"],
  ["p", "internalPosition"],
  ["q", "internalQuery"],
  ["W", "where"],
  ["s", "schema"],
  ["t", "table"],
  ["c", "column"],
  ["d", "dataType"],
  ["n", "constraint"],
  ["F", "file"],
  ["L", "line"],
  ["R", "routine"],
];

/** byte → property name, for decoding */
const FIELD_BY_BYTE: (PgErrorFieldName | undefined)[] = new Array(256).fill(undefined);
for (const [c, name] of ERROR_FIELD_CODES) FIELD_BY_BYTE[c.charCodeAt(0)] = name;

/** true when the one-character code is one of the named fields */
export function isKnownErrorFieldCode(code: number): boolean {
  return FIELD_BY_BYTE[code] !== undefined;
}

/** ErrorResponse ('E') and NoticeResponse ('N') bodies: every field, unknown codes in `other`. */
export function decodeErrorFields(buf: Buffer, start: number, end: number): PgErrorFields {
  r.reset(buf, start, end, "ErrorResponse");
  const f: PgErrorFields = { severity: "", code: "", message: "" };
  for (;;) {
    const t = r.byte();
    if (t === 0) break;
    const value = r.cstring();
    const name = FIELD_BY_BYTE[t];
    if (name !== undefined) {
      f[name] = value;
    } else {
      if (f.other === undefined) f.other = {};
      f.other[String.fromCharCode(t)] = value;
    }
  }
  r.done();
  return f;
}

/** 'Z' ReadyForQuery → transaction status: I idle, T in a transaction, E in a failed transaction. */
export function decodeReadyForQuery(buf: Buffer, start: number, end: number): TransactionStatus {
  if (end - start !== 1) {
    throw new ProtocolError(`ReadyForQuery: body of ${end - start} bytes`, "malformed");
  }
  const s = buf[start];
  if (s === 0x49) return "I";
  if (s === 0x54) return "T";
  if (s === 0x45) return "E";
  throw new ProtocolError(`ReadyForQuery: invalid status 0x${(s ?? 0).toString(16)}`, "malformed");
}

/** 'C' CommandComplete → the command tag ("SELECT 1", "INSERT 0 3", ...). */
export function decodeCommandComplete(buf: Buffer, start: number, end: number): string {
  r.reset(buf, start, end, "CommandComplete");
  const tag = r.cstring();
  r.done();
  return tag;
}

export interface BackendKeyData {
  processId: number;
  /** a number for the classic 4-byte key, a Buffer (copy) for longer keys (protocol 3.2) */
  secretKey: number | Buffer;
}

/** 'K' BackendKeyData. */
export function decodeBackendKeyData(buf: Buffer, start: number, end: number): BackendKeyData {
  r.reset(buf, start, end, "BackendKeyData");
  const processId = r.int32();
  const keyLen = r.remaining;
  if (keyLen < 4 || keyLen > 256) {
    throw new ProtocolError(`BackendKeyData: secret key of ${keyLen} bytes`, "malformed");
  }
  if (keyLen === 4) return { processId, secretKey: r.int32() };
  return { processId, secretKey: Buffer.from(r.bytes(keyLen)) };
}

export type AuthenticationKind =
  | "ok"
  | "kerberosV5"
  | "cleartext"
  | "md5"
  | "gss"
  | "gssContinue"
  | "sspi"
  | "sasl"
  | "saslContinue"
  | "saslFinal"
  | "unknown";

export interface AuthenticationDecoded {
  kind: AuthenticationKind;
  /** the int32 sub-code as sent */
  code: number;
  /** md5: the 4-byte salt (copy) */
  salt?: Buffer;
  /** sasl: mechanism names offered, e.g. ["SCRAM-SHA-256"] */
  mechanisms?: string[];
  /** gssContinue / saslContinue / saslFinal: the payload (copy) */
  data?: Buffer;
}

const AUTH_KINDS: Record<number, AuthenticationKind> = {
  0: "ok",
  2: "kerberosV5",
  3: "cleartext",
  5: "md5",
  7: "gss",
  8: "gssContinue",
  9: "sspi",
  10: "sasl",
  11: "saslContinue",
  12: "saslFinal",
};

/** 'R' Authentication*. */
export function decodeAuthentication(buf: Buffer, start: number, end: number): AuthenticationDecoded {
  r.reset(buf, start, end, "Authentication");
  const code = r.int32();
  const kind = AUTH_KINDS[code] ?? "unknown";
  switch (kind) {
    case "md5": {
      const salt = Buffer.from(r.bytes(4));
      r.done();
      return { kind, code, salt };
    }
    case "sasl": {
      const mechanisms: string[] = [];
      for (;;) {
        const m = r.cstring();
        if (m === "") break;
        mechanisms.push(m);
      }
      r.done();
      return { kind, code, mechanisms };
    }
    case "gssContinue":
    case "saslContinue":
    case "saslFinal":
      return { kind, code, data: Buffer.from(r.bytes(r.remaining)) };
    case "unknown":
      return { kind, code };
    default:
      r.done();
      return { kind, code };
  }
}

/** 'S' ParameterStatus → { name, value } (server_version, client_encoding, TimeZone, ...). */
export function decodeParameterStatus(
  buf: Buffer,
  start: number,
  end: number,
): { name: string; value: string } {
  r.reset(buf, start, end, "ParameterStatus");
  const name = r.cstring();
  const value = r.cstring();
  r.done();
  return { name, value };
}

/** 'A' NotificationResponse (LISTEN/NOTIFY). */
export function decodeNotification(
  buf: Buffer,
  start: number,
  end: number,
): { processId: number; channel: string; payload: string } {
  r.reset(buf, start, end, "NotificationResponse");
  const processId = r.int32();
  const channel = r.cstring();
  const payload = r.cstring();
  r.done();
  return { processId, channel, payload };
}

/** 'v' NegotiateProtocolVersion → newest minor version the server supports and options it did not recognise. */
export function decodeNegotiateProtocolVersion(
  buf: Buffer,
  start: number,
  end: number,
): { minorVersion: number; unrecognizedOptions: string[] } {
  r.reset(buf, start, end, "NegotiateProtocolVersion");
  const minorVersion = r.int32();
  const n = r.int32();
  if (n < 0 || n > r.remaining) {
    throw new ProtocolError(`NegotiateProtocolVersion: option count ${n}`, "malformed");
  }
  const unrecognizedOptions = new Array<string>(n);
  for (let i = 0; i < n; i++) unrecognizedOptions[i] = r.cstring();
  r.done();
  return { minorVersion, unrecognizedOptions };
}
