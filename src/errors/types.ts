export type Protocol = "postgres" | "mysql";

export const ERROR_TYPES = [
  "TABLE_NOT_FOUND",
  "COLUMN_NOT_FOUND",
  "DATABASE_NOT_FOUND",
  "SYNTAX_ERROR",
  "ACCESS_DENIED",
  "CONNECTION_ERROR",
  "TOO_MANY_CONNECTIONS",
  "DEADLOCK",
  "SERIALIZATION_FAILURE",
  "LOCK_WAIT_TIMEOUT",
  "DUPLICATE_KEY",
  "CONSTRAINT_VIOLATION",
  "READ_ONLY",
  "QUERY_TIMEOUT",
  "DATA_ERROR",
  "RESOURCE_EXHAUSTED",
  "UNKNOWN",
] as const;

export type ErrorType = (typeof ERROR_TYPES)[number];

export function isErrorType(s: string): s is ErrorType {
  return (ERROR_TYPES as readonly string[]).includes(s);
}

export const STRATEGIES = ["IMMEDIATE_FIX", "SELF_HEALING", "PREVENTIVE", "AI_POWERED"] as const;
export type Strategy = (typeof STRATEGIES)[number];

/**
 * What a session hands the error pipeline when it sees an error packet or detects a
 * failure itself. Everything here is cheap to build on the error path; the pipeline
 * derives errorType, template, signature and digest.
 */
export interface RawError {
  protocol: Protocol;
  /** SQLSTATE for PostgreSQL, server error number as a string for MySQL, or a proxy code (e.g. "PROXY_UPSTREAM_LOST") */
  code: string;
  /** SQLSTATE when known (MySQL sends one too) */
  sqlstate?: string | undefined;
  message: string;
  /** PostgreSQL DETAIL field, when present */
  detail?: string | undefined;
  /** PostgreSQL schema/table/column/constraint fields, when present */
  table?: string | undefined;
  column?: string | undefined;
  constraint?: string | undefined;
  /** the statement the client last sent (raw SQL text) — digested, never stored raw */
  statement?: string | undefined;
  database?: string | undefined;
  user?: string | undefined;
  application?: string | undefined;
  inTransaction: boolean;
  /** the error was detected by the proxy itself (upstream refused / reset / timed out) */
  proxyDetected?: boolean;
}

/** PRODUCT.md section 3 */
export interface ErrorEvent {
  at: string;
  protocol: Protocol;
  code: string;
  sqlstate: string | null;
  errorType: ErrorType;
  message: string;
  signature: string;
  database: string | null;
  user: string | null;
  application: string | null;
  statementDigest: string | null;
  inTransaction: boolean;
  strategy: Strategy;
  resolution: ResolutionSummary | null;
}

export interface ResolutionSummary {
  strategy: Strategy;
  action: string;
  outcome: "succeeded" | "failed" | "skipped" | "observed" | "proposed" | "pending";
  reason?: string;
}
