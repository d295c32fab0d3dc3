import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../../src/config/defaults.js";
import type { Config } from "../../src/config/types.js";
import { silentLogger } from "../../src/log.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { mysqlEndpoint, pgEndpoint } from "./servers.js";

export interface TestProxy {
  server: RunningServer;
  config: Config;
  /** postgres://user@127.0.0.1:<proxy port>/test */
  pgUrl(user?: string, password?: string, database?: string): string;
  pgPort: number;
  mysqlPort: number;
  admin: string;
  stateDir: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read the admin API's JSON loosely, like a user would
  get<T = any>(path: string): Promise<T>;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  post<T = any>(path: string, body: unknown): Promise<{ status: number; body: T }>;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  put<T = any>(path: string, body: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/** A proxy in this process on ephemeral ports in front of the real test servers. */
export async function startTestProxy(
  edit: (c: Config) => void = () => {},
  opts: { mysql?: boolean; stateDir?: string } = {},
): Promise<TestProxy> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "dba-gpt-test-"));
  const config = defaultConfig(process.cwd());
  config.listen = {
    postgres: { host: "127.0.0.1", port: 0 },
    mysql: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
  };
  config.upstream.postgres = pgEndpoint();
  config.upstream.mysql = opts.mysql ? mysqlEndpoint() : null;
  config.state.dir = stateDir;
  config.ai.enabled = false;
  config.logLevel = "silent";
  edit(config);
  const server = await startServer(config, { logger: silentLogger });
  const admin = `http://127.0.0.1:${server.admin.port}`;
  const send = async (method: string, path: string, body: unknown) => {
    const res = await fetch(admin + path, {
      method,
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  return {
    server,
    config,
    pgPort: server.postgres.port,
    mysqlPort: server.mysql?.port ?? 0,
    admin,
    stateDir,
    pgUrl(user = "postgres", password?: string, database = "test") {
      const auth = password === undefined ? user : `${user}:${encodeURIComponent(password)}`;
      return `postgres://${auth}@127.0.0.1:${server.postgres.port}/${database}`;
    },
    async get(path: string) {
      const res = await fetch(admin + path);
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    post: (path, body) => send("POST", path, body),
    put: (path, body) => send("PUT", path, body),
    async stop() {
      await server.close();
      if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Wait until `check` returns a truthy value (polling the admin API after an event), or fail. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  what: string,
  ms = 5000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
