// Inline resolution (issue 4): a workload with the seed's mix of errors run by several clients
// directly against the server and through DBA-GPT, on PostgreSQL and on MariaDB/MySQL. Per
// errorType: what the application saw, what DBA-GPT resolved inline (GET /api/resolutions,
// outcome "succeeded") and the time from the first error packet to the client's answer
// (the resolution's durationMs). Targets: every autocommit deadlock hidden from the application,
// p99 of a retry under 100 ms (the seed's own system took 10-30 s per error).
//
// Everything runs on loopback, each phase is bounded in time and every op has a client-side
// timeout; the proxy is a separate process, stopped by the caller's stopAll().
import os from "node:os";
import mysql from "mysql2/promise";
import pg from "pg";
import { startProxy } from "./lib/daemons.mjs";
import { markdownTable, num } from "./lib/report.mjs";

/** The seed's mix of errors (share of the error statements). */
export const SEED_MIX = [
  ["TABLE_NOT_FOUND", 34],
  ["SYNTAX_ERROR", 28],
  ["CONNECTION_ERROR", 15],
  ["DEADLOCK", 12],
  ["ACCESS_DENIED", 11],
];
const KINDS = SEED_MIX.map(([k]) => k);
/** Share of good statements between the errors. */
const GOOD_SHARE = 0.5;
const RO_USER = "dbagpt_bench_ro";
const DL_TABLE = "dbagpt_bench_dl";
const DL_KEYS = "dbagpt_bench_dl_keys";
const SECRET = "dbagpt_bench_secret";
const MISSING = ["dbagpt_bench_missing_orders", "dbagpt_bench_missing_users", "dbagpt_bench_missing_audit"];
const OP_TIMEOUT_MS = 15_000;
/** How long the PostgreSQL deadlock recipe holds its first row lock before taking the second. */
const PG_PAUSE_S = 0.2;
const RETRY_TYPES = new Set(["DEADLOCK", "SERIALIZATION_FAILURE", "LOCK_WAIT_TIMEOUT"]);

/** Small deterministic PRNG so the direct and the proxied run pick the same sequence. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pickKind(rand) {
  if (rand() < GOOD_SHARE) return "GOOD";
  const total = SEED_MIX.reduce((s, [, w]) => s + w, 0);
  let r = rand() * total;
  for (const [k, w] of SEED_MIX) {
    r -= w;
    if (r < 0) return k;
  }
  return KINDS[KINDS.length - 1];
}

/** Nearest-rank percentile of a list of numbers, or null when empty. */
export function percentile(xs, p) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`${what}: no answer in ${ms} ms`), { code: "BENCH_TIMEOUT" })),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The two databases: connect, classify what the application saw, and the recipes per errorType.

const CONN_LOST_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ECONNREFUSED",
  "PROTOCOL_CONNECTION_LOST",
  "CONN_LOST",
  "ERR_STREAM_DESTROYED",
]);

const pgDriver = {
  name: "postgres",
  label: "PostgreSQL",
  codeOf(err) {
    if (typeof err?.code === "string" && /^[0-9A-Z]{5}$/.test(err.code)) return err.code;
    if (err?.code) return String(err.code);
    if (
      /Connection terminated|not queryable|Client was closed|ended by the other party/i.test(
        err?.message ?? "",
      )
    )
      return "CONN_LOST";
    return "UNKNOWN";
  },
  typeOf(code) {
    if (code === "42P01") return "TABLE_NOT_FOUND";
    if (code === "42601") return "SYNTAX_ERROR";
    if (code === "42501" || code === "28000" || code === "28P01") return "ACCESS_DENIED";
    if (code === "40P01") return "DEADLOCK";
    if (code === "40001") return "SERIALIZATION_FAILURE";
    if (code === "55P03") return "LOCK_WAIT_TIMEOUT";
    if (code.startsWith("08") || ["57P01", "57P02", "57P03"].includes(code) || CONN_LOST_CODES.has(code))
      return "CONNECTION_ERROR";
    return "OTHER";
  },
  async connect(cfg, port, { readOnly = false } = {}) {
    const c = new pg.Client({
      host: cfg.host,
      port,
      user: readOnly ? RO_USER : cfg.user,
      password: readOnly ? undefined : cfg.password,
      database: cfg.database,
      application_name: "dbagpt-bench-resolution",
      connectionTimeoutMillis: 5000,
    });
    const conn = { raw: c, broken: false, id: null };
    c.on("error", () => {
      conn.broken = true;
    });
    c.on("end", () => {
      conn.broken = true;
    });
    await c.connect();
    conn.id = (await c.query("SELECT pg_backend_pid() AS id")).rows[0].id;
    return conn;
  },
  query(conn, sql) {
    return withTimeout(conn.raw.query(sql), OP_TIMEOUT_MS, "query");
  },
  close(conn) {
    conn.broken = true;
    conn.raw.end().catch(() => {});
  },
};

const mysqlDriver = {
  name: "mysql",
  label: "MySQL/MariaDB",
  codeOf(err) {
    if (err?.errno && Number.isInteger(err.errno) && err.errno > 0 && err.errno < 10000 && err.sqlState)
      return String(err.errno);
    if (err?.code) return String(err.code);
    if (/closed state|Connection lost|ended by the other party/i.test(err?.message ?? "")) return "CONN_LOST";
    return "UNKNOWN";
  },
  typeOf(code) {
    if (code === "1146") return "TABLE_NOT_FOUND";
    if (code === "1064" || code === "1149") return "SYNTAX_ERROR";
    if (["1044", "1045", "1142", "1143", "1227", "1698"].includes(code)) return "ACCESS_DENIED";
    if (code === "1213") return "DEADLOCK";
    if (code === "1205") return "LOCK_WAIT_TIMEOUT";
    if (["1053", "1927", "2006", "2013", "4031"].includes(code) || CONN_LOST_CODES.has(code))
      return "CONNECTION_ERROR";
    return "OTHER";
  },
  async connect(cfg, port, { readOnly = false } = {}) {
    const c = await mysql.createConnection({
      host: cfg.host,
      port,
      user: readOnly ? RO_USER : cfg.user,
      password: readOnly ? "" : cfg.password,
      // the restricted user has no privilege on the database: it connects without one
      ...(readOnly ? {} : { database: cfg.database }),
      connectTimeout: 5000,
    });
    const conn = { raw: c, broken: false, id: null };
    c.on("error", () => {
      conn.broken = true;
    });
    c.on("end", () => {
      conn.broken = true;
    });
    const [[row]] = await c.query("SELECT CONNECTION_ID() AS id");
    conn.id = Number(row.id);
    return conn;
  },
  query(conn, sql) {
    return withTimeout(conn.raw.query(sql), OP_TIMEOUT_MS, "query");
  },
  close(conn) {
    conn.broken = true;
    conn.raw.destroy();
  },
};

const SYNTAX = [
  "SELEC v FROM dbagpt_bench_dl WHERE id = 1",
  "SELECT * FROM WHERE id = 1",
  "SELECT (1 + 2",
  "UPDATE dbagpt_bench_dl SET WHERE id = 1",
];

async function setupPg(cfg, { clients }) {
  const admin = new pg.Pool({
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    password: cfg.password,
    database: cfg.database,
    max: 4,
    application_name: "dbagpt-bench-resolution-admin",
  });
  admin.on("error", () => {});
  await admin.query(
    `CREATE TABLE IF NOT EXISTS ${DL_TABLE} (id int PRIMARY KEY, v bigint NOT NULL DEFAULT 0)`,
  );
  await admin.query(
    `INSERT INTO ${DL_TABLE} (id) SELECT g FROM generate_series(1, 200) g ON CONFLICT (id) DO NOTHING`,
  );
  // The pause that forces the deadlock runs once per episode and statement: setval is not undone
  // by the rollback, so the statement re-run after the deadlock takes what the two row updates
  // take, and the figure measures the proxy, not the recipe's sleep.
  for (let id = 1; id <= 2 * clients; id++)
    await admin.query(`CREATE SEQUENCE IF NOT EXISTS dbagpt_bench_pause_${id}`);
  await admin.query(`CREATE OR REPLACE FUNCTION dbagpt_bench_pause(me int, other int, n bigint, secs float8)
    RETURNS int LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      seq text := 'dbagpt_bench_pause_' || me;
      last bigint;
    BEGIN
      EXECUTE format('SELECT last_value FROM %I', seq) INTO last;
      IF last < n AND (SELECT v FROM ${DL_TABLE} WHERE id = other) < n THEN
        PERFORM setval(seq, n);
        PERFORM pg_sleep(secs);
      END IF;
      RETURN 1;
    END $$`);
  await admin.query(`CREATE TABLE IF NOT EXISTS ${SECRET} (id int PRIMARY KEY, secret text)`);
  await admin.query(
    `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RO_USER}') THEN CREATE ROLE ${RO_USER} LOGIN; END IF; END $$`,
  );
  await admin.query(`REVOKE ALL ON ${SECRET} FROM PUBLIC, ${RO_USER}`);
  for (const t of MISSING) await admin.query(`DROP TABLE IF EXISTS ${t}`);
  return {
    kill: (id) => admin.query("SELECT pg_terminate_backend($1, 5000)", [id]),
    async waitLocked() {
      return true;
    },
    resetPhase: async () => {},
    end: () => admin.end(),
  };
}

async function setupMysql(cfg) {
  const admin = mysql.createPool({
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    password: cfg.password,
    database: cfg.database,
    connectionLimit: 4,
  });
  await admin.query(
    `CREATE TABLE IF NOT EXISTS ${DL_TABLE} (id INT PRIMARY KEY, v BIGINT NOT NULL DEFAULT 0) ENGINE=InnoDB`,
  );
  await admin.query(`CREATE TABLE IF NOT EXISTS ${DL_KEYS} (k BIGINT PRIMARY KEY) ENGINE=InnoDB`);
  await admin.query(`INSERT IGNORE INTO ${DL_TABLE} (id) SELECT seq FROM seq_1_to_200`).catch(async () => {
    // not MariaDB (no sequence engine): insert the rows one statement at a time
    for (let i = 1; i <= 200; i++) await admin.query(`INSERT IGNORE INTO ${DL_TABLE} (id) VALUES (${i})`);
  });
  await admin.query(`CREATE TABLE IF NOT EXISTS ${SECRET} (id INT PRIMARY KEY, secret TEXT) ENGINE=InnoDB`);
  for (const h of ["%", "127.0.0.1"]) await admin.query(`CREATE USER IF NOT EXISTS '${RO_USER}'@'${h}'`);
  for (const t of MISSING) await admin.query(`DROP TABLE IF EXISTS ${t}`);
  return {
    kill: (id) => admin.query(`KILL ${Number(id)}`),
    /**
     * Both INSERTs are in the server, blocked on the holder's key lock (so its ROLLBACK makes
     * InnoDB pick a victim). information_schema.innodb_trx is a cache refreshed at most every
     * 100 ms, so the process list is asked: while the holder keeps its lock, an INSERT of that
     * key that is running is waiting.
     */
    async waitLocked(ids) {
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        const [[row]] = await admin.query(
          `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE 'INSERT IGNORE INTO ${DL_KEYS}%' AND ID IN (${ids.map(Number).join(",")})`,
        );
        if (Number(row.n) === ids.length) return true;
        await sleep(1);
      }
      return false;
    },
    resetPhase: () => admin.query(`TRUNCATE TABLE ${DL_KEYS}`),
    end: () => admin.end(),
  };
}

// ---------------------------------------------------------------------------------------------
// One client of the workload.

function emptyStats() {
  const s = { GOOD: { attempts: 0, statements: 0, appErrors: 0, codes: {}, unexpected: {}, samples: [] } };
  for (const k of KINDS)
    s[k] = { attempts: 0, statements: 0, appErrors: 0, codes: {}, unexpected: {}, setupFailed: 0 };
  return s;
}

class WorkloadClient {
  constructor({ driver, cfg, port, index, rand, helper, phaseBase, notes }) {
    Object.assign(this, { driver, cfg, port, index, rand, helper, phaseBase, notes });
    this.conns = {};
    this.episode = 0;
  }

  async conn(role) {
    const c = this.conns[role];
    if (c && !c.broken) return c;
    const fresh = await this.driver.connect(this.cfg, this.port, { readOnly: role === "ro" });
    if (this.driver.name === "postgres" && (role === "main" || role === "partner")) {
      // keeps the deadlock recipe short; superuser-only, so without it PostgreSQL waits 1 s
      await this.driver.query(fresh, "SET deadlock_timeout = '100ms'").catch(() => {});
    }
    this.conns[role] = fresh;
    return fresh;
  }

  /** Runs one statement; resolves { ok } or { code }. */
  async exec(role, sql) {
    let c;
    try {
      c = await this.conn(role);
    } catch (e) {
      return { setup: true, code: this.driver.codeOf(e), message: e.message };
    }
    try {
      await this.driver.query(c, sql);
      return { ok: true };
    } catch (e) {
      const code = this.driver.codeOf(e);
      if (code === "BENCH_TIMEOUT" || this.driver.typeOf(code) === "CONNECTION_ERROR") this.driver.close(c);
      return { code, message: e.message };
    }
  }

  tally(stats, kind, result) {
    const s = stats[kind];
    if (result.ok) return;
    if (result.setup) {
      s.setupFailed = (s.setupFailed ?? 0) + 1;
      s.unexpected[`connect:${result.code}`] = (s.unexpected[`connect:${result.code}`] ?? 0) + 1;
      return;
    }
    if (kind === "GOOD") {
      s.appErrors++;
      s.codes[result.code] = (s.codes[result.code] ?? 0) + 1;
      return;
    }
    if (this.driver.typeOf(result.code) === kind) {
      s.appErrors++;
      s.codes[result.code] = (s.codes[result.code] ?? 0) + 1;
    } else {
      s.unexpected[result.code] = (s.unexpected[result.code] ?? 0) + 1;
    }
  }

  async op(kind, stats) {
    const d = this.driver;
    const s = stats[kind];
    s.attempts++;
    const rowA = 2 * this.index + 1;
    const rowB = rowA + 1;
    switch (kind) {
      case "GOOD": {
        // their latency tells a stall of the host apart from a slow resolution
        const t0 = performance.now();
        const r = await this.exec(
          "main",
          `SELECT v FROM ${DL_TABLE} WHERE id = ${1 + Math.floor(this.rand() * 200)}`,
        );
        if (r.ok) s.samples.push([Date.now(), performance.now() - t0]);
        this.tally(stats, kind, r);
        return;
      }
      case "TABLE_NOT_FOUND": {
        s.statements++;
        const t = MISSING[Math.floor(this.rand() * MISSING.length)];
        this.tally(
          stats,
          kind,
          await this.exec("main", `SELECT * FROM ${t} WHERE id = ${Math.floor(this.rand() * 1000)}`),
        );
        return;
      }
      case "SYNTAX_ERROR":
        s.statements++;
        this.tally(stats, kind, await this.exec("main", SYNTAX[Math.floor(this.rand() * SYNTAX.length)]));
        return;
      case "ACCESS_DENIED":
        s.statements++;
        this.tally(
          stats,
          kind,
          await this.exec(
            "ro",
            d.name === "postgres"
              ? `SELECT * FROM ${SECRET}`
              : `SELECT * FROM ${this.cfg.database}.${SECRET}`,
          ),
        );
        return;
      case "CONNECTION_ERROR": {
        // the server kills the victim's connection between two statements; the app then reuses it
        let victim;
        try {
          victim = await this.conn("victim");
          await this.helper.kill(victim.id);
        } catch (e) {
          this.tally(stats, kind, { setup: true, code: d.codeOf(e) });
          return;
        }
        // the app reuses the very connection (no reconnect in between, whatever the driver noticed)
        s.statements++;
        try {
          await d.query(victim, "SELECT 1");
          this.tally(stats, kind, { ok: true });
        } catch (e) {
          this.tally(stats, kind, { code: d.codeOf(e), message: e.message });
        }
        // the next episode kills a fresh connection
        d.close(victim);
        return;
      }
      case "DEADLOCK":
        this.episode++;
        if (d.name === "postgres") return this.pgDeadlock(stats, rowA, rowB);
        return this.mysqlDeadlock(stats);
    }
  }

  async pgDeadlock(stats, rowA, rowB) {
    const n = this.phaseBase + this.episode;
    const stmt = (first, second) =>
      `WITH a AS (UPDATE ${DL_TABLE} SET v = ${n} WHERE id = ${first} RETURNING dbagpt_bench_pause(${first}, ${second}, ${n}, ${PG_PAUSE_S})) UPDATE ${DL_TABLE} SET v = ${n} WHERE id = ${second} AND EXISTS (SELECT 1 FROM a)`;
    try {
      await this.conn("main");
      await this.conn("partner");
    } catch (e) {
      this.tally(stats, "DEADLOCK", { setup: true, code: this.driver.codeOf(e) });
      return;
    }
    stats.DEADLOCK.statements += 2;
    const rs = await Promise.all([
      this.exec("main", stmt(rowA, rowB)),
      this.exec("partner", stmt(rowB, rowA)),
    ]);
    for (const r of rs) this.tally(stats, "DEADLOCK", r);
  }

  async mysqlDeadlock(stats) {
    const k = this.index * 1_000_000 + this.episode;
    let holder;
    let a;
    let b;
    try {
      holder = await this.conn("holder");
      a = await this.conn("main");
      b = await this.conn("partner");
      await this.driver.query(holder, "START TRANSACTION");
      await this.driver.query(holder, `INSERT INTO ${DL_KEYS} (k) VALUES (${k})`);
    } catch (e) {
      if (holder) this.driver.close(holder);
      this.tally(stats, "DEADLOCK", { setup: true, code: this.driver.codeOf(e) });
      return;
    }
    stats.DEADLOCK.statements += 2;
    const sql = `INSERT IGNORE INTO ${DL_KEYS} (k) VALUES (${k})`;
    const pending = [this.exec("main", sql), this.exec("partner", sql)];
    let waited = false;
    try {
      waited = await this.helper.waitLocked([a.id, b.id]);
    } catch {
      waited = false;
    }
    if (!waited) stats.DEADLOCK.notWaiting = (stats.DEADLOCK.notWaiting ?? 0) + 1;
    await this.driver.query(holder, "ROLLBACK").catch(() => this.driver.close(holder));
    for (const r of await Promise.all(pending)) this.tally(stats, "DEADLOCK", r);
  }

  close() {
    for (const c of Object.values(this.conns)) if (c && !c.broken) this.driver.close(c);
  }
}

/**
 * Runs the workload: `clients` clients, each paced at `rate` ops/s, for `seconds`. Returns the
 * stats summed over the clients.
 */
async function runWorkload({ driver, cfg, port, clients, seconds, rate, seed, helper }) {
  await helper.resetPhase();
  const stats = emptyStats();
  const phaseBase = Date.now() * 1000;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const workers = [];
  for (let i = 0; i < clients; i++) {
    const rand = mulberry32(seed * 1000 + i);
    const wc = new WorkloadClient({ driver, cfg, port, index: i, rand, helper, phaseBase });
    workers.push(
      (async () => {
        try {
          for (let n = 0; ; n++) {
            const due = started + (n * 1000) / rate;
            if (due >= deadline) break;
            const now = performance.now();
            if (due > now) await sleep(due - now);
            await wc.op(pickKind(rand), stats);
          }
        } finally {
          wc.close();
        }
      })(),
    );
  }
  await Promise.all(workers);
  return { stats, elapsedS: (performance.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// What DBA-GPT recorded.

function httpJson(port, urlPath) {
  return fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(5000) }).then(
    async (r) => {
      if (!r.ok) throw new Error(`GET ${urlPath}: HTTP ${r.status}`);
      return r.json();
    },
  );
}

/** Collects GET /api/resolutions while a phase runs (the history keeps the last 1,000). */
class ResolutionCollector {
  constructor(adminPort) {
    this.adminPort = adminPort;
    this.records = [];
    this.lastKey = null;
    this.truncated = false;
    this.failures = 0;
  }

  async poll() {
    let list;
    try {
      list = (await httpJson(this.adminPort, "/api/resolutions?limit=1000")).resolutions ?? [];
    } catch {
      this.failures++;
      return;
    }
    const keys = list.map((r) => JSON.stringify(r));
    let fresh = list;
    if (this.lastKey !== null) {
      const i = keys.indexOf(this.lastKey);
      if (i >= 0) fresh = list.slice(0, i);
      else if (list.length >= 1000) this.truncated = true;
    }
    if (keys.length) this.lastKey = keys[0];
    this.records.push(...fresh.reverse());
  }

  start(everyMs = 1000) {
    this.timer = setInterval(() => {
      this.busy ??= this.poll().finally(() => {
        this.busy = undefined;
      });
    }, everyMs);
  }

  async stop() {
    clearInterval(this.timer);
    await this.busy;
    await this.poll();
  }
}

/** dbagpt_errors_total per errorType for one protocol, from GET /metrics. */
async function recordedErrors(adminPort, protocol) {
  const r = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  const out = {};
  const re = /^dbagpt_errors_total\{([^}]*)\}\s+([0-9.e+]+)$/gm;
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (labels.protocol !== protocol) continue;
    out[labels.error_type] = (out[labels.error_type] ?? 0) + Number(m[2]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function addStats(into, s) {
  for (const [k, v] of Object.entries(s)) {
    into[k] ??= { attempts: 0, statements: 0, appErrors: 0, codes: {}, unexpected: {} };
    const t = into[k];
    t.attempts += v.attempts;
    t.statements = (t.statements ?? 0) + (v.statements ?? 0);
    t.appErrors += v.appErrors;
    for (const [c, n] of Object.entries(v.codes ?? {})) t.codes[c] = (t.codes[c] ?? 0) + n;
    for (const [c, n] of Object.entries(v.unexpected ?? {})) t.unexpected[c] = (t.unexpected[c] ?? 0) + n;
    if (v.notWaiting) t.notWaiting = (t.notWaiting ?? 0) + v.notWaiting;
    if (v.samples) t.samples = [...(t.samples ?? []), ...v.samples];
  }
}

const pct = (n, d) => (d ? `${num((100 * n) / d, n === 0 || n === d ? 0 : 1)}%` : "n/a");

/**
 * The benchmark. `pg`/`mysql`: connection settings ({host, port, user, password, database});
 * returns { table, checks, notes, errors, databases }.
 */
export async function benchResolution({
  pg: pgc,
  mysql: myc,
  distDir,
  seconds,
  clients,
  rate,
  rounds,
  seed,
  log,
}) {
  const notes = [];
  const errors = [];
  const checks = [];
  const databases = {};
  const tables = [];
  const dbs = [
    { driver: pgDriver, cfg: pgc, setup: setupPg },
    { driver: mysqlDriver, cfg: { ...myc, database: myc.database ?? "test" }, setup: setupMysql },
  ];

  for (const { driver, cfg, setup } of dbs) {
    const label = driver.label;
    const out = {
      direct: { stats: {}, seconds: 0 },
      proxy: { stats: {}, seconds: 0, resolutions: [], recorded: {}, measured: false },
      proxyNote: null,
    };
    databases[driver.name] = out;
    let helper;
    try {
      helper = await setup(cfg, { clients });
    } catch (e) {
      errors.push(`${label}: setting up the workload failed: ${e.message}`);
      tables.push(`#### ${label}\n\nnot measured: ${e.message}`);
      continue;
    }
    try {
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? ["direct", "proxy"] : ["proxy", "direct"];
        for (const target of order) {
          const runSeed = seed + round;
          if (target === "direct") {
            log(`${label}: direct, round ${round + 1}/${rounds}, ${clients} clients × ${seconds} s`);
            const r = await runWorkload({
              driver,
              cfg,
              port: cfg.port,
              clients,
              seconds,
              rate,
              seed: runSeed,
              helper,
            });
            addStats(out.direct.stats, r.stats);
            out.direct.seconds += r.elapsedS;
            continue;
          }
          let proxy;
          try {
            proxy = await startProxy({
              distDir,
              pgUpstream: `${pgc.host}:${pgc.port}`,
              mysqlUpstream: `${cfg.host}:${cfg.port}`,
            });
          } catch (e) {
            out.proxyNote = `DBA-GPT did not start: ${e.message.split("\n")[0]}`;
            errors.push(`${label}: ${out.proxyNote}`);
            break;
          }
          try {
            const port =
              driver.name === "postgres" ? proxy.pgPort : proxy.mysqlReady ? proxy.mysqlPort : null;
            if (port === null) {
              out.proxyNote =
                "DBA-GPT's MySQL port did not accept connections: the MySQL half through DBA-GPT is n/a";
              errors.push(`${label}: ${out.proxyNote}`);
              break;
            }
            log(`${label}: through DBA-GPT, round ${round + 1}/${rounds}, ${clients} clients × ${seconds} s`);
            const collector = new ResolutionCollector(proxy.adminPort);
            collector.start();
            let r;
            try {
              r = await runWorkload({ driver, cfg, port, clients, seconds, rate, seed: runSeed, helper });
            } finally {
              await collector.stop();
            }
            addStats(out.proxy.stats, r.stats);
            out.proxy.seconds += r.elapsedS;
            out.proxy.measured = true;
            out.proxy.resolutions.push(...collector.records.filter((x) => x.protocol === driver.name));
            if (collector.truncated)
              notes.push(`${label}: more than 1,000 resolutions between two polls; some were not counted`);
            try {
              const rec = await recordedErrors(proxy.adminPort, driver.name);
              for (const [k, v] of Object.entries(rec))
                out.proxy.recorded[k] = (out.proxy.recorded[k] ?? 0) + v;
            } catch (e) {
              notes.push(`${label}: GET /metrics failed: ${e.message}`);
            }
          } finally {
            await proxy.stop();
          }
        }
        if (out.proxyNote) break;
      }
    } catch (e) {
      errors.push(`${label}: ${e.message}`);
    } finally {
      await helper.end().catch(() => {});
    }
    const summary = summarize(driver, out);
    out.summary = summary.rows;
    tables.push(`#### ${label}\n\n${summary.table}`);
    checks.push(...summary.checks);
    notes.push(...summary.notes.map((n) => `${label}: ${n}`));
  }

  return { table: tables.join("\n\n"), checks, notes, errors, databases };
}

function summarize(driver, out) {
  const label = driver.label;
  const d = out.direct.stats;
  const p = out.proxy.stats;
  const measured = out.proxy.measured;
  const res = out.proxy.resolutions;
  const rows = [];
  const notes = [];
  const applied = res.filter((r) => r.outcome !== "proposed");
  for (const kind of KINDS) {
    const mine = applied.filter((r) => r.errorType === kind);
    const ok = mine.filter((r) => r.outcome === "succeeded");
    const durations = ok.map((r) => r.durationMs).filter((x) => Number.isFinite(x));
    const others = {};
    for (const r of mine) if (r.outcome !== "succeeded") others[r.outcome] = (others[r.outcome] ?? 0) + 1;
    rows.push({
      errorType: kind,
      direct: {
        attempts: d[kind]?.attempts ?? 0,
        statements: d[kind]?.statements ?? 0,
        appErrors: d[kind]?.appErrors ?? 0,
      },
      proxy: measured
        ? {
            attempts: p[kind]?.attempts ?? 0,
            statements: p[kind]?.statements ?? 0,
            appErrors: p[kind]?.appErrors ?? 0,
            recorded: out.proxy.recorded[kind] ?? 0,
            resolved: ok.length,
            otherOutcomes: others,
            p50: percentile(durations, 50),
            p99: percentile(durations, 99),
            durations: durations.length,
          }
        : null,
    });
    for (const [side, s] of [
      ["direct", d[kind]],
      ["DBA-GPT", measured ? p[kind] : null],
    ]) {
      if (s && Object.keys(s.unexpected).length)
        notes.push(`${kind} ${side}: other answers than ${kind}: ${JSON.stringify(s.unexpected)}`);
      if (s?.notWaiting)
        notes.push(
          `${kind} ${side}: ${s.notWaiting} episode(s) where the two INSERTs were not both seen waiting within 3 s`,
        );
    }
    if (Object.keys(others).length)
      notes.push(`${kind} via DBA-GPT: resolutions not succeeded: ${JSON.stringify(others)}`);
  }
  const goodD = d.GOOD ?? { attempts: 0, appErrors: 0 };
  const goodP = p.GOOD ?? { attempts: 0, appErrors: 0 };
  if (goodD.appErrors || (measured && goodP.appErrors))
    notes.push(
      `good statements that failed: direct ${goodD.appErrors} ${JSON.stringify(goodD.codes)}, DBA-GPT ${goodP.appErrors} ${JSON.stringify(goodP.codes ?? {})}`,
    );
  const extra = measured ? Object.entries(out.proxy.recorded).filter(([k]) => !KINDS.includes(k)) : [];
  if (extra.length) notes.push(`DBA-GPT also recorded: ${extra.map(([k, v]) => `${k} ${v}`).join(", ")}`);

  const na = "n/a";
  const mixOf = Object.fromEntries(SEED_MIX);
  const tableRows = rows.map((r) => {
    const stmtD = r.direct.statements;
    const x = r.proxy;
    return [
      r.errorType,
      `${mixOf[r.errorType]}%`,
      `${num(r.direct.attempts)} / ${x ? num(x.attempts) : na}`,
      `${num(r.direct.appErrors)} (${pct(r.direct.appErrors, stmtD)})`,
      x ? `${num(x.appErrors)} (${pct(x.appErrors, x.statements)})` : na,
      x ? num(x.recorded) : na,
      x ? num(x.resolved) : na,
      x && x.p50 !== null ? num(x.p50) : na,
      x && x.p99 !== null ? num(x.p99) : na,
    ];
  });
  tableRows.push([
    "good statements",
    `${num(GOOD_SHARE * 100)}% of all`,
    `${num(goodD.attempts)} / ${measured ? num(goodP.attempts) : na}`,
    `${num(goodD.appErrors)} failed`,
    measured ? `${num(goodP.appErrors)} failed` : na,
    "",
    "",
    "",
    "",
  ]);
  const table = markdownTable(
    [
      "errorType",
      "mix",
      "attempts direct / DBA-GPT",
      "app saw, direct",
      "app saw, DBA-GPT",
      "DBA-GPT recorded",
      "resolved inline",
      "p50 ms",
      "p99 ms",
    ],
    tableRows,
  );
  if (out.proxyNote) notes.push(out.proxyNote);

  // Targets.
  const checks = [];
  const dl = rows.find((r) => r.errorType === "DEADLOCK")?.proxy;
  if (dl) {
    const total = dl.resolved + dl.appErrors;
    checks.push({
      target: `${label}: 100% of autocommit deadlocks hidden from the application`,
      value: total
        ? `${num(dl.resolved)} of ${num(total)} hidden (${pct(dl.resolved, total)})`
        : "no deadlock happened",
      ok: total ? dl.appErrors === 0 : null,
    });
  } else {
    checks.push({
      target: `${label}: 100% of autocommit deadlocks hidden from the application`,
      value: "n/a (not measured through DBA-GPT)",
      ok: null,
    });
  }
  const retries = applied.filter(
    (r) => RETRY_TYPES.has(r.errorType) && r.outcome === "succeeded" && Number.isFinite(r.durationMs),
  );
  const p99 = percentile(
    retries.map((r) => r.durationMs),
    99,
  );
  const lat = (xs) => xs.map(([, ms]) => ms);
  const goodLine = (side, g) =>
    g?.samples?.length
      ? `${side} p50 ${num(percentile(lat(g.samples), 50), 1)} ms, p99 ${num(percentile(lat(g.samples), 99), 1)} ms, max ${num(Math.max(...lat(g.samples)))} ms`
      : `${side} n/a`;
  notes.push(
    `good statements at the client: ${goodLine("direct", goodD)}; ${goodLine("DBA-GPT", measured ? goodP : null)}`,
  );
  const slow = retries.filter((r) => r.durationMs >= 100 && (r.attempts ?? 1) === 1);
  if (slow.length && goodP.samples?.length) {
    // a retry that was slow while a plain SELECT of the same run was slow too: the host stalled
    const stalled = slow.filter((r) => {
      const at = Date.parse(r.at);
      return goodP.samples.some(([t, ms]) => Math.abs(t - at) <= 1500 && ms >= 50);
    });
    notes.push(
      `${slow.length} single-attempt retries took ≥ 100 ms; ${stalled.length} of them within 1.5 s of a good statement of the same run that took ≥ 50 ms, i.e. while the host was slow too (load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(", ")} at the end)`,
    );
  }
  const again = retries.filter((r) => (r.attempts ?? 1) > 1);
  if (again.length)
    notes.push(
      `${again.length} of ${retries.length} retries needed more than one attempt (the re-run met the same error again): ${again.map((r) => `${r.errorType} ${r.attempts} attempts ${r.durationMs} ms`).join(", ")}`,
    );
  checks.push({
    target: `${label}: p99 resolution time of a retry < 100 ms (seed: 10-30 s)`,
    value: retries.length
      ? `p99 ${num(p99)} ms, p50 ${num(
          percentile(
            retries.map((r) => r.durationMs),
            50,
          ),
        )} ms, max ${num(Math.max(...retries.map((r) => r.durationMs)))} ms over ${num(retries.length)} retries`
      : "no retry happened",
    ok: retries.length ? p99 < 100 : null,
  });
  return { rows, table, checks, notes };
}
