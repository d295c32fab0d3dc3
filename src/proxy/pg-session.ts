import net from "node:net";
import { performance } from "node:perf_hooks";
import { decodeErrorFields } from "../../protocol/postgres/backend.js";
import { decodeParse, decodeQuery, decodeStartup } from "../../protocol/postgres/frontend.js";
import { BackendMessage, FrontendMessage } from "../../protocol/postgres/constants.js";
import { encodeErrorResponse } from "../../protocol/postgres/encode.js";
import { PgFramer } from "../../protocol/postgres/framer.js";
import { ProtocolError } from "../../protocol/shared/protocol-error.js";
import { observeLatency } from "../admin/metrics.js";
import { PROXY_CODES } from "../errors/classify.js";
import type { SessionHost } from "./session-host.js";

const READY_IDLE = 0x49; // 'I'
const CLIENT_INTEREST = [
  FrontendMessage.Query,
  FrontendMessage.Parse,
  FrontendMessage.Sync,
  FrontendMessage.Terminate,
];
const SERVER_INTEREST = [BackendMessage.ErrorResponse, BackendMessage.ReadyForQuery];
const MAX_STARTUP = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
const N = Buffer.from("N");

type Phase = "startup" | "connecting" | "relay" | "closed";

/**
 * One client connection of the PostgreSQL side. Relays bytes both ways unchanged, reading frame headers
 * only; inspects ErrorResponse (→ error pipeline) and ReadyForQuery (transaction state) from the server,
 * and Query/Parse (statement for the digest) from the client.
 */
export class PgSession {
  private upstream: net.Socket | null = null;
  private phase: Phase = "startup";
  private startupBuf: Buffer | null = null;
  private readonly pending: Buffer[] = [];
  private clientFramer: PgFramer | null = null;
  private readonly serverFramer = new PgFramer({ side: "backend", interest: SERVER_INTEREST });
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

  constructor(
    private readonly client: net.Socket,
    private readonly host: SessionHost,
  ) {
    this.counters = host.metrics.proto.postgres;
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
      if (this.requestAt === 0) this.requestAt = performance.now();
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
    if (this.phase === "connecting") this.pending.push(chunk);
  };

  private readonly onClientFrame = (type: number, buf: Buffer, start: number, end: number): void => {
    switch (type) {
      case FrontendMessage.Query:
        this.noteStatement(buf, start, end, false);
        this.request();
        break;
      case FrontendMessage.Parse:
        this.noteStatement(buf, start, end, true);
        break;
      case FrontendMessage.Sync:
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
        case "gssenc":
          // No certificate configured: decline, the client goes on in plain text (sslmode=prefer).
          this.client.write(N);
          buf = rest;
          continue;
        case "cancel":
          this.forwardCancel(buf.subarray(0, len));
          return;
        case "startup":
          this.user = msg.params.user;
          this.database = msg.params.database ?? msg.params.user;
          this.application = msg.params.application_name;
          this.connectUpstream(buf.subarray(0, len), rest);
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
    try {
      this.serverFramer.push(chunk, this.onServerFrame);
    } catch (e) {
      this.protocolFailure("server", e);
      return;
    }
    if (!this.client.write(chunk)) (this.upstream as net.Socket).pause();
    if (this.draining && this.idle) this.shutdown();
  };

  private readonly onServerFrame = (type: number, buf: Buffer, start: number, end: number): void => {
    if (type === BackendMessage.ReadyForQuery) {
      this.txStatus = buf[start] as number;
      if (this.outstanding > 0) this.outstanding--;
      return;
    }
    // ErrorResponse: the only other frame of interest
    const f = decodeErrorFields(buf, start, end);
    const severity = f.severityNonLocalized || f.severity;
    if (severity === "FATAL" || severity === "PANIC") this.serverSentFatal = true;
    this.host.pipeline.record({
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
  };

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
    this.client.resume();
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
