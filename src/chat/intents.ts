/**
 * Built-in database-mode intents: the questions an operator asks most, turned into read-only SQL
 * in the upstream's dialect when no LLM is reachable. Matching is by keywords; a table named in the
 * question ("the users table", "rows in orders") is taken only when it is a plain identifier.
 */
import type { Protocol } from "../errors/types.js";

export interface Intent {
  /** stable name, e.g. "tables", "row-count" */
  name: string;
  /** what the SQL shows, one sentence for the answer */
  answer: string;
  sql: string;
}

export interface IntentContext {
  /** the database the chat session is connected to ("" or null: none chosen, MySQL) */
  database?: string | null;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
const STOP_WORDS = new Set([
  "the",
  "my",
  "a",
  "an",
  "this",
  "that",
  "all",
  "each",
  "every",
  "database",
  "db",
  "table",
  "tables",
  "schema",
  "there",
  "it",
  "in",
  "of",
  "on",
  "for",
  "from",
  "are",
  "is",
  "do",
  "does",
  "have",
  "has",
  "many",
  "much",
  "rows",
  "records",
  "entries",
]);

function quote(protocol: Protocol, name: string): string {
  const q = protocol === "postgres" ? '"' : "`";
  return name
    .split(".")
    .map((part) => q + part.replaceAll(q, q + q) + q)
    .join(".");
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''").replaceAll("\\", "\\\\")}'`;
}

/** A table the question names: "the users table", "table users", "in users", "from public.orders". */
export function tableNamed(message: string): string | null {
  const text = message.replace(/[?!.,;:]+(\s|$)/g, " ").replace(/["`'“”‘’]/g, "");
  const patterns = [
    /\b([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)\s+table\b/i,
    /\btable\s+([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)/i,
    /\b(?:in|from|of|on|for)\s+([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)\s*$/i,
    /\b(?:in|from|of|on|for)\s+([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)\b/i,
  ];
  for (const re of patterns) {
    const m = re.exec(text);
    const name = m?.[1];
    if (name && IDENT.test(name) && !STOP_WORDS.has(name.toLowerCase())) return name;
  }
  return null;
}

const has = (text: string, re: RegExp) => re.test(text);

function pgTables(): string {
  return [
    "SELECT table_schema, table_name, table_type",
    "FROM information_schema.tables",
    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg_toast%'",
    "ORDER BY table_schema, table_name",
  ].join("\n");
}

function myUserSchemas(ctx: IntentContext, column = "table_schema"): string {
  return ctx.database
    ? `${column} = DATABASE()`
    : `${column} NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')`;
}

function myTables(ctx: IntentContext): string {
  return [
    "SELECT table_schema, table_name, table_type",
    "FROM information_schema.tables",
    `WHERE ${myUserSchemas(ctx)}`,
    "ORDER BY table_schema, table_name",
  ].join("\n");
}

function pgTableFilter(table: string): string {
  const [schema, name] = table.includes(".") ? table.split(".") : [null, table];
  return schema
    ? `n.nspname = ${literal(schema)} AND c.relname = ${literal(name as string)}`
    : `c.relname = ${literal(name as string)}`;
}

function myTableFilter(ctx: IntentContext, table: string, prefix = ""): string {
  const [schema, name] = table.includes(".") ? table.split(".") : [null, table];
  const s = schema
    ? `${prefix}table_schema = ${literal(schema)}`
    : myUserSchemas(ctx, `${prefix}table_schema`);
  return `${s} AND ${prefix}table_name = ${literal(name as string)}`;
}

type Builder = (protocol: Protocol, text: string, ctx: IntentContext) => Intent | null;

/** Ordered: the first intent whose test matches wins. */
const INTENTS: { test: RegExp; build: Builder }[] = [
  {
    // "how many records are in the users table", "count rows in orders"
    test: /\b(how many|count|number of)\b.*\b(rows?|records?|entries)\b|\brow ?counts?\b|\bcount\b/i,
    build(protocol, text, ctx) {
      const table = tableNamed(text);
      if (table) {
        return {
          name: "row-count",
          answer: `Exact number of rows in ${table}.`,
          sql: `SELECT count(*) AS row_count FROM ${quote(protocol, table)}`,
        };
      }
      return protocol === "postgres"
        ? {
            name: "row-counts",
            answer: "Estimated rows per table, from the statistics collector (largest first).",
            sql: "SELECT schemaname AS table_schema, relname AS table_name, n_live_tup AS estimated_rows\nFROM pg_stat_user_tables\nORDER BY n_live_tup DESC, relname",
          }
        : {
            name: "row-counts",
            answer: "Estimated rows per table, from InnoDB statistics (largest first).",
            sql: `SELECT table_schema, table_name, table_rows AS estimated_rows\nFROM information_schema.tables\nWHERE ${myUserSchemas(ctx)} AND table_type = 'BASE TABLE'\nORDER BY table_rows DESC, table_name`,
          };
    },
  },
  {
    test: /\b(columns?|describe|structure|definition|fields?)\b/i,
    build(protocol, text, ctx) {
      const table = tableNamed(text);
      if (!table) return null;
      const name = table.split(".").pop() as string;
      return protocol === "postgres"
        ? {
            name: "columns",
            answer: `Columns of ${table}.`,
            sql: `SELECT column_name, data_type, is_nullable, column_default\nFROM information_schema.columns\nWHERE table_name = ${literal(name)}${table.includes(".") ? ` AND table_schema = ${literal(table.split(".")[0] as string)}` : ""}\nORDER BY ordinal_position`,
          }
        : {
            name: "columns",
            answer: `Columns of ${table}.`,
            sql: `SELECT column_name, column_type, is_nullable, column_default, column_key\nFROM information_schema.columns\nWHERE ${myTableFilter(ctx, table)}\nORDER BY ordinal_position`,
          };
    },
  },
  {
    test: /\bindex(es|ices)?\b/i,
    build(protocol, text, ctx) {
      const table = tableNamed(text);
      if (protocol === "postgres") {
        return {
          name: "indexes",
          answer: table
            ? `Indexes on ${table}, with how often each was used.`
            : "Indexes with their size and how often each was used (unused ones first).",
          sql: [
            "SELECT n.nspname AS table_schema, c.relname AS table_name, i.relname AS index_name,",
            "  pg_size_pretty(pg_relation_size(i.oid)) AS index_size, s.idx_scan AS scans,",
            "  pg_get_indexdef(i.oid) AS definition",
            "FROM pg_index x",
            "JOIN pg_class c ON c.oid = x.indrelid",
            "JOIN pg_class i ON i.oid = x.indexrelid",
            "JOIN pg_namespace n ON n.oid = c.relnamespace",
            "LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.oid",
            `WHERE ${table ? pgTableFilter(table) : "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"}`,
            "ORDER BY s.idx_scan ASC NULLS FIRST, c.relname, i.relname",
          ].join("\n"),
        };
      }
      return {
        name: "indexes",
        answer: table ? `Indexes on ${table}.` : "Indexes of every table.",
        sql: [
          "SELECT table_schema, table_name, index_name, non_unique,",
          "  GROUP_CONCAT(column_name ORDER BY seq_in_index) AS columns, index_type",
          "FROM information_schema.statistics",
          `WHERE ${table ? myTableFilter(ctx, table) : myUserSchemas(ctx)}`,
          "GROUP BY table_schema, table_name, index_name, non_unique, index_type",
          "ORDER BY table_schema, table_name, index_name",
        ].join("\n"),
      };
    },
  },
  {
    test: /\block(s|ing|ed)?\b|\bblock(ed|ing)?\b|\bwaiting\b/i,
    build(protocol) {
      return protocol === "postgres"
        ? {
            name: "locks",
            answer: "Sessions waiting on a lock and the sessions blocking them.",
            sql: [
              "SELECT a.pid, a.usename, a.state, pg_blocking_pids(a.pid) AS blocked_by,",
              "  a.wait_event_type, a.wait_event, now() - a.query_start AS waiting_for, left(a.query, 200) AS query",
              "FROM pg_stat_activity a",
              "WHERE cardinality(pg_blocking_pids(a.pid)) > 0 OR a.wait_event_type = 'Lock'",
              "ORDER BY a.query_start",
            ].join("\n"),
          }
        : {
            name: "locks",
            answer: "InnoDB transactions waiting on a lock or holding locks.",
            sql: [
              "SELECT trx_id, trx_state, trx_started, trx_wait_started, trx_mysql_thread_id AS thread_id,",
              "  trx_rows_locked, trx_tables_locked, LEFT(trx_query, 200) AS query",
              "FROM information_schema.innodb_trx",
              "ORDER BY trx_started",
            ].join("\n"),
          };
    },
  },
  {
    test: /\bslow(est)?\b|\blong[- ]running\b|\btaking (so )?long\b/i,
    build(protocol) {
      return protocol === "postgres"
        ? {
            name: "slow-queries",
            answer: "Statements running for more than 5 seconds, longest first.",
            sql: [
              "SELECT pid, usename, datname, state, now() - query_start AS duration, left(query, 200) AS query",
              "FROM pg_stat_activity",
              "WHERE state <> 'idle' AND pid <> pg_backend_pid() AND now() - query_start > interval '5 seconds'",
              "ORDER BY query_start",
            ].join("\n"),
          }
        : {
            name: "slow-queries",
            answer: "Statements running for more than 5 seconds, longest first.",
            sql: [
              "SELECT id, user, host, db, command, time AS seconds, state, LEFT(info, 200) AS query",
              "FROM information_schema.processlist",
              "WHERE command <> 'Sleep' AND time > 5",
              "ORDER BY time DESC",
            ].join("\n"),
          };
    },
  },
  {
    test: /\b(active|running|current)\b.*\b(quer(y|ies)|sessions?|connections?|statements?)\b|\bprocesslist\b|\bwho is connected\b|\bconnections?\b/i,
    build(protocol) {
      return protocol === "postgres"
        ? {
            name: "active-queries",
            answer: "Sessions connected now and what each is running.",
            sql: [
              "SELECT pid, usename, datname, application_name, client_addr, state,",
              "  now() - query_start AS running_for, left(query, 200) AS query",
              "FROM pg_stat_activity",
              "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
              "ORDER BY state, query_start",
            ].join("\n"),
          }
        : {
            name: "active-queries",
            answer: "Sessions connected now and what each is running.",
            sql: [
              "SELECT id, user, host, db, command, time AS seconds, state, LEFT(info, 200) AS query",
              "FROM information_schema.processlist",
              "WHERE id <> CONNECTION_ID()",
              "ORDER BY command, time DESC",
            ].join("\n"),
          };
    },
  },
  {
    test: /\b(size|sizes|big(gest)?|large(st)?|disk|space|storage)\b/i,
    build(protocol, _text, ctx) {
      return protocol === "postgres"
        ? {
            name: "sizes",
            answer: "Tables by total size on disk (data, indexes and TOAST), largest first.",
            sql: [
              "SELECT n.nspname AS table_schema, c.relname AS table_name,",
              "  pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size,",
              "  pg_size_pretty(pg_relation_size(c.oid)) AS data_size,",
              "  pg_size_pretty(pg_indexes_size(c.oid)) AS index_size",
              "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
              "WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'",
              "ORDER BY pg_total_relation_size(c.oid) DESC",
            ].join("\n"),
          }
        : {
            name: "sizes",
            answer: "Tables by size on disk (data and indexes), largest first.",
            sql: [
              "SELECT table_schema, table_name,",
              "  ROUND((data_length + index_length) / 1024 / 1024, 2) AS total_mb,",
              "  ROUND(data_length / 1024 / 1024, 2) AS data_mb, ROUND(index_length / 1024 / 1024, 2) AS index_mb",
              "FROM information_schema.tables",
              `WHERE ${myUserSchemas(ctx)} AND table_type = 'BASE TABLE'`,
              "ORDER BY data_length + index_length DESC",
            ].join("\n"),
          };
    },
  },
  {
    test: /\b(perf(ormance)?|health|analy[sz]e|stats|statistics|overview|hit ratio|cache)\b/i,
    build(protocol) {
      return protocol === "postgres"
        ? {
            name: "performance",
            answer:
              "Database-wide health figures: connections, cache hit ratio, commits vs rollbacks, deadlocks and temporary files since the statistics were last reset.",
            sql: [
              "SELECT datname AS database, numbackends AS connections,",
              "  round(100.0 * blks_hit / nullif(blks_hit + blks_read, 0), 2) AS cache_hit_pct,",
              "  xact_commit AS commits, xact_rollback AS rollbacks, deadlocks, conflicts,",
              "  temp_files, pg_size_pretty(temp_bytes) AS temp_size,",
              "  pg_size_pretty(pg_database_size(datname)) AS database_size, stats_reset",
              "FROM pg_stat_database",
              "WHERE datname = current_database()",
            ].join("\n"),
          }
        : {
            name: "performance",
            answer:
              "Server health counters: uptime, connections, slow queries, buffer pool reads vs requests, lock waits and temporary disk tables.",
            sql: [
              "SELECT variable_name, variable_value",
              "FROM information_schema.global_status",
              "WHERE variable_name IN ('UPTIME', 'THREADS_CONNECTED', 'THREADS_RUNNING', 'MAX_USED_CONNECTIONS',",
              "  'QUESTIONS', 'SLOW_QUERIES', 'INNODB_BUFFER_POOL_READ_REQUESTS', 'INNODB_BUFFER_POOL_READS',",
              "  'INNODB_ROW_LOCK_WAITS', 'INNODB_ROW_LOCK_TIME_AVG', 'CREATED_TMP_DISK_TABLES', 'ABORTED_CONNECTS')",
              "ORDER BY variable_name",
            ].join("\n"),
          };
    },
  },
  {
    test: /\bversion\b/i,
    build(protocol) {
      return {
        name: "version",
        answer: "The server's version.",
        sql: protocol === "postgres" ? "SELECT version() AS version" : "SELECT VERSION() AS version",
      };
    },
  },
  {
    test: /\bdatabases\b|\bschemas\b/i,
    build(protocol) {
      return protocol === "postgres"
        ? {
            name: "databases",
            answer: "Databases on this server with their size.",
            sql: "SELECT datname AS database, pg_size_pretty(pg_database_size(datname)) AS size\nFROM pg_database\nWHERE NOT datistemplate\nORDER BY datname",
          }
        : {
            name: "databases",
            answer: "Databases (schemas) on this server.",
            sql: "SELECT schema_name AS database, default_character_set_name AS charset\nFROM information_schema.schemata\nORDER BY schema_name",
          };
    },
  },
  {
    test: /\btables?\b|\brelations\b|\bwhat('s| is) in\b/i,
    build(protocol, _text, ctx) {
      return {
        name: "tables",
        answer: ctx.database ? `Tables in ${ctx.database}.` : "Tables in the user schemas.",
        sql: protocol === "postgres" ? pgTables() : myTables(ctx),
      };
    },
  },
];

/** The built-in intent a question matches, with its SQL in `protocol`'s dialect, or null. */
export function matchIntent(message: string, protocol: Protocol, ctx: IntentContext = {}): Intent | null {
  const text = message.trim();
  for (const { test, build } of INTENTS) {
    if (!has(text, test)) continue;
    const intent = build(protocol, text, ctx);
    if (intent) return intent;
  }
  return null;
}

/** What the built-in intents cover, for the "I did not understand" answer. */
export const INTENT_EXAMPLES = [
  "show me all tables in my database",
  "how many records are in the users table",
  "what are the columns of users",
  "show indexes on orders",
  "what are the biggest tables",
  "show active queries",
  "any slow queries?",
  "show locks",
  "analyze the performance of my database",
  "list databases",
  "server version",
];
