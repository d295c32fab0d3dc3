import { randomInt } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { performance } from "node:perf_hooks";
import { decodeErrorFields, type PgErrorFields } from "../../protocol/postgres/backend.js";
import { decodeClose, decodeParse, decodeQuery, decodeStartup } from "../../protocol/postgres/frontend.js";
import { BackendMessage, FrontendMessage } from "../../protocol/postgres/constants.js";
import {
  encodeBackendKeyData,
  encodeCancelRequest,
  encodeErrorResponse,
  encodeParameterStatus,
  encodeReadyForQuery,
  encodeSimpleMessage,
} from "../../protocol/postgres/encode.js";
import { PgFramer } from "../../protocol/postgres/framer.js";
import { ProtocolError } from "../../protocol/shared/protocol-error.js";
import { observeLatency } from "../admin/metrics.js";
import { annotatePgError } from "../ai/annotate.js";
import { PROXY_CODES } from "../errors/classify.js";
import type { ErrorEvent } from "../errors/types.js";
import { replayPlan } from "./pg-replay.js";
import { spliceChunk } from "./splice.js";
import { TxnRecorder } from "./pg-txn-replay.js";
import { HEAL_ACTION, PG_RETRYABLE } from "../resolve/resolver.js";
import { AuthFailure, encodeAuthOk, encodeAuthSaslFinal } from "./pg-auth.js";
import { ClientLogin, isReadOnlyStatement, restoreOn, SessionState } from "./pg-credentials.js";
import {
  openUpstream,
  type UpstreamConnection,
  UpstreamLoginError,
  UpstreamUnreachable,
} from "./pg-upstream.js";
import type { CancelTarget, SessionHost } from "./session-host.js";

const READY_IDLE = 0x49; // 'I'
const CLIENT_INTEREST = [
  FrontendMessage.Query,
  FrontendMessage.Parse,
  FrontendMessage.Sync,
  FrontendMessage.Terminate,
];
const SERVER_INTEREST = [BackendMessage.ErrorResponse, BackendMessage.ReadyForQuery];
/** credentials mode also reads password messages (login) and Close (prepared statements to restore) */
const CREDENTIALS_CLIENT_INTEREST = [
  ...CLIENT_INTEREST,
  FrontendMessage.PasswordMessage,
  FrontendMessage.Close,
];
const MAX_STARTUP = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
const N = Buffer.from("N");
const S = Buffer.from("S");
const PARSE_COMPLETE = encodeSimpleMessage(BackendMessage.ParseComplete);
/** a request unit larger than this is not kept for replay (COPY data, huge batches) */
const MAX_REPLAY_BYTES = 1024 * 1024;

type Phase = "startup" | "auth" | "connecting" | "relay" | "closed";

/** Does this simple Query open a transaction (BEGIN / START TRANSACTION)? Reads a few bytes only. */
function startsTransaction(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x09 || buf[i] === 0x0d)) i++;
  const c = (buf[i] as number) | 0x20;
  if (c !== 0x62 /* b */ && c !== 0x73 /* s */) return false;
  const word = buf.toString("latin1", i, Math.min(end, i + 5)).toLowerCase();
  return word === "begin" || word === "start";
}

/**
 * One client connection of the PostgreSQL side. Relays bytes both ways unchanged, reading frame headers
 * only; inspects ErrorResponse (→ error pipeline) and ReadyForQuery (transaction state) from the server,
 * and Query/Parse/Sync (statement for the digest, request units) from the client. On top of the relay it
 * resolves errors inline under the policy: transparent retry of an autocommit request unit, replay of a
 * recorded transaction, a missing table healed from its template, and — in credentials mode — its own
 * login, a connect queue and reconnects with the session state restored.
 */
export class PgSession implements CancelTarget {
  private upstream: net.Socket | null = null;
  private phase: Phase = "startup";
  private startupBuf: Buffer | null = null;
  private readonly pending: Buffer[] = [];
  private clientFramer: PgFramer | null = null;
  private serverFramer = new PgFramer({ side: "backend", interest: SERVER_INTEREST });
  // ---- credentials mode (PRODUCT.md section 5): the proxy logs in for the client, and reconnects ----
  private readonly credentials: boolean;
  private login: ClientLogin | null = null;
  private startupParams: Record<string, string> = {};
  private state: SessionState | null = null;
  private upstreamKey: { processId: number; secretKey: number | Buffer } | null = null;
  private proxyKey: { processId: number; secretKey: number } | null = null;
  private reconnecting = false;
  private lostEvent: ErrorEvent | null = null;
  /** a FATAL from the server in credentials mode: kept from the client, decided at close */
  private fatalEvent: ErrorEvent | null = null;
  private swallowChunk = false;
  // ---- transaction replay (PRODUCT.md section 5) ----
  private readonly txn: TxnRecorder;
  /** ReadyForQuery answers of the proxy's own statements (a ROLLBACK after a failed replay) to keep from the client */
  private swallowReady = 0;
  private afterSwallow: (() => void) | null = null;
  /** ai.annotateErrors: ErrorResponse frames of the current server chunk to replace (offset, end, frame) */
  private rewrites: [number, number, Buffer][] = [];
  private txStatus = READY_IDLE;
  private statusBeforeRequest = READY_IDLE;
  private user: string | undefined;
  private database: string | undefined;
  private application: string | undefined;
  // The last statement the client sent, kept as a view and decoded only when an error needs it.
  private stmtBuf: Buffer | null = null;
  private stmtStart = 0;
  private stmtEnd = 0;
  private stmtIsParse = false;
  private clientTerminated = false;
  private serverSentFatal = false;
  private requestAt = 0;
  private outstanding = 0;
  private draining = false;
  private readonly counters;
  // ---- transparent retry (PRODUCT.md section 5) ----
  // The request unit the client is sending now (bytes since the last Query/Sync), as chunk views.
  private unitChunks: Buffer[] = [];
  private unitStart = 0;
  private unitBytes = 0;
  private unitOverflow = false;
  // The last complete unit: what a retry re-sends.
  private lastUnit: Buffer[] | null = null;
  private lastUnitStart = 0;
  private lastUnitEnd = 0;
  /** bytes of the current response already forwarded to the client */
  private respForwarded = 0;
  /** set while scanning a server chunk: a retryable error seen in it, and whether ReadyForQuery followed */
  private retryableEvent: ErrorEvent | null = null;
  /** for a missing table healed inline: the template DDL to run before re-running the statement */
  private healDdl: string | null = null;
  private retryableOutstanding = 0;
  private sawReady = false;
  /** response chunks held back while a retry is under way */
  private held: Buffer[] | null = null;
  private retry: {
    event: ErrorEvent;
    attempts: number;
    startedAt: number;
    synthParses: number;
    failed: boolean;
    /** SELF_HEALING: DDL to run once before the re-run */
    ddl: string | null;
    /** inside a transaction: replay the recorded transaction before re-running the failed unit */
    txnReplay: boolean;
  } | null = null;

  constructor(
    private client: net.Socket,
    private readonly host: SessionHost,
  ) {
    this.counters = host.metrics.proto.postgres;
    this.credentials = host.config().auth.mode === "credentials";
    this.txn = new TxnRecorder(() => host.config().resolution.replay);
    this.counters.connectionsActive++;
    this.counters.connectionsTotal++;
    client.setNoDelay(true);
    client.on("data", this.onClientData);
    client.on("drain", this.onClientDrain);
    client.on("error", this.onSocketError);
    client.on("close", this.onClientClose);
  }

  /** True when no statement is in flight (drain may close the session now). */
  get idle(): boolean {
    return this.phase !== "relay" || (this.outstanding === 0 && this.txStatus === READY_IDLE);
  }

  // ---- client → server ----------------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    this.counters.bytesFromClients += chunk.length;
    if (this.phase === "relay") {
      if (this.upstream === null) {
        // credentials mode, upstream lost between statements: reconnect before relaying
        this.pending.push(chunk);
        if (!this.reconnecting) this.reconnect();
        return;
      }
      if (this.requestAt === 0) this.requestAt = performance.now();
      this.unitChunks.push(chunk);
      this.unitBytes += chunk.length;
      if (this.unitBytes > MAX_REPLAY_BYTES && this.unitChunks.length > 1) {
        // too large to replay (COPY data, huge batches): keep only the current chunk's view
        this.unitChunks = [chunk];
        this.unitOverflow = true;
      }
      try {
        (this.clientFramer as PgFramer).push(chunk, this.onClientFrame);
      } catch (e) {
        this.protocolFailure("client", e);
        return;
      }
      const up = this.upstream as net.Socket;
      if (!up.write(chunk)) this.client.pause();
      return;
    }
    if (this.phase === "startup") {
      this.onStartupData(chunk);
      return;
    }
    if (this.phase === "auth") {
      try {
        (this.clientFramer as PgFramer).push(chunk, this.onAuthFrame);
      } catch (e) {
        if (e instanceof AuthFailure) this.authFailed(e.message);
        else this.protocolFailure("client", e);
      }
      return;
    }
    if (this.phase === "connecting") this.pending.push(chunk);
  };

  private readonly onClientFrame = (type: number, buf: Buffer, start: number, end: number): void => {
    switch (type) {
      case FrontendMessage.Query:
        this.noteStatement(buf, start, end, false);
        if (this.outstanding === 0 && this.txStatus === READY_IDLE && startsTransaction(buf, start, end))
          this.txn.begin();
        else if (this.outstanding > 0 && this.txn.active) this.txn.abandon();
        if (this.state) this.state.onQuery(decodeQuery(buf, start, end));
        this.endUnit();
        this.request();
        break;
      case FrontendMessage.Parse:
        this.noteStatement(buf, start, end, true);
        if (this.state) {
          const name = decodeParse(buf, start, end).name;
          if (name !== "")
            this.state.onParse(name, encodeSimpleMessage(FrontendMessage.Parse, buf.subarray(start, end)));
        }
        break;
      case FrontendMessage.Close:
        if (this.state) {
          const c = decodeClose(buf, start, end);
          if (c.kind === "S") this.state.onCloseStatement(c.name);
        }
        break;
      case FrontendMessage.Sync:
        this.endUnit();
        this.request();
        break;
      case FrontendMessage.Terminate:
        this.clientTerminated = true;
        break;
    }
  };

  private noteStatement(buf: Buffer, start: number, end: number, isParse: boolean): void {
    this.stmtBuf = buf;
    this.stmtStart = start;
    this.stmtEnd = end;
    this.stmtIsParse = isParse;
  }

  /** A Query or Sync ended a request unit: keep it (as views) for a possible replay. */
  private endUnit(): void {
    const chunks = this.unitChunks;
    const end = (this.clientFramer as PgFramer).frameEnd;
    const current = chunks[chunks.length - 1];
    if (this.unitOverflow || this.unitBytes > MAX_REPLAY_BYTES || current === undefined) {
      this.lastUnit = null; // too large to hold for replay
    } else {
      this.lastUnit = chunks;
      this.lastUnitStart = this.unitStart;
      this.lastUnitEnd = end;
    }
    this.unitOverflow = false;
    if (current !== undefined && end < current.length) {
      this.unitChunks = [current];
      this.unitStart = end;
      this.unitBytes = current.length - end;
    } else {
      this.unitChunks = [];
      this.unitStart = 0;
      this.unitBytes = 0;
    }
  }

  private request(): void {
    if (this.outstanding === 0) this.statusBeforeRequest = this.txStatus;
    this.outstanding++;
    this.counters.queries++;
  }

  /** Untyped startup phase: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest. */
  private onStartupData(chunk: Buffer): void {
    let buf = this.startupBuf ? Buffer.concat([this.startupBuf, chunk]) : chunk;
    this.startupBuf = null;
    while (this.phase === "startup") {
      if (buf.length < 4) break;
      const len = buf.readInt32BE(0);
      if (len < 8 || len > MAX_STARTUP) {
        this.protocolFailure(
          "client",
          new ProtocolError(`invalid startup message length ${len}`, "bad_length"),
        );
        return;
      }
      if (buf.length < len) break;
      const msg = decodeStartup(buf, 4, len);
      const rest = buf.subarray(len);
      switch (msg.kind) {
        case "ssl":
        case "gssenc": {
          const ctx = msg.kind === "ssl" ? this.host.tlsContext() : null;
          if (ctx) {
            if (rest.length > 0) {
              // bytes sent before the handshake would be trusted as if encrypted (CVE-2021-23214)
              this.protocolFailure(
                "client",
                new ProtocolError("data after SSLRequest before the TLS handshake", "tls_stuffing"),
              );
              return;
            }
            this.startTls(ctx);
            return;
          }
          // No certificate configured: decline, the client goes on in plain text (sslmode=prefer).
          this.client.write(N);
          buf = rest;
          continue;
        }
        case "cancel": {
          const target =
            typeof msg.secretKey === "number"
              ? this.host.cancelTarget(msg.processId, msg.secretKey)
              : undefined;
          if (target) {
            this.phase = "closed";
            target.cancelUpstream();
            this.client.end();
          } else this.forwardCancel(buf.subarray(0, len));
          return;
        }
        case "startup":
          this.user = msg.params.user;
          this.database = msg.params.database ?? msg.params.user;
          this.application = msg.params.application_name;
          if (this.credentials) this.beginLogin(msg.params, rest);
          else this.connectUpstream(buf.subarray(0, len), rest);
          return;
        default:
          this.protocolFailure(
            "client",
            new ProtocolError(`unsupported startup code ${msg.code}`, "bad_startup"),
          );
          return;
      }
    }
    if (this.phase === "startup" && buf.length > 0) this.startupBuf = Buffer.from(buf);
  }

  // ---- credentials mode ------------------------------------------------------------------------------

  private beginLogin(params: Record<string, string>, rest: Buffer): void {
    const cfg = this.host.config();
    this.startupParams = { ...params };
    this.state = new SessionState();
    const account = cfg.auth.users.find((u) => u.user === params.user);
    this.login = new ClientLogin(cfg.auth.pgMethod, params.user ?? "", account);
    this.clientFramer = new PgFramer({ side: "backend", interest: CREDENTIALS_CLIENT_INTEREST });
    this.phase = "auth";
    this.client.write(this.login.start());
    if (rest.length > 0) this.onClientData(Buffer.from(rest));
  }

  private readonly onAuthFrame = (type: number, buf: Buffer, start: number, end: number): void => {
    if (this.phase !== "auth") return;
    if (type !== FrontendMessage.PasswordMessage) {
      throw new ProtocolError("expected a password message during authentication", "auth_sequence");
    }
    const login = this.login as ClientLogin;
    const reply = login.next(buf, start, end);
    if (reply) this.client.write(reply);
    if (login.done) {
      this.phase = "connecting";
      this.openCredentialsUpstream(false);
    }
  };

  private authFailed(message: string): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.host.pipeline.record({
      protocol: "postgres",
      code: "28P01",
      sqlstate: "28P01",
      message,
      database: this.database,
      user: this.user,
      application: this.application,
      inTransaction: false,
    });
    this.client.end(
      encodeErrorResponse({ severity: "FATAL", severityNonLocalized: "FATAL", code: "28P01", message }),
    );
  }

  private openCredentialsUpstream(isReconnect: boolean): void {
    const cfg = this.host.config();
    const account = cfg.auth.users.find((u) => u.user === this.startupParams.user);
    if (!account) {
      this.authFailed(`password authentication failed for user "${this.user}"`);
      return;
    }
    let congestion: ErrorEvent | null = null;
    let attempts = 0;
    openUpstream({
      endpoint: this.host.upstream(),
      params: this.startupParams,
      password: account.password,
      timeoutMs: CONNECT_TIMEOUT_MS,
      queue: {
        ...cfg.resolution.connectQueue,
        baseDelayMs: Math.max(10, cfg.resolution.retry.baseDelayMs),
        maxDelayMs: Math.max(50, cfg.resolution.retry.maxDelayMs),
      },
      onCongested: (fields, attempt) => {
        attempts = attempt;
        if (congestion === null) congestion = this.recordServerError(fields);
      },
    }).then(
      async (conn) => {
        if (this.phase === "closed" || this.client.destroyed) {
          conn.socket.destroy();
          return;
        }
        if (congestion) {
          this.host.resolver.record(
            congestion,
            {
              strategy: "IMMEDIATE_FIX",
              action: "hold the client's connect and retry the upstream",
              outcome: "succeeded",
              reason: `got in after ${attempts + 1} attempts; the client saw no error`,
            },
            { attempts },
          );
        }
        if (isReconnect) await this.resumeOnNewUpstream(conn);
        else this.finishLogin(conn);
      },
      (e: unknown) => this.credentialsUpstreamFailed(e, congestion, attempts),
    );
  }

  private recordServerError(f: PgErrorFields): ErrorEvent {
    return this.host.pipeline.record({
      protocol: "postgres",
      code: f.code || "XX000",
      sqlstate: f.code || undefined,
      message: f.message,
      detail: f.detail,
      database: this.database,
      user: this.user,
      application: this.application,
      inTransaction: false,
    }).event;
  }

  private credentialsUpstreamFailed(e: unknown, congestion: ErrorEvent | null, attempts: number): void {
    if (this.phase === "closed") return;
    if (e instanceof UpstreamLoginError) {
      if (congestion) {
        this.host.resolver.record(
          congestion,
          {
            strategy: "IMMEDIATE_FIX",
            action: "hold the client's connect and retry the upstream",
            outcome: "failed",
            reason: `still refused after ${attempts} attempts; the client got the real error`,
          },
          { attempts },
        );
      } else {
        this.recordServerError(e.fields);
      }
      this.phase = "closed";
      this.client.end(encodeErrorResponse({ ...e.fields, severity: "FATAL", severityNonLocalized: "FATAL" }));
      return;
    }
    if (e instanceof UpstreamUnreachable) {
      this.upstreamFailed(e.code, e.message);
      return;
    }
    this.upstreamFailed(PROXY_CODES.UPSTREAM_LOST, e instanceof Error ? e.message : String(e));
  }

  private finishLogin(conn: UpstreamConnection): void {
    const login = this.login as ClientLogin;
    const out: Buffer[] = [];
    if (login.finalMessage) out.push(encodeAuthSaslFinal(login.finalMessage));
    out.push(encodeAuthOk());
    for (const [name, value] of conn.params) out.push(encodeParameterStatus(name, value));
    // the client gets the proxy's own cancel key: it stays valid across reconnects
    const processId = randomInt(1, 0x7fffffff);
    const secretKey = randomInt(1, 0x7fffffff);
    this.proxyKey = { processId, secretKey };
    this.host.registerCancel(processId, secretKey, this);
    out.push(encodeBackendKeyData(processId, secretKey), encodeReadyForQuery("I"));
    this.login = null;
    this.attachUpstream(conn);
    this.client.write(Buffer.concat(out));
    this.phase = "relay";
    const queued = this.pending.splice(0);
    for (const chunk of queued) this.onClientData(chunk);
    conn.socket.resume();
  }

  private attachUpstream(conn: UpstreamConnection): void {
    const up = conn.socket;
    this.upstream = up;
    this.upstreamKey = { processId: conn.processId, secretKey: conn.secretKey };
    this.serverFramer = new PgFramer({ side: "backend", interest: SERVER_INTEREST });
    this.clientTerminated = false;
    this.serverSentFatal = false;
    up.setNoDelay(true);
    up.on("data", this.onServerData);
    up.on("drain", this.onUpstreamDrain);
    up.on("error", this.onUpstreamError);
    up.on("close", this.onUpstreamClose);
  }

  /** CancelTarget: the client's cancel key maps to whichever upstream connection serves it now. */
  cancelUpstream(): void {
    const key = this.upstreamKey;
    if (!key || !this.upstream) return;
    const { host, port } = this.host.upstream();
    const s = net.connect({ host, port, noDelay: true });
    s.on("connect", () => s.end(encodeCancelRequest(key.processId, key.secretKey)));
    s.on("error", () => s.destroy());
    s.setTimeout(CONNECT_TIMEOUT_MS, () => s.destroy());
  }

  /** Credentials mode: the upstream connection ended under a live client. */
  private upstreamGone(): void {
    const old = this.upstream;
    this.upstream = null;
    old?.removeAllListeners("data");
    const event =
      this.fatalEvent ??
      this.host.pipeline.record({
        protocol: "postgres",
        code: PROXY_CODES.UPSTREAM_LOST,
        message: "the upstream PostgreSQL closed the connection",
        database: this.database,
        user: this.user,
        application: this.application,
        inTransaction: this.txStatus !== READY_IDLE,
        proxyDetected: true,
      }).event;
    this.fatalEvent = null;
    const inFlight = this.outstanding > 0 || this.retry !== null || this.held !== null;
    if (!inFlight && this.txStatus === READY_IDLE) {
      // between statements: the next statement reconnects and restores the session first
      this.lostEvent = event;
      return;
    }
    this.held = null;
    this.retry = null;
    const stmt = this.lastStatement();
    const autocommit = this.statusBeforeRequest === READY_IDLE && this.txStatus === READY_IDLE;
    if (
      autocommit &&
      this.respForwarded === 0 &&
      this.outstanding === 1 &&
      this.lastUnit &&
      isReadOnlyStatement(stmt)
    ) {
      // a read-only statement in autocommit may be re-run on a new connection
      this.lostEvent = event;
      this.pending.unshift(replayPlan(this.lastUnit, this.lastUnitStart, this.lastUnitEnd, []).bytes);
      this.outstanding = 0;
      this.unitChunks = [];
      this.unitBytes = 0;
      this.reconnect();
      return;
    }
    if (autocommit) {
      // a statement that may have written: its outcome is unknown, so it is never re-run
      this.host.resolver.record(event, {
        strategy: "IMMEDIATE_FIX",
        action: "reconnect",
        outcome: "skipped",
        reason: "the connection was lost while a statement that may write was running: not re-run",
      });
      this.outstanding = 0;
      this.lostEvent = null;
      this.client.write(
        Buffer.concat([
          encodeErrorResponse({
            severity: "ERROR",
            severityNonLocalized: "ERROR",
            code: "08006",
            message:
              "dba-gpt: the connection to the server was lost while this statement was running; it was not re-run because it may have written, so its outcome is unknown",
          }),
          encodeReadyForQuery("I"),
        ]),
      );
      this.client.resume();
      return;
    }
    // inside a transaction: the transaction is gone with the connection
    this.phase = "relay";
    this.upstreamFailed(
      PROXY_CODES.UPSTREAM_LOST,
      "the connection to the server was lost inside a transaction; the transaction is rolled back",
    );
  }

  /** Open a new upstream on the client's credentials, restore its session, then relay what waited. */
  private reconnect(): void {
    this.reconnecting = true;
    this.openCredentialsUpstream(true);
  }

  private async resumeOnNewUpstream(conn: UpstreamConnection): Promise<void> {
    const state = this.state as SessionState;
    let restoreErrors: string[];
    try {
      restoreErrors = await restoreOn(conn.socket, state, CONNECT_TIMEOUT_MS);
    } catch (e) {
      conn.socket.destroy();
      this.reconnecting = false;
      this.upstreamFailed(
        PROXY_CODES.UPSTREAM_LOST,
        `reconnected, but restoring the session failed: ${(e as Error).message}`,
      );
      return;
    }
    if (this.phase !== "relay" || this.client.destroyed) {
      conn.socket.destroy();
      return;
    }
    this.attachUpstream(conn);
    this.reconnecting = false;
    this.txStatus = READY_IDLE;
    if (this.lostEvent) {
      this.host.resolver.record(this.lostEvent, {
        strategy: "IMMEDIATE_FIX",
        action: "reconnect and restore the session",
        outcome: restoreErrors.length === 0 ? "succeeded" : "failed",
        reason:
          restoreErrors.length === 0
            ? `new upstream connection, ${state.describe()} restored; the client saw no error`
            : `reconnected; restoring reported: ${restoreErrors.join("; ")}`,
      });
      this.host.resolver.audit({
        signature: this.lostEvent.signature,
        errorType: this.lostEvent.errorType,
        protocol: "postgres",
        policy: "apply",
        action: "reconnect and restore the session",
        frames: state.restoreFrames().bytes.toString("base64"),
        outcome: restoreErrors.length === 0 ? "succeeded" : "failed",
      });
      this.lostEvent = null;
    }
    const queued = this.pending.splice(0);
    for (const chunk of queued) this.onClientData(chunk);
    conn.socket.resume();
  }

  /** Terminate the client's TLS: answer 'S', then speak the protocol inside the TLS session. */
  private startTls(ctx: tls.SecureContext): void {
    const raw = this.client;
    raw.off("data", this.onClientData);
    raw.off("drain", this.onClientDrain);
    raw.off("error", this.onSocketError);
    raw.off("close", this.onClientClose);
    raw.write(S);
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
    this.client = secure;
    secure.on("data", this.onClientData);
    secure.on("drain", this.onClientDrain);
    secure.on("error", this.onSocketError);
    secure.on("close", this.onClientClose);
  }

  private forwardCancel(frame: Buffer): void {
    this.phase = "closed";
    const copy = Buffer.from(frame);
    const { host, port } = this.host.upstream();
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    s.on("connect", () => s.end(copy));
    s.on("error", () => s.destroy());
    s.setTimeout(CONNECT_TIMEOUT_MS, () => s.destroy());
    this.client.end();
  }

  private connectUpstream(startup: Buffer, rest: Buffer): void {
    this.phase = "connecting";
    const first = Buffer.from(startup);
    if (rest.length > 0) this.pending.push(Buffer.from(rest));
    const { host, port } = this.host.upstream();
    const up = net.connect({ host, port, noDelay: true });
    this.upstream = up;
    up.setTimeout(CONNECT_TIMEOUT_MS);
    const onTimeout = () => {
      this.upstreamFailed(
        PROXY_CODES.UPSTREAM_TIMEOUT,
        `connecting to the upstream ${host}:${port} timed out`,
      );
    };
    up.once("timeout", onTimeout);
    up.once("connect", () => {
      up.setTimeout(0);
      up.off("timeout", onTimeout);
      if (this.phase === "closed") {
        up.destroy();
        return;
      }
      // typed frames from now on
      this.clientFramer = new PgFramer({ side: "backend", interest: CLIENT_INTEREST });
      this.phase = "relay";
      up.write(first);
      const queued = this.pending.splice(0);
      for (const chunk of queued) this.onClientData(chunk);
    });
    up.on("data", this.onServerData);
    up.on("drain", this.onUpstreamDrain);
    up.on("error", this.onUpstreamError);
    up.on("close", this.onUpstreamClose);
  }

  // ---- server → client ----------------------------------------------------------------------------

  private readonly onServerData = (chunk: Buffer): void => {
    this.counters.bytesFromServers += chunk.length;
    if (this.requestAt !== 0) {
      observeLatency(this.counters, (performance.now() - this.requestAt) / 1000);
      this.requestAt = 0;
    }
    this.sawReady = false;
    if (this.rewrites.length > 0) this.rewrites = [];
    try {
      this.serverFramer.push(chunk, this.onServerFrame);
    } catch (e) {
      this.protocolFailure("server", e);
      return;
    }
    if (this.swallowChunk) {
      this.swallowChunk = false;
      return;
    }
    if (this.txn.replaying) {
      this.txn.onReplayChunk(chunk, this.sawReady);
      return;
    }
    if (this.swallowReady > 0) {
      if (this.sawReady && --this.swallowReady === 0 && this.afterSwallow) {
        const then = this.afterSwallow;
        this.afterSwallow = null;
        then();
      }
      return;
    }
    if (this.held !== null) {
      // the rest of a failed attempt's response: swallow until its ReadyForQuery
      this.held.push(chunk);
      if (this.sawReady) this.startRetry();
      return;
    }
    if (this.retryableEvent !== null) {
      const event = this.retryableEvent;
      this.retryableEvent = null;
      if (this.healDdl !== null ? this.decideHeal(event, this.healDdl) : this.decideRetry(event)) {
        this.held = [chunk];
        this.client.pause();
        if (this.sawReady) this.startRetry();
        return;
      }
    } else if (this.retry !== null && this.sawReady && !this.retry.failed) {
      this.retrySucceeded();
    }
    if (this.retry !== null && this.retry.synthParses > 0) {
      // named statements parsed by the failed attempt are not parsed again: answer for them
      const synth = Buffer.concat(Array.from({ length: this.retry.synthParses }, () => PARSE_COMPLETE));
      this.retry.synthParses = 0;
      this.client.write(synth);
    }
    if (this.sawReady && this.retry !== null) this.endRetry();
    if (this.txn.active) {
      this.txn.onResponse(chunk);
      if (this.sawReady) this.txn.onUnitDone(this.copyLastUnit(), this.txStatus);
    }
    this.respForwarded = this.sawReady ? chunk.length - this.readyEnd : this.respForwarded + chunk.length;
    let out = chunk;
    if (this.rewrites.length > 0) {
      out = spliceChunk(chunk, this.rewrites);
      this.rewrites = [];
    }
    if (!this.client.write(out)) (this.upstream as net.Socket).pause();
    if (this.draining && this.idle) this.shutdown();
  };

  private readyEnd = 0;

  private readonly onServerFrame = (
    type: number,
    buf: Buffer,
    start: number,
    end: number,
    chunkOffset: number,
  ): void => {
    if (type === BackendMessage.ReadyForQuery) {
      this.txStatus = buf[start] as number;
      if (this.outstanding > 0) this.outstanding--;
      this.sawReady = true;
      this.readyEnd = this.serverFramer.frameEnd;
      return;
    }
    // ErrorResponse: the only other frame of interest; the proxy's own replays are not the client's errors
    if (this.txn.replaying || this.swallowReady > 0) return;
    const f = decodeErrorFields(buf, start, end);
    const severity = f.severityNonLocalized || f.severity;
    const fatal = severity === "FATAL" || severity === "PANIC";
    if (fatal) this.serverSentFatal = true;
    const { event } = this.host.pipeline.record({
      protocol: "postgres",
      code: f.code || "XX000",
      sqlstate: f.code || undefined,
      message: f.message,
      detail: f.detail,
      table: f.table,
      column: f.column,
      constraint: f.constraint,
      statement: this.lastStatement(),
      database: this.database,
      user: this.user,
      application: this.application,
      inTransaction: this.statusBeforeRequest !== READY_IDLE,
    });
    if (chunkOffset >= 0 && this.host.config().ai.annotateErrors) {
      // opt-in: the client's own logs get the knowledge base's one-line fix as a HINT
      const annotated = annotatePgError(f);
      if (annotated !== f)
        this.rewrites.push([chunkOffset, this.serverFramer.frameEnd, encodeErrorResponse(annotated)]);
    }
    if (fatal && this.credentials) {
      // the server is ending this connection (killed, restarted): the client keeps its session, and
      // the close decides between a transparent reconnect and a clear error
      this.fatalEvent = event;
      this.swallowChunk = true;
      return;
    }
    if (PG_RETRYABLE.has(f.code) && this.retryableEvent === null) {
      this.retryableEvent = event;
      this.healDdl = null;
      this.retryableOutstanding = this.outstanding;
    } else if (f.code === "42P01" && this.retry === null && this.retryableEvent === null) {
      const ddl = this.host.healer.inlineTableHeal(event);
      if (ddl !== null) {
        this.retryableEvent = event;
        this.healDdl = ddl;
        this.retryableOutstanding = this.outstanding;
      }
    } else if (this.retry !== null) {
      // the retry met another error: it reaches the client unchanged
      this.retryFailed(`the retry failed with ${f.code}`);
    }
  };

  /** May this failed statement be re-run transparently? Records why not when it may not. */
  private decideRetry(event: ErrorEvent): boolean {
    const verdict = this.host.resolver.decideRetry(
      event,
      this.retryBlocker(event),
      this.retry ? this.retry.attempts : null,
    );
    if (verdict !== "retry") {
      if (verdict !== "no") this.retryFailed(verdict.stop);
      return false;
    }
    if (!this.retry) {
      this.retry = {
        event,
        attempts: 0,
        startedAt: performance.now(),
        synthParses: 0,
        failed: false,
        ddl: null,
        txnReplay: this.statusBeforeRequest !== READY_IDLE,
      };
    }
    return true;
  }

  /** A missing table with a schema template, policy apply, at the threshold: heal, then re-run. */
  private decideHeal(event: ErrorEvent, ddl: string): boolean {
    const why = this.retryBlocker();
    if (why) {
      this.host.resolver.record(event, {
        strategy: "SELF_HEALING",
        action: HEAL_ACTION,
        outcome: "skipped",
        reason: `cannot re-run the statement: ${why}`,
      });
      return false;
    }
    this.retry = {
      event,
      attempts: 0,
      startedAt: performance.now(),
      synthParses: 0,
      failed: false,
      ddl,
      txnReplay: false,
    };
    return true;
  }

  private retryBlocker(event?: ErrorEvent): string | null {
    if (this.statusBeforeRequest !== READY_IDLE) {
      const replayable =
        event !== undefined &&
        this.retry === null &&
        this.statusBeforeRequest === 0x54 /* T */ &&
        (event.errorType === "DEADLOCK" || event.errorType === "SERIALIZATION_FAILURE") &&
        this.txn.replayable &&
        this.txn.size > 0;
      if (!replayable) return "inside an explicit transaction that cannot be replayed";
    }
    if (this.respForwarded > 0) return "part of the response already reached the client";
    if (this.retryableOutstanding !== 1 || this.unitBytes > 0) return "more requests are pipelined behind it";
    if (this.lastUnit === null) return "the request is too large to replay";
    return null;
  }

  /** The failed attempt's response is complete (held): re-send the request after a backoff. */
  private startRetry(): void {
    const held = this.held as Buffer[];
    this.held = null;
    const r = this.retry as NonNullable<PgSession["retry"]>;
    const unit = this.lastUnit as Buffer[];
    const plan = replayPlan(unit, this.lastUnitStart, this.lastUnitEnd, held);
    r.attempts++;
    r.synthParses += plan.skippedParses;
    if (r.ddl !== null) {
      this.healThenReplay(r, r.ddl, plan.bytes, held);
      return;
    }
    if (r.txnReplay) {
      r.txnReplay = false;
      this.replayTransactionThen(r, plan.bytes, held);
      return;
    }
    const delay = this.host.resolver.backoffMs(r.attempts, r.event.errorType);
    this.host.resolver.audit({
      signature: r.event.signature,
      errorType: r.event.errorType,
      protocol: "postgres",
      policy: "apply",
      action: `retry attempt ${r.attempts} after ${delay} ms`,
      sql: this.lastStatement(),
      frames: plan.bytes.toString("base64"),
      outcome: "sent",
    });
    setTimeout(() => {
      if (this.phase === "relay" && this.upstream) this.resend(plan.bytes);
    }, delay);
  }

  /** ROLLBACK, replay the transaction's statements comparing results, then re-run the failed unit. */
  private replayTransactionThen(
    r: NonNullable<PgSession["retry"]>,
    failedUnit: Buffer,
    held: Buffer[],
  ): void {
    const up = this.upstream as net.Socket;
    const statements = this.txn.size;
    this.txn.start(
      (b) => up.write(b),
      (ok, why) => {
        this.host.resolver.audit({
          signature: r.event.signature,
          errorType: r.event.errorType,
          protocol: "postgres",
          policy: "apply",
          action: `replay the transaction (${statements} statement(s))`,
          frames: this.txn.statementsText(),
          outcome: ok ? "matched" : "mismatched",
          detail: why,
        });
        if (!ok) {
          // results differ: the client gets the original error unchanged; our ROLLBACK's answer is kept back
          this.swallowReady++;
          this.host.resolver.record(
            r.event,
            {
              strategy: "IMMEDIATE_FIX",
              action: "replay the transaction",
              outcome: "failed",
              reason: `${why}; the client got the original error`,
            },
            { attempts: r.attempts, durationMs: Math.round(performance.now() - r.startedAt) },
          );
          this.retry = null;
          this.txn.abandon();
          // only once our ROLLBACK has been answered: the client's next request cannot share its chunk
          this.afterSwallow = () => this.giveBack(held);
          return;
        }
        // the transaction goes on with the same history: recording continues with the re-run unit
        this.resend(failedUnit);
      },
    );
  }

  private copyLastUnit(): Buffer | null {
    if (!this.lastUnit) return null;
    return replayPlan(this.lastUnit, this.lastUnitStart, this.lastUnitEnd, []).bytes;
  }

  private healThenReplay(
    r: NonNullable<PgSession["retry"]>,
    ddl: string,
    bytes: Buffer,
    held: Buffer[],
  ): void {
    const ev = r.event;
    r.ddl = null;
    this.host.healer.healInline(ev, ddl, this.database ?? null).then((ok) => {
      if (this.phase !== "relay" || !this.upstream) return;
      if (!ok) {
        this.retry = null;
        this.giveBack(held);
        return;
      }
      this.resend(bytes);
    });
  }

  /** Send a request unit again; its answer is relayed to the client like any other. */
  private resend(bytes: Buffer): void {
    this.statusBeforeRequest = this.txStatus;
    this.outstanding++;
    this.respForwarded = 0;
    (this.upstream as net.Socket).write(bytes);
  }

  /** The resolution did not happen: the client gets the held answer (the original error) unchanged. */
  private giveBack(held: Buffer[]): void {
    for (const chunk of held) this.client.write(chunk);
    this.respForwarded = 0;
    this.client.resume();
  }

  private retrySucceeded(): void {
    const r = this.retry as NonNullable<PgSession["retry"]>;
    this.host.resolver.reRunEnded(r.event, "succeeded", {
      attempts: r.attempts,
      startedAt: r.startedAt,
      sql: this.lastStatement(),
    });
  }

  private retryFailed(reason: string): void {
    const r = this.retry;
    if (!r || r.failed || r.attempts === 0) return;
    this.host.resolver.reRunEnded(r.event, "failed", {
      attempts: r.attempts,
      startedAt: r.startedAt,
      sql: this.lastStatement(),
      reason,
    });
    r.failed = true; // recorded: endRetry clears the state once this response is forwarded
  }

  /** The retried request's response went to the client: the client may send again. */
  private endRetry(): void {
    this.retry = null;
    this.client.resume();
  }

  private lastStatement(): string | undefined {
    if (!this.stmtBuf) return undefined;
    try {
      return this.stmtIsParse
        ? decodeParse(this.stmtBuf, this.stmtStart, this.stmtEnd).query
        : decodeQuery(this.stmtBuf, this.stmtStart, this.stmtEnd);
    } catch {
      return undefined;
    }
  }

  // ---- flow control and endings ---------------------------------------------------------------------

  private readonly onClientDrain = (): void => {
    this.upstream?.resume();
  };

  private readonly onUpstreamDrain = (): void => {
    if (this.retry === null) this.client.resume();
  };

  private readonly onSocketError = (): void => {
    // 'close' follows; a client that vanished is not an error of the database
  };

  private readonly onClientClose = (): void => {
    if (this.phase === "relay" && this.clientFramer?.midFrame) {
      // the client went away in the middle of a frame: a truncated frame, counted like other bad input
      this.host.metrics.protocolErrors.inc({ protocol: "postgres", reason: "client_truncated" });
    } else if (this.phase === "startup" && this.startupBuf !== null) {
      this.host.metrics.protocolErrors.inc({ protocol: "postgres", reason: "client_truncated" });
    }
    this.phase = "closed";
    if (this.proxyKey) this.host.unregisterCancel(this.proxyKey.processId, this.proxyKey.secretKey);
    this.counters.connectionsActive--;
    this.upstream?.end();
    this.host.sessionClosed(this);
  };

  private readonly onUpstreamError = (err: NodeJS.ErrnoException): void => {
    if (this.phase === "connecting") {
      const code = err.code === "ECONNREFUSED" ? PROXY_CODES.UPSTREAM_REFUSED : PROXY_CODES.UPSTREAM_LOST;
      this.upstreamFailed(code, `cannot connect to the upstream PostgreSQL: ${err.code ?? err.message}`);
    }
    // otherwise 'close' follows and decides
  };

  private readonly onUpstreamClose = (): void => {
    if (this.phase !== "relay") return;
    if (this.credentials && !this.clientTerminated && !this.client.destroyed) {
      this.upstreamGone();
      return;
    }
    if (this.clientTerminated || this.serverSentFatal || this.client.destroyed) {
      this.phase = "closed";
      this.client.end();
      return;
    }
    this.upstreamFailed(
      PROXY_CODES.UPSTREAM_LOST,
      "the upstream PostgreSQL closed the connection unexpectedly",
    );
  };

  /** A failure the proxy detected itself: record it, tell the client with a FATAL 08006, close. */
  private upstreamFailed(code: string, message: string): void {
    if (this.phase === "closed") return;
    const wasConnecting = this.phase === "connecting";
    this.phase = "closed";
    if (wasConnecting) this.counters.upstreamConnectFailures++;
    this.host.pipeline.record({
      protocol: "postgres",
      code,
      message,
      database: this.database,
      user: this.user,
      application: this.application,
      inTransaction: this.txStatus !== READY_IDLE,
      proxyDetected: true,
    });
    this.upstream?.destroy();
    this.client.end(
      encodeErrorResponse({
        severity: "FATAL",
        severityNonLocalized: "FATAL",
        code: "08006",
        message: `dba-gpt: ${message}`,
      }),
    );
  }

  /** Bytes that cannot be the protocol: close this one connection, count it, keep everyone else. */
  private protocolFailure(side: "client" | "server", e: unknown): void {
    if (!(e instanceof ProtocolError)) throw e;
    const already = this.phase === "closed";
    this.phase = "closed";
    if (already) return;
    this.host.metrics.protocolErrors.inc({ protocol: "postgres", reason: `${side}_${e.reason}` });
    this.host.log.warn(
      { side, reason: e.reason, user: this.user },
      `closing a PostgreSQL ${side} connection: ${e.message}`,
    );
    this.upstream?.destroy();
    if (side === "client") {
      this.client.end(
        encodeErrorResponse({
          severity: "FATAL",
          severityNonLocalized: "FATAL",
          code: "08P01",
          message: `dba-gpt: protocol violation: ${e.message}`,
        }),
      );
      this.client.destroySoon();
    } else {
      this.upstreamFailedAfterClose();
    }
  }

  private upstreamFailedAfterClose(): void {
    this.client.end(
      encodeErrorResponse({
        severity: "FATAL",
        severityNonLocalized: "FATAL",
        code: "08006",
        message: "dba-gpt: the upstream sent bytes that are not the PostgreSQL protocol",
      }),
    );
  }

  /** SIGTERM drain: close now if idle, else after the statement in flight finishes. */
  drain(): void {
    this.draining = true;
    if (this.idle) this.shutdown();
  }

  private shutdown(): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.upstream?.end();
    this.client.end(
      encodeErrorResponse({
        severity: "FATAL",
        severityNonLocalized: "FATAL",
        code: "57P01",
        message: "terminating connection because the dba-gpt proxy is shutting down",
      }),
    );
  }

  destroy(): void {
    this.phase = "closed";
    this.upstream?.destroy();
    this.client.destroy();
  }
}
