/**
 * Shape of the hand-written knowledge-base entries (pure data).
 *
 * SQL templates use placeholders filled from the error message at explain time:
 *   {table} {column} {database} {schema} {constraint} {user} {host}  → identifier, quoted for the dialect
 *   {table:lit} (any name + ":lit")                                   → string literal, quoted for the dialect
 *   {table:like} (any name + ":like")                                 → LIKE pattern literal '%name%'
 *   {table:name} (any name + ":name")                                 → the bare name in double quotes, for prose
 *   {relation}                                                        → schema.table when the schema is known, else table
 * A placeholder whose value is unknown renders as <table>, '<table>', '%<table>%' so the SQL
 * still reads as a template the operator completes.
 */

export interface RetryAdvice {
  /** true when re-running is safe under the `when` condition */
  safe: boolean;
  /** autocommit: re-run the single statement only outside an explicit transaction; any: always; never */
  when: "autocommit" | "any" | "never";
  note: string;
}

export interface KbStep {
  step: string;
  sql?: string;
}

export interface KbEntry {
  /** SQLSTATE (PostgreSQL) or error number as a string (MySQL/MariaDB) */
  code: string;
  /** overrides the name taken from the official list (for numbers MySQL and MariaDB use differently) */
  name?: string;
  /** short human title */
  title: string;
  rootCause: string;
  immediateSolution: KbStep[];
  prevention: string[];
  /** overrides the per-errorType retry advice */
  retry?: RetryAdvice;
}
