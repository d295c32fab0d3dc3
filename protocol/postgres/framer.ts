import { ProtocolError } from "../shared/protocol-error.js";
import { DEFAULT_MAX_FRAME_LENGTH, MAX_STARTUP_LENGTH, MIN_STARTUP_LENGTH, STARTUP } from "./constants.js";

/**
 * Called once per complete frame of interest. buf[start, end) is the frame body: after the
 * type byte and length for typed frames; after the length (so starting at the 4-byte code)
 * for untyped startup-phase messages. chunkOffset is the offset in the pushed chunk of the
 * frame's first byte, or -1 when the frame began in an earlier chunk (then buf is an
 * assembled buffer, or a view into the current chunk when only the header was carried).
 */
export type FrameHandler = (
  type: number,
  buf: Buffer,
  start: number,
  end: number,
  chunkOffset: number,
) => void;

export interface PgFramerOptions {
  /** "frontend" = bytes a client sends (begins in startup mode), "backend" = bytes a server sends */
  side: "frontend" | "backend";
  /** frame types (char codes) whose whole frame the handler must see; "all" = every frame. Default "all".
   *  Startup-phase (untyped) messages are always reported, whatever the interest. */
  interest?: Iterable<number> | "all";
  /** largest allowed frame length (the int32 length field); default 1 GiB; larger → ProtocolError */
  maxFrameLength?: number;
}

const MAX_INT32 = 0x7fffffff;

/**
 * Splits one direction of a PostgreSQL connection into frames without copying bodies it
 * does not need. The state between chunks is: up to 5 header bytes, or a count of body
 * bytes still to skip, or the pieces of one interesting frame being assembled.
 *
 * Chunks are referenced (not copied) while an interesting frame is assembled across them,
 * so callers must not mutate a chunk after pushing it (Node socket chunks are never reused).
 * If the handler throws, the rest of that chunk is dropped; the connection should be closed.
 */
export class PgFramer {
  private readonly interestTable: Uint8Array;
  private readonly maxLen: number;
  private startupMode: boolean;
  /** carried header bytes (type + length, or length alone in startup mode) */
  private readonly hdr: Buffer = Buffer.alloc(5);
  private hdrHave = 0;
  /** body bytes of an uninteresting frame still to pass over */
  private skipLeft = 0;
  /** type of the frame being assembled, -1 when none */
  private asmType = -1;
  private asmLen = 0;
  private asmHave = 0;
  private readonly asmPieces: Buffer[] = [];
  private frameCount = 0;
  /** offset in the chunk being pushed just past the frame being delivered: valid inside the handler */
  frameEnd = 0;

  constructor(opts: PgFramerOptions) {
    if (opts.side !== "frontend" && opts.side !== "backend") {
      throw new TypeError(`PgFramer: side must be "frontend" or "backend"`);
    }
    this.startupMode = opts.side === "frontend";
    const max = opts.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    if (!Number.isInteger(max) || max < 4 || max > MAX_INT32) {
      throw new TypeError("PgFramer: maxFrameLength must be an integer in [4, 2^31-1]");
    }
    this.maxLen = max;
    this.interestTable = new Uint8Array(256);
    const interest = opts.interest ?? "all";
    if (interest === "all") {
      this.interestTable.fill(1);
    } else {
      for (const t of interest) {
        if (!Number.isInteger(t) || t < 0 || t > 255) {
          throw new TypeError(`PgFramer: interest type ${t} is not a byte`);
        }
        this.interestTable[t] = 1;
      }
    }
  }

  /** true while the next frame is an untyped startup-phase message */
  get inStartup(): boolean {
    return this.startupMode;
  }

  /** bytes of an unfinished frame currently carried (header tail or assembly) */
  get pendingBytes(): number {
    return this.hdrHave + (this.asmType >= 0 ? this.asmHave : 0);
  }

  /** true while the stream stands inside a frame (header, skipped body or assembly unfinished):
   *  a peer that closes now sent a truncated frame */
  get midFrame(): boolean {
    return this.hdrHave > 0 || this.skipLeft > 0 || this.asmType >= 0;
  }

  /** frames seen in total (all types, counted by header) */
  get frames(): number {
    return this.frameCount;
  }

  /** The next message is untyped again (after the proxy answered SSLRequest/GSSENCRequest with 'N',
   *  or when a new stream starts on this framer). Call it at a frame boundary. */
  expectStartup(): void {
    this.startupMode = true;
  }

  push(chunk: Buffer, onFrame: FrameHandler): void {
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.skipLeft > 0) {
        const avail = n - pos;
        if (this.skipLeft >= avail) {
          this.skipLeft -= avail;
          return;
        }
        pos += this.skipLeft;
        this.skipLeft = 0;
        continue;
      }

      if (this.asmType >= 0) {
        const avail = n - pos;
        const need = this.asmLen - this.asmHave;
        if (avail < need) {
          this.asmPieces.push(chunk.subarray(pos));
          this.asmHave += avail;
          return;
        }
        this.asmPieces.push(chunk.subarray(pos, pos + need));
        pos += need;
        const pieces = this.asmPieces;
        const body = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, this.asmLen);
        const type = this.asmType;
        pieces.length = 0;
        this.asmType = -1;
        this.asmLen = 0;
        this.asmHave = 0;
        this.frameEnd = pos;
        this.deliver(type, body, 0, body.length, -1, onFrame);
        continue;
      }

      // Header: 5 bytes typed, 4 bytes (length only) in startup mode.
      const startup = this.startupMode;
      const hsize = startup ? 4 : 5;
      let type: number;
      let len: number;
      let frameStart: number;
      if (this.hdrHave === 0 && n - pos >= hsize) {
        frameStart = pos;
        if (startup) {
          type = STARTUP;
          len = chunk.readInt32BE(pos);
        } else {
          type = chunk[pos]!;
          len = chunk.readInt32BE(pos + 1);
        }
        pos += hsize;
      } else {
        const take = Math.min(hsize - this.hdrHave, n - pos);
        chunk.copy(this.hdr, this.hdrHave, pos, pos + take);
        this.hdrHave += take;
        pos += take;
        if (this.hdrHave < hsize) return;
        this.hdrHave = 0;
        // A header that fits in one chunk takes the branch above, so this frame began earlier.
        frameStart = -1;
        if (startup) {
          type = STARTUP;
          len = this.hdr.readInt32BE(0);
        } else {
          type = this.hdr[0]!;
          len = this.hdr.readInt32BE(1);
        }
      }
      this.frameCount++;

      if (startup) {
        if (len < MIN_STARTUP_LENGTH || len > MAX_STARTUP_LENGTH) {
          throw new ProtocolError(`invalid startup packet length ${len}`, "bad-length");
        }
      } else {
        if (len < 4 || len > this.maxLen) {
          throw new ProtocolError(
            `invalid frame length ${len} for type 0x${type.toString(16)}`,
            len < 4 ? "bad-length" : "frame-too-large",
          );
        }
        if (type === STARTUP) {
          throw new ProtocolError("frame type 0 after startup", "bad-type");
        }
      }

      const bodyLen = len - 4;
      const avail = n - pos;
      if (!startup && this.interestTable[type] !== 1) {
        if (bodyLen <= avail) {
          pos += bodyLen;
        } else {
          this.skipLeft = bodyLen - avail;
          return;
        }
        continue;
      }
      if (bodyLen <= avail) {
        const start = pos;
        pos += bodyLen;
        this.frameEnd = pos;
        this.deliver(type, chunk, start, pos, frameStart, onFrame);
        continue;
      }
      // Interesting frame continues in a later chunk: keep views of its pieces.
      this.asmType = type;
      this.asmLen = bodyLen;
      this.asmHave = avail;
      if (avail > 0) this.asmPieces.push(chunk.subarray(pos));
      return;
    }
  }

  private deliver(
    type: number,
    buf: Buffer,
    start: number,
    end: number,
    chunkOffset: number,
    onFrame: FrameHandler,
  ): void {
    // A StartupMessage for protocol 3.x ends the untyped phase. SSLRequest, GSSENCRequest and
    // CancelRequest (code major 1234) keep it; so does an unknown code (the server rejects it).
    if (type === STARTUP && buf.readUInt16BE(start) === 3) {
      this.startupMode = false;
    }
    onFrame(type, buf, start, end, chunkOffset);
  }
}
