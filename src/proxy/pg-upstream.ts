import net from "node:net";
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeErrorFields,
  decodeParameterStatus,
  type PgErrorFields,
} from "../../protocol/postgres/backend.js";
import { BackendMessage } from "../../protocol/postgres/constants.js";
import { encodeStartup } from "../../protocol/postgres/encode.js";
import { PgFramer } from "../../protocol/postgres/framer.js";
import type { Endpoint } from "../util/host-port.js";
import {
  AuthFailure,
  encodePasswordFrame,
  encodeSaslInitialResponse,
  md5Response,
  ScramClient,
} from "./pg-auth.js";

/** SQLSTATEs that mean "no room now, try again shortly" at connect. */
export const PG_CONNECT_CONGESTION = new Set(["53300", "57P03"]);

export interface UpstreamConnection {
  socket: net.Socket;
  /** ParameterStatus values the server reported at startup */
  params: [string, string][];
  processId: number;
  secretKey: number | Buffer;
}

/** The upstream refused the login: the server's own error fields, to hand the client unchanged. */
export class UpstreamLoginError extends Error {
  constructor(
    readonly fields: PgErrorFields,
    readonly attempts: number,
  ) {
    super(`${fields.code}: ${fields.message}`);
  }
}

/** The upstream could not be reached at all (refused, reset, timed out). */
export class UpstreamUnreachable extends Error {
  constructor(
    readonly code: "PROXY_UPSTREAM_REFUSED" | "PROXY_UPSTREAM_LOST" | "PROXY_UPSTREAM_TIMEOUT",
    message: string,
  ) {
    super(message);
  }
}

export interface OpenOptions {
  endpoint: Endpoint;
  params: Record<string, string>;
  password: string;
  timeoutMs: number;
  /** TOO_MANY_CONNECTIONS hold: keep retrying a congested server up to these bounds */
  queue: { maxWaitMs: number; maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  /** told about every congested attempt (for events and metrics) */
  onCongested?: (fields: PgErrorFields, attempt: number) => void;
}

/**
 * Opens and authenticates an upstream connection on the proxy's own credentials (credentials mode):
 * trust, cleartext, md5 or SCRAM-SHA-256 as the server asks. A congested server (53300, 57P03) is
 * retried with backoff within the queue bounds; then its error is thrown for the client to receive.
 * The socket comes back paused, positioned after the first ReadyForQuery.
 */
export async function openUpstream(o: OpenOptions): Promise<UpstreamConnection> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce(o);
    } catch (e) {
      if (!(e instanceof UpstreamLoginError) || !PG_CONNECT_CONGESTION.has(e.fields.code)) throw e;
      o.onCongested?.(e.fields, attempt);
      const delay =
        Math.min(o.queue.maxDelayMs, o.queue.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      if (attempt >= o.queue.maxAttempts || Date.now() - started + delay > o.queue.maxWaitMs) {
        throw new UpstreamLoginError(e.fields, attempt);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function attemptOnce(o: OpenOptions): Promise<UpstreamConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: o.endpoint.host, port: o.endpoint.port, noDelay: true });
    const framer = new PgFramer({ side: "backend", interest: "all" });
    const params: [string, string][] = [];
    let processId = 0;
    let secretKey: number | Buffer = 0;
    let scram: ScramClient | null = null;
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(e);
    };
    socket.setTimeout(o.timeoutMs, () =>
      fail(
        new UpstreamUnreachable(
          "PROXY_UPSTREAM_TIMEOUT",
          `the upstream did not answer within ${o.timeoutMs} ms`,
        ),
      ),
    );
    socket.on("error", (err: NodeJS.ErrnoException) =>
      fail(
        new UpstreamUnreachable(
          err.code === "ECONNREFUSED" ? "PROXY_UPSTREAM_REFUSED" : "PROXY_UPSTREAM_LOST",
          `cannot connect to the upstream PostgreSQL: ${err.code ?? err.message}`,
        ),
      ),
    );
    socket.on("close", () =>
      fail(new UpstreamUnreachable("PROXY_UPSTREAM_LOST", "the upstream closed during login")),
    );
    socket.on("connect", () => socket.write(encodeStartup(o.params)));
    const onData = (chunk: Buffer) => {
      try {
        framer.push(chunk, (type, buf, start, end) => {
          if (settled) return;
          switch (type) {
            case BackendMessage.Authentication: {
              const a = decodeAuthentication(buf, start, end);
              const user = o.params.user ?? "";
              if (a.kind === "ok") return;
              if (a.kind === "cleartext") socket.write(encodePasswordFrame(Buffer.from(`${o.password}\0`)));
              else if (a.kind === "md5")
                socket.write(
                  encodePasswordFrame(Buffer.from(`${md5Response(user, o.password, a.salt as Buffer)}\0`)),
                );
              else if (a.kind === "sasl") {
                if (!a.mechanisms?.includes("SCRAM-SHA-256"))
                  throw new AuthFailure(`no supported SASL mechanism in ${a.mechanisms?.join(", ")}`);
                scram = new ScramClient(o.password);
                socket.write(encodeSaslInitialResponse("SCRAM-SHA-256", scram.first()));
              } else if (a.kind === "saslContinue" && scram) {
                socket.write(
                  encodePasswordFrame(
                    Buffer.from((scram as ScramClient).final((a.data as Buffer).toString("utf8"))),
                  ),
                );
              } else if (a.kind === "saslFinal" && scram) {
                (scram as ScramClient).verify((a.data as Buffer).toString("utf8"));
              } else
                throw new AuthFailure(`the upstream asked for an unsupported authentication (${a.kind})`);
              return;
            }
            case BackendMessage.ParameterStatus: {
              const p = decodeParameterStatus(buf, start, end);
              params.push([p.name, p.value]);
              return;
            }
            case BackendMessage.BackendKeyData: {
              const k = decodeBackendKeyData(buf, start, end);
              processId = k.processId;
              secretKey = k.secretKey;
              return;
            }
            case BackendMessage.ErrorResponse:
              fail(new UpstreamLoginError(decodeErrorFields(buf, start, end), 1));
              return;
            case BackendMessage.ReadyForQuery:
              settled = true;
              socket.setTimeout(0);
              socket.off("data", onData);
              socket.removeAllListeners("error");
              socket.removeAllListeners("close");
              socket.removeAllListeners("timeout");
              socket.pause();
              resolve({ socket, params, processId, secretKey });
              return;
          }
        });
      } catch (e) {
        fail(e instanceof Error ? e : new Error(String(e)));
      }
    };
    socket.on("data", onData);
  });
}
