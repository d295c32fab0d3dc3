import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import mysql from "mysql2/promise";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { ErrorLineParseError, parseErrorLine, tryParseErrorLine } from "../../src/ai/error-line.js";
import { explainError, type Explanation, renderExplanation } from "../../src/ai/explain.js";
import { runExplain } from "../../src/ai/explain-command.js";
import { MYSQL_URL, PG_URL } from "../support/servers.js";

// ---------------------------------------------------------------- capturing real errors

interface Captured {
  code: string;
  sqlstate?: string;
  message: string;
  statement: string;
  raw: unknown;
}

function fromPg(err: unknown, statement: string): Captured {
  const e = err as { code?: string; message: string };
  if (typeof e.code !== "string") throw err;
  return { code: e.code, message: e.message, statement, raw: err };
}

function fromMysql(err: unknown, statement: string): Captured {
  const e = err as { errno?: number; sqlState?: string; message: string };
  if (typeof e.errno !== "number") throw err;
  return { code: String(e.errno), sqlstate: e.sqlState, message: e.message, statement, raw: err };
}

async function pgFail(client: pg.Client, statement: string): Promise<Captured> {
  try {
    await client.query(statement);
  } catch (err) {
    return fromPg(err, statement);
  }
  throw new Error(`expected ${statement} to fail`);
}

async function myFail(conn: mysql.Connection, statement: string): Promise<Captured> {
  try {
    await conn.query(statement);
  } catch (err) {
    return fromMysql(err, statement);
  }
  throw new Error(`expected ${statement} to fail`);
}

function pgUrl(overrides: { database?: string; user?: string }): string {
  const u = new URL(PG_URL);
  if (overrides.database) u.pathname = `/${overrides.database}`;
  if (overrides.user) u.username = overrides.user;
  return u.toString();
}

function explainCaptured(protocol: "postgres" | "mysql", c: Captured): Explanation {
  return explainError({
    protocol,
    code: c.code,
    sqlstate: c.sqlstate,
    message: c.message,
    statement: c.statement,
  });
}

function allSql(e: Explanation): string {
  return e.immediateSolution.map((s) => s.sql ?? "").join("\n");
}

const SUFFIX = `${process.pid}`;

// ---------------------------------------------------------------- PostgreSQL

describe("explain real PostgreSQL errors", () => {
  const errors = new Map<string, Captured>();
  const secret = `kbsecret${SUFFIX}`;
  const role = `kbrole${SUFFIX}`;
  const dlTable = `kbdeadlock${SUFFIX}`;

  beforeAll(async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      errors.set("42P01", await pgFail(c, "SELECT * FROM kbmissing.orders"));
      errors.set("42703", await pgFail(c, "SELECT nope FROM pg_class"));
      errors.set("42601", await pgFail(c, "selec 1"));
      await c.query("CREATE TEMP TABLE kbt (id int PRIMARY KEY, e text NOT NULL, n int CHECK (n > 0))");
      await c.query("INSERT INTO kbt VALUES (1, 'a', 1)");
      errors.set("23505", await pgFail(c, "INSERT INTO kbt VALUES (1, 'a', 1)"));
      errors.set("23502", await pgFail(c, "INSERT INTO kbt VALUES (2, NULL, 1)"));
      errors.set("23514", await pgFail(c, "INSERT INTO kbt VALUES (3, 'c', -1)"));
      errors.set("22012", await pgFail(c, "SELECT 1/0"));
      await c.query("SET statement_timeout = 10");
      errors.set("57014", await pgFail(c, "SELECT pg_sleep(2)"));
      await c.query("RESET statement_timeout");
      // permission denied for a table owned by another role
      await c.query(`DROP TABLE IF EXISTS ${secret}`);
      await c.query(`DROP ROLE IF EXISTS ${role}`);
      await c.query(`CREATE ROLE ${role}`);
      await c.query(`CREATE TABLE ${secret} (id int)`);
      await c.query(`SET ROLE ${role}`);
      errors.set("42501", await pgFail(c, `SELECT * FROM ${secret}`));
      await c.query("RESET ROLE");
      // a real deadlock between two sessions
      await c.query(`DROP TABLE IF EXISTS ${dlTable}`);
      await c.query(`CREATE TABLE ${dlTable} (id int PRIMARY KEY, v int)`);
      await c.query(`INSERT INTO ${dlTable} VALUES (1, 0), (2, 0)`);
      const a = new pg.Client({ connectionString: PG_URL });
      const b = new pg.Client({ connectionString: PG_URL });
      await a.connect();
      await b.connect();
      try {
        await a.query("BEGIN");
        await b.query("BEGIN");
        await a.query(`UPDATE ${dlTable} SET v = v + 1 WHERE id = 1`);
        await b.query(`UPDATE ${dlTable} SET v = v + 1 WHERE id = 2`);
        const stmtA = `UPDATE ${dlTable} SET v = v + 1 WHERE id = 2`;
        const stmtB = `UPDATE ${dlTable} SET v = v + 1 WHERE id = 1`;
        const results = await Promise.allSettled([a.query(stmtA), b.query(stmtB)]);
        const failed = results.findIndex((r) => r.status === "rejected");
        const r = results[failed] as PromiseRejectedResult;
        errors.set("40P01", fromPg(r.reason, failed === 0 ? stmtA : stmtB));
        await a.query("ROLLBACK");
        await b.query("ROLLBACK");
      } finally {
        await a.end();
        await b.end();
      }
    } finally {
      await c.query(`DROP TABLE IF EXISTS ${secret}`).catch(() => undefined);
      await c.query(`DROP TABLE IF EXISTS ${dlTable}`).catch(() => undefined);
      await c.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await c.end();
    }
    for (const [key, opts] of [
      ["3D000", { database: "kbnope" }],
      ["28000", { user: "kbnobody" }],
    ] as const) {
      const bad = new pg.Client({ connectionString: pgUrl(opts) });
      try {
        await bad.connect();
        await bad.end();
      } catch (err) {
        errors.set(key, fromPg(err, ""));
      }
    }
  });

  function ex(code: string): Explanation {
    const c = errors.get(code);
    if (!c) throw new Error(`no captured ${code}`);
    expect(c.code).toBe(code);
    return explainCaptured("postgres", c);
  }

  it("missing table: TABLE_NOT_FOUND, the real names, the information_schema search", () => {
    const e = ex("42P01");
    expect(e).toMatchObject({
      errorType: "TABLE_NOT_FOUND",
      name: "undefined_table",
      source: "knowledge-base",
    });
    expect(e.identifiers).toMatchObject({ schema: "kbmissing", table: "orders" });
    expect(allSql(e)).toContain(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name ILIKE '%orders%'",
    );
    expect(allSql(e)).toContain("CREATE TABLE IF NOT EXISTS kbmissing.orders");
    expect(allSql(e)).not.toMatch(/`|SHOW TABLES/);
    expect(e.rootCause).toContain('"orders"');
  });

  it("missing column: COLUMN_NOT_FOUND with the column, the table taken from the statement", () => {
    const e = ex("42703");
    expect(e.errorType).toBe("COLUMN_NOT_FOUND");
    expect(e.identifiers).toMatchObject({ column: "nope", table: "pg_class" });
    expect(allSql(e)).toContain("WHERE table_name = 'pg_class'");
    expect(allSql(e)).toContain("column_name ILIKE '%nope%'");
  });

  it("syntax error", () => {
    expect(ex("42601").errorType).toBe("SYNTAX_ERROR");
  });

  it("unknown database at connect: DATABASE_NOT_FOUND with the name", () => {
    const e = ex("3D000");
    expect(e.errorType).toBe("DATABASE_NOT_FOUND");
    expect(e.identifiers.database).toBe("kbnope");
    expect(allSql(e)).toContain("CREATE DATABASE kbnope;");
  });

  it("unknown role at connect: ACCESS_DENIED with the user", () => {
    const e = ex("28000");
    expect(e.errorType).toBe("ACCESS_DENIED");
    expect(e.identifiers.user).toBe("kbnobody");
    expect(allSql(e)).toContain("WHERE rolname = 'kbnobody'");
  });

  it("permission denied for table: ACCESS_DENIED with the table in the GRANT", () => {
    const e = ex("42501");
    expect(e.errorType).toBe("ACCESS_DENIED");
    expect(e.identifiers.table).toBe(secret);
    expect(allSql(e)).toContain(`ON ${secret} TO <user>`);
  });

  it("unique violation: DUPLICATE_KEY with constraint and table, ON CONFLICT upsert", () => {
    const e = ex("23505");
    expect(e.errorType).toBe("DUPLICATE_KEY");
    expect(e.identifiers).toMatchObject({ constraint: "kbt_pkey", table: "kbt" });
    expect(allSql(e)).toContain("ON CONFLICT ON CONSTRAINT kbt_pkey DO NOTHING");
  });

  it("not-null violation: column and table from the message", () => {
    const e = ex("23502");
    expect(e.errorType).toBe("CONSTRAINT_VIOLATION");
    expect(e.identifiers).toMatchObject({ column: "e", table: "kbt" });
    expect(allSql(e)).toContain("ALTER TABLE kbt ALTER COLUMN e SET DEFAULT");
  });

  it("check violation: the constraint's definition is looked up by name", () => {
    const e = ex("23514");
    expect(e.errorType).toBe("CONSTRAINT_VIOLATION");
    expect(e.identifiers).toMatchObject({ constraint: "kbt_n_check", table: "kbt" });
    expect(allSql(e)).toContain("WHERE conname = 'kbt_n_check'");
  });

  it("division by zero: DATA_ERROR, never retried", () => {
    const e = ex("22012");
    expect(e.errorType).toBe("DATA_ERROR");
    expect(e.retry.when).toBe("never");
  });

  it("statement timeout: QUERY_TIMEOUT, not retried", () => {
    const e = ex("57014");
    expect(e.errorType).toBe("QUERY_TIMEOUT");
    expect(e.retry.safe).toBe(false);
    expect(allSql(e)).toContain("SHOW statement_timeout;");
  });

  it("a real deadlock: DEADLOCK, retry the whole transaction", () => {
    const e = ex("40P01");
    expect(e.errorType).toBe("DEADLOCK");
    expect(e.retry).toMatchObject({ safe: true, when: "autocommit" });
    expect(e.immediateSolution[0]?.step).toMatch(/whole transaction/);
  });

  it("parses what node-postgres prints for an error", () => {
    const c = errors.get("42P01") as Captured;
    const parsed = parseErrorLine(inspect(c.raw));
    expect(parsed).toMatchObject({ protocol: "postgres", code: "42P01" });
    expect(parsed.message).toBe('relation "kbmissing.orders" does not exist');
  });
});

// ---------------------------------------------------------------- MySQL / MariaDB

describe("explain real MySQL/MariaDB errors", () => {
  const errors = new Map<string, Captured>();
  const parent = `kbparent${SUFFIX}`;
  const child = `kbchild${SUFFIX}`;
  const dl = `kbdl${SUFFIX}`;

  beforeAll(async () => {
    const c = await mysql.createConnection(MYSQL_URL);
    try {
      errors.set("1146", await myFail(c, "SELECT * FROM kbmissing.orders"));
      errors.set("1064", await myFail(c, "selec 1"));
      await c.query(`DROP TABLE IF EXISTS ${child}, ${parent}, ${dl}`);
      await c.query(
        `CREATE TABLE ${parent} (id int PRIMARY KEY, e varchar(3) NOT NULL, n int CHECK (n > 0), UNIQUE KEY uk_e (e)) ENGINE=InnoDB`,
      );
      await c.query(
        `CREATE TABLE ${child} (id int, p int, CONSTRAINT fk_${child} FOREIGN KEY (p) REFERENCES ${parent} (id)) ENGINE=InnoDB`,
      );
      errors.set("1054", await myFail(c, `SELECT nope FROM ${parent}`));
      await c.query(`INSERT INTO ${parent} VALUES (1, 'a', 1)`);
      errors.set("1062", await myFail(c, `INSERT INTO ${parent} VALUES (2, 'a', 1)`));
      errors.set("1048", await myFail(c, `INSERT INTO ${parent} VALUES (2, NULL, 1)`));
      errors.set("4025", await myFail(c, `INSERT INTO ${parent} VALUES (3, 'c', -1)`));
      errors.set("1406", await myFail(c, `INSERT INTO ${parent} VALUES (4, 'dddd', 1)`));
      errors.set("1452", await myFail(c, `INSERT INTO ${child} VALUES (1, 99)`));
      // a real deadlock, then a real lock wait timeout
      await c.query(`CREATE TABLE ${dl} (id int PRIMARY KEY, v int) ENGINE=InnoDB`);
      await c.query(`INSERT INTO ${dl} VALUES (1, 0), (2, 0)`);
      const a = await mysql.createConnection(MYSQL_URL);
      const b = await mysql.createConnection(MYSQL_URL);
      try {
        await a.query("BEGIN");
        await b.query("BEGIN");
        await a.query(`UPDATE ${dl} SET v = v + 1 WHERE id = 1`);
        await b.query(`UPDATE ${dl} SET v = v + 1 WHERE id = 2`);
        const stmtA = `UPDATE ${dl} SET v = v + 1 WHERE id = 2`;
        const stmtB = `UPDATE ${dl} SET v = v + 1 WHERE id = 1`;
        const pa = a.query(stmtA);
        // make sure a is waiting before b closes the cycle
        await waitForLockWait(c);
        const results = await Promise.allSettled([pa, b.query(stmtB)]);
        const failed = results.findIndex((r) => r.status === "rejected");
        errors.set(
          "1213",
          fromMysql((results[failed] as PromiseRejectedResult).reason, failed === 0 ? stmtA : stmtB),
        );
        await a.query("ROLLBACK");
        await b.query("ROLLBACK");
        await a.query("BEGIN");
        await a.query(`UPDATE ${dl} SET v = v + 1 WHERE id = 1`);
        await b.query("SET SESSION innodb_lock_wait_timeout = 1");
        errors.set("1205", await myFail(b, `UPDATE ${dl} SET v = v + 1 WHERE id = 1`));
        await a.query("ROLLBACK");
      } finally {
        await a.end();
        await b.end();
      }
    } finally {
      await c.query(`DROP TABLE IF EXISTS ${child}, ${parent}, ${dl}`).catch(() => undefined);
      await c.end();
    }
    const u = new URL(MYSQL_URL);
    u.pathname = "/kbnope";
    try {
      await (await mysql.createConnection(u.toString())).end();
    } catch (err) {
      errors.set("1049", fromMysql(err, ""));
    }
    const v = new URL(MYSQL_URL);
    v.username = "kbnobody";
    v.password = "wrong";
    try {
      await (await mysql.createConnection(v.toString())).end();
    } catch (err) {
      errors.set("1045", fromMysql(err, ""));
    }
  });

  async function waitForLockWait(c: mysql.Connection): Promise<void> {
    // the server's own view of lock waits; polls until the blocked UPDATE is registered
    for (let i = 0; i < 200; i++) {
      const [rows] = await c.query(
        "SELECT COUNT(*) AS n FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'",
      );
      if (Number((rows as { n: number }[])[0]?.n) > 0) return;
    }
    throw new Error("the first UPDATE never waited for a lock");
  }

  function ex(code: string): Explanation {
    const c = errors.get(code);
    if (!c) throw new Error(`no captured ${code}`);
    expect(c.code).toBe(code);
    return explainCaptured("mysql", c);
  }

  it("missing table: TABLE_NOT_FOUND, database and table split, SHOW TABLES LIKE", () => {
    const e = ex("1146");
    expect(e).toMatchObject({ errorType: "TABLE_NOT_FOUND", name: "ER_NO_SUCH_TABLE" });
    expect(e.identifiers).toMatchObject({ database: "kbmissing", table: "orders" });
    expect(allSql(e)).toContain("SHOW TABLES LIKE '%orders%';");
    expect(allSql(e)).toContain("CREATE TABLE IF NOT EXISTS `kbmissing`.`orders`");
    expect(allSql(e)).not.toMatch(/ILIKE|::/);
  });

  it("unknown column: COLUMN_NOT_FOUND, SHOW COLUMNS of the table from the statement", () => {
    const e = ex("1054");
    expect(e.errorType).toBe("COLUMN_NOT_FOUND");
    expect(e.identifiers).toMatchObject({ column: "nope", table: parent });
    expect(allSql(e)).toContain(`SHOW COLUMNS FROM \`${parent}\`;`);
  });

  it("unknown database at connect: DATABASE_NOT_FOUND with the name", () => {
    const e = ex("1049");
    expect(e.errorType).toBe("DATABASE_NOT_FOUND");
    expect(e.identifiers.database).toBe("kbnope");
    expect(allSql(e)).toContain("SHOW DATABASES LIKE '%kbnope%';");
    expect(allSql(e)).toContain("CREATE DATABASE IF NOT EXISTS `kbnope`");
  });

  it("wrong password: ACCESS_DENIED with user and host as literals", () => {
    const e = ex("1045");
    expect(e.errorType).toBe("ACCESS_DENIED");
    expect(e.identifiers.user).toBe("kbnobody");
    expect(e.identifiers.host).toBeTruthy();
    expect(allSql(e)).toContain("WHERE user = 'kbnobody'");
  });

  it("syntax error", () => {
    expect(ex("1064").errorType).toBe("SYNTAX_ERROR");
  });

  it("duplicate entry: DUPLICATE_KEY with the key name, ON DUPLICATE KEY UPDATE", () => {
    const e = ex("1062");
    expect(e.errorType).toBe("DUPLICATE_KEY");
    expect(e.identifiers).toMatchObject({ constraint: "uk_e", table: parent });
    expect(allSql(e)).toContain("ON DUPLICATE KEY UPDATE");
  });

  it("column cannot be null / check constraint / foreign key / too long", () => {
    const nn = ex("1048");
    expect(nn.errorType).toBe("CONSTRAINT_VIOLATION");
    expect(nn.identifiers.column).toBe("e");
    const ck = ex("4025");
    expect(ck.errorType).toBe("CONSTRAINT_VIOLATION");
    expect(ck.identifiers).toMatchObject({ constraint: "n", table: parent, database: "test" });
    const fk = ex("1452");
    expect(fk.errorType).toBe("CONSTRAINT_VIOLATION");
    expect(fk.identifiers).toMatchObject({ table: child, constraint: `fk_${child}`, column: "p" });
    expect(allSql(fk)).toContain(`WHERE constraint_name = 'fk_${child}'`);
    const tl = ex("1406");
    expect(tl.errorType).toBe("DATA_ERROR");
    expect(tl.identifiers.column).toBe("e");
    expect(allSql(tl)).toContain("MODIFY `e` VARCHAR(1024)");
  });

  it("a real deadlock and a real lock wait timeout: retry advice differs", () => {
    const d = ex("1213");
    expect(d.errorType).toBe("DEADLOCK");
    expect(d.retry).toMatchObject({ safe: true, when: "autocommit" });
    const l = ex("1205");
    expect(l.errorType).toBe("LOCK_WAIT_TIMEOUT");
    expect(l.retry.note).toMatch(/Only the statement/);
    expect(allSql(l)).toContain("information_schema.innodb_trx");
  });

  it("parses what mysql2 prints for an error", () => {
    const c = errors.get("1146") as Captured;
    const parsed = parseErrorLine(inspect(c.raw));
    expect(parsed).toMatchObject({ protocol: "mysql", code: "1146", sqlstate: "42S02" });
    expect(parsed.message).toBe("Table 'kbmissing.orders' doesn't exist");
  });
});

// ---------------------------------------------------------------- quoting and rendering

describe("dialect quoting", () => {
  it("double-quotes PostgreSQL identifiers only when needed and doubles quotes in literals", () => {
    const mixed = explainError({
      protocol: "postgres",
      code: "42P01",
      message: 'relation "Order Items" does not exist',
    });
    expect(allSql(mixed)).toContain('CREATE TABLE IF NOT EXISTS "Order Items"');
    expect(allSql(mixed)).toContain("ILIKE '%Order Items%'");
    const reserved = explainError({
      protocol: "postgres",
      code: "42P01",
      message: 'relation "user" does not exist',
    });
    expect(allSql(reserved)).toContain('CREATE TABLE IF NOT EXISTS "user"');
    const quote = explainError({
      protocol: "postgres",
      code: "28P01",
      message: `password authentication failed for user "o'brien"`,
    });
    expect(allSql(quote)).toContain("rolname = 'o''brien'");
    expect(allSql(quote)).toContain(`ALTER ROLE "o'brien" WITH PASSWORD`);
  });

  it("backticks MySQL identifiers and escapes LIKE wildcards in names", () => {
    const e = explainError({ protocol: "mysql", code: "1049", message: "Unknown database 'we`ird'" });
    expect(allSql(e)).toContain("CREATE DATABASE IF NOT EXISTS `we``ird`");
    const u = explainError({
      protocol: "mysql",
      code: "1146",
      message: "Table 'shop.order_items' doesn't exist",
    });
    expect(allSql(u)).toContain("SHOW TABLES LIKE '%order\\\\_items%';");
  });

  it("keeps readable placeholders when the message names nothing", () => {
    const e = explainError({ protocol: "mysql", code: "1146", message: "" });
    expect(allSql(e)).toContain("SHOW TABLES LIKE '%<table>%';");
  });

  it("infers the code from the message when none is given, and falls back to UNKNOWN", () => {
    const e = explainError({
      protocol: "postgres",
      message: 'duplicate key value violates unique constraint "users_email_key"',
    });
    expect(e).toMatchObject({ code: "23505", errorType: "DUPLICATE_KEY" });
    expect(e.identifiers.constraint).toBe("users_email_key");
    const u = explainError({ protocol: "mysql", message: "something odd happened" });
    expect(u).toMatchObject({ code: "", errorType: "UNKNOWN", handWritten: false });
    expect(u.immediateSolution.length).toBeGreaterThan(0);
  });

  it("explains an unlisted code by its class with a generic entry", () => {
    const e = explainError({ protocol: "postgres", code: "22P04", message: "bad copy file format" });
    expect(e).toMatchObject({ errorType: "DATA_ERROR", handWritten: false, name: "bad_copy_file_format" });
    expect(e.rootCause).toContain("22P04");
  });

  it("renders the seed's three sections with a header line", () => {
    const text = renderExplanation(
      explainError({ protocol: "mysql", code: "1146", message: "Table 'shop.orders' doesn't exist" }),
    );
    const lines = text.split("\n");
    expect(lines[0]).toBe("mysql 1146 ER_NO_SUCH_TABLE · TABLE_NOT_FOUND · source: knowledge-base");
    expect(text).toContain(
      '## ERROR ANALYSIS\n**Error**: Table doesn\'t exist\n**Root Cause**: The statement references the table "orders"',
    );
    expect(text).toContain(
      "## IMMEDIATE SOLUTION\n1. **Check available tables with a similar name**:\n   ```sql\n   SHOW TABLES LIKE '%orders%';\n   ```\n",
    );
    expect(text).toMatch(/## PREVENTION MEASURES\n- Run schema migrations/);
    expect(text.indexOf("## ERROR ANALYSIS")).toBeLessThan(text.indexOf("## IMMEDIATE SOLUTION"));
    expect(text.indexOf("## IMMEDIATE SOLUTION")).toBeLessThan(text.indexOf("## PREVENTION MEASURES"));
  });
});

// ---------------------------------------------------------------- parseErrorLine

describe("parseErrorLine", () => {
  it("reads a mysql CLI line, with and without 'at line'", () => {
    expect(parseErrorLine("ERROR 1146 (42S02): Table 'shop.orders' doesn't exist")).toEqual({
      protocol: "mysql",
      code: "1146",
      sqlstate: "42S02",
      message: "Table 'shop.orders' doesn't exist",
    });
    expect(
      parseErrorLine(
        "ERROR 1213 (40001) at line 3: Deadlock found when trying to get lock; try restarting transaction",
      ),
    ).toMatchObject({ protocol: "mysql", code: "1213" });
  });

  it("reads mysql driver messages carrying an ER_ code", () => {
    expect(parseErrorLine("Error: ER_NO_SUCH_TABLE: Table 'x' doesn't exist")).toMatchObject({
      protocol: "mysql",
      code: "1146",
      message: "Table 'x' doesn't exist",
    });
    expect(parseErrorLine("Error: Table 'x' doesn't exist\n  code: 'ER_NO_SUCH_TABLE'")).toMatchObject({
      protocol: "mysql",
      code: "1146",
      message: "Table 'x' doesn't exist",
    });
  });

  it("reads a psql line, inferring the SQLSTATE, ignoring LINE/caret lines", () => {
    const text =
      'ERROR:  relation "orders" does not exist\nLINE 1: select * from orders;\n                      ^';
    expect(parseErrorLine(text)).toEqual({
      protocol: "postgres",
      code: "42P01",
      message: 'relation "orders" does not exist',
    });
  });

  it("reads a verbose psql line with its SQLSTATE, also with the psql:file prefix", () => {
    expect(parseErrorLine('ERROR:  42P01: relation "orders" does not exist')).toEqual({
      protocol: "postgres",
      code: "42P01",
      message: 'relation "orders" does not exist',
    });
    expect(parseErrorLine('psql:/tmp/x.sql:3: ERROR:  42703: column "nope" does not exist')).toMatchObject({
      protocol: "postgres",
      code: "42703",
    });
  });

  it("reads a libpq connection failure", () => {
    const text =
      'psql: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "nope" does not exist';
    expect(parseErrorLine(text)).toMatchObject({
      protocol: "postgres",
      code: "3D000",
      message: 'database "nope" does not exist',
    });
  });

  it("infers SQLSTATEs from common PostgreSQL message shapes", () => {
    const cases: [string, string][] = [
      ['ERROR:  column "x" does not exist', "42703"],
      ['ERROR:  syntax error at or near "selec"', "42601"],
      ['ERROR:  duplicate key value violates unique constraint "t_pkey"', "23505"],
      ["ERROR:  deadlock detected", "40P01"],
      ["ERROR:  could not serialize access due to concurrent update", "40001"],
      ["ERROR:  canceling statement due to statement timeout", "57014"],
      ["FATAL:  sorry, too many clients already", "53300"],
      ["ERROR:  permission denied for table secret", "42501"],
    ];
    for (const [line, code] of cases) expect(parseErrorLine(line).code, line).toBe(code);
  });

  it("reads bare codes and names", () => {
    expect(parseErrorLine("40P01")).toEqual({ protocol: "postgres", code: "40P01", message: "" });
    expect(parseErrorLine("1213")).toEqual({ protocol: "mysql", code: "1213", message: "" });
    expect(parseErrorLine("23505")).toMatchObject({ protocol: "postgres", code: "23505" });
    expect(parseErrorLine("23505", "mysql")).toMatchObject({ protocol: "mysql", code: "23505" });
    expect(parseErrorLine("deadlock_detected")).toMatchObject({ protocol: "postgres", code: "40P01" });
    expect(parseErrorLine("ER_LOCK_DEADLOCK")).toMatchObject({ protocol: "mysql", code: "1213" });
  });

  it("reads a bare server message of either server", () => {
    expect(parseErrorLine("Lock wait timeout exceeded; try restarting transaction")).toMatchObject({
      protocol: "mysql",
      code: "1205",
    });
    expect(parseErrorLine('relation "orders" does not exist')).toMatchObject({
      protocol: "postgres",
      code: "42P01",
    });
  });

  it("refuses text that is no error", () => {
    expect(tryParseErrorLine("hello world")).toBeNull();
    expect(tryParseErrorLine("")).toBeNull();
    expect(() => parseErrorLine("hello world")).toThrow(ErrorLineParseError);
  });
});

// ---------------------------------------------------------------- the command

function sink(): NodeJS.WritableStream & { text: string } {
  const s = {
    text: "",
    write(chunk: string | Uint8Array) {
      s.text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      return true;
    },
  };
  return s as unknown as NodeJS.WritableStream & { text: string };
}

describe("dba-gpt explain", () => {
  it("prints the explanation of an error line and exits 0", async () => {
    const out = sink();
    expect(await runExplain(['ERROR:  relation "orders" does not exist'], out)).toBe(0);
    expect(out.text).toContain("postgres 42P01 undefined_table · TABLE_NOT_FOUND");
    expect(out.text).toContain("ILIKE '%orders%'");
  });

  it("--json prints the Explanation", async () => {
    const out = sink();
    expect(
      await runExplain(["--json", "ERROR 1062 (23000): Duplicate entry 'a@b.c' for key 'uk_email'"], out),
    ).toBe(0);
    const e = JSON.parse(out.text) as Explanation;
    expect(e).toMatchObject({ protocol: "mysql", code: "1062", errorType: "DUPLICATE_KEY" });
    expect(e.identifiers.constraint).toBe("uk_email");
  });

  it("--protocol disambiguates a bare number", async () => {
    const out = sink();
    expect(await runExplain(["--protocol", "mysql", "--json", "1205"], out)).toBe(0);
    expect(JSON.parse(out.text)).toMatchObject({ protocol: "mysql", errorType: "LOCK_WAIT_TIMEOUT" });
  });

  it("--coverage prints the real counts per protocol", async () => {
    const pgCodes = new Set(
      (
        JSON.parse(
          readFileSync(new URL("../../src/errors/data/postgres-sqlstates.json", import.meta.url), "utf8"),
        ) as {
          code: string;
        }[]
      ).map((e) => e.code),
    ).size;
    const myCodes = new Set(
      (
        JSON.parse(
          readFileSync(new URL("../../src/errors/data/mysql-errors.json", import.meta.url), "utf8"),
        ) as {
          code: number;
        }[]
      ).map((e) => e.code),
    ).size;
    const out = sink();
    expect(await runExplain(["--coverage"], out)).toBe(0);
    expect(out.text).toMatch(
      new RegExp(`^postgres: ${pgCodes}/${pgCodes} codes known, \\d+ hand-written$`, "m"),
    );
    expect(out.text).toMatch(
      new RegExp(`^mysql: ${myCodes}/${myCodes} codes known, \\d+ hand-written$`, "m"),
    );
  });

  it("exits 2 with a message for input it cannot recognise or a bad option", async () => {
    const out = sink();
    expect(await runExplain(["no error in here"], out)).toBe(2);
    expect(out.text).toMatch(/cannot recognise/);
    const out2 = sink();
    expect(await runExplain(["--protocol", "oracle", "1213"], out2)).toBe(2);
    expect(out2.text).toMatch(/--protocol must be postgres or mysql/);
    expect(await runExplain([], sink())).toBe(2);
  });
});
