// The processes the benches compare: DBA-GPT (built CLI, or the bench launcher while the CLI is
// missing), PgBouncer in session mode and HAProxy in tcp mode. All bound to 127.0.0.1.
import { existsSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { canConnect, freePort, startDaemon, tempDir, waitUntil } from "./proc.mjs";

const benchDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const repoDir = path.dirname(benchDir);

function httpStatus(port, urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(0));
  });
}

/**
 * Starts DBA-GPT as its own process. `pgUpstream` is "host:port"; `mysqlUpstream` optional.
 * Ready when GET /healthz answers 200 and the PostgreSQL port accepts (and the MySQL port, when asked).
 * Returns the daemon handle plus { pgPort, mysqlPort, adminPort, how }.
 */
export async function startProxy({ distDir, pgUpstream, mysqlUpstream, logLevel = "warn" }) {
  const cli = path.join(distDir, "src", "cli.js");
  const server = path.join(distDir, "src", "server.js");
  if (!existsSync(cli) && !existsSync(server)) {
    throw new Error(`DBA-GPT is not built: neither ${cli} nor ${server} exists (run npm run build)`);
  }
  const [pgPort, adminPort, mysqlPort] = [await freePort(), await freePort(), await freePort()];
  const stateDir = tempDir("state");
  const settings = {
    pgListen: `127.0.0.1:${pgPort}`,
    pgUpstream,
    adminListen: `127.0.0.1:${adminPort}`,
    stateDir,
    logLevel,
    ...(mysqlUpstream ? { mysqlListen: `127.0.0.1:${mysqlPort}`, mysqlUpstream } : {}),
  };
  let daemon;
  let how;
  // Keep the bench offline and quiet: no LLM host to probe that could add noise.
  const env = { DBAGPT_OLLAMA_HOST: "http://127.0.0.1:9" };
  if (existsSync(cli)) {
    how = `node ${path.relative(repoDir, cli) || cli} start`;
    const args = [
      cli,
      "start",
      "--pg-upstream",
      pgUpstream,
      "--pg-listen",
      settings.pgListen,
      "--admin-listen",
      settings.adminListen,
      "--state-dir",
      stateDir,
      "--log-level",
      logLevel,
    ];
    if (mysqlUpstream) args.push("--mysql-upstream", mysqlUpstream, "--mysql-listen", settings.mysqlListen);
    daemon = startDaemon("dba-gpt", process.execPath, args, { env, cwd: stateDir });
  } else {
    how = "bench/launch-proxy.mjs (startServer; dist/src/cli.js missing)";
    daemon = startDaemon(
      "dba-gpt",
      process.execPath,
      [path.join(benchDir, "launch-proxy.mjs"), distDir, JSON.stringify(settings)],
      { env, cwd: stateDir },
    );
  }
  await waitUntil(
    "DBA-GPT",
    async () => (await httpStatus(adminPort, "/healthz")) === 200 && (await canConnect(pgPort)),
    { daemon, timeoutMs: 30_000 },
  );
  let mysqlReady = false;
  if (mysqlUpstream) {
    // The MySQL side may not exist yet; do not fail the proxy for it, report it per run.
    try {
      await waitUntil("DBA-GPT MySQL port", () => canConnect(mysqlPort), { daemon, timeoutMs: 3000 });
      mysqlReady = true;
    } catch {
      mysqlReady = false;
    }
  }
  return Object.assign(daemon, {
    pgPort,
    adminPort,
    mysqlPort: mysqlUpstream ? mysqlPort : null,
    mysqlReady,
    how,
  });
}

/** PgBouncer, session pooling, trust auth, run as user postgres (it refuses root). */
export async function startPgBouncer({ upstreamHost, upstreamPort, user = "postgres" }) {
  const dir = tempDir("pgbouncer");
  const port = await freePort();
  const ini = path.join(dir, "pgbouncer.ini");
  const users = path.join(dir, "userlist.txt");
  writeFileSync(users, `"${user}" ""\n`, { mode: 0o644 });
  writeFileSync(
    ini,
    [
      "[databases]",
      `* = host=${upstreamHost} port=${upstreamPort}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${users}`,
      "pool_mode = session",
      "max_client_conn = 200",
      "default_pool_size = 20",
      "ignore_startup_parameters = extra_float_digits,application_name",
      "log_connections = 0",
      "log_disconnections = 0",
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  const args = [ini];
  if (process.getuid?.() === 0) args.push("-u", "postgres");
  const daemon = startDaemon("pgbouncer", "/usr/sbin/pgbouncer", args, { cwd: dir });
  await waitUntil("PgBouncer", () => canConnect(port), { daemon, timeoutMs: 10_000 });
  return Object.assign(daemon, { port });
}

/** HAProxy in tcp mode (defaults otherwise: one thread per CPU, as a user would run it). */
export async function startHaproxy({ upstreamHost, upstreamPort }) {
  const dir = tempDir("haproxy");
  const port = await freePort();
  const cfg = path.join(dir, "haproxy.cfg");
  writeFileSync(
    cfg,
    [
      "global",
      "  maxconn 2000",
      "defaults",
      "  mode tcp",
      "  timeout connect 5s",
      "  timeout client 1h",
      "  timeout server 1h",
      "frontend fe",
      `  bind 127.0.0.1:${port}`,
      "  default_backend be",
      "backend be",
      `  server db ${upstreamHost}:${upstreamPort}`,
      "",
    ].join("\n"),
  );
  const daemon = startDaemon("haproxy", "/usr/sbin/haproxy", ["-f", cfg, "-db"], { cwd: dir });
  await waitUntil("HAProxy", () => canConnect(port), { daemon, timeoutMs: 10_000 });
  return Object.assign(daemon, { port });
}
