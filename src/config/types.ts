import type { ErrorType } from "../errors/types.js";

/** A TCP address. `host` is a name or an IP literal (IPv6 without brackets). */
export interface HostPort {
  host: string;
  port: number;
}

export const POLICY_MODES = ["off", "observe", "suggest", "apply"] as const;
/** off: do nothing · observe: count what would have been done · suggest: queue a proposal · apply: do it */
export type PolicyMode = (typeof POLICY_MODES)[number];

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const TLS_UPSTREAM_MODES = ["off", "prefer", "require"] as const;
export const AUTH_MODES = ["passthrough", "credentials"] as const;
/** how credentials mode authenticates PostgreSQL clients */
export const PG_AUTH_METHODS = ["scram-sha-256", "md5"] as const;

export type Policy = Record<ErrorType | "default", PolicyMode>;

export interface Config {
  listen: { postgres: HostPort; mysql: HostPort; admin: HostPort };
  /** null: PostgreSQL → embedded PGlite; MySQL → that side is off */
  upstream: { postgres: HostPort | null; mysql: HostPort | null };
  /** cert/key are absolute paths (both or neither) */
  tls: { cert: string | null; key: string | null; upstream: (typeof TLS_UPSTREAM_MODES)[number] };
  auth: {
    mode: (typeof AUTH_MODES)[number];
    /** credentials mode: the method PostgreSQL clients authenticate with (default scram-sha-256) */
    pgMethod: (typeof PG_AUTH_METHODS)[number];
    users: { user: string; password: string }[];
  };
  resolution: {
    thresholds: { preventive: number; selfHealing: number };
    retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number; budgetPerSecond: number };
    /** filled: every ErrorType has a mode; "default" is the mode for types nobody named */
    policy: Policy;
    /** TOO_MANY_CONNECTIONS: how long / how often a client's connect is held and retried */
    connectQueue: { maxWaitMs: number; maxAttempts: number };
    /** table name → DDL self-healing may run, per protocol */
    schemaTemplates: { postgres: Record<string, string>; mysql: Record<string, string> };
    /** bounds on the statements recorded per transaction for replay */
    replay: { maxStatements: number; maxBytes: number };
  };
  ai: {
    enabled: boolean;
    /** normalised to a URL with scheme, no trailing slash */
    ollamaHost: string;
    model: string;
    timeoutMs: number;
    /** Ollama keep_alive duration, e.g. "5m", "1h30m", "-1m" (forever) */
    keepAlive: string;
    annotateErrors: boolean;
    maxConcurrency: number;
    queueLength: number;
  };
  /** absolute path */
  state: { dir: string };
  redis: { url: string | null };
  admin: { token: string | null };
  /** who database-mode chat connects to the upstreams as (env DBAGPT_CHAT_PG_URL / DBAGPT_CHAT_MYSQL_URL override) */
  chat: {
    postgres: { user: string; password: string; database: string };
    /** database "" = none chosen */
    mysql: { user: string; password: string; database: string };
  };
  logLevel: LogLevel;
  drainTimeoutMs: number;
  /** absolute path of the YAML file read, or null */
  configPath: string | null;
}

/**
 * A configuration problem. `key` is the dotted config key (or the flag, or "config" for the
 * file itself); `message` is one line, "<key>: <what is wrong>", fit to print as is.
 */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

const SECRET_KEY = /(password|token)(\b|$)/i;

/** How a bad value is quoted in an error message; secrets are never echoed. */
export function showValue(value: unknown, key = ""): string {
  if (SECRET_KEY.test(key) && value !== undefined && value !== null) return "<hidden>";
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}
