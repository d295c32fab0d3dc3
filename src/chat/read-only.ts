/**
 * The read-only gate for chat SQL (PRODUCT.md sections 5 and 7): a statement runs only when
 * node-sql-parser reads it, in the upstream's dialect, as exactly one SELECT / SHOW / DESCRIBE
 * (optionally under EXPLAIN) with no INTO, no row locks, no nested writes and no function known
 * to act on the server (kill sessions, change settings, advance sequences, touch files, sleep,
 * take advisory locks, open other connections). The runner adds a read-only transaction on top;
 * this check is the first wall, not the only one.
 */
import nodeSqlParser from "node-sql-parser";
import type { Protocol } from "../errors/types.js";

const { Parser } = nodeSqlParser;
const parser = new Parser();

export type ReadOnlyKind = "select" | "show" | "describe" | "explain";

export type ReadOnlyVerdict =
  | { ok: true; kind: ReadOnlyKind; sql: string }
  | { ok: false; reason: string; sql: string };

/** Functions with side effects, by lower-case name (schema prefixes are ignored). */
const DENIED_FUNCTIONS = new Set([
  // PostgreSQL: sessions, settings, sequences, server control
  "pg_terminate_backend",
  "pg_cancel_backend",
  "pg_reload_conf",
  "pg_rotate_logfile",
  "pg_promote",
  "pg_switch_wal",
  "pg_switch_xlog",
  "pg_create_restore_point",
  "pg_notify",
  "pg_log_backend_memory_contexts",
  "set_config",
  "nextval",
  "setval",
  "txid_current",
  "pg_current_xact_id",
  // PostgreSQL: functions that run a query string of their own
  "query_to_xml",
  "query_to_xml_and_xmlschema",
  "query_to_xmlschema",
  "cursor_to_xml",
  "database_to_xml",
  "database_to_xml_and_xmlschema",
  "schema_to_xml",
  // MySQL / MariaDB
  "sleep",
  "benchmark",
  "get_lock",
  "release_lock",
  "release_all_locks",
  "load_file",
  "master_pos_wait",
  "source_pos_wait",
  "master_gtid_wait",
  "wait_for_executed_gtid_set",
  "wait_until_sql_thread_after_gtids",
  "sys_exec",
  "sys_eval",
]);

/** Families of functions with side effects, by lower-case prefix. */
const DENIED_PREFIXES = [
  "pg_sleep",
  "pg_advisory",
  "pg_try_advisory",
  "pg_read_",
  "pg_ls_",
  "pg_stat_file",
  "pg_file_",
  "pg_stat_reset",
  "pg_create_",
  "pg_drop_",
  "pg_replication_",
  "pg_logical_",
  "pg_backup_",
  "pg_start_backup",
  "pg_stop_backup",
  "pg_import_",
  "pg_wal_replay_",
  "pg_copy_",
  "lo_",
  "dblink",
];

/** Statement node types that change something; any of them anywhere in the tree refuses the whole. */
const WRITE_TYPES = new Set([
  "insert",
  "update",
  "delete",
  "replace",
  "create",
  "drop",
  "alter",
  "truncate",
  "rename",
  "grant",
  "revoke",
  "lock",
  "unlock",
  "call",
  "set",
  "use",
  "exec",
  "execute",
  "transaction",
  "load_data",
  "merge",
  "copy",
  "comment",
  "analyze",
  "vacuum",
]);

const DIALECT: Record<Protocol, string> = { postgres: "PostgresQL", mysql: "MariaDB" };

/** EXPLAIN with its options, e.g. `EXPLAIN (ANALYZE, FORMAT JSON)`, `EXPLAIN ANALYZE VERBOSE`, `EXPLAIN FORMAT=JSON`. */
const EXPLAIN_PREFIX =
  /^explain(?:\s*\([^()]*\)|\s+(?:analyze|verbose|extended|partitions|format\s*=\s*\w+)\b)*\s+/i;

/** Whether node-sql-parser reads `sql` as SQL in `protocol`'s dialect (any statement kind). */
export function parses(protocol: Protocol, sql: string): boolean {
  try {
    parser.astify(sql.trim().replace(/;\s*$/, ""), { database: DIALECT[protocol] });
    return true;
  } catch {
    return false;
  }
}

function refuse(sql: string, reason: string): ReadOnlyVerdict {
  return { ok: false, reason, sql };
}

function functionName(node: Record<string, unknown>): string | null {
  const n = node.name;
  if (typeof n === "string") return n.toLowerCase();
  if (n && typeof n === "object") {
    const parts = (n as { name?: unknown }).name;
    if (Array.isArray(parts) && parts.length > 0) {
      const last = parts[parts.length - 1] as { value?: unknown };
      if (typeof last?.value === "string") return last.value.toLowerCase();
    }
  }
  return null;
}

function deniedFunction(name: string): boolean {
  return DENIED_FUNCTIONS.has(name) || DENIED_PREFIXES.some((p) => name.startsWith(p));
}

/** Walks every node of the tree; returns why it is not read-only, or null. */
function findWrite(node: unknown, seen = new Set<unknown>()): string | null {
  if (node === null || typeof node !== "object" || seen.has(node)) return null;
  seen.add(node);
  if (Array.isArray(node)) {
    for (const v of node) {
      const r = findWrite(v, seen);
      if (r) return r;
    }
    return null;
  }
  const o = node as Record<string, unknown>;
  const type = typeof o.type === "string" ? o.type.toLowerCase() : "";
  if (WRITE_TYPES.has(type) && ("table" in o || "keyword" in o || "name" in o || "expr" in o)) {
    return `it contains a ${type.toUpperCase()} statement`;
  }
  if (type === "function") {
    const name = functionName(o);
    if (name && deniedFunction(name)) return `it calls ${name}(), which acts on the server`;
  }
  const into = o.into as { position?: unknown; expr?: unknown } | undefined;
  if (into && typeof into === "object" && (into.position || into.expr)) {
    return "SELECT ... INTO writes its result somewhere";
  }
  if (o.locking_read) return `it takes row locks (${String(o.locking_read)})`;
  for (const [k, v] of Object.entries(o)) {
    if (k === "tableList" || k === "columnList") continue;
    const r = findWrite(v, seen);
    if (r) return r;
  }
  return null;
}

/**
 * Decide whether `sql` may run as a read-only chat query on `protocol`'s upstream.
 * The returned `sql` is the statement trimmed of whitespace and a trailing semicolon.
 */
export function checkReadOnly(protocol: Protocol, input: string): ReadOnlyVerdict {
  const sql = input.trim().replace(/;\s*$/, "").trim();
  if (sql === "") return refuse(sql, "the statement is empty");
  // MySQL runs the text of /*! ... */ and MariaDB of /*M! ... */ comments: the parser would skip them.
  if (/\/\*[M]?!/i.test(sql)) return refuse(sql, "executable comments (/*! ... */) are not allowed");
  let body = sql;
  let explain = false;
  const m = EXPLAIN_PREFIX.exec(sql);
  if (m) {
    explain = true;
    body = sql.slice(m[0].length);
  } else if (/^explain\b/i.test(sql)) {
    return refuse(sql, "EXPLAIN with options the checker does not know");
  }
  let ast: unknown;
  try {
    ast = parser.astify(body, { database: DIALECT[protocol] });
  } catch (e) {
    const first = e instanceof Error ? (e.message.split("\n")[0] ?? "") : String(e);
    return refuse(sql, `the SQL parser could not verify it as read-only (${first.slice(0, 120)})`);
  }
  const statements = Array.isArray(ast) ? ast : [ast];
  if (statements.length !== 1) return refuse(sql, "only one statement at a time");
  const stmt = statements[0] as Record<string, unknown> | undefined;
  const type = typeof stmt?.type === "string" ? stmt.type.toLowerCase() : "";
  let kind: ReadOnlyKind;
  if (type === "select") kind = "select";
  else if (type === "show" && !explain) kind = "show";
  else if ((type === "desc" || type === "describe") && !explain) kind = "describe";
  else {
    const what = type === "" ? "this statement" : `a ${type.toUpperCase()} statement`;
    return refuse(sql, `${what} is not read-only: only SELECT, SHOW, DESCRIBE and EXPLAIN may run`);
  }
  const why = findWrite(stmt);
  if (why) return refuse(sql, `not read-only: ${why}`);
  return { ok: true, kind: explain ? "explain" : kind, sql };
}
