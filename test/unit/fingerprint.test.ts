import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { errorSignature, messageTemplate } from "../../src/errors/fingerprint.js";

const pgT = (message: string, detail?: string) => messageTemplate("postgres", message, detail);
const myT = (message: string) => messageTemplate("mysql", message);

describe("messageTemplate — PostgreSQL", () => {
  it.each([
    ['relation "orders" does not exist', 'relation "orders" does not exist'],
    ['column "x" does not exist', 'column "x" does not exist'],
    ['syntax error at or near "SELEC"', "syntax error at or near ?"],
    ["division by zero", "division by zero"],
    ['invalid input syntax for type integer: "abc"', "invalid input syntax for type integer: ?"],
    ["permission denied for table secret", "permission denied for table secret"],
    ["canceling statement due to statement timeout", "canceling statement due to statement timeout"],
    ['database "nope" does not exist', 'database "nope" does not exist'],
    ['password authentication failed for user "bob"', 'password authentication failed for user "bob"'],
    ['date/time field value out of range: "2024-13-01"', "date/time field value out of range: ?"],
    ['value "99999999999" is out of range for type integer', "value ? is out of range for type integer"],
    ['invalid value for parameter "TimeZone": "Mars"', 'invalid value for parameter "TimeZone": ?'],
    ["could not open relation with OID 16384", "could not open relation with OID ?"],
    ['relation "orders_2024" does not exist', 'relation "orders_2024" does not exist'],
  ])("%s", (message, template) => {
    expect(pgT(message)).toBe(template);
  });

  it("masks key values in DETAIL and keeps the constraint and key columns", () => {
    expect(
      pgT('duplicate key value violates unique constraint "t_pkey"', "Key (id)=(42) already exists."),
    ).toBe('duplicate key value violates unique constraint "t_pkey"\nDETAIL: Key (id)=(?) already exists.');
    expect(
      pgT(
        'insert or update on table "orders" violates foreign key constraint "orders_customer_fk"',
        'Key (customer_id, region)=(999, eu (west)) is not present in table "customers".',
      ),
    ).toBe(
      'insert or update on table "orders" violates foreign key constraint "orders_customer_fk"\n' +
        'DETAIL: Key (customer_id, region)=(?) is not present in table "customers".',
    );
    expect(
      pgT(
        'new row for relation "t" violates check constraint "t_n_check"',
        "Failing row contains (44, a, -1).",
      ),
    ).toBe(
      'new row for relation "t" violates check constraint "t_n_check"\nDETAIL: Failing row contains (?).',
    );
  });

  it("masks process and transaction numbers in a deadlock DETAIL", () => {
    expect(
      pgT(
        "deadlock detected",
        "Process 123 waits for ShareLock on transaction 456; blocked by process 789.\n" +
          "Process 789 waits for ShareLock on transaction 457; blocked by process 123.\n" +
          "Process 123: UPDATE accounts SET balance = 5 WHERE id = 1",
      ),
    ).toBe(
      "deadlock detected\nDETAIL: Process ? waits for ShareLock on transaction ?; blocked by process ?.\n" +
        "Process ? waits for ShareLock on transaction ?; blocked by process ?.\nProcess ?: ?",
    );
  });
});

describe("messageTemplate — MySQL/MariaDB", () => {
  it.each([
    ["Table 'shop.orders' doesn't exist", "Table 'shop.orders' doesn't exist"],
    ["Unknown column 'x' in 'field list'", "Unknown column 'x' in 'field list'"],
    ["Duplicate entry '42' for key 'PRIMARY'", "Duplicate entry ? for key 'PRIMARY'"],
    ["Duplicate entry 'o'brien-7' for key 'users.email'", "Duplicate entry ? for key 'users.email'"],
    [
      "Access denied for user 'bob'@'10.0.0.5' (using password: YES)",
      "Access denied for user 'bob'@? (using password: YES)",
    ],
    [
      "Incorrect integer value: 'abc' for column 'x' at row 1",
      "Incorrect integer value: ? for column 'x' at row ?",
    ],
    [
      "Incorrect integer value: 'abc' for column `test`.`t`.`id` at row 12",
      "Incorrect integer value: ? for column `test`.`t`.`id` at row ?",
    ],
    [
      "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'SELEC * FROM t WHERE a = 'x'' at line 1",
      "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near ? at line ?",
    ],
    [
      "Deadlock found when trying to get lock; try restarting transaction",
      "Deadlock found when trying to get lock; try restarting transaction",
    ],
    [
      "Lock wait timeout exceeded; try restarting transaction",
      "Lock wait timeout exceeded; try restarting transaction",
    ],
    ["Data too long for column 'name' at row 3", "Data too long for column 'name' at row ?"],
    ["Column 'name' cannot be null", "Column 'name' cannot be null"],
    ["Unknown database 'nope_db'", "Unknown database 'nope_db'"],
    ["CONSTRAINT `t.n` failed for `test`.`t`", "CONSTRAINT `t.n` failed for `test`.`t`"],
    ["Truncated incorrect DOUBLE value: '1x'", "Truncated incorrect DOUBLE value: ?"],
    ["Table 't2' already exists", "Table 't2' already exists"],
    ["Unknown thread id: 4711", "Unknown thread id: ?"],
  ])("%s", (message, template) => {
    expect(myT(message)).toBe(template);
  });
});

describe("errorSignature", () => {
  it("is the first 12 hex chars of SHA-1 over protocol, code, errorType and template", () => {
    const t = 'relation "orders" does not exist';
    const expected = createHash("sha1")
      .update(`postgres\u000042P01\u0000TABLE_NOT_FOUND\u0000${t}`)
      .digest("hex");
    expect(errorSignature("postgres", "42P01", "TABLE_NOT_FOUND", t)).toBe(expected.slice(0, 12));
    expect(errorSignature("postgres", "42P01", "TABLE_NOT_FOUND", t)).toMatch(/^[0-9a-f]{12}$/);
  });

  it("gives the same signature for the same error with other literals", () => {
    const sig = (message: string, detail?: string) =>
      errorSignature("postgres", "23505", "DUPLICATE_KEY", pgT(message, detail));
    fc.assert(
      fc.property(fc.integer({ min: 0 }), fc.integer({ min: 0 }), (a, b) => {
        expect(
          sig('duplicate key value violates unique constraint "t_pkey"', `Key (id)=(${a}) already exists.`),
        ).toBe(
          sig('duplicate key value violates unique constraint "t_pkey"', `Key (id)=(${b}) already exists.`),
        );
      }),
    );
    const mysig = (m: string) => errorSignature("mysql", "1062", "DUPLICATE_KEY", myT(m));
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(mysig(`Duplicate entry '${a}' for key 'PRIMARY'`)).toBe(
          mysig(`Duplicate entry '${b}' for key 'PRIMARY'`),
        );
      }),
    );
    const near = (q: string) => errorSignature("mysql", "1064", "SYNTAX_ERROR", myT(q));
    expect(near("... to use near 'SELEC 1' at line 1")).toBe(
      near("... to use near 'SELEC * FROM t WHERE x = 'a'' at line 3"),
    );
  });

  it("gives another signature for another table, code, type or protocol", () => {
    const a = errorSignature("postgres", "42P01", "TABLE_NOT_FOUND", pgT('relation "orders" does not exist'));
    const b = errorSignature("postgres", "42P01", "TABLE_NOT_FOUND", pgT('relation "users" does not exist'));
    expect(a).not.toBe(b);
    const m1 = errorSignature("mysql", "1146", "TABLE_NOT_FOUND", myT("Table 'shop.orders' doesn't exist"));
    const m2 = errorSignature("mysql", "1146", "TABLE_NOT_FOUND", myT("Table 'shop.users' doesn't exist"));
    expect(m1).not.toBe(m2);
    const t = "x";
    const sigs = new Set([
      errorSignature("postgres", "1", "UNKNOWN", t),
      errorSignature("mysql", "1", "UNKNOWN", t),
      errorSignature("postgres", "2", "UNKNOWN", t),
      errorSignature("postgres", "1", "DATA_ERROR", t),
    ]);
    expect(sigs.size).toBe(4);
  });

  it("never throws on arbitrary messages", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("postgres", "mysql") as fc.Arbitrary<"postgres" | "mysql">,
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        (p, m, d) => {
          const t = messageTemplate(p, m, d);
          expect(typeof t).toBe("string");
        },
      ),
    );
  });
});
