import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import type { Metrics } from "../admin/metrics.js";
import type { Config } from "../config/types.js";
import type { ErrorPipeline } from "../errors/pipeline.js";
import type { Logger } from "../log.js";
import type { Healer } from "../resolve/healer.js";
import type { Resolver } from "../resolve/resolver.js";
import type { Endpoint } from "../util/host-port.js";
import type { CancelTarget, Session, SessionHost } from "./session-host.js";

export interface ListenerOptions {
  name: string;
  listen: Endpoint;
  upstream: () => Endpoint;
  metrics: Metrics;
  pipeline: ErrorPipeline;
  log: Logger;
  resolver: Resolver;
  healer: Healer;
  config: () => Config;
  createSession: (socket: net.Socket, host: SessionHost) => Session;
}

/** Accepts clients on one port and keeps track of their sessions for drain. */
export class Listener implements SessionHost {
  readonly metrics: Metrics;
  readonly pipeline: ErrorPipeline;
  readonly log: Logger;
  readonly resolver: Resolver;
  readonly healer: Healer;
  readonly upstream: () => Endpoint;
  private readonly server: net.Server;
  private readonly sessions = new Set<Session>();
  private readonly cancelKeys = new Map<string, CancelTarget>();
  readonly config: () => Config;
  private drainWaiters: (() => void)[] = [];

  constructor(private readonly opts: ListenerOptions) {
    this.metrics = opts.metrics;
    this.pipeline = opts.pipeline;
    this.log = opts.log;
    this.resolver = opts.resolver;
    this.healer = opts.healer;
    this.config = opts.config;
    this.upstream = opts.upstream;
    this.server = net.createServer({ noDelay: true }, (socket) => {
      this.sessions.add(opts.createSession(socket, this));
    });
  }

  listen(): Promise<Endpoint> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.listen.port, this.opts.listen.host, () => {
        this.server.off("error", reject);
        const a = this.server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  private tls: { key: string; ctx: tls.SecureContext | null } | null = null;

  tlsContext(): tls.SecureContext | null {
    const t = this.config().tls;
    if (!t.cert || !t.key) return null;
    const key = `${t.cert}\0${t.key}`;
    if (this.tls?.key !== key) {
      let ctx: tls.SecureContext | null = null;
      try {
        ctx = tls.createSecureContext({ cert: readFileSync(t.cert), key: readFileSync(t.key) });
      } catch (e) {
        this.log.error(
          { cert: t.cert, error: (e as Error).message },
          "cannot load the TLS certificate: TLS is declined",
        );
      }
      this.tls = { key, ctx };
    }
    return this.tls.ctx;
  }

  registerCancel(processId: number, secretKey: number, s: CancelTarget): void {
    this.cancelKeys.set(`${processId}:${secretKey}`, s);
  }

  unregisterCancel(processId: number, secretKey: number): void {
    this.cancelKeys.delete(`${processId}:${secretKey}`);
  }

  cancelTarget(processId: number, secretKey: number): CancelTarget | undefined {
    return this.cancelKeys.get(`${processId}:${secretKey}`);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  sessionClosed(s: Session): void {
    this.sessions.delete(s);
    if (this.sessions.size === 0) {
      const waiters = this.drainWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  /** Stop accepting; let statements in flight finish (bounded by timeoutMs); then close everything. */
  async drain(timeoutMs: number): Promise<void> {
    // close() stops accepting at once; its callback only fires once every connection has ended
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions) s.drain();
    if (this.sessions.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.drainWaiters.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
    await closed;
  }
}
