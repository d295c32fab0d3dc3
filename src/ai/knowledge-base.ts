/**
 * The offline knowledge base: one record for every PostgreSQL SQLSTATE and every
 * MySQL/MariaDB error number of the official lists (src/errors/data), with hand-written
 * causes and fixes (./kb-data) for the common ones and a generic explanation per
 * errorType, in the right dialect, for the rest.
 *
 * Records hold templates ({table}, {column:lit}, ...); explain.ts fills them from the message.
 * Built lazily on first use; every lookup afterwards is a Map get.
 */
import { classify } from "../errors/classify.js";
import mysqlErrors from "../errors/data/mysql-errors.json" with { type: "json" };
import mariadbMessages from "../errors/data/mariadb-messages.json" with { type: "json" };
import pgStates from "../errors/data/postgres-sqlstates.json" with { type: "json" };
import type { ErrorType, Protocol } from "../errors/types.js";
import { GENERIC } from "./kb-data/generic.js";
import { MYSQL_ENTRIES } from "./kb-data/mysql.js";
import { POSTGRES_ENTRIES } from "./kb-data/postgres.js";
import type { KbEntry, KbStep, RetryAdvice } from "./kb-data/types.js";

export type { KbEntry, KbStep, RetryAdvice } from "./kb-data/types.js";

export interface KbRecord {
  protocol: Protocol;
  /** SQLSTATE (PostgreSQL) or error number as a string (MySQL/MariaDB) */
  code: string;
  /** condition name (PostgreSQL) or ER_ name (MySQL/MariaDB) */
  name: string;
  /** other names of the same number (MySQL and MariaDB reuse some numbers) */
  aliases: string[];
  /** MySQL/MariaDB: which servers know this number */
  flavors?: string[];
  /** SQLSTATE class (PostgreSQL) or the class of the SQLSTATE MySQL sends ("HY" when none) */
  class: string;
  className: string;
  /** MySQL/MariaDB: the SQLSTATE the server sends with this number, when the list gives one */
  sqlstate?: string;
  errorType: ErrorType;
  title: string;
  handWritten: boolean;
  /** templates: see kb-data/types.ts */
  rootCause: string;
  immediateSolution: KbStep[];
  prevention: string[];
  retry: RetryAdvice;
}

interface PgListEntry {
  code: string;
  condition: string;
  class: string;
  className: string;
}
interface MysqlListEntry {
  code: number;
  name: string;
  sqlstate?: string;
  flavors: string[];
}

// ---------------------------------------------------------------- retry advice

const NEVER_DETERMINISTIC: RetryAdvice = {
  safe: false,
  when: "never",
  note: "Deterministic: the same statement fails the same way until the cause is fixed; do not retry automatically.",
};

/** Retry advice per errorType and dialect (hand-written entries may override it). */
export function retryAdvice(protocol: Protocol, errorType: ErrorType): RetryAdvice {
  switch (errorType) {
    case "DEADLOCK":
    case "SERIALIZATION_FAILURE":
      return {
        safe: true,
        when: "autocommit",
        note: "The server rolled back the whole transaction: retrying is safe when the whole transaction is re-run from its start; a single statement may be re-run alone only in autocommit.",
      };
    case "LOCK_WAIT_TIMEOUT":
      return {
        safe: true,
        when: "autocommit",
        note:
          protocol === "mysql"
            ? "Only the statement was rolled back (unless innodb_rollback_on_timeout=ON): re-run it alone in autocommit; inside a transaction, retry the statement or roll back and re-run the whole transaction."
            : "The statement failed and, inside a transaction, the transaction is aborted: re-run the statement alone only in autocommit, otherwise roll back and re-run the whole transaction.",
      };
    case "CONNECTION_ERROR":
      return {
        safe: true,
        when: "autocommit",
        note: "Only reads (or statements known not to have reached the server) may be re-run on a new connection; a write in flight has an unknown outcome and must not be replayed.",
      };
    case "TOO_MANY_CONNECTIONS":
      return {
        safe: true,
        when: "any",
        note: "The connection was refused before anything ran: retry the connection with backoff.",
      };
    case "QUERY_TIMEOUT":
      return {
        safe: false,
        when: "never",
        note: "Re-running the same statement usually times out again; fix the query or the timeout first.",
      };
    case "RESOURCE_EXHAUSTED":
      return {
        safe: false,
        when: "never",
        note: "Retrying adds load while the resource is exhausted; free the resource first.",
      };
    case "READ_ONLY":
      return {
        safe: false,
        when: "never",
        note: "The write fails again on the same server; re-run it only against the primary / in a read-write transaction.",
      };
    case "UNKNOWN":
      return {
        safe: false,
        when: "never",
        note: "Not a condition known to be transient; do not retry automatically.",
      };
    default:
      return NEVER_DETERMINISTIC;
  }
}

// ---------------------------------------------------------------- helpers

function humanize(snake: string): string {
  const s = snake
    .replace(/^(ER|WARN|EE)_/, "")
    .toLowerCase()
    .replace(/_/g, " ")
    .trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "Table '%-.192s' already exists" → "Table '…' already exists"; "%`s.%`s" → "`…`.`…`" */
function messageTitle(template: string): string {
  return template
    .replace(/%`-?\.?\d*s/g, "`…`")
    .replace(/%-?\.?\d*(?:ll|l)?[sdiuMTfgx]/g, "…")
    .replace(/\s+/g, " ")
    .trim();
}

const PG_CLASS_NAMES = new Map<string, string>();
for (const e of pgStates as PgListEntry[])
  if (!PG_CLASS_NAMES.has(e.class)) PG_CLASS_NAMES.set(e.class, e.className);

function generic(
  protocol: Protocol,
  code: string,
  name: string,
  title: string,
  cls: string,
  className: string,
  errorType: ErrorType,
): Pick<KbRecord, "rootCause" | "immediateSolution" | "prevention" | "retry"> {
  const g = GENERIC[errorType][protocol];
  const label = protocol === "postgres" ? `SQLSTATE ${code}` : `error ${code}`;
  const cl = className ? `, class ${cls} ${className}` : "";
  return {
    rootCause: `The server reported "${title}" (${label}, ${name}${cl}). ${g.rootCause}`,
    immediateSolution: g.immediateSolution,
    prevention: g.prevention,
    retry: retryAdvice(protocol, errorType),
  };
}

function fromEntry(entry: KbEntry, protocol: Protocol, errorType: ErrorType) {
  return {
    title: entry.title,
    rootCause: entry.rootCause,
    immediateSolution: entry.immediateSolution,
    prevention: entry.prevention,
    retry: entry.retry ?? retryAdvice(protocol, errorType),
  };
}

// ---------------------------------------------------------------- building

interface Kb {
  records: Record<Protocol, Map<string, KbRecord>>;
  /** condition / ER_ name (lower case) → record */
  byName: Map<string, KbRecord>;
  /** hand-written codes that are not in the official lists (should be none) */
  orphans: string[];
}

let kb: Kb | undefined;

function build(): Kb {
  const records: Record<Protocol, Map<string, KbRecord>> = { postgres: new Map(), mysql: new Map() };
  const byName = new Map<string, KbRecord>();
  const orphans: string[] = [];
  const pgHand = new Map(POSTGRES_ENTRIES.map((e) => [e.code, e]));
  const myHand = new Map(MYSQL_ENTRIES.map((e) => [e.code, e]));

  for (const e of pgStates as PgListEntry[]) {
    const errorType = classify("postgres", e.code);
    const hand = pgHand.get(e.code);
    const title = humanize(e.condition);
    const rec: KbRecord = {
      protocol: "postgres",
      code: e.code,
      name: e.condition,
      aliases: [],
      class: e.class,
      className: e.className,
      errorType,
      handWritten: hand !== undefined,
      title,
      ...(hand
        ? fromEntry(hand, "postgres", errorType)
        : generic("postgres", e.code, e.condition, title, e.class, e.className, errorType)),
    };
    if (!records.postgres.has(e.code)) records.postgres.set(e.code, rec);
    // Some condition names are shared by two codes (e.g. string_data_right_truncation): keep the first.
    if (!byName.has(e.condition)) byName.set(e.condition, rec);
  }

  const messages = new Map<number, string>();
  for (const m of mariadbMessages as { code: number; message: string }[]) messages.set(m.code, m.message);
  const byCode = new Map<number, MysqlListEntry[]>();
  for (const e of mysqlErrors as MysqlListEntry[]) {
    const list = byCode.get(e.code);
    if (list) list.push(e);
    else byCode.set(e.code, [e]);
  }
  for (const [num, entries] of byCode) {
    const code = String(num);
    const hand = myHand.get(code);
    // Primary meaning: the name both servers share, else the one the hand-written entry names,
    // else MariaDB's (the classifier resolves reused numbers the same way), else MySQL's.
    const primary =
      entries.find((e) => hand?.name !== undefined && e.name === hand.name) ??
      entries.find((e) => e.flavors.includes("mysql") && e.flavors.includes("mariadb")) ??
      entries.find((e) => e.flavors.includes("mariadb")) ??
      (entries[0] as MysqlListEntry);
    const aliases = entries.filter((e) => e !== primary).map((e) => `${e.name} (${e.flavors.join(", ")})`);
    const flavors = [...new Set(entries.flatMap((e) => e.flavors))];
    const sqlstate = primary.sqlstate;
    const cls = sqlstate ? sqlstate.slice(0, 2) : "HY";
    const className = PG_CLASS_NAMES.get(cls) ?? (cls === "HY" ? "General error" : "");
    const errorType = classify("mysql", code, sqlstate);
    const msg = primary.flavors.includes("mariadb") ? messages.get(num) : undefined;
    const title = msg && msg.length > 3 ? messageTitle(msg) : humanize(primary.name);
    const rec: KbRecord = {
      protocol: "mysql",
      code,
      name: primary.name,
      aliases,
      flavors,
      class: cls,
      className,
      ...(sqlstate ? { sqlstate } : {}),
      errorType,
      handWritten: hand !== undefined,
      title,
      ...(hand
        ? fromEntry(hand, "mysql", errorType)
        : generic("mysql", code, primary.name, title, cls, className, errorType)),
    };
    records.mysql.set(code, rec);
    for (const e of entries) {
      const key = e.name.toLowerCase();
      const prev = byName.get(key);
      // A name used for two numbers (MySQL vs MariaDB): prefer the number both servers share.
      if (
        !prev ||
        (e === primary && prev.protocol === "mysql" && (prev.flavors?.length ?? 0) < flavors.length)
      )
        byName.set(key, rec);
    }
  }
  for (const c of pgHand.keys()) if (!records.postgres.has(c)) orphans.push(`postgres:${c}`);
  for (const c of myHand.keys()) if (!records.mysql.has(c)) orphans.push(`mysql:${c}`);
  return { records, byName, orphans };
}

function get(): Kb {
  kb ??= build();
  return kb;
}

// ---------------------------------------------------------------- API

/** The record for a code of the official lists, or undefined. */
export function lookup(protocol: Protocol, code: string): KbRecord | undefined {
  return get().records[protocol].get(protocol === "postgres" ? code.toUpperCase() : code);
}

/** Record by condition name (deadlock_detected) or ER_ name (ER_LOCK_DEADLOCK), case-insensitive. */
export function lookupByName(name: string): KbRecord | undefined {
  return get().byName.get(name.trim().toLowerCase());
}

/** A record for a code that is not in the official lists: the generic explanation for its errorType. */
export function genericRecord(protocol: Protocol, code: string | undefined, sqlstate?: string): KbRecord {
  const c = code ?? "";
  const errorType = c === "" && sqlstate === undefined ? "UNKNOWN" : classify(protocol, c, sqlstate);
  const name = c === "" ? "unknown" : c.startsWith("PROXY_") ? c.toLowerCase() : "unlisted";
  const title = c === "" ? "Unrecognised error" : humanize(name);
  const g = GENERIC[errorType][protocol];
  return {
    protocol,
    code: c,
    name,
    aliases: [],
    class: sqlstate ? sqlstate.slice(0, 2) : c.slice(0, 2),
    className: "",
    ...(sqlstate ? { sqlstate } : {}),
    errorType,
    title,
    handWritten: false,
    rootCause: g.rootCause,
    immediateSolution: g.immediateSolution,
    prevention: g.prevention,
    retry: retryAdvice(protocol, errorType),
  };
}

/** Every record of one protocol, in list order. */
export function allRecords(protocol: Protocol): KbRecord[] {
  return [...get().records[protocol].values()];
}

export interface Coverage {
  protocol: Protocol;
  /** distinct codes in the official list */
  listed: number;
  /** codes the knowledge base has a record for */
  known: number;
  /** codes with a hand-written explanation */
  handWritten: number;
}

export function coverage(): Coverage[] {
  const k = get();
  const pgListed = new Set((pgStates as PgListEntry[]).map((e) => e.code)).size;
  const myListed = new Set((mysqlErrors as MysqlListEntry[]).map((e) => e.code)).size;
  const count = (p: Protocol) => [...k.records[p].values()].filter((r) => r.handWritten).length;
  return [
    {
      protocol: "postgres",
      listed: pgListed,
      known: k.records.postgres.size,
      handWritten: count("postgres"),
    },
    { protocol: "mysql", listed: myListed, known: k.records.mysql.size, handWritten: count("mysql") },
  ];
}

/** Hand-written entries whose code is missing from the official lists (a data bug if any). */
export function orphanEntries(): string[] {
  return [...get().orphans];
}
