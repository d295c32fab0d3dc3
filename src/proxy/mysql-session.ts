import net from "node:net";
import { performance } from "node:perf_hooks";
import {
  CLIENT_COMPRESS,
  CLIENT_SSL,
  CLIENT_ZSTD_COMPRESSION_ALGORITHM,
  COM_CHANGE_USER,
  COM_INIT_DB,
  COM_QUERY,
  COM_QUIT,
  COM_RESET_CONNECTION,
  COM_SLEEP,
  COM_STMT_BULK_EXECUTE,
  COM_STMT_CLOSE,
  COM_STMT_EXECUTE,
  COM_STMT_PREPARE,
  SERVER_STATUS_IN_TRANS,
} from "../../protocol/mysql/constants.js";
import { commandText, decodeCommand } from "../../protocol/mysql/commands.js";
import { MysqlFramer } from "../../protocol/mysql/framer.js";
import {
  clearCapabilities,
  decodeHandshakeResponse41,
  decodeHandshakeV10,
  isSslRequest,
} from "../../protocol/mysql/handshake.js";
import { decodeErr, encodeErr, encodePacket } from "../../protocol/mysql/packets.js";
import { MysqlResponseTracker } from "../../protocol/mysql/response.js";
import { ProtocolError } from "../../protocol/shared/protocol-error.js";
import { observeLatency } from "../admin/metrics.js";
import { PROXY_CODES } from "../errors/classify.js";
import type { Session, SessionHost } from "./session-host.js";

const CONNECT_TIMEOUT_MS = 10_000;
/** Largest logical client command (max_allowed_packet-like); beyond it the client is closed. */
export const MYSQL_MAX_COMMAND_PACKET = 64 * 1024 * 1024;
/** Handshake responses and auth data are small (attributes are capped at 64 KiB by servers). */
const MAX_HANDSHAKE_PACKET = 64 * 1024;
/** Server packets during authentication (greeting, auth switch, an RSA public key). */
const MAX_AUTH_SERVER_PACKET = 1024 * 1024;
/** Bytes the proxy sees of each server packet: a whole ERR (header 9 + MYSQL_ERRMSG_SIZE 512). */
const SERVER_PEEK = 576;
/**
 * Bytes the proxy sees of each client packet: the statement text kept for the digest. A longer
 * statement (a bulk INSERT of megabytes) is digested from its first 4 KiB; its packet still flows
 * through unassembled.
 */
const CLIENT_PEEK = 4096;
/** Client bytes accepted before the server greeting has been relayed (clients wait for it). */
const MAX_EARLY_CLIENT_BYTES = 64 * 1024;
/** Prepared statement texts remembered per session (MariaDB's max_prepared_stmt_count default). */
const MAX_PREPARED = 16_382;
/** COM_STMT_EXECUTE with this id means "the statement prepared last" (MariaDB pipelining). */
const LAST_PREPARED_ID = 0xffffffff;

/**
 * Capabilities the proxy takes out of the server greeting:
 * - CLIENT_SSL: no certificate is terminated on the MySQL side, so TLS is declined and clients
 *   that prefer TLS fall back to plain text (those that require it fail with a clear message).
 * - CLIENT_COMPRESS / ZSTD: compression is declined. The compressed protocol wraps every packet
 *   in another framing; relaying it would mean inflating every packet to read its header.
 * MARIADB_CLIENT_CACHE_METADATA stays: MysqlResponseTracker knows that MariaDB still sends the EOF
 * after the column definitions it skips (sysbench's prepared statements, tested).
 */
const DECLINED_CAPS = CLIENT_SSL | CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION_ALGORITHM;
const DECLINED_LOW32 = Number(DECLINED_CAPS & 0xffffffffn);

const ER_SERVER_SHUTDOWN = 1053;
const ER_HANDSHAKE_ERROR = 1043;
const ER_UNKNOWN_COM_ERROR = 1047;
const ER_NET_PACKET_TOO_LARGE = 1153;
const ER_LOCK_DEADLOCK = 1213;

type Phase = "connecting" | "greeting" | "handshake" | "auth" | "command" | "closed";

/** A command sent upstream whose response is awaited (only pipelined ones are queued as objects). */
interface Pending {
  cmd: number;
  /** statement / schema bytes: a view into the client chunk, or a copy when it was split */
  buf: Buffer | null;
  start: number;
  end: number;
  /** COM_STMT_EXECUTE: the statement id */
  id: number;
}

/**
 * One client connection of the MySQL/MariaDB side.
 *
 * Handshake: the server greeting is relayed with TLS and compression declined (see DECLINED_CAPS);
 * the client's HandshakeResponse41 is read for user, database and the program_name attribute; the
 * authentication exchange that follows (mysql_native_password, caching_sha2_password fast and full
 * path with the RSA key request, ed25519, AuthSwitchRequest) is relayed as it comes, packet by
 * packet, with MysqlResponseTracker deciding when it ends.
 *
 * Command phase: chunks are relayed unchanged both ways with backpressure. Framers in peek mode
 * read packet headers and the first bytes of each packet only; the tracker tells what each server
 * packet is. Server ERR packets go to the error pipeline with the statement that caused them
 * (COM_QUERY text, or the prepared text of a COM_STMT_EXECUTE) and the transaction state from
 * before the command.
 */
export class MysqlSession implements Session {
  private upstream: net.Socket | null = null;
  private phase: Phase = "connecting";
  private readonly counters;
  private early: Buffer[] = [];
  /** the client chunk being read began in the handshake phase: its packets are written one by one */
  private rewriting = false;
  private earlyBytes = 0;

  private clientFramer = new MysqlFramer({ maxPacketLength: MAX_HANDSHAKE_PACKET });
  private serverFramer = new MysqlFramer({ maxPacketLength: MAX_AUTH_SERVER_PACKET });
  private readonly tracker = new MysqlResponseTracker(0n, true);
  /** server capabilities as relayed to the client (declined ones removed) */
  private serverCaps = 0n;
  /** negotiated capabilities (client ∩ server) */
  private caps = 0n;

  private user: string | undefined;
  private database: string | undefined;
  private application: string | undefined;

  /** SERVER_STATUS_IN_TRANS from the last status flags, cleared by a deadlock (whole transaction rolled back) */
  private inTx = false;
  /** transaction state before the command being answered (what an error event reports) */
  private txBefore = false;

  // The command being answered (fields of a reused object) and pipelined ones behind it.
  private readonly cur: Pending = { cmd: -1, buf: null, start: 0, end: 0, id: -1 };
  private hasCur = false;
  private later: Pending[] = [];

  private readonly prepared = new Map<number, string>();
  private lastPreparedId = -1;
  private changeUser: { user: string; database: string; application: string | undefined } | null = null;

  /** the server answered the login with ERR (or sent an ERR greeting): its close is expected */
  private loginFailed = false;
  private clientQuit = false;
  /** the last server packet was an ERR and the client sent nothing since: a close after it is the server's */
  private errBeforeClose = false;
  private requestAt = 0;
  private draining = false;

  constructor(
    private readonly client: net.Socket,
    private readonly host: SessionHost,
  ) {
    this.counters = host.metrics.proto.mysql;
    this.counters.connectionsActive++;
    this.counters.connectionsTotal++;
    client.setNoDelay(true);
    client.on("data", this.onClientData);
    client.on("drain", this.onClientDrain);
    client.on("error", this.onClientError);
    client.on("close", this.onClientClose);
    this.connectUpstream();
  }

  /** No command in flight and no transaction open: drain may close the session now. */
  get idle(): boolean {
    return this.phase !== "command" || (!this.hasCur && this.tracker.idle && !this.inTx);
  }

  // ---- upstream connection ----------------------------------------------------------------------

  private connectUpstream(): void {
    const { host, port } = this.host.upstream();
    const up = net.connect({ host, port, noDelay: true });
    this.upstream = up;
    up.setTimeout(CONNECT_TIMEOUT_MS);
    up.on("timeout", () => {
      if (this.phase === "connecting" || this.phase === "greeting") {
        this.upstreamFailed(
          PROXY_CODES.UPSTREAM_TIMEOUT,
          `the upstream MySQL at ${host}:${port} did not answer within ${CONNECT_TIMEOUT_MS} ms`,
        );
      }
    });
    up.once("connect", () => {
      if (this.phase === "connecting") this.phase = "greeting";
    });
    up.on("data", this.onServerData);
    up.on("drain", this.onUpstreamDrain);
    up.on("error", (err: NodeJS.ErrnoException) => {
      if (this.phase === "connecting") {
        const code = err.code === "ECONNREFUSED" ? PROXY_CODES.UPSTREAM_REFUSED : PROXY_CODES.UPSTREAM_LOST;
        this.upstreamFailed(
          code,
          `cannot connect to the upstream MySQL at ${host}:${port}: ${err.code ?? err.message}`,
        );
      }
      // otherwise 'close' follows and decides
    });
    up.on("close", this.onUpstreamClose);
  }

  // ---- client → server --------------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    this.counters.bytesFromClients += chunk.length;
    const phase = this.phase;
    if (phase === "command") {
      if (this.requestAt === 0) this.requestAt = performance.now();
      try {
        this.clientFramer.push(chunk, this.onClientPacket);
      } catch (e) {
        this.protocolFailure("client", e);
        return;
      }
      if (this.phase !== "command") return;
      if (!(this.upstream as net.Socket).write(chunk)) this.client.pause();
      return;
    }
    if (phase === "handshake" || phase === "auth") {
      this.rewriting = phase === "handshake";
      try {
        this.clientFramer.push(chunk, this.onClientLoginPacket);
      } catch (e) {
        this.protocolFailure("client", e);
        return;
      }
      // the handshake response is re-encoded by the handler; auth data goes on unchanged
      if (phase === "auth" && this.phase === "auth") (this.upstream as net.Socket).write(chunk);
      return;
    }
    if (phase === "connecting" || phase === "greeting") {
      // clients wait for the greeting; keep what comes early, within reason
      this.earlyBytes += chunk.length;
      if (this.earlyBytes > MAX_EARLY_CLIENT_BYTES) {
        this.protocolFailure("client", new ProtocolError("client talks before the greeting", "early_data"));
        return;
      }
      this.early.push(chunk);
    }
  };

  /** Handshake and authentication phase: whole client packets (assembled, small). */
  private readonly onClientLoginPacket = (seq: number, buf: Buffer, start: number, end: number): void => {
    if (this.phase === "handshake") {
      if (isSslRequest(buf, start, end)) {
        throw new ProtocolError(
          "the client requires TLS, which this proxy declines (no certificate configured)",
          "tls_unsupported",
        );
      }
      const hr = decodeHandshakeResponse41(buf, start, end);
      this.user = hr.user;
      this.database = hr.database || undefined;
      this.application = hr.attributes.program_name;
      // a copy with TLS and compression cleared: the server must not switch the framing on us
      const payload = Buffer.from(buf.subarray(start, end));
      payload.writeUInt32LE((payload.readUInt32LE(0) & ~DECLINED_LOW32) >>> 0, 0);
      this.caps = hr.capabilities & ~DECLINED_CAPS & this.serverCaps;
      this.tracker.beginAuth(this.caps, seq);
      this.phase = "auth";
      (this.upstream as net.Socket).write(encodePacket(payload, seq));
      return;
    }
    // auth: data the server asked for (auth switch response, public key request, encrypted password)
    if (!this.tracker.clientDataExpected) {
      throw new ProtocolError("client packet during authentication that nobody asked for", "auth_sequence");
    }
    this.tracker.onClientPacket(seq, end - start);
    // in the chunk that carried the (re-encoded) handshake response, relay packet by packet
    if (this.rewriting) (this.upstream as net.Socket).write(encodePacket(buf.subarray(start, end), seq));
  };

  /** Command phase: the first CLIENT_PEEK bytes of each client packet (views, never assembled). */
  private readonly onClientPacket = (
    seq: number,
    buf: Buffer,
    start: number,
    end: number,
    chunkOffset: number,
    payloadLength: number,
  ): void => {
    const t = this.tracker;
    if (t.clientDataExpected) {
      // LOCAL INFILE content, or authentication data after COM_CHANGE_USER
      t.onClientPacket(seq, payloadLength);
      return;
    }
    this.errBeforeClose = false;
    // an empty packet is taken by the server as COM_SLEEP (answered with an error)
    const cmd = end > start ? (buf[start] as number) : COM_SLEEP;
    const answered = t.begin(cmd, seq);
    if (cmd === COM_QUERY || cmd === COM_STMT_EXECUTE || cmd === COM_STMT_BULK_EXECUTE)
      this.counters.queries++;
    if (!answered) {
      if (cmd === COM_QUIT) this.clientQuit = true;
      else if (cmd === COM_STMT_CLOSE && end - start >= 5) this.prepared.delete(buf.readUInt32LE(start + 1));
      return;
    }
    let keep: Buffer | null = null;
    let kStart = start;
    let kEnd = end;
    let id = -1;
    switch (cmd) {
      case COM_QUERY:
      case COM_STMT_PREPARE:
      case COM_INIT_DB:
        // a view into the chunk; the framer's own peek buffer is reused, so a split packet is copied
        if (chunkOffset >= 0) keep = buf;
        else {
          keep = Buffer.from(buf.subarray(start, end));
          kStart = 0;
          kEnd = keep.length;
        }
        break;
      case COM_STMT_EXECUTE:
      case COM_STMT_BULK_EXECUTE:
        if (end - start >= 5) {
          id = buf.readUInt32LE(start + 1);
          if (id === LAST_PREPARED_ID) id = this.lastPreparedId;
        }
        break;
      case COM_CHANGE_USER:
        this.noteChangeUser(buf, start, end);
        break;
    }
    if (!this.hasCur) {
      const c = this.cur;
      c.cmd = cmd;
      c.buf = keep;
      c.start = kStart;
      c.end = kEnd;
      c.id = id;
      this.hasCur = true;
      this.txBefore = this.inTx;
    } else {
      this.later.push({ cmd, buf: keep, start: kStart, end: kEnd, id });
    }
  };

  private noteChangeUser(buf: Buffer, start: number, end: number): void {
    try {
      const c = decodeCommand(buf, start, end, this.caps);
      if (c.name === "COM_CHANGE_USER") {
        this.changeUser = {
          user: c.user,
          database: c.database,
          application: c.attributes.program_name ?? this.application,
        };
      }
    } catch {
      // longer than the peek or malformed: the server judges it; keep the old identity
      this.changeUser = null;
    }
  }

  // ---- server → client --------------------------------------------------------------------------

  private readonly onServerData = (chunk: Buffer): void => {
    this.counters.bytesFromServers += chunk.length;
    const phase = this.phase;
    if (phase === "command") {
      if (this.requestAt !== 0) {
        observeLatency(this.counters, (performance.now() - this.requestAt) / 1000);
        this.requestAt = 0;
      }
      try {
        this.serverFramer.push(chunk, this.onServerPacket);
      } catch (e) {
        this.protocolFailure("server", e);
        return;
      }
      if (this.phase !== "command") return;
      if (!this.client.write(chunk)) (this.upstream as net.Socket).pause();
      if (this.draining && this.idle) this.shutdown();
      return;
    }
    if (phase === "greeting" || phase === "handshake" || phase === "auth") {
      try {
        this.serverFramer.push(chunk, this.onServerLoginPacket);
      } catch (e) {
        this.protocolFailure("server", e);
        return;
      }
      // the greeting is re-encoded by the handler; everything after it goes on unchanged
      if (phase !== "greeting" && this.phase !== "closed") this.client.write(chunk);
      if (this.phase === "command" && this.draining) this.shutdown();
    }
  };

  /** Greeting and authentication: whole server packets (assembled, small). */
  private readonly onServerLoginPacket = (seq: number, buf: Buffer, start: number, end: number): void => {
    const ev = this.tracker.onPacket(buf, start, end, end - start, seq);
    switch (ev.kind) {
      case "handshake": {
        const hs = decodeHandshakeV10(buf, start, end);
        this.serverCaps = hs.capabilities & ~DECLINED_CAPS;
        const payload = clearCapabilities(
          Buffer.from(buf.subarray(start, end)),
          0,
          end - start,
          DECLINED_CAPS,
        );
        (this.upstream as net.Socket).setTimeout(0);
        this.phase = "handshake";
        this.client.write(encodePacket(payload, seq));
        const early = this.early;
        this.early = [];
        for (const chunk of early) {
          this.counters.bytesFromClients -= chunk.length; // counted on arrival already
          this.onClientData(chunk);
        }
        return;
      }
      case "err": {
        this.loginFailed = true;
        this.recordErr(buf, start, end, false);
        // an ERR greeting (too many connections, host blocked) is relayed like the greeting would be
        if (this.phase === "greeting") this.client.write(encodePacket(buf.subarray(start, end), seq));
        return;
      }
      case "ok":
        if (ev.done) this.enterCommandPhase();
        return;
      default:
        // auth-switch, auth-more-data: relayed; the client answers
        return;
    }
  };

  private enterCommandPhase(): void {
    this.phase = "command";
    this.inTx = this.tracker.inTransaction;
    this.clientFramer = new MysqlFramer({ peek: CLIENT_PEEK, maxPacketLength: MYSQL_MAX_COMMAND_PACKET });
    // a server never sends a packet larger than 1 GB; its framer only reads headers and peeks
    this.serverFramer = new MysqlFramer({ peek: SERVER_PEEK, maxPacketLength: 0x40000000 });
    this.host.log.debug(
      { user: this.user, database: this.database, application: this.application },
      "MySQL client logged in",
    );
  }

  /** Command phase: the first SERVER_PEEK bytes of each server packet. */
  private readonly onServerPacket = (
    seq: number,
    buf: Buffer,
    start: number,
    end: number,
    _chunkOffset: number,
    payloadLength: number,
  ): void => {
    const ev = this.tracker.onPacket(buf, start, end, payloadLength, seq);
    if (ev.statusFlags !== undefined) this.inTx = (ev.statusFlags & SERVER_STATUS_IN_TRANS) !== 0;
    switch (ev.kind) {
      case "row":
      case "column":
        return;
      case "err":
        this.recordErr(buf, start, end, true);
        this.errBeforeClose = true;
        break;
      case "prepare-ok":
        if (this.hasCur && this.cur.cmd === COM_STMT_PREPARE) this.rememberPrepared(ev.statementId);
        break;
      case "ok":
        if (ev.done && this.hasCur) this.commandSucceeded();
        break;
    }
    if (ev.done) this.finishCommand();
  };

  private rememberPrepared(id: number): void {
    const text = this.statementText(this.cur);
    if (text === undefined) return;
    if (this.prepared.size >= MAX_PREPARED && !this.prepared.has(id)) {
      const oldest = this.prepared.keys().next();
      if (!oldest.done) this.prepared.delete(oldest.value);
    }
    this.prepared.set(id, text);
    this.lastPreparedId = id;
  }

  /** The command being answered succeeded: session identity changes that come with it. */
  private commandSucceeded(): void {
    const c = this.cur;
    switch (c.cmd) {
      case COM_INIT_DB:
        if (c.buf) this.database = c.buf.toString("utf8", c.start + 1, c.end);
        break;
      case COM_QUERY:
        if (c.buf) {
          const db = useTarget(c.buf, c.start + 1, c.end);
          if (db !== undefined) this.database = db;
        }
        break;
      case COM_CHANGE_USER:
        if (this.changeUser) {
          this.user = this.changeUser.user;
          this.database = this.changeUser.database || undefined;
          this.application = this.changeUser.application;
        }
        this.changeUser = null;
        this.prepared.clear();
        break;
      case COM_RESET_CONNECTION:
        this.prepared.clear();
        break;
    }
  }

  private finishCommand(): void {
    if (this.later.length > 0) {
      const next = this.later.shift() as Pending;
      const c = this.cur;
      c.cmd = next.cmd;
      c.buf = next.buf;
      c.start = next.start;
      c.end = next.end;
      c.id = next.id;
      this.txBefore = this.inTx;
    } else {
      this.hasCur = false;
      this.cur.buf = null;
    }
  }

  private statementText(p: Pending): string | undefined {
    switch (p.cmd) {
      case COM_QUERY:
      case COM_STMT_PREPARE:
        if (!p.buf) return undefined;
        try {
          return commandText(p.buf, p.start, p.end, this.caps);
        } catch {
          return undefined; // query attributes cut by the peek
        }
      case COM_STMT_EXECUTE:
      case COM_STMT_BULK_EXECUTE:
        return this.prepared.get(p.id);
      default:
        return undefined;
    }
  }

  /** An ERR packet from the server → the error pipeline. Progress reports never get here. */
  private recordErr(buf: Buffer, start: number, end: number, commandPhase: boolean): void {
    const e = decodeErr(buf, start, end);
    let user = this.user;
    let database = this.database;
    let statement: string | undefined;
    if (commandPhase && this.hasCur) {
      statement = this.statementText(this.cur);
      if (this.cur.cmd === COM_CHANGE_USER && this.changeUser) {
        user = this.changeUser.user;
        database = this.changeUser.database || undefined;
        this.changeUser = null;
      }
    }
    this.host.pipeline.record({
      protocol: "mysql",
      code: String(e.code),
      sqlstate: e.sqlstate,
      message: e.message,
      statement,
      database,
      user,
      application: this.application,
      inTransaction: commandPhase && (this.hasCur ? this.txBefore : this.inTx),
    });
    // InnoDB rolled the whole transaction back
    if (e.code === ER_LOCK_DEADLOCK) this.inTx = false;
  }

  // ---- flow control and endings -----------------------------------------------------------------

  private readonly onClientDrain = (): void => {
    this.upstream?.resume();
  };

  private readonly onUpstreamDrain = (): void => {
    this.client.resume();
  };

  private readonly onClientError = (): void => {
    // 'close' follows; a client that vanished is not an error of the database
  };

  private readonly onClientClose = (): void => {
    const phase = this.phase;
    if ((phase === "command" || phase === "handshake" || phase === "auth") && !this.clientFramer.atBoundary) {
      // the client went away inside a packet: a truncated packet, counted like other bad input
      this.host.metrics.protocolErrors.inc({ protocol: "mysql", reason: "client_truncated" });
    }
    this.phase = "closed";
    this.counters.connectionsActive--;
    const up = this.upstream;
    if (up) {
      if (phase === "command" && this.clientFramer.atBoundary) up.end();
      else up.destroy();
    }
    this.host.sessionClosed(this);
  };

  private readonly onUpstreamClose = (): void => {
    const phase = this.phase;
    if (phase === "closed") return;
    if (this.loginFailed || this.clientQuit || (this.errBeforeClose && !this.hasCur)) {
      // the client has already seen why (ERR at login, a fatal ERR) or asked for it (COM_QUIT)
      this.phase = "closed";
      this.client.end();
      this.client.destroySoon();
      return;
    }
    this.upstreamFailed(
      PROXY_CODES.UPSTREAM_LOST,
      phase === "command"
        ? "the upstream MySQL closed the connection unexpectedly"
        : "the upstream MySQL closed the connection during the login",
    );
  };

  /**
   * A failure the proxy detected itself: record it, tell the client with an ERR it understands
   * (1053 / 08S01) when it awaits a packet, close.
   */
  private upstreamFailed(code: string, message: string): void {
    const phase = this.phase;
    if (phase === "closed") return;
    this.phase = "closed";
    if (phase === "connecting" || phase === "greeting") this.counters.upstreamConnectFailures++;
    this.host.pipeline.record({
      protocol: "mysql",
      code,
      message,
      statement: phase === "command" && this.hasCur ? this.statementText(this.cur) : undefined,
      database: this.database,
      user: this.user,
      application: this.application,
      inTransaction: phase === "command" && this.inTx,
      proxyDetected: true,
    });
    this.upstream?.destroy();
    let seq = -1;
    if (phase === "connecting" || phase === "greeting")
      seq = 0; // in place of the greeting
    else if (phase === "handshake")
      seq = 2; // answers the handshake response the client sends
    else if (phase === "auth") seq = this.tracker.nextSeq;
    else if ((this.hasCur || !this.tracker.idle) && this.serverFramer.atBoundary) seq = this.tracker.nextSeq;
    if (seq >= 0) {
      this.client.write(
        encodeErr({ code: ER_SERVER_SHUTDOWN, sqlstate: "08S01", message: `dba-gpt: ${message}` }, seq),
      );
    }
    this.client.end();
    this.client.destroySoon();
  }

  /** Bytes that cannot be the protocol: close this one connection, count it, keep everyone else. */
  private protocolFailure(side: "client" | "server", e: unknown): void {
    if (!(e instanceof ProtocolError)) throw e;
    const phase = this.phase;
    if (phase === "closed") return;
    this.phase = "closed";
    this.host.metrics.protocolErrors.inc({ protocol: "mysql", reason: `${side}_${e.reason}` });
    this.host.log.warn(
      { side, reason: e.reason, user: this.user },
      `closing a MySQL ${side} connection: ${e.message}`,
    );
    this.upstream?.destroy();
    if (side === "client") {
      const code =
        e.reason === "packet_too_large"
          ? ER_NET_PACKET_TOO_LARGE
          : e.reason === "tls_unsupported"
            ? ER_HANDSHAKE_ERROR
            : ER_UNKNOWN_COM_ERROR;
      const seq = phase === "connecting" || phase === "greeting" ? 0 : (this.clientFramer.lastSeq + 1) & 0xff;
      this.client.write(encodeErr({ code, sqlstate: "08S01", message: `dba-gpt: ${e.message}` }, seq));
    } else if (phase !== "command" || !this.tracker.idle) {
      const seq = phase === "greeting" ? 0 : this.tracker.nextSeq;
      this.client.write(
        encodeErr(
          {
            code: ER_SERVER_SHUTDOWN,
            sqlstate: "08S01",
            message: "dba-gpt: the upstream sent bytes that are not the MySQL protocol",
          },
          seq,
        ),
      );
    }
    this.client.end();
    this.client.destroySoon();
  }

  /** SIGTERM drain: close now if idle, else after the command (or transaction) in flight ends. */
  drain(): void {
    this.draining = true;
    if (this.idle) this.shutdown();
  }

  private shutdown(): void {
    const phase = this.phase;
    if (phase === "closed") return;
    this.phase = "closed";
    // between commands the client awaits nothing: a clean close, and a COM_QUIT so the server
    // does not count an aborted connection
    if (phase === "command" && this.upstream) this.upstream.end(QUIT_PACKET);
    else this.upstream?.destroy();
    this.client.end();
    this.client.destroySoon();
  }

  destroy(): void {
    this.phase = "closed";
    this.upstream?.destroy();
    this.client.destroy();
  }
}

const QUIT_PACKET = encodePacket(Buffer.from([COM_QUIT]), 0);

/**
 * The schema of a `USE name` statement (COM_QUERY text in buf[start, end)), else undefined.
 * Cheap first-byte checks: only statements that start with USE are decoded.
 */
export function useTarget(buf: Buffer, start: number, end: number): string | undefined {
  let p = start;
  while (p < end && isSpace(buf[p] as number)) p++;
  if (end - p < 5) return undefined;
  if (((buf[p] as number) | 0x20) !== 0x75 /* u */) return undefined;
  if (((buf[p + 1] as number) | 0x20) !== 0x73 || ((buf[p + 2] as number) | 0x20) !== 0x65) return undefined;
  if (!isSpace(buf[p + 3] as number)) return undefined;
  const rest = buf
    .toString("utf8", p + 4, end)
    .trim()
    .replace(/;\s*$/, "")
    .trim();
  if (rest.startsWith("`")) {
    const close = rest.lastIndexOf("`");
    return close > 0 ? rest.slice(1, close).replaceAll("``", "`") : undefined;
  }
  return /^[^\s;]+$/.test(rest) ? rest : undefined;
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}
