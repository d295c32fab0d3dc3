import type { ErrorType } from "../../errors/types.js";
import type { KbStep } from "./types.js";

/**
 * Generic explanations per errorType, used for every code without a hand-written entry.
 * Still three parts and still in the right dialect. The root cause is prefixed with the
 * code's own name/message by the knowledge base.
 */
export interface GenericEntry {
  rootCause: string;
  immediateSolution: KbStep[];
  prevention: string[];
}

type Dialects = { postgres: GenericEntry; mysql: GenericEntry };

const PG_ACTIVITY =
  "SELECT pid, usename, application_name, state, now() - query_start AS runtime, left(query, 80) FROM pg_stat_activity WHERE state <> 'idle' ORDER BY runtime DESC;";
const MY_ACTIVITY =
  "SELECT id, user, host, db, command, time, state, LEFT(info, 80) FROM information_schema.processlist WHERE command <> 'Sleep' ORDER BY time DESC;";

export const GENERIC: Record<ErrorType, Dialects> = {
  TABLE_NOT_FOUND: {
    postgres: {
      rootCause: "A relation the statement needs does not exist (or is not on the search_path).",
      immediateSolution: [
        {
          step: "Look for the table under a similar name in every schema",
          sql: "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name ILIKE {table:like} ORDER BY 1, 2;",
        },
        { step: "Check which schemas this session searches", sql: "SHOW search_path;" },
      ],
      prevention: ["Run migrations before deploying code that needs them", "Schema-qualify table names"],
    },
    mysql: {
      rootCause: "A table the statement needs does not exist in this database.",
      immediateSolution: [{ step: "Check available tables with a similar name", sql: "SHOW TABLES LIKE {table:like};" }],
      prevention: ["Run migrations before deploying code that needs them"],
    },
  },
  COLUMN_NOT_FOUND: {
    postgres: {
      rootCause: "A column the statement names does not exist in the table.",
      immediateSolution: [
        {
          step: "List the columns the table really has",
          sql: "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = {table:lit} ORDER BY ordinal_position;",
        },
      ],
      prevention: ["Deploy migrations before code that reads new columns"],
    },
    mysql: {
      rootCause: "A column the statement names does not exist in the table.",
      immediateSolution: [{ step: "List the columns the table really has", sql: "SHOW COLUMNS FROM {relation};" }],
      prevention: ["Deploy migrations before code that reads new columns"],
    },
  },
  DATABASE_NOT_FOUND: {
    postgres: {
      rootCause: "The database or schema named does not exist on this server.",
      immediateSolution: [
        { step: "List the databases", sql: "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1;" },
        { step: "List the schemas of this database", sql: "SELECT nspname FROM pg_namespace ORDER BY 1;" },
      ],
      prevention: ["Provision databases and schemas before deploying; validate connection settings at start-up"],
    },
    mysql: {
      rootCause: "The database named does not exist on this server, or none is selected.",
      immediateSolution: [{ step: "List the databases", sql: "SHOW DATABASES;" }],
      prevention: ["Provision databases before deploying; set the database in the connection string"],
    },
  },
  SYNTAX_ERROR: {
    postgres: {
      rootCause: "The statement is not valid as written for this server (syntax, names, types or an unsupported feature).",
      immediateSolution: [
        { step: "Read the message and the position (LINE n / caret) and correct the statement there" },
        { step: "Check the server version's documentation", sql: "SELECT version();" },
      ],
      prevention: ["Use parameterised queries", "Test SQL against the production major version in CI"],
    },
    mysql: {
      rootCause: "The statement is not valid as written for this server (syntax, names, or an unsupported feature).",
      immediateSolution: [
        { step: "Read the message (the text after 'near') and correct the statement there" },
        { step: "Check the server version's documentation", sql: "SELECT VERSION();" },
      ],
      prevention: ["Use parameterised queries", "Test SQL against the production version and sql_mode in CI"],
    },
  },
  ACCESS_DENIED: {
    postgres: {
      rootCause: "The role lacks the privilege or authentication needed for this operation.",
      immediateSolution: [
        { step: "Check the current role", sql: "SELECT current_user, session_user;" },
        {
          step: "See the privileges granted on the table involved",
          sql: "SELECT grantee, privilege_type FROM information_schema.role_table_grants WHERE table_name = {table:lit};",
        },
      ],
      prevention: ["Manage roles and grants in code; give applications least-privileged roles"],
    },
    mysql: {
      rootCause: "The account lacks the privilege or authentication needed for this operation.",
      immediateSolution: [{ step: "See what the account may do", sql: "SHOW GRANTS FOR CURRENT_USER();" }],
      prevention: ["Manage accounts and grants in code; give applications least-privileged accounts"],
    },
  },
  CONNECTION_ERROR: {
    postgres: {
      rootCause: "The connection to the server failed, was refused or was ended by the server (restart, failover, administrator, network).",
      immediateSolution: [
        { step: "Reconnect; re-run reads, and check whether writes in flight were applied before re-running them" },
        { step: "Check the server's uptime", sql: "SELECT pg_postmaster_start_time();" },
      ],
      prevention: ["Use a pool that validates and re-opens connections", "Enable TCP keepalives", "Make writes idempotent"],
    },
    mysql: {
      rootCause: "The connection to the server failed, was refused or was ended by the server (restart, failover, KILL, network, timeouts).",
      immediateSolution: [
        { step: "Reconnect; re-run reads, and check whether writes in flight were applied before re-running them" },
        { step: "Check the server's uptime and aborted connections", sql: "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime','Aborted_clients','Aborted_connects');" },
      ],
      prevention: ["Use a pool that validates and re-opens connections", "Keep pool idle timeouts below wait_timeout", "Make writes idempotent"],
    },
  },
  TOO_MANY_CONNECTIONS: {
    postgres: {
      rootCause: "A connection limit was reached (server, database or role).",
      immediateSolution: [
        { step: "See who holds the connections", sql: "SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC;" },
        { step: "Check the limit", sql: "SHOW max_connections;" },
      ],
      prevention: ["Put a pooler in front and size pools below the limit", "Alert at 80% of max_connections"],
    },
    mysql: {
      rootCause: "A connection limit was reached (server or account).",
      immediateSolution: [
        { step: "See who holds the connections", sql: "SELECT user, host, command, COUNT(*) FROM information_schema.processlist GROUP BY 1, 2, 3 ORDER BY 4 DESC;" },
        { step: "Check the limit", sql: "SHOW VARIABLES LIKE 'max%connections';" },
      ],
      prevention: ["Size pools below the limit; close idle connections", "Alert at 80% of max_connections"],
    },
  },
  DEADLOCK: {
    postgres: {
      rootCause: "Transactions waited on each other's locks and the server aborted one of them.",
      immediateSolution: [
        { step: "Retry the whole transaction from BEGIN" },
        { step: "Enable log_lock_waits to capture both sides next time", sql: "ALTER SYSTEM SET log_lock_waits = on;\nSELECT pg_reload_conf();" },
      ],
      prevention: ["Lock rows in a consistent order; keep transactions short", "Retry deadlocked transactions automatically"],
    },
    mysql: {
      rootCause: "Transactions waited on each other's locks and InnoDB rolled back one of them.",
      immediateSolution: [
        { step: "Retry the whole transaction from its start" },
        { step: "Read the latest deadlock", sql: "SHOW ENGINE INNODB STATUS;" },
      ],
      prevention: ["Lock rows in a consistent order; keep transactions short", "Retry deadlocked transactions automatically"],
    },
  },
  SERIALIZATION_FAILURE: {
    postgres: {
      rootCause: "The transaction was rolled back because it conflicted with a concurrent one; a retry with a fresh snapshot normally succeeds.",
      immediateSolution: [{ step: "Retry the whole transaction from BEGIN" }],
      prevention: ["Wrap transactions in a retry loop with backoff; keep them short"],
    },
    mysql: {
      rootCause: "The transaction conflicted with a concurrent change and must be restarted.",
      immediateSolution: [{ step: "Retry the whole transaction from its start" }],
      prevention: ["Wrap transactions in a retry loop with backoff; keep them short"],
    },
  },
  LOCK_WAIT_TIMEOUT: {
    postgres: {
      rootCause: "A lock could not be acquired in time because another transaction holds it.",
      immediateSolution: [
        {
          step: "Find blocked sessions and their blockers",
          sql: "SELECT pid, pg_blocking_pids(pid) AS blocked_by, state, left(query, 80) FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0;",
        },
      ],
      prevention: ["Keep transactions short; set idle_in_transaction_session_timeout"],
    },
    mysql: {
      rootCause: "A lock could not be acquired in time because another transaction holds it.",
      immediateSolution: [
        {
          step: "Find long-open transactions",
          sql: "SELECT trx_id, trx_mysql_thread_id, trx_started, trx_state, LEFT(trx_query, 80) FROM information_schema.innodb_trx ORDER BY trx_started;",
        },
      ],
      prevention: ["Keep transactions short; index the WHERE clauses of writes"],
    },
  },
  DUPLICATE_KEY: {
    postgres: {
      rootCause: "The write would duplicate a value that a unique index or constraint forbids.",
      immediateSolution: [{ step: "Find the existing row from the key in DETAIL; use INSERT ... ON CONFLICT if duplicates are expected" }],
      prevention: ["Use upserts and idempotency keys for writes that may be retried"],
    },
    mysql: {
      rootCause: "The write would duplicate a value that a unique key forbids.",
      immediateSolution: [
        { step: "See the unique keys", sql: "SHOW INDEX FROM {relation} WHERE Non_unique = 0;" },
        { step: "Use INSERT ... ON DUPLICATE KEY UPDATE if duplicates are expected" },
      ],
      prevention: ["Use upserts and idempotency keys for writes that may be retried"],
    },
  },
  CONSTRAINT_VIOLATION: {
    postgres: {
      rootCause: "The write breaks an integrity rule (NOT NULL, foreign key, CHECK, exclusion or a dependency).",
      immediateSolution: [
        { step: "Read DETAIL for the row and rule involved" },
        {
          step: "See the constraint's definition",
          sql: "SELECT conrelid::regclass, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = {constraint:lit};",
        },
      ],
      prevention: ["Validate data in the application with the same rules as the schema"],
    },
    mysql: {
      rootCause: "The write breaks an integrity rule (NOT NULL, foreign key, CHECK).",
      immediateSolution: [{ step: "See the table's definition and its constraints", sql: "SHOW CREATE TABLE {relation};" }],
      prevention: ["Validate data in the application with the same rules as the schema"],
    },
  },
  READ_ONLY: {
    postgres: {
      rootCause: "A write ran on a read-only server (standby) or in a read-only transaction.",
      immediateSolution: [
        { step: "Check the server and session", sql: "SELECT pg_is_in_recovery();\nSHOW transaction_read_only;" },
        { step: "Send writes to the primary (target_session_attrs=read-write)" },
      ],
      prevention: ["Route writes through a primary-following address"],
    },
    mysql: {
      rootCause: "A write ran on a read-only server (replica) or in a read-only transaction or table.",
      immediateSolution: [{ step: "Check the read-only flags", sql: "SELECT @@GLOBAL.read_only, @@SESSION.transaction_read_only;" }],
      prevention: ["Route writes through a primary-following address"],
    },
  },
  QUERY_TIMEOUT: {
    postgres: {
      rootCause: "The statement was cancelled by a timeout or a cancel request.",
      immediateSolution: [
        { step: "See the timeouts in force", sql: "SHOW statement_timeout;" },
        { step: "Find long-running statements", sql: PG_ACTIVITY },
      ],
      prevention: ["Index the predicates of slow queries", "Track slow statements with pg_stat_statements"],
    },
    mysql: {
      rootCause: "The statement was interrupted by a timeout or KILL QUERY.",
      immediateSolution: [{ step: "Find long-running statements", sql: MY_ACTIVITY }],
      prevention: ["Index the predicates of slow queries", "Enable the slow query log"],
    },
  },
  DATA_ERROR: {
    postgres: {
      rootCause: "A value is invalid for its type or operation (format, range, length, encoding).",
      immediateSolution: [
        { step: "Find the offending value in the message and validate or cast it before sending" },
        {
          step: "Check the target column types",
          sql: "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns WHERE table_name = {table:lit};",
        },
      ],
      prevention: ["Validate input at the API boundary; bind parameters with their real types"],
    },
    mysql: {
      rootCause: "A value is invalid for its column or operation (format, range, length, character set) under strict sql_mode.",
      immediateSolution: [
        { step: "Find the offending value in the message and validate it before sending" },
        { step: "Check the target column types", sql: "SHOW COLUMNS FROM {relation};" },
      ],
      prevention: ["Validate input at the API boundary; keep strict sql_mode on"],
    },
  },
  RESOURCE_EXHAUSTED: {
    postgres: {
      rootCause: "The server ran out of a resource or hit a configured or hard limit (memory, disk, locks, stack depth).",
      immediateSolution: [
        { step: "Read the server log around this time for the exhausted resource" },
        { step: "Check the main limits", sql: "SHOW work_mem;\nSHOW max_locks_per_transaction;\nSHOW max_stack_depth;" },
      ],
      prevention: ["Monitor memory, disk and connections and alert before they run out"],
    },
    mysql: {
      rootCause: "The server ran out of a resource or hit a configured limit (memory, disk, packet size, locks).",
      immediateSolution: [{ step: "Read the server's error log around this time", sql: "SHOW VARIABLES LIKE 'log_error';" }],
      prevention: ["Monitor memory, disk and connections and alert before they run out"],
    },
  },
  UNKNOWN: {
    postgres: {
      rootCause: "See the message for the specific cause; this condition is not one the proxy resolves automatically.",
      immediateSolution: [
        { step: "Read the full message, DETAIL and HINT; the server log has more context" },
        { step: "Check what else is running", sql: PG_ACTIVITY },
      ],
      prevention: ["Log the SQLSTATE with every database error so recurring conditions are visible"],
    },
    mysql: {
      rootCause: "See the message for the specific cause; this condition is not one the proxy resolves automatically.",
      immediateSolution: [
        { step: "Read the full message and any warnings", sql: "SHOW WARNINGS;" },
        { step: "Check what else is running", sql: MY_ACTIVITY },
      ],
      prevention: ["Log the error number with every database error so recurring conditions are visible"],
    },
  },
};
