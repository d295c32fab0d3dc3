import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MYSQL_ENTRIES } from "../../src/ai/kb-data/mysql.js";
import { POSTGRES_ENTRIES } from "../../src/ai/kb-data/postgres.js";
import {
  allRecords,
  coverage,
  lookup,
  lookupByName,
  orphanEntries,
  retryAdvice,
} from "../../src/ai/knowledge-base.js";
import type { ErrorType } from "../../src/errors/types.js";

const pgList = JSON.parse(
  readFileSync(new URL("../../src/errors/data/postgres-sqlstates.json", import.meta.url), "utf8"),
) as {
  code: string;
  condition: string;
}[];
const myList = JSON.parse(
  readFileSync(new URL("../../src/errors/data/mysql-errors.json", import.meta.url), "utf8"),
) as {
  code: number;
  name: string;
}[];

/** PRODUCT.md section 3: every code of the table, with its errorType. */
const PRODUCT_PG: Record<string, ErrorType> = {
  "42P01": "TABLE_NOT_FOUND",
  "42703": "COLUMN_NOT_FOUND",
  "3D000": "DATABASE_NOT_FOUND",
  "42601": "SYNTAX_ERROR",
  "28000": "ACCESS_DENIED",
  "28P01": "ACCESS_DENIED",
  "42501": "ACCESS_DENIED",
  "08000": "CONNECTION_ERROR",
  "08003": "CONNECTION_ERROR",
  "08006": "CONNECTION_ERROR",
  "08001": "CONNECTION_ERROR",
  "08004": "CONNECTION_ERROR",
  "57P01": "CONNECTION_ERROR",
  "57P02": "CONNECTION_ERROR",
  "57P03": "CONNECTION_ERROR",
  "53300": "TOO_MANY_CONNECTIONS",
  "40P01": "DEADLOCK",
  "40001": "SERIALIZATION_FAILURE",
  "55P03": "LOCK_WAIT_TIMEOUT",
  "23505": "DUPLICATE_KEY",
  "23502": "CONSTRAINT_VIOLATION",
  "23503": "CONSTRAINT_VIOLATION",
  "23514": "CONSTRAINT_VIOLATION",
  "23P01": "CONSTRAINT_VIOLATION",
  "25006": "READ_ONLY",
  "57014": "QUERY_TIMEOUT",
  "22012": "DATA_ERROR",
  "22P02": "DATA_ERROR",
  "22001": "DATA_ERROR",
  "22003": "DATA_ERROR",
  "22007": "DATA_ERROR",
  "22008": "DATA_ERROR",
  "53000": "RESOURCE_EXHAUSTED",
  "53100": "RESOURCE_EXHAUSTED",
  "53200": "RESOURCE_EXHAUSTED",
  "53400": "RESOURCE_EXHAUSTED",
};
const PRODUCT_MY: Record<string, ErrorType> = {
  "1146": "TABLE_NOT_FOUND",
  "1054": "COLUMN_NOT_FOUND",
  "1049": "DATABASE_NOT_FOUND",
  "1064": "SYNTAX_ERROR",
  "1149": "SYNTAX_ERROR",
  "1044": "ACCESS_DENIED",
  "1045": "ACCESS_DENIED",
  "1142": "ACCESS_DENIED",
  "1143": "ACCESS_DENIED",
  "1227": "ACCESS_DENIED",
  "1698": "ACCESS_DENIED",
  "1053": "CONNECTION_ERROR",
  "1927": "CONNECTION_ERROR",
  "1040": "TOO_MANY_CONNECTIONS",
  "1203": "TOO_MANY_CONNECTIONS",
  "1226": "TOO_MANY_CONNECTIONS",
  "1213": "DEADLOCK",
  "1205": "LOCK_WAIT_TIMEOUT",
  "1062": "DUPLICATE_KEY",
  "1586": "DUPLICATE_KEY",
  "1048": "CONSTRAINT_VIOLATION",
  "1451": "CONSTRAINT_VIOLATION",
  "1452": "CONSTRAINT_VIOLATION",
  "3819": "CONSTRAINT_VIOLATION",
  "4025": "CONSTRAINT_VIOLATION",
  "1290": "READ_ONLY",
  "1792": "READ_ONLY",
  "1317": "QUERY_TIMEOUT",
  "1969": "QUERY_TIMEOUT",
  "3024": "QUERY_TIMEOUT",
  "1264": "DATA_ERROR",
  "1265": "DATA_ERROR",
  "1292": "DATA_ERROR",
  "1365": "DATA_ERROR",
  "1366": "DATA_ERROR",
  "1406": "DATA_ERROR",
  "1021": "RESOURCE_EXHAUSTED",
  "1041": "RESOURCE_EXHAUSTED",
  "1114": "RESOURCE_EXHAUSTED",
};

describe("knowledge base coverage against the official lists", () => {
  it("has a record for every PostgreSQL SQLSTATE in the list", () => {
    const missing = pgList.filter((e) => lookup("postgres", e.code) === undefined).map((e) => e.code);
    expect(missing).toEqual([]);
  });

  it("has a record for every MySQL/MariaDB error number in the list", () => {
    const missing = myList.filter((e) => lookup("mysql", String(e.code)) === undefined).map((e) => e.code);
    expect(missing).toEqual([]);
  });

  it("reports coverage with the real counts of the lists", () => {
    const c = coverage();
    const pg = c.find((x) => x.protocol === "postgres");
    const my = c.find((x) => x.protocol === "mysql");
    expect(pg?.listed).toBe(new Set(pgList.map((e) => e.code)).size);
    expect(my?.listed).toBe(new Set(myList.map((e) => e.code)).size);
    expect(pg?.known).toBe(pg?.listed);
    expect(my?.known).toBe(my?.listed);
    expect(pg?.handWritten).toBe(POSTGRES_ENTRIES.length);
    expect(my?.handWritten).toBe(MYSQL_ENTRIES.length);
  });

  it("has at least 60 hand-written explanations across both protocols, each for a listed code", () => {
    expect(POSTGRES_ENTRIES.length + MYSQL_ENTRIES.length).toBeGreaterThanOrEqual(60);
    expect(orphanEntries()).toEqual([]);
    const dupes = (codes: string[]) => codes.filter((c, i) => codes.indexOf(c) !== i);
    expect(dupes(POSTGRES_ENTRIES.map((e) => e.code))).toEqual([]);
    expect(dupes(MYSQL_ENTRIES.map((e) => e.code))).toEqual([]);
  });

  it("hand-writes every code of the PRODUCT table, with the table's errorType", () => {
    for (const [code, type] of Object.entries(PRODUCT_PG)) {
      const r = lookup("postgres", code);
      expect(r?.handWritten, `postgres ${code}`).toBe(true);
      expect(r?.errorType, `postgres ${code}`).toBe(type);
    }
    for (const [code, type] of Object.entries(PRODUCT_MY)) {
      const r = lookup("mysql", code);
      expect(r?.handWritten, `mysql ${code}`).toBe(true);
      expect(r?.errorType, `mysql ${code}`).toBe(type);
    }
  });

  it("gives every record the three parts", () => {
    for (const p of ["postgres", "mysql"] as const) {
      for (const r of allRecords(p)) {
        expect(r.rootCause.length, `${p} ${r.code}`).toBeGreaterThan(20);
        expect(r.immediateSolution.length, `${p} ${r.code}`).toBeGreaterThan(0);
        expect(r.prevention.length, `${p} ${r.code}`).toBeGreaterThan(0);
        expect(r.name, `${p} ${r.code}`).not.toBe("");
      }
    }
  });

  it("uses only known placeholders in hand-written templates", () => {
    const known = /^\{(table|column|database|schema|user|host|constraint|relation)(:(lit|like|name))?\}$/;
    for (const e of [...POSTGRES_ENTRIES, ...MYSQL_ENTRIES]) {
      const texts = [
        e.rootCause,
        ...e.prevention,
        ...e.immediateSolution.flatMap((s) => [s.step, s.sql ?? ""]),
      ];
      for (const t of texts)
        for (const ph of t.match(/\{[a-z:]+\}/g) ?? []) expect(ph, `${e.code}: ${ph}`).toMatch(known);
    }
  });

  it("writes dialect-specific SQL: no backticks in PostgreSQL entries, no ILIKE or pg_ catalogs in MySQL ones", () => {
    for (const e of POSTGRES_ENTRIES)
      for (const s of e.immediateSolution) expect(s.sql ?? "").not.toMatch(/`|SHOW TABLES/);
    for (const e of MYSQL_ENTRIES)
      for (const s of e.immediateSolution) expect(s.sql ?? "").not.toMatch(/ILIKE|pg_stat|pg_catalog|::/);
  });
});

describe("names and meanings", () => {
  it("finds records by condition name and ER_ name", () => {
    expect(lookupByName("deadlock_detected")?.code).toBe("40P01");
    expect(lookupByName("ER_LOCK_DEADLOCK")).toMatchObject({ protocol: "mysql", code: "1213" });
    expect(lookupByName("er_no_such_table")?.code).toBe("1146");
    expect(lookupByName("no_such_condition")).toBeUndefined();
  });

  it("names a number MySQL and MariaDB use differently by its hand-written meaning and keeps the other as alias", () => {
    const r = lookup("mysql", "4025");
    expect(r?.name).toBe("ER_CONSTRAINT_FAILED");
    expect(r?.aliases.join(" ")).toContain("ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE");
    expect(lookup("mysql", "3024")?.name).toBe("ER_QUERY_TIMEOUT");
  });

  it("titles generic MySQL records from the server's message text", () => {
    expect(lookup("mysql", "1007")?.title).toBe("Can't create database '…'; database exists");
    expect(lookup("mysql", "1007")?.handWritten).toBe(false);
  });
});

describe("retry safety", () => {
  it("retries deadlocks and serialization failures as whole transactions, single statements only in autocommit", () => {
    for (const [p, c] of [
      ["postgres", "40P01"],
      ["postgres", "40001"],
      ["mysql", "1213"],
    ] as const) {
      const r = lookup(p, c)?.retry;
      expect(r).toMatchObject({ safe: true, when: "autocommit" });
      expect(r?.note).toMatch(/whole transaction/);
    }
  });

  it("treats lock wait timeouts as statement-level in autocommit", () => {
    expect(lookup("mysql", "1205")?.retry).toMatchObject({ safe: true, when: "autocommit" });
    expect(lookup("mysql", "1205")?.retry.note).toMatch(/Only the statement/);
    expect(lookup("postgres", "55P03")?.retry).toMatchObject({ safe: true, when: "autocommit" });
  });

  it("re-runs only reads after a lost connection, and connection attempts always", () => {
    expect(lookup("postgres", "08006")?.retry.note).toMatch(/read/i);
    expect(lookup("postgres", "08006")?.retry.when).toBe("autocommit");
    expect(lookup("postgres", "57P03")?.retry).toMatchObject({ safe: true, when: "any" });
    expect(lookup("postgres", "53300")?.retry).toMatchObject({ safe: true, when: "any" });
    expect(lookup("mysql", "1040")?.retry).toMatchObject({ safe: true, when: "any" });
  });

  it("never retries deterministic errors or exhausted per-hour limits", () => {
    for (const [p, c] of [
      ["postgres", "42P01"],
      ["postgres", "23505"],
      ["postgres", "57014"],
      ["mysql", "1146"],
      ["mysql", "1062"],
      ["mysql", "1226"],
    ] as const)
      expect(lookup(p, c)?.retry, `${p} ${c}`).toMatchObject({ safe: false, when: "never" });
    expect(retryAdvice("mysql", "DATA_ERROR").when).toBe("never");
  });
});
