import { ProtocolError } from "../shared/protocol-error.js";
import { HEADER_LENGTH, MAX_PAYLOAD_LENGTH } from "./constants.js";

/**
 * Called once per complete logical packet.
 * @param seq sequence id of the packet's first physical part (see MysqlFramer.lastSeq for the last)
 * @param buf,start,end the payload (or, in peek mode, its first bytes) as buf[start, end)
 * @param chunkOffset offset of the packet header inside the chunk passed to push(), or -1 when the
 *   packet did not arrive whole in that chunk (then buf is the framer's own buffer)
 * @param payloadLength the real logical payload length (continuations joined), even in peek mode
 */
export type PacketHandler = (
  seq: number,
  buf: Buffer,
  start: number,
  end: number,
  chunkOffset: number,
  payloadLength: number,
) => void;

export interface MysqlFramerOptions {
  /** Upper bound of a logical (joined) payload; default 64 MiB. Beyond it push() throws ProtocolError. */
  maxPacketLength?: number;
  /**
   * Peek mode: the handler gets at most the first `peek` payload bytes of each packet and the
   * rest is skipped by count, never assembled (a 50 MB row costs no copy). For an ordinary
   * packet the handler runs as soon as min(peek, length) payload bytes have arrived. For a
   * packet continued past 16 MB it runs when the header of the last part arrives, so that
   * payloadLength is exact; the peeked bytes are then copied into the framer's own buffer.
   * Use at least MIN_TRACKER_PEEK (32) when feeding MysqlResponseTracker.
   */
  peek?: number;
}

const DEFAULT_MAX_PACKET = 64 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

const STATE_HEADER = 0;
const STATE_BODY = 1;

/**
 * Splits a MySQL byte stream (one direction) into packets: 3-byte little-endian payload
 * length, 1-byte sequence id, payload. A physical payload of exactly 0xFFFFFF bytes means the
 * next physical packet continues it (an empty one ends a payload that is an exact multiple).
 *
 * Packets lying inside one chunk are handed out as views into the chunk (no copy); only
 * packets split across chunks are copied. No I/O, no allocation per packet on the common path.
 */
export class MysqlFramer {
  private readonly maxPacketLength: number;
  private readonly peek: number;
  private readonly peekBuf: Buffer;

  private state = STATE_HEADER;
  private readonly hdr = Buffer.alloc(HEADER_LENGTH);
  private hdrHave = 0;

  /** Remaining body bytes of the current physical packet. */
  private bodyRemaining = 0;
  /** The current physical packet has length 0xFFFFFF: another part follows. */
  private continued = false;
  /** A logical packet has begun (at least one part header read) and is not yet complete. */
  private inLogical = false;
  private firstPart = false;
  private firstSeq = 0;
  private logicalLen = 0;

  // peek mode
  private peekNeed = 0;
  private peekHave = 0;
  private fired = false;

  // assemble mode
  private partBuf: Buffer = EMPTY;
  private partHave = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;

  private _packets = 0;
  private _lastSeq = -1;

  constructor(opts: MysqlFramerOptions = {}) {
    this.maxPacketLength = opts.maxPacketLength ?? DEFAULT_MAX_PACKET;
    const peek = opts.peek ?? 0;
    if (!Number.isInteger(peek) || peek < 0) throw new RangeError("peek must be a non-negative integer");
    this.peek = peek;
    this.peekBuf = peek > 0 ? Buffer.allocUnsafe(peek) : EMPTY;
  }

  /** Complete logical packets delivered so far. */
  get packets(): number {
    return this._packets;
  }

  /**
   * Sequence id of the last physical packet header read (-1 before any). The peer expects the
   * packet answering it to carry (lastSeq + 1) & 0xff.
   */
  get lastSeq(): number {
    return this._lastSeq;
  }

  /** Bytes held in memory for a packet not yet delivered (header carry and partial payload). */
  get pendingBytes(): number {
    if (this.peek > 0) return this.hdrHave + (this.fired ? 0 : this.peekHave);
    return this.hdrHave + this.partsBytes + this.partHave;
  }

  /** True between packets: no partial header or body is pending. */
  get atBoundary(): boolean {
    return this.state === STATE_HEADER && this.hdrHave === 0 && !this.inLogical;
  }

  /**
   * Feed one chunk; calls onPacket for each complete logical packet, in order. Throws
   * ProtocolError when a logical payload exceeds maxPacketLength (the connection is then
   * unusable and must be closed).
   */
  push(chunk: Buffer, onPacket: PacketHandler): void {
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.state === STATE_HEADER) {
        let len: number;
        let seq: number;
        let hdrAt: number;
        if (this.hdrHave === 0 && n - pos >= HEADER_LENGTH) {
          len = chunk[pos]! | (chunk[pos + 1]! << 8) | (chunk[pos + 2]! << 16);
          seq = chunk[pos + 3]!;
          hdrAt = pos;
          pos += HEADER_LENGTH;
        } else {
          const take = Math.min(HEADER_LENGTH - this.hdrHave, n - pos);
          chunk.copy(this.hdr, this.hdrHave, pos, pos + take);
          this.hdrHave += take;
          pos += take;
          if (this.hdrHave < HEADER_LENGTH) return;
          const h = this.hdr;
          len = h[0]! | (h[1]! << 8) | (h[2]! << 16);
          seq = h[3]!;
          hdrAt = -1;
          this.hdrHave = 0;
        }
        this._lastSeq = seq;
        if (!this.inLogical) {
          this.inLogical = true;
          this.firstPart = true;
          this.firstSeq = seq;
          this.logicalLen = 0;
        } else {
          this.firstPart = false;
        }
        this.logicalLen += len;
        if (this.logicalLen > this.maxPacketLength) {
          throw new ProtocolError(
            `packet payload of at least ${this.logicalLen} bytes exceeds the limit of ${this.maxPacketLength}`,
            "packet_too_large",
          );
        }
        this.continued = len === MAX_PAYLOAD_LENGTH;
        this.bodyRemaining = len;

        if (this.peek > 0) {
          if (this.firstPart) {
            this.peekNeed = Math.min(this.peek, len);
            this.peekHave = 0;
            this.fired = false;
            if (!this.continued && hdrAt >= 0 && pos + this.peekNeed <= n) {
              this.fired = true;
              this._packets++;
              onPacket(seq, chunk, pos, pos + this.peekNeed, hdrAt, len);
            } else if (!this.continued && this.peekNeed === 0) {
              this.fired = true;
              this._packets++;
              onPacket(seq, EMPTY, 0, 0, -1, 0);
            }
          } else if (!this.continued) {
            // last part of a continued packet: the length is final now
            this.fired = true;
            this._packets++;
            onPacket(this.firstSeq, this.peekBuf, 0, this.peekHave, -1, this.logicalLen);
          }
          if (len === 0) {
            if (!this.continued) this.inLogical = false;
            continue;
          }
          this.state = STATE_BODY;
          continue;
        }

        // assemble mode
        if (!this.continued && this.parts.length === 0 && pos + len <= n) {
          this.inLogical = false;
          this._packets++;
          const start = pos;
          pos += len;
          onPacket(seq, chunk, start, start + len, hdrAt, len);
          continue;
        }
        this.partBuf = len > 0 ? Buffer.allocUnsafe(len) : EMPTY;
        this.partHave = 0;
        if (len === 0) {
          this.completePart(onPacket);
          continue;
        }
        this.state = STATE_BODY;
        continue;
      }

      // STATE_BODY
      const take = Math.min(this.bodyRemaining, n - pos);
      if (this.peek > 0) {
        if (!this.fired && this.firstPart && this.peekHave < this.peekNeed) {
          const c = Math.min(this.peekNeed - this.peekHave, take);
          chunk.copy(this.peekBuf, this.peekHave, pos, pos + c);
          this.peekHave += c;
          if (this.peekHave === this.peekNeed && !this.continued) {
            this.fired = true;
            this._packets++;
            onPacket(this.firstSeq, this.peekBuf, 0, this.peekNeed, -1, this.logicalLen);
          }
        }
        pos += take;
        this.bodyRemaining -= take;
        if (this.bodyRemaining === 0) {
          this.state = STATE_HEADER;
          if (!this.continued) this.inLogical = false;
        }
        continue;
      }
      chunk.copy(this.partBuf, this.partHave, pos, pos + take);
      this.partHave += take;
      pos += take;
      this.bodyRemaining -= take;
      if (this.bodyRemaining === 0) this.completePart(onPacket);
    }
  }

  private completePart(onPacket: PacketHandler): void {
    this.state = STATE_HEADER;
    if (this.continued) {
      this.parts.push(this.partBuf);
      this.partsBytes += this.partHave;
      this.partBuf = EMPTY;
      this.partHave = 0;
      return;
    }
    let payload = this.partBuf;
    if (this.parts.length > 0) {
      this.parts.push(this.partBuf);
      payload = Buffer.concat(this.parts, this.logicalLen);
      this.parts = [];
      this.partsBytes = 0;
    }
    this.partBuf = EMPTY;
    this.partHave = 0;
    this.inLogical = false;
    this._packets++;
    onPacket(this.firstSeq, payload, 0, payload.length, -1, payload.length);
  }
}
