import net from "node:net";
import type { Protocol } from "../errors/types.js";
import type { Endpoint } from "../util/host-port.js";

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Does the upstream answer as its protocol would? PostgreSQL: an SSLRequest gets 'S' or 'N'.
 * MySQL: the server speaks first with its greeting. Resolves to null when healthy, else the reason.
 */
export function probeUpstream(protocol: Protocol, e: Endpoint, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: e.host, port: e.port });
    let done = false;
    const finish = (reason: string | null) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(reason);
    };
    s.setTimeout(timeoutMs, () => finish(`no answer within ${timeoutMs} ms`));
    s.on("error", (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
    s.on("connect", () => {
      if (protocol === "postgres") s.write(SSL_REQUEST);
    });
    s.on("data", (d: Buffer) => {
      if (protocol === "postgres")
        finish(d[0] === 0x53 || d[0] === 0x4e ? null : "unexpected answer to SSLRequest");
      else
        finish(
          d.length >= 5 && (d[4] === 10 || d[4] === 0xff)
            ? d[4] === 0xff
              ? "server refused: ERR greeting"
              : null
            : "unexpected greeting",
        );
    });
    s.on("close", () => finish("closed without answering"));
  });
}
