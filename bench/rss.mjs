// DBA-GPT's resident memory: idle, then with many idle client connections open through it.
// Two measurements, both real logins made with the `pg` package in batches of 50:
//   A. against the real PostgreSQL, as many connections as its max_connections leaves free
//      (1,000 when it allows that, e.g. after --allow-pg-restart);
//   B. 1,000 connections against a stand-in upstream that answers startups like PostgreSQL
//      under trust auth, so the proxy holds both legs of each session without a server slot.
// The figure is the proxy process's VmRSS above its idle VmRSS, read once it has settled.
import pg from "pg";
import { startProxy } from "./lib/daemons.mjs";
import { run, treeRssKb } from "./lib/proc.mjs";
import { startStubPg } from "./lib/stub-pg.mjs";
import { markdownTable, num } from "./lib/report.mjs";

const BATCH = 50;
const TARGET_MB = 50;
// Slots left free for everyone else using this PostgreSQL while the bench holds connections.
const PG_SPARE_SLOTS = 25;

/** VmRSS (kB) once it stops moving: 4 reads 250 ms apart within 1% (at most ~6 s). */
async function settledRss(pid) {
  const reads = [];
  const deadline = Date.now() + 6000;
  for (;;) {
    const v = treeRssKb(pid);
    reads.push(v);
    const last = reads.slice(-4);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) <= Math.max(...last) * 0.01) return v;
    if (Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function openClients(port, n, user, database) {
  const clients = [];
  try {
    for (let i = 0; i < n; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + BATCH); j++) {
        const c = new pg.Client({ host: "127.0.0.1", port, user, database, connectionTimeoutMillis: 15_000 });
        c.on("error", () => {});
        clients.push(c);
        batch.push(c.connect());
      }
      await Promise.all(batch);
    }
  } catch (e) {
    await closeClients(clients);
    throw new Error(`login ${clients.length} of ${n} through the proxy failed: ${e.message}`);
  }
  return clients;
}

async function closeClients(clients) {
  for (let i = 0; i < clients.length; i += BATCH) {
    await Promise.all(clients.slice(i, i + BATCH).map((c) => c.end().catch(() => {})));
  }
}

/** One measurement: start the proxy in front of `upstream`, idle RSS, n logins, RSS again. */
async function measure({ distDir, upstream, n, user, database, log, label, upstreamOpen }) {
  const proxy = await startProxy({ distDir, pgUpstream: upstream });
  try {
    const idleKb = await settledRss(proxy.pid);
    log(`  ${label}: DBA-GPT pid ${proxy.pid} idle ${num(idleKb / 1024, 1)} MB; opening ${n} logins`);
    const t0 = performance.now();
    const clients = await openClients(proxy.pgPort, n, user, database);
    const openMs = performance.now() - t0;
    const loadedKb = await settledRss(proxy.pid);
    const upstreamLegs = upstreamOpen ? upstreamOpen() : null;
    // Prove the sessions are alive end to end before they are counted.
    const probe = clients[clients.length - 1];
    await probe.query("SELECT 1");
    log(`  ${label}: ${n} open, ${num(loadedKb / 1024, 1)} MB (+${num((loadedKb - idleKb) / 1024, 1)} MB)`);
    await closeClients(clients);
    return {
      connections: n,
      idleKb,
      loadedKb,
      deltaMb: (loadedKb - idleKb) / 1024,
      perConnKb: (loadedKb - idleKb) / n,
      openMs,
      upstreamLegs,
    };
  } finally {
    await proxy.stop();
  }
}

async function pgSlots(pgc) {
  const c = new pg.Client({
    host: pgc.host,
    port: pgc.port,
    user: pgc.user,
    password: pgc.password,
    database: pgc.database,
  });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int AS reserved,
              (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used,
              current_setting('server_version_num')::int / 10000 AS major,
              current_setting('cluster_name') AS cluster`,
    );
    return r.rows[0];
  } finally {
    await c.end();
  }
}

async function raiseMaxConnections(pgc, want, s, log) {
  const [ver, name] = String(s.cluster || `${s.major}/main`).split("/");
  log(
    `  raising PostgreSQL max_connections ${s.max} → ${want} (ALTER SYSTEM + pg_ctlcluster ${ver} ${name} restart)`,
  );
  const c = new pg.Client({
    host: pgc.host,
    port: pgc.port,
    user: pgc.user,
    password: pgc.password,
    database: pgc.database,
  });
  await c.connect();
  try {
    await c.query(`ALTER SYSTEM SET max_connections = ${Number(want)}`);
  } finally {
    await c.end();
  }
  const r = await run("pg_ctlcluster", [ver, name, "restart"], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`pg_ctlcluster ${ver} ${name} restart failed: ${r.stderr.trim()}`);
}

/** opts: { pg, distDir, connections, allowPgRestart, log } */
export async function benchRss(opts) {
  const { pg: pgc, distDir, connections: n, allowPgRestart, log } = opts;
  const notes = [];
  const measurements = [];

  // A. real PostgreSQL
  let s = await pgSlots(pgc);
  let free = s.max - s.reserved - s.used - PG_SPARE_SLOTS;
  if (free < n && allowPgRestart) {
    if (!["127.0.0.1", "localhost", "::1"].includes(pgc.host)) {
      notes.push(`--allow-pg-restart ignored: PostgreSQL at ${pgc.host} is not local`);
    } else {
      await raiseMaxConnections(pgc, n + s.reserved + s.used + PG_SPARE_SLOTS + 50, s, log);
      s = await pgSlots(pgc);
      free = s.max - s.reserved - s.used - PG_SPARE_SLOTS;
      notes.push(`PostgreSQL max_connections raised to ${s.max} (ALTER SYSTEM; left in place)`);
    }
  }
  const realN = Math.min(n, free);
  if (realN < n) {
    notes.push(
      `PostgreSQL max_connections is ${s.max} (${s.reserved} reserved, ${s.used} in use, ${PG_SPARE_SLOTS} kept free for others): ` +
        `${realN} real logins fit, not ${n}. Re-run with --allow-pg-restart to raise it; the ${n}-connection row uses a stand-in upstream.`,
    );
  }
  if (realN > 0) {
    const m = await measure({
      distDir,
      upstream: `${pgc.host}:${pgc.port}`,
      n: realN,
      user: pgc.user,
      database: pgc.database,
      log,
      label: "real PostgreSQL",
    });
    measurements.push({ upstream: "PostgreSQL", ...m });
  }

  // B. stand-in upstream, full n (only needed when A could not reach n)
  if (realN < n) {
    const stub = await startStubPg();
    try {
      const m = await measure({
        distDir,
        upstream: `127.0.0.1:${stub.port}`,
        n,
        user: pgc.user,
        database: "bench",
        log,
        label: "stand-in upstream",
        upstreamOpen: stub.open,
      });
      measurements.push({ upstream: "stand-in (PostgreSQL startup replies, no server slot)", ...m });
    } finally {
      await stub.close();
    }
  }

  const rows = measurements.map((m) => [
    m.upstream,
    m.connections,
    num(m.idleKb / 1024, 1),
    num(m.loadedKb / 1024, 1),
    num(m.deltaMb, 1),
    num(m.perConnKb, 1),
    m.upstreamLegs ?? "",
  ]);
  const table = markdownTable(
    [
      "upstream",
      "idle client logins",
      "RSS idle MB",
      "RSS loaded MB",
      "MB above idle",
      "kB per connection",
      "upstream sockets open",
    ],
    rows,
  );
  const full = measurements.find((m) => m.connections === n) ?? null;
  const checks = [
    {
      target: `${n} idle connections: ≤ ${TARGET_MB} MB above idle`,
      value: full ? `${num(full.deltaMb, 1)} MB (${full.upstream})` : "n/a",
      ok: full ? full.deltaMb <= TARGET_MB : null,
    },
  ];
  notes.push(
    "Measured: VmRSS of the DBA-GPT process after every client finished its login (AuthenticationOk … ReadyForQuery) through it, minus VmRSS right after start-up; the proxy holds a client and an upstream socket per login. One-time costs of the first sessions are included. A small count can hide in the heap's spare room, so kB per connection from the real-PostgreSQL row understates the cost; the 1,000-login row is the figure to quote.",
  );
  return {
    measurements,
    checks,
    table,
    notes,
    pg: { maxConnections: s.max, reserved: s.reserved, inUse: s.used },
  };
}
