import net from "node:net";
import { join } from "node:path";
import type { Endpoint } from "../util/host-port.js";

export interface EmbeddedPostgres {
  endpoint: Endpoint;
  dataDir: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * PostgreSQL inside the process (PGlite, PostgreSQL compiled to WASM) served on a loopback port, so
 * `dba-gpt start` with nothing configured gives a working database to try the proxy with. Its data
 * lives under the state dir and survives restarts.
 */
export async function startEmbeddedPostgres(stateDir: string): Promise<EmbeddedPostgres> {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("@electric-sql/pglite-socket"),
  ]);
  const dataDir = join(stateDir, "pglite");
  const db = await PGlite.create(dataDir);
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 100 });
  await server.start();
  return {
    endpoint: { host: "127.0.0.1", port },
    dataDir,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
