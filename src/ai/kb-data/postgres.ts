import type { KbEntry } from "./types.js";

/**
 * Hand-written explanations for the PostgreSQL SQLSTATEs seen most often in practice.
 * Placeholders: see ./types.ts ({relation} is schema-qualified when the schema is known).
 */
export const POSTGRES_ENTRIES: KbEntry[] = [
  // ── Class 42: syntax error or access rule violation ──────────────────────
  {
    code: "42P01",
    title: "Table or view does not exist",
    rootCause:
      "The statement references the relation {table:name}, which does not exist in any schema on the search_path of this session (it was never created, was dropped, lives in another schema or database, or its name differs in case: unquoted names are folded to lower case).",
    immediateSolution: [
      {
        step: "Look for the table under a similar name in every schema",
        sql: "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name ILIKE {table:like} ORDER BY 1, 2;",
      },
      { step: "Check which schemas this session searches", sql: "SHOW search_path;" },
      {
        step: "If the table is genuinely missing, run the migration that creates it, or create it",
        sql: "CREATE TABLE IF NOT EXISTS {relation} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  created_at timestamptz NOT NULL DEFAULT now()\n);",
      },
    ],
    prevention: [
      "Run schema migrations before deploying the application code that needs them",
      "Schema-qualify table names (schema.table) or set search_path per role: ALTER ROLE app SET search_path = app, public",
      "Add a start-up check that the tables the application needs exist",
      "Alert on repeated 42P01 errors per table so a dropped table is noticed within minutes",
    ],
  },
  {
    code: "42703",
    title: "Column does not exist",
    rootCause:
      "The statement references the column {column:name}, which the table does not have: a typo, a column renamed or dropped by a migration, a mixed-case name created with double quotes, or a string literal written in double quotes (\"abc\" is an identifier in PostgreSQL, 'abc' is a string).",
    immediateSolution: [
      {
        step: "List the columns the table really has",
        sql: "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = {table:lit} ORDER BY ordinal_position;",
      },
      {
        step: "Find columns with a similar name in any table",
        sql: "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE column_name ILIKE {column:like};",
      },
      {
        step: "If the column is genuinely missing, add it through a migration",
        sql: "ALTER TABLE {relation} ADD COLUMN {column} text;",
      },
    ],
    prevention: [
      "Deploy migrations before code that reads new columns; drop columns only after no code reads them",
      "Use single quotes for string literals; keep identifiers lower case and unquoted",
      "Run the application's queries against the migrated schema in CI",
    ],
  },
  {
    code: "42601",
    title: "Syntax error",
    rootCause:
      "PostgreSQL could not parse the statement: a typo in a keyword, a missing comma or parenthesis, a reserved word used as an identifier, MySQL-only syntax (backticks, LIMIT a,b, ON DUPLICATE KEY), or SQL built by string concatenation that produced invalid text.",
    immediateSolution: [
      { step: "Read the position in the error (LINE n and the caret): the problem is at or just before the token shown" },
      { step: "Quote reserved words used as names with double quotes, e.g. \"user\", \"order\"" },
      {
        step: "Check the statement without running it",
        sql: "PREPARE dba_gpt_check AS <your statement>; DEALLOCATE dba_gpt_check;",
      },
    ],
    prevention: [
      "Use parameterised queries instead of concatenating SQL strings",
      "Lint SQL in CI against the PostgreSQL grammar (e.g. run EXPLAIN on every query in tests)",
      "Avoid reserved words as table or column names",
    ],
  },
  {
    code: "42501",
    title: "Insufficient privilege",
    rootCause:
      "The role running the statement lacks the privilege it needs on {table:name} (or on its schema, sequence or function): the object is owned by another role and no GRANT was given, or row-level security denies it.",
    immediateSolution: [
      {
        step: "See the privileges granted on the table",
        sql: "SELECT grantee, privilege_type FROM information_schema.role_table_grants WHERE table_name = {table:lit};",
      },
      { step: "Check the current role and its memberships", sql: "SELECT current_user, session_user;" },
      {
        step: "Grant what the application needs (as the owner or a superuser)",
        sql: "GRANT USAGE ON SCHEMA {schema} TO {user};\nGRANT SELECT, INSERT, UPDATE, DELETE ON {relation} TO {user};",
      },
    ],
    prevention: [
      "Manage privileges in migrations, with ALTER DEFAULT PRIVILEGES so new tables are granted automatically",
      "Give the application a role separate from the owner role, with only the privileges it needs",
      "Alert on 42501 spikes: they often follow a deployment that created tables as another owner",
    ],
  },
  {
    code: "42P07",
    title: "Relation already exists",
    rootCause:
      "A CREATE TABLE / INDEX / VIEW / SEQUENCE names a relation {table:name} that already exists in that schema: a migration ran twice, or two objects share a name (indexes and tables share one namespace).",
    immediateSolution: [
      {
        step: "See what already exists under that name",
        sql: "SELECT n.nspname AS schema, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = {table:lit};",
      },
      { step: "Make the DDL idempotent", sql: "CREATE TABLE IF NOT EXISTS {relation} (...);" },
    ],
    prevention: [
      "Track applied migrations in a table (use a migration tool) so none runs twice",
      "Write idempotent DDL (IF NOT EXISTS) for bootstrap scripts",
    ],
  },
  {
    code: "42883",
    title: "Function or operator does not exist",
    rootCause:
      "No function or operator matches the name and argument types used. Usually the argument types differ from the declared ones (e.g. comparing integer to text, calling a function with varchar where it expects integer), an extension is not installed, or the function lives in a schema outside search_path.",
    immediateSolution: [
      {
        step: "List the functions with that name and their argument types",
        sql: "SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname ILIKE '%<function>%';",
      },
      { step: "Add explicit casts so the types match, e.g. WHERE id = $1::bigint" },
      { step: "If the function comes from an extension, install it", sql: "CREATE EXTENSION IF NOT EXISTS <extension>;" },
    ],
    prevention: [
      "Bind parameters with the column's type; avoid comparing text to numbers",
      "Install required extensions in migrations",
    ],
  },
  {
    code: "42804",
    title: "Datatype mismatch",
    rootCause:
      "An expression has a type that does not fit where it is used: inserting text into an integer or boolean column without a cast, a CASE/COALESCE mixing types, or an argument of the wrong type.",
    immediateSolution: [
      {
        step: "Check the column types the statement writes to",
        sql: "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = {table:lit} ORDER BY ordinal_position;",
      },
      { step: "Cast the value explicitly to the column's type, e.g. $1::integer or CAST(x AS numeric)" },
    ],
    prevention: ["Send parameters with the right types from the driver", "Keep DTO types and column types aligned"],
  },
  {
    code: "42702",
    title: "Ambiguous column reference",
    rootCause:
      "The column {column:name} exists in more than one table of the FROM clause (or in a PL/pgSQL variable and a column), so PostgreSQL cannot tell which one is meant.",
    immediateSolution: [{ step: "Qualify the column with its table alias, e.g. o.{column} instead of {column}" }],
    prevention: ["Always qualify columns in queries that join tables", "Prefix PL/pgSQL variables (v_, p_) so they never clash with columns"],
  },
  {
    code: "42P02",
    title: "Undefined parameter",
    rootCause:
      "The statement uses a parameter placeholder ($n) that was not supplied, often because a query string containing $1 was sent without parameters or through the simple query protocol.",
    immediateSolution: [{ step: "Pass every $n parameter with the statement, or use the extended query protocol (a parameterised query in the driver)" }],
    prevention: ["Test every query path with its parameters in CI"],
  },
  {
    code: "42710",
    title: "Object already exists",
    rootCause: "A CREATE statement names an object (role, constraint, type, trigger, extension, ...) that already exists.",
    immediateSolution: [
      { step: "Use the IF NOT EXISTS form where the command has one, or drop the old object first after checking what depends on it" },
    ],
    prevention: ["Make bootstrap DDL idempotent and track migrations so none runs twice"],
  },
  {
    code: "42P04",
    title: "Database already exists",
    rootCause: "CREATE DATABASE names the database {database:name}, which already exists.",
    immediateSolution: [
      { step: "Check the existing databases", sql: "SELECT datname FROM pg_database ORDER BY 1;" },
      { step: "Skip creation when it exists (CREATE DATABASE has no IF NOT EXISTS in PostgreSQL; check pg_database first)" },
    ],
    prevention: ["Make provisioning scripts check pg_database before CREATE DATABASE"],
  },
  {
    code: "42P06",
    title: "Schema already exists",
    rootCause: "CREATE SCHEMA names the schema {schema:name}, which already exists.",
    immediateSolution: [{ step: "Use the idempotent form", sql: "CREATE SCHEMA IF NOT EXISTS {schema};" }],
    prevention: ["Use IF NOT EXISTS in bootstrap DDL"],
  },
  {
    code: "42830",
    title: "Invalid foreign key",
    rootCause:
      "A FOREIGN KEY references columns that have no PRIMARY KEY or UNIQUE constraint on the referenced table, so PostgreSQL cannot enforce it.",
    immediateSolution: [
      { step: "Add a unique constraint on the referenced columns first", sql: "ALTER TABLE {relation} ADD CONSTRAINT <name> UNIQUE (<columns>);" },
    ],
    prevention: ["Reference primary keys in foreign keys"],
  },
  {
    code: "42P10",
    title: "Invalid column reference",
    rootCause:
      "Most often INSERT ... ON CONFLICT (cols) names columns that have no unique index or constraint, or ORDER BY in a SELECT DISTINCT uses an expression not in the select list.",
    immediateSolution: [
      {
        step: "List the unique indexes of the table and use exactly their columns in ON CONFLICT",
        sql: "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = {table:lit};",
      },
    ],
    prevention: ["Create the unique index that the upsert relies on in the same migration as the code"],
  },
  {
    code: "3F000",
    title: "Schema does not exist",
    rootCause: "The statement names the schema {schema:name}, which does not exist in this database.",
    immediateSolution: [
      { step: "List the schemas of the database", sql: "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' ORDER BY 1;" },
      { step: "Create it if it is genuinely missing", sql: "CREATE SCHEMA IF NOT EXISTS {schema};" },
    ],
    prevention: ["Create schemas in the first migration; check the database name in the connection string"],
  },
  {
    code: "3D000",
    title: "Database does not exist",
    rootCause:
      "The client asked for the database {database:name}, which does not exist on this server: a typo or wrong environment in the connection string, a database not created yet, or a mixed-case name.",
    immediateSolution: [
      { step: "List the databases on the server", sql: "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1;" },
      { step: "Create it if it is genuinely missing (as a role with CREATEDB)", sql: "CREATE DATABASE {database};" },
      { step: "Otherwise fix the database name in the application's connection string (dbname / PGDATABASE)" },
    ],
    prevention: [
      "Provision databases with infrastructure code before deploying the application",
      "Validate the connection settings at start-up and fail fast with a clear message",
    ],
  },
  {
    code: "0A000",
    title: "Feature not supported",
    rootCause: "The statement uses something this PostgreSQL version or configuration does not support (e.g. a cross-database reference db.schema.table, or an unsupported combination of options).",
    immediateSolution: [
      { step: "Check the server version", sql: "SELECT version();" },
      { step: "Rewrite the statement; for cross-database access use postgres_fdw or dblink" },
    ],
    prevention: ["Test against the same major version as production"],
  },
  // ── Class 28: invalid authorization ──────────────────────────────────────
  {
    code: "28000",
    title: "Invalid authorization specification",
    rootCause:
      "The server refused the login: no pg_hba.conf line allows this user, database and client address with the offered method (e.g. \"no pg_hba.conf entry for host\"), or the role {user:name} does not exist or cannot log in.",
    immediateSolution: [
      { step: "Check the role exists and may log in", sql: "SELECT rolname, rolcanlogin, rolvaliduntil FROM pg_roles WHERE rolname = {user:lit};" },
      { step: "Inspect the active pg_hba.conf rules", sql: "SELECT line_number, type, database, user_name, address, auth_method FROM pg_hba_file_rules;" },
      { step: "Add a matching pg_hba.conf line for the client's address and reload", sql: "SELECT pg_reload_conf();" },
    ],
    prevention: [
      "Manage roles and pg_hba.conf with configuration management and review changes",
      "Alert on repeated authentication failures (they also reveal brute-force attempts)",
    ],
  },
  {
    code: "28P01",
    title: "Password authentication failed",
    rootCause:
      "The password given for {user:name} is wrong, expired (VALID UNTIL), or stored with a different method (md5 vs scram-sha-256) than pg_hba.conf requires.",
    immediateSolution: [
      { step: "Check the role and password expiry", sql: "SELECT rolname, rolcanlogin, rolvaliduntil FROM pg_roles WHERE rolname = {user:lit};" },
      { step: "Reset the password (as a superuser) and update the application's secret", sql: "ALTER ROLE {user} WITH PASSWORD '<new password>';" },
      { step: "Check password_encryption matches pg_hba.conf's method", sql: "SHOW password_encryption;" },
    ],
    prevention: [
      "Keep credentials in a secret manager and rotate them with a dual-password window",
      "Use scram-sha-256 everywhere",
      "Alert on authentication failure spikes",
    ],
  },
  // ── Class 08: connection exception ───────────────────────────────────────
  {
    code: "08000",
    title: "Connection exception",
    rootCause: "The connection to the server failed or broke in a way the server or client could not classify further (network problem, server restart, proxy or firewall closing the socket).",
    immediateSolution: [
      { step: "Reconnect; re-run only reads or statements known not to have been executed" },
      { step: "Check the server is up and accepting connections", sql: "SELECT pg_postmaster_start_time(), now();" },
    ],
    prevention: [
      "Use a connection pool with health checks and reconnect-on-failure",
      "Enable TCP keepalives (tcp_keepalives_idle) so dead connections are detected",
    ],
  },
  {
    code: "08003",
    title: "Connection does not exist",
    rootCause: "The client used a connection that was already closed (by the application, the pool, an idle timeout, or the server).",
    immediateSolution: [{ step: "Open a new connection; make the pool validate connections before handing them out" }],
    prevention: ["Configure the pool's idle timeout below the server's and any firewall's idle timeouts", "Never share one connection between concurrent tasks"],
  },
  {
    code: "08006",
    title: "Connection failure",
    rootCause:
      "The connection broke while in use: the server process terminated (crash, OOM kill, restart, failover), or the network dropped the TCP session. Statements in flight have an unknown outcome.",
    immediateSolution: [
      { step: "Reconnect; re-run reads; for writes, check whether they were applied before retrying" },
      { step: "Look for a crash or restart in the server log and uptime", sql: "SELECT pg_postmaster_start_time();" },
    ],
    prevention: [
      "Make writes idempotent (unique request keys) so a retry after a lost connection is safe",
      "Monitor server restarts and OOM kills; size work_mem and max_connections to the memory",
    ],
    retry: { safe: true, when: "autocommit", note: "Reads may be re-run on a new connection; a write in flight has an unknown outcome and must not be replayed blindly." },
  },
  {
    code: "08001",
    title: "Unable to connect",
    rootCause:
      "The client could not establish a connection: the server is down or restarting, the host/port is wrong, a firewall blocks it, or DNS does not resolve.",
    immediateSolution: [
      { step: "Check the server is running and listening (pg_isready -h <host> -p <port>)" },
      { step: "Check listen_addresses and port on the server", sql: "SHOW listen_addresses;\nSHOW port;" },
    ],
    prevention: ["Retry connection attempts with backoff at start-up", "Monitor server availability and alert on downtime"],
    retry: { safe: true, when: "any", note: "Nothing ran on the server; retry the connection with backoff." },
  },
  {
    code: "08004",
    title: "Server rejected the connection",
    rootCause: "The server refused to establish the session (e.g. it is shutting down, in recovery without hot_standby, or a protocol/SSL requirement is not met).",
    immediateSolution: [
      { step: "Read the full server message; check SSL requirements (sslmode) and whether the server is in recovery", sql: "SELECT pg_is_in_recovery();" },
    ],
    prevention: ["Match client sslmode to the server's pg_hba.conf (hostssl vs host)", "Connect to the primary through a service address that follows failover"],
    retry: { safe: true, when: "any", note: "Nothing ran; retry the connection with backoff once the server accepts connections." },
  },
  {
    code: "08P01",
    title: "Protocol violation",
    rootCause: "Client and server disagreed on the wire protocol: a driver bug, a message sent in the wrong state, mismatched parameter counts, or a non-PostgreSQL client talking to the port.",
    immediateSolution: [{ step: "Upgrade the driver; check the statement's parameter count matches the values bound" }],
    prevention: ["Keep client drivers current", "Do not point other protocols (HTTP, MySQL) at the PostgreSQL port"],
  },
  // ── Class 57: operator intervention ──────────────────────────────────────
  {
    code: "57P01",
    title: "Terminating connection due to administrator command",
    rootCause:
      "The server ended this session: an administrator called pg_terminate_backend(), the server is shutting down (fast shutdown), or a failover/restart is in progress.",
    immediateSolution: [
      { step: "Reconnect; re-run the transaction from its start if it was not committed" },
      { step: "Check who terminated sessions recently in the server log (log_connections / log_disconnections)" },
    ],
    prevention: [
      "Use a pool that reconnects transparently and retries idempotent work",
      "Schedule restarts; drain applications before maintenance",
    ],
    retry: { safe: true, when: "autocommit", note: "The session was ended; uncommitted work was rolled back. Reads may be re-run on a new connection; re-run writes only if they did not commit." },
  },
  {
    code: "57P02",
    title: "Crash shutdown",
    rootCause: "Another server process crashed, so the postmaster terminated every session to reinitialise shared memory. The real cause is in the server log just before this message (segfault, OOM kill).",
    immediateSolution: [
      { step: "Reconnect once the server has recovered" },
      { step: "Find the crashing process in the server log and the kernel log (dmesg for the OOM killer)" },
    ],
    prevention: ["Avoid memory overcommit (vm.overcommit_memory=2) and size work_mem conservatively", "Keep the server on a current minor release"],
    retry: { safe: true, when: "autocommit", note: "All sessions were reset; reads may be re-run after reconnecting, uncommitted writes must be re-run as whole transactions." },
  },
  {
    code: "57P03",
    title: "Cannot connect now",
    rootCause: "The server is starting up, shutting down, or in crash recovery and does not accept connections yet (\"the database system is starting up\").",
    immediateSolution: [
      { step: "Wait and retry the connection with backoff" },
      { step: "Check the recovery progress in the server log" },
    ],
    prevention: ["Make readiness probes wait for the database", "Retry connection attempts with backoff"],
    retry: { safe: true, when: "any", note: "Nothing ran; retry the connection with backoff." },
  },
  {
    code: "57014",
    title: "Query canceled",
    rootCause:
      "The statement was cancelled: it exceeded statement_timeout (\"canceling statement due to statement timeout\"), lock_timeout, or someone called pg_cancel_backend() / the client sent a cancel request.",
    immediateSolution: [
      { step: "See the timeouts in force for this session", sql: "SHOW statement_timeout;\nSHOW lock_timeout;" },
      { step: "Find what is slow: run the query with EXPLAIN (ANALYZE, BUFFERS) on a copy of the data" },
      {
        step: "Look for long-running or blocked statements",
        sql: "SELECT pid, now() - query_start AS runtime, wait_event_type, state, left(query, 80) FROM pg_stat_activity WHERE state <> 'idle' ORDER BY runtime DESC;",
      },
    ],
    prevention: [
      "Index the predicates of slow queries; paginate big reads",
      "Set statement_timeout per role (ALTER ROLE app SET statement_timeout = '5s') and raise it only for batch jobs",
      "Track slow statements with pg_stat_statements",
    ],
  },
  // ── Class 53: insufficient resources ─────────────────────────────────────
  {
    code: "53300",
    title: "Too many connections",
    rootCause:
      "The server reached max_connections (minus superuser_reserved_connections), or the role/database reached its CONNECTION LIMIT. Usually pools sized too large across many application instances, or leaked connections.",
    immediateSolution: [
      { step: "See who holds the connections", sql: "SELECT usename, application_name, client_addr, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC;" },
      { step: "Check the limit", sql: "SHOW max_connections;" },
      {
        step: "End sessions idle in transaction for a long time (after checking them)",
        sql: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND state_change < now() - interval '10 minutes';",
      },
    ],
    prevention: [
      "Put a pooler (PgBouncer, or this proxy) in front and size pools: instances x pool size < max_connections",
      "Set idle_in_transaction_session_timeout to reclaim leaked sessions",
      "Alert when connections exceed 80% of max_connections",
    ],
    retry: { safe: true, when: "any", note: "The connection was refused before anything ran; retry with backoff." },
  },
  {
    code: "53000",
    title: "Insufficient resources",
    rootCause: "The server lacks a resource it needs for this operation (shared memory, locks, slots).",
    immediateSolution: [{ step: "Read the full message and DETAIL for the exhausted resource; check the server log" }],
    prevention: ["Monitor server resources (memory, disk, connections, locks) and alert before they run out"],
  },
  {
    code: "53100",
    title: "Disk full",
    rootCause: "The server could not write a file because the filesystem is full (data directory, WAL, or temp files from big sorts and hashes).",
    immediateSolution: [
      { step: "Find the biggest databases", sql: "SELECT datname, pg_size_pretty(pg_database_size(datname)) FROM pg_database ORDER BY pg_database_size(datname) DESC;" },
      { step: "Check for inactive replication slots that retain WAL", sql: "SELECT slot_name, active, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) AS retained FROM pg_replication_slots;" },
      { step: "Free space (remove old logs, drop unused slots) or grow the volume; never delete files in pg_wal by hand" },
    ],
    prevention: [
      "Alert at 80% disk usage, separately for data, WAL and temp",
      "Set temp_file_limit and max_slot_wal_keep_size",
    ],
  },
  {
    code: "53200",
    title: "Out of memory",
    rootCause: "A server process could not allocate memory: work_mem x sort/hash nodes x sessions exceeded RAM, or a huge IN list / array / result was built in memory.",
    immediateSolution: [
      { step: "Check memory settings", sql: "SHOW work_mem;\nSHOW maintenance_work_mem;\nSHOW shared_buffers;" },
      { step: "Lower work_mem for the session running the query or rewrite it to process rows in batches", sql: "SET work_mem = '16MB';" },
    ],
    prevention: ["Size work_mem against max_connections and RAM", "Use a pooler to cap concurrent sessions", "Monitor memory and OOM events"],
  },
  {
    code: "53400",
    title: "Configuration limit exceeded",
    rootCause: "A configured limit was reached, e.g. max_locks_per_transaction (\"out of shared memory\" while locking many partitions), max_prepared_transactions or max_files_per_process.",
    immediateSolution: [
      { step: "Check the lock-related limits", sql: "SHOW max_locks_per_transaction;\nSHOW max_connections;" },
      { step: "Raise the limit in postgresql.conf (needs a restart) or touch fewer objects per transaction" },
    ],
    prevention: ["Keep partition counts and objects per transaction bounded", "Review limits when the schema grows"],
  },
  // ── Class 40: transaction rollback ───────────────────────────────────────
  {
    code: "40P01",
    title: "Deadlock detected",
    rootCause:
      "Two or more transactions each held a lock the other needed, so PostgreSQL aborted one of them (this one). Typically the transactions update the same rows or tables in different orders.",
    immediateSolution: [
      { step: "Retry the whole transaction from BEGIN (the server already rolled it back)" },
      {
        step: "See current lock waits to find the conflicting statements",
        sql: "SELECT pid, pg_blocking_pids(pid) AS blocked_by, wait_event_type, left(query, 80) FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0;",
      },
      { step: "Enable log_lock_waits to capture both sides of future deadlocks", sql: "ALTER SYSTEM SET log_lock_waits = on;\nSELECT pg_reload_conf();" },
    ],
    prevention: [
      "Touch rows and tables in one consistent order in every transaction (e.g. sort by primary key)",
      "Keep transactions short; do no network calls inside them",
      "Lock up front with SELECT ... FOR UPDATE in a consistent order",
      "Retry deadlocked transactions automatically with jittered backoff",
    ],
  },
  {
    code: "40001",
    title: "Serialization failure",
    rootCause:
      "Under REPEATABLE READ or SERIALIZABLE isolation the transaction conflicted with a concurrent one (\"could not serialize access due to concurrent update\" / \"read/write dependencies\"), so the server rolled it back. It is expected behaviour that the application must handle by retrying.",
    immediateSolution: [
      { step: "Retry the whole transaction from BEGIN" },
      { step: "Check the isolation level in use", sql: "SHOW default_transaction_isolation;" },
    ],
    prevention: [
      "Wrap serializable transactions in a retry loop with backoff",
      "Keep serializable transactions short and touching few rows; declare read-only ones READ ONLY",
    ],
  },
  {
    code: "40002",
    title: "Transaction integrity constraint violation",
    rootCause: "A deferred constraint failed at COMMIT, so the whole transaction was rolled back.",
    immediateSolution: [{ step: "Find the deferred constraint in the message; fix the data so it holds at commit, then re-run the transaction" }],
    prevention: ["Validate related rows before committing; keep deferred constraints few and documented"],
  },
  {
    code: "25P02",
    title: "Current transaction is aborted",
    rootCause:
      "An earlier statement in this transaction failed, so PostgreSQL ignores every further command until ROLLBACK. The real error is the first one in the transaction; this one is only a consequence.",
    immediateSolution: [
      { step: "Roll back the transaction, then fix the first error and re-run", sql: "ROLLBACK;" },
      { step: "To continue after an expected error, wrap the statement in a savepoint", sql: "SAVEPOINT s1;\n-- statement that may fail\nROLLBACK TO SAVEPOINT s1;" },
    ],
    prevention: [
      "Always roll back in the error path of the application's transaction helper",
      "Log the first error of a transaction, not only the last",
    ],
  },
  {
    code: "25006",
    title: "Read-only SQL transaction",
    rootCause:
      "A write ran in a read-only context: the session is connected to a hot standby (replica, or a former primary after failover), default_transaction_read_only is on, or the transaction was started READ ONLY.",
    immediateSolution: [
      { step: "Check whether this server is a standby and whether read-only is set", sql: "SELECT pg_is_in_recovery();\nSHOW default_transaction_read_only;\nSHOW transaction_read_only;" },
      { step: "Send writes to the primary (target_session_attrs=read-write in the connection string)" },
    ],
    prevention: [
      "Connect writers with target_session_attrs=read-write or through a primary-following service address",
      "Split read and write pools explicitly in the application",
    ],
    retry: { safe: true, when: "autocommit", note: "The write did not run; it may be re-run after reconnecting to the primary, not on the same standby." },
  },
  {
    code: "25001",
    title: "Active SQL transaction",
    rootCause: "A command that cannot run inside a transaction block (CREATE DATABASE, VACUUM, CREATE INDEX CONCURRENTLY, ALTER SYSTEM) was run inside one, or BEGIN was issued twice.",
    immediateSolution: [{ step: "Run the command outside BEGIN ... COMMIT (autocommit), e.g. as its own migration step" }],
    prevention: ["Mark such migrations as non-transactional in the migration tool"],
  },
  {
    code: "55P03",
    title: "Lock not available",
    rootCause:
      "The statement could not get a lock in time: NOWAIT or SKIP LOCKED semantics, or lock_timeout expired while another transaction held a conflicting lock on {table:name} (often a long transaction or a DDL waiting in the queue).",
    immediateSolution: [
      {
        step: "Find the sessions blocking others",
        sql: "SELECT pid, pg_blocking_pids(pid) AS blocked_by, now() - xact_start AS xact_age, state, left(query, 80) FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0 OR pid IN (SELECT unnest(pg_blocking_pids(pid)) FROM pg_stat_activity);",
      },
      { step: "Retry the statement once the blocker finished; end the blocker only after checking what it is", sql: "SELECT pg_cancel_backend(<pid>);" },
    ],
    prevention: [
      "Keep transactions short; set idle_in_transaction_session_timeout",
      "Run DDL with a short lock_timeout and retry, so it never queues behind long transactions",
    ],
  },
  {
    code: "55006",
    title: "Object in use",
    rootCause: "The object is used by other sessions, e.g. DROP DATABASE while clients are connected to {database:name}.",
    immediateSolution: [
      { step: "See who is connected", sql: "SELECT pid, usename, application_name FROM pg_stat_activity WHERE datname = {database:lit};" },
      { step: "On PostgreSQL 13+, force it (ends those sessions)", sql: "DROP DATABASE {database} WITH (FORCE);" },
    ],
    prevention: ["Stop the applications using a database before dropping or renaming it"],
  },
  // ── Class 23: integrity constraint violation ─────────────────────────────
  {
    code: "23505",
    title: "Unique violation",
    rootCause:
      "The row would duplicate a value in a unique index or primary key {constraint:name}: the same business key was inserted twice (concurrent requests, retries that are not idempotent), or a serial sequence is behind the data after a manual import.",
    immediateSolution: [
      { step: "Find the existing row with the key shown in DETAIL (Key (...)=(...))", sql: "SELECT * FROM {relation} WHERE <key column> = <value>;" },
      { step: "Make the write an upsert if duplicates are expected", sql: "INSERT INTO {relation} (...) VALUES (...)\nON CONFLICT ON CONSTRAINT {constraint} DO NOTHING;" },
      {
        step: "If the primary key sequence fell behind the data, move it past the maximum",
        sql: "SELECT setval(pg_get_serial_sequence({relation:lit}, 'id'), (SELECT max(id) FROM {relation}));",
      },
    ],
    prevention: [
      "Use INSERT ... ON CONFLICT for idempotent writes",
      "Give client requests idempotency keys so retries do not insert twice",
      "Reset sequences after bulk imports that set ids explicitly",
    ],
  },
  {
    code: "23502",
    title: "Not-null violation",
    rootCause: "The statement writes NULL into {column:name} of {table:name}, which is declared NOT NULL: the application omitted the column, or the column has no DEFAULT.",
    immediateSolution: [
      {
        step: "See the column's definition and default",
        sql: "SELECT column_name, is_nullable, column_default FROM information_schema.columns WHERE table_name = {table:lit} AND column_name = {column:lit};",
      },
      { step: "Supply a value, or give the column a default", sql: "ALTER TABLE {relation} ALTER COLUMN {column} SET DEFAULT <value>;" },
    ],
    prevention: ["Validate required fields in the application", "Add new NOT NULL columns with a DEFAULT"],
  },
  {
    code: "23503",
    title: "Foreign key violation",
    rootCause:
      "The write breaks the foreign key {constraint:name}: inserting a child row whose parent does not exist, or deleting/updating a parent row that child rows still reference.",
    immediateSolution: [
      { step: "Read DETAIL for the key and table involved (Key (...)=(...) is not present in table / is still referenced from table)" },
      {
        step: "See the constraint's definition",
        sql: "SELECT conrelid::regclass AS child, confrelid::regclass AS parent, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = {constraint:lit};",
      },
      { step: "Insert the parent first, or delete the children first (or declare ON DELETE CASCADE if that is the intended semantics)" },
    ],
    prevention: ["Write parents before children in one transaction", "Decide ON DELETE behaviour explicitly per foreign key"],
  },
  {
    code: "23514",
    title: "Check violation",
    rootCause: "The row fails the CHECK constraint {constraint:name} of {table:name}: the value is outside the allowed range or set.",
    immediateSolution: [
      { step: "Read the constraint's rule", sql: "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = {constraint:lit};" },
      { step: "Fix the value in the application, or change the rule through a migration if it is wrong" },
    ],
    prevention: ["Mirror check constraints in application validation", "Document allowed values next to the constraint"],
  },
  {
    code: "23P01",
    title: "Exclusion violation",
    rootCause: "The row conflicts with an existing row under the exclusion constraint {constraint:name} (e.g. overlapping time ranges for the same resource).",
    immediateSolution: [
      { step: "Read the constraint definition and DETAIL for the conflicting key", sql: "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = {constraint:lit};" },
      { step: "Find the overlapping row and resolve the conflict (shorten, move or reject the new range)" },
    ],
    prevention: ["Check availability in the same transaction that inserts, and handle 23P01 as a business conflict"],
  },
  // ── Class 22: data exception ─────────────────────────────────────────────
  {
    code: "22012",
    title: "Division by zero",
    rootCause: "An expression divided by zero for at least one row.",
    immediateSolution: [{ step: "Guard the divisor with NULLIF so the result becomes NULL", sql: "SELECT a / NULLIF(b, 0) FROM {relation};" }],
    prevention: ["Use NULLIF(divisor, 0) in ratios; add a CHECK (divisor <> 0) where zero is invalid"],
  },
  {
    code: "22P02",
    title: "Invalid text representation",
    rootCause: "A string could not be converted to the target type (e.g. 'abc' to integer, a malformed UUID or boolean), often an unvalidated parameter or an empty string sent for a number.",
    immediateSolution: [
      { step: "Find the bad value in the message (invalid input syntax for type ...: \"...\") and validate it before sending" },
      { step: "Bind parameters with their real type instead of text" },
    ],
    prevention: ["Validate input types at the API boundary", "Send NULL, not an empty string, for missing numbers"],
  },
  {
    code: "22001",
    title: "String data right truncation",
    rootCause: "A value is longer than the column's declared length (\"value too long for type character varying(n)\").",
    immediateSolution: [
      { step: "Find the column's limit", sql: "SELECT column_name, character_maximum_length FROM information_schema.columns WHERE table_name = {table:lit} AND character_maximum_length IS NOT NULL;" },
      { step: "Shorten the value, or widen the column (text has no limit in PostgreSQL)", sql: "ALTER TABLE {relation} ALTER COLUMN {column} TYPE text;" },
    ],
    prevention: ["Validate lengths in the application with the same limits as the schema", "Prefer text with a CHECK (length(x) <= n) for easy changes"],
  },
  {
    code: "22003",
    title: "Numeric value out of range",
    rootCause: "A number does not fit the target type (integer overflow, numeric precision), e.g. a serial id past 2^31-1 or a computed sum overflowing integer.",
    immediateSolution: [
      { step: "Widen the column type if the values are legitimate", sql: "ALTER TABLE {relation} ALTER COLUMN {column} TYPE bigint;" },
      { step: "Cast computations to bigint or numeric before they overflow, e.g. sum(x::bigint)" },
    ],
    prevention: ["Use bigint for ids and counters", "Monitor sequences approaching their maximum"],
  },
  {
    code: "22007",
    title: "Invalid datetime format",
    rootCause: "A string could not be parsed as a date/time (wrong format, or ambiguous under the current DateStyle).",
    immediateSolution: [
      { step: "Check the session's DateStyle", sql: "SHOW DateStyle;" },
      { step: "Send ISO 8601 (YYYY-MM-DD HH:MM:SS+TZ) or use to_timestamp(value, 'format')" },
    ],
    prevention: ["Always exchange dates in ISO 8601 and bind them as timestamps, not text"],
  },
  {
    code: "22008",
    title: "Datetime field overflow",
    rootCause: "A date/time field is out of range (month 13, day 45, hour 25), or the value is ambiguous under DateStyle (day and month swapped).",
    immediateSolution: [
      { step: "Check DateStyle and the value's order of day and month", sql: "SHOW DateStyle;" },
      { step: "Validate the date in the application, or parse it explicitly with to_date(value, 'YYYY-MM-DD')" },
    ],
    prevention: ["Use ISO 8601 dates everywhere; validate dates at the API boundary"],
  },
  {
    code: "22021",
    title: "Character not in repertoire",
    rootCause: "The text contains bytes invalid in the database encoding (e.g. invalid UTF-8, or a NUL byte 0x00).",
    immediateSolution: [
      { step: "Check client and server encodings", sql: "SHOW client_encoding;\nSHOW server_encoding;" },
      { step: "Clean the input (strip NUL bytes, convert to UTF-8) before sending" },
    ],
    prevention: ["Set client_encoding explicitly in the driver", "Validate text encoding at ingestion"],
  },
  {
    code: "22023",
    title: "Invalid parameter value",
    rootCause: "A function or command received an argument outside what it accepts (e.g. an unknown time zone, an invalid setting value).",
    immediateSolution: [{ step: "Read the message for the parameter and allowed values, and fix the value" }],
    prevention: ["Validate configuration values before applying them"],
  },
  {
    code: "21000",
    title: "Cardinality violation",
    rootCause: "A scalar subquery returned more than one row, or an INSERT ... ON CONFLICT DO UPDATE would change the same row twice in one statement.",
    immediateSolution: [
      { step: "Make the subquery return at most one row (add a precise WHERE, LIMIT 1, or an aggregate)" },
      { step: "For upserts, de-duplicate the input rows by the conflict key first" },
    ],
    prevention: ["Back single-row assumptions with unique constraints"],
  },
  // ── Session timeouts, completion unknown, limits, I/O ────────────────────
  {
    code: "25P03",
    title: "Idle-in-transaction session timeout",
    rootCause:
      "The session sat inside an open transaction for longer than idle_in_transaction_session_timeout, so the server ended it and rolled the transaction back. The application opened a transaction and then did something slow (a network call, user input) or forgot to commit.",
    immediateSolution: [
      { step: "Reconnect and re-run the whole transaction from BEGIN; nothing of it was committed" },
      { step: "Check the timeout in force", sql: "SHOW idle_in_transaction_session_timeout;" },
      {
        step: "Find sessions that idle inside transactions now",
        sql: "SELECT pid, usename, application_name, now() - state_change AS idle_for FROM pg_stat_activity WHERE state = 'idle in transaction' ORDER BY idle_for DESC;",
      },
    ],
    prevention: [
      "Commit or roll back before any slow work; never hold a transaction open across network calls",
      "Make the pool roll back and reset connections it gets back",
    ],
    retry: { safe: true, when: "autocommit", note: "The transaction was rolled back and the session ended: re-run the whole transaction on a new connection." },
  },
  {
    code: "57P05",
    title: "Idle session timeout",
    rootCause: "The connection was idle (outside a transaction) for longer than idle_session_timeout, so the server closed it; the client then used the dead connection.",
    immediateSolution: [
      { step: "Reconnect; nothing was lost" },
      { step: "Check the timeout in force", sql: "SHOW idle_session_timeout;" },
    ],
    prevention: ["Set the pool's idle timeout below idle_session_timeout, or validate connections before use"],
    retry: { safe: true, when: "any", note: "The statement never ran on the closed session; re-run it on a new connection." },
  },
  {
    code: "40003",
    title: "Statement completion unknown",
    rootCause: "The server could not tell whether the statement (typically a COMMIT) completed, e.g. because the connection to a remote participant was lost.",
    immediateSolution: [
      { step: "Check whether the change is present before re-running anything; treat the outcome as unknown" },
      { step: "For two-phase commits, look for prepared transactions left behind", sql: "SELECT gid, prepared, owner, database FROM pg_prepared_xacts;" },
    ],
    prevention: ["Make writes idempotent (unique request keys) so an unknown outcome can be resolved by re-checking"],
    retry: { safe: false, when: "never", note: "The outcome is unknown; re-running a write could apply it twice." },
  },
  {
    code: "42701",
    title: "Duplicate column",
    rootCause: "ALTER TABLE ADD COLUMN or CREATE TABLE defines the column {column:name} twice, typically a migration applied twice.",
    immediateSolution: [
      {
        step: "Check the current columns",
        sql: "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = {table:lit} ORDER BY ordinal_position;",
      },
      { step: "Use the idempotent form", sql: "ALTER TABLE {relation} ADD COLUMN IF NOT EXISTS {column} text;" },
    ],
    prevention: ["Track applied migrations so none runs twice"],
  },
  {
    code: "42846",
    title: "Cannot coerce",
    rootCause: "An explicit or implicit cast between two types is not possible (e.g. integer to boolean in a context PostgreSQL will not convert, or a column type change without USING).",
    immediateSolution: [
      { step: "Convert with an expression, e.g. ALTER COLUMN ... TYPE ... USING", sql: "ALTER TABLE {relation} ALTER COLUMN {column} TYPE integer USING {column}::text::integer;" },
    ],
    prevention: ["Test type-changing migrations on a copy of production data"],
  },
  {
    code: "42P18",
    title: "Indeterminate datatype",
    rootCause: "PostgreSQL cannot infer the type of a parameter ($1) from its context, e.g. SELECT $1 or $1 IS NULL with no other hint.",
    immediateSolution: [{ step: "Cast the parameter explicitly, e.g. $1::text or $1::integer" }],
    prevention: ["Cast parameters whose type the query does not imply"],
  },
  {
    code: "54000",
    title: "Program limit exceeded",
    rootCause: "A hard limit of PostgreSQL was hit: an index row too big (over about 2,700 bytes for a btree), too many columns, or an identifier or array too long.",
    immediateSolution: [
      { step: "Read the message for the limit; for large values in a btree index, index a hash or prefix instead", sql: "CREATE INDEX ON {relation} (md5({column}));" },
    ],
    prevention: ["Do not btree-index unbounded text; validate value sizes"],
  },
  {
    code: "54001",
    title: "Statement too complex",
    rootCause: "The statement is too deeply nested for the configured stack (\"stack depth limit exceeded\"), e.g. a huge generated expression or a recursive function without an end.",
    immediateSolution: [
      { step: "Check the limit", sql: "SHOW max_stack_depth;" },
      { step: "Simplify the statement (use = ANY($1) with an array instead of thousands of OR terms) or fix the recursion" },
    ],
    prevention: ["Pass long value lists as arrays or temporary tables, not as generated SQL"],
  },
  {
    code: "55000",
    title: "Object not in prerequisite state",
    rootCause: "The object is not in the state the command needs, e.g. currval() before nextval() in this session, a replication slot in use, or logical decoding without wal_level=logical.",
    immediateSolution: [{ step: "Read the message for which state is expected; for currval, call nextval first or use INSERT ... RETURNING id" }],
    prevention: ["Use RETURNING to get generated keys instead of currval/lastval"],
  },
  {
    code: "58030",
    title: "I/O error",
    rootCause: "The operating system reported an I/O error to PostgreSQL while reading or writing a file: failing disk, full or read-only filesystem, or permissions.",
    immediateSolution: [
      { step: "Read the server log and the kernel log (dmesg) for the failing device or file" },
      { step: "Check the data directory", sql: "SHOW data_directory;" },
    ],
    prevention: ["Monitor disk health and free space", "Keep tested backups and a replica to fail over to"],
  },
  // ── Class 2B / XX ─────────────────────────────────────────────────────────
  {
    code: "2BP01",
    title: "Dependent objects still exist",
    rootCause: "DROP would leave other objects (views, foreign keys, functions) pointing at {table:name}.",
    immediateSolution: [
      { step: "List what depends on it (the DETAIL lists them), drop or change those first; CASCADE drops them all - use only on purpose", sql: "DROP TABLE {relation};  -- after removing dependants; DROP ... CASCADE removes them too" },
    ],
    prevention: ["Review dependencies in migrations that drop objects"],
  },
  {
    code: "XX000",
    title: "Internal error",
    rootCause: "PostgreSQL hit an unexpected internal condition (a bug, or corruption such as \"could not read block\" / \"cache lookup failed\").",
    immediateSolution: [
      { step: "Read the server log around this time for the full context" },
      { step: "If it mentions blocks or relations, check for corruption (amcheck) and your backups" },
    ],
    prevention: ["Run the latest minor release", "Enable data checksums; test restores of backups regularly"],
  },
  {
    code: "XX001",
    title: "Data corrupted",
    rootCause: "PostgreSQL found corrupted data pages (hardware, filesystem or a bug).",
    immediateSolution: [
      { step: "Stop writing to the affected table; take a file-level copy for analysis" },
      { step: "Check the table with amcheck", sql: "CREATE EXTENSION IF NOT EXISTS amcheck;\nSELECT bt_index_check(<index>::regclass);" },
      { step: "Restore the data from backup or a replica" },
    ],
    prevention: ["Enable data checksums", "Monitor storage health; keep tested backups and replicas"],
  },
];
