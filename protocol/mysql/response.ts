import { ProtocolError } from "../shared/protocol-error.js";
import {
  CLIENT_DEPRECATE_EOF,
  CLIENT_OPTIONAL_RESULTSET_METADATA,
  COM_BINLOG_DUMP,
  COM_BINLOG_DUMP_GTID,
  COM_CHANGE_USER,
  COM_FIELD_LIST,
  COM_PROCESS_INFO,
  COM_QUERY,
  COM_QUIT,
  COM_STATISTICS,
  COM_STMT_BULK_EXECUTE,
  COM_STMT_CLOSE,
  COM_STMT_EXECUTE,
  COM_STMT_FETCH,
  COM_STMT_PREPARE,
  COM_STMT_SEND_LONG_DATA,
  EOF_HEADER,
  ERR_HEADER,
  LOCAL_INFILE_HEADER,
  MARIADB_CLIENT_CACHE_METADATA,
  MAX_PAYLOAD_LENGTH,
  OK_HEADER,
  PROGRESS_REPORT_CODE,
  SERVER_MORE_RESULTS_EXISTS,
  SERVER_STATUS_CURSOR_EXISTS,
  SERVER_STATUS_IN_TRANS,
} from "./constants.js";
import { eofStatusFlags, errCode, okStatusFlags } from "./packets.js";
import { readLenencNumber, skipLenenc } from "./reader.js";

export type ResponseKind =
  /** the server greeting (HandshakeV10) */
  | "handshake"
  /** AuthSwitchRequest (0xFE) during authentication or COM_CHANGE_USER: the client answers next */
  | "auth-switch"
  /** AuthMoreData (0x01) during authentication */
  | "auth-more-data"
  | "ok"
  | "err"
  /** a classic EOF packet (also: end of result set under CLIENT_DEPRECATE_EOF is reported as "ok") */
  | "eof"
  /** MariaDB progress report (ERR with code 0xFFFF): not an error, the response goes on */
  | "progress"
  | "column-count"
  | "column"
  /** a text or binary result row (or a binlog event after COM_BINLOG_DUMP) */
  | "row"
  /** LOCAL INFILE request (0xFB): the client sends file packets, then an empty one, then the server answers OK/ERR */
  | "local-infile"
  /** first packet of a COM_STMT_PREPARE response */
  | "prepare-ok"
  /** a parameter definition of a COM_STMT_PREPARE response */
  | "param"
  /** the single string answering COM_STATISTICS */
  | "statistics"
  /** a packet the tracker does not model, taken as the end of the response (unmodelled commands) */
  | "other";

/**
 * What one server packet was. The tracker returns the SAME object from every onPacket call
 * (no allocation per packet): read it at once, copy it ({ ...ev }) to keep it.
 */
export interface ResponseEvent {
  kind: ResponseKind;
  /** The whole response to the current command (or the authentication) is complete. */
  done: boolean;
  /** Status flags when the packet carried them (OK, EOF), else undefined. */
  statusFlags: number | undefined;
  /** ERR code for "err" (0xFFFF for "progress"), else -1. */
  errorCode: number;
  /** Column count for "column-count", column count for "prepare-ok", else -1. */
  columnCount: number;
  /** Parameter count for "prepare-ok", else -1. */
  paramCount: number;
  /** Statement id for "prepare-ok", else -1. */
  statementId: number;
}

const S_IDLE = 0;
const S_GREETING = 1;
const S_AUTH = 2;
const S_FIRST = 3;
const S_COLUMNS = 4;
const S_COLUMNS_EOF = 5;
const S_ROWS = 6;
const S_INFILE = 7;
const S_PREPARE_FIRST = 8;
const S_PARAMS = 9;
const S_PARAMS_EOF = 10;
const S_PCOLUMNS = 11;
const S_PCOLUMNS_EOF = 12;
const S_SIMPLE = 13;
const S_FIELD_LIST = 14;
const S_STATISTICS = 15;
const S_STREAM = 16;

const STATE_NAMES = [
  "idle",
  "greeting",
  "auth",
  "first",
  "columns",
  "columns-eof",
  "rows",
  "local-infile",
  "prepare-first",
  "params",
  "params-eof",
  "prepare-columns",
  "prepare-columns-eof",
  "simple",
  "field-list",
  "statistics",
  "stream",
] as const;

export type TrackerState = (typeof STATE_NAMES)[number];

/** True for commands the server never answers. */
export function commandExpectsResponse(command: number): boolean {
  return command !== COM_QUIT && command !== COM_STMT_CLOSE && command !== COM_STMT_SEND_LONG_DATA;
}

/**
 * Follows the server side of a MySQL/MariaDB connection packet by packet and tells what each
 * packet is and when the response to a command is complete. It reads only the first bytes of
 * a packet (use a MysqlFramer with peek >= MIN_TRACKER_PEEK on the server stream).
 *
 * Typical use by a proxy session:
 * - new tracker → server greeting: onPacket → "handshake"; after the client's real
 *   HandshakeResponse41 (not the SSLRequest) call beginAuth(negotiatedCaps, seq).
 * - client packet: if clientDataExpected, it is auth data or LOCAL INFILE content →
 *   onClientPacket(seq, len); otherwise it is a command → begin(buf[start]).
 * - every server packet → onPacket(...); ev.done marks the end of the response.
 * - to answer the client yourself (e.g. an ERR), use seq = nextSeq.
 *
 * Pipelined commands are queued and their responses tracked in order.
 */
export class MysqlResponseTracker {
  private caps = 0n;
  private deprecateEof = false;
  private optionalMetadata = false;
  private cacheMetadata = false;

  private state = S_GREETING;
  private cmd = -1;
  private binary = false;
  private columnsLeft = 0;
  private paramsLeft = 0;
  private infileClientDone = false;
  private lastSeq = -1;
  private _statusFlags = 0;

  private queue: number[] = [];
  private queueHead = 0;

  private readonly ev: ResponseEvent = {
    kind: "ok",
    done: false,
    statusFlags: undefined,
    errorCode: -1,
    columnCount: -1,
    paramCount: -1,
    statementId: -1,
  };

  /**
   * @param caps negotiated capabilities (client's ∩ server's); they can also be set later with
   *   beginAuth() or the `capabilities` setter.
   * @param expectGreeting start by expecting the server greeting (default true)
   */
  constructor(caps: bigint = 0n, expectGreeting = true) {
    this.capabilities = caps;
    this.state = expectGreeting ? S_GREETING : S_IDLE;
  }

  get capabilities(): bigint {
    return this.caps;
  }

  set capabilities(caps: bigint) {
    this.caps = caps;
    this.deprecateEof = (caps & CLIENT_DEPRECATE_EOF) !== 0n;
    this.optionalMetadata = (caps & CLIENT_OPTIONAL_RESULTSET_METADATA) !== 0n;
    this.cacheMetadata = (caps & MARIADB_CLIENT_CACHE_METADATA) !== 0n;
  }

  /** Status flags from the last OK/EOF seen (0 before any). */
  get statusFlags(): number {
    return this._statusFlags;
  }

  /** SERVER_STATUS_IN_TRANS from the last status flags seen. ERR packets carry none: unchanged by them. */
  get inTransaction(): boolean {
    return (this._statusFlags & SERVER_STATUS_IN_TRANS) !== 0;
  }

  /** No response is awaited (between commands). */
  get idle(): boolean {
    return this.state === S_IDLE;
  }

  /** Name of the current state, for logs and tests. */
  get stateName(): TrackerState {
    return STATE_NAMES[this.state]!;
  }

  /** The command whose response is being read, or -1. */
  get command(): number {
    return this.state === S_IDLE ? -1 : this.cmd;
  }

  /** Commands sent but not yet answered, the current one excluded (pipelining). */
  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** The sequence id the client expects on the next server packet (for an injected ERR/OK). */
  get nextSeq(): number {
    return (this.lastSeq + 1) & 0xff;
  }

  /**
   * True when the next client packet is not a command but part of an exchange the server
   * started: authentication data (after the handshake response or COM_CHANGE_USER) or LOCAL
   * INFILE content. Feed such packets to onClientPacket.
   */
  get clientDataExpected(): boolean {
    return this.state === S_AUTH || (this.state === S_INFILE && !this.infileClientDone);
  }

  /**
   * The client sent a command (its first payload byte). Returns false when the server never
   * answers it (COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA). If a response is still
   * being read the command is queued.
   */
  begin(command: number, seq = 0): boolean {
    if (!commandExpectsResponse(command)) {
      if (this.state === S_IDLE) this.lastSeq = seq;
      return false;
    }
    if (this.state !== S_IDLE && this.state !== S_GREETING) {
      this.queue.push(command);
      return true;
    }
    this.start(command, seq);
    return true;
  }

  /** The client's HandshakeResponse41 was sent (after TLS, if any): authentication starts. */
  beginAuth(caps: bigint, seq = 1): void {
    this.capabilities = caps;
    this.state = S_AUTH;
    this.cmd = -1;
    this.lastSeq = seq;
  }

  /** A client packet that is part of an exchange (see clientDataExpected). */
  onClientPacket(seq: number, payloadLength: number): void {
    this.lastSeq = (seq + Math.floor(payloadLength / MAX_PAYLOAD_LENGTH)) & 0xff;
    if (this.state === S_INFILE && payloadLength === 0) this.infileClientDone = true;
  }

  /** Forget everything in flight (after a reconnect, say) and wait for the next command. */
  reset(): void {
    this.state = S_IDLE;
    this.cmd = -1;
    this.queue.length = 0;
    this.queueHead = 0;
    this._statusFlags = 0;
  }

  private start(command: number, seq: number): void {
    this.cmd = command;
    this.lastSeq = seq;
    this.binary = false;
    switch (command) {
      case COM_QUERY:
      case COM_PROCESS_INFO:
        this.state = S_FIRST;
        break;
      case COM_STMT_EXECUTE:
      case COM_STMT_BULK_EXECUTE:
        this.binary = true;
        this.state = S_FIRST;
        break;
      case COM_STMT_FETCH:
        this.binary = true;
        this.state = S_ROWS;
        break;
      case COM_STMT_PREPARE:
        this.state = S_PREPARE_FIRST;
        break;
      case COM_CHANGE_USER:
        this.state = S_AUTH;
        break;
      case COM_FIELD_LIST:
        this.state = S_FIELD_LIST;
        break;
      case COM_STATISTICS:
        this.state = S_STATISTICS;
        break;
      case COM_BINLOG_DUMP:
      case COM_BINLOG_DUMP_GTID:
        this.state = S_STREAM;
        break;
      default:
        this.state = S_SIMPLE;
    }
  }

  private finish(): void {
    this.state = S_IDLE;
    this.cmd = -1;
    if (this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead++]!;
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      }
      this.start(next, 0);
    }
  }

  private event(kind: ResponseKind, done: boolean): ResponseEvent {
    const ev = this.ev;
    ev.kind = kind;
    ev.done = done;
    ev.statusFlags = undefined;
    ev.errorCode = -1;
    ev.columnCount = -1;
    ev.paramCount = -1;
    ev.statementId = -1;
    return ev;
  }

  private flags(flags: number): void {
    if (flags < 0) throw new ProtocolError("status packet too short (peek too small?)", "truncated");
    this._statusFlags = flags;
    this.ev.statusFlags = flags;
  }

  /** OK / EOF that ends one result: more results follow or the response is done. */
  private endOfResult(kind: ResponseKind, flags: number): ResponseEvent {
    const more = (flags & SERVER_MORE_RESULTS_EXISTS) !== 0;
    const ev = this.event(kind, !more);
    this.flags(flags);
    if (more) this.state = S_FIRST;
    else this.finish();
    return ev;
  }

  private isTerminator(h: number, payloadLength: number): boolean {
    return h === EOF_HEADER && (this.deprecateEof ? payloadLength < MAX_PAYLOAD_LENGTH : payloadLength < 9);
  }

  private terminatorFlags(buf: Buffer, start: number, end: number): number {
    return this.deprecateEof ? okStatusFlags(buf, start, end) : eofStatusFlags(buf, start, end);
  }

  private unexpected(h: number): never {
    throw new ProtocolError(
      `unexpected server packet 0x${h.toString(16)} in state ${this.stateName}`,
      "unexpected_packet",
    );
  }

  /**
   * Feed one server packet: its first bytes buf[start, end) (at least MIN_TRACKER_PEEK of them
   * when the packet is that long) and its real payload length. `seq` is the packet's sequence
   * id (from the framer); omitted, it is counted. Returns the reused event object.
   * Throws ProtocolError when the packet cannot come in the current state.
   */
  onPacket(buf: Buffer, start: number, end: number, payloadLength = end - start, seq = -1): ResponseEvent {
    const extra = payloadLength >= MAX_PAYLOAD_LENGTH ? Math.floor(payloadLength / MAX_PAYLOAD_LENGTH) : 0;
    this.lastSeq = ((seq >= 0 ? seq : this.lastSeq + 1) + extra) & 0xff;
    if (end <= start) {
      if (this.state === S_STATISTICS) {
        const ev = this.event("statistics", true);
        this.finish();
        return ev;
      }
      throw new ProtocolError(`empty server packet in state ${this.stateName}`, "unexpected_packet");
    }
    const h = buf[start]!;

    if (h === ERR_HEADER && this.state !== S_STATISTICS) {
      const code = errCode(buf, start, end);
      if (code < 0) throw new ProtocolError("ERR packet too short", "truncated");
      if (code === PROGRESS_REPORT_CODE) {
        const ev = this.event("progress", false);
        ev.errorCode = code;
        return ev;
      }
      const ev = this.event("err", true);
      ev.errorCode = code;
      this.finish();
      return ev;
    }

    switch (this.state) {
      case S_IDLE:
        return this.unexpected(h);

      case S_GREETING:
        if (h !== 10) return this.unexpected(h);
        this.state = S_IDLE;
        return this.event("handshake", false);

      case S_AUTH:
        if (h === OK_HEADER) {
          const ev = this.event("ok", true);
          this.flags(okStatusFlags(buf, start, end));
          this.finish();
          return ev;
        }
        if (h === 0xfe) return this.event("auth-switch", false);
        if (h === 0x01) return this.event("auth-more-data", false);
        return this.unexpected(h);

      case S_FIRST: {
        if (h === OK_HEADER) return this.endOfResult("ok", okStatusFlags(buf, start, end));
        if (h === LOCAL_INFILE_HEADER) {
          this.state = S_INFILE;
          this.infileClientDone = false;
          return this.event("local-infile", false);
        }
        if (h === EOF_HEADER && payloadLength < 9)
          return this.endOfResult("eof", eofStatusFlags(buf, start, end));
        const count = readLenencNumber(buf, start, end);
        if (count <= 0) {
          throw new ProtocolError("bad column count packet (peek too small?)", "malformed");
        }
        let metadata = true;
        if (this.optionalMetadata || this.cacheMetadata) {
          // MariaDB sends the byte on every result set once CACHE_METADATA is negotiated (checked
          // against 10.11); it is 0 only for prepared statements whose metadata the client has.
          const p = skipLenenc(buf, start, end);
          if (p < 0 || p >= end) throw new ProtocolError("column count packet too short", "truncated");
          metadata = buf[p] !== 0;
        }
        const ev = this.event("column-count", false);
        ev.columnCount = count;
        this.columnsLeft = count;
        // Without the column definitions the EOF that would follow them is still sent when EOFs
        // are in use: by MySQL (optional metadata) and by MariaDB (CACHE_METADATA; seen on 10.11
        // with libmariadb's prepared statements, e.g. sysbench).
        if (metadata) this.state = S_COLUMNS;
        else this.state = this.deprecateEof ? S_ROWS : S_COLUMNS_EOF;
        return ev;
      }

      case S_COLUMNS:
        if (--this.columnsLeft === 0) this.state = this.deprecateEof ? S_ROWS : S_COLUMNS_EOF;
        return this.event("column", false);

      case S_COLUMNS_EOF: {
        if (h !== EOF_HEADER) return this.unexpected(h);
        const flags = eofStatusFlags(buf, start, end);
        if (this.binary && flags >= 0 && flags & SERVER_STATUS_CURSOR_EXISTS) {
          // COM_STMT_EXECUTE opened a cursor: rows come with COM_STMT_FETCH
          return this.endOfResult("eof", flags);
        }
        const ev = this.event("eof", false);
        this.flags(flags);
        this.state = S_ROWS;
        return ev;
      }

      case S_ROWS:
        if (this.isTerminator(h, payloadLength)) {
          return this.endOfResult(this.deprecateEof ? "ok" : "eof", this.terminatorFlags(buf, start, end));
        }
        return this.event("row", false);

      case S_INFILE:
        if (h !== OK_HEADER) return this.unexpected(h);
        return this.endOfResult("ok", okStatusFlags(buf, start, end));

      case S_PREPARE_FIRST: {
        if (h !== OK_HEADER) return this.unexpected(h);
        if (end - start < 9) throw new ProtocolError("prepare OK too short (peek too small?)", "truncated");
        const ev = this.event("prepare-ok", false);
        ev.statementId = buf.readUInt32LE(start + 1);
        ev.columnCount = buf.readUInt16LE(start + 5);
        ev.paramCount = buf.readUInt16LE(start + 7);
        let metadata = true;
        if (this.optionalMetadata && end - start >= 13) metadata = buf[start + 12] !== 0;
        this.columnsLeft = metadata ? ev.columnCount : 0;
        this.paramsLeft = metadata ? ev.paramCount : 0;
        ev.done = this.paramsLeft === 0 && this.columnsLeft === 0;
        this.afterPrepareOk();
        return ev;
      }

      case S_PARAMS: {
        let done = false;
        if (--this.paramsLeft === 0) {
          if (this.deprecateEof) {
            done = this.columnsLeft === 0;
            this.afterParams();
          } else this.state = S_PARAMS_EOF;
        }
        return this.event("param", done);
      }

      case S_PARAMS_EOF: {
        if (h !== EOF_HEADER) return this.unexpected(h);
        const ev = this.event("eof", this.columnsLeft === 0);
        this.flags(eofStatusFlags(buf, start, end));
        this.afterParams();
        return ev;
      }

      case S_PCOLUMNS:
        if (--this.columnsLeft === 0) {
          if (this.deprecateEof) this.finish();
          else this.state = S_PCOLUMNS_EOF;
          return this.event("column", this.deprecateEof);
        }
        return this.event("column", false);

      case S_PCOLUMNS_EOF: {
        if (h !== EOF_HEADER) return this.unexpected(h);
        const ev = this.event("eof", true);
        this.flags(eofStatusFlags(buf, start, end));
        this.finish();
        return ev;
      }

      case S_SIMPLE: {
        if (h === OK_HEADER) return this.endOfResult("ok", okStatusFlags(buf, start, end));
        if (h === EOF_HEADER && payloadLength < MAX_PAYLOAD_LENGTH) {
          const flags = this.deprecateEof ? okStatusFlags(buf, start, end) : eofStatusFlags(buf, start, end);
          const ev = this.event(this.deprecateEof ? "ok" : "eof", true);
          if (flags >= 0) this.flags(flags);
          this.finish();
          return ev;
        }
        const ev = this.event("other", true);
        this.finish();
        return ev;
      }

      case S_FIELD_LIST:
        if (this.isTerminator(h, payloadLength)) {
          const ev = this.event(this.deprecateEof ? "ok" : "eof", true);
          const flags = this.terminatorFlags(buf, start, end);
          if (flags >= 0) this.flags(flags);
          this.finish();
          return ev;
        }
        return this.event("column", false);

      case S_STATISTICS: {
        const ev = this.event("statistics", true);
        this.finish();
        return ev;
      }

      case S_STREAM:
        if (h === EOF_HEADER && payloadLength < 9) {
          const ev = this.event("eof", true);
          this.finish();
          return ev;
        }
        return this.event("row", false);

      default:
        return this.unexpected(h);
    }
  }

  private afterPrepareOk(): void {
    if (this.paramsLeft > 0) this.state = S_PARAMS;
    else if (this.columnsLeft > 0) this.state = S_PCOLUMNS;
    else this.finish();
  }

  private afterParams(): void {
    if (this.columnsLeft > 0) this.state = S_PCOLUMNS;
    else this.finish();
  }
}
