import net from "node:net";
import { annotateMysqlErrMessage, oneLineFix } from "../ai/annotate.js";
import { spliceChunk } from "./splice.js";
import { HEAL_ACTION } from "../resolve/resolver.js";
import { performance } from "node:perf_hooks";
import {
  CLIENT_COMPRESS,
  CLIENT_PLUGIN_AUTH,
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
  COM_STMT_FETCH,
  COM_STMT_PREPARE,
  COM_STMT_RESET,
  COM_STMT_SEND_LONG_DATA,
  MAX_PAYLOAD_LENGTH,
  SERVER_STATUS_IN_TRANS,
} from "../../protocol/mysql/constants.js";
import { commandText, decodeCommand } from "../../protocol/mysql/commands.js";
import { MysqlFramer } from "../../protocol/mysql/framer.js";
import {
  clearCapabilities,
  decodeHandshakeResponse41,
  decodeHandshakeV10,
  encodeAuthSwitchRequest,
  encodeHandshakeV10,
  type HandshakeResponse41,
  isSslRequest,
} from "../../protocol/mysql/handshake.js";
import { decodeErr, encodeErr, encodeOk, encodePacket } from "../../protocol/mysql/packets.js";
import { MysqlResponseTracker } from "../../protocol/mysql/response.js";
import { ProtocolError } from "../../protocol/shared/protocol-error.js";
import { observeLatency } from "../admin/metrics.js";
import { PROXY_CODES } from "../errors/classify.js";
import type { ErrorEvent } from "../errors/types.js";
import { newScramble, passwordMatches } from "./mysql-auth.js";
import {
  type CommandResult,
  GreetedUpstream,
  MysqlServerError,
  runCommands,
  withConnectQueue,
} from "./mysql-upstream.js";
import { isReadOnlyStatement } from "./pg-credentials.js";
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
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_NO_SUCH_TABLE = 1146;

type Phase = "connecting" | "greeting" | "handshake" | "auth" | "login" | "command" | "closed";

const ER_ACCESS_DENIED = 1045;
/** SERVER_SESSION_STATE_CHANGED: not claimed in the proxy's own OK (it carries no state info) */
const SESSION_STATE_CHANGED = 0x4000;
/** SET statements remembered per session for a reconnect */
const MAX_SESSION_SETS = 100;
/** A statement id no server hands out: a statement that could not be re-prepared after a reconnect */
const LOST_STATEMENT_ID = 0xfffffffe;

/** A command sent upstream whose response is awaited (only pipelined ones are queued as objects). */
interface Pending {
  cmd: number;
  /** statement / schema bytes: a view into the client chunk, or a copy when it was split */
  buf: Buffer | null;
  start: number;
  end: number;
  /** COM_STMT_EXECUTE: the statement id */
  id: number;
  /** buf[start, end) is the whole payload (a single physical packet): the command can be re-sent */
  whole: boolean;
}

/** An inline resolution in progress for the command being answered (retry, or heal then re-run). */
interface InlineRetry {
  event: ErrorEvent;
  attempts: number;
  startedAt: number;
  /** the failure was recorded: the response in flight goes to the client as it is */
  failed: boolean;
  /** a missing table: the DDL to run before the (single) re-run */
  ddl: string | null;
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
  private readonly cur: Pending = { cmd: -1, buf: null, start: 0, end: 0, id: -1, whole: false };
  private hasCur = false;
  private later: Pending[] = [];
  /** a packet of the current command's response was relayed (or the client sent more since) */
  private respStarted = false;
  private pipelinedBehind = false;
  /** statements with COM_STMT_SEND_LONG_DATA parameters since their last execute: not replayable */
  private readonly longData = new Set<number>();

  // credentials mode (auth.mode: credentials): the proxy logs clients in and owns the upstream login
  private readonly credentials: boolean;
  private scramble: Buffer = Buffer.alloc(0);
  private greeted: GreetedUpstream | null = null;
  private hello: HandshakeResponse41 | null = null;
  /** sequence id of the client's last login packet (the proxy answers with the next) */
  private loginSeq = 0;
  /** SET statements the client ran (session variables, SET NAMES): replayed after a reconnect */
  private readonly sessionSets: string[] = [];
  /** client-visible statement id → upstream id, where they differ (after a reconnect) */
  private readonly idMap = new Map<number, number>();
  private reconnecting = false;
  /** client chunks that wait for a new upstream */
  private waiting: Buffer[] = [];
  /** the upstream loss event a reconnect resolves */
  private lostEvent: ErrorEvent | null = null;
  /** a COM_CHANGE_USER the proxy answers itself (credentials mode) */
  private changeUserAuth: {
    user: string;
    database: string;
    auth: Buffer;
    plugin: string;
    seq: number;
  } | null = null;

  /** inline retry / heal of the current command */
  private retry: InlineRetry | null = null;
  /** the failed attempt's ERR, kept from the client while the command is re-run */
  private held: Buffer | null = null;
  /** where the ERR to hold starts in the server chunk being read (-1: nothing to hold) */
  /** ai.annotateErrors: ERR packets of the current server chunk to replace (offset, end, packet) */
  private rewrites: [number, number, Buffer][] = [];
  private holdFrom = -1;
  private holdEnd = -1;

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
    this.credentials = host.config().auth.mode === "credentials";
    if (this.credentials) this.greetClient();
    else this.connectUpstream();
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
      if (this.upstream === null || this.reconnecting) {
        // credentials mode, the upstream was lost between commands: a new one first
        this.waiting.push(chunk);
        this.client.pause();
        if (!this.reconnecting) this.reconnect(null);
        return;
      }
      if (this.requestAt === 0) this.requestAt = performance.now();
      try {
        this.clientFramer.push(chunk, this.onClientPacket);
      } catch (e) {
        this.protocolFailure("client", e);
        return;
      }
      if (this.phase !== "command") return;
      if (this.changeUserAuth !== null) {
        this.answerChangeUser();
        return;
      }
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
      if (phase === "auth" && this.phase === "auth" && !this.credentials)
        (this.upstream as net.Socket).write(chunk);
      return;
    }
    if (phase === "connecting" || phase === "greeting" || phase === "login") {
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
    if (this.credentials) {
      this.onCredentialsLoginPacket(seq, buf, start, end);
      return;
    }
    if (this.phase === "handshake") {
      const hr = this.readHandshakeResponse(buf, start, end);
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
    if (this.hasCur) this.pipelinedBehind = true;
    // an empty packet is taken by the server as COM_SLEEP (answered with an error)
    const cmd = end > start ? (buf[start] as number) : COM_SLEEP;
    let clientId = -1;
    if (this.idMap.size > 0 && chunkOffset >= 0 && end - start >= 5 && carriesStatementId(cmd)) {
      // after a reconnect the server numbers statements its own way: the client keeps its ids
      clientId = buf.readUInt32LE(start + 1);
      const upstreamId = this.idMap.get(clientId);
      if (upstreamId !== undefined) buf.writeUInt32LE(upstreamId, start + 1);
      if (cmd === COM_STMT_CLOSE) this.idMap.delete(clientId);
    }
    const stmtId = (): number => (clientId >= 0 ? clientId : buf.readUInt32LE(start + 1));
    const answered = t.begin(cmd, seq);
    if (cmd === COM_QUERY || cmd === COM_STMT_EXECUTE || cmd === COM_STMT_BULK_EXECUTE)
      this.counters.queries++;
    if (!answered) {
      if (cmd === COM_QUIT) this.clientQuit = true;
      else if (cmd === COM_STMT_CLOSE && end - start >= 5) {
        this.prepared.delete(stmtId());
        this.longData.delete(stmtId());
      } else if (cmd === COM_STMT_SEND_LONG_DATA && end - start >= 5) this.longData.add(stmtId());
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
      case COM_STMT_EXECUTE:
      case COM_STMT_BULK_EXECUTE:
        // a view into the chunk; the framer's own peek buffer is reused, so a split packet is copied
        if (chunkOffset >= 0) keep = buf;
        else {
          keep = Buffer.from(buf.subarray(start, end));
          kStart = 0;
          kEnd = keep.length;
        }
        if ((cmd === COM_STMT_EXECUTE || cmd === COM_STMT_BULK_EXECUTE) && end - start >= 5) {
          id = stmtId();
          if (id === LAST_PREPARED_ID) id = this.lastPreparedId;
        }
        break;
      case COM_STMT_RESET:
        if (end - start >= 5) this.longData.delete(stmtId());
        break;
      case COM_CHANGE_USER:
        this.noteChangeUser(buf, start, end);
        if (this.credentials) this.interceptChangeUser(seq);
        break;
    }
    const whole = keep !== null && end - start === payloadLength && payloadLength < MAX_PAYLOAD_LENGTH;
    if (!this.hasCur) {
      const c = this.cur;
      c.cmd = cmd;
      c.buf = keep;
      c.start = kStart;
      c.end = kEnd;
      c.id = id;
      c.whole = whole;
      this.hasCur = true;
      this.txBefore = this.inTx;
      this.respStarted = false;
      this.pipelinedBehind = false;
    } else {
      this.later.push({ cmd, buf: keep, start: kStart, end: kEnd, id, whole });
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
        this.changeUserAuthData = c.authResponse;
        this.changeUserPlugin = c.authPluginName ?? null;
      }
    } catch {
      // longer than the peek or malformed: the server judges it; keep the old identity
      this.changeUser = null;
    }
  }

  // ---- credentials mode: the proxy logs the client in and opens the upstream itself ----------------

  /** Connect upstream (waiting out 1040 within the connect queue), then greet the client ourselves. */
  private greetClient(): void {
    const cfg = this.host.config();
    const endpoint = this.host.upstream();
    let congestion: ErrorEvent | null = null;
    let waits = 0;
    withConnectQueue(
      cfg.resolution.connectQueue,
      () => GreetedUpstream.open(endpoint, CONNECT_TIMEOUT_MS),
      (e, n) => {
        waits = n;
        congestion ??= this.recordServerError(e);
      },
    ).then(
      (g) => {
        if (this.phase === "closed") {
          g.socket.destroy();
          return;
        }
        this.connectQueueOutcome(congestion, waits, true);
        this.greeted = g;
        this.scramble = newScramble();
        this.serverCaps = (g.greeting.capabilities & ~DECLINED_CAPS) | CLIENT_PLUGIN_AUTH;
        const payload = encodeHandshakeV10({
          ...g.greeting,
          capabilities: this.serverCaps,
          authPluginData: this.scramble,
          authPluginDataLength: 21,
          authPluginName: "mysql_native_password",
        });
        this.phase = "handshake";
        this.client.write(encodePacket(payload, 0));
        this.replayEarly();
      },
      (e: unknown) => {
        this.connectQueueOutcome(congestion, waits, false);
        this.credentialsFailed(e, 0);
      },
    );
  }

  private replayEarly(): void {
    const early = this.early;
    this.early = [];
    for (const chunk of early) {
      this.counters.bytesFromClients -= chunk.length; // counted on arrival already
      this.onClientData(chunk);
    }
  }

  private recordServerError(e: MysqlServerError): ErrorEvent {
    return this.host.pipeline.record({
      protocol: "mysql",
      code: String(e.code),
      sqlstate: e.sqlstate,
      message: e.message,
      database: this.database,
      user: this.user,
      application: this.application,
      inTransaction: false,
    }).event;
  }

  private connectQueueOutcome(congestion: ErrorEvent | null, waits: number, ok: boolean): void {
    if (!congestion) return;
    this.host.resolver.record(
      congestion,
      {
        strategy: "IMMEDIATE_FIX",
        action: "hold the client's connect and retry the upstream",
        outcome: ok ? "succeeded" : "failed",
        reason: ok
          ? `got in after ${waits + 1} attempts; the client saw no error`
          : `still refused after ${waits + 1} attempts; the client got the server's error`,
      },
      { attempts: waits },
    );
  }

  /** The login could not be completed upstream: the server's ERR (or a 1053 of ours) at `seq`, close. */
  private credentialsFailed(e: unknown, seq: number): void {
    if (this.phase === "closed") return;
    if (e instanceof MysqlServerError) {
      this.phase = "closed";
      this.loginFailed = true;
      this.client.write(encodeErr({ code: e.code, sqlstate: e.sqlstate, message: e.message }, seq));
      this.client.end();
      this.client.destroySoon();
      return;
    }
    const message = e instanceof Error ? e.message : String(e);
    this.upstreamFailed(PROXY_CODES.UPSTREAM_LOST, message);
  }

  /** The client's HandshakeResponse41: who it is (a client that insists on TLS is refused). */
  private readHandshakeResponse(
    buf: Buffer,
    start: number,
    end: number,
  ): ReturnType<typeof decodeHandshakeResponse41> {
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
    return hr;
  }

  private onCredentialsLoginPacket(seq: number, buf: Buffer, start: number, end: number): void {
    if (this.phase === "handshake") {
      const hr = this.readHandshakeResponse(buf, start, end);
      this.hello = hr;
      this.caps = hr.capabilities & ~DECLINED_CAPS & this.serverCaps;
      const plugin = hr.authPluginName || "mysql_native_password";
      if (plugin === "mysql_native_password" || plugin === "caching_sha2_password") {
        this.verifyLogin(plugin, hr.authResponse, seq);
        return;
      }
      // another plugin (ed25519, ...): ask for mysql_native_password with our scramble
      this.phase = "auth";
      this.client.write(
        encodePacket(
          encodeAuthSwitchRequest({
            pluginName: "mysql_native_password",
            pluginData: Buffer.concat([this.scramble, Buffer.from([0])]),
          }),
          (seq + 1) & 0xff,
        ),
      );
      return;
    }
    if (this.phase === "auth")
      this.verifyLogin("mysql_native_password", Buffer.from(buf.subarray(start, end)), seq);
  }

  private verifyLogin(
    plugin: "mysql_native_password" | "caching_sha2_password",
    given: Buffer,
    seq: number,
  ): void {
    const account = this.host.config().auth.users.find((u) => u.user === this.user);
    if (!account || !passwordMatches(plugin, account.password, this.scramble, given)) {
      this.denyLogin(this.user ?? "", (seq + 1) & 0xff, given.length > 0);
      return;
    }
    let next = (seq + 1) & 0xff;
    if (plugin === "caching_sha2_password") {
      this.client.write(encodePacket(Buffer.from([0x01, 0x03]), next)); // fast authentication succeeded
      next = (next + 1) & 0xff;
    }
    this.loginSeq = next;
    this.phase = "login";
    this.loginUpstream(account.user, account.password, this.database).then(
      ({ socket, statusFlags }) => {
        if (this.phase !== "login") {
          socket.destroy();
          return;
        }
        this.attachUpstream(socket);
        this.tracker.reset();
        this.tracker.capabilities = this.caps;
        this.client.write(encodeOk({ statusFlags: statusFlags & ~SESSION_STATE_CHANGED }, next, this.caps));
        this.enterCommandPhase();
        this.replayEarly();
      },
      (e: unknown) => this.credentialsFailed(e, next),
    );
  }

  /** Wrong user or password: the server's own answer (1045, 28000), recorded; the connection ends. */
  private denyLogin(user: string, seq: number, usedPassword: boolean): void {
    const from = (this.client.remoteAddress ?? "localhost").replace(/^::ffff:/, "");
    const message = `Access denied for user '${user}'@'${from}' (using password: ${usedPassword ? "YES" : "NO"})`;
    this.host.pipeline.record({
      protocol: "mysql",
      code: String(ER_ACCESS_DENIED),
      sqlstate: "28000",
      message,
      database: this.database,
      user,
      application: this.application,
      inTransaction: false,
    });
    this.phase = "closed";
    this.loginFailed = true;
    this.greeted?.socket.destroy();
    this.greeted = null;
    this.upstream?.end(QUIT_PACKET);
    this.client.write(encodeErr({ code: ER_ACCESS_DENIED, sqlstate: "28000", message }, seq));
    this.client.end();
    this.client.destroySoon();
  }

  /** Log in upstream as `user` (the greeted connection first, else a new one), within the connect queue. */
  private loginUpstream(
    user: string,
    password: string,
    database: string | undefined,
  ): Promise<{ socket: net.Socket; capabilities: bigint; statusFlags: number }> {
    const hr = this.hello as HandshakeResponse41;
    const opts = {
      user,
      password,
      database,
      capabilities: hr.capabilities & ~DECLINED_CAPS,
      charset: hr.charset,
      attributes: hr.attributes,
    };
    let first = this.greeted;
    this.greeted = null;
    let congestion: ErrorEvent | null = null;
    let waits = 0;
    return withConnectQueue(
      this.host.config().resolution.connectQueue,
      async () => {
        const g = first;
        first = null;
        if (g) {
          try {
            return await g.login(opts);
          } catch (e) {
            if (e instanceof MysqlServerError) throw e;
            // the greeted connection went away while the client logged in: a new one
          }
        }
        return (await GreetedUpstream.open(this.host.upstream(), CONNECT_TIMEOUT_MS)).login(opts);
      },
      (e, n) => {
        waits = n;
        congestion ??= this.recordServerError(e);
      },
    ).then(
      (r) => {
        this.connectQueueOutcome(congestion, waits, true);
        return r;
      },
      (e: unknown) => {
        this.connectQueueOutcome(congestion, waits, false);
        throw e;
      },
    );
  }

  private attachUpstream(socket: net.Socket): void {
    this.upstream = socket;
    socket.on("data", this.onServerData);
    socket.on("drain", this.onUpstreamDrain);
    socket.on("error", () => {
      // 'close' follows
    });
    socket.on("close", () => {
      if (this.upstream === socket) this.onUpstreamClose();
    });
  }

  /** A SET the client ran successfully (session variables, SET NAMES): kept for a reconnect. */
  private noteSessionSet(c: Pending): void {
    const text = this.statementText(c);
    if (text === undefined || !/^\s*set\s/i.test(text) || text.replace(/;\s*$/, "").includes(";")) return;
    if (
      /^\s*set\s+(global\b|password\b|transaction\b|role\b|default\s+role\b|statement\b|@@global\.)/i.test(
        text,
      )
    )
      return;
    const i = this.sessionSets.indexOf(text);
    if (i >= 0) this.sessionSets.splice(i, 1);
    this.sessionSets.push(text);
    if (this.sessionSets.length > MAX_SESSION_SETS) this.sessionSets.shift();
  }

  private freeClientId(): number {
    let id = 1;
    while (this.prepared.has(id) || this.idMap.has(id)) id++;
    return id;
  }

  /** COM_CHANGE_USER in credentials mode: checked here, answered with a new upstream login. */
  private interceptChangeUser(seq: number): void {
    const cu = this.changeUser;
    this.changeUserAuth = {
      user: cu?.user ?? "",
      database: cu?.database ?? "",
      auth: this.changeUserAuthData ?? Buffer.alloc(0),
      plugin: this.changeUserPlugin ?? "mysql_native_password",
      seq,
    };
  }

  private changeUserAuthData: Buffer | null = null;
  private changeUserPlugin: string | null = null;

  private answerChangeUser(): void {
    const cu = this.changeUserAuth as NonNullable<MysqlSession["changeUserAuth"]>;
    this.changeUserAuth = null;
    const account = this.host.config().auth.users.find((u) => u.user === cu.user);
    const plugin = cu.plugin === "caching_sha2_password" ? "caching_sha2_password" : "mysql_native_password";
    if (!account || !passwordMatches(plugin, account.password, this.scramble, cu.auth)) {
      this.denyLogin(cu.user, (cu.seq + 1) & 0xff, cu.auth.length > 0);
      return;
    }
    this.client.pause();
    const old = this.upstream;
    this.upstream = null;
    this.reconnecting = true;
    old?.end(QUIT_PACKET);
    this.loginUpstream(account.user, account.password, cu.database || undefined).then(
      ({ socket, statusFlags }) => {
        if (this.phase !== "command") {
          socket.destroy();
          return;
        }
        this.attachUpstream(socket);
        this.reconnecting = false;
        this.serverFramer = new MysqlFramer({ peek: SERVER_PEEK, maxPacketLength: 0x40000000 });
        this.tracker.reset();
        this.user = cu.user;
        this.database = cu.database || undefined;
        this.changeUser = null;
        this.prepared.clear();
        this.idMap.clear();
        this.longData.clear();
        this.sessionSets.length = 0;
        this.inTx = false;
        this.hasCur = false;
        this.cur.buf = null;
        this.client.write(
          encodeOk({ statusFlags: statusFlags & ~SESSION_STATE_CHANGED }, (cu.seq + 1) & 0xff, this.caps),
        );
        this.client.resume();
        this.drainWaiting();
      },
      (e: unknown) => {
        this.reconnecting = false;
        this.phase = "login"; // so credentialsFailed answers and closes
        this.credentialsFailed(e, (cu.seq + 1) & 0xff);
      },
    );
  }

  private drainWaiting(): void {
    const waiting = this.waiting.splice(0);
    for (const chunk of waiting) {
      this.counters.bytesFromClients -= chunk.length;
      this.onClientData(chunk);
    }
  }

  /**
   * Credentials mode, the upstream closed in the command phase. Between commands: the next command
   * runs on a new connection with the session restored. A read-only autocommit statement in flight
   * is re-run there; anything else in flight gets a clear error and is never replayed. Inside a
   * transaction the transaction is gone: the client is told by the connection's end.
   */
  private upstreamLost(): void {
    const up = this.upstream;
    this.upstream = null;
    up?.destroy();
    if (this.held !== null) {
      // a retry was waiting: its ERR is the answer after all
      this.client.write(this.held);
      this.held = null;
      this.retry = null;
      this.finishCommand();
      this.client.resume();
    }
    const inFlight = this.hasCur || !this.tracker.idle;
    if (this.inTx || (inFlight && this.txBefore)) {
      this.upstreamFailed(
        PROXY_CODES.UPSTREAM_LOST,
        "the connection to the server was lost inside a transaction; the transaction is rolled back",
      );
      return;
    }
    const midResponse =
      inFlight && (this.respStarted || !this.serverFramer.atBoundary || this.later.length > 0);
    if (midResponse) {
      this.upstreamFailed(
        PROXY_CODES.UPSTREAM_LOST,
        "the connection to the server was lost in the middle of a response",
      );
      return;
    }
    const c = this.cur;
    const text = inFlight ? this.statementText(c) : undefined;
    const { event } = this.host.pipeline.record({
      protocol: "mysql",
      code: PROXY_CODES.UPSTREAM_LOST,
      message: inFlight
        ? "the upstream MySQL connection was lost while a statement ran"
        : "the upstream MySQL connection was lost between statements",
      statement: text,
      database: this.database,
      user: this.user,
      application: this.application,
      inTransaction: false,
      proxyDetected: true,
    });
    this.serverFramer = new MysqlFramer({ peek: SERVER_PEEK, maxPacketLength: 0x40000000 });
    if (!inFlight) {
      this.lostEvent = event;
      return; // the next command reconnects
    }
    if (
      c.cmd === COM_QUERY &&
      c.whole &&
      c.buf !== null &&
      !this.pipelinedBehind &&
      isReadOnlyStatement(text)
    ) {
      this.lostEvent = event;
      this.reconnect(encodePacket(c.buf.subarray(c.start, c.end), 0));
      return;
    }
    this.client.write(
      encodeErr(
        {
          code: ER_SERVER_SHUTDOWN,
          sqlstate: "08S01",
          message:
            "dba-gpt: the connection to the server was lost while this statement ran; it was not re-run because it may have written (its outcome is unknown). The next statement runs on a new connection.",
        },
        this.tracker.nextSeq,
      ),
    );
    this.host.resolver.record(event, {
      strategy: "IMMEDIATE_FIX",
      action: "reconnect",
      outcome: "skipped",
      reason: "a statement that may write was in flight: not re-run; the client got an error",
    });
    this.hasCur = false;
    this.cur.buf = null;
    this.retry = null;
    this.tracker.reset();
    this.client.resume();
  }

  /** Open a new upstream as the same user, restore the session, then re-run `rerun` or what waited. */
  private reconnect(rerun: Buffer | null): void {
    this.reconnecting = true;
    this.client.pause();
    const account = this.host.config().auth.users.find((u) => u.user === this.user);
    if (!account) {
      this.reconnecting = false;
      this.upstreamFailed(
        PROXY_CODES.UPSTREAM_LOST,
        "the upstream connection was lost and the user is no longer configured",
      );
      return;
    }
    const restore: { payload: Buffer; clientId?: number; what: string }[] = [];
    for (const sql of this.sessionSets)
      restore.push({
        payload: Buffer.concat([Buffer.from([COM_QUERY]), Buffer.from(sql, "utf8")]),
        what: sql,
      });
    for (const [id, text] of this.prepared)
      restore.push({
        payload: Buffer.concat([Buffer.from([COM_STMT_PREPARE]), Buffer.from(text, "utf8")]),
        clientId: id,
        what: `prepare ${id}`,
      });
    const fail = (message: string, e?: unknown) => {
      this.reconnecting = false;
      if (this.phase !== "command") return;
      if (rerun === null && this.waiting.length > 0) {
        // a command waits for its answer (sequence id 1)
        const err =
          e instanceof MysqlServerError
            ? { code: e.code, sqlstate: e.sqlstate, message: e.message }
            : { code: ER_SERVER_SHUTDOWN, sqlstate: "08S01", message: `dba-gpt: ${message}` };
        this.client.write(encodeErr(err, 1));
        this.waiting = [];
      }
      this.upstreamFailed(PROXY_CODES.UPSTREAM_LOST, message);
    };
    this.loginUpstream(account.user, account.password, this.database).then(
      async ({ socket, capabilities }) => {
        let results: CommandResult[];
        try {
          results = await runCommands(
            socket,
            capabilities,
            restore.map((r) => r.payload),
            CONNECT_TIMEOUT_MS,
          );
        } catch (e) {
          socket.destroy();
          fail(`reconnected, but restoring the session failed: ${(e as Error).message}`);
          return;
        }
        if (this.phase !== "command" || this.client.destroyed) {
          socket.destroy();
          return;
        }
        this.idMap.clear();
        const problems: string[] = [];
        restore.forEach((r, i) => {
          const res = results[i];
          if (res?.error) problems.push(`${r.what}: ${res.error.code} ${res.error.message}`);
          if (r.clientId !== undefined) {
            const upstreamId = res?.statementId ?? LOST_STATEMENT_ID;
            if (upstreamId !== r.clientId) this.idMap.set(r.clientId, upstreamId);
          }
        });
        this.attachUpstream(socket);
        this.reconnecting = false;
        this.inTx = false;
        const lost = this.lostEvent;
        this.lostEvent = null;
        if (lost) {
          const what = `database ${this.database ?? "(none)"}, ${this.sessionSets.length} SET(s), ${this.prepared.size} prepared statement(s)`;
          this.host.resolver.record(lost, {
            strategy: "IMMEDIATE_FIX",
            action: rerun
              ? "reconnect, restore the session and re-run the read-only statement"
              : "reconnect and restore the session",
            outcome: problems.length === 0 ? "succeeded" : "failed",
            reason:
              problems.length === 0
                ? `new upstream connection, ${what} restored; the client saw no error`
                : `reconnected; restoring reported: ${problems.join("; ")}`,
          });
          this.host.resolver.audit({
            signature: lost.signature,
            errorType: lost.errorType,
            protocol: "mysql",
            policy: "apply",
            action: "reconnect and restore the session",
            sql: restore.map((r) => r.what).join(";\n"),
            outcome: problems.length === 0 ? "succeeded" : "failed",
          });
        }
        this.tracker.reset();
        if (rerun) {
          this.tracker.begin(this.cur.cmd, 0);
          this.respStarted = false;
          socket.write(rerun);
        }
        this.drainWaiting();
        this.client.resume();
      },
      (e: unknown) =>
        fail(`the connection to the server was lost and a new one failed: ${(e as Error).message}`, e),
    );
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
      this.holdFrom = -1;
      if (this.rewrites.length > 0) this.rewrites = [];
      if (this.credentials && !this.hasCur && this.tracker.idle && this.serverFramer.atBoundary) {
        // a server about to close an idle connection (wait_timeout, shutdown) may say so first: the
        // client awaits nothing, and the close decides about a reconnect
        return;
      }
      try {
        this.serverFramer.push(chunk, this.onServerPacket);
      } catch (e) {
        this.protocolFailure("server", e);
        return;
      }
      if (this.phase !== "command") return;
      let out = chunk;
      if (this.holdFrom >= 0) {
        // the failed attempt's ERR is kept from the client; what came before it in the chunk (answers
        // to earlier commands) goes on
        this.held = chunk.subarray(this.holdFrom, this.holdEnd);
        out = chunk.subarray(0, this.holdFrom);
        this.holdFrom = -1;
        if (out.length === 0) return;
      } else if (this.rewrites.length > 0) {
        out = spliceChunk(chunk, this.rewrites);
        this.rewrites = [];
      }
      if (!this.client.write(out)) (this.upstream as net.Socket).pause();
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
    chunkOffset: number,
    payloadLength: number,
  ): void => {
    const ev = this.tracker.onPacket(buf, start, end, payloadLength, seq);
    if (ev.statusFlags !== undefined) this.inTx = (ev.statusFlags & SERVER_STATUS_IN_TRANS) !== 0;
    switch (ev.kind) {
      case "row":
      case "column":
        this.respStarted = true;
        return;
      case "err": {
        const event = this.recordErr(buf, start, end, true);
        this.errBeforeClose = true;
        if (
          this.hasCur &&
          this.later.length === 0 &&
          this.inlineResolution(event, ev.errorCode, chunkOffset)
        ) {
          this.holdFrom = chunkOffset;
          this.holdEnd = chunkOffset + 4 + payloadLength;
          return; // held: the command is re-sent, its response is still awaited
        }
        if (chunkOffset >= 0 && end - start === payloadLength && this.host.config().ai.annotateErrors) {
          // opt-in: the application's own logs get the knowledge base's one-line fix
          const e = decodeErr(buf, start, end);
          const fix = oneLineFix("mysql", String(e.code), e.message);
          if (fix) {
            const message = annotateMysqlErrMessage(e.message, fix);
            this.rewrites.push([
              chunkOffset,
              chunkOffset + 4 + payloadLength,
              encodeErr({ code: e.code, sqlstate: e.sqlstate, message }, seq),
            ]);
          }
        }
        break;
      }
      case "prepare-ok":
        if (this.hasCur && this.cur.cmd === COM_STMT_PREPARE) {
          let id = ev.statementId;
          if (this.idMap.size > 0 && (this.prepared.has(id) || this.idMap.has(id)) && chunkOffset >= 0) {
            // the client already uses this number for a statement re-prepared under another one
            const upstreamId = id;
            id = this.freeClientId();
            this.idMap.set(id, upstreamId);
            buf.writeUInt32LE(id, start + 1);
          }
          this.rememberPrepared(id);
        }
        break;
      case "ok":
        if (ev.done && this.hasCur) this.commandSucceeded();
        break;
    }
    this.respStarted = true;
    if (ev.done) {
      if (this.retry !== null) {
        if (!this.retry.failed && ev.kind !== "err") this.retrySucceeded();
        this.retry = null;
        this.client.resume();
      }
      this.finishCommand();
    }
  };

  // ---- inline resolution: transparent retry (DEADLOCK, LOCK_WAIT_TIMEOUT), missing table healed ------

  /** Should this ERR be held and the command re-run? Starts it when so (the ERR is then held). */
  private inlineResolution(event: ErrorEvent, code: number, chunkOffset: number): boolean {
    const c = this.cur;
    const statementCmd = c.cmd === COM_QUERY || c.cmd === COM_STMT_EXECUTE;
    let go = false;
    if ((code === ER_LOCK_DEADLOCK || code === ER_LOCK_WAIT_TIMEOUT) && statementCmd) {
      go = this.decideRetry(event, chunkOffset);
    } else if (
      code === ER_NO_SUCH_TABLE &&
      this.retry === null &&
      (statementCmd || c.cmd === COM_STMT_PREPARE)
    ) {
      const ddl = this.host.healer.inlineTableHeal(event);
      if (ddl !== null) go = this.decideHeal(event, ddl, chunkOffset);
    } else if (this.retry !== null) {
      // the retry met another error: it reaches the client unchanged
      this.retryFailed(`the retry failed with ${code}`);
    }
    if (!go) return false;
    this.client.pause();
    this.startRetry();
    return true;
  }

  /** May this failed statement be re-run transparently? Records why not when it may not. */
  private decideRetry(event: ErrorEvent, chunkOffset: number): boolean {
    const verdict = this.host.resolver.decideRetry(
      event,
      this.retryBlocker(event, chunkOffset),
      this.retry ? this.retry.attempts : null,
    );
    if (verdict !== "retry") {
      if (verdict !== "no") this.retryFailed(verdict.stop);
      return false;
    }
    if (!this.retry) {
      this.retry = { event, attempts: 0, startedAt: performance.now(), failed: false, ddl: null };
    }
    return true;
  }

  /** A missing table with a schema template, policy apply, at the threshold: heal, then re-run. */
  private decideHeal(event: ErrorEvent, ddl: string, chunkOffset: number): boolean {
    const why = this.retryBlocker(undefined, chunkOffset);
    if (why) {
      this.host.resolver.record(event, {
        strategy: "SELF_HEALING",
        action: HEAL_ACTION,
        outcome: "skipped",
        reason: `cannot re-run the statement: ${why}`,
      });
      return false;
    }
    this.retry = { event, attempts: 0, startedAt: performance.now(), failed: false, ddl };
    return true;
  }

  private retryBlocker(event: ErrorEvent | undefined, chunkOffset: number): string | null {
    const c = this.cur;
    if (this.txBefore) {
      return event?.errorType === "DEADLOCK"
        ? "inside an explicit transaction (InnoDB rolled the whole transaction back; transaction replay is PostgreSQL-only for now)"
        : "inside an explicit transaction (transaction replay is PostgreSQL-only for now)";
    }
    if (this.respStarted || chunkOffset < 0) return "part of the response already reached the client";
    if (this.pipelinedBehind || this.later.length > 0) return "more commands are pipelined behind it";
    if (!c.whole || c.buf === null) return "the command is too large to replay";
    if (c.cmd === COM_STMT_EXECUTE && this.longData.has(c.id)) {
      return "its parameters were sent with COM_STMT_SEND_LONG_DATA, which cannot be re-sent";
    }
    return null;
  }

  /** The failed attempt's ERR is held: re-send the command after a backoff (or heal first). */
  private startRetry(): void {
    const r = this.retry as InlineRetry;
    const c = this.cur;
    const bytes = encodePacket((c.buf as Buffer).subarray(c.start, c.end), 0);
    r.attempts++;
    const resolver = this.host.resolver;
    if (r.ddl !== null) {
      const ddl = r.ddl;
      r.ddl = null;
      this.healThenResend(r, ddl, bytes);
      return;
    }
    const delay = resolver.backoffMs(r.attempts, r.event.errorType);
    resolver.audit({
      signature: r.event.signature,
      errorType: r.event.errorType,
      protocol: "mysql",
      policy: "apply",
      action: `retry attempt ${r.attempts} after ${delay} ms`,
      sql: this.statementText(c),
      frames: bytes.toString("base64"),
      outcome: "sent",
    });
    setTimeout(() => this.resend(bytes), delay);
  }

  private resend(bytes: Buffer): void {
    if (this.phase !== "command" || !this.upstream || !this.hasCur) return;
    this.held = null;
    this.tracker.begin(this.cur.cmd, 0);
    this.txBefore = this.inTx;
    this.respStarted = false;
    this.errBeforeClose = false;
    this.upstream.write(bytes);
  }

  private healThenResend(r: InlineRetry, ddl: string, bytes: Buffer): void {
    const ev = r.event;
    this.host.healer.healInline(ev, ddl, this.database ?? null).then((ok) => {
      if (this.phase !== "command" || !this.upstream) return;
      if (!ok) {
        this.releaseHeld();
        return;
      }
      this.resend(bytes);
    });
  }

  /** Give the held ERR to the client after all: the command is over. */
  private releaseHeld(): void {
    const held = this.held;
    this.held = null;
    this.retry = null;
    this.finishCommand();
    if (held) this.client.write(held);
    this.errBeforeClose = true;
    this.client.resume();
    if (this.draining && this.idle) this.shutdown();
  }

  private retrySucceeded(): void {
    const r = this.retry as InlineRetry;
    this.host.resolver.reRunEnded(r.event, "succeeded", {
      attempts: r.attempts,
      startedAt: r.startedAt,
      sql: this.statementText(this.cur),
    });
  }

  private retryFailed(reason: string): void {
    const r = this.retry;
    if (!r || r.failed || r.attempts === 0) return;
    this.host.resolver.reRunEnded(r.event, "failed", {
      attempts: r.attempts,
      startedAt: r.startedAt,
      sql: this.statementText(this.cur),
      reason,
    });
    r.failed = true; // recorded: the response in flight goes to the client, then the state is cleared
  }

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
          else if (this.credentials) this.noteSessionSet(c);
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
    if (this.cur.cmd === COM_STMT_EXECUTE) this.longData.delete(this.cur.id);
    this.respStarted = false;
    if (this.later.length > 0) {
      const next = this.later.shift() as Pending;
      const c = this.cur;
      c.cmd = next.cmd;
      c.buf = next.buf;
      c.start = next.start;
      c.end = next.end;
      c.id = next.id;
      c.whole = next.whole;
      this.pipelinedBehind = this.later.length > 0;
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
  private recordErr(buf: Buffer, start: number, end: number, commandPhase: boolean): ErrorEvent {
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
    const { event } = this.host.pipeline.record({
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
    return event;
  }

  // ---- flow control and endings -----------------------------------------------------------------

  private readonly onClientDrain = (): void => {
    this.upstream?.resume();
  };

  private readonly onUpstreamDrain = (): void => {
    if (this.retry === null) this.client.resume();
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
    this.greeted?.socket.destroy();
    this.greeted = null;
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
    if (this.held !== null) {
      // lost while a retry waited: the client gets the real error it was spared
      this.client.write(this.held);
      this.held = null;
      this.retry = null;
      this.hasCur = false;
      this.errBeforeClose = true;
    }
    if (this.credentials && phase === "command" && !this.clientQuit && !this.draining) {
      this.upstreamLost();
      return;
    }
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
    else if (phase === "login") seq = this.loginSeq;
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

/** Commands whose payload starts with a 4-byte statement id after the command byte. */
function carriesStatementId(cmd: number): boolean {
  return (
    cmd === COM_STMT_EXECUTE ||
    cmd === COM_STMT_CLOSE ||
    cmd === COM_STMT_RESET ||
    cmd === COM_STMT_SEND_LONG_DATA ||
    cmd === COM_STMT_FETCH ||
    cmd === COM_STMT_BULK_EXECUTE
  );
}
