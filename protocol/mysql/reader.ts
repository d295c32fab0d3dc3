import { ProtocolError } from "../shared/protocol-error.js";

/**
 * A cursor over one packet payload buf[pos, end). Every read checks the bound and throws
 * ProtocolError past it, so decoders built on it never throw anything else on bad bytes.
 * Strings are decoded in place (no intermediate copies). Used by the decoders that run once
 * per connection or per error; the per-packet hot path uses the plain functions below.
 */
export class PacketReader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new ProtocolError(`packet too short reading ${what}`, "truncated");
    }
  }

  u8(): number {
    this.need(1, "int<1>");
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2, "int<2>");
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3, "int<3>");
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.need(4, "int<4>");
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8, "int<8>");
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  skip(n: number): void {
    this.need(n, "fixed bytes");
    this.pos += n;
  }

  /** Length-encoded integer as a bigint (lossless); 0xFB (NULL) reads as -1n. */
  lenencBig(): bigint {
    const first = this.u8();
    if (first < 0xfb) return BigInt(first);
    switch (first) {
      case 0xfb:
        return -1n;
      case 0xfc:
        return BigInt(this.u16());
      case 0xfd:
        return BigInt(this.u24());
      case 0xfe:
        return this.u64();
      default:
        throw new ProtocolError("invalid length-encoded integer prefix 0xff", "malformed");
    }
  }

  /**
   * Length-encoded integer as a number; 0xFB (NULL) reads as -1. Values above 2^53 throw:
   * every length and count in a packet is far below that.
   */
  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    switch (first) {
      case 0xfb:
        return -1;
      case 0xfc:
        return this.u16();
      case 0xfd:
        return this.u24();
      case 0xfe: {
        const v = this.u64();
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new ProtocolError("length-encoded integer too large", "malformed");
        }
        return Number(v);
      }
      default:
        throw new ProtocolError("invalid length-encoded integer prefix 0xff", "malformed");
    }
  }

  bytes(n: number): Buffer {
    this.need(n, "bytes");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Copy of n bytes, for values that must outlive the chunk they came in. */
  bytesCopy(n: number): Buffer {
    return Buffer.from(this.bytes(n));
  }

  string(n: number): string {
    this.need(n, "string");
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** NUL-terminated string; when `lenient`, a missing NUL ends the string at the packet end. */
  nulString(lenient = false): string {
    const i = this.buf.indexOf(0, this.pos);
    if (i < 0 || i >= this.end) {
      if (!lenient) throw new ProtocolError("unterminated string", "truncated");
      return this.rest();
    }
    const s = this.buf.toString("utf8", this.pos, i);
    this.pos = i + 1;
    return s;
  }

  /** NUL-terminated bytes (copy). */
  nulBytes(): Buffer {
    const i = this.buf.indexOf(0, this.pos);
    if (i < 0 || i >= this.end) throw new ProtocolError("unterminated string", "truncated");
    const b = Buffer.from(this.buf.subarray(this.pos, i));
    this.pos = i + 1;
    return b;
  }

  lenencString(): string {
    const n = this.lenenc();
    if (n < 0) return "";
    return this.string(n);
  }

  lenencBytes(): Buffer {
    const n = this.lenenc();
    if (n < 0) return Buffer.alloc(0);
    return this.bytesCopy(n);
  }

  /** The rest of the packet as a string. */
  rest(): string {
    const s = this.buf.toString("utf8", this.pos, this.end);
    this.pos = this.end;
    return s;
  }

  /** The rest of the packet (copy). */
  restBytes(): Buffer {
    const b = Buffer.from(this.buf.subarray(this.pos, this.end));
    this.pos = this.end;
    return b;
  }
}

/** Growable byte writer for the encoders (error and replay paths, not the relay). */
export class PacketWriter {
  private buf: Buffer;
  pos = 0;

  constructor(initial = 64) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }

  u24(v: number): this {
    this.ensure(3);
    this.buf.writeUIntLE(v & 0xffffff, this.pos, 3);
    this.pos += 3;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  string(s: string): this {
    const n = Buffer.byteLength(s, "utf8");
    this.ensure(n);
    this.buf.write(s, this.pos, "utf8");
    this.pos += n;
    return this;
  }

  nulString(s: string): this {
    return this.string(s).u8(0);
  }

  lenenc(v: number | bigint): this {
    const n = BigInt(v);
    if (n < 0n) throw new RangeError("length-encoded integer must be >= 0");
    if (n < 0xfbn) return this.u8(Number(n));
    if (n <= 0xffffn) return this.u8(0xfc).u16(Number(n));
    if (n <= 0xffffffn) return this.u8(0xfd).u24(Number(n));
    return this.u8(0xfe).u64(n);
  }

  lenencBytes(b: Uint8Array): this {
    return this.lenenc(b.length).bytes(b);
  }

  lenencString(s: string): this {
    return this.lenencBytes(Buffer.from(s, "utf8"));
  }

  /** The written bytes (a view of the internal buffer; the writer must not be reused). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * Position after the length-encoded integer at buf[pos] (no allocation; hot path).
 * Returns -1 when it does not fit before `end` or the prefix is 0xFF.
 */
export function skipLenenc(buf: Buffer, pos: number, end: number): number {
  if (pos >= end) return -1;
  const first = buf[pos]!;
  let next: number;
  if (first < 0xfb) next = pos + 1;
  else if (first === 0xfb) next = pos + 1;
  else if (first === 0xfc) next = pos + 3;
  else if (first === 0xfd) next = pos + 4;
  else if (first === 0xfe) next = pos + 9;
  else return -1;
  return next <= end ? next : -1;
}

/**
 * Value of the length-encoded integer at buf[pos] as a number (no allocation; hot path).
 * Returns -1 when truncated or invalid, -2 for the NULL marker 0xFB. 8-byte values are read
 * as doubles (exact below 2^53).
 */
export function readLenencNumber(buf: Buffer, pos: number, end: number): number {
  if (pos >= end) return -1;
  const first = buf[pos]!;
  if (first < 0xfb) return first;
  if (first === 0xfb) return -2;
  if (first === 0xfc) return pos + 3 <= end ? buf.readUInt16LE(pos + 1) : -1;
  if (first === 0xfd) return pos + 4 <= end ? buf.readUIntLE(pos + 1, 3) : -1;
  if (first === 0xfe) {
    if (pos + 9 > end) return -1;
    return buf.readUInt32LE(pos + 1) + buf.readUInt32LE(pos + 5) * 0x100000000;
  }
  return -1;
}

/** Encoded size of a length-encoded integer. */
export function lenencLength(v: number): number {
  if (v < 0xfb) return 1;
  if (v <= 0xffff) return 3;
  if (v <= 0xffffff) return 4;
  return 9;
}
