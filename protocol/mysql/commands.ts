import { ProtocolError } from "../shared/protocol-error.js";
import {
  CLIENT_CONNECT_ATTRS,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PROTOCOL_41,
  CLIENT_QUERY_ATTRIBUTES,
  CLIENT_SECURE_CONNECTION,
  COM_CHANGE_USER,
  COM_FIELD_LIST,
  COM_INIT_DB,
  COM_PING,
  COM_PROCESS_KILL,
  COM_QUERY,
  COM_QUIT,
  COM_RESET_CONNECTION,
  COM_SET_OPTION,
  COM_STMT_BULK_EXECUTE,
  COM_STMT_CLOSE,
  COM_STMT_EXECUTE,
  COM_STMT_FETCH,
  COM_STMT_PREPARE,
  COM_STMT_RESET,
  COM_STMT_SEND_LONG_DATA,
  MYSQL_TYPE_DATE,
  MYSQL_TYPE_DATETIME,
  MYSQL_TYPE_DOUBLE,
  MYSQL_TYPE_FLOAT,
  MYSQL_TYPE_INT24,
  MYSQL_TYPE_LONG,
  MYSQL_TYPE_LONGLONG,
  MYSQL_TYPE_NULL,
  MYSQL_TYPE_SHORT,
  MYSQL_TYPE_TIME,
  MYSQL_TYPE_TIMESTAMP,
  MYSQL_TYPE_TINY,
  MYSQL_TYPE_YEAR,
} from "./constants.js";
import { encodePacket } from "./packets.js";
import { PacketReader, PacketWriter } from "./reader.js";

/** A query attribute (MySQL 8.0.23+, CLIENT_QUERY_ATTRIBUTES), value rendered as text. */
export interface QueryAttribute {
  name: string;
  /** Field type byte of the binary protocol. */
  type: number;
  /** null for SQL NULL; numbers in decimal; temporal values as hex of their binary form. */
  value: string | null;
}

/** A decoded client command. Narrow on `name`; `command` is the command byte. */
export type MysqlCommand =
  | { name: "COM_QUERY"; command: number; query: string; attributes: QueryAttribute[] }
  | { name: "COM_STMT_PREPARE"; command: number; query: string }
  | {
      name: "COM_STMT_EXECUTE" | "COM_STMT_BULK_EXECUTE";
      command: number;
      statementId: number;
      /** COM_STMT_EXECUTE: cursor type flags (passed through). COM_STMT_BULK_EXECUTE: bulk flags (int<2>). */
      flags: number;
      /** Always 1 for COM_STMT_EXECUTE; 0 for bulk. */
      iterationCount: number;
      /** Offset in buf where the parameter block starts (its layout needs the prepared parameter count). */
      paramsStart: number;
    }
  | { name: "COM_STMT_CLOSE" | "COM_STMT_RESET"; command: number; statementId: number }
  | {
      name: "COM_STMT_SEND_LONG_DATA";
      command: number;
      statementId: number;
      paramId: number;
      /** Offset in buf where the data starts. */
      dataStart: number;
    }
  | { name: "COM_STMT_FETCH"; command: number; statementId: number; numRows: number }
  | { name: "COM_INIT_DB"; command: number; schema: string }
  | {
      name: "COM_CHANGE_USER";
      command: number;
      user: string;
      authResponse: Buffer;
      database: string;
      charset?: number;
      authPluginName?: string;
      attributes: Record<string, string>;
    }
  | { name: "COM_FIELD_LIST"; command: number; table: string; wildcard: string }
  | { name: "COM_SET_OPTION"; command: number; option: number }
  | { name: "COM_PROCESS_KILL"; command: number; connectionId: number }
  | { name: "COM_QUIT" | "COM_PING" | "COM_RESET_CONNECTION" | "COM_OTHER"; command: number };

/** Capabilities assumed when decodeCommand is called without any. */
export const DEFAULT_COMMAND_CAPABILITIES =
  CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS;

function readBinaryValue(r: PacketReader, type: number, unsigned: boolean): string {
  switch (type) {
    case MYSQL_TYPE_NULL:
      return "";
    case MYSQL_TYPE_TINY: {
      const v = r.u8();
      return String(unsigned ? v : (v << 24) >> 24);
    }
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_YEAR: {
      const v = r.u16();
      return String(unsigned ? v : (v << 16) >> 16);
    }
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24: {
      const v = r.u32();
      return String(unsigned ? v : v | 0);
    }
    case MYSQL_TYPE_FLOAT:
      return String(r.bytes(4).readFloatLE(0));
    case MYSQL_TYPE_LONGLONG: {
      const v = r.u64();
      return String(unsigned ? v : BigInt.asIntN(64, v));
    }
    case MYSQL_TYPE_DOUBLE:
      return String(r.bytes(8).readDoubleLE(0));
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIME:
      return r.bytes(r.u8()).toString("hex");
    default:
      return r.lenencString();
  }
}

function readQueryAttributes(r: PacketReader): QueryAttribute[] {
  const count = r.lenenc();
  r.lenenc(); // parameter set count, always 1
  if (count <= 0) return [];
  if (count > r.remaining) throw new ProtocolError("bad query attribute count", "malformed");
  const bitmap = r.bytes((count + 7) >> 3);
  const bound = r.u8();
  if (bound !== 1) throw new ProtocolError("query attributes without types", "malformed");
  const attrs: QueryAttribute[] = [];
  const unsigned: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.u8();
    unsigned.push((r.u8() & 0x80) !== 0);
    attrs.push({ name: r.lenencString(), type, value: null });
  }
  for (let i = 0; i < count; i++) {
    if (bitmap[i >> 3]! & (1 << (i & 7))) continue;
    const a = attrs[i]!;
    a.value = readBinaryValue(r, a.type, unsigned[i]!);
  }
  return attrs;
}

function readAttrs(r: PacketReader): Record<string, string> {
  const out: Record<string, string> = {};
  const total = r.lenenc();
  if (total < 0 || total > r.remaining)
    throw new ProtocolError("bad connection attributes length", "malformed");
  const sub = new PacketReader(r.buf, r.pos, r.pos + total);
  while (sub.remaining > 0) {
    const k = sub.lenencString();
    out[k] = sub.lenencString();
  }
  r.pos += total;
  return out;
}

/**
 * Decode a command-phase client packet payload buf[start, end). `caps` are the negotiated
 * capabilities (they decide query attributes and the COM_CHANGE_USER layout). Unknown commands
 * decode as COM_OTHER. Throws ProtocolError on truncated or malformed packets.
 */
export function decodeCommand(
  buf: Buffer,
  start: number,
  end: number,
  caps: bigint = DEFAULT_COMMAND_CAPABILITIES,
): MysqlCommand {
  const r = new PacketReader(buf, start, end);
  const command = r.u8();
  switch (command) {
    case COM_QUERY: {
      const attributes = caps & CLIENT_QUERY_ATTRIBUTES ? readQueryAttributes(r) : [];
      return { name: "COM_QUERY", command, query: r.rest(), attributes };
    }
    case COM_STMT_PREPARE:
      return { name: "COM_STMT_PREPARE", command, query: r.rest() };
    case COM_STMT_EXECUTE: {
      const statementId = r.u32();
      const flags = r.u8();
      const iterationCount = r.u32();
      return { name: "COM_STMT_EXECUTE", command, statementId, flags, iterationCount, paramsStart: r.pos };
    }
    case COM_STMT_BULK_EXECUTE: {
      const statementId = r.u32();
      const flags = r.u16();
      return {
        name: "COM_STMT_BULK_EXECUTE",
        command,
        statementId,
        flags,
        iterationCount: 0,
        paramsStart: r.pos,
      };
    }
    case COM_STMT_CLOSE:
      return { name: "COM_STMT_CLOSE", command, statementId: r.u32() };
    case COM_STMT_RESET:
      return { name: "COM_STMT_RESET", command, statementId: r.u32() };
    case COM_STMT_SEND_LONG_DATA: {
      const statementId = r.u32();
      const paramId = r.u16();
      return { name: "COM_STMT_SEND_LONG_DATA", command, statementId, paramId, dataStart: r.pos };
    }
    case COM_STMT_FETCH: {
      const statementId = r.u32();
      return { name: "COM_STMT_FETCH", command, statementId, numRows: r.u32() };
    }
    case COM_INIT_DB:
      return { name: "COM_INIT_DB", command, schema: r.rest() };
    case COM_CHANGE_USER: {
      const user = r.nulString();
      const authResponse = caps & CLIENT_SECURE_CONNECTION ? r.bytesCopy(r.u8()) : r.nulBytes();
      const database = r.remaining > 0 ? r.nulString(true) : "";
      const out: MysqlCommand = {
        name: "COM_CHANGE_USER",
        command,
        user,
        authResponse,
        database,
        attributes: {},
      };
      if (r.remaining >= 2) out.charset = r.u16();
      if (caps & CLIENT_PLUGIN_AUTH && r.remaining > 0) out.authPluginName = r.nulString(true);
      if (caps & CLIENT_CONNECT_ATTRS && r.remaining > 0) out.attributes = readAttrs(r);
      return out;
    }
    case COM_FIELD_LIST: {
      const table = r.nulString();
      return { name: "COM_FIELD_LIST", command, table, wildcard: r.rest() };
    }
    case COM_SET_OPTION:
      return { name: "COM_SET_OPTION", command, option: r.u16() };
    case COM_PROCESS_KILL:
      return { name: "COM_PROCESS_KILL", command, connectionId: r.u32() };
    case COM_QUIT:
      return { name: "COM_QUIT", command };
    case COM_PING:
      return { name: "COM_PING", command };
    case COM_RESET_CONNECTION:
      return { name: "COM_RESET_CONNECTION", command };
    default:
      return { name: "COM_OTHER", command };
  }
}

/** Query text of a COM_QUERY / COM_STMT_PREPARE payload, or undefined for other commands. */
export function commandText(buf: Buffer, start: number, end: number, caps: bigint = 0n): string | undefined {
  if (end <= start) return undefined;
  const c = buf[start];
  if (c === COM_STMT_PREPARE || (c === COM_QUERY && !(caps & CLIENT_QUERY_ATTRIBUTES))) {
    return buf.toString("utf8", start + 1, end);
  }
  if (c === COM_QUERY) {
    const cmd = decodeCommand(buf, start, end, caps);
    return cmd.name === "COM_QUERY" ? cmd.query : undefined;
  }
  return undefined;
}

/**
 * A whole COM_QUERY packet (header included, seq 0) for replaying a statement. With
 * CLIENT_QUERY_ATTRIBUTES negotiated, pass caps so the (empty) attribute block is written.
 */
export function encodeQuery(sql: string, caps: bigint = 0n, seq = 0): Buffer {
  const w = new PacketWriter(sql.length + 8).u8(COM_QUERY);
  if (caps & CLIENT_QUERY_ATTRIBUTES) w.u8(0).u8(1);
  return encodePacket(w.string(sql).finish(), seq);
}

/** A whole COM_STMT_PREPARE packet (seq 0). */
export function encodeStmtPrepare(sql: string, seq = 0): Buffer {
  return encodePacket(new PacketWriter(sql.length + 8).u8(COM_STMT_PREPARE).string(sql).finish(), seq);
}

/** A whole packet for a command that carries a 4-byte statement id (COM_STMT_CLOSE / RESET). */
export function encodeStmtCommand(command: number, statementId: number, seq = 0): Buffer {
  return encodePacket(new PacketWriter(5).u8(command).u32(statementId).finish(), seq);
}

/** A whole COM_INIT_DB packet (seq 0). */
export function encodeInitDb(schema: string, seq = 0): Buffer {
  return encodePacket(new PacketWriter(schema.length + 8).u8(COM_INIT_DB).string(schema).finish(), seq);
}

/** A whole packet for a command without arguments (COM_PING, COM_QUIT, COM_RESET_CONNECTION...). */
export function encodeSimpleCommand(command: number, seq = 0): Buffer {
  return encodePacket(Buffer.from([command]), seq);
}
