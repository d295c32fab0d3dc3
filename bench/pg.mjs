// PostgreSQL relay overhead: pgbench -S directly, through DBA-GPT and through PgBouncer (session
// mode), alternating target by target, median of the rounds. Also the CPU each relay spends per
// transaction (utime+stime from /proc), the figure ARCHITECTURE.md asks to drive down.
import pg from "pg";
import { startPgBouncer, startProxy } from "./lib/daemons.mjs";
import { cpuDelta, run, treeCpu } from "./lib/proc.mjs";
import { markdownTable, median, num, ratio, verdict, x } from "./lib/report.mjs";

export const PG_BENCH_DB = "dbagpt_bench";
const SCALE = 10;

function pgbenchEnv(pgc) {
  return {
    PGUSER: pgc.user,
    PGPASSWORD: pgc.password ?? "",
    PGHOST: "",
    PGPORT: "",
    PGDATABASE: "",
    PGOPTIONS: "",
  };
}

async function ensureDatabase(pgc, log) {
  const admin = new pg.Client({
    host: pgc.host,
    port: pgc.port,
    user: pgc.user,
    password: pgc.password,
    database: pgc.database,
  });
  await admin.connect();
  try {
    const r = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [PG_BENCH_DB]);
    if (r.rowCount === 0) {
      log(`creating database ${PG_BENCH_DB}`);
      await admin.query(`CREATE DATABASE ${PG_BENCH_DB}`);
    }
  } finally {
    await admin.end();
  }
  const c = new pg.Client({
    host: pgc.host,
    port: pgc.port,
    user: pgc.user,
    password: pgc.password,
    database: PG_BENCH_DB,
  });
  await c.connect();
  let ready = false;
  try {
    const r = await c.query(
      "SELECT (SELECT count(*) FROM pgbench_branches)::int AS b, (SELECT count(*) FROM pgbench_accounts)::int AS a",
    );
    ready = r.rows[0].b === SCALE && r.rows[0].a === SCALE * 100_000;
  } catch {
    ready = false;
  } finally {
    await c.end();
  }
  if (ready) {
    log(`pgbench tables of scale ${SCALE} already in ${PG_BENCH_DB}`);
    return;
  }
  log(`pgbench -i -s ${SCALE} into ${PG_BENCH_DB} (once)`);
  const r = await run(
    "pgbench",
    ["-i", "-q", "-s", String(SCALE), "-h", pgc.host, "-p", String(pgc.port), PG_BENCH_DB],
    {
      timeoutMs: 600_000,
      env: pgbenchEnv(pgc),
    },
  );
  if (r.code !== 0)
    throw new Error(
      `pgbench -i failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}):\n${r.stderr.slice(-2000)}`,
    );
}

/** Parses pgbench's summary. */
export function parsePgbench(out) {
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out) ?? /tps = ([\d.]+)/.exec(out);
  const txns = /number of transactions actually processed: (\d+)/.exec(out);
  const lat = /latency average = ([\d.]+) ms/.exec(out);
  const failed = /number of failed transactions: (\d+)/.exec(out);
  return {
    tps: tps ? Number(tps[1]) : null,
    transactions: txns ? Number(txns[1]) : null,
    latencyMs: lat ? Number(lat[1]) : null,
    failed: failed ? Number(failed[1]) : 0,
  };
}

async function pgbench(pgc, port, { mode, clients, threads, seconds }) {
  const args = ["-S", "-n", "-M", mode, "-c", String(clients), "-j", String(threads), "-T", String(seconds)];
  args.push("-h", "127.0.0.1", "-p", String(port), PG_BENCH_DB);
  const r = await run("pgbench", args, { timeoutMs: seconds * 1000 + 30_000, env: pgbenchEnv(pgc) });
  const parsed = parsePgbench(r.stdout);
  if (r.code !== 0 || parsed.tps === null) {
    const why = (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" / ");
    return { ...parsed, tps: null, error: `exit ${r.code}${r.timedOut ? " (timed out)" : ""}: ${why}` };
  }
  return parsed;
}

/**
 * Runs the PostgreSQL bench. opts: { pg: {host, port, user, password, database}, distDir, seconds, rounds, log }
 * Returns { cells, targets, table, proxyHow, errors }.
 */
export async function benchPg(opts) {
  const { pg: pgc, distDir, seconds, rounds, log } = opts;
  await ensureDatabase(pgc, log);

  log("starting DBA-GPT and PgBouncer");
  const errors = [];
  let proxy = null;
  try {
    proxy = await startProxy({ distDir, pgUpstream: `${pgc.host}:${pgc.port}` });
    log(`DBA-GPT pid ${proxy.pid} on :${proxy.pgPort} (${proxy.how})`);
  } catch (e) {
    // Still measure the peers, and say loudly that the proxy column is missing and why.
    errors.push(`DBA-GPT did not start: ${e.message}`);
    log(`DBA-GPT did not start, measuring direct and PgBouncer only: ${e.message}`);
  }
  const bouncer = await startPgBouncer({ upstreamHost: pgc.host, upstreamPort: pgc.port, user: pgc.user });
  log(`PgBouncer pid ${bouncer.pid} on :${bouncer.port}`);

  const targets = [
    { key: "direct", port: pgc.port, pid: null },
    ...(proxy ? [{ key: "proxy", port: proxy.pgPort, pid: proxy.pid }] : []),
    { key: "pgbouncer", port: bouncer.port, pid: bouncer.pid },
  ];

  // Warm caches and the proxy's JIT before anything is measured.
  for (const t of [...targets]) {
    const w = await pgbench(pgc, t.port, { mode: "prepared", clients: 2, threads: 1, seconds: 2 });
    if (!w.error) continue;
    if (t.key !== "proxy") throw new Error(`warm-up through ${t.key} failed: ${w.error}`);
    errors.push(`pgbench through DBA-GPT failed in the warm-up, proxy column left out: ${w.error}`);
    log(`pgbench through DBA-GPT failed in the warm-up, measuring direct and PgBouncer only: ${w.error}`);
    targets.splice(targets.indexOf(t), 1);
  }

  const cells = [];
  for (const mode of ["simple", "prepared"]) {
    for (const [clients, threads] of [
      [1, 1],
      [8, 2],
    ]) {
      const cell = { mode, clients, threads, runs: { direct: [], proxy: [], pgbouncer: [] } };
      for (let round = 1; round <= rounds; round++) {
        for (const t of targets) {
          const before = t.pid ? treeCpu(t.pid) : null;
          const r = await pgbench(pgc, t.port, { mode, clients, threads, seconds });
          if (before) {
            const cpu = cpuDelta(before, treeCpu(t.pid));
            r.cpuMicros = cpu;
            r.cpuPerTxnMicros = r.transactions ? cpu / r.transactions : null;
          }
          cell.runs[t.key].push(r);
          if (r.error) errors.push(`${mode} -c ${clients} ${t.key} round ${round}: ${r.error}`);
          log(
            `  ${mode.padEnd(8)} -c ${clients} round ${round} ${t.key.padEnd(9)} ${r.error ? `FAILED ${r.error}` : `${num(r.tps)} tps`}${r.cpuPerTxnMicros ? `, ${num(r.cpuPerTxnMicros, 1)} µs CPU/txn` : ""}`,
          );
        }
      }
      const med = (k, f) => median(cell.runs[k].map(f));
      cell.tps = {
        direct: med("direct", (r) => r.tps),
        proxy: med("proxy", (r) => r.tps),
        pgbouncer: med("pgbouncer", (r) => r.tps),
      };
      cell.cpuPerTxnMicros = {
        proxy: med("proxy", (r) => r.cpuPerTxnMicros),
        pgbouncer: med("pgbouncer", (r) => r.cpuPerTxnMicros),
      };
      cell.proxyOverDirect = ratio(cell.tps.proxy, cell.tps.direct);
      cell.proxyOverPgbouncer = ratio(cell.tps.proxy, cell.tps.pgbouncer);
      if (clients === 1) {
        const added = (tps) => (tps && cell.tps.direct ? 1e6 / tps - 1e6 / cell.tps.direct : null);
        cell.addedLatencyMicros = { proxy: added(cell.tps.proxy), pgbouncer: added(cell.tps.pgbouncer) };
        cell.addedLatencyRatio = ratio(cell.addedLatencyMicros.proxy, cell.addedLatencyMicros.pgbouncer);
      }
      cells.push(cell);
    }
  }

  const rows = cells.map((c) => [
    c.mode,
    c.clients,
    num(c.tps.direct),
    num(c.tps.proxy),
    num(c.tps.pgbouncer),
    x(c.proxyOverDirect),
    x(c.proxyOverPgbouncer),
    c.addedLatencyMicros ? num(c.addedLatencyMicros.proxy, 1) : "",
    c.addedLatencyMicros ? num(c.addedLatencyMicros.pgbouncer, 1) : "",
    c.addedLatencyMicros ? x(c.addedLatencyRatio) : "",
    num(c.cpuPerTxnMicros.proxy, 1),
    num(c.cpuPerTxnMicros.pgbouncer, 1),
  ]);
  const table = markdownTable(
    [
      "pgbench -S",
      "clients",
      "direct tps",
      "DBA-GPT tps",
      "PgBouncer tps",
      "DBA-GPT/direct",
      "DBA-GPT/PgBouncer",
      "DBA-GPT added µs",
      "PgBouncer added µs",
      "added ratio",
      "DBA-GPT CPU µs/txn",
      "PgBouncer CPU µs/txn",
    ],
    rows,
  );

  const c8p = cells.find((c) => c.mode === "prepared" && c.clients === 8);
  const checks = [
    {
      target: "-c 8 prepared: DBA-GPT tps ≥ 1.0× PgBouncer",
      value: x(c8p?.proxyOverPgbouncer ?? null),
      ok: c8p?.proxyOverPgbouncer == null ? null : c8p.proxyOverPgbouncer >= 1.0,
    },
    ...cells
      .filter((c) => c.clients === 1)
      .map((c) => {
        const a = c.addedLatencyMicros;
        const ok = a.proxy == null || a.pgbouncer == null ? null : a.proxy <= 2 * a.pgbouncer;
        return {
          target: `-c 1 ${c.mode}: DBA-GPT added latency ≤ 2× PgBouncer's`,
          value: `${num(a.proxy, 1)} µs vs ${num(a.pgbouncer, 1)} µs (${x(c.addedLatencyRatio)})`,
          ok,
        };
      }),
  ];

  await proxy?.stop();
  await bouncer.stop();
  const notes = [
    "PgBouncer 1.18 in session mode (pool 20), single-threaded like DBA-GPT; added µs = 1/tps through the relay − 1/tps direct at one client; CPU = the relay process's utime+stime over the run ÷ transactions.",
  ];
  return {
    cells,
    checks,
    table,
    notes,
    proxyHow: proxy?.how ?? null,
    errors,
    settings: { seconds, rounds, scale: SCALE, database: PG_BENCH_DB },
  };
}

export function checksTable(checks) {
  return markdownTable(
    ["target", "measured", "verdict"],
    checks.map((c) => [c.target, c.value, verdict(c.ok)]),
  );
}
