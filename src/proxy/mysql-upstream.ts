import net from "node:net";
import {
  CLIENT_COMPRESS,
  CLIENT_CONNECT_ATTRS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_PLUGIN_AUTH,
  CLIENT_SSL,
  CLIENT_ZSTD_COMPRESSION_ALGORITHM,
} from "../../protocol/mysql/constants.js";
import { MysqlFramer } from "../../protocol/mysql/framer.js";
import {
  decodeAuthSwitchRequest,
  decodeHandshakeV10,
  encodeHandshakeResponse41,
  type HandshakeV10,
} from "../../protocol/mysql/handshake.js";
import { decodeErr, encodePacket, okStatusFlags } from "../../protocol/mysql/packets.js";
import { MysqlResponseTracker } from "../../protocol/mysql/response.js";
import type { Endpoint } from "../util/host-port.js";
import { cachingSha2Response, nativePasswordResponse } from "./mysql-auth.js";

/** Errors at connect that mean "the server is full right now": worth waiting for (connect queue). */
export const MYSQL_CONNECT_CONGESTION = new Set([1040, 1203, 1226]);

/** Never negotiated by the proxy on its own upstream connections (the framing must stay plain). */
const NEVER = CLIENT_SSL | CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION_ALGORITHM;

/** The server refused (ERR packet at the greeting or the login). */
export class MysqlServerError extends Error {
  constructor(
    readonly code: number,
    readonly sqlstate: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** No usable connection (refused, timed out, closed, unsupported authentication). */
export class MysqlUnreachable extends Error {}

interface Packet {
  seq: number;
  payload: Buffer;
}

/** A TCP connection to the server whose greeting has been read; the login comes next. */
export class GreetedUpstream {
  readonly socket: net.Socket;
  greeting!: HandshakeV10;
  private readonly framer = new MysqlFramer({ maxPacketLength: 1024 * 1024 });
  private readonly packets: Packet[] = [];
  private waiter: { resolve: (p: Packet) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(endpoint: Endpoint, timeoutMs: number) {
    const s = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    this.socket = s;
    s.setTimeout(timeoutMs);
    s.on("timeout", this.onTimeout);
    s.on("data", this.onData);
    s.on("error", this.onError);
    s.on("close", this.onClose);
  }

  /** Connect and read the greeting; an ERR greeting (1040 too many connections) rejects with MysqlServerError. */
  static async open(endpoint: Endpoint, timeoutMs: number): Promise<GreetedUpstream> {
    const g = new GreetedUpstream(endpoint, timeoutMs);
    try {
      const p = await g.next();
      if (p.payload[0] === 0xff) throw g.serverError(p.payload);
      g.greeting = decodeHandshakeV10(p.payload, 0, p.payload.length);
      return g;
    } catch (e) {
      g.socket.destroy();
      throw e;
    }
  }

  private readonly onTimeout = (): void =>
    this.fail(new MysqlUnreachable("the upstream MySQL did not answer in time"));
  private readonly onError = (e: NodeJS.ErrnoException): void =>
    this.fail(new MysqlUnreachable(`cannot connect to the upstream MySQL: ${e.code ?? e.message}`));
  private readonly onClose = (): void =>
    this.fail(new MysqlUnreachable("the upstream MySQL closed the connection during the login"));

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.framer.push(chunk, (seq, buf, start, end) => {
        this.packets.push({ seq, payload: Buffer.from(buf.subarray(start, end)) });
      });
    } catch (e) {
      this.fail(
        new MysqlUnreachable(`the upstream sent bytes that are not the MySQL protocol: ${String(e)}`),
      );
      return;
    }
    this.wake();
  };

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.socket.destroy();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    const p = this.packets.shift();
    if (p) {
      this.waiter = null;
      w.resolve(p);
    } else if (this.failure) {
      this.waiter = null;
      w.reject(this.failure);
    }
  }

  private next(): Promise<Packet> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.wake();
    });
  }

  private serverError(payload: Buffer): MysqlServerError {
    const e = decodeErr(payload, 0, payload.length);
    return new MysqlServerError(e.code, e.sqlstate, e.message);
  }

  /**
   * Log in as `user` with `password` (mysql_native_password, or caching_sha2_password's fast path, as
   * the server asks; auth switches followed). Resolves with the negotiated capabilities and the status
   * flags of the final OK; the socket is then plain (no listeners of ours) for the session to use.
   */
  async login(o: {
    user: string;
    password: string;
    database: string | undefined;
    capabilities: bigint;
    charset: number;
    attributes: Record<string, string>;
  }): Promise<{ socket: net.Socket; capabilities: bigint; statusFlags: number }> {
    const g = this.greeting;
    let caps = (o.capabilities & g.capabilities & ~NEVER) | CLIENT_PLUGIN_AUTH;
    if (o.database) caps |= CLIENT_CONNECT_WITH_DB & g.capabilities;
    else caps &= ~CLIENT_CONNECT_WITH_DB;
    if (Object.keys(o.attributes).length === 0) caps &= ~CLIENT_CONNECT_ATTRS;
    const plugin = g.authPluginName === "caching_sha2_password" ? g.authPluginName : "mysql_native_password";
    const scramble = g.authPluginData;
    const response = encodeHandshakeResponse41({
      capabilities: caps,
      maxPacketSize: 16 * 1024 * 1024,
      charset: o.charset || g.charset,
      isSslRequest: false,
      user: o.user,
      authResponse:
        plugin === "mysql_native_password"
          ? nativePasswordResponse(o.password, scramble)
          : cachingSha2Response(o.password, scramble),
      database: o.database,
      authPluginName: plugin,
      attributes: o.attributes,
    });
    this.socket.write(encodePacket(response, 1));
    try {
      for (;;) {
        const p = await this.next();
        const h = p.payload[0];
        if (h === 0x00) {
          this.socket.setTimeout(0);
          this.socket.off("timeout", this.onTimeout);
          this.socket.off("data", this.onData);
          this.socket.off("error", this.onError);
          this.socket.off("close", this.onClose);
          return {
            socket: this.socket,
            capabilities: caps,
            statusFlags: okStatusFlags(p.payload, 0, p.payload.length),
          };
        }
        if (h === 0xff) throw this.serverError(p.payload);
        if (h === 0xfe) {
          const sw = decodeAuthSwitchRequest(p.payload, 0, p.payload.length);
          let answer: Buffer;
          if (sw.pluginName === "mysql_native_password")
            answer = nativePasswordResponse(o.password, sw.pluginData);
          else if (sw.pluginName === "caching_sha2_password")
            answer = cachingSha2Response(o.password, sw.pluginData);
          else
            throw new MysqlUnreachable(
              `the upstream asks for the ${sw.pluginName} plugin, which credentials mode does not speak`,
            );
          this.socket.write(encodePacket(answer, (p.seq + 1) & 0xff));
          continue;
        }
        if (h === 0x01) {
          // caching_sha2_password: 3 = fast auth succeeded (OK follows); 4 = full auth (TLS or RSA)
          if (p.payload[1] === 3) continue;
          throw new MysqlUnreachable(
            "the upstream wants caching_sha2_password full authentication (needs TLS or RSA), which credentials mode does not do",
          );
        }
        throw new MysqlUnreachable(`unexpected packet 0x${(h ?? 0).toString(16)} during the upstream login`);
      }
    } catch (e) {
      this.socket.destroy();
      throw e;
    }
  }
}

export interface ConnectQueue {
  maxWaitMs: number;
  maxAttempts: number;
}

/**
 * Run `attempt` (connect, greeting, maybe login) again while the server answers with a congestion
 * error (1040, 1203, 1226), with jittered exponential backoff, within the queue's bounds. Past them the
 * last real error is thrown. `onWait` hears about each wait (for a log line).
 */
export async function withConnectQueue<T>(
  queue: ConnectQueue,
  attempt: () => Promise<T>,
  onWait: (e: MysqlServerError, attempt: number, delayMs: number) => void = () => {},
): Promise<T> {
  const started = Date.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof MysqlServerError) || !MYSQL_CONNECT_CONGESTION.has(e.code)) throw e;
      const left = queue.maxWaitMs - (Date.now() - started);
      if (n >= queue.maxAttempts || left <= 0) throw e;
      const delay = Math.min(left, Math.round(20 * 2 ** Math.min(n, 5) * (0.5 + Math.random() / 2)));
      onWait(e, n, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The answer to one command the proxy ran itself: ERR fields, or the prepared statement id. */
export interface CommandResult {
  error?: { code: number; message: string };
  statementId?: number;
}

/**
 * Run whole command payloads (COM_INIT_DB, COM_QUERY, COM_STMT_PREPARE, ...) one after another on a
 * logged-in socket that is not relayed yet (the session's restore after a reconnect), reading each
 * response to its end. Rejects when the socket closes or does not answer in time.
 */
export function runCommands(
  socket: net.Socket,
  capabilities: bigint,
  payloads: Buffer[],
  timeoutMs: number,
): Promise<CommandResult[]> {
  return new Promise((resolve, reject) => {
    const framer = new MysqlFramer({ peek: 576, maxPacketLength: 0x40000000 });
    const tracker = new MysqlResponseTracker(capabilities, false);
    const results: CommandResult[] = [];
    let cur: CommandResult = {};
    let i = -1;
    const done = (e: Error | null) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      if (e) reject(e);
      else resolve(results);
    };
    const next = () => {
      i++;
      if (i >= payloads.length) {
        done(null);
        return;
      }
      const p = payloads[i] as Buffer;
      cur = {};
      tracker.begin(p[0] as number, 0);
      socket.write(encodePacket(p, 0));
    };
    const onData = (chunk: Buffer) => {
      try {
        framer.push(chunk, (seq, buf, start, end, _off, len) => {
          const ev = tracker.onPacket(buf, start, end, len, seq);
          if (ev.kind === "err") {
            const e = decodeErr(buf, start, end);
            cur.error = { code: e.code, message: e.message };
          } else if (ev.kind === "prepare-ok") cur.statementId = ev.statementId;
          if (ev.done) {
            results.push(cur);
            next();
          }
        });
      } catch (e) {
        done(e as Error);
      }
    };
    const onClose = () =>
      done(new MysqlUnreachable("the new upstream connection closed while the session was restored"));
    const onError = () => {};
    const timer = setTimeout(
      () => done(new MysqlUnreachable("the new upstream connection did not answer the restore in time")),
      timeoutMs,
    );
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("error", onError);
    next();
  });
}
