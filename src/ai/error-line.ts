/**
 * Recognises an error as users paste it: a psql / mysql CLI line, a node driver error
 * (mysql2, pg), a bare SQLSTATE or MySQL number, a condition or ER_ name, or a bare
 * server message. When no code is given, the code is inferred from the message shape.
 */
import type { Protocol } from "../errors/types.js";
import { lookup, lookupByName } from "./knowledge-base.js";

export interface ParsedErrorLine {
  protocol: Protocol;
  code?: string;
  /** the SQLSTATE a MySQL line carried, when present */
  sqlstate?: string;
  message: string;
}

export class ErrorLineParseError extends Error {
  constructor(text: string) {
    super(
      `cannot recognise an error in ${JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)}: ` +
        "give a SQLSTATE (40P01), a MySQL error number (1213), a condition or ER_ name, or the error line itself",
    );
    this.name = "ErrorLineParseError";
  }
}

/** PostgreSQL message shapes → SQLSTATE, first match wins. */
const PG_SHAPES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^relation ".*" does not exist/, "42P01"],
  [/^missing FROM-clause entry for table/, "42P01"],
  [/^column .* does not exist/, "42703"],
  [/^syntax error at (or near|end of input)/, "42601"],
  [/^unterminated quoted (string|identifier)/, "42601"],
  [/^duplicate key value violates unique constraint/, "23505"],
  [/^deadlock detected/, "40P01"],
  [/^could not serialize access/, "40001"],
  [/^null value in column .* violates not-null constraint/, "23502"],
  [/violates foreign key constraint/, "23503"],
  [/violates check constraint/, "23514"],
  [/violates exclusion constraint/, "23P01"],
  [/^database ".*" does not exist/, "3D000"],
  [/^schema ".*" does not exist/, "3F000"],
  [/^role ".*" does not exist/, "28000"],
  [/^no pg_hba\.conf entry/, "28000"],
  [/^password authentication failed for user/, "28P01"],
  [/^permission denied/, "42501"],
  [/^must be owner of/, "42501"],
  [/^current transaction is aborted/, "25P02"],
  [/^cannot execute .* in a read-only transaction/, "25006"],
  [/^canceling statement due to lock timeout/, "55P03"],
  [/^could not obtain lock/, "55P03"],
  [/^canceling statement due to (statement timeout|user request)/, "57014"],
  [/^terminating connection due to administrator command/, "57P01"],
  [/^terminating connection because of crash of another server process/, "57P02"],
  [
    /^the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)/,
    "57P03",
  ],
  [/^sorry, too many clients already/, "53300"],
  [/^too many connections for (role|database)/, "53300"],
  [/^remaining connection slots are reserved/, "53300"],
  [/^division by zero/, "22012"],
  [/^invalid input (syntax|value) for/, "22P02"],
  [/^value too long for type/, "22001"],
  [/^(smallint|integer|bigint) out of range/, "22003"],
  [/^numeric field overflow/, "22003"],
  [/^date\/time field value out of range/, "22008"],
  [/^invalid byte sequence for encoding/, "22021"],
  [/^relation ".*" already exists/, "42P07"],
  [/^(function|operator) .*does not exist/, "42883"],
  [/^column ".*" is of type .* but expression is of type/, "42804"],
  [/^column reference ".*" is ambiguous/, "42702"],
  [/^there is no unique or exclusion constraint matching the ON CONFLICT/, "42P10"],
  [/No space left on device/, "53100"],
  [/^out of (shared )?memory/, "53200"],
  [/^server closed the connection unexpectedly/, "08006"],
  [/Connection refused/, "08001"],
];

/** MySQL/MariaDB message shapes → error number, first match wins. */
const MYSQL_SHAPES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^Table '.*' doesn't exist/, "1146"],
  [/^Unknown column '.*' in '/, "1054"],
  [/^Unknown database '/, "1049"],
  [/^You have an error in your SQL syntax/, "1064"],
  [/^Access denied for user '.*'@'.*' to database '/, "1044"],
  [/^Access denied for user '.*'@'.*' \(using password/, "1045"],
  [/^Access denied; you need/, "1227"],
  [/command denied to user '.*' for column/, "1143"],
  [/command denied to user/, "1142"],
  [/^Deadlock found when trying to get lock/, "1213"],
  [/^Lock wait timeout exceeded/, "1205"],
  [/^Duplicate entry '.*' for key/, "1062"],
  [/^Column '.*' cannot be null/, "1048"],
  [/^Cannot delete or update a parent row: a foreign key constraint fails \(/, "1451"],
  [/^Cannot add or update a child row: a foreign key constraint fails \(/, "1452"],
  [/^CONSTRAINT `.*` failed for/, "4025"],
  [/^Check constraint '.*' is violated/, "3819"],
  [/^Too many connections/, "1040"],
  [/already has more than 'max_user_connections'/, "1203"],
  [/^Data too long for column/, "1406"],
  [/^Out of range value for column/, "1264"],
  [/^Data truncated for column/, "1265"],
  [/^Incorrect .* value: '.*' for column/, "1366"],
  [/^Truncated incorrect/, "1292"],
  [/^Incorrect (date|datetime|time) value/, "1292"],
  [/^Division by 0/, "1365"],
  [/^Query execution was interrupted \(max_statement_time exceeded\)/, "1969"],
  [/^Query execution was interrupted, maximum statement execution time exceeded/, "3024"],
  [/^Query execution was interrupted/, "1317"],
  [/server is running with the .*read-only option/, "1290"],
  [/^Cannot execute statement in a READ ONLY transaction/, "1792"],
  [/^Field '.*' doesn't have a default value/, "1364"],
  [/^Table '.*' already exists/, "1050"],
  [/^Unknown table '/, "1051"],
  [/^No database selected/, "1046"],
  [/^Server shutdown in progress/, "1053"],
  [/^Connection was killed/, "1927"],
  [/^The table '.*' is full/, "1114"],
  [/^Disk full/, "1021"],
];

/** SQLSTATE inferred from a PostgreSQL message, or undefined. */
export function inferPostgresCode(message: string): string | undefined {
  const m = message.trim();
  for (const [re, code] of PG_SHAPES) if (re.test(m)) return code;
  return undefined;
}

/** Error number inferred from a MySQL/MariaDB message, or undefined. */
export function inferMysqlCode(message: string): string | undefined {
  const m = message.trim();
  for (const [re, code] of MYSQL_SHAPES) if (re.test(m)) return code;
  return undefined;
}

export function inferCode(protocol: Protocol, message: string): string | undefined {
  return protocol === "postgres" ? inferPostgresCode(message) : inferMysqlCode(message);
}

const SQLSTATE_RE = /^[0-9A-Z]{5}$/;

function withCode(protocol: Protocol, message: string, code: string | undefined, sqlstate?: string) {
  const r: ParsedErrorLine = { protocol, message };
  const c = code ?? inferCode(protocol, message);
  if (c !== undefined) r.code = c;
  if (sqlstate !== undefined) r.sqlstate = sqlstate;
  return r;
}

/**
 * Like parseErrorLine, but null when nothing is recognised. `protocol` disambiguates a
 * bare number (23505 is a SQLSTATE unless the protocol says mysql).
 */
export function tryParseErrorLine(text: string, protocol?: Protocol): ParsedErrorLine | null {
  const t = text.trim();
  if (t === "") return null;
  const lines = t.split(/\r?\n/);

  // MySQL / MariaDB CLI: ERROR 1146 (42S02) at line 1: Table 'shop.orders' doesn't exist
  for (const line of lines) {
    const m = /ERROR (\d{1,5}) \(([0-9A-Z]{5})\)(?: at line \d+)?: (.*)$/.exec(line);
    if (m) return withCode("mysql", m[3] as string, m[1] as string, m[2] as string);
    const m2 = /ERROR (\d{1,5}): (.*)$/.exec(line);
    if (m2 && protocol !== "postgres") return withCode("mysql", m2[2] as string, m2[1] as string);
  }

  // psql: [psql:file:3: ]ERROR:  [42P01: ]relation "orders" does not exist (LINE / DETAIL lines may follow);
  // libpq connection failures: ...failed: FATAL:  database "nope" does not exist
  for (const line of lines) {
    const m = /\b(ERROR|FATAL|PANIC):\s+(?:([0-9A-Z]{5}):\s+)?(.*)$/.exec(line);
    if (m) return withCode("postgres", (m[3] as string).trim(), m[2]);
  }

  // node drivers: mysql2 "Error: Table 'x' doesn't exist" with code: 'ER_NO_SUCH_TABLE' / errno: 1146,
  // the older "Error: ER_NO_SUCH_TABLE: Table 'x' doesn't exist", pg "error: relation ... " with code: '42P01'.
  const erName = /\b(ER_[A-Z0-9_]+)\b/.exec(t)?.[1];
  const errno = /\berrno:\s*(\d{1,5})\b/.exec(t)?.[1];
  const sqlStateField = /\bsqlState:\s*'([0-9A-Z]{5})'/.exec(t)?.[1];
  const firstMessage = (/^(?:\w*Error|error):\s*(.*)$/m.exec(t)?.[1] ?? (lines[0] as string)).trim();
  const sqlMessage = /\bsqlMessage:\s*(["'])(.*)\1,?\s*$/m.exec(t)?.[2];
  if (erName !== undefined || errno !== undefined) {
    let code = errno;
    if (code === undefined && erName !== undefined) {
      const rec = lookupByName(erName);
      if (rec?.protocol === "mysql") code = rec.code;
    }
    const message = sqlMessage ?? firstMessage.replace(/^ER_[A-Z0-9_]+:\s*/, "");
    if (code !== undefined || erName !== undefined) return withCode("mysql", message, code, sqlStateField);
  }
  const pgCodeField = /\bcode:\s*'([0-9A-Z]{5})'/.exec(t)?.[1];
  if (pgCodeField !== undefined && /^error:/m.test(t)) return withCode("postgres", firstMessage, pgCodeField);

  // a bare code or name
  if (lines.length === 1) {
    if (/^\d{1,5}$/.test(t)) {
      if (protocol === "postgres" || (protocol === undefined && t.length === 5 && lookup("postgres", t)))
        return { protocol: "postgres", code: t, message: "" };
      return { protocol: "mysql", code: String(Number(t)), message: "" };
    }
    if (SQLSTATE_RE.test(t.toUpperCase()) && /\d/.test(t) && protocol !== "mysql" && lookup("postgres", t))
      return { protocol: "postgres", code: t.toUpperCase(), message: "" };
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) {
      const rec = lookupByName(t);
      if (rec) return { protocol: rec.protocol, code: rec.code, message: "" };
    }
  }

  // a bare server message
  const first = (lines[0] as string).replace(/^(?:\w*Error|error):\s*/, "").trim();
  if (protocol !== "mysql") {
    const pg = inferPostgresCode(first);
    if (pg !== undefined) return { protocol: "postgres", code: pg, message: first };
  }
  if (protocol !== "postgres") {
    const my = inferMysqlCode(first);
    if (my !== undefined) return { protocol: "mysql", code: my, message: first };
  }
  return null;
}

/** Parses an error line; throws ErrorLineParseError when nothing is recognised. */
export function parseErrorLine(text: string, protocol?: Protocol): ParsedErrorLine {
  const r = tryParseErrorLine(text, protocol);
  if (r === null) throw new ErrorLineParseError(text);
  return r;
}
