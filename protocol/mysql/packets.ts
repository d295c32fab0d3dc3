import { ProtocolError } from "../shared/protocol-error.js";
import {
  CLIENT_PROTOCOL_41,
  CLIENT_SESSION_TRACK,
  CLIENT_TRANSACTIONS,
  EOF_HEADER,
  ERR_HEADER,
  HEADER_LENGTH,
  MAX_PAYLOAD_LENGTH,
  OK_HEADER,
  PROGRESS_REPORT_CODE,
  SERVER_SESSION_STATE_CHANGED,
} from "./constants.js";
import { PacketReader, PacketWriter, skipLenenc } from "./reader.js";

export { lenencLength, PacketReader, PacketWriter, readLenencNumber, skipLenenc } from "./reader.js";

/** Capabilities assumed when a caller does not pass any: every server since 4.1. */
export const DEFAULT_CAPABILITIES = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;

export interface OkPacket {
  /** 0x00, or 0xFE when the OK ends a result set under CLIENT_DEPRECATE_EOF. */
  header: number;
  affectedRows: bigint;
  lastInsertId: bigint;
  statusFlags: number;
  warnings: number;
  info: string;
  /** Raw session state change block (CLIENT_SESSION_TRACK and SERVER_SESSION_STATE_CHANGED). */
  sessionStateChanges?: Buffer;
}

export interface ErrPacket {
  code: number;
  /** 5-character SQLSTATE; absent in pre-4.1 style errors (e.g. some sent before the handshake). */
  sqlstate?: string;
  message: string;
  /** MariaDB progress report (code 0xFFFF): not an error, the statement is still running. */
  isProgress: boolean;
  progress?: ProgressReport;
}

export interface ProgressReport {
  stage: number;
  maxStage: number;
  /** Percent of the current stage done, 0..100 with three decimals. */
  percent: number;
  info: string;
}

export interface EofPacket {
  warnings: number;
  statusFlags: number;
}

/** Header + payload; payloads of 16 MB and more are split into continuation packets. */
export function encodePacket(payload: Buffer, seq: number): Buffer {
  if (payload.length < MAX_PAYLOAD_LENGTH) {
    const out = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
    out.writeUIntLE(payload.length, 0, 3);
    out[3] = seq & 0xff;
    payload.copy(out, HEADER_LENGTH);
    return out;
  }
  const parts = Math.floor(payload.length / MAX_PAYLOAD_LENGTH) + 1;
  const out = Buffer.allocUnsafe(payload.length + parts * HEADER_LENGTH);
  let o = 0;
  let p = 0;
  for (let i = 0; i < parts; i++) {
    const len = Math.min(MAX_PAYLOAD_LENGTH, payload.length - p);
    out.writeUIntLE(len, o, 3);
    out[o + 3] = (seq + i) & 0xff;
    payload.copy(out, o + HEADER_LENGTH, p, p + len);
    o += HEADER_LENGTH + len;
    p += len;
  }
  return out;
}

/** Decode an OK packet (header 0x00, or 0xFE under CLIENT_DEPRECATE_EOF). */
export function decodeOk(
  buf: Buffer,
  start: number,
  end: number,
  caps: bigint = DEFAULT_CAPABILITIES,
): OkPacket {
  const r = new PacketReader(buf, start, end);
  const header = r.u8();
  if (header !== OK_HEADER && header !== EOF_HEADER) {
    throw new ProtocolError(`not an OK packet (header 0x${header.toString(16)})`, "malformed");
  }
  const affectedRows = r.lenencBig();
  const lastInsertId = r.lenencBig();
  let statusFlags = 0;
  let warnings = 0;
  if (caps & CLIENT_PROTOCOL_41) {
    statusFlags = r.u16();
    warnings = r.u16();
  } else if (caps & CLIENT_TRANSACTIONS) {
    statusFlags = r.u16();
  }
  const ok: OkPacket = { header, affectedRows, lastInsertId, statusFlags, warnings, info: "" };
  if (caps & CLIENT_SESSION_TRACK) {
    if (r.remaining > 0) ok.info = r.lenencString();
    if (statusFlags & SERVER_SESSION_STATE_CHANGED && r.remaining > 0) {
      ok.sessionStateChanges = r.lenencBytes();
    }
  } else {
    ok.info = r.rest();
  }
  return ok;
}

/**
 * Status flags of an OK packet (0x00 or 0xFE header) without decoding the rest; assumes
 * CLIENT_PROTOCOL_41. Returns -1 when the bytes are too short. No allocation (hot path).
 */
export function okStatusFlags(buf: Buffer, start: number, end: number): number {
  let p = skipLenenc(buf, start + 1, end);
  if (p < 0) return -1;
  p = skipLenenc(buf, p, end);
  if (p < 0 || p + 2 > end) return -1;
  return buf[p]! | (buf[p + 1]! << 8);
}

/** Status flags of a (non-deprecated) EOF packet, or -1 when too short. No allocation. */
export function eofStatusFlags(buf: Buffer, start: number, end: number): number {
  if (start + 5 > end) return -1;
  return buf[start + 3]! | (buf[start + 4]! << 8);
}

/** Error code of an ERR packet, or -1 when too short. No allocation. */
export function errCode(buf: Buffer, start: number, end: number): number {
  if (start + 3 > end) return -1;
  return buf[start + 1]! | (buf[start + 2]! << 8);
}

/** Decode an ERR packet; MariaDB progress reports (code 0xFFFF) come back with isProgress. */
export function decodeErr(buf: Buffer, start: number, end: number): ErrPacket {
  const r = new PacketReader(buf, start, end);
  const header = r.u8();
  if (header !== ERR_HEADER) {
    throw new ProtocolError(`not an ERR packet (header 0x${header.toString(16)})`, "malformed");
  }
  const code = r.u16();
  if (code === PROGRESS_REPORT_CODE) {
    const err: ErrPacket = { code, message: "", isProgress: true };
    // libmariadb: int<1> number of strings, int<1> stage, int<1> max stage, int<3> progress
    // in thousandths of a percent, lenenc string info. Tolerate shorter reports.
    if (r.remaining >= 6) {
      r.u8();
      const stage = r.u8();
      const maxStage = r.u8();
      const percent = r.u24() / 1000;
      const info = r.remaining > 0 ? r.lenencString() : "";
      err.progress = { stage, maxStage, percent, info };
      err.message = info;
    }
    return err;
  }
  const err: ErrPacket = { code, message: "", isProgress: false };
  if (r.remaining >= 6 && buf[r.pos] === 0x23 /* '#' */) {
    r.u8();
    err.sqlstate = r.string(5);
  }
  err.message = r.rest();
  return err;
}

/** Decode an EOF packet (0xFE, payload shorter than 9 bytes). */
export function decodeEof(buf: Buffer, start: number, end: number): EofPacket {
  const r = new PacketReader(buf, start, end);
  const header = r.u8();
  if (header !== EOF_HEADER) {
    throw new ProtocolError(`not an EOF packet (header 0x${header.toString(16)})`, "malformed");
  }
  if (r.remaining < 4) return { warnings: 0, statusFlags: 0 }; // pre-4.1: header only
  const warnings = r.u16();
  const statusFlags = r.u16();
  return { warnings, statusFlags };
}

export interface ErrInput {
  code: number;
  /** 5 characters; omitted → no '#sqlstate' marker (pre-4.1 style). */
  sqlstate?: string;
  message: string;
}

/** ERR payload (no header). */
export function encodeErrPayload(err: ErrInput): Buffer {
  const w = new PacketWriter(16 + err.message.length * 3);
  w.u8(ERR_HEADER).u16(err.code);
  if (err.sqlstate !== undefined) {
    if (Buffer.byteLength(err.sqlstate, "latin1") !== 5 || !/^[\x20-\x7e]{5}$/.test(err.sqlstate)) {
      throw new RangeError("sqlstate must be 5 ASCII characters");
    }
    w.u8(0x23).string(err.sqlstate);
  }
  w.string(err.message);
  return w.finish();
}

/**
 * A whole ERR packet (header included) to send to a client. `seq` must be the sequence id the
 * client expects next (MysqlResponseTracker.nextSeq): 1 right after a command.
 */
export function encodeErr(err: ErrInput, seq: number): Buffer {
  return encodePacket(encodeErrPayload(err), seq);
}

export interface OkInput {
  /** 0x00 (default) or 0xFE (end of a result set under CLIENT_DEPRECATE_EOF). */
  header?: number;
  affectedRows?: number | bigint;
  lastInsertId?: number | bigint;
  statusFlags?: number;
  warnings?: number;
  info?: string;
  sessionStateChanges?: Buffer;
}

/** OK payload (no header) for the given negotiated capabilities. */
export function encodeOkPayload(ok: OkInput, caps: bigint = DEFAULT_CAPABILITIES): Buffer {
  const w = new PacketWriter(32);
  const statusFlags = ok.statusFlags ?? 0;
  w.u8(ok.header ?? OK_HEADER)
    .lenenc(ok.affectedRows ?? 0)
    .lenenc(ok.lastInsertId ?? 0);
  if (caps & CLIENT_PROTOCOL_41) w.u16(statusFlags).u16(ok.warnings ?? 0);
  else if (caps & CLIENT_TRANSACTIONS) w.u16(statusFlags);
  const info = ok.info ?? "";
  if (caps & CLIENT_SESSION_TRACK) {
    const track = statusFlags & SERVER_SESSION_STATE_CHANGED && ok.sessionStateChanges;
    if (info.length > 0 || track) w.lenencString(info);
    if (track) w.lenencBytes(ok.sessionStateChanges!);
  } else {
    w.string(info);
  }
  return w.finish();
}

/** A whole OK packet (header included). */
export function encodeOk(ok: OkInput, seq: number, caps: bigint = DEFAULT_CAPABILITIES): Buffer {
  return encodePacket(encodeOkPayload(ok, caps), seq);
}

/** A whole EOF packet (header included); use encodeOk with header 0xFE under CLIENT_DEPRECATE_EOF. */
export function encodeEof(eof: Partial<EofPacket>, seq: number): Buffer {
  const w = new PacketWriter(5);
  w.u8(EOF_HEADER)
    .u16(eof.warnings ?? 0)
    .u16(eof.statusFlags ?? 0);
  return encodePacket(w.finish(), seq);
}
