/**
 * Runs one statement that passed the read-only check on the upstream, on a connection of its own,
 * inside a read-only transaction that is always rolled back, with a statement timeout and a row limit.
 * PostgreSQL: BEGIN READ ONLY + SET LOCAL statement_timeout; SELECTs are read through a cursor so at
 * most `maxRows + 1` rows ever leave the server. MySQL/MariaDB: START TRANSACTION READ ONLY with
 * max_execution_time (MySQL) or max_statement_time (MariaDB) and sql_select_limit.
 */
import mysql from "mysql2/promise";
import pg from "pg";
import type { Protocol } from "../errors/types.js";
import type { ReadOnlyKind } from "./read-only.js";

export interface ChatTarget {
  protocol: Protocol;
  host: string;
  port: number;
  user: string;
  password: string;
  /** "" = none (MySQL without a default database) */
  database: string;
}

export interface RunOptions {
  timeoutMs?: number;
  maxRows?: number;
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** more rows existed than were returned */
  truncated: boolean;
  durationMs: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_ROWS = 500;

/** JSON-safe cell values: bigints and buffers as text, dates as ISO strings, intervals as text. */
function cell(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (Buffer.isBuffer(v)) return v.length <= 64 ? `\\x${v.toString("hex")}` : `<${v.length} bytes>`;
  if (typeof v === "object") {
    // pg interval objects and arrays
    if (Array.isArray(v)) return v.map(cell);
    const toPostgres = (v as { toPostgres?: () => string }).toPostgres;
    if (typeof toPostgres === "function") return toPostgres.call(v);
    return JSON.stringify(v);
  }
  return v;
}

export async function runReadOnly(
  target: ChatTarget,
  sql: string,
  kind: ReadOnlyKind,
  opts: RunOptions = {},
): Promise<QueryResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  return target.protocol === "postgres"
    ? runPg(target, sql, kind, timeoutMs, maxRows)
    : runMysql(target, sql, timeoutMs, maxRows);
}

async function runPg(
  t: ChatTarget,
  sql: string,
  kind: ReadOnlyKind,
  timeoutMs: number,
  maxRows: number,
): Promise<QueryResult> {
  const started = Date.now();
  const c = new pg.Client({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password === "" ? undefined : t.password,
    database: t.database || "postgres",
    connectionTimeoutMillis: timeoutMs,
    application_name: "dba-gpt-chat",
    query_timeout: timeoutMs + 1000,
  });
  c.on("error", () => {}); // a dropped connection surfaces through the pending query
  await c.connect();
  try {
    await c.query("BEGIN READ ONLY");
    await c.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    let res: pg.QueryResult<unknown[]>;
    if (kind === "select") {
      await c.query(`DECLARE dbagpt_chat NO SCROLL CURSOR FOR ${sql}`);
      res = await c.query({ text: `FETCH ${maxRows + 1} FROM dbagpt_chat`, rowMode: "array" });
    } else {
      res = await c.query({ text: sql, rowMode: "array" });
    }
    const rows = res.rows.slice(0, maxRows).map((r) => r.map(cell));
    return {
      columns: res.fields.map((f) => f.name),
      rows,
      truncated: res.rows.length > maxRows,
      durationMs: Date.now() - started,
    };
  } finally {
    await c.query("ROLLBACK").catch(() => {});
    await c.end().catch(() => {});
  }
}

async function runMysql(
  t: ChatTarget,
  sql: string,
  timeoutMs: number,
  maxRows: number,
): Promise<QueryResult> {
  const started = Date.now();
  const c = await mysql.createConnection({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database || undefined,
    connectTimeout: timeoutMs,
    rowsAsArray: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    multipleStatements: false,
  });
  c.on("error", () => {});
  try {
    try {
      await c.query(`SET SESSION max_execution_time = ${Math.floor(timeoutMs)}`);
    } catch {
      // MariaDB names it max_statement_time, in seconds
      await c.query(`SET SESSION max_statement_time = ${Math.max(0.001, timeoutMs / 1000)}`);
    }
    await c.query(`SET SESSION sql_select_limit = ${maxRows + 1}`);
    await c.query("START TRANSACTION READ ONLY");
    const [rows, fields] = await c.query({ sql, timeout: timeoutMs + 1000 });
    const list = Array.isArray(rows) ? (rows as unknown[][]) : [];
    return {
      columns: (fields ?? []).map((f) => f.name),
      rows: list.slice(0, maxRows).map((r) => (Array.isArray(r) ? r.map(cell) : [cell(r)])),
      truncated: list.length > maxRows,
      durationMs: Date.now() - started,
    };
  } finally {
    await c.query("ROLLBACK").catch(() => {});
    await c.end().catch(() => {});
  }
}
