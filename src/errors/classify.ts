/**
 * errorType for every error code of PostgreSQL and MySQL/MariaDB (PRODUCT.md section 3).
 *
 * The tables are built once at module load from the official code lists kept in
 * src/errors/data (see scripts/gen-error-lists.mjs); each call is then an array or Map
 * lookup with no allocation.
 *
 * ## PostgreSQL: SQLSTATE classes (exact codes first, then the class)
 *
 * | class | errorType | why |
 * |---|---|---|
 * | 00 01 02 03 | UNKNOWN | success, warnings, no data: not errors a client fails on |
 * | 08 | CONNECTION_ERROR | connection exception |
 * | 09 | UNKNOWN | triggered action exception: application logic |
 * | 0A | SYNTAX_ERROR | feature not supported: the statement cannot run as written on this server |
 * | 0B | UNKNOWN | invalid transaction initiation (SET TRANSACTION too late): client logic |
 * | 0F 0Z | UNKNOWN | locator / diagnostics exceptions |
 * | 0L 0P | ACCESS_DENIED | invalid grantor / invalid role specification |
 * | 20 | DATA_ERROR | CASE not found: depends on the values reaching the CASE |
 * | 21 | DATA_ERROR | cardinality violation (subquery returned more than one row): data-dependent |
 * | 22 | DATA_ERROR | data exception |
 * | 23 | CONSTRAINT_VIOLATION | 23505 → DUPLICATE_KEY |
 * | 24 26 34 | UNKNOWN | cursor / prepared-statement name state: client or pooler logic |
 * | 25 | UNKNOWN | 25006 → READ_ONLY; 25P03 (idle-in-transaction timeout, session ended) → CONNECTION_ERROR; 25P02 follows an earlier error and is not a pattern of its own |
 * | 27 | CONSTRAINT_VIOLATION | triggered data change violation: an integrity rule |
 * | 28 | ACCESS_DENIED | invalid authorization specification |
 * | 2B | CONSTRAINT_VIOLATION | dependent objects still exist: a dependency blocks the statement |
 * | 2D 2F 38 39 3B | UNKNOWN | transaction termination / routine / savepoint errors: application logic |
 * | 3D | DATABASE_NOT_FOUND | invalid catalog name |
 * | 3F | DATABASE_NOT_FOUND | schema does not exist: a MySQL schema is a database (1049), same pattern family |
 * | 40 | SERIALIZATION_FAILURE | transaction rolled back, retry it; 40P01 → DEADLOCK; 40002 (deferred constraint at COMMIT) → CONSTRAINT_VIOLATION; 40003 (completion unknown) → UNKNOWN, never retried blindly |
 * | 42 | SYNTAX_ERROR | the statement as written is wrong; exact: 42P01 TABLE_NOT_FOUND, 42703 COLUMN_NOT_FOUND, 42501 ACCESS_DENIED; "already exists" (42P04 42P06 42P07 42701 42710 42712 42723 42P03 42P05) → UNKNOWN: neither a syntax error nor a duplicate row key |
 * | 44 | CONSTRAINT_VIOLATION | WITH CHECK OPTION violation |
 * | 53 | RESOURCE_EXHAUSTED | 53300 → TOO_MANY_CONNECTIONS |
 * | 54 | RESOURCE_EXHAUSTED | program limit exceeded (stack depth, too many columns): a hard limit was hit |
 * | 55 | UNKNOWN | object not in prerequisite state; 55P03 → LOCK_WAIT_TIMEOUT |
 * | 57 | CONNECTION_ERROR | operator intervention ends the session (57P01-05); 57014 → QUERY_TIMEOUT |
 * | 58 | UNKNOWN | system error outside PostgreSQL (I/O, files) |
 * | 72 | SERIALIZATION_FAILURE | snapshot too old: a retry with a fresh snapshot succeeds |
 * | F0 | UNKNOWN | configuration file error |
 * | HV | UNKNOWN | foreign data wrapper: about a remote server, not our connection |
 * | P0 | UNKNOWN | PL/pgSQL RAISE / ASSERT: application-defined; P0002 P0003 (no/too many rows) → DATA_ERROR |
 * | XX | UNKNOWN | internal error, corruption |
 *
 * ## MySQL / MariaDB: error numbers
 *
 * 1. The explicit table below (PRODUCT examples and numbers placed by hand).
 * 2. Rules over the error NAME from the official lists (ER_NO_SUCH_TABLE, ER_LOCK_*, ...), per
 *    flavor, because MySQL and MariaDB reuse some numbers for different errors (4025 is
 *    ER_CONSTRAINT_FAILED on MariaDB, an InnoDB option error on MySQL).
 * 3. The SQLSTATE the server sent (or the one the list gives), by the same class rules as
 *    PostgreSQL plus MySQL's own 42Sxx / 70100 states.
 * 4. UNKNOWN.
 *
 * Without a flavor, a number that means different errors on the two servers is resolved by
 * the SQLSTATE sent (MariaDB's list gives one per error), else the MariaDB meaning is used
 * when it is placed (the PRODUCT examples 1969 and 4025 are MariaDB's), else MySQL's.
 */
import mysqlErrors from "./data/mysql-errors.json" with { type: "json" };
import { ERROR_TYPES, type ErrorType, type Protocol } from "./types.js";

export type MysqlFlavor = "mysql" | "mariadb";

export const PROXY_CODES = {
  UPSTREAM_REFUSED: "PROXY_UPSTREAM_REFUSED",
  UPSTREAM_LOST: "PROXY_UPSTREAM_LOST",
  UPSTREAM_TIMEOUT: "PROXY_UPSTREAM_TIMEOUT",
} as const;

// ---------------------------------------------------------------- PostgreSQL / SQLSTATE

/** Every SQLSTATE class of the official list, decided (see the table above). */
export const SQLSTATE_CLASS_TYPES: Readonly<Record<string, ErrorType>> = {
  "00": "UNKNOWN",
  "01": "UNKNOWN",
  "02": "UNKNOWN",
  "03": "UNKNOWN",
  "08": "CONNECTION_ERROR",
  "09": "UNKNOWN",
  "0A": "SYNTAX_ERROR",
  "0B": "UNKNOWN",
  "0F": "UNKNOWN",
  "0L": "ACCESS_DENIED",
  "0P": "ACCESS_DENIED",
  "0Z": "UNKNOWN",
  "20": "DATA_ERROR",
  "21": "DATA_ERROR",
  "22": "DATA_ERROR",
  "23": "CONSTRAINT_VIOLATION",
  "24": "UNKNOWN",
  "25": "UNKNOWN",
  "26": "UNKNOWN",
  "27": "CONSTRAINT_VIOLATION",
  "28": "ACCESS_DENIED",
  "2B": "CONSTRAINT_VIOLATION",
  "2D": "UNKNOWN",
  "2F": "UNKNOWN",
  "34": "UNKNOWN",
  "38": "UNKNOWN",
  "39": "UNKNOWN",
  "3B": "UNKNOWN",
  "3D": "DATABASE_NOT_FOUND",
  "3F": "DATABASE_NOT_FOUND",
  "40": "SERIALIZATION_FAILURE",
  "42": "SYNTAX_ERROR",
  "44": "CONSTRAINT_VIOLATION",
  "53": "RESOURCE_EXHAUSTED",
  "54": "RESOURCE_EXHAUSTED",
  "55": "UNKNOWN",
  "57": "CONNECTION_ERROR",
  "58": "UNKNOWN",
  "72": "SERIALIZATION_FAILURE",
  F0: "UNKNOWN",
  HV: "UNKNOWN",
  P0: "UNKNOWN",
  XX: "UNKNOWN",
};

/** SQLSTATEs whose errorType differs from their class's. */
export const SQLSTATE_EXACT_TYPES: Readonly<Record<string, ErrorType>> = {
  "23505": "DUPLICATE_KEY",
  "25006": "READ_ONLY",
  "25P03": "CONNECTION_ERROR", // idle_in_transaction_session_timeout: the server ends the session
  "25P04": "CONNECTION_ERROR", // transaction_timeout (PostgreSQL 17): the server ends the session
  "28000": "ACCESS_DENIED",
  "28P01": "ACCESS_DENIED",
  "40001": "SERIALIZATION_FAILURE",
  "40002": "CONSTRAINT_VIOLATION",
  "40003": "UNKNOWN",
  "40P01": "DEADLOCK",
  "42501": "ACCESS_DENIED",
  "42601": "SYNTAX_ERROR",
  "42703": "COLUMN_NOT_FOUND",
  "42P01": "TABLE_NOT_FOUND",
  "42P03": "UNKNOWN", // duplicate_cursor
  "42P04": "UNKNOWN", // duplicate_database
  "42P05": "UNKNOWN", // duplicate_prepared_statement
  "42P06": "UNKNOWN", // duplicate_schema
  "42P07": "UNKNOWN", // duplicate_table
  "42701": "UNKNOWN", // duplicate_column
  "42710": "UNKNOWN", // duplicate_object
  "42712": "UNKNOWN", // duplicate_alias
  "42723": "UNKNOWN", // duplicate_function
  "53300": "TOO_MANY_CONNECTIONS",
  "55P03": "LOCK_WAIT_TIMEOUT",
  "57014": "QUERY_TIMEOUT",
  P0002: "DATA_ERROR",
  P0003: "DATA_ERROR",
};

/** MySQL's own SQLSTATEs (not in the standard classes' sense). */
const MYSQL_SQLSTATE_TYPES: Readonly<Record<string, ErrorType>> = {
  "42S01": "UNKNOWN", // table already exists
  "42S02": "TABLE_NOT_FOUND",
  "42S11": "UNKNOWN", // index already exists
  "42S12": "SYNTAX_ERROR", // index not found
  "42S21": "UNKNOWN", // column already exists
  "42S22": "COLUMN_NOT_FOUND",
  "70100": "QUERY_TIMEOUT", // ER_QUERY_INTERRUPTED
  "08S01": "CONNECTION_ERROR",
  "40001": "DEADLOCK", // MySQL sends 40001 with ER_LOCK_DEADLOCK (1213)
};

// Index types by number so the tables are typed arrays (0 = not placed).
const TYPE_INDEX = new Map<ErrorType, number>(ERROR_TYPES.map((t, i) => [t, i + 1]));
function idx(t: ErrorType): number {
  return TYPE_INDEX.get(t) as number;
}

const classTable = new Uint8Array(128 * 128);
for (const [cls, t] of Object.entries(SQLSTATE_CLASS_TYPES)) {
  classTable[cls.charCodeAt(0) * 128 + cls.charCodeAt(1)] = idx(t);
}
const pgExact = new Map<string, ErrorType>(Object.entries(SQLSTATE_EXACT_TYPES));
const mysqlStateExact = new Map<string, ErrorType>(Object.entries(MYSQL_SQLSTATE_TYPES));

function classOf(sqlstate: string): number {
  if (sqlstate.length < 2) return 0;
  const a = sqlstate.charCodeAt(0);
  const b = sqlstate.charCodeAt(1);
  if (a > 127 || b > 127) return 0;
  return classTable[a * 128 + b] ?? 0;
}

export function classifyPostgres(sqlstate: string): ErrorType {
  const exact = pgExact.get(sqlstate);
  if (exact !== undefined) return exact;
  const c = classOf(sqlstate);
  return c === 0 ? "UNKNOWN" : (ERROR_TYPES[c - 1] as ErrorType);
}

const MYSQL_CLASS_21 = 50 * 128 + 49; // "21"

/**
 * SQLSTATE fallback for MySQL: its own states, then the standard classes. 0 when not placed.
 * MySQL sends class 21 for statement-shape errors (column count mismatch, operand should
 * contain 1 column), so there it means SYNTAX_ERROR; ER_SUBQUERY_NO_1_ROW is placed by name.
 */
function mysqlSqlstateIndex(sqlstate: string): number {
  const own = mysqlStateExact.get(sqlstate);
  if (own !== undefined) return idx(own);
  if (sqlstate.length >= 2 && sqlstate.charCodeAt(0) * 128 + sqlstate.charCodeAt(1) === MYSQL_CLASS_21) {
    return idx("SYNTAX_ERROR");
  }
  const exact = pgExact.get(sqlstate);
  if (exact !== undefined) return idx(exact);
  return classOf(sqlstate);
}

// ---------------------------------------------------------------- MySQL / MariaDB

/**
 * Placed by hand, by error NAME (the number in the comment): the PRODUCT table first, then
 * errors whose name rules or SQLSTATE would misplace them. By name because MySQL and MariaDB
 * reuse some numbers for different errors; a test checks every name exists in the lists.
 */
export const MYSQL_EXPLICIT: Readonly<Record<string, ErrorType>> = {
  ER_NO_SUCH_TABLE: "TABLE_NOT_FOUND", // 1146
  ER_BAD_FIELD_ERROR: "COLUMN_NOT_FOUND", // 1054
  ER_BAD_DB_ERROR: "DATABASE_NOT_FOUND", // 1049
  ER_PARSE_ERROR: "SYNTAX_ERROR", // 1064
  ER_SYNTAX_ERROR: "SYNTAX_ERROR", // 1149
  ER_DBACCESS_DENIED_ERROR: "ACCESS_DENIED", // 1044
  ER_ACCESS_DENIED_ERROR: "ACCESS_DENIED", // 1045
  ER_TABLEACCESS_DENIED_ERROR: "ACCESS_DENIED", // 1142
  ER_COLUMNACCESS_DENIED_ERROR: "ACCESS_DENIED", // 1143
  ER_SPECIFIC_ACCESS_DENIED_ERROR: "ACCESS_DENIED", // 1227
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: "ACCESS_DENIED", // 1698
  ER_SERVER_SHUTDOWN: "CONNECTION_ERROR", // 1053
  ER_CONNECTION_KILLED: "CONNECTION_ERROR", // 1927
  ER_CON_COUNT_ERROR: "TOO_MANY_CONNECTIONS", // 1040
  ER_TOO_MANY_USER_CONNECTIONS: "TOO_MANY_CONNECTIONS", // 1203
  ER_USER_LIMIT_REACHED: "TOO_MANY_CONNECTIONS", // 1226
  ER_LOCK_DEADLOCK: "DEADLOCK", // 1213
  ER_LOCK_WAIT_TIMEOUT: "LOCK_WAIT_TIMEOUT", // 1205
  ER_DUP_ENTRY: "DUPLICATE_KEY", // 1062
  ER_DUP_ENTRY_WITH_KEY_NAME: "DUPLICATE_KEY", // 1586
  ER_BAD_NULL_ERROR: "CONSTRAINT_VIOLATION", // 1048
  ER_ROW_IS_REFERENCED_2: "CONSTRAINT_VIOLATION", // 1451
  ER_NO_REFERENCED_ROW_2: "CONSTRAINT_VIOLATION", // 1452
  ER_CHECK_CONSTRAINT_VIOLATED: "CONSTRAINT_VIOLATION", // 3819 (MySQL)
  ER_OPTION_PREVENTS_STATEMENT: "READ_ONLY", // 1290 (--read-only)
  ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION: "READ_ONLY", // 1792
  ER_QUERY_INTERRUPTED: "QUERY_TIMEOUT", // 1317
  ER_WARN_DATA_OUT_OF_RANGE: "DATA_ERROR", // 1264
  WARN_DATA_TRUNCATED: "DATA_ERROR", // 1265
  ER_TRUNCATED_WRONG_VALUE: "DATA_ERROR", // 1292
  ER_DIVISION_BY_ZERO: "DATA_ERROR", // 1365
  ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: "DATA_ERROR", // 1366
  ER_DATA_TOO_LONG: "DATA_ERROR", // 1406
  ER_DISK_FULL: "RESOURCE_EXHAUSTED", // 1021
  ER_OUT_OF_RESOURCES: "RESOURCE_EXHAUSTED", // 1041
  ER_RECORD_FILE_FULL: "RESOURCE_EXHAUSTED", // 1114
  // Placed by hand beyond the PRODUCT table:
  ER_CHECKREAD: "SERIALIZATION_FAILURE", // 1020 MariaDB snapshot-isolation write conflict, retry the transaction
  ER_TABLE_DEF_CHANGED: "SERIALIZATION_FAILURE", // 1412 "please retry transaction"
  ER_NON_UNIQ_ERROR: "SYNTAX_ERROR", // 1052 ambiguous column, sent with SQLSTATE 23000
  ER_WRONG_VALUE_COUNT_ON_ROW: "SYNTAX_ERROR", // 1136 column count mismatch (21S01)
  ER_OPERAND_COLUMNS: "SYNTAX_ERROR", // 1241 (21000)
  ER_SUBQUERY_NO_1_ROW: "DATA_ERROR", // 1242 , like PostgreSQL class 21
  ER_NO_DB_ERROR: "DATABASE_NOT_FOUND", // 1046 no database selected
  ER_DB_DROP_EXISTS: "DATABASE_NOT_FOUND", // 1008 can't drop, database doesn't exist
  ER_NO_DEFAULT_FOR_FIELD: "CONSTRAINT_VIOLATION", // 1364 NOT NULL column left out (strict mode)
  ER_VIEW_CHECK_FAILED: "CONSTRAINT_VIOLATION", // 1369 WITH CHECK OPTION
  ER_NET_PACKET_TOO_LARGE: "RESOURCE_EXHAUSTED", // 1153 max_allowed_packet
  ER_UNKNOWN_COM_ERROR: "UNKNOWN", // 1047 a client bug, not a link failure
  ER_STATEMENT_TIMEOUT: "QUERY_TIMEOUT", // MariaDB 1969, max_statement_time
  ER_QUERY_TIMEOUT: "QUERY_TIMEOUT", // MySQL 3024, max_execution_time
  ER_CONSTRAINT_FAILED: "CONSTRAINT_VIOLATION", // MariaDB 4025, CHECK constraint
  ER_CLIENT_INTERACTION_TIMEOUT: "CONNECTION_ERROR", // MySQL 4031, wait_timeout hit
  ER_SERVER_OFFLINE_MODE: "CONNECTION_ERROR",
  ER_LOCK_NOWAIT: "LOCK_WAIT_TIMEOUT", // like 55P03 lock_not_available
  ER_LOCK_ABORTED: "LOCK_WAIT_TIMEOUT",
  ER_XA_RBDEADLOCK: "DEADLOCK",
  ER_XA_RBTIMEOUT: "LOCK_WAIT_TIMEOUT",
  ER_LOCK_TABLE_FULL: "RESOURCE_EXHAUSTED",
  ER_TOO_MANY_CONCURRENT_TRXS: "RESOURCE_EXHAUSTED",
  ER_CAPACITY_EXCEEDED: "RESOURCE_EXHAUSTED",
  ER_STACK_OVERRUN: "RESOURCE_EXHAUSTED",
  ER_STACK_OVERRUN_NEED_MORE: "RESOURCE_EXHAUSTED",
  ER_CANT_CREATE_THREAD: "RESOURCE_EXHAUSTED",
  ER_OUTOFMEMORY: "RESOURCE_EXHAUSTED",
  ER_OUT_OF_SORTMEMORY: "RESOURCE_EXHAUSTED",
  ER_TABLE_EXISTS_ERROR: "UNKNOWN", // already exists: see PostgreSQL class 42
  ER_DB_CREATE_EXISTS: "UNKNOWN",
  ER_DUP_FIELDNAME: "UNKNOWN",
  ER_DUP_KEYNAME: "UNKNOWN",
  ER_SP_ALREADY_EXISTS: "UNKNOWN",
  ER_TRG_ALREADY_EXISTS: "UNKNOWN",
  ER_EVENT_ALREADY_EXISTS: "UNKNOWN",
  ER_NO_SUCH_TABLE_IN_ENGINE: "TABLE_NOT_FOUND",
  ER_BAD_TABLE_ERROR: "TABLE_NOT_FOUND", // DROP TABLE of a table that does not exist
  ER_UNKNOWN_TABLE: "TABLE_NOT_FOUND",
  ER_KEY_COLUMN_DOES_NOT_EXIST: "COLUMN_NOT_FOUND",
  ER_KEY_COLUMN_DOES_NOT_EXITS: "COLUMN_NOT_FOUND",
  ER_EMPTY_QUERY: "SYNTAX_ERROR",
  ER_NOT_SUPPORTED_YET: "SYNTAX_ERROR", // like 0A000
  ER_OPEN_AS_READONLY: "READ_ONLY",
  ER_READ_ONLY_MODE: "READ_ONLY",
  ER_INNODB_READ_ONLY: "READ_ONLY",
  ER_READ_ONLY_TRANSACTION: "READ_ONLY",
  ER_HOST_NOT_PRIVILEGED: "ACCESS_DENIED",
  ER_HOST_IS_BLOCKED: "ACCESS_DENIED",
  ER_ACCOUNT_HAS_BEEN_LOCKED: "ACCESS_DENIED",
  ER_MUST_CHANGE_PASSWORD: "ACCESS_DENIED",
  ER_MUST_CHANGE_PASSWORD_LOGIN: "ACCESS_DENIED",
  ER_PASSWORD_ANONYMOUS_USER: "ACCESS_DENIED",
  ER_PASSWORD_NOT_ALLOWED: "ACCESS_DENIED",
  ER_BAD_HOST_ERROR: "CONNECTION_ERROR",
  ER_HANDSHAKE_ERROR: "CONNECTION_ERROR",
  ER_ABORTING_CONNECTION: "CONNECTION_ERROR",
  ER_NEW_ABORTING_CONNECTION: "CONNECTION_ERROR",
  ER_NORMAL_SHUTDOWN: "CONNECTION_ERROR",
  ER_SHUTDOWN_COMPLETE: "CONNECTION_ERROR",
  ER_DATA_OUT_OF_RANGE: "DATA_ERROR",
  ER_WARN_NULL_TO_NOTNULL: "CONSTRAINT_VIOLATION",
  ER_BAD_NULL_ERROR_NOT_IGNORED: "CONSTRAINT_VIOLATION",
  ER_DUP_UNKNOWN_IN_INDEX: "DUPLICATE_KEY", // 1859 duplicate entry, key value not shown
  ER_NOT_SUPPORTED_AUTH_MODE: "ACCESS_DENIED", // 1251: a reconnect would fail the same way
  ER_NO_SUCH_DB: "DATABASE_NOT_FOUND",
  ER_SESSION_WAS_KILLED: "CONNECTION_ERROR",
  ER_LOCKING_SERVICE_TIMEOUT: "LOCK_WAIT_TIMEOUT",
  ER_ENGINE_OUT_OF_MEMORY: "RESOURCE_EXHAUSTED",
  ER_STD_BAD_ALLOC_ERROR: "RESOURCE_EXHAUSTED",
  ER_INNODB_UNDO_LOG_FULL: "RESOURCE_EXHAUSTED",
  ER_TRANS_CACHE_FULL: "RESOURCE_EXHAUSTED",
  ER_STMT_CACHE_FULL: "RESOURCE_EXHAUSTED",
  ER_TOO_MANY_TABLES: "RESOURCE_EXHAUSTED", // a hard limit, like PostgreSQL class 54
  ER_TOO_MANY_FIELDS: "RESOURCE_EXHAUSTED",
  ER_IT_IS_A_VIEW: "SYNTAX_ERROR", // 1965 wrong object type (like 42809), though sent with 42S02
};

/** Rules over error names, first match wins; checked after the explicit tables. */
const MYSQL_NAME_RULES: ReadonlyArray<readonly [RegExp, ErrorType]> = [
  [/^ER_NO_SUCH_TABLE/, "TABLE_NOT_FOUND"],
  [/^ER_(ROW_IS_REFERENCED|NO_REFERENCED_ROW)/, "CONSTRAINT_VIOLATION"],
  [/^ER_(DUP_ENTRY|DUP_UNIQUE|DUP_KEY$|FOREIGN_DUPLICATE_KEY)/, "DUPLICATE_KEY"],
  [/DEADLOCK/, "DEADLOCK"],
  [/^ER_LOCK_WAIT_TIMEOUT/, "LOCK_WAIT_TIMEOUT"],
  [/(^|_)(ACCESS_DENIED|DENIED_ERROR|DENIED)(_|$)/, "ACCESS_DENIED"],
  [/^ER_TOO_MANY_(USER_)?CONNECTIONS|^ER_CON_COUNT/, "TOO_MANY_CONNECTIONS"],
  [
    /^ER_NET_(READ|WRITE|ERROR|UNCOMPRESS|FCNTL|PACKETS_OUT_OF_ORDER|READ_INTERRUPTED|WRITE_INTERRUPTED)/,
    "CONNECTION_ERROR",
  ],
  [
    /^ER_(DISK_FULL|OUT_OF_RESOURCES|RECORD_FILE_FULL|OUTOFMEMORY|OUT_OF_SORTMEMORY|OUT_OF_MEMORY)/,
    "RESOURCE_EXHAUSTED",
  ],
  [
    /^ER_(TRUNCATED_WRONG_VALUE|WARN_DATA_OUT_OF_RANGE|DATA_TOO_LONG|DIVISION_BY_ZERO|INVALID_JSON_(TEXT|VALUE|CHARSET)|DATETIME_FUNCTION_OVERFLOW|INVALID_CHARACTER_STRING|WRONG_VALUE_FOR_TYPE|NUMERIC_JSON_VALUE_OUT_OF_RANGE)/,
    "DATA_ERROR",
  ],
];

const MAX_MYSQL_ERRNO = 0x10000;
const flavorTables: Record<MysqlFlavor, Uint8Array> = {
  mysql: new Uint8Array(MAX_MYSQL_ERRNO),
  mariadb: new Uint8Array(MAX_MYSQL_ERRNO),
};
/** The SQLSTATE the list gives each number, per flavor (used to tell reused numbers apart). */
const flavorStates: Record<MysqlFlavor, Map<number, string>> = { mysql: new Map(), mariadb: new Map() };
/** Numbers present in each flavor's list. */
const flavorKnown: Record<MysqlFlavor, Uint8Array> = {
  mysql: new Uint8Array(MAX_MYSQL_ERRNO),
  mariadb: new Uint8Array(MAX_MYSQL_ERRNO),
};

interface MysqlErrorEntry {
  code: number;
  name: string;
  sqlstate?: string;
  flavors: string[];
}

/** errorType index for one listed error, by the rules above (0 = not placed). */
function placeByName(name: string, sqlstate: string | undefined): number {
  const named = MYSQL_EXPLICIT[name];
  if (named !== undefined) return idx(named);
  for (const [re, t] of MYSQL_NAME_RULES) if (re.test(name)) return idx(t);
  if (sqlstate !== undefined) {
    const s = mysqlSqlstateIndex(sqlstate);
    if (s !== 0) return s;
  }
  return 0;
}

for (const e of mysqlErrors as MysqlErrorEntry[]) {
  if (e.code < 0 || e.code >= MAX_MYSQL_ERRNO) continue;
  const t = placeByName(e.name, e.sqlstate);
  for (const f of e.flavors as MysqlFlavor[]) {
    flavorKnown[f][e.code] = 1;
    if (t !== 0) flavorTables[f][e.code] = t;
    if (e.sqlstate !== undefined) flavorStates[f].set(e.code, e.sqlstate);
  }
}
export function isMysqlProgressReport(errno: number): boolean {
  return errno === 0xffff;
}

export function classifyMysql(errno: number, sqlstate?: string, flavor?: MysqlFlavor): ErrorType {
  let t = 0;
  if (errno >= 0 && errno < MAX_MYSQL_ERRNO && Number.isInteger(errno)) {
    if (flavor !== undefined) {
      t = flavorTables[flavor][errno] as number;
    } else {
      const my = flavorTables.mysql[errno] as number;
      const maria = flavorTables.mariadb[errno] as number;
      if (my === maria || maria === 0) t = my || maria;
      else if (my === 0) t = maria;
      else {
        // Reused number with two meanings: the SQLSTATE sent tells them apart.
        const myState = flavorStates.mysql.get(errno);
        const mariaState = flavorStates.mariadb.get(errno);
        if (sqlstate !== undefined && sqlstate === myState && sqlstate !== mariaState) t = my;
        else t = maria;
      }
    }
  }
  if (t === 0 && sqlstate !== undefined) t = mysqlSqlstateIndex(sqlstate);
  return t === 0 ? "UNKNOWN" : (ERROR_TYPES[t - 1] as ErrorType);
}

/** Parses a decimal error number without allocating; -1 when it is not one. */
function parseErrno(code: string): number {
  const n = code.length;
  if (n === 0 || n > 6) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = code.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

export function classify(protocol: Protocol, code: string, sqlstate?: string): ErrorType {
  if (code.startsWith("PROXY_")) return "CONNECTION_ERROR";
  if (protocol === "postgres") return classifyPostgres(code);
  const errno = parseErrno(code);
  if (errno < 0) return sqlstate !== undefined ? classifyMysql(-1, sqlstate) : "UNKNOWN";
  return classifyMysql(errno, sqlstate);
}
