import { ProtocolError } from "../shared/protocol-error.js";
import {
  AUTH_MORE_DATA_HEADER,
  AUTH_SWITCH_HEADER,
  CLIENT_CONNECT_ATTRS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_MYSQL,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
  CLIENT_PROTOCOL_41,
  CLIENT_SECURE_CONNECTION,
  CLIENT_SSL,
  ERR_HEADER,
} from "./constants.js";
import { PacketReader, PacketWriter } from "./reader.js";

/** The server's greeting (Protocol::HandshakeV10). */
export interface HandshakeV10 {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  /** The scramble: part 1 (8 bytes) and part 2 joined, part 2's terminating NUL removed. */
  authPluginData: Buffer;
  /**
   * Capability flags: lower 16 | upper 16 << 16, plus MariaDB's extended capabilities << 32
   * (present when CLIENT_MYSQL, bit 0, is clear).
   */
  capabilities: bigint;
  charset: number;
  statusFlags: number;
  /** "" when CLIENT_PLUGIN_AUTH is not set. */
  authPluginName: string;
  /** The auth-plugin-data length byte as sent (0 without CLIENT_PLUGIN_AUTH); kept for re-encoding. */
  authPluginDataLength: number;
}

/** Decode the greeting payload. An ERR greeting (e.g. 1040 too many connections) throws: check buf[start] first. */
export function decodeHandshakeV10(buf: Buffer, start: number, end: number): HandshakeV10 {
  const r = new PacketReader(buf, start, end);
  const protocolVersion = r.u8();
  if (protocolVersion === ERR_HEADER) {
    throw new ProtocolError("greeting is an ERR packet; decode it with decodeErr", "unexpected_packet");
  }
  if (protocolVersion !== 10) {
    throw new ProtocolError(`unsupported handshake protocol version ${protocolVersion}`, "unsupported");
  }
  const serverVersion = r.nulString();
  const connectionId = r.u32();
  const part1 = r.bytes(8);
  r.skip(1);
  let capabilities = BigInt(r.u16());
  let charset = 0;
  let statusFlags = 0;
  let authPluginDataLength = 0;
  let part2: Buffer = Buffer.alloc(0);
  let authPluginName = "";
  if (r.remaining > 0) {
    charset = r.u8();
    statusFlags = r.u16();
    capabilities |= BigInt(r.u16()) << 16n;
    authPluginDataLength = r.u8();
    r.skip(6);
    const ext = r.u32();
    if (!(capabilities & CLIENT_MYSQL)) capabilities |= BigInt(ext) << 32n;
    if (capabilities & CLIENT_SECURE_CONNECTION) {
      const n = Math.min(Math.max(13, authPluginDataLength - 8), r.remaining);
      part2 = r.bytes(n);
      if (part2.length > 0 && part2[part2.length - 1] === 0) part2 = part2.subarray(0, part2.length - 1);
    }
    if (capabilities & CLIENT_PLUGIN_AUTH) authPluginName = r.nulString(true);
  }
  return {
    protocolVersion,
    serverVersion,
    connectionId,
    authPluginData: Buffer.concat([part1, part2]),
    capabilities,
    charset,
    statusFlags,
    authPluginName,
    authPluginDataLength,
  };
}

/** Encode a greeting payload (no packet header); decodeHandshakeV10 gives back the same value. */
export function encodeHandshakeV10(h: HandshakeV10): Buffer {
  const caps = h.capabilities;
  const w = new PacketWriter(128);
  w.u8(h.protocolVersion).nulString(h.serverVersion).u32(h.connectionId);
  const part1 = h.authPluginData.subarray(0, 8);
  w.bytes(part1).zeros(8 - part1.length);
  w.u8(0).u16(Number(caps & 0xffffn));
  w.u8(h.charset)
    .u16(h.statusFlags)
    .u16(Number((caps >> 16n) & 0xffffn))
    .u8(h.authPluginDataLength)
    .zeros(6)
    .u32(caps & CLIENT_MYSQL ? 0 : Number((caps >> 32n) & 0xffffffffn));
  if (caps & CLIENT_SECURE_CONNECTION) {
    const part2 = h.authPluginData.subarray(8);
    const width = Math.max(13, h.authPluginDataLength - 8);
    w.bytes(part2).zeros(Math.max(0, width - part2.length));
  }
  if (caps & CLIENT_PLUGIN_AUTH) w.nulString(h.authPluginName);
  return w.finish();
}

/**
 * Clear capability bits (e.g. CLIENT_SSL | CLIENT_COMPRESS) in a greeting payload buf[start, end)
 * without re-encoding it. Mutates buf in place — the length does not change, so the packet
 * header in front stays valid and the original chunk can be forwarded — and returns the payload
 * view. Copy first (Buffer.from) if buf must stay untouched. MariaDB extended bits (>= 32) are
 * cleared too when the greeting carries them.
 */
export function clearCapabilities(buf: Buffer, start: number, end: number, mask: bigint): Buffer {
  if (end - start < 1 || buf[start] !== 10) {
    throw new ProtocolError("not a protocol 10 greeting", "malformed");
  }
  const nul = buf.indexOf(0, start + 1);
  if (nul < 0 || nul >= end) throw new ProtocolError("unterminated server version", "truncated");
  const low = nul + 1 + 4 + 8 + 1;
  if (low + 2 > end) throw new ProtocolError("greeting too short", "truncated");
  const lowCaps = buf.readUInt16LE(low);
  buf.writeUInt16LE(lowCaps & ~Number(mask & 0xffffn) & 0xffff, low);
  const high = low + 2 + 1 + 2;
  if (high + 2 <= end) {
    buf.writeUInt16LE(buf.readUInt16LE(high) & ~Number((mask >> 16n) & 0xffffn) & 0xffff, high);
    const ext = high + 2 + 1 + 6;
    if (!(lowCaps & 1) && ext + 4 <= end) {
      const cleared = buf.readUInt32LE(ext) & ~Number((mask >> 32n) & 0xffffffffn);
      buf.writeUInt32LE(cleared >>> 0, ext);
    }
  }
  return buf.subarray(start, end);
}

/** The client's answer to the greeting (Protocol::HandshakeResponse41), or an SSLRequest. */
export interface HandshakeResponse41 {
  /** Client capabilities, MariaDB extended ones (<< 32) included when CLIENT_MYSQL is clear. */
  capabilities: bigint;
  maxPacketSize: number;
  charset: number;
  /** The 32-byte SSLRequest: only the fields above are set; TLS starts next. */
  isSslRequest: boolean;
  user: string;
  authResponse: Buffer;
  database?: string;
  authPluginName?: string;
  /** Connection attributes (CLIENT_CONNECT_ATTRS), e.g. program_name, _client_name. */
  attributes: Record<string, string>;
}

const SSL_REQUEST_LENGTH = 32;

/** True when the payload is the 32-byte SSLRequest (CLIENT_SSL set, nothing after the filler). */
export function isSslRequest(buf: Buffer, start: number, end: number): boolean {
  return end - start === SSL_REQUEST_LENGTH && (buf.readUInt32LE(start) & Number(CLIENT_SSL)) !== 0;
}

function readConnectAttrs(r: PacketReader, into: Record<string, string>): void {
  const total = r.lenenc();
  if (total < 0 || total > r.remaining)
    throw new ProtocolError("bad connection attributes length", "malformed");
  const sub = new PacketReader(r.buf, r.pos, r.pos + total);
  while (sub.remaining > 0) {
    const k = sub.lenencString();
    into[k] = sub.lenencString();
  }
  r.pos += total;
}

export function decodeHandshakeResponse41(buf: Buffer, start: number, end: number): HandshakeResponse41 {
  const r = new PacketReader(buf, start, end);
  let capabilities = BigInt(r.u32());
  if (!(capabilities & CLIENT_PROTOCOL_41)) {
    throw new ProtocolError("pre-4.1 handshake response is not supported", "unsupported");
  }
  const maxPacketSize = r.u32();
  const charset = r.u8();
  r.skip(19);
  const ext = r.u32();
  if (!(capabilities & CLIENT_MYSQL)) capabilities |= BigInt(ext) << 32n;
  const out: HandshakeResponse41 = {
    capabilities,
    maxPacketSize,
    charset,
    isSslRequest: false,
    user: "",
    authResponse: Buffer.alloc(0),
    attributes: {},
  };
  if (r.remaining === 0) {
    if (!(capabilities & CLIENT_SSL)) throw new ProtocolError("handshake response without user", "truncated");
    out.isSslRequest = true;
    return out;
  }
  out.user = r.nulString();
  if (capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) out.authResponse = r.lenencBytes();
  else if (capabilities & CLIENT_SECURE_CONNECTION) out.authResponse = r.bytesCopy(r.u8());
  else out.authResponse = r.nulBytes();
  if (capabilities & CLIENT_CONNECT_WITH_DB && r.remaining > 0) out.database = r.nulString(true);
  if (capabilities & CLIENT_PLUGIN_AUTH && r.remaining > 0) out.authPluginName = r.nulString(true);
  if (capabilities & CLIENT_CONNECT_ATTRS && r.remaining > 0) readConnectAttrs(r, out.attributes);
  return out;
}

function writeAttrs(w: PacketWriter, attributes: Record<string, string>): void {
  const inner = new PacketWriter(64);
  for (const [k, v] of Object.entries(attributes)) inner.lenencString(k).lenencString(v);
  w.lenencBytes(inner.finish());
}

/** Encode a handshake response payload (or the SSLRequest when isSslRequest). */
export function encodeHandshakeResponse41(h: HandshakeResponse41): Buffer {
  const caps = h.capabilities;
  const w = new PacketWriter(128);
  w.u32(Number(caps & 0xffffffffn))
    .u32(h.maxPacketSize)
    .u8(h.charset)
    .zeros(19)
    .u32(caps & CLIENT_MYSQL ? 0 : Number((caps >> 32n) & 0xffffffffn));
  if (h.isSslRequest) return w.finish();
  w.nulString(h.user);
  if (caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) w.lenencBytes(h.authResponse);
  else if (caps & CLIENT_SECURE_CONNECTION) w.u8(h.authResponse.length).bytes(h.authResponse);
  else w.bytes(h.authResponse).u8(0);
  if (caps & CLIENT_CONNECT_WITH_DB) w.nulString(h.database ?? "");
  if (caps & CLIENT_PLUGIN_AUTH) w.nulString(h.authPluginName ?? "");
  if (caps & CLIENT_CONNECT_ATTRS) writeAttrs(w, h.attributes);
  return w.finish();
}

export interface AuthSwitchRequest {
  pluginName: string;
  /** Raw plugin data as sent (MySQL appends a NUL to the scramble; it is kept). */
  pluginData: Buffer;
}

/** Decode an AuthSwitchRequest (0xFE during authentication). A bare 0xFE means mysql_old_password. */
export function decodeAuthSwitchRequest(buf: Buffer, start: number, end: number): AuthSwitchRequest {
  const r = new PacketReader(buf, start, end);
  if (r.u8() !== AUTH_SWITCH_HEADER) throw new ProtocolError("not an AuthSwitchRequest", "malformed");
  if (r.remaining === 0) return { pluginName: "mysql_old_password", pluginData: Buffer.alloc(0) };
  const pluginName = r.nulString(true);
  return { pluginName, pluginData: r.restBytes() };
}

export function encodeAuthSwitchRequest(req: AuthSwitchRequest): Buffer {
  return new PacketWriter(32).u8(AUTH_SWITCH_HEADER).nulString(req.pluginName).bytes(req.pluginData).finish();
}

/** Decode AuthMoreData (0x01 during authentication; caching_sha2: 0x03 fast auth ok, 0x04 full auth, or a PEM key). */
export function decodeAuthMoreData(buf: Buffer, start: number, end: number): { data: Buffer } {
  const r = new PacketReader(buf, start, end);
  if (r.u8() !== AUTH_MORE_DATA_HEADER) throw new ProtocolError("not an AuthMoreData packet", "malformed");
  return { data: r.restBytes() };
}
