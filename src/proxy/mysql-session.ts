import net from "node:net";
import type { Session, SessionHost } from "./session-host.js";

/**
 * One client connection of the MySQL side. For now a plain byte relay with TCP_NODELAY and
 * backpressure; the protocol-aware session (handshake, commands, ERR → error pipeline) replaces it.
 */
export class MysqlSession implements Session {
  private readonly upstream: net.Socket;
  private closed = false;

  constructor(
    private readonly client: net.Socket,
    private readonly host: SessionHost,
  ) {
    const c = host.metrics.proto.mysql;
    c.connectionsActive++;
    c.connectionsTotal++;
    client.setNoDelay(true);
    const { host: h, port } = host.upstream();
    this.upstream = net.connect({ host: h, port, noDelay: true });
    client.pipe(this.upstream);
    this.upstream.pipe(client);
    const done = () => {
      if (this.closed) return;
      this.closed = true;
      c.connectionsActive--;
      client.destroy();
      this.upstream.destroy();
      host.sessionClosed(this);
    };
    client.on("close", done);
    client.on("error", done);
    this.upstream.on("close", done);
    this.upstream.on("error", done);
  }

  get idle(): boolean {
    return true;
  }

  drain(): void {
    this.destroy();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }
}
