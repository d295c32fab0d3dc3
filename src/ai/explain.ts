/**
 * Explains one error from the offline knowledge base: root cause, immediate solution (with
 * SQL in the right dialect, filled with the identifiers found in the message) and
 * prevention measures, plus retry safety.
 *
 * Seam for the LLM path: explainError is synchronous and knowledge-base only. An LLM-backed
 * analyser should call it first (as the fallback and as context), then return an
 * Explanation with source "llm" in the same shape; renderExplanation renders both.
 */
import { classify } from "../errors/classify.js";
import type { ErrorType, Protocol } from "../errors/types.js";
import { inferCode } from "./error-line.js";
import { genericRecord, type KbRecord, lookup, lookupByName, type RetryAdvice } from "./knowledge-base.js";

export interface ExplainInput {
  protocol: Protocol;
  /** SQLSTATE, MySQL error number, or a condition / ER_ name; inferred from the message when absent */
  code?: string | undefined;
  /** the SQLSTATE a MySQL server sent with the number, when known */
  sqlstate?: string | undefined;
  message: string;
  statement?: string | undefined;
}

export interface Identifiers {
  table?: string;
  column?: string;
  database?: string;
  schema?: string;
  user?: string;
  host?: string;
  constraint?: string;
}

export interface Explanation {
  source: "knowledge-base" | "llm";
  protocol: Protocol;
  /** "" when no code was given or inferable */
  code: string;
  errorType: ErrorType;
  /** condition name / ER_ name */
  name: string;
  title: string;
  /** the explanation was hand-written for this code (not the generic one for its errorType) */
  handWritten: boolean;
  rootCause: string;
  immediateSolution: { step: string; sql?: string }[];
  prevention: string[];
  retry: RetryAdvice;
  identifiers: Identifiers;
}

// ---------------------------------------------------------------- identifiers

function put(ids: Identifiers, key: keyof Identifiers, value: string | undefined): void {
  if (value === undefined || value === "" || ids[key] !== undefined) return;
  ids[key] = value;
}

function on(message: string, re: RegExp, fn: (m: RegExpExecArray) => void): void {
  const m = re.exec(message);
  if (m) fn(m);
}

/** "shop.orders" → [shop, orders]; "orders" → [undefined, orders] */
function splitQualified(name: string): [string | undefined, string] {
  const i = name.lastIndexOf(".");
  if (i <= 0 || i === name.length - 1) return [undefined, name];
  return [name.slice(0, i), name.slice(i + 1)];
}

function extractPostgres(message: string, ids: Identifiers): void {
  const q = '"((?:[^"]|"")+)"';
  const unq = (s: string | undefined) => s?.replace(/""/g, '"');
  // column "c" of relation "t"
  on(message, new RegExp(`column ${q} of relation ${q}`), (m) => {
    put(ids, "column", unq(m[1]));
    const [schema, table] = splitQualified(unq(m[2]) as string);
    put(ids, "schema", schema);
    put(ids, "table", table);
  });
  // column t.c does not exist (t is a table name or alias: keep only the column)
  on(message, /column ([A-Za-z_][\w$]*)\.([A-Za-z_][\w$]*) does not exist/, (m) => put(ids, "column", m[2]));
  on(message, new RegExp(`column ${q}`), (m) => put(ids, "column", unq(m[1])));
  on(message, new RegExp(`column reference ${q}`), (m) => put(ids, "column", unq(m[1])));
  for (const re of [new RegExp(`relation ${q}`), new RegExp(`table ${q}`)]) {
    on(message, re, (m) => {
      const [schema, table] = splitQualified(unq(m[1]) as string);
      put(ids, "schema", schema);
      put(ids, "table", table);
    });
  }
  // permission denied for table secret / relation x / schema s / database d / sequence s
  on(message, /permission denied for (table|relation|view|sequence|schema|database) "?([^\s"]+)"?/, (m) => {
    const kind = m[1] as string;
    const name = m[2] as string;
    if (kind === "schema") put(ids, "schema", name);
    else if (kind === "database") put(ids, "database", name);
    else {
      const [schema, table] = splitQualified(name);
      put(ids, "schema", schema);
      put(ids, "table", table);
    }
  });
  on(message, /must be owner of (?:table|relation|view) "?([^\s"]+)"?/, (m) => {
    const [schema, table] = splitQualified(m[1] as string);
    put(ids, "schema", schema);
    put(ids, "table", table);
  });
  on(message, new RegExp(`constraint ${q}`), (m) => put(ids, "constraint", unq(m[1])));
  on(message, new RegExp(`database ${q}`), (m) => put(ids, "database", unq(m[1])));
  on(message, new RegExp(`schema ${q}`), (m) => put(ids, "schema", unq(m[1])));
  on(message, new RegExp(`(?:role|user) ${q}`), (m) => put(ids, "user", unq(m[1])));
  on(message, /no pg_hba\.conf entry for host "([^"]+)"/, (m) => put(ids, "host", m[1]));
}

function extractMysql(message: string, ids: Identifiers): void {
  const bt = "`((?:[^`]|``)+)`";
  const unb = (s: string | undefined) => s?.replace(/``/g, "`");
  // `db`.`table`.`column` (1366 on MariaDB)
  on(message, new RegExp(`for column ${bt}\\.${bt}\\.${bt}`), (m) => {
    put(ids, "database", unb(m[1]));
    put(ids, "table", unb(m[2]));
    put(ids, "column", unb(m[3]));
  });
  // foreign keys: (`db`.`child`, CONSTRAINT `fk` FOREIGN KEY (`col`) REFERENCES `parent` (`id`))
  on(message, new RegExp(`\\(${bt}\\.${bt}, CONSTRAINT ${bt} FOREIGN KEY \\(${bt}`), (m) => {
    put(ids, "database", unb(m[1]));
    put(ids, "table", unb(m[2]));
    put(ids, "constraint", unb(m[3]));
    put(ids, "column", unb(m[4]));
  });
  // MariaDB check: CONSTRAINT `t.c` failed for `db`.`t`
  on(message, new RegExp(`CONSTRAINT ${bt} failed for ${bt}\\.${bt}`), (m) => {
    const table = unb(m[3]) as string;
    const c = unb(m[1]) as string;
    put(ids, "database", unb(m[2]));
    put(ids, "table", table);
    put(ids, "constraint", c.startsWith(`${table}.`) ? c.slice(table.length + 1) : c);
  });
  // command denied ... for table `db`.`t` (MariaDB) / for table 't' (MySQL)
  on(message, new RegExp(`for table ${bt}\\.${bt}`), (m) => {
    put(ids, "database", unb(m[1]));
    put(ids, "table", unb(m[2]));
  });
  on(message, /for table '([^']+)'/, (m) => put(ids, "table", m[1]));
  on(message, /for column '([^']+)' in table '([^']+)'/, (m) => {
    put(ids, "column", m[1]);
    put(ids, "table", m[2]);
  });
  // Access denied for user 'bob'@'host' [to database 'db']
  on(message, /user '([^']*)'@'([^']*)'/, (m) => {
    put(ids, "user", m[1]);
    put(ids, "host", m[2]);
  });
  on(message, /^User '?([^'\s]+)'? (?:already has|has exceeded)/, (m) => put(ids, "user", m[1]));
  on(message, /to database '([^']+)'/, (m) => put(ids, "database", m[1]));
  on(message, /^Unknown database '([^']+)'/, (m) => put(ids, "database", m[1]));
  // Table 'shop.orders' doesn't exist / The table 'x' is full / Table 'x' already exists / Unknown table 'db.x'
  on(message, /^(?:The table|Table|Unknown table) '([^']+)'/, (m) => {
    const [db, table] = splitQualified(m[1] as string);
    put(ids, "database", db);
    put(ids, "table", table);
  });
  // Unknown column 'x' / 't.x' in '...'; Column 'x' cannot be null; ... for column 'x' at row 1
  on(message, /(?:Unknown column|^Column|for column|Field|Duplicate column name) '([^']+)'/, (m) => {
    const [, column] = splitQualified(m[1] as string);
    put(ids, "column", column);
  });
  // Duplicate entry '...' for key 'uk_email' (MySQL 8: 'table.uk_email')
  on(message, /for key '([^']+)'\s*$/, (m) => {
    const [table, key] = splitQualified(m[1] as string);
    put(ids, "table", table);
    put(ids, "constraint", key);
  });
  on(message, /^Check constraint '([^']+)' is violated/, (m) => put(ids, "constraint", m[1]));
}

/** Best-effort target table from the statement, when the message does not name one. */
function tableFromStatement(statement: string): [string | undefined, string] | undefined {
  const ident = '((?:[`"]?[\\w$]+[`"]?\\.)?[`"]?[\\w$]+[`"]?)';
  const re = new RegExp(
    `\\b(?:insert\\s+(?:ignore\\s+)?into|update(?:\\s+ignore)?|delete\\s+from|alter\\s+table|truncate(?:\\s+table)?|from|join)\\s+${ident}`,
    "i",
  );
  const m = re.exec(statement);
  if (!m) return undefined;
  const raw = (m[1] as string).replace(/[`"]/g, "");
  return splitQualified(raw);
}

export function extractIdentifiers(protocol: Protocol, message: string, statement?: string): Identifiers {
  const ids: Identifiers = {};
  if (protocol === "postgres") extractPostgres(message, ids);
  else extractMysql(message, ids);
  if (ids.table === undefined && statement) {
    const t = tableFromStatement(statement);
    if (t) {
      put(ids, protocol === "postgres" ? "schema" : "database", t[0]);
      put(ids, "table", t[1]);
    }
  }
  return ids;
}

// ---------------------------------------------------------------- quoting

const PG_RESERVED = new Set(
  (
    "all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation " +
    "column concurrently constraint create cross current_catalog current_date current_role current_schema current_time " +
    "current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze " +
    "from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit " +
    "localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references " +
    "returning right select session_user similar some symmetric system_user table tablesample then to trailing true union " +
    "unique user using variadic verbose when where window with"
  ).split(" "),
);

export function quoteIdent(protocol: Protocol, name: string): string {
  if (protocol === "mysql") return "`" + name.replace(/`/g, "``") + "`";
  if (/^[a-z_][a-z0-9_$]*$/.test(name) && !PG_RESERVED.has(name)) return name;
  return '"' + name.replace(/"/g, '""') + '"';
}

export function quoteLiteral(protocol: Protocol, value: string): string {
  // PostgreSQL: standard_conforming_strings is on by default, so only ' needs doubling.
  // MySQL: backslash is an escape character in string literals unless NO_BACKSLASH_ESCAPES.
  const v = protocol === "mysql" ? value.replace(/\\/g, "\\\\") : value;
  return "'" + v.replace(/'/g, "''") + "'";
}

function likePattern(protocol: Protocol, value: string): string {
  // LIKE wildcards inside the name are escaped so '%order_items%' matches the literal underscore too.
  const escaped = value.replace(/[\\%_]/g, (c) => "\\" + c);
  return quoteLiteral(protocol, `%${escaped}%`);
}

// ---------------------------------------------------------------- templates

type Slot = keyof Identifiers | "relation";
const SLOTS = new Set<string>([
  "table",
  "column",
  "database",
  "schema",
  "user",
  "host",
  "constraint",
  "relation",
]);

function relation(protocol: Protocol, ids: Identifiers): string | undefined {
  if (ids.table === undefined) return undefined;
  const qualifier = protocol === "postgres" ? ids.schema : ids.database;
  return qualifier !== undefined ? `${qualifier}.${ids.table}` : ids.table;
}

/** Fills {slot}, {slot:lit}, {slot:like}, {slot:name} from the identifiers (see kb-data/types.ts). */
export function fillTemplate(template: string, protocol: Protocol, ids: Identifiers): string {
  return template.replace(
    /\{([a-z]+)(?::(lit|like|name))?\}/g,
    (whole, slot: string, kind: string | undefined) => {
      if (!SLOTS.has(slot)) return whole;
      const value = slot === "relation" ? undefined : ids[slot as Exclude<Slot, "relation">];
      if (kind === "name") {
        const plain = slot === "relation" ? relation(protocol, ids) : value;
        return plain === undefined ? `<${slot === "relation" ? "table" : slot}>` : `"${plain}"`;
      }
      if (slot === "relation") {
        const rel = relation(protocol, ids);
        if (kind === "lit") return quoteLiteral(protocol, rel ?? "<table>");
        if (kind === "like") return likePattern(protocol, ids.table ?? "<table>");
        if (ids.table === undefined) return "<table>";
        const qualifier = protocol === "postgres" ? ids.schema : ids.database;
        const t = quoteIdent(protocol, ids.table);
        return qualifier !== undefined ? `${quoteIdent(protocol, qualifier)}.${t}` : t;
      }
      if (kind === "lit") return quoteLiteral(protocol, value ?? `<${slot}>`);
      if (kind === "like")
        return value === undefined ? quoteLiteral(protocol, `%<${slot}>%`) : likePattern(protocol, value);
      return value === undefined ? `<${slot}>` : quoteIdent(protocol, value);
    },
  );
}

// ---------------------------------------------------------------- explain

function resolveRecord(input: ExplainInput): { record: KbRecord; errorType: ErrorType } {
  const { protocol } = input;
  let code = input.code?.trim() || undefined;
  if (code !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(code) && !/^[0-9A-Z]{5}$/.test(code)) {
    // a condition or ER_ name given as the code
    const byName = lookupByName(code);
    if (byName && byName.protocol === protocol) code = byName.code;
  }
  if (code === undefined) code = inferCode(protocol, input.message);
  const record = code !== undefined ? lookup(protocol, code) : undefined;
  if (record) {
    // The SQLSTATE a MySQL server sent can tell apart numbers MySQL and MariaDB reuse.
    const errorType =
      protocol === "mysql" && input.sqlstate !== undefined
        ? classify(protocol, record.code, input.sqlstate)
        : record.errorType;
    return { record, errorType };
  }
  const g = genericRecord(protocol, code, input.sqlstate);
  return { record: g, errorType: g.errorType };
}

/** Offline, synchronous explanation from the knowledge base. */
export function explainError(input: ExplainInput): Explanation {
  const { protocol } = input;
  const { record, errorType } = resolveRecord(input);
  const identifiers = extractIdentifiers(protocol, input.message, input.statement);
  return {
    source: "knowledge-base",
    protocol,
    code: record.code,
    errorType,
    name: record.name,
    title: record.title,
    handWritten: record.handWritten,
    rootCause: fillTemplate(record.rootCause, protocol, identifiers),
    immediateSolution: record.immediateSolution.map((s) => {
      const step = fillTemplate(s.step, protocol, identifiers);
      return s.sql !== undefined ? { step, sql: fillTemplate(s.sql, protocol, identifiers) } : { step };
    }),
    prevention: record.prevention.map((p) => fillTemplate(p, protocol, identifiers)),
    retry: record.retry,
    identifiers,
  };
}

function retryLine(r: RetryAdvice): string {
  const when =
    !r.safe || r.when === "never" ? "not safe" : r.when === "any" ? "safe" : "safe in autocommit only";
  return `${when}. ${r.note}`;
}

/** The seed's text shape: ERROR ANALYSIS / IMMEDIATE SOLUTION / PREVENTION MEASURES. */
export function renderExplanation(e: Explanation): string {
  const codePart = e.code === "" ? "(no code)" : e.code;
  const out: string[] = [];
  out.push(`${e.protocol} ${codePart} ${e.name} · ${e.errorType} · source: ${e.source}`);
  out.push("");
  out.push("## ERROR ANALYSIS");
  out.push(`**Error**: ${e.title}`);
  out.push(`**Root Cause**: ${e.rootCause}`);
  out.push(`**Retry**: ${retryLine(e.retry)}`);
  out.push("");
  out.push("## IMMEDIATE SOLUTION");
  e.immediateSolution.forEach((s, i) => {
    out.push(`${i + 1}. **${s.step}**${s.sql !== undefined ? ":" : ""}`);
    if (s.sql !== undefined) {
      out.push("   ```sql");
      for (const line of s.sql.split("\n")) out.push(`   ${line}`);
      out.push("   ```");
    }
    out.push("");
  });
  out.push("## PREVENTION MEASURES");
  for (const p of e.prevention) out.push(`- ${p}`);
  return `${out.join("\n")}\n`;
}
