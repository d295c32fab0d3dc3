import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DIGEST_MAX_LENGTH, statementDigest } from "../../src/errors/digest.js";

describe("statementDigest", () => {
  it("masks numbers and strings, keeps identifiers and keywords", () => {
    expect(statementDigest("SELECT * FROM orders WHERE id = 42 AND name = 'bob'")).toBe(
      "SELECT * FROM orders WHERE id = ? AND name = ?",
    );
    expect(statementDigest("SELECT 1.5, .5, 1e10, 2E-3, 0x1F, 0b101, -7 FROM t2")).toBe(
      "SELECT ?, ?, ?, ?, ?, ?, ? FROM t2",
    );
  });

  it("keeps digits that are part of identifiers", () => {
    expect(statementDigest("SELECT t2.col1 FROM orders_2024 t2 JOIN x1y ON x1y.a = t2.b")).toBe(
      "SELECT t2.col1 FROM orders_2024 t2 JOIN x1y ON x1y.a = t2.b",
    );
    expect(statementDigest("SELECT 1abc FROM t")).toBe("SELECT 1abc FROM t");
  });

  it("treats quoted and backticked identifiers as identifiers, with their escapes", () => {
    expect(statementDigest('SELECT "Order ""Items""", `we``ird` FROM "Shop"."orders" WHERE "id" = 3')).toBe(
      'SELECT "Order ""Items""", `we``ird` FROM "Shop"."orders" WHERE "id" = ?',
    );
  });

  it("masks strings with doubled quotes and backslash escapes whole", () => {
    expect(statementDigest("SELECT 'it''s', 'a\\'b', 'x' FROM t")).toBe("SELECT ?, ?, ? FROM t");
    // PostgreSQL (standard_conforming_strings): a backslash in '..' is just a character
    expect(statementDigest("SELECT 'C:\\', 'x' FROM t", "postgres")).toBe("SELECT ?, ? FROM t");
    expect(statementDigest("SELECT E'a\\'b', 'c' FROM t", "postgres")).toBe("SELECT ?, ? FROM t");
  });

  it("masks prefixed, dollar-quoted and charset-introduced literals", () => {
    expect(statementDigest("SELECT E'\\n', N'x', B'101', X'ff', U&'d\\0061t', _utf8mb4'h' FROM t")).toBe(
      "SELECT ?, ?, ?, ?, ?, ? FROM t",
    );
    expect(statementDigest("SELECT $$it's $1 here$$, $fn$ body; 'q' $fn$ FROM t")).toBe("SELECT ?, ? FROM t");
  });

  it("keeps placeholders as they are", () => {
    expect(
      statementDigest("SELECT * FROM t WHERE a = $1 AND b = $2::int AND c = ? AND d = :name AND e = @v"),
    ).toBe("SELECT * FROM t WHERE a = $1 AND b = $2::int AND c = ? AND d = :name AND e = @v");
  });

  it("keeps TRUE, FALSE and NULL as keywords", () => {
    expect(statementDigest("UPDATE t SET a = TRUE, b = false, c = NULL WHERE d = 1")).toBe(
      "UPDATE t SET a = TRUE, b = false, c = NULL WHERE d = ?",
    );
  });

  it("collapses IN-lists of literals or placeholders, whatever their length", () => {
    expect(statementDigest("SELECT * FROM t WHERE id IN (1, 2, 3)")).toBe(
      "SELECT * FROM t WHERE id IN (...)",
    );
    expect(statementDigest("SELECT * FROM t WHERE id in ('a','b')")).toBe(
      "SELECT * FROM t WHERE id in (...)",
    );
    expect(statementDigest("SELECT * FROM t WHERE id IN ($1, $2, $3, $4)")).toBe(
      "SELECT * FROM t WHERE id IN (...)",
    );
    expect(statementDigest("SELECT * FROM t WHERE id IN (7)")).toBe("SELECT * FROM t WHERE id IN (...)");
    // a subquery is not a list
    expect(statementDigest("SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE v = 3)")).toBe(
      "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE v = ?)",
    );
  });

  it("collapses multi-row VALUES to the first row", () => {
    expect(statementDigest("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, NULL)")).toBe(
      "INSERT INTO t (a, b) VALUES (?, ?)",
    );
    expect(statementDigest("INSERT INTO t (a, b) VALUES (1, 'x')")).toBe(
      "INSERT INTO t (a, b) VALUES (?, ?)",
    );
    expect(statementDigest("INSERT INTO t VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING")).toBe(
      "INSERT INTO t VALUES ($1, $2) ON CONFLICT DO NOTHING",
    );
    // rows with expressions stay as they are (only their literals are masked)
    expect(statementDigest("INSERT INTO t VALUES (1, now()), (2, now())")).toBe(
      "INSERT INTO t VALUES (?, now()), (?, now())",
    );
  });

  it("removes comments and collapses whitespace", () => {
    expect(statementDigest("SELECT a, -- the a\n  b /* the b /* nested */ still */ FROM\n\tt ;")).toBe(
      "SELECT a, b FROM t",
    );
    expect(statementDigest("SELECT a # note\nFROM t", "mysql")).toBe("SELECT a FROM t");
    expect(statementDigest("select  a ,b  from t where ( x=1 )")).toBe("select a, b from t where (x=?)");
  });

  it("treats double-quoted text as a string in MySQL", () => {
    expect(statementDigest('SELECT * FROM t WHERE name = "bob"', "mysql")).toBe(
      "SELECT * FROM t WHERE name = ?",
    );
  });

  it("masks a sign only where it cannot be a subtraction", () => {
    expect(statementDigest("SELECT a - 1, b-2, -3, f(-4) FROM t WHERE x = -5")).toBe(
      "SELECT a - ?, b-?, ?, f(?) FROM t WHERE x = ?",
    );
  });

  it("bounds the length at 1024 characters plus an ellipsis", () => {
    const cols = Array.from({ length: 400 }, (_, i) => `column_${i}`).join(", ");
    const d = statementDigest(`SELECT ${cols} FROM t`);
    expect(d.length).toBe(DIGEST_MAX_LENGTH + 1);
    expect(d.endsWith("…")).toBe(true);
    // a huge IN-list still collapses to a short digest
    const ids = Array.from({ length: 100_000 }, (_, i) => i).join(", ");
    expect(statementDigest(`SELECT * FROM t WHERE id IN (${ids}) AND a = 1`)).toBe(
      "SELECT * FROM t WHERE id IN (...) AND a = ?",
    );
  });

  it("gives one digest for the same statement with other literals", () => {
    const lit = fc.oneof(
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }).map(String),
      fc.string().map((s) => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`),
    );
    fc.assert(
      fc.property(lit, lit, fc.array(lit, { minLength: 1, maxLength: 20 }), (a, b, list) => {
        const d = statementDigest(
          `SELECT * FROM orders WHERE a = ${a} AND b = ${b} AND c IN (${list.join(", ")})`,
        );
        expect(d).toBe("SELECT * FROM orders WHERE a = ? AND b = ? AND c IN (...)");
      }),
    );
  });

  it("never throws and stays bounded on arbitrary input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 3000 }), (s) => {
        const d = statementDigest(s);
        expect(d.length).toBeLessThanOrEqual(DIGEST_MAX_LENGTH + 1);
      }),
    );
    expect(statementDigest("")).toBe("");
    expect(statementDigest("SELECT 'unterminated")).toBe("SELECT ?");
    expect(statementDigest("SELECT $$ unterminated")).toBe("SELECT ?");
    expect(statementDigest("SELECT /* unterminated")).toBe("SELECT");
  });
});
