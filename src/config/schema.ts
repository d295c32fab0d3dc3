/**
 * zod schemas for the config file and for single values given by flag or env. zod checks the
 * shape; every message is ours and one line: "<key>: <what is wrong>, got <value>".
 */
import { z } from "zod";
import { ERROR_TYPES } from "../errors/types.js";
import { type HostPortOptions, hostPortOrReason } from "./host-port.js";
import {
  AUTH_MODES,
  PG_AUTH_METHODS,
  ConfigError,
  LOG_LEVELS,
  POLICY_MODES,
  showValue,
  TLS_UPSTREAM_MODES,
} from "./types.js";

// ── leaves ────────────────────────────────────────────────────────────────────────────────
// Values may arrive as strings (flags, env, "${VAR}" in YAML), so numbers and booleans are
// accepted in their text form too.

const NUMERIC = /^\s*-?\d+(\.\d+)?\s*$/;
const numeric = (v: unknown) => (typeof v === "string" && NUMERIC.test(v) ? Number(v) : v);

function int(min: number, max?: number) {
  const msg = max === undefined ? `must be an integer ≥ ${min}` : `must be an integer from ${min} to ${max}`;
  let s = z.int({ error: msg }).min(min, { error: msg });
  if (max !== undefined) s = s.max(max, { error: msg });
  return z.preprocess(numeric, s);
}

function num(min: number) {
  const msg = `must be a number ≥ ${min}`;
  return z.preprocess(numeric, z.number({ error: msg }).min(min, { error: msg }));
}

const BOOLEANS: Record<string, boolean> = {
  true: true,
  yes: true,
  on: true,
  "1": true,
  false: false,
  no: false,
  off: false,
  "0": false,
};
const bool = z.preprocess(
  (v) => (typeof v === "string" && v.trim().toLowerCase() in BOOLEANS ? BOOLEANS[v.trim().toLowerCase()] : v),
  z.boolean({ error: "must be true or false" }),
);

const text = z.string({ error: "must be a string" }).trim().min(1, { error: "must not be empty" });

/** passwords and tokens: a YAML number is taken as its text */
const secret = z.preprocess(
  (v) => (typeof v === "number" ? String(v) : v),
  z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }),
);

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

function hostPort(opts: HostPortOptions) {
  return z.unknown().transform((v, ctx) => {
    const r = hostPortOrReason(v, opts);
    if (typeof r === "string") {
      ctx.issues.push({ code: "custom", message: r, input: v });
      return z.NEVER;
    }
    return r;
  });
}

const listenAddr = hostPort({ allowZeroPort: true });
const upstreamAddr = hostPort({});

/** Ollama host: a URL, or host:port as OLLAMA_HOST takes it (http assumed). */
const ollamaHost = z.unknown().transform((v, ctx) => {
  const fail = (message: string) => {
    ctx.issues.push({ code: "custom", message, input: v });
    return z.NEVER;
  };
  if (typeof v !== "string" || v.trim() === "") return fail("expected a URL such as http://127.0.0.1:11434");
  const s = v.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`);
  } catch {
    return fail("expected a URL such as http://127.0.0.1:11434");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return fail("must be an http:// or https:// URL");
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
});

const redisUrl = z.unknown().transform((v, ctx) => {
  const message = "expected a redis:// or rediss:// URL";
  if (typeof v !== "string") {
    ctx.issues.push({ code: "custom", message, input: v });
    return z.NEVER;
  }
  try {
    const url = new URL(v.trim());
    if (url.protocol === "redis:" || url.protocol === "rediss:") return v.trim();
  } catch {
    // fall through
  }
  ctx.issues.push({ code: "custom", message, input: v });
  return z.NEVER;
});

/** Go-style duration as Ollama's keep_alive takes it; a bare number means seconds. */
const GO_DURATION = /^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const duration = z.unknown().transform((v, ctx) => {
  if (typeof v === "number" && Number.isFinite(v)) return `${v}s`;
  if (typeof v === "string" && GO_DURATION.test(v.trim())) return v.trim();
  if (typeof v === "string" && NUMERIC.test(v)) return `${Number(v)}s`;
  ctx.issues.push({
    code: "custom",
    message: 'must be a duration such as "5m", "1h30m" or "-1m" (forever)',
    input: v,
  });
  return z.NEVER;
});

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
/** a byte count: 1048576, "1MiB", "512KiB", "2MB" */
const bytes = z.unknown().transform((v, ctx) => {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  const m = typeof v === "string" ? /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(v) : null;
  const unit = m ? SIZE_UNITS[(m[2] ?? "").toLowerCase()] : undefined;
  if (m && unit !== undefined) return Number(m[1]) * unit;
  ctx.issues.push({ code: "custom", message: 'must be a byte count such as 1048576 or "1MiB"', input: v });
  return z.NEVER;
});

const ddl = text.refine((s) => /^create\s/i.test(s), { error: "must be a CREATE statement" });
const templates = z.record(z.string().min(1, { error: "table name must not be empty" }), ddl, {
  error: "expected a mapping of table name → CREATE statement",
});

const policyMode = oneOf(POLICY_MODES);

// ── composition ───────────────────────────────────────────────────────────────────────────

/** null in YAML (`key:` with nothing after it) and "" (e.g. an empty `${VAR:-}`) mean "not set". */
function opt<T extends z.ZodType>(s: T) {
  return z.preprocess((v) => (v === null || v === "" ? undefined : v), s.optional());
}

const notMapping = (iss: { code: string }) =>
  iss.code === "invalid_type" ? "expected a mapping" : undefined;

function obj<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape, { error: notMapping });
}

const shapes = {
  listen: { postgres: opt(listenAddr), mysql: opt(listenAddr), admin: opt(listenAddr) },
  upstream: { postgres: opt(upstreamAddr), mysql: opt(upstreamAddr) },
  tls: { cert: opt(text), key: opt(text), upstream: opt(oneOf(TLS_UPSTREAM_MODES)) },
  auth: {
    mode: opt(oneOf(AUTH_MODES)),
    pgMethod: opt(oneOf(PG_AUTH_METHODS)),
    users: opt(
      z.array(obj({ user: text, password: secret }), { error: "expected a list of { user, password }" }),
    ),
  },
  "resolution.thresholds": { preventive: opt(int(1)), selfHealing: opt(int(1)) },
  "resolution.retry": {
    maxAttempts: opt(int(1)),
    baseDelayMs: opt(int(0)),
    maxDelayMs: opt(int(0)),
    budgetPerSecond: opt(num(0)),
  },
  "resolution.policy": Object.fromEntries(
    ["default", ...ERROR_TYPES].map((k) => [k, opt(policyMode)] as const),
  ) as Record<"default" | (typeof ERROR_TYPES)[number], ReturnType<typeof opt<typeof policyMode>>>,
  "resolution.connectQueue": { maxWaitMs: opt(int(0)), maxAttempts: opt(int(1)) },
  "resolution.schemaTemplates": { postgres: opt(templates), mysql: opt(templates) },
  "resolution.replay": { maxStatements: opt(int(0)), maxBytes: opt(bytes) },
  ai: {
    enabled: opt(bool),
    ollamaHost: opt(ollamaHost),
    model: opt(text),
    timeoutMs: opt(int(1)),
    keepAlive: opt(duration),
    annotateErrors: opt(bool),
    maxConcurrency: opt(int(1)),
    queueLength: opt(int(0)),
  },
  state: { dir: opt(text) },
  redis: { url: opt(redisUrl) },
  admin: { token: opt(secret) },
  "chat.postgres": { user: opt(text), password: opt(secret), database: opt(text) },
  "chat.mysql": { user: opt(text), password: opt(secret), database: opt(text) },
};

const resolutionShape = {
  thresholds: opt(obj(shapes["resolution.thresholds"])),
  retry: opt(obj(shapes["resolution.retry"])),
  policy: opt(obj(shapes["resolution.policy"])),
  connectQueue: opt(obj(shapes["resolution.connectQueue"])),
  schemaTemplates: opt(obj(shapes["resolution.schemaTemplates"])),
  replay: opt(obj(shapes["resolution.replay"])),
};

const topShape = {
  listen: opt(obj(shapes.listen)),
  upstream: opt(obj(shapes.upstream)),
  tls: opt(obj(shapes.tls)),
  auth: opt(obj(shapes.auth)),
  resolution: opt(obj(resolutionShape)),
  ai: opt(obj(shapes.ai)),
  state: opt(obj(shapes.state)),
  redis: opt(obj(shapes.redis)),
  admin: opt(obj(shapes.admin)),
  chat: opt(obj({ postgres: opt(obj(shapes["chat.postgres"])), mysql: opt(obj(shapes["chat.mysql"])) })),
  logLevel: opt(oneOf(LOG_LEVELS)),
  drainTimeoutMs: opt(int(0)),
};

/** The config file: every key optional, unknown keys refused. */
export const fileSchema = obj(topShape);
export type FileConfig = z.output<typeof fileSchema>;

/** Policy as PUT by an operator or written under resolution.policy. */
export const policySchema = obj(shapes["resolution.policy"]);

/** Schemas for the values that flags and env can set, by config key. */
export const leafSchemas = {
  "listen.postgres": listenAddr,
  "listen.mysql": listenAddr,
  "listen.admin": listenAddr,
  "upstream.postgres": upstreamAddr,
  "upstream.mysql": upstreamAddr,
  "state.dir": text,
  "redis.url": redisUrl,
  logLevel: oneOf(LOG_LEVELS),
  "ai.ollamaHost": ollamaHost,
  "ai.model": text,
  "ai.timeoutMs": int(1),
  "ai.keepAlive": duration,
  "admin.token": secret,
} as const;
export type LeafKey = keyof typeof leafSchemas;

/** Known keys per mapping, for "unknown key" messages and did-you-mean. */
const KNOWN_KEYS: Record<string, string[]> = {
  "": Object.keys(topShape),
  resolution: Object.keys(resolutionShape),
  chat: ["postgres", "mysql"],
  ...Object.fromEntries(Object.entries(shapes).map(([k, v]) => [k, Object.keys(v)])),
  "auth.users[]": ["user", "password"],
};

// ── messages ──────────────────────────────────────────────────────────────────────────────

export function keyOf(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

export function didYouMean(word: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = k.toLowerCase() === word.toLowerCase() ? 0 : distance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 4))
    ? ` (did you mean ${best}?)`
    : "";
}

/**
 * Turns the first zod issue into a ConfigError. `prefix` is the key the parsed value sits at
 * (for a single flag/env value); `where` is appended, e.g. " (in /etc/dba-gpt.yaml)".
 */
export function issueToError(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  prefix: readonly PropertyKey[],
  where: string,
): ConfigError {
  const issue = issues[0];
  if (!issue)
    return new ConfigError(keyOf(prefix) || "config", `${keyOf(prefix) || "config"}: invalid${where}`);
  const path = [...prefix, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    const bad = issue.keys[0] ?? "?";
    const parent = keyOf(path).replace(/\[\d+\]/g, "[]");
    const key = keyOf([...path, bad]);
    const known = KNOWN_KEYS[parent] ?? [];
    const hint = didYouMean(bad, known);
    const what =
      parent === ""
        ? `unknown top-level key${hint || ` (known: ${known.join(", ")})`}`
        : parent === "resolution.policy"
          ? `unknown error type${hint}`
          : `unknown key${hint}`;
    return new ConfigError(key, `${key}: ${what}${where}`);
  }
  const key = keyOf(path) || "config";
  const got = showValue(valueAt(input, issue.path), key);
  return new ConfigError(key, `${key}: ${issue.message}, got ${got}${where}`);
}
