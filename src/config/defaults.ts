import path from "node:path";
import { ERROR_TYPES, type ErrorType } from "../errors/types.js";
import type { Config, Policy, PolicyMode } from "./types.js";

/**
 * Actions with a built-in mode of their own (PRODUCT section 4): the transient errors are
 * retried / reconnected / queued inline. Everything else — anything that changes schema or
 * data — falls to `default` (suggest).
 */
const BUILT_IN_MODES: Partial<Record<ErrorType, PolicyMode>> = {
  DEADLOCK: "apply",
  SERIALIZATION_FAILURE: "apply",
  LOCK_WAIT_TIMEOUT: "apply",
  CONNECTION_ERROR: "apply",
  TOO_MANY_CONNECTIONS: "apply",
};

const DEFAULT_MODE: PolicyMode = "suggest";

/**
 * Fills a policy from what the operator named. Per errorType: the mode named for it, else its
 * built-in mode (the transient retries: apply), else the named `default`, else suggest.
 * So `default: observe` makes every schema/data action observe-only but keeps inline retries;
 * to change a retry, name its errorType.
 */
export function fillPolicy(named: Partial<Policy>): Policy {
  const def = named.default ?? DEFAULT_MODE;
  const out = { default: def } as Policy;
  for (const t of ERROR_TYPES) out[t] = named[t] ?? BUILT_IN_MODES[t] ?? def;
  return out;
}

export function defaultPolicy(): Policy {
  return fillPolicy({});
}

export function defaultConfig(cwd: string): Config {
  return {
    listen: {
      postgres: { host: "127.0.0.1", port: 6432 },
      mysql: { host: "127.0.0.1", port: 6033 },
      admin: { host: "127.0.0.1", port: 8511 },
    },
    upstream: { postgres: null, mysql: null },
    tls: { cert: null, key: null, upstream: "off" },
    auth: { mode: "passthrough", pgMethod: "scram-sha-256", users: [] },
    resolution: {
      thresholds: { preventive: 2, selfHealing: 3 },
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 200, budgetPerSecond: 50 },
      policy: defaultPolicy(),
      connectQueue: { maxWaitMs: 5000, maxAttempts: 20 },
      schemaTemplates: { postgres: {}, mysql: {} },
      replay: { maxStatements: 100, maxBytes: 1024 * 1024 },
    },
    ai: {
      enabled: true,
      ollamaHost: "http://127.0.0.1:11434",
      model: "llama3.2",
      timeoutMs: 20000,
      keepAlive: "5m",
      annotateErrors: false,
      maxConcurrency: 1,
      queueLength: 100,
    },
    state: { dir: path.resolve(cwd, ".dba-gpt") },
    redis: { url: null },
    admin: { token: null },
    chat: {
      postgres: { user: "postgres", password: "", database: "postgres" },
      mysql: { user: "root", password: "", database: "" },
    },
    logLevel: "info",
    drainTimeoutMs: 10000,
    configPath: null,
  };
}
