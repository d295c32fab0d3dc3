import { describe, expect, it } from "vitest";
import {
  classify,
  classifyMysql,
  classifyPostgres,
  isMysqlProgressReport,
  MYSQL_EXPLICIT,
  PROXY_CODES,
  SQLSTATE_CLASS_TYPES,
} from "../../src/errors/classify.js";
import mysqlErrors from "../../src/errors/data/mysql-errors.json" with { type: "json" };
import pgStates from "../../src/errors/data/postgres-sqlstates.json" with { type: "json" };
import { ERROR_TYPES, type ErrorType, isErrorType } from "../../src/errors/types.js";

/** PRODUCT.md section 3, row by row. */
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
  "08P01": "CONNECTION_ERROR",
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
  "53000": "RESOURCE_EXHAUSTED",
  "53100": "RESOURCE_EXHAUSTED",
  "53200": "RESOURCE_EXHAUSTED",
  "53400": "RESOURCE_EXHAUSTED",
};

const PRODUCT_MYSQL: Record<number, ErrorType> = {
  1146: "TABLE_NOT_FOUND",
  1054: "COLUMN_NOT_FOUND",
  1049: "DATABASE_NOT_FOUND",
  1064: "SYNTAX_ERROR",
  1149: "SYNTAX_ERROR",
  1044: "ACCESS_DENIED",
  1045: "ACCESS_DENIED",
  1142: "ACCESS_DENIED",
  1143: "ACCESS_DENIED",
  1227: "ACCESS_DENIED",
  1698: "ACCESS_DENIED",
  1053: "CONNECTION_ERROR",
  1927: "CONNECTION_ERROR",
  1040: "TOO_MANY_CONNECTIONS",
  1203: "TOO_MANY_CONNECTIONS",
  1226: "TOO_MANY_CONNECTIONS",
  1213: "DEADLOCK",
  1205: "LOCK_WAIT_TIMEOUT",
  1062: "DUPLICATE_KEY",
  1586: "DUPLICATE_KEY",
  1048: "CONSTRAINT_VIOLATION",
  1451: "CONSTRAINT_VIOLATION",
  1452: "CONSTRAINT_VIOLATION",
  3819: "CONSTRAINT_VIOLATION",
  4025: "CONSTRAINT_VIOLATION",
  1290: "READ_ONLY",
  1792: "READ_ONLY",
  1317: "QUERY_TIMEOUT",
  1969: "QUERY_TIMEOUT",
  3024: "QUERY_TIMEOUT",
  1264: "DATA_ERROR",
  1265: "DATA_ERROR",
  1292: "DATA_ERROR",
  1365: "DATA_ERROR",
  1366: "DATA_ERROR",
  1406: "DATA_ERROR",
  1021: "RESOURCE_EXHAUSTED",
  1041: "RESOURCE_EXHAUSTED",
  1114: "RESOURCE_EXHAUSTED",
};

function countBy(types: ErrorType[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of types) out[t] = (out[t] ?? 0) + 1;
  return out;
}

describe("classifyPostgres", () => {
  it("maps every PRODUCT table row exactly", () => {
    for (const [code, t] of Object.entries(PRODUCT_PG))
      expect([code, classifyPostgres(code)]).toEqual([code, t]);
  });

  it("has a deliberate decision for every SQLSTATE class in the official list", () => {
    const classes = new Set(pgStates.map((s) => s.class));
    const undecided = [...classes].filter((c) => !(c in SQLSTATE_CLASS_TYPES));
    expect(undecided).toEqual([]);
    expect(classes.size).toBe(Object.keys(SQLSTATE_CLASS_TYPES).length);
  });

  it("maps all 261 listed SQLSTATEs, most of them to a specific type", () => {
    const types = pgStates.map((s) => classifyPostgres(s.code));
    expect(types).toHaveLength(pgStates.length);
    expect(pgStates.length).toBeGreaterThanOrEqual(250);
    for (const t of types) expect(isErrorType(t)).toBe(true);
    const counts = countBy(types);
    // Every errorType but UNKNOWN is reached by at least one official code.
    for (const t of ERROR_TYPES) if (t !== "UNKNOWN") expect(counts[t] ?? 0, t).toBeGreaterThan(0);
    // UNKNOWN is reserved for warnings, application-defined and internal classes.
    expect(counts.UNKNOWN ?? 0).toBeLessThan(pgStates.length / 2);
  });

  it("places codes beyond the table deliberately", () => {
    expect(classifyPostgres("42P07")).toBe("UNKNOWN"); // duplicate table: neither syntax nor key
    expect(classifyPostgres("42883")).toBe("SYNTAX_ERROR"); // undefined function
    expect(classifyPostgres("3F000")).toBe("DATABASE_NOT_FOUND"); // schema missing
    expect(classifyPostgres("57P04")).toBe("CONNECTION_ERROR");
    expect(classifyPostgres("25P03")).toBe("CONNECTION_ERROR");
    expect(classifyPostgres("25P02")).toBe("UNKNOWN");
    expect(classifyPostgres("72000")).toBe("SERIALIZATION_FAILURE");
    expect(classifyPostgres("40003")).toBe("UNKNOWN");
    expect(classifyPostgres("XX000")).toBe("UNKNOWN");
    expect(classifyPostgres("P0001")).toBe("UNKNOWN");
  });

  it("returns UNKNOWN for codes outside any class and malformed input", () => {
    expect(classifyPostgres("ZZ999")).toBe("UNKNOWN");
    expect(classifyPostgres("")).toBe("UNKNOWN");
    expect(classifyPostgres("4")).toBe("UNKNOWN");
    expect(classifyPostgres("é2000")).toBe("UNKNOWN");
  });
});

describe("classifyMysql", () => {
  it("maps every PRODUCT table row exactly, without knowing the server flavor", () => {
    for (const [code, t] of Object.entries(PRODUCT_MYSQL)) {
      expect([code, classifyMysql(Number(code))]).toEqual([code, t]);
    }
  });

  it("maps the PRODUCT rows the same when given the SQLSTATE the server sends", () => {
    expect(classifyMysql(1146, "42S02")).toBe("TABLE_NOT_FOUND");
    expect(classifyMysql(1062, "23000")).toBe("DUPLICATE_KEY");
    expect(classifyMysql(1213, "40001")).toBe("DEADLOCK");
    expect(classifyMysql(1045, "28000")).toBe("ACCESS_DENIED");
    expect(classifyMysql(4025, "23000")).toBe("CONSTRAINT_VIOLATION");
  });

  it("every explicitly placed name exists in the official lists", () => {
    const names = new Set(mysqlErrors.map((e) => e.name));
    expect(Object.keys(MYSQL_EXPLICIT).filter((n) => !names.has(n))).toEqual([]);
  });

  it("maps every listed error number of both servers, counting the complete list", () => {
    let mapped = 0;
    const types: ErrorType[] = [];
    for (const e of mysqlErrors) {
      for (const f of e.flavors as ("mysql" | "mariadb")[]) {
        const t = classifyMysql(e.code, e.sqlstate, f);
        expect(isErrorType(t)).toBe(true);
        types.push(t);
        mapped++;
      }
    }
    const entries = mysqlErrors.reduce((n, e) => n + e.flavors.length, 0);
    expect(mapped).toBe(entries);
    expect(mysqlErrors.length).toBeGreaterThan(2000);
    const counts = countBy(types);
    // SERIALIZATION_FAILURE is PostgreSQL-only in PRODUCT; MySQL still has ER_CHECKREAD.
    for (const t of ERROR_TYPES) if (t !== "UNKNOWN") expect(counts[t] ?? 0, t).toBeGreaterThan(0);
    // Every MariaDB error whose SQLSTATE names a decided class is placed, except the ones
    // placed as UNKNOWN by hand ("already exists", as for PostgreSQL 42P07).
    const unplacedWithState = mysqlErrors.filter(
      (e) =>
        e.sqlstate !== undefined &&
        e.sqlstate.slice(0, 2) in SQLSTATE_CLASS_TYPES &&
        SQLSTATE_CLASS_TYPES[e.sqlstate.slice(0, 2)] !== "UNKNOWN" &&
        classifyMysql(e.code, e.sqlstate, "mariadb") === "UNKNOWN" &&
        e.flavors.includes("mariadb"),
    );
    expect(unplacedWithState.map((e) => e.name).filter((n) => MYSQL_EXPLICIT[n] !== "UNKNOWN")).toEqual([]);
  });

  it("tells apart numbers the two servers reuse for different errors", () => {
    expect(classifyMysql(4025, undefined, "mariadb")).toBe("CONSTRAINT_VIOLATION");
    expect(classifyMysql(4025, undefined, "mysql")).toBe("UNKNOWN"); // an InnoDB option error there
    expect(classifyMysql(4031, undefined, "mysql")).toBe("CONNECTION_ERROR"); // client inactivity
    expect(classifyMysql(4031, undefined, "mariadb")).toBe("UNKNOWN");
  });

  it("places errors by name beyond the table", () => {
    expect(classifyMysql(1051)).toBe("TABLE_NOT_FOUND"); // ER_BAD_TABLE_ERROR (DROP TABLE)
    expect(classifyMysql(1050)).toBe("UNKNOWN"); // ER_TABLE_EXISTS_ERROR
    expect(classifyMysql(1020)).toBe("SERIALIZATION_FAILURE"); // ER_CHECKREAD
    expect(classifyMysql(1136)).toBe("SYNTAX_ERROR"); // column count doesn't match
    expect(classifyMysql(1242)).toBe("DATA_ERROR"); // subquery returns more than 1 row
    expect(classifyMysql(1158)).toBe("CONNECTION_ERROR"); // ER_NET_READ_ERROR
    expect(classifyMysql(1037)).toBe("RESOURCE_EXHAUSTED"); // ER_OUTOFMEMORY
    expect(classifyMysql(3572)).toBe("LOCK_WAIT_TIMEOUT"); // NOWAIT
  });

  it("falls back on the SQLSTATE for numbers it does not know, then UNKNOWN", () => {
    expect(classifyMysql(9999, "42S02")).toBe("TABLE_NOT_FOUND");
    expect(classifyMysql(9999, "08S01")).toBe("CONNECTION_ERROR");
    expect(classifyMysql(9999, "22003")).toBe("DATA_ERROR");
    expect(classifyMysql(9999, "23000")).toBe("CONSTRAINT_VIOLATION");
    expect(classifyMysql(9999, "21S01")).toBe("SYNTAX_ERROR");
    expect(classifyMysql(9999, "HY000")).toBe("UNKNOWN");
    expect(classifyMysql(9999)).toBe("UNKNOWN");
    expect(classifyMysql(-5)).toBe("UNKNOWN");
    expect(classifyMysql(1e9)).toBe("UNKNOWN");
  });

  it("recognises MariaDB progress reports as not errors", () => {
    expect(isMysqlProgressReport(0xffff)).toBe(true);
    expect(isMysqlProgressReport(1062)).toBe(false);
  });
});

describe("classify", () => {
  it("dispatches by protocol, parsing MySQL numbers from strings", () => {
    expect(classify("postgres", "42P01")).toBe("TABLE_NOT_FOUND");
    expect(classify("mysql", "1146", "42S02")).toBe("TABLE_NOT_FOUND");
    expect(classify("mysql", "1969")).toBe("QUERY_TIMEOUT");
    expect(classify("mysql", "abc", "42S22")).toBe("COLUMN_NOT_FOUND");
    expect(classify("mysql", "abc")).toBe("UNKNOWN");
    expect(classify("mysql", "")).toBe("UNKNOWN");
  });

  it("maps every proxy-detected code to CONNECTION_ERROR for both protocols", () => {
    for (const code of Object.values(PROXY_CODES)) {
      expect(classify("postgres", code)).toBe("CONNECTION_ERROR");
      expect(classify("mysql", code)).toBe("CONNECTION_ERROR");
    }
  });
});
