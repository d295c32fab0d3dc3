/**
 * General mode without an LLM: short, accurate answers to the database questions operators ask most,
 * and knowledge-base explanations when the question names an error (a SQLSTATE, a MySQL error number,
 * an ER_ name or a pasted error line).
 */
import { explainError, renderExplanation } from "../ai/explain.js";
import { tryParseErrorLine } from "../ai/error-line.js";
import { lookup, lookupByName } from "../ai/knowledge-base.js";
import type { Protocol } from "../errors/types.js";

export interface Concept {
  topic: string;
  keywords: RegExp;
  answer: string;
}

export const CONCEPTS: Concept[] = [
  {
    topic: "Indexes",
    keywords: /\bindex(es|ing|ices)?\b|\bb-?tree\b/i,
    answer: [
      "An index is a separate, sorted structure (a B-tree by default in PostgreSQL and InnoDB) that lets the server find rows by a key without reading the whole table.",
      "- Index the columns you filter, join and sort on most; put the most selective equality columns first in a composite index, range columns last.",
      "- Every index costs space and slows INSERT/UPDATE/DELETE, so drop unused ones (PostgreSQL: pg_stat_user_indexes.idx_scan = 0; MySQL: sys.schema_unused_indexes).",
      "- Check a query with EXPLAIN (PostgreSQL: EXPLAIN ANALYZE) to see whether it uses the index.",
      "- PostgreSQL: CREATE INDEX CONCURRENTLY avoids blocking writes; MySQL/InnoDB: ALTER TABLE ... ADD INDEX, ALGORITHM=INPLACE, LOCK=NONE.",
    ].join("\n"),
  },
  {
    topic: "Deadlocks",
    keywords: /\bdead-?locks?\b/i,
    answer: [
      "A deadlock is two (or more) transactions each waiting for a lock the other holds. The server detects the cycle and aborts one of them (PostgreSQL 40P01, MySQL 1213); the survivor continues.",
      "- Retrying the aborted transaction from the start is safe and usually succeeds (DBA-GPT does this inline for PostgreSQL where it can).",
      "- Prevent them by touching rows and tables in the same order in every code path, keeping transactions short, and indexing the columns in WHERE clauses of UPDATE/DELETE so fewer rows are locked.",
      "- InnoDB rolls back the whole transaction on a deadlock; PostgreSQL marks it failed until ROLLBACK.",
    ].join("\n"),
  },
  {
    topic: "VACUUM and bloat",
    keywords: /\b(auto)?vacuum\b|\bbloat\b|\bdead tuples?\b|\bwraparound\b/i,
    answer: [
      "PostgreSQL's MVCC keeps old row versions; VACUUM reclaims the space of versions no transaction can see any more and updates the visibility map, and ANALYZE refreshes planner statistics.",
      "- Autovacuum does this in the background; tune autovacuum_vacuum_scale_factor down for big, busy tables.",
      "- Long-running or idle-in-transaction sessions hold back the cleanup horizon and cause bloat: watch pg_stat_activity.",
      "- VACUUM FULL rewrites the table and takes an ACCESS EXCLUSIVE lock; prefer regular VACUUM or pg_repack.",
      "- Transaction ID wraparound is prevented by (auto)vacuum freezing old rows: watch age(datfrozenxid).",
    ].join("\n"),
  },
  {
    topic: "Isolation levels",
    keywords:
      /\bisolation\b|\bserializable\b|\brepeatable read\b|\bread committed\b|\bphantom\b|\bdirty read\b/i,
    answer: [
      "Isolation levels decide which effects of concurrent transactions a transaction can see.",
      "- READ COMMITTED (PostgreSQL default): each statement sees data committed before it started.",
      "- REPEATABLE READ (InnoDB default): the transaction sees one snapshot; in PostgreSQL a conflicting update fails with 40001.",
      "- SERIALIZABLE: the result equals some serial order; the server aborts transactions that would break it (40001), and the application must retry them.",
      "- Higher levels prevent more anomalies (non-repeatable reads, phantoms, write skew) at the cost of more aborts or locking.",
    ].join("\n"),
  },
  {
    topic: "Connection pooling",
    keywords: /\bpool(ing|er)?\b|\bpgbouncer\b|\bmax_connections\b|\btoo many connections\b/i,
    answer: [
      "Each server connection costs memory (a process per connection in PostgreSQL), so many short-lived or idle clients are best served through a pool.",
      "- Application-side pools (pg.Pool, HikariCP) reuse connections inside one process; size them to a few per CPU core of the database, not per request.",
      "- A pooler such as PgBouncer (transaction mode) lets thousands of clients share a few dozen server connections; session features (prepared statements, SET, advisory locks) need care in that mode.",
      "- Watch connections against max_connections and close idle-in-transaction sessions (idle_in_transaction_session_timeout).",
    ].join("\n"),
  },
  {
    topic: "Normalization",
    keywords:
      /\bnormali[sz](ation|e|ed)\b|\b(1|2|3|first|second|third)(nf| normal form)\b|\bbcnf\b|\bdenormali[sz]/i,
    answer: [
      "Normalization organises tables so each fact is stored once, which prevents update anomalies.",
      "- 1NF: atomic columns, no repeating groups. 2NF: every non-key column depends on the whole key. 3NF: and on nothing but the key (no transitive dependencies). BCNF: every determinant is a candidate key.",
      "- Denormalize deliberately (summary tables, materialized views, cached columns) when reads dominate and you can keep the copies consistent.",
    ].join("\n"),
  },
  {
    topic: "Transactions and ACID",
    keywords: /\btransactions?\b|\bacid\b|\bcommit\b|\brollback\b|\batomic(ity)?\b/i,
    answer: [
      "A transaction groups statements so they take effect all together or not at all (Atomicity), keep constraints true (Consistency), do not see each other's uncommitted work as the isolation level says (Isolation) and survive a crash once committed (Durability).",
      "- Keep transactions short: locks and snapshots are held until COMMIT or ROLLBACK.",
      "- In PostgreSQL an error inside a transaction aborts it: later statements fail with 25P02 until ROLLBACK (use SAVEPOINTs to recover part-way).",
    ].join("\n"),
  },
  {
    topic: "Query performance and EXPLAIN",
    keywords:
      /\bexplain\b|\bquery plan\b|\bslow quer(y|ies)\b|\bquery performance\b|\boptimi[sz]e\b|\btuning\b/i,
    answer: [
      "Start from the slowest or most frequent statements (PostgreSQL: pg_stat_statements; MySQL: the slow query log or performance_schema.events_statements_summary_by_digest).",
      "- Read the plan with EXPLAIN (PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)): look for sequential scans on large tables, row estimates far from actual rows, and sorts or hashes spilling to disk.",
      "- Fix with the right index, fresher statistics (ANALYZE), rewriting the query (avoid functions on indexed columns, SELECT only needed columns), or more work_mem / buffer pool where memory is short.",
    ].join("\n"),
  },
  {
    topic: "Locks",
    keywords: /\blocks?\b|\blocking\b|\block wait\b|\bblocked\b/i,
    answer: [
      "Writers lock the rows they change until their transaction ends; DDL takes table locks. A session waiting on a lock is blocked, not broken.",
      "- PostgreSQL: find blockers with pg_blocking_pids(pid) in pg_stat_activity; bound waits with lock_timeout.",
      "- MySQL/InnoDB: information_schema.innodb_trx and performance_schema.data_lock_waits; innodb_lock_wait_timeout (1205) bounds the wait.",
      "- Shorter transactions and consistent lock order reduce waits and deadlocks.",
    ].join("\n"),
  },
  {
    topic: "Replication",
    keywords: /\breplica(tion|s)?\b|\bstandby\b|\bfailover\b|\bbinlog\b|\bwal\b/i,
    answer: [
      "Replication copies changes from a primary to replicas: PostgreSQL streams its write-ahead log (WAL), MySQL ships its binary log.",
      "- Asynchronous replicas can lag: watch pg_stat_replication (replay_lag) or SHOW REPLICA STATUS (Seconds_Behind_Source).",
      "- Use replicas for reads and failover; synchronous replication trades write latency for no data loss on failover.",
    ].join("\n"),
  },
  {
    topic: "Backups",
    keywords: /\bbackups?\b|\brestore\b|\bpg_dump\b|\bmysqldump\b|\bpitr\b|\bpoint[- ]in[- ]time\b/i,
    answer: [
      "Logical backups (pg_dump, mysqldump/mariadb-dump) are portable and per database; physical backups (pg_basebackup, mariabackup/XtraBackup) copy the files and, with WAL/binlog archiving, allow point-in-time recovery.",
      "- A backup you have not restored is a hope, not a backup: test restores regularly.",
    ].join("\n"),
  },
  {
    topic: "Primary and foreign keys",
    keywords: /\bprimary keys?\b|\bforeign keys?\b|\bconstraints?\b|\bunique\b|\breferential\b/i,
    answer: [
      "A primary key identifies each row (unique, not null); a foreign key makes a column reference a row of another table, and the server refuses changes that would break the reference (PostgreSQL 23503, MySQL 1451/1452).",
      "- Index foreign key columns on the referencing side: deletes and updates on the parent look them up.",
      "- Unique constraints (23505 / 1062 on violation) are enforced by a unique index.",
    ].join("\n"),
  },
  {
    topic: "SQL injection",
    keywords: /\binjection\b|\bprepared statements?\b|\bparameteri[sz]ed\b|\bbind (parameters|variables)\b/i,
    answer: [
      "SQL injection happens when user input is pasted into SQL text. Send values as parameters (prepared statements / placeholders such as $1 or ?) so the server never parses them as SQL.",
      "- Identifiers cannot be parameters: check them against an allow-list, then quote them.",
      "- Give the application's database user only the privileges it needs.",
    ].join("\n"),
  },
];

function explainCode(protocol: Protocol, code: string, message = ""): string {
  return renderExplanation(explainError({ protocol, code, message }));
}

/** An explanation when the question names an error, else null. */
export function errorAnswer(message: string, protocol?: Protocol): string | null {
  const parsed = tryParseErrorLine(message, protocol);
  if (parsed?.code !== undefined) {
    return renderExplanation(
      explainError({
        protocol: parsed.protocol,
        code: parsed.code,
        sqlstate: parsed.sqlstate,
        message: parsed.message,
      }),
    );
  }
  const name = /\b(ER_[A-Z0-9_]+)\b/.exec(message)?.[1];
  if (name) {
    const rec = lookupByName(name);
    if (rec) return explainCode(rec.protocol, rec.code);
  }
  // a SQLSTATE in a sentence: "what does 40P01 mean?"
  for (const m of message.matchAll(/\b([0-9][0-9A-Z]{4})\b/g)) {
    const code = m[1] as string;
    if (/[A-Z]/.test(code) || protocol !== "mysql") {
      if (lookup("postgres", code) && (protocol !== "mysql" || /[A-Z]/.test(code)))
        return explainCode("postgres", code);
    }
  }
  // a MySQL error number: "error 1213", "mysql 1205", "errno 1146"
  const num = /\b(?:error|errno|code|mysql|mariadb)\s*#?\s*(\d{3,5})\b/i.exec(message)?.[1];
  if (num && lookup("mysql", String(Number(num)))) return explainCode("mysql", String(Number(num)));
  return null;
}

/** The built-in concept a question is about (the first in list order that matches), or null. */
export function conceptAnswer(message: string): Concept | null {
  return CONCEPTS.find((c) => c.keywords.test(message)) ?? null;
}
