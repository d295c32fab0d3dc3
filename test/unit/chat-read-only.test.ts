import { describe, expect, it } from "vitest";
import { INTENT_EXAMPLES, matchIntent, tableNamed } from "../../src/chat/intents.js";
import { checkReadOnly } from "../../src/chat/read-only.js";
import { looksLikeSql } from "../../src/chat/service.js";
import type { Protocol } from "../../src/errors/types.js";

const BOTH: Protocol[] = ["postgres", "mysql"];

describe("read-only check", () => {
  it.each([
    ["postgres", "SELECT * FROM users"],
    ["postgres", "SELECT count(*) FROM orders WHERE id > 3;"],
    ["postgres", "SHOW search_path"],
    ["postgres", "EXPLAIN SELECT * FROM users"],
    ["postgres", "EXPLAIN (ANALYZE, BUFFERS) SELECT 1"],
    ["postgres", "SELECT 1 UNION SELECT 2"],
    ["mysql", "SHOW TABLES"],
    ["mysql", "DESCRIBE users"],
    ["mysql", "SHOW INDEX FROM users"],
    ["mysql", "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"],
    ["mysql", "EXPLAIN SELECT * FROM users"],
  ] as [Protocol, string][])("%s allows %s", (protocol, sql) => {
    const v = checkReadOnly(protocol, sql);
    expect(v).toMatchObject({ ok: true });
  });

  it.each([
    ["postgres", "drop table users", /DROP/],
    ["mysql", "drop table users", /DROP/],
    ["postgres", "DELETE FROM users", /DELETE/],
    ["mysql", "UPDATE users SET a = 1", /UPDATE/],
    ["postgres", "INSERT INTO t VALUES (1)", /INSERT/],
    ["postgres", "TRUNCATE users", /not read-only|could not verify/],
    ["postgres", "CREATE TABLE x (id int)", /CREATE/],
    ["postgres", "SELECT 1; DROP TABLE users", /one statement/],
    ["postgres", "SELECT * INTO copy_of_users FROM users", /INTO/],
    ["mysql", "SELECT * FROM users INTO OUTFILE '/tmp/x'", /INTO/],
    ["mysql", "SELECT a INTO @x FROM users", /INTO/],
    ["mysql", "SELECT * FROM users FOR UPDATE", /row locks/],
    ["mysql", "SELECT * FROM users LOCK IN SHARE MODE", /row locks|could not verify/],
    ["postgres", "SELECT * FROM users FOR UPDATE", /could not verify/],
    ["postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity", /pg_terminate_backend/],
    ["postgres", "SELECT pg_catalog.pg_cancel_backend(42)", /pg_cancel_backend/],
    ["postgres", "SELECT nextval('users_id_seq')", /nextval/],
    ["postgres", "SELECT set_config('statement_timeout', '0', false)", /set_config/],
    ["postgres", "SELECT dblink_exec('host=x', 'DELETE FROM t')", /dblink_exec/],
    ["postgres", "SELECT lo_import('/etc/passwd')", /lo_import/],
    ["postgres", "SELECT pg_sleep(10) FROM generate_series(1, 1000)", /pg_sleep/],
    ["postgres", "SELECT pg_advisory_lock(1)", /pg_advisory_lock/],
    ["postgres", "SELECT pg_read_file('/etc/passwd')", /pg_read_file/],
    ["postgres", "SELECT query_to_xml('DELETE FROM users RETURNING *', true, true, '')", /query_to_xml/],
    ["postgres", "SELECT 1 UNION SELECT pg_sleep(5)", /pg_sleep/],
    ["postgres", "SELECT * FROM users WHERE id IN (SELECT nextval('s'))", /nextval/],
    ["mysql", "SELECT SLEEP(10)", /sleep/],
    ["mysql", "SELECT BENCHMARK(100000000, MD5('x'))", /benchmark/],
    ["mysql", "SELECT GET_LOCK('x', 10)", /get_lock/],
    ["mysql", "SELECT LOAD_FILE('/etc/passwd')", /load_file/],
    ["mysql", "SELECT 1 /*! ; DROP TABLE users */", /executable comments/],
    ["mysql", "SET GLOBAL max_connections = 1", /./],
    ["postgres", "WITH gone AS (DELETE FROM users RETURNING *) SELECT * FROM gone", /./],
    ["postgres", "EXPLAIN ANALYZE DELETE FROM users", /DELETE/],
    ["postgres", "", /empty/],
  ] as [Protocol, string, RegExp][])("%s refuses %s", (protocol, sql, why) => {
    const v = checkReadOnly(protocol, sql);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(why);
  });
});

describe("built-in intents", () => {
  it.each(BOTH)("every example question gives SQL that passes the %s read-only check", (protocol) => {
    for (const q of INTENT_EXAMPLES) {
      for (const database of [null, "test"]) {
        const intent = matchIntent(q, protocol, { database });
        expect(intent, q).not.toBeNull();
        const v = checkReadOnly(protocol, intent?.sql ?? "");
        expect(v, `${protocol}: ${q}\n${intent?.sql}`).toMatchObject({ ok: true });
      }
    }
  });

  it("picks the intent a DBA would expect", () => {
    const name = (q: string, p: Protocol = "postgres") => matchIntent(q, p)?.name;
    expect(name("show me all tables in my database")).toBe("tables");
    expect(name("how many records are in the users table")).toBe("row-count");
    expect(name("how many rows does each table have?")).toBe("row-counts");
    expect(name("analyze the performance of my database")).toBe("performance");
    expect(name("what are the biggest tables?")).toBe("sizes");
    expect(name("show indexes on orders")).toBe("indexes");
    expect(name("are there any locks?", "mysql")).toBe("locks");
    expect(name("any slow queries?")).toBe("slow-queries");
    expect(name("show active queries")).toBe("active-queries");
    expect(name("tell me a joke")).toBeUndefined();
  });

  it("quotes the named table in the dialect's style", () => {
    expect(matchIntent("how many records are in the users table", "postgres")?.sql).toBe(
      'SELECT count(*) AS row_count FROM "users"',
    );
    expect(matchIntent("count rows in shop.orders", "mysql")?.sql).toBe(
      "SELECT count(*) AS row_count FROM `shop`.`orders`",
    );
  });

  it("takes only plain identifiers as table names", () => {
    expect(tableNamed("how many records are in the users table")).toBe("users");
    expect(tableNamed("count rows in orders?")).toBe("orders");
    expect(tableNamed('how many rows in "x; drop table users"')).not.toMatch(/;/);
    expect(tableNamed("how many tables are in my database")).toBeNull();
  });
});

describe("SQL typed by the operator vs a question", () => {
  it.each([
    ["drop table users", true],
    ["DELETE FROM users", true],
    ["select * from users", true],
    ["VACUUM FULL users", true],
    ["analyze users", true],
    ["show me all tables in my database", false],
    ["analyze the performance of my database", false],
    ["explain how indexes work?", false],
    ["how many records are in the users table", false],
    ["show indexes on users", "maybe"],
    ["show locks", "maybe"],
    ["SHOW search_path", "maybe"],
    ["select * form users", "maybe"],
  ] as [string, boolean | "maybe"][])("%s → SQL: %s", (text, sql) => {
    expect(looksLikeSql(text, "postgres")).toBe(sql);
  });
});
