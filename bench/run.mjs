#!/usr/bin/env node
// npm run bench -- [pg|mysql|rss|all|resolution] [--quick] [--rounds N] [--seconds N] [--dist DIR] [--allow-pg-restart]
//
// Relay overhead of DBA-GPT against a direct connection and against the peers a DBA would reach
// for (PgBouncer for PostgreSQL, HAProxy for MySQL), the proxy's idle memory per connection, and
// (resolution) what the application sees of the seed's error mix directly and through DBA-GPT.
// Everything runs on loopback, every run is bounded in time, and every process the bench starts
// is stopped at the end, on failure and on Ctrl-C.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { repoDir } from "./lib/daemons.mjs";
import { installCleanupHooks, stopAll } from "./lib/proc.mjs";
import { hostInfo, writeResults } from "./lib/report.mjs";

const USAGE = `usage: node bench/run.mjs [pg|mysql|rss|all|resolution] [options]

  pg      pgbench -S (simple, prepared; -c 1 and -c 8): direct, DBA-GPT, PgBouncer
  mysql   sysbench oltp_point_select, oltp_read_only (ps-mode auto, disable; 1 and 8 threads):
          direct, DBA-GPT, HAProxy
  rss     DBA-GPT resident memory idle and with 1,000 idle client connections
  all     all three (default)
  resolution  the seed's error mix (TABLE_NOT_FOUND 34%, SYNTAX_ERROR 28%, CONNECTION_ERROR 15%,
          DEADLOCK 12%, ACCESS_DENIED 11%, between good statements) by several clients, directly
          and through DBA-GPT, on PostgreSQL and MySQL/MariaDB: errors the application saw,
          resolved inline, p50/p99 resolution time (not part of "all")

options:
  --quick             3 s per run, 2 rounds (default 10 s, 3 rounds)
  --seconds N         seconds per run
  --rounds N          rounds per cell (≥ 2; the median is reported)
  --connections N     idle connections for rss (default 1000)
  --clients N         resolution: clients per database (default 8; --quick 4)
  --rate N            resolution: statements per second per client, at most (default 40)
  --seed N            resolution: seed of the clients' choices (default 1)
  --dist DIR          built DBA-GPT (default: <repo>/dist; env DBAGPT_BENCH_DIST)
  --allow-pg-restart  rss may raise PostgreSQL's max_connections (ALTER SYSTEM + restart)
  --no-json           do not write bench/results/<timestamp>.json

env: PG_URL (default postgres://postgres@127.0.0.1:5432/test),
     MYSQL_URL (default mysql://root@127.0.0.1:3306/test)
`;

function parseArgs(argv) {
  const o = {
    suite: "all",
    quick: false,
    seconds: null,
    rounds: null,
    connections: 1000,
    clients: null,
    rate: 40,
    seed: 1,
    distDir: process.env.DBAGPT_BENCH_DIST ?? path.join(repoDir, "dist"),
    allowPgRestart: false,
    json: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (min) => {
      const n = Number(val());
      if (!Number.isInteger(n) || n < min) throw new Error(`${a} must be an integer ≥ ${min}`);
      return n;
    };
    if (a === "pg" || a === "mysql" || a === "rss" || a === "all" || a === "resolution") o.suite = a;
    else if (a === "--quick") o.quick = true;
    else if (a === "--seconds") o.seconds = int(1);
    else if (a === "--rounds") o.rounds = int(o.suite === "resolution" ? 1 : 2);
    else if (a === "--connections") o.connections = int(1);
    else if (a === "--clients") o.clients = int(1);
    else if (a === "--rate") o.rate = int(1);
    else if (a === "--seed") o.seed = int(0);
    else if (a === "--dist") o.distDir = path.resolve(val());
    else if (a === "--allow-pg-restart") o.allowPgRestart = true;
    else if (a === "--no-json") o.json = false;
    else if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n\n${USAGE}`);
  }
  if (o.suite === "resolution") {
    // one direct and one proxied run per database and round; rounds alternate which goes first
    o.seconds ??= o.quick ? 8 : 20;
    o.rounds ??= 1;
    o.clients ??= o.quick ? 4 : 8;
  }
  o.seconds ??= o.quick ? 3 : 10;
  o.rounds ??= o.quick ? 2 : 3;
  return o;
}

function pgFromEnv() {
  const u = new URL(process.env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/test");
  return {
    host: u.hostname || "127.0.0.1",
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || "postgres"),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: u.pathname.slice(1) || "test",
  };
}

function mysqlFromEnv() {
  const u = new URL(process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test");
  return {
    host: u.hostname || "127.0.0.1",
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || "root"),
    password: u.password ? decodeURIComponent(u.password) : "",
    database: u.pathname.slice(1) || "test",
  };
}

const log = (line) => process.stderr.write(`${line}\n`);

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  installCleanupHooks();
  const results = {
    startedAt: new Date().toISOString(),
    host: hostInfo(),
    options: {
      suite: opts.suite,
      quick: opts.quick,
      seconds: opts.seconds,
      rounds: opts.rounds,
      distDir: opts.distDir,
      ...(opts.suite === "resolution" ? { clients: opts.clients, rate: opts.rate, seed: opts.seed } : {}),
    },
  };
  const sections = [];
  let failed = false;
  const suites = opts.suite === "all" ? ["pg", "mysql", "rss"] : [opts.suite];
  const pgc = pgFromEnv();
  const myc = mysqlFromEnv();
  const { checksTable } = await import("./pg.mjs");

  for (const suite of suites) {
    log(`\n== ${suite}`);
    try {
      if (suite === "pg") {
        const { benchPg } = await import("./pg.mjs");
        const r = await benchPg({
          pg: pgc,
          distDir: opts.distDir,
          seconds: opts.seconds,
          rounds: opts.rounds,
          log,
        });
        results.pg = r;
        sections.push(
          `### PostgreSQL: pgbench -S, scale 10, ${opts.seconds} s runs, median of ${opts.rounds} alternating rounds\n\n${r.table}\n\n${checksTable(r.checks)}${notes([...r.notes, ...r.errors])}`,
        );
        if (r.errors.length) failed = true;
      } else if (suite === "mysql") {
        const { benchMysql } = await import("./mysql.mjs");
        const r = await benchMysql({
          mysql: myc,
          pg: pgc,
          distDir: opts.distDir,
          seconds: opts.seconds,
          rounds: opts.rounds,
          log,
        });
        results.mysql = r;
        sections.push(
          `### MySQL/MariaDB: sysbench, 4 tables × 10,000 rows, ${opts.seconds} s runs, median of ${opts.rounds} alternating rounds\n\n${r.table}\n\n${checksTable(r.checks)}${notes([...r.notes, ...r.errors])}`,
        );
        if (r.errors.length) failed = true;
      } else if (suite === "resolution") {
        const { benchResolution } = await import("./resolution.mjs");
        const r = await benchResolution({
          pg: pgc,
          mysql: myc,
          distDir: opts.distDir,
          seconds: opts.seconds,
          clients: opts.clients,
          rate: opts.rate,
          rounds: opts.rounds,
          seed: opts.seed,
          log,
        });
        results.resolution = r;
        sections.push(
          `### Inline resolution: the seed's error mix, ${opts.clients} clients × ${opts.seconds} s per database and target (≤ ${opts.rate} statements/s each, half of them good), ${opts.rounds} round(s), seed ${opts.seed}\n\n${r.table}\n\n${checksTable(r.checks)}${notes([...r.notes, ...r.errors])}`,
        );
        if (r.errors.length) failed = true;
      } else if (suite === "rss") {
        const { benchRss } = await import("./rss.mjs");
        const r = await benchRss({
          pg: pgc,
          distDir: opts.distDir,
          connections: opts.connections,
          allowPgRestart: opts.allowPgRestart,
          log,
        });
        results.rss = r;
        sections.push(
          `### DBA-GPT memory (VmRSS)\n\n${r.table}\n\n${checksTable(r.checks)}${notes(r.notes)}`,
        );
      }
    } catch (e) {
      failed = true;
      results[suite] = { error: e.message };
      log(`${suite} bench failed: ${e.stack ?? e.message}`);
      sections.push(`### ${suite}\n\nFAILED: ${e.message}`);
    } finally {
      await stopAll();
    }
  }

  const h = results.host;
  const header = `## DBA-GPT benchmarks (${results.startedAt.slice(0, 10)}, ${h.cpus} × ${h.cpuModel}, Linux ${h.kernel}, Node ${h.node}; client, relay and server share the machine)`;
  process.stdout.write(`\n${header}\n\n${sections.join("\n\n")}\n`);
  if (opts.json) {
    const file = writeResults(path.join(path.dirname(fileURLToPath(import.meta.url)), "results"), results);
    process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)}\n`);
  }
  if (failed) process.stderr.write("\nsome runs did not measure (see the notes above): exit code 1\n");
  process.exitCode = failed ? 1 : 0;
}

function notes(list) {
  if (!list?.length) return "";
  return `\n\n${list.map((n) => `- ${n}`).join("\n")}`;
}

main().catch(async (e) => {
  log(e.stack ?? String(e));
  await stopAll();
  process.exit(1);
});
