// MySQL/MariaDB relay overhead: sysbench oltp_point_select and oltp_read_only directly, through
// DBA-GPT (--mysql-listen) and through HAProxy in tcp mode, alternating, median of the rounds,
// with the CPU each relay spends per query.
import mysql from "mysql2/promise";
import { startHaproxy, startProxy } from "./lib/daemons.mjs";
import { cpuDelta, run, treeCpu } from "./lib/proc.mjs";
import { markdownTable, median, num, ratio, x } from "./lib/report.mjs";

export const MYSQL_BENCH_DB = "sbtest";
const TABLES = 4;
const TABLE_SIZE = 10_000;

function common(myc, port) {
  return [
    "--db-driver=mysql",
    "--mysql-host=127.0.0.1",
    `--mysql-port=${port}`,
    `--mysql-user=${myc.user}`,
    `--mysql-password=${myc.password}`,
    `--mysql-db=${MYSQL_BENCH_DB}`,
    "--mysql-ssl=off",
    `--tables=${TABLES}`,
    `--table-size=${TABLE_SIZE}`,
  ];
}

async function ensureTables(myc, log) {
  const conn = await mysql.createConnection({
    host: myc.host,
    port: myc.port,
    user: myc.user,
    password: myc.password,
  });
  let ready = true;
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${MYSQL_BENCH_DB}`);
    for (let i = 1; i <= TABLES; i++) {
      try {
        const [rows] = await conn.query(`SELECT count(*) AS n FROM ${MYSQL_BENCH_DB}.sbtest${i}`);
        if (Number(rows[0].n) !== TABLE_SIZE) ready = false;
      } catch {
        ready = false;
      }
    }
    if (ready) {
      log(`sysbench tables ${TABLES} × ${TABLE_SIZE} already in ${MYSQL_BENCH_DB}`);
      return;
    }
    log(`sysbench prepare: ${TABLES} tables × ${TABLE_SIZE} rows into ${MYSQL_BENCH_DB} (once)`);
    for (let i = 1; i <= TABLES; i++) await conn.query(`DROP TABLE IF EXISTS ${MYSQL_BENCH_DB}.sbtest${i}`);
  } finally {
    await conn.end();
  }
  const r = await run("sysbench", ["oltp_read_only", ...common(myc, myc.port), "prepare"], {
    timeoutMs: 300_000,
  });
  if (r.code !== 0)
    throw new Error(`sysbench prepare failed (exit ${r.code}):\n${(r.stderr || r.stdout).slice(-2000)}`);
}

/** Parses sysbench 1.0's summary. */
export function parseSysbench(out) {
  const txn = /transactions:\s+(\d+)\s+\(([\d.]+) per sec\.\)/.exec(out);
  const q = /queries:\s+(\d+)\s+\(([\d.]+) per sec\.\)/.exec(out);
  const avg = /avg:\s+([\d.]+)/.exec(out);
  const errs = /ignored errors:\s+(\d+)/.exec(out);
  return {
    transactions: txn ? Number(txn[1]) : null,
    tps: txn ? Number(txn[2]) : null,
    queries: q ? Number(q[1]) : null,
    qps: q ? Number(q[2]) : null,
    avgLatencyMs: avg ? Number(avg[1]) : null,
    ignoredErrors: errs ? Number(errs[1]) : 0,
  };
}

async function sysbench(myc, port, { test, psMode, threads, seconds }) {
  const args = [
    test,
    ...common(myc, port),
    `--threads=${threads}`,
    `--time=${seconds}`,
    `--db-ps-mode=${psMode}`,
    "run",
  ];
  const r = await run("sysbench", args, { timeoutMs: seconds * 1000 + 30_000 });
  const parsed = parseSysbench(r.stdout);
  if (r.code !== 0 || parsed.qps === null) {
    const fatal = `${r.stdout}\n${r.stderr}`
      .split("\n")
      .filter((l) => /FATAL|error/i.test(l))
      .slice(0, 3)
      .join(" / ");
    return {
      ...parsed,
      qps: null,
      tps: null,
      error: `exit ${r.code}${r.timedOut ? " (timed out)" : ""}: ${fatal || r.stderr.trim().slice(-300)}`,
    };
  }
  return parsed;
}

/**
 * Runs the MySQL bench. opts: { mysql: {host, port, user, password}, pg: {host, port}, distDir, seconds, rounds, log }
 */
export async function benchMysql(opts) {
  const { mysql: myc, pg: pgc, distDir, seconds, rounds, log } = opts;
  await ensureTables(myc, log);
  const errors = [];

  log("starting DBA-GPT (MySQL side on) and HAProxy");
  let proxy = null;
  try {
    proxy = await startProxy({
      distDir,
      pgUpstream: `${pgc.host}:${pgc.port}`,
      mysqlUpstream: `${myc.host}:${myc.port}`,
    });
    log(`DBA-GPT pid ${proxy.pid} (${proxy.how}), MySQL side on :${proxy.mysqlPort}`);
    if (!proxy.mysqlReady) {
      errors.push(
        `DBA-GPT started but its MySQL port :${proxy.mysqlPort} does not accept connections (MySQL side not built yet?); DBA-GPT column left out`,
      );
      log(errors.at(-1));
    }
  } catch (e) {
    errors.push(`DBA-GPT with --mysql-upstream did not start; DBA-GPT column left out: ${e.message}`);
    log(errors.at(-1));
  }
  const haproxy = await startHaproxy({ upstreamHost: myc.host, upstreamPort: myc.port });
  log(`HAProxy pid ${haproxy.pid} on :${haproxy.port}`);

  const targets = [
    { key: "direct", port: myc.port, pid: null },
    ...(proxy?.mysqlReady ? [{ key: "proxy", port: proxy.mysqlPort, pid: proxy.pid }] : []),
    { key: "haproxy", port: haproxy.port, pid: haproxy.pid },
  ];

  for (const t of [...targets]) {
    const w = await sysbench(myc, t.port, { test: "oltp_read_only", psMode: "auto", threads: 2, seconds: 2 });
    if (!w.error) continue;
    if (t.key !== "proxy") throw new Error(`warm-up through ${t.key} failed: ${w.error}`);
    errors.push(
      `sysbench through DBA-GPT's MySQL side failed at connect/warm-up; DBA-GPT column left out: ${w.error}`,
    );
    log(errors.at(-1));
    targets.splice(targets.indexOf(t), 1);
  }

  const cells = [];
  for (const test of ["oltp_point_select", "oltp_read_only"]) {
    for (const psMode of ["auto", "disable"]) {
      for (const threads of [1, 8]) {
        const cell = { test, psMode, threads, runs: { direct: [], proxy: [], haproxy: [] } };
        for (let round = 1; round <= rounds; round++) {
          for (const t of targets) {
            const before = t.pid ? treeCpu(t.pid) : null;
            const r = await sysbench(myc, t.port, { test, psMode, threads, seconds });
            if (before) {
              const cpu = cpuDelta(before, treeCpu(t.pid));
              r.cpuMicros = cpu;
              r.cpuPerQueryMicros = r.queries ? cpu / r.queries : null;
            }
            cell.runs[t.key].push(r);
            if (r.error)
              errors.push(`${test} ps=${psMode} ${threads} thr ${t.key} round ${round}: ${r.error}`);
            log(
              `  ${test.padEnd(17)} ps=${psMode.padEnd(7)} ${threads} thr round ${round} ${t.key.padEnd(7)} ${r.error ? `FAILED ${r.error}` : `${num(r.qps)} qps`}${r.cpuPerQueryMicros ? `, ${num(r.cpuPerQueryMicros, 1)} µs CPU/query` : ""}`,
            );
          }
        }
        const med = (k, f) => median(cell.runs[k].map(f));
        cell.qps = {
          direct: med("direct", (r) => r.qps),
          proxy: med("proxy", (r) => r.qps),
          haproxy: med("haproxy", (r) => r.qps),
        };
        cell.tps = {
          direct: med("direct", (r) => r.tps),
          proxy: med("proxy", (r) => r.tps),
          haproxy: med("haproxy", (r) => r.tps),
        };
        cell.avgLatencyMs = {
          direct: med("direct", (r) => r.avgLatencyMs),
          proxy: med("proxy", (r) => r.avgLatencyMs),
          haproxy: med("haproxy", (r) => r.avgLatencyMs),
        };
        cell.queriesPerTxn = ratio(cell.qps.direct, cell.tps.direct);
        cell.cpuPerQueryMicros = {
          proxy: med("proxy", (r) => r.cpuPerQueryMicros),
          haproxy: med("haproxy", (r) => r.cpuPerQueryMicros),
        };
        cell.proxyOverDirect = ratio(cell.qps.proxy, cell.qps.direct);
        cell.proxyOverHaproxy = ratio(cell.qps.proxy, cell.qps.haproxy);
        if (threads === 1) {
          // sysbench prints avg latency in 10 µs steps; at one thread the mean time per query is
          // exactly 1/qps, which keeps the µs. Added = that time through a relay minus direct.
          const added = (qps) => (qps && cell.qps.direct ? 1e6 / qps - 1e6 / cell.qps.direct : null);
          cell.addedLatencyMicrosPerQuery = {
            proxy: added(cell.qps.proxy),
            haproxy: added(cell.qps.haproxy),
          };
          cell.addedLatencyRatio = ratio(
            cell.addedLatencyMicrosPerQuery.proxy,
            cell.addedLatencyMicrosPerQuery.haproxy,
          );
        }
        cells.push(cell);
      }
    }
  }

  const rows = cells.map((c) => [
    c.test,
    c.psMode,
    c.threads,
    num(c.qps.direct),
    num(c.qps.proxy),
    num(c.qps.haproxy),
    x(c.proxyOverDirect),
    x(c.proxyOverHaproxy),
    c.addedLatencyMicrosPerQuery ? num(c.addedLatencyMicrosPerQuery.proxy, 1) : "",
    c.addedLatencyMicrosPerQuery ? num(c.addedLatencyMicrosPerQuery.haproxy, 1) : "",
    num(c.cpuPerQueryMicros.proxy, 1),
    num(c.cpuPerQueryMicros.haproxy, 1),
  ]);
  const table = markdownTable(
    [
      "sysbench",
      "ps-mode",
      "threads",
      "direct qps",
      "DBA-GPT qps",
      "HAProxy qps",
      "DBA-GPT/direct",
      "DBA-GPT/HAProxy",
      "DBA-GPT added µs/query",
      "HAProxy added µs/query",
      "DBA-GPT CPU µs/query",
      "HAProxy CPU µs/query",
    ],
    rows,
  );

  const checks = [
    ...cells
      .filter((c) => c.threads === 8)
      .map((c) => ({
        target: `8 threads ${c.test} ps=${c.psMode}: DBA-GPT qps ≥ 1.0× HAProxy`,
        value: x(c.proxyOverHaproxy),
        ok: c.proxyOverHaproxy == null ? null : c.proxyOverHaproxy >= 1.0,
      })),
    ...cells
      .filter((c) => c.threads === 1)
      .map((c) => {
        const a = c.addedLatencyMicrosPerQuery;
        return {
          target: `1 thread ${c.test} ps=${c.psMode}: DBA-GPT added latency ≤ HAProxy's`,
          value: `${num(a.proxy, 1)} µs vs ${num(a.haproxy, 1)} µs`,
          ok: a.proxy == null || a.haproxy == null ? null : a.proxy <= a.haproxy,
        };
      }),
  ];

  await proxy?.stop();
  await haproxy.stop();
  const notes = [
    "HAProxy 2.6 in tcp mode with its defaults (one thread per CPU); added µs per query = 1/qps through the relay − 1/qps direct at one thread (sysbench prints avg latency only in 10 µs steps); CPU = the relay process's utime+stime over the run ÷ queries.",
  ];
  return {
    cells,
    checks,
    table,
    notes,
    proxyHow: proxy?.how ?? null,
    errors,
    settings: { seconds, rounds, tables: TABLES, tableSize: TABLE_SIZE, database: MYSQL_BENCH_DB },
  };
}
