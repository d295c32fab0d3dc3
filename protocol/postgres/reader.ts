import { ProtocolError } from "../shared/protocol-error.js";

/**
 * A cursor over one frame body buf[pos, end). Decoders share one instance per module (they
 * are synchronous and never re-enter), so decoding allocates only what it returns.
 * Every read checks bounds against `end` and throws ProtocolError when the body is short.
 */
export class BodyReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;
  /** name of the message being decoded, for error texts */
  what = "";

  reset(buf: Buffer, start: number, end: number, what: string): this {
    if (start < 0 || end > buf.length || start > end) {
      throw new RangeError(`${what}: body range [${start}, ${end}) outside buffer of ${buf.length}`);
    }
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.what = what;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  short(): ProtocolError {
    return new ProtocolError(`${this.what}: message body too short`, "truncated");
  }

  byte(): number {
    if (this.pos >= this.end) throw this.short();
    return this.buf[this.pos++]!;
  }

  int16(): number {
    if (this.pos + 2 > this.end) throw this.short();
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    if (this.pos + 4 > this.end) throw this.short();
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** a view of the next n bytes (not a copy) */
  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.end) throw this.short();
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** a NUL-terminated UTF-8 string; the NUL must lie inside the body */
  cstring(): string {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) {
      throw new ProtocolError(`${this.what}: string not NUL-terminated`, "unterminated-string");
    }
    const s = this.buf.toString("utf8", this.pos, nul);
    this.pos = nul + 1;
    return s;
  }

  /** the body must be fully consumed */
  done(): void {
    if (this.pos !== this.end) {
      throw new ProtocolError(
        `${this.what}: ${this.end - this.pos} unexpected trailing bytes`,
        "trailing-bytes",
      );
    }
  }
}
