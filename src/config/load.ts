import { accessSync, constants, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseDocument } from "yaml";
import { isLoopback } from "../util/host-port.js";
import { defaultConfig, fillPolicy } from "./defaults.js";
import {
  type FileConfig,
  fileSchema,
  issueToError,
  keyOf,
  type LeafKey,
  leafSchemas,
  policySchema,
} from "./schema.js";
import { ConfigError, type Config, type HostPort, type Policy } from "./types.js";

export interface LoadOptions {
  /** the arguments after the command, e.g. ["--pg-upstream", "10.0.0.5:5432"] */
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** base for relative paths given by flag or env (default process.cwd()) */
  cwd?: string;
}

interface Source {
  key: LeafKey;
  flag?: string;
  env: string;
}

/** flag / env → config key (PRODUCT section 1, 6 and 9) */
export const OVERRIDES: readonly Source[] = [
  { key: "listen.postgres", flag: "pg-listen", env: "DBAGPT_PG_LISTEN" },
  { key: "upstream.postgres", flag: "pg-upstream", env: "DBAGPT_PG_UPSTREAM" },
  { key: "listen.mysql", flag: "mysql-listen", env: "DBAGPT_MYSQL_LISTEN" },
  { key: "upstream.mysql", flag: "mysql-upstream", env: "DBAGPT_MYSQL_UPSTREAM" },
  { key: "listen.admin", flag: "admin-listen", env: "DBAGPT_ADMIN_LISTEN" },
  { key: "state.dir", flag: "state-dir", env: "DBAGPT_STATE_DIR" },
  { key: "redis.url", flag: "redis-url", env: "DBAGPT_REDIS_URL" },
  { key: "logLevel", flag: "log-level", env: "DBAGPT_LOG_LEVEL" },
  { key: "ai.ollamaHost", env: "DBAGPT_OLLAMA_HOST" },
  { key: "ai.model", env: "DBAGPT_OLLAMA_MODEL" },
  { key: "ai.timeoutMs", env: "DBAGPT_OLLAMA_TIMEOUT_MS" },
  { key: "ai.keepAlive", env: "DBAGPT_OLLAMA_KEEP_ALIVE" },
  { key: "admin.token", env: "DBAGPT_ADMIN_TOKEN" },
];

const FLAG_OPTIONS = Object.fromEntries([
  ["config", { type: "string" as const }],
  ...OVERRIDES.filter((o) => o.flag).map((o) => [o.flag, { type: "string" as const }]),
]) as Record<string, { type: "string" }>;

/** The `start` flags, for --help. */
export const START_FLAGS: readonly { flag: string; env: string; key: string }[] = [
  ...OVERRIDES.filter((o) => o.flag).map((o) => ({ flag: `--${o.flag}`, env: o.env, key: o.key })),
  { flag: "--config", env: "DBAGPT_CONFIG", key: "config" },
];

const PATH_KEYS = new Set<string>(["state.dir"]);

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

function parseFlags(argv: string[]): Record<string, string> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: FLAG_OPTIONS,
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, string>;
  } catch (err) {
    const e = err as Error & { code?: string };
    const name = /'(-[^'\s]*)/.exec(e.message)?.[1] ?? /"([^"]+)"/.exec(e.message)?.[1] ?? "argv";
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION")
      throw new ConfigError(name, `${name}: unknown option (see dba-gpt start --help)`);
    if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
      throw new ConfigError("argv", `argv: unexpected argument "${name}" (start takes only --flags)`);
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")
      throw new ConfigError(name, `${name}: needs a value, e.g. ${name}=<value>`);
    throw new ConfigError("argv", `argv: ${e.message.split("\n")[0]}`);
  }
}

// ── ${VAR} substitution ──────────────────────────────────────────────────────────────────

const VAR = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} (and ${VAR:-fallback}) in every string value; "$$" is a literal "$". */
export function substituteEnv(node: unknown, env: NodeJS.ProcessEnv, at: PropertyKey[] = []): unknown {
  if (typeof node === "string") {
    return node.replace(VAR, (whole, name: string | undefined, fallback: string | undefined) => {
      if (whole === "$$") return "$";
      const v = env[name ?? ""];
      if (v !== undefined) return v;
      if (fallback !== undefined) return fallback;
      const key = keyOf(at) || "config";
      throw new ConfigError(key, `${key}: references \${${name}}, which is not set in the environment`);
    });
  }
  if (Array.isArray(node)) return node.map((v, i) => substituteEnv(v, env, [...at, i]));
  if (node !== null && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = substituteEnv(v, env, [...at, k]);
    return out;
  }
  return node;
}

// ── the file ─────────────────────────────────────────────────────────────────────────────

/** Reads, substitutes and validates a config file. Relative paths in it are made absolute against its folder. */
export function readConfigFile(file: string, env: NodeJS.ProcessEnv): FileConfig {
  let source: string;
  try {
    if (statSync(file).isDirectory())
      throw new ConfigError("config", `config: ${file} is a directory, not a file`);
    source = readFileSync(file, "utf8");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ConfigError("config", `config: file not found: ${file}`);
    throw new ConfigError("config", `config: cannot read ${file} (${code ?? (err as Error).message})`);
  }
  const doc = parseDocument(source, { prettyErrors: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const where = yamlError.linePos?.[0];
    const at = where ? ` at line ${where.line}, column ${where.col}` : "";
    const what = (yamlError.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError("config", `config: ${file} is not valid YAML${at}: ${what}`);
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError(
      "config",
      `config: ${file} must hold a YAML mapping (key: value), got ${typeof raw}`,
    );
  const substituted = substituteEnv(raw, env);
  const parsed = fileSchema.safeParse(substituted);
  if (!parsed.success) throw issueToError(parsed.error.issues, substituted, [], ` (in ${file})`);
  const cfg = parsed.data ?? {};
  const dir = path.dirname(file);
  if (cfg.state?.dir) cfg.state.dir = path.resolve(dir, cfg.state.dir);
  if (cfg.tls?.cert) cfg.tls.cert = path.resolve(dir, cfg.tls.cert);
  if (cfg.tls?.key) cfg.tls.key = path.resolve(dir, cfg.tls.key);
  return cfg;
}

/**
 * Validates a policy as an operator would write it (resolution.policy in the file, or a PUT
 * on /api/policy) and fills it: named modes, else the built-in transient `apply`, else default.
 * Throws ConfigError naming the offending key under `key`.
 */
export function parsePolicy(input: unknown, key = "resolution.policy"): Policy {
  const parsed = policySchema.safeParse(input ?? {});
  if (!parsed.success) throw issueToError(parsed.error.issues, input, key.split("."), "");
  return fillPolicy((parsed.data ?? {}) as Partial<Policy>);
}

// ── merge ────────────────────────────────────────────────────────────────────────────────

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function deepMerge(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    const t = target[k];
    if (isPlainObject(v) && isPlainObject(t)) deepMerge(t, v);
    else target[k] = v;
  }
}

function setAt(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  let cur = target;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  cur[parts[parts.length - 1] as string] = value;
}

function sameAddr(a: HostPort, b: HostPort): boolean {
  return a.port !== 0 && a.port === b.port && a.host === b.host;
}

function crossCheck(c: Config): void {
  if (c.tls.cert && !c.tls.key)
    throw new ConfigError(
      "tls.key",
      "tls.key: required when tls.cert is set (the certificate's private key)",
    );
  if (c.tls.key && !c.tls.cert)
    throw new ConfigError("tls.cert", "tls.cert: required when tls.key is set (the server certificate)");
  for (const k of ["cert", "key"] as const) {
    const file = c.tls[k];
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      throw new ConfigError(
        `tls.${k}`,
        `tls.${k}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
  }
  const th = c.resolution.thresholds;
  if (th.preventive >= th.selfHealing)
    throw new ConfigError(
      "resolution.thresholds.preventive",
      `resolution.thresholds.preventive: must be lower than resolution.thresholds.selfHealing (${th.selfHealing}), got ${th.preventive}`,
    );
  const r = c.resolution.retry;
  if (r.maxDelayMs < r.baseDelayMs)
    throw new ConfigError(
      "resolution.retry.maxDelayMs",
      `resolution.retry.maxDelayMs: must be ≥ resolution.retry.baseDelayMs (${r.baseDelayMs}), got ${r.maxDelayMs}`,
    );
  if (c.auth.mode === "credentials" && c.auth.users.length === 0)
    throw new ConfigError("auth.users", "auth.users: credentials mode needs at least one { user, password }");
  const seen = new Set<string>();
  c.auth.users.forEach((u, i) => {
    if (seen.has(u.user))
      throw new ConfigError(`auth.users[${i}].user`, `auth.users[${i}].user: duplicate user "${u.user}"`);
    seen.add(u.user);
  });
  const l = c.listen;
  if (sameAddr(l.postgres, l.mysql))
    throw new ConfigError("listen.mysql", "listen.mysql: same address as listen.postgres");
  if (sameAddr(l.admin, l.postgres) || sameAddr(l.admin, l.mysql))
    throw new ConfigError("listen.admin", "listen.admin: same address as a database listener");
  if (!isLoopback(l.admin.host) && !c.admin.token)
    throw new ConfigError(
      "admin.token",
      `admin.token: required when the admin API listens beyond loopback (${l.admin.host}); set DBAGPT_ADMIN_TOKEN`,
    );
}

// ── load / reload ────────────────────────────────────────────────────────────────────────

const loadedWith = new WeakMap<Config, LoadOptions>();

/**
 * flags > env > file > defaults, validated. Throws ConfigError whose message is one line
 * naming the key: "<key>: <what is wrong>".
 */
export function loadConfig(opts: LoadOptions): Config {
  const cwd = opts.cwd ?? process.cwd();
  const flags = parseFlags(opts.argv);
  const cfg = defaultConfig(cwd);
  let named: Partial<Policy> = {};

  const configArg = flags.config ?? envValue(opts.env, "DBAGPT_CONFIG");
  if (configArg !== undefined) {
    const file = path.resolve(cwd, configArg);
    const fromFile = readConfigFile(file, opts.env);
    named = (fromFile.resolution?.policy ?? {}) as Partial<Policy>;
    if (fromFile.resolution) fromFile.resolution.policy = undefined;
    deepMerge(cfg as unknown as Record<string, unknown>, fromFile as Record<string, unknown>);
    cfg.configPath = file;
  }

  const layers: [string, (o: Source) => string | undefined, (o: Source) => string][] = [
    ["env", (o) => envValue(opts.env, o.env), (o) => o.env],
    ["flag", (o) => (o.flag ? flags[o.flag] : undefined), (o) => `--${o.flag}`],
  ];
  for (const [, get, label] of layers) {
    for (const o of OVERRIDES) {
      const raw = get(o);
      if (raw === undefined) continue;
      const parsed = leafSchemas[o.key].safeParse(raw);
      if (!parsed.success)
        throw issueToError(parsed.error.issues, raw, o.key.split("."), ` (from ${label(o)})`);
      let value: unknown = parsed.data;
      if (PATH_KEYS.has(o.key)) value = path.resolve(cwd, value as string);
      setAt(cfg as unknown as Record<string, unknown>, o.key, value);
    }
  }

  cfg.resolution.policy = fillPolicy(named);
  crossCheck(cfg);
  loadedWith.set(cfg, { ...opts, cwd });
  return cfg;
}

/**
 * For SIGHUP: loads again with the argv, env and cwd `previous` was loaded with (the file is
 * read anew). Throws ConfigError when the new config is bad; the caller keeps `previous`.
 */
export function reloadConfig(previous: Config): Config {
  const opts = loadedWith.get(previous);
  if (!opts) throw new Error("reloadConfig: this Config was not made by loadConfig");
  return loadConfig(opts);
}

/** Dotted keys whose values differ, e.g. ["ai.model", "resolution.policy.DEADLOCK"]. Secrets are compared, not shown. */
export function changedKeys(a: Config, b: Config): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, at: string) => {
    if (isPlainObject(x) && isPlainObject(y) && !("host" in x && "port" in x)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)]))
        walk(x[k], y[k], at ? `${at}.${k}` : k);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(at);
  };
  walk(a, b, "");
  return out;
}
