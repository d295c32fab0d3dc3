import { createHash, type Hash } from "node:crypto";
import { decodeParse } from "../../protocol/postgres/frontend.js";
import { BackendMessage, FrontendMessage } from "../../protocol/postgres/constants.js";
import { encodeQuery } from "../../protocol/postgres/encode.js";
import { PgFramer } from "../../protocol/postgres/framer.js";

/** One request unit of a transaction: the bytes the client sent and a checksum of the results it got. */
interface RecordedUnit {
  bytes: Buffer;
  checksum: string;
}

const ROLLBACK = encodeQuery("ROLLBACK");
const RESULT_FRAMES = [BackendMessage.DataRow, BackendMessage.CommandComplete, BackendMessage.ErrorResponse];

/** Checksum over what a response means (rows, command tags, errors), not incidental frames. */
class ResultChecksum {
  private hash: Hash = createHash("sha1");
  private readonly framer = new PgFramer({ side: "backend", interest: RESULT_FRAMES });

  feed(chunk: Buffer): void {
    this.framer.push(chunk, (type, buf, start, end) => {
      this.hash.update(Buffer.of(type));
      this.hash.update(buf.subarray(start, end));
    });
  }

  take(): string {
    const d = this.hash.digest("hex");
    this.hash = createHash("sha1");
    return d;
  }
}

/** Leave out named Parse frames: prepared statements outlive a rollback, so parsing again would fail. */
function withoutNamedParses(bytes: Buffer): Buffer {
  const keep: Buffer[] = [];
  let from = 0;
  let dropped = false;
  const framer = new PgFramer({ side: "backend", interest: "all" });
  framer.push(bytes, (type, buf, s, e) => {
    const end = framer.frameEnd;
    if (type === FrontendMessage.Parse && decodeParse(buf, s, e).name !== "") dropped = true;
    else keep.push(bytes.subarray(from, end));
    from = end;
  });
  return dropped ? Buffer.concat(keep) : bytes;
}

/**
 * Records an explicit transaction's request units (bounded in count and bytes) with a checksum of each
 * result the client received, and replays them after a deadlock or serialization failure: ROLLBACK, then
 * every unit again, comparing checksums. Only when every replayed result matches may the failed
 * statement run again; otherwise the caller passes the original error through.
 */
export class TxnRecorder {
  private units: RecordedUnit[] = [];
  private bytes = 0;
  /** false once the transaction outgrew the bounds or did something that cannot be replayed */
  replayable = false;
  active = false;
  private readonly checksum = new ResultChecksum();
  // replay state
  private replay: {
    index: number;
    done: (ok: boolean, why: string) => void;
    send: (b: Buffer) => void;
  } | null = null;
  private readonly replayChecksum = new ResultChecksum();

  constructor(private readonly bounds: () => { maxStatements: number; maxBytes: number }) {}

  get replaying(): boolean {
    return this.replay !== null;
  }

  get size(): number {
    return this.units.length;
  }

  /** A unit began while idle: if it opens a transaction its result is recorded from here. */
  begin(): void {
    this.units = [];
    this.bytes = 0;
    this.active = true;
    this.replayable = true;
  }

  /** Response bytes the client receives for the unit in flight. */
  onResponse(chunk: Buffer): void {
    if (this.active && this.replayable) this.checksum.feed(chunk);
  }

  /** The unit's ReadyForQuery arrived: keep it if the transaction is (still) open. */
  onUnitDone(unit: Buffer | null, statusAfter: number): void {
    if (!this.active) return;
    const digest = this.checksum.take();
    if (statusAfter !== 0x54 /* T */) {
      // committed, rolled back, or failed: nothing to replay any more
      this.active = false;
      this.units = [];
      this.bytes = 0;
      return;
    }
    if (!this.replayable) return;
    const b = this.bounds();
    if (unit === null || this.units.length >= b.maxStatements || this.bytes + unit.length > b.maxBytes) {
      this.replayable = false;
      this.units = [];
      return;
    }
    this.units.push({ bytes: unit, checksum: digest });
    this.bytes += unit.length;
  }

  /** Give up recording this transaction (pipelining, COPY, anything not replayable). */
  abandon(): void {
    this.replayable = false;
    this.units = [];
  }

  /**
   * Replay: `send` writes to the upstream; server chunks go to `onReplayChunk` with the ReadyForQuery
   * count; `done(ok)` is called when all units matched (ok) or at the first mismatch.
   */
  start(send: (b: Buffer) => void, done: (ok: boolean, why: string) => void): void {
    this.replay = { index: -1, send, done };
    send(ROLLBACK);
  }

  /** Frames scanned by the session: called with each server chunk during a replay and whether it held a ReadyForQuery. */
  onReplayChunk(chunk: Buffer, sawReady: boolean): void {
    const r = this.replay;
    if (!r) return;
    if (r.index >= 0) this.replayChecksum.feed(chunk);
    if (!sawReady) return;
    if (r.index >= 0) {
      const got = this.replayChecksum.take();
      const want = (this.units[r.index] as RecordedUnit).checksum;
      if (got !== want) {
        this.replay = null;
        r.send(ROLLBACK);
        r.done(false, `statement ${r.index + 1} of the transaction gave a different result on replay`);
        return;
      }
    }
    r.index++;
    const next = this.units[r.index];
    if (next === undefined) {
      this.replay = null;
      r.done(true, `${this.units.length} statement(s) replayed with identical results`);
      return;
    }
    r.send(withoutNamedParses(next.bytes));
  }

  /** The ROLLBACK sent after a mismatch answers with a ReadyForQuery that must not reach the client. */
  statementsText(): string {
    return this.units.map((u) => u.bytes.toString("base64")).join(",");
  }
}
