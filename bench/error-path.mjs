#!/usr/bin/env node
// Error-path cost: classify + messageTemplate + errorSignature per error, and statementDigest,
// over a realistic mix of PostgreSQL and MySQL/MariaDB errors.
// Build first: npx tsc -p tsconfig.json   Then: node bench/error-path.mjs [iterations]

import { classify } from "../dist/src/errors/classify.js";
import { statementDigest } from "../dist/src/errors/digest.js";
import { errorSignature, messageTemplate } from "../dist/src/errors/fingerprint.js";

const ITERATIONS = Number(process.argv[2] ?? 200_000);
const WARMUP = 20_000;
const TARGET_US = 5;

/** @type {Array<{protocol: "postgres"|"mysql", code: string, sqlstate?: string, message: string, detail?: string}>} */
const errors = [
  {
    protocol: "postgres",
    code: "23505",
    message: 'duplicate key value violates unique constraint "orders_pkey"',
    detail: "Key (id)=(48213) already exists.",
  },
  { protocol: "postgres", code: "42P01", message: 'relation "order_items_2024" does not exist' },
  { protocol: "postgres", code: "22P02", message: 'invalid input syntax for type integer: "12abc"' },
  {
    protocol: "postgres",
    code: "40P01",
    message: "deadlock detected",
    detail:
      "Process 18231 waits for ShareLock on transaction 99123; blocked by process 18240.\n" +
      "Process 18240 waits for ShareLock on transaction 99121; blocked by process 18231.",
  },
  { protocol: "postgres", code: "57014", message: "canceling statement due to statement timeout" },
  {
    protocol: "mysql",
    code: "1062",
    sqlstate: "23000",
    message: "Duplicate entry 'alice@example.com' for key 'users.email'",
  },
  {
    protocol: "mysql",
    code: "1146",
    sqlstate: "42S02",
    message: "Table 'shop.orders_archive' doesn't exist",
  },
  {
    protocol: "mysql",
    code: "1064",
    sqlstate: "42000",
    message:
      "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'FORM orders WHERE id = 7' at line 1",
  },
  {
    protocol: "mysql",
    code: "1213",
    sqlstate: "40001",
    message: "Deadlock found when trying to get lock; try restarting transaction",
  },
  {
    protocol: "mysql",
    code: "1045",
    sqlstate: "28000",
    message: "Access denied for user 'report'@'10.1.4.22' (using password: YES)",
  },
];

const statements = [
  "SELECT o.id, o.customer_id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = 'shipped' AND o.created_at > '2024-01-01' AND o.id IN (1, 2, 3, 4, 5) LIMIT 50",
  "INSERT INTO order_items (order_id, sku, qty, price) VALUES (48213, 'SKU-1', 2, 19.99), (48213, 'SKU-2', 1, 5.00)",
  "UPDATE accounts SET balance = balance - 25.50, updated_at = now() WHERE id = 9912 AND version = 17",
  "SELECT * FROM `shop`.`users` WHERE email = 'alice@example.com' /* login */ AND active = TRUE",
];

function perOp(fn, n) {
  const t0 = process.hrtime.bigint();
  const r = fn(n);
  const t1 = process.hrtime.bigint();
  return { us: Number(t1 - t0) / 1000 / n, r };
}

function errorPath(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const e = errors[i % errors.length];
    const type = classify(e.protocol, e.code, e.sqlstate);
    const template = messageTemplate(e.protocol, e.message, e.detail);
    const sig = errorSignature(e.protocol, e.code, type, template);
    acc += sig.charCodeAt(0) + template.length;
  }
  return acc;
}

function classifyOnly(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const e = errors[i % errors.length];
    acc += classify(e.protocol, e.code, e.sqlstate).length;
  }
  return acc;
}

function templateOnly(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const e = errors[i % errors.length];
    acc += messageTemplate(e.protocol, e.message, e.detail).length;
  }
  return acc;
}

function digestOnly(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += statementDigest(statements[i % statements.length]).length;
  return acc;
}

errorPath(WARMUP);
classifyOnly(WARMUP);
templateOnly(WARMUP);
digestOnly(WARMUP);

const total = perOp(errorPath, ITERATIONS);
const cls = perOp(classifyOnly, ITERATIONS);
const tpl = perOp(templateOnly, ITERATIONS);
const dig = perOp(digestOnly, ITERATIONS);
const avgLen = statements.reduce((n, s) => n + s.length, 0) / statements.length;

console.log(
  `error path over ${errors.length} messages (5 PostgreSQL, 5 MySQL/MariaDB), ${ITERATIONS} iterations:`,
);
console.log(
  `  classify + messageTemplate + errorSignature: ${total.us.toFixed(2)} µs per error (target ≤ ${TARGET_US} µs)`,
);
console.log(`    classify alone:        ${cls.us.toFixed(3)} µs`);
console.log(`    messageTemplate alone: ${tpl.us.toFixed(3)} µs`);
console.log(`  statementDigest: ${dig.us.toFixed(2)} µs per statement (avg ${avgLen.toFixed(0)} chars)`);
if (total.us > TARGET_US) console.log(`  NOTE: above the ${TARGET_US} µs target on this machine`);
