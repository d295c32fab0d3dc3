import type { KbEntry } from "./types.js";

/**
 * Hand-written explanations for the MySQL/MariaDB error numbers seen most often in practice.
 * Placeholders: see ./types.ts ({relation} is `database`.`table` when the database is known).
 */
export const MYSQL_ENTRIES: KbEntry[] = [
  // ── Missing objects ──────────────────────────────────────────────────────
  {
    code: "1146",
    title: "Table doesn't exist",
    rootCause:
      "The statement references the table {table:name} in database {database:name}, which does not exist there: it was never created, was dropped or renamed, lives in another database, or differs in letter case (table names are case-sensitive on Linux with lower_case_table_names=0).",
    immediateSolution: [
      { step: "Check available tables with a similar name", sql: "SHOW TABLES LIKE {table:like};" },
      {
        step: "Look for it in every database",
        sql: "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name LIKE {table:like};",
      },
      {
        step: "If the table is genuinely missing, run the migration that creates it, or create it",
        sql: "CREATE TABLE IF NOT EXISTS {relation} (\n  id INT AUTO_INCREMENT PRIMARY KEY,\n  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
      },
    ],
    prevention: [
      "Run schema migrations before deploying the application code that needs them",
      "Keep table names lower case (or set lower_case_table_names consistently across servers)",
      "Add a start-up check that the tables the application needs exist",
      "Alert on repeated 1146 errors per table so a dropped table is noticed within minutes",
    ],
  },
  {
    code: "1054",
    title: "Unknown column",
    rootCause:
      "The statement references the column {column:name}, which the table does not have: a typo, a column renamed or dropped by a migration, a string written in double quotes under ANSI_QUOTES, or an alias used in WHERE.",
    immediateSolution: [
      { step: "List the columns the table really has", sql: "SHOW COLUMNS FROM {relation};" },
      {
        step: "Find columns with a similar name",
        sql: "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE column_name LIKE {column:like};",
      },
      { step: "If the column is genuinely missing, add it through a migration", sql: "ALTER TABLE {relation} ADD COLUMN {column} VARCHAR(255) NULL;" },
    ],
    prevention: [
      "Deploy migrations before code that reads new columns; drop columns only after no code reads them",
      "Use single quotes for string literals",
      "Run the application's queries against the migrated schema in CI",
    ],
  },
  {
    code: "1049",
    title: "Unknown database",
    rootCause:
      "The client asked for the database {database:name}, which does not exist on this server: a typo or wrong environment in the connection string, or a database not created yet.",
    immediateSolution: [
      { step: "List the databases on the server", sql: "SHOW DATABASES LIKE {database:like};" },
      { step: "Create it if it is genuinely missing", sql: "CREATE DATABASE IF NOT EXISTS {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;" },
      { step: "Otherwise fix the database name in the application's connection string" },
    ],
    prevention: [
      "Provision databases with infrastructure code before deploying the application",
      "Validate the connection settings at start-up and fail fast with a clear message",
    ],
  },
  {
    code: "1046",
    title: "No database selected",
    rootCause: "The statement uses an unqualified table name but the connection has no default database (no database in the connection string and no USE).",
    immediateSolution: [
      { step: "Select the database, or qualify the table as database.table", sql: "USE {database};" },
    ],
    prevention: ["Always set the database in the connection string"],
  },
  {
    code: "1050",
    title: "Table already exists",
    rootCause: "CREATE TABLE or RENAME TABLE names the table {table:name}, which already exists: a migration ran twice, or a leftover from a failed deploy.",
    immediateSolution: [
      { step: "See the existing table", sql: "SHOW CREATE TABLE {relation};" },
      { step: "Make the DDL idempotent", sql: "CREATE TABLE IF NOT EXISTS {relation} (...);" },
    ],
    prevention: ["Track applied migrations so none runs twice", "Use IF NOT EXISTS in bootstrap scripts"],
  },
  {
    code: "1051",
    title: "Unknown table",
    rootCause: "DROP TABLE (or a multi-table statement) names the table {table:name}, which does not exist.",
    immediateSolution: [
      { step: "Check the table name", sql: "SHOW TABLES LIKE {table:like};" },
      { step: "Make the DDL idempotent", sql: "DROP TABLE IF EXISTS {relation};" },
    ],
    prevention: ["Use IF EXISTS in teardown scripts; track applied migrations"],
  },
  {
    code: "1091",
    title: "Can't DROP column or key; check that it exists",
    rootCause: "ALTER TABLE ... DROP names a column, index or foreign key that does not exist (already dropped, or a different name).",
    immediateSolution: [
      { step: "List the table's columns and indexes", sql: "SHOW CREATE TABLE {relation};" },
      { step: "On MariaDB use the idempotent form", sql: "ALTER TABLE {relation} DROP COLUMN IF EXISTS {column};" },
    ],
    prevention: ["Track applied migrations; name indexes and foreign keys explicitly"],
  },
  {
    code: "1060",
    title: "Duplicate column name",
    rootCause: "ALTER TABLE ADD COLUMN or CREATE TABLE defines the column {column:name} twice (often a migration applied twice), or a SELECT in a view/CTAS yields two columns with the same name.",
    immediateSolution: [
      { step: "Check the current columns", sql: "SHOW COLUMNS FROM {relation};" },
      { step: "On MariaDB use the idempotent form", sql: "ALTER TABLE {relation} ADD COLUMN IF NOT EXISTS {column} VARCHAR(255) NULL;" },
      { step: "For views / CREATE TABLE ... SELECT, alias duplicate column names" },
    ],
    prevention: ["Track applied migrations so none runs twice"],
  },
  {
    code: "1061",
    title: "Duplicate key name",
    rootCause: "CREATE INDEX / ADD INDEX uses a name that the table already has.",
    immediateSolution: [
      { step: "List the table's indexes", sql: "SHOW INDEX FROM {relation};" },
      { step: "On MariaDB use the idempotent form", sql: "CREATE INDEX IF NOT EXISTS <index_name> ON {relation} (<columns>);" },
    ],
    prevention: ["Name indexes consistently and track applied migrations"],
  },
  {
    code: "1052",
    title: "Ambiguous column",
    rootCause: "The column {column:name} exists in more than one table of the query, so the server cannot tell which one is meant.",
    immediateSolution: [{ step: "Qualify the column with its table alias, e.g. o.{column} instead of {column}" }],
    prevention: ["Always qualify columns in queries that join tables"],
  },
  {
    code: "1305",
    title: "Function or procedure does not exist",
    rootCause: "The statement calls a stored function/procedure that does not exist in this database (or a built-in that this server version lacks, or a space between a function name and its parenthesis).",
    immediateSolution: [
      { step: "List the routines of the database", sql: "SELECT routine_schema, routine_name, routine_type FROM information_schema.routines WHERE routine_schema = DATABASE();" },
      { step: "Create the routine through a migration, or call it with its database prefix (db.func())" },
    ],
    prevention: ["Version stored routines with the schema migrations"],
  },
  {
    code: "1449",
    title: "Definer does not exist",
    rootCause: "A view, trigger, event or routine was created with DEFINER={user:name} and that account no longer exists (typical after a dump from another server or after deleting a user).",
    immediateSolution: [
      {
        step: "Find the objects that use the missing definer",
        sql: "SELECT table_schema, table_name FROM information_schema.views WHERE definer LIKE {user:like};",
      },
      { step: "Recreate the account, or recreate the objects with an existing definer (e.g. SQL SECURITY INVOKER)" },
    ],
    prevention: ["Strip DEFINER clauses from dumps, or use a stable technical definer account"],
  },
  // ── Syntax ────────────────────────────────────────────────────────────────
  {
    code: "1064",
    title: "SQL syntax error",
    rootCause:
      "The server could not parse the statement near the text quoted in the message: a typo in a keyword, a missing comma or parenthesis, a reserved word used as a name without backticks, syntax from another dialect or a newer version, or SQL built by string concatenation.",
    immediateSolution: [
      { step: "Look at the text after 'near': the problem is at or just before it" },
      { step: "Backtick reserved words used as names, e.g. `order`, `key`, `group`" },
      { step: "Check the server version's syntax", sql: "SELECT VERSION();" },
    ],
    prevention: [
      "Use parameterised queries instead of concatenating SQL strings",
      "Test queries against the same server version and sql_mode as production",
      "Avoid reserved words as table or column names",
    ],
  },
  {
    code: "1149",
    title: "SQL syntax error",
    rootCause: "The statement is not valid SQL for this server (a generic syntax error raised outside the main parser, e.g. in a stored program or option).",
    immediateSolution: [{ step: "Check the statement against the manual for this server version", sql: "SELECT VERSION();" }],
    prevention: ["Use parameterised queries; test SQL against the production version in CI"],
  },
  {
    code: "1136",
    title: "Column count doesn't match value count",
    rootCause: "An INSERT lists a different number of values than columns (or than the table has columns when no column list is given).",
    immediateSolution: [
      { step: "Name the columns explicitly in the INSERT and give one value per column", sql: "SHOW COLUMNS FROM {relation};" },
    ],
    prevention: ["Always write INSERT with an explicit column list"],
  },
  {
    code: "1055",
    title: "Not in GROUP BY (ONLY_FULL_GROUP_BY)",
    rootCause: "A selected column is neither aggregated nor in GROUP BY while sql_mode contains ONLY_FULL_GROUP_BY (the default since MySQL 5.7).",
    immediateSolution: [
      { step: "Add the column to GROUP BY, aggregate it (MAX(), ANY_VALUE()), or join a grouped subquery" },
      { step: "Check the sql_mode in force", sql: "SELECT @@SESSION.sql_mode;" },
    ],
    prevention: ["Write standard GROUP BY queries; keep ONLY_FULL_GROUP_BY on"],
  },
  {
    code: "1242",
    title: "Subquery returns more than 1 row",
    rootCause: "A subquery used as a single value (in = comparison or a SELECT list) returned several rows.",
    immediateSolution: [{ step: "Use IN instead of =, add a precise WHERE or LIMIT 1, or aggregate the subquery" }],
    prevention: ["Back single-row assumptions with unique keys"],
  },
  {
    code: "1093",
    title: "Table specified twice (update target and source)",
    rootCause: "An UPDATE or DELETE reads from the same table it modifies in a subquery, which MySQL does not allow directly.",
    immediateSolution: [{ step: "Rewrite with a JOIN, or wrap the subquery in a derived table: WHERE id IN (SELECT id FROM (SELECT id FROM t WHERE ...) AS x)" }],
    prevention: ["Prefer multi-table UPDATE/DELETE with JOIN"],
  },
  {
    code: "1175",
    title: "Safe update mode",
    rootCause: "sql_safe_updates is on and the UPDATE/DELETE has no WHERE on a key column (or no LIMIT), so it could touch every row.",
    immediateSolution: [{ step: "Add a WHERE on a key column; if the full-table change is intended, disable safe mode for this session only", sql: "SET SESSION sql_safe_updates = 0;" }],
    prevention: ["Keep safe updates on for interactive sessions; write explicit WHERE clauses"],
  },
  {
    code: "1267",
    title: "Illegal mix of collations",
    rootCause: "The operation compares or concatenates strings with incompatible collations (e.g. a utf8mb4_unicode_ci column with a utf8mb4_general_ci column or a latin1 literal).",
    immediateSolution: [
      { step: "See the collations of the columns involved", sql: "SELECT column_name, character_set_name, collation_name FROM information_schema.columns WHERE table_name = {table:lit};" },
      { step: "Convert one side explicitly (COLLATE utf8mb4_unicode_ci) or convert the table", sql: "ALTER TABLE {relation} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;" },
    ],
    prevention: ["Use one character set and collation (utf8mb4) for the server, databases, tables and connections"],
  },
  // ── Access ────────────────────────────────────────────────────────────────
  {
    code: "1044",
    title: "Access denied to database",
    rootCause: "The account {user:name}@{host:name} has no privileges on the database {database:name}.",
    immediateSolution: [
      { step: "See what the account may do", sql: "SHOW GRANTS FOR {user:lit}@{host:lit};" },
      { step: "Grant what the application needs (as an administrator)", sql: "GRANT SELECT, INSERT, UPDATE, DELETE ON {database}.* TO {user:lit}@{host:lit};" },
    ],
    prevention: ["Manage grants in code (migrations or configuration management)", "Give each application its own account with least privilege"],
  },
  {
    code: "1045",
    title: "Access denied (wrong user or password)",
    rootCause:
      "Authentication failed for {user:name}@{host:name}: wrong password, the account does not exist for this client host (accounts are user@host pairs), or the account is locked or uses another auth plugin.",
    immediateSolution: [
      { step: "Check which accounts exist for this user and host pattern", sql: "SELECT user, host, plugin FROM mysql.user WHERE user = {user:lit};" },
      { step: "Reset the password (as an administrator) and update the application's secret", sql: "ALTER USER {user:lit}@{host:lit} IDENTIFIED BY '<new password>';" },
    ],
    prevention: [
      "Keep credentials in a secret manager; rotate them with a dual-account or dual-password window",
      "Alert on authentication failure spikes (they also reveal brute-force attempts)",
    ],
  },
  {
    code: "1698",
    title: "Access denied (no password / socket auth)",
    rootCause: "The account {user:name}@{host:name} authenticates with a plugin the client did not satisfy, typically root with unix_socket auth when connecting over TCP or as another OS user.",
    immediateSolution: [
      { step: "See the account's auth plugin", sql: "SELECT user, host, plugin FROM mysql.user WHERE user = {user:lit};" },
      { step: "Connect through the socket as the matching OS user, or create a dedicated application account with a password", sql: "CREATE USER 'app'@'%' IDENTIFIED BY '<password>';" },
    ],
    prevention: ["Never let applications use root; give them their own password account"],
  },
  {
    code: "1130",
    title: "Host is not allowed to connect",
    rootCause: "No account matches this user from the client's host: accounts exist only for other hosts (e.g. 'app'@'localhost' but the client connects over the network).",
    immediateSolution: [
      { step: "List the host patterns of the account", sql: "SELECT user, host FROM mysql.user WHERE user = {user:lit};" },
      { step: "Create the account for the client's network (as narrow as possible)", sql: "CREATE USER {user:lit}@'10.0.%' IDENTIFIED BY '<password>';" },
    ],
    prevention: ["Define accounts for the networks applications really connect from; document them"],
  },
  {
    code: "1142",
    title: "Command denied for table",
    rootCause: "The account {user:name}@{host:name} lacks the privilege for this command on the table {table:name}.",
    immediateSolution: [
      { step: "See what the account may do", sql: "SHOW GRANTS FOR {user:lit}@{host:lit};" },
      { step: "Grant the missing privilege (as an administrator)", sql: "GRANT SELECT, INSERT, UPDATE, DELETE ON {relation} TO {user:lit}@{host:lit};" },
    ],
    prevention: ["Manage grants in code; grant on database.* when every table should be reachable"],
  },
  {
    code: "1143",
    title: "Command denied for column",
    rootCause: "The account {user:name}@{host:name} has column-level privileges that do not include the column {column:name}.",
    immediateSolution: [
      { step: "See what the account may do", sql: "SHOW GRANTS FOR {user:lit}@{host:lit};" },
      { step: "Grant the column privilege", sql: "GRANT SELECT ({column}) ON {relation} TO {user:lit}@{host:lit};" },
    ],
    prevention: ["Prefer views over column-level grants; manage grants in code"],
  },
  {
    code: "1227",
    title: "Access denied; you need a privilege",
    rootCause: "The operation needs a global privilege the account lacks (SUPER, PROCESS, RELOAD, SYSTEM_VARIABLES_ADMIN, ...), common when restoring dumps with DEFINER clauses or SET GLOBAL statements on managed databases.",
    immediateSolution: [
      { step: "See the account's privileges", sql: "SHOW GRANTS FOR CURRENT_USER();" },
      { step: "Run the operation as an administrator, or remove DEFINER= / SET @@GLOBAL lines from the dump" },
    ],
    prevention: ["Dump without definers (or with a stable definer) and keep application accounts least-privileged"],
  },
  {
    code: "1419",
    title: "SUPER needed to create routines with binary logging",
    rootCause: "Binary logging is on and the account lacks SUPER, so creating non-deterministic functions/triggers is refused.",
    immediateSolution: [
      { step: "Declare the function DETERMINISTIC / READS SQL DATA if true, or (as admin) allow it", sql: "SET GLOBAL log_bin_trust_function_creators = 1;" },
    ],
    prevention: ["Declare routine characteristics accurately"],
  },
  // ── Connections ───────────────────────────────────────────────────────────
  {
    code: "1040",
    title: "Too many connections",
    rootCause: "The server reached max_connections: pools sized too large across application instances, leaked connections, or slow queries holding connections longer than usual.",
    immediateSolution: [
      { step: "See who holds the connections", sql: "SELECT user, host, db, command, COUNT(*) AS n FROM information_schema.processlist GROUP BY 1, 2, 3, 4 ORDER BY n DESC;" },
      { step: "Check the limit and the peak", sql: "SHOW VARIABLES LIKE 'max_connections';\nSHOW GLOBAL STATUS LIKE 'Max_used_connections';" },
      { step: "Raise the limit temporarily if memory allows", sql: "SET GLOBAL max_connections = 500;" },
    ],
    prevention: [
      "Size pools: instances x pool size < max_connections; use a proxy to multiplex",
      "Lower wait_timeout so abandoned connections close",
      "Alert when Threads_connected exceeds 80% of max_connections",
    ],
    retry: { safe: true, when: "any", note: "The connection was refused before anything ran; retry with backoff." },
  },
  {
    code: "1203",
    title: "User has too many connections",
    rootCause: "The account {user:name} exceeded max_user_connections (global or per-account MAX_USER_CONNECTIONS).",
    immediateSolution: [
      { step: "Count the account's sessions", sql: "SELECT host, command, COUNT(*) FROM information_schema.processlist WHERE user = {user:lit} GROUP BY 1, 2;" },
      { step: "Close idle sessions or raise the per-account limit", sql: "ALTER USER {user:lit}@'%' WITH MAX_USER_CONNECTIONS 100;" },
    ],
    prevention: ["Size connection pools below the per-user limit", "Alert on the account's connection count"],
    retry: { safe: true, when: "any", note: "The connection was refused before anything ran; retry with backoff." },
  },
  {
    code: "1226",
    title: "User exceeded a resource limit",
    rootCause: "The account {user:name} hit a per-hour limit (max_questions, max_updates, max_connections_per_hour) or max_user_connections.",
    immediateSolution: [
      { step: "See the account's limits", sql: "SELECT user, host, max_questions, max_updates, max_connections, max_user_connections FROM mysql.user WHERE user = {user:lit};" },
      { step: "Raise or remove the limit (0 = unlimited) if it is too low", sql: "ALTER USER {user:lit}@'%' WITH MAX_QUERIES_PER_HOUR 0;" },
    ],
    prevention: ["Set resource limits from measured traffic and alert before they are reached"],
    retry: { safe: false, when: "never", note: "Per-hour limits reset only with the hour (or FLUSH USER_RESOURCES); immediate retries fail again." },
  },
  {
    code: "1053",
    title: "Server shutdown in progress",
    rootCause: "The server is shutting down (restart, failover or maintenance) and ends sessions; the statement in flight was interrupted.",
    immediateSolution: [
      { step: "Reconnect once the server (or the new primary) is up; re-run reads, check writes before re-running them" },
    ],
    prevention: ["Drain applications before planned restarts", "Use a pool or proxy that reconnects transparently"],
  },
  {
    code: "1927",
    title: "Connection was killed",
    rootCause: "The session was ended with KILL (by an administrator, a watchdog such as pt-kill, or a max_statement_time policy) or by server shutdown.",
    immediateSolution: [
      { step: "Reconnect; re-run the transaction from its start if it was not committed" },
      { step: "Find out who kills sessions (audit log, pt-kill configuration)" },
    ],
    prevention: ["Keep queries within the limits watchdogs enforce", "Use a pool that reconnects"],
  },
  {
    code: "1153",
    title: "Packet bigger than max_allowed_packet",
    rootCause: "A statement or a row (often a big BLOB or a huge multi-row INSERT) is larger than max_allowed_packet; the server closes the connection.",
    immediateSolution: [
      { step: "Check the limit", sql: "SHOW VARIABLES LIKE 'max_allowed_packet';" },
      { step: "Raise it (server and client side), or split the insert into smaller batches", sql: "SET GLOBAL max_allowed_packet = 67108864;" },
    ],
    prevention: ["Batch bulk inserts (e.g. 1,000 rows); store large files outside the database"],
  },
  {
    code: "1158",
    title: "Error reading communication packets",
    rootCause: "The server could not read from the client's connection: the client died, the network dropped the TCP session, or a firewall/NAT timed it out.",
    immediateSolution: [{ step: "Reconnect; check the client's network path and timeouts" }],
    prevention: ["Enable TCP keepalives; keep pool idle timeouts below firewall timeouts and wait_timeout"],
  },
  {
    code: "1184",
    title: "Aborted connection",
    rootCause: "A connection ended abnormally: the client closed without COM_QUIT, wait_timeout or net_read_timeout expired, or a packet was too large.",
    immediateSolution: [
      { step: "Check aborted counters and timeouts", sql: "SHOW GLOBAL STATUS LIKE 'Aborted_%';\nSHOW VARIABLES LIKE '%timeout%';" },
    ],
    prevention: ["Close connections cleanly; validate pooled connections before use"],
  },
  // ── Transactions and locks ────────────────────────────────────────────────
  {
    code: "1213",
    title: "Deadlock found when trying to get lock",
    rootCause:
      "Two or more transactions each held row locks the other needed, so InnoDB rolled back this transaction (the whole transaction, not only the statement). Typically the same rows are updated in different orders, or gap locks from range scans collide.",
    immediateSolution: [
      { step: "Retry the whole transaction from its start (InnoDB already rolled it back)" },
      { step: "Read the latest deadlock (both statements and the locks involved)", sql: "SHOW ENGINE INNODB STATUS;" },
      { step: "Log every deadlock from now on", sql: "SET GLOBAL innodb_print_all_deadlocks = ON;" },
    ],
    prevention: [
      "Touch rows in one consistent order in every transaction (e.g. sort by primary key)",
      "Keep transactions short and index the WHERE clauses of UPDATE/DELETE so fewer rows are locked",
      "Consider READ COMMITTED isolation to avoid gap locks",
      "Retry deadlocked transactions automatically with jittered backoff",
    ],
  },
  {
    code: "1205",
    title: "Lock wait timeout exceeded",
    rootCause:
      "The statement waited longer than innodb_lock_wait_timeout for a row lock held by another transaction, often a long-running or forgotten open transaction. Only this statement was rolled back (unless innodb_rollback_on_timeout is ON); the transaction is still open.",
    immediateSolution: [
      {
        step: "Find the blocking transaction",
        sql: "SELECT trx_id, trx_mysql_thread_id, trx_started, trx_state, LEFT(trx_query, 80) FROM information_schema.innodb_trx ORDER BY trx_started;",
      },
      { step: "Retry the statement, or roll back the transaction and retry it whole" },
      { step: "End the blocker only after checking what it is", sql: "KILL <trx_mysql_thread_id>;" },
    ],
    prevention: [
      "Keep transactions short; never wait for user input or network calls inside one",
      "Index the WHERE clauses of UPDATE/DELETE so fewer rows are locked",
      "Alert on transactions open longer than a minute (information_schema.innodb_trx)",
    ],
  },
  {
    code: "1206",
    title: "Lock table full",
    rootCause: "A transaction locks more rows than the InnoDB buffer pool can track (a huge UPDATE/DELETE in one transaction).",
    immediateSolution: [{ step: "Process the change in batches (e.g. DELETE ... LIMIT 10000 in a loop), or raise innodb_buffer_pool_size" }],
    prevention: ["Batch large data changes"],
  },
  {
    code: "1792",
    title: "Cannot execute statement in a READ ONLY transaction",
    rootCause: "A write ran inside a transaction started READ ONLY (START TRANSACTION READ ONLY, or transaction_read_only/tx_read_only set).",
    immediateSolution: [
      { step: "Check the session setting", sql: "SELECT @@SESSION.transaction_read_only;" },
      { step: "Start writing transactions as READ WRITE, or send them through the writer pool" },
    ],
    prevention: ["Keep separate read and write code paths with explicit transaction modes"],
  },
  {
    code: "1290",
    title: "Option prevents statement (read-only server)",
    rootCause: "The server runs with an option that forbids this statement, most often --read-only / --super-read-only (a replica, or a former primary after failover), sometimes --secure-file-priv or --skip-grant-tables.",
    immediateSolution: [
      { step: "Check the read-only flags", sql: "SELECT @@GLOBAL.read_only, @@GLOBAL.super_read_only;" },
      { step: "Send writes to the primary; for secure-file-priv, use the allowed directory", sql: "SHOW VARIABLES LIKE 'secure_file_priv';" },
    ],
    prevention: ["Route writes through a primary-following address; detect read_only after reconnects"],
    retry: { safe: true, when: "autocommit", note: "The write did not run; it may be re-run after reconnecting to the primary, not on the same replica." },
  },
  {
    code: "1223",
    title: "Conflicting read lock",
    rootCause: "The session (or server) holds FLUSH TABLES WITH READ LOCK or LOCK TABLES ... READ, so writes are refused (often a backup in progress).",
    immediateSolution: [{ step: "Wait for the backup or release the lock", sql: "UNLOCK TABLES;" }],
    prevention: ["Use non-locking backups (mariabackup / --single-transaction)"],
  },
  {
    code: "1020",
    title: "Record has changed since last read (MariaDB snapshot isolation)",
    rootCause: "With innodb_snapshot_isolation (MariaDB 11.6+ default) the transaction tried to modify a row that another transaction changed after this one's snapshot was taken; the transaction must restart.",
    immediateSolution: [{ step: "Retry the whole transaction from its start" }],
    prevention: ["Wrap transactions in a retry loop with backoff; keep them short", "Lock the rows first with SELECT ... FOR UPDATE when you intend to update them"],
  },
  {
    code: "1412",
    title: "Table definition has changed, please retry transaction",
    rootCause: "A consistent-snapshot transaction touched a table whose definition changed (ALTER TABLE, TRUNCATE) after the snapshot began.",
    immediateSolution: [{ step: "Retry the whole transaction from its start" }],
    prevention: ["Run DDL outside busy periods; retry transactions that fail this way"],
  },
  {
    code: "1159",
    title: "Timeout reading communication packets",
    rootCause: "The server waited longer than net_read_timeout for data from the client (a stalled client, a slow network, or a huge packet being sent slowly) and dropped the connection.",
    immediateSolution: [
      { step: "Check the timeouts", sql: "SHOW VARIABLES LIKE 'net_%timeout';" },
      { step: "Reconnect; check the client's network path" },
    ],
    prevention: ["Keep pool idle timeouts below server timeouts; enable TCP keepalives"],
  },
  // ── Duplicates and constraints ───────────────────────────────────────────
  {
    code: "1062",
    title: "Duplicate entry for key",
    rootCause:
      "The row would duplicate a value in the unique key or primary key {constraint:name} of {table:name}: the same business key was inserted twice (concurrent requests, retries that are not idempotent), or AUTO_INCREMENT is behind the data.",
    immediateSolution: [
      { step: "Find the existing row with the duplicated value shown in the message", sql: "SELECT * FROM {relation} WHERE <key column> = <value>;" },
      { step: "Make the write an upsert if duplicates are expected", sql: "INSERT INTO {relation} (...) VALUES (...)\nON DUPLICATE KEY UPDATE <column> = VALUES(<column>);" },
      { step: "See the unique keys of the table", sql: "SHOW INDEX FROM {relation} WHERE Non_unique = 0;" },
    ],
    prevention: [
      "Use INSERT ... ON DUPLICATE KEY UPDATE (or INSERT IGNORE when dropping duplicates is right)",
      "Give client requests idempotency keys so retries do not insert twice",
    ],
  },
  {
    code: "1586",
    title: "Duplicate entry for key (named)",
    rootCause: "The row would duplicate a value in the unique key {constraint:name}, e.g. while ALTER TABLE copies rows into a new unique index.",
    immediateSolution: [
      { step: "Find duplicate values before adding a unique key", sql: "SELECT <columns>, COUNT(*) FROM {relation} GROUP BY <columns> HAVING COUNT(*) > 1;" },
    ],
    prevention: ["De-duplicate data before adding unique keys; use upserts for idempotent writes"],
  },
  {
    code: "1169",
    title: "Can't write because of unique constraint",
    rootCause: "A write would violate a unique constraint on {table:name}.",
    immediateSolution: [{ step: "Find the existing row with the same key and decide between update and skip", sql: "SHOW INDEX FROM {relation} WHERE Non_unique = 0;" }],
    prevention: ["Use upserts for idempotent writes"],
  },
  {
    code: "1048",
    title: "Column cannot be null",
    rootCause: "The statement writes NULL into {column:name}, which is declared NOT NULL.",
    immediateSolution: [
      { step: "See the column's definition and default", sql: "SHOW COLUMNS FROM {relation} LIKE {column:lit};" },
      { step: "Supply a value, or give the column a default", sql: "ALTER TABLE {relation} ALTER COLUMN {column} SET DEFAULT <value>;" },
    ],
    prevention: ["Validate required fields in the application", "Add NOT NULL columns with a DEFAULT"],
  },
  {
    code: "1364",
    title: "Field doesn't have a default value",
    rootCause: "An INSERT omits the NOT NULL column {column:name}, which has no DEFAULT, under strict sql_mode.",
    immediateSolution: [
      { step: "Supply the column in the INSERT, or give it a default", sql: "ALTER TABLE {relation} ALTER COLUMN {column} SET DEFAULT <value>;" },
    ],
    prevention: ["Write INSERTs with explicit column lists covering every required column"],
  },
  {
    code: "1451",
    title: "Cannot delete or update a parent row (foreign key)",
    rootCause: "The DELETE/UPDATE would orphan rows of {table:name} that reference this row through the foreign key {constraint:name}.",
    immediateSolution: [
      { step: "See the foreign key definition", sql: "SELECT table_name, column_name, referenced_table_name, referenced_column_name FROM information_schema.key_column_usage WHERE constraint_name = {constraint:lit};" },
      { step: "Delete or re-point the child rows first, or declare ON DELETE CASCADE / SET NULL if that is the intended semantics" },
    ],
    prevention: ["Decide ON DELETE behaviour explicitly per foreign key", "Soft-delete parents that history still references"],
  },
  {
    code: "1452",
    title: "Cannot add or update a child row (foreign key)",
    rootCause: "The row in {table:name} references a parent that does not exist, violating the foreign key {constraint:name}.",
    immediateSolution: [
      { step: "See the foreign key definition", sql: "SELECT table_name, column_name, referenced_table_name, referenced_column_name FROM information_schema.key_column_usage WHERE constraint_name = {constraint:lit};" },
      { step: "Insert the parent row first (in the same transaction), or fix the referenced id" },
    ],
    prevention: ["Write parents before children", "Validate referenced ids in the application"],
  },
  {
    code: "1216",
    title: "Cannot add or update a child row (foreign key)",
    rootCause: "The row references a parent that does not exist (older form of 1452, without the constraint name).",
    immediateSolution: [{ step: "Insert the parent row first, or fix the referenced id" }],
    prevention: ["Write parents before children"],
  },
  {
    code: "1217",
    title: "Cannot delete or update a parent row (foreign key)",
    rootCause: "Child rows still reference the row (older form of 1451, without the constraint name).",
    immediateSolution: [{ step: "Delete or re-point the child rows first" }],
    prevention: ["Decide ON DELETE behaviour explicitly per foreign key"],
  },
  {
    code: "1215",
    title: "Cannot add foreign key constraint",
    rootCause: "The foreign key definition is invalid: column types/charsets differ between child and parent, the parent columns have no index, the parent table is not InnoDB, or the referenced table or column does not exist.",
    immediateSolution: [
      { step: "Read the detailed reason", sql: "SHOW ENGINE INNODB STATUS;" },
      { step: "Compare both column definitions (type, signedness, charset) and index the parent column", sql: "SHOW CREATE TABLE {relation};" },
    ],
    prevention: ["Use identical types (e.g. BIGINT UNSIGNED) for keys and the columns that reference them"],
  },
  {
    code: "1822",
    title: "Missing index for foreign key",
    rootCause: "The referenced (parent) columns of the new foreign key have no index that starts with them.",
    immediateSolution: [{ step: "Add a primary or unique key on the referenced columns first", sql: "ALTER TABLE {relation} ADD UNIQUE KEY (<columns>);" }],
    prevention: ["Reference primary keys in foreign keys"],
  },
  {
    code: "1701",
    title: "Cannot truncate a table referenced by a foreign key",
    rootCause: "TRUNCATE is refused on a table that other tables reference through foreign keys.",
    immediateSolution: [{ step: "Use DELETE FROM instead, or truncate the children first; disabling foreign_key_checks is only for controlled reloads" }],
    prevention: ["Plan reloads child-first"],
  },
  {
    code: "3819",
    title: "Check constraint violated (MySQL)",
    rootCause: "The row fails the CHECK constraint {constraint:name}: the value is outside the allowed range or set.",
    immediateSolution: [
      { step: "Read the constraint's rule", sql: "SELECT constraint_name, check_clause FROM information_schema.check_constraints WHERE constraint_name = {constraint:lit};" },
      { step: "Fix the value in the application, or change the rule through a migration if it is wrong" },
    ],
    prevention: ["Mirror check constraints in application validation"],
  },
  {
    code: "4025",
    name: "ER_CONSTRAINT_FAILED",
    title: "Check constraint failed (MariaDB)",
    rootCause: "The row fails the CHECK constraint {constraint:name} of {table:name}: the value is outside the allowed range or set.",
    immediateSolution: [
      { step: "Read the constraint's rule", sql: "SELECT constraint_name, check_clause FROM information_schema.check_constraints WHERE constraint_name = {constraint:lit};" },
      { step: "Fix the value in the application, or change the rule through a migration if it is wrong" },
    ],
    prevention: ["Mirror check constraints in application validation", "Document allowed values next to the constraint"],
  },
  // ── Timeouts ──────────────────────────────────────────────────────────────
  {
    code: "1317",
    title: "Query execution was interrupted",
    rootCause: "The statement was stopped by KILL QUERY (an administrator, a watchdog, or the client cancelling), or by a server shutdown.",
    immediateSolution: [
      { step: "Find long-running statements", sql: "SELECT id, user, time, state, LEFT(info, 80) FROM information_schema.processlist WHERE command <> 'Sleep' ORDER BY time DESC;" },
      { step: "Explain the slow statement and index its predicates: EXPLAIN <statement>" },
    ],
    prevention: ["Index the predicates of slow queries; paginate big reads", "Enable the slow query log"],
  },
  {
    code: "1969",
    title: "Statement timeout (max_statement_time exceeded)",
    rootCause: "The statement ran longer than MariaDB's max_statement_time and was aborted.",
    immediateSolution: [
      { step: "See the limit in force", sql: "SELECT @@SESSION.max_statement_time, @@GLOBAL.max_statement_time;" },
      { step: "Explain the slow statement and index its predicates: EXPLAIN <statement>; raise the limit only for batch sessions", sql: "SET SESSION max_statement_time = 60;" },
    ],
    prevention: ["Index the predicates of slow queries; paginate big reads", "Enable the slow query log and review it"],
  },
  {
    code: "3024",
    name: "ER_QUERY_TIMEOUT",
    title: "Query timeout (max_execution_time exceeded)",
    rootCause: "The SELECT ran longer than MySQL's max_execution_time (or a MAX_EXECUTION_TIME optimizer hint) and was aborted.",
    immediateSolution: [
      { step: "See the limit in force", sql: "SELECT @@SESSION.max_execution_time;" },
      { step: "Explain the slow statement and index its predicates: EXPLAIN <statement>" },
    ],
    prevention: ["Index the predicates of slow queries; paginate big reads", "Enable the slow query log"],
  },
  // ── Data ──────────────────────────────────────────────────────────────────
  {
    code: "1264",
    title: "Out of range value for column",
    rootCause: "The value does not fit the type of {column:name} (e.g. 1000 into TINYINT, a negative into UNSIGNED, an AUTO_INCREMENT INT past 2^31-1).",
    immediateSolution: [
      { step: "See the column type", sql: "SHOW COLUMNS FROM {relation} LIKE {column:lit};" },
      { step: "Widen the column if the values are legitimate", sql: "ALTER TABLE {relation} MODIFY {column} BIGINT;" },
    ],
    prevention: ["Use BIGINT for ids and counters", "Validate numeric ranges in the application"],
  },
  {
    code: "1265",
    title: "Data truncated for column",
    rootCause: "The value for {column:name} had to be truncated to fit (an ENUM value not in the list, a string into a number column, too many decimals); strict mode turns this warning into an error.",
    immediateSolution: [
      { step: "See the column type (for ENUM, the allowed values)", sql: "SHOW COLUMNS FROM {relation} LIKE {column:lit};" },
      { step: "Send a value the column accepts, or widen the column through a migration" },
    ],
    prevention: ["Validate values against the schema's types in the application"],
  },
  {
    code: "1292",
    title: "Truncated incorrect value",
    rootCause: "A value could not be converted to the expected type (a malformed DATE/DATETIME, a string compared with a number), and strict mode made it an error.",
    immediateSolution: [
      { step: "Send dates as 'YYYY-MM-DD HH:MM:SS', or convert explicitly with STR_TO_DATE(value, '<format>')" },
      { step: "Check the sql_mode", sql: "SELECT @@SESSION.sql_mode;" },
    ],
    prevention: ["Bind dates as date types from the driver; validate formats at the API boundary"],
  },
  {
    code: "1365",
    title: "Division by 0",
    rootCause: "An expression divided by zero under ERROR_FOR_DIVISION_BY_ZERO and strict mode.",
    immediateSolution: [{ step: "Guard the divisor with NULLIF so the result becomes NULL", sql: "SELECT a / NULLIF(b, 0) FROM {relation};" }],
    prevention: ["Use NULLIF(divisor, 0) in ratios"],
  },
  {
    code: "1366",
    title: "Incorrect value for column",
    rootCause: "A value could not be stored in {column:name}: wrong type (text into an integer column), or characters the column's character set cannot hold (e.g. emoji into a utf8mb3/latin1 column).",
    immediateSolution: [
      { step: "See the column type and character set", sql: "SELECT column_name, column_type, character_set_name FROM information_schema.columns WHERE table_name = {table:lit} AND column_name = {column:lit};" },
      { step: "For text, convert the table to utf8mb4", sql: "ALTER TABLE {relation} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;" },
      { step: "For numbers, validate the value before sending it" },
    ],
    prevention: ["Use utf8mb4 everywhere", "Validate input types at the API boundary"],
  },
  {
    code: "1406",
    title: "Data too long for column",
    rootCause: "The value is longer than {column:name} allows (VARCHAR(n) / CHAR(n) / TEXT limits) under strict mode.",
    immediateSolution: [
      { step: "See the column's length", sql: "SHOW COLUMNS FROM {relation} LIKE {column:lit};" },
      { step: "Shorten the value, or widen the column", sql: "ALTER TABLE {relation} MODIFY {column} VARCHAR(1024);" },
    ],
    prevention: ["Validate lengths in the application with the same limits as the schema"],
  },
  {
    code: "1690",
    title: "Value is out of range",
    rootCause: "An arithmetic result overflowed its type, typically subtraction on BIGINT UNSIGNED going below zero.",
    immediateSolution: [{ step: "Cast operands to SIGNED or DECIMAL before subtracting, e.g. CAST(a AS SIGNED) - CAST(b AS SIGNED)" }],
    prevention: ["Avoid arithmetic that can go negative on UNSIGNED columns"],
  },
  {
    code: "1118",
    title: "Row size too large",
    rootCause: "The table's columns together exceed the row size limit (65,535 bytes, or about half a page for InnoDB in-row data).",
    immediateSolution: [{ step: "Use TEXT/BLOB for long columns and ROW_FORMAT=DYNAMIC", sql: "ALTER TABLE {relation} ROW_FORMAT=DYNAMIC;" }],
    prevention: ["Avoid many wide VARCHAR columns; normalise wide tables"],
  },
  {
    code: "1071",
    title: "Specified key was too long",
    rootCause: "An index over a long VARCHAR exceeds the maximum key length (767 or 3072 bytes); utf8mb4 uses up to 4 bytes per character.",
    immediateSolution: [{ step: "Index a prefix, e.g. INDEX (email(191)), or use ROW_FORMAT=DYNAMIC with large prefixes" }],
    prevention: ["Keep indexed VARCHARs to 191 characters under utf8mb4 on older servers"],
  },
  // ── Resources ─────────────────────────────────────────────────────────────
  {
    code: "1021",
    title: "Disk full",
    rootCause: "The server cannot write because the filesystem is full (data files, binary logs, temporary files from big sorts).",
    immediateSolution: [
      { step: "Find the biggest tables", sql: "SELECT table_schema, table_name, ROUND((data_length + index_length) / 1048576) AS mb FROM information_schema.tables ORDER BY mb DESC LIMIT 20;" },
      { step: "Purge old binary logs (after checking replicas have read them)", sql: "PURGE BINARY LOGS BEFORE NOW() - INTERVAL 3 DAY;" },
    ],
    prevention: ["Alert at 80% disk usage", "Set binlog_expire_logs_seconds / expire_logs_days"],
  },
  {
    code: "1041",
    title: "Out of memory",
    rootCause: "The server could not allocate memory: buffers (join_buffer_size, sort_buffer_size, tmp_table_size) x connections exceed RAM, or the buffer pool is too large for the host.",
    immediateSolution: [
      { step: "Check per-session buffers and the buffer pool", sql: "SHOW VARIABLES WHERE Variable_name IN ('innodb_buffer_pool_size','sort_buffer_size','join_buffer_size','tmp_table_size','max_connections');" },
    ],
    prevention: ["Size buffers against max_connections and RAM", "Monitor memory and OOM kills"],
  },
  {
    code: "1037",
    title: "Out of memory",
    rootCause: "The server ran out of memory while executing the statement.",
    immediateSolution: [{ step: "Lower per-session buffers or the concurrency; check for memory-hungry queries (huge IN lists, big sorts)" }],
    prevention: ["Size buffers against max_connections and RAM"],
  },
  {
    code: "1114",
    title: "The table is full",
    rootCause: "The table {table:name} cannot grow: the disk or tablespace is full, an in-memory (MEMORY) or temporary table hit max_heap_table_size / tmp_table_size, or an InnoDB system tablespace has a fixed size.",
    immediateSolution: [
      { step: "Check free disk space and the limits", sql: "SHOW VARIABLES WHERE Variable_name IN ('max_heap_table_size','tmp_table_size','innodb_data_file_path');" },
      { step: "Free disk space, or raise the limit for MEMORY tables", sql: "SET GLOBAL max_heap_table_size = 268435456;" },
    ],
    prevention: ["Alert at 80% disk usage", "Use innodb_file_per_table with autoextend"],
  },
  {
    code: "1461",
    title: "Too many prepared statements",
    rootCause: "The server reached max_prepared_stmt_count: the application prepares statements without closing them (a prepared-statement leak).",
    immediateSolution: [
      { step: "Check the counters", sql: "SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count';\nSHOW VARIABLES LIKE 'max_prepared_stmt_count';" },
      { step: "Close statements after use in the application, or cache them per connection" },
    ],
    prevention: ["Monitor Prepared_stmt_count; use the driver's statement cache with a bound"],
  },
  {
    code: "1194",
    title: "Table is marked as crashed",
    rootCause: "A MyISAM/Aria table {table:name} was not closed cleanly (crash, disk full) and needs repair.",
    immediateSolution: [{ step: "Check and repair the table", sql: "CHECK TABLE {relation};\nREPAIR TABLE {relation};" }],
    prevention: ["Use InnoDB, which recovers automatically after a crash"],
  },
  {
    code: "1105",
    title: "Unknown error",
    rootCause: "The server or a storage engine reported an error without a specific code; the text of the message carries the real cause.",
    immediateSolution: [{ step: "Read the full message and the server's error log around this time" }],
    prevention: ["Keep the server on a current release; monitor the error log"],
  },
];
