import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  type Config,
  ConfigError,
  changedKeys,
  defaultPolicy,
  loadConfig,
  parseHostPort,
  parsePolicy,
  reloadConfig,
} from "../../src/config/index.js";
import { ERROR_TYPES } from "../../src/errors/types.js";

const dir = mkdtempSync(path.join(tmpdir(), "dba-gpt-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function yamlFile(text: string): string {
  const file = path.join(dir, `c${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function load(argv: string[] = [], env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ argv, env, cwd: dir });
}

/** the ConfigError thrown, or fails the test */
function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.message).not.toContain("\n");
    expect(e.message.startsWith(`${e.key}: `)).toBe(true);
    return e;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

describe("defaults", () => {
  it("needs nothing configured", () => {
    const c = load();
    expect(c.listen).toEqual({
      postgres: { host: "127.0.0.1", port: 6432 },
      mysql: { host: "127.0.0.1", port: 6033 },
      admin: { host: "127.0.0.1", port: 8511 },
    });
    expect(c.upstream).toEqual({ postgres: null, mysql: null });
    expect(c.tls).toEqual({ cert: null, key: null, upstream: "off" });
    expect(c.auth).toEqual({ mode: "passthrough", pgMethod: "scram-sha-256", users: [] });
    expect(c.resolution.thresholds).toEqual({ preventive: 2, selfHealing: 3 });
    expect(c.resolution.retry).toEqual({
      maxAttempts: 3,
      baseDelayMs: 5,
      maxDelayMs: 200,
      budgetPerSecond: 50,
    });
    expect(c.resolution.connectQueue).toEqual({ maxWaitMs: 5000, maxAttempts: 20 });
    expect(c.resolution.replay).toEqual({ maxStatements: 100, maxBytes: 1048576 });
    expect(c.resolution.schemaTemplates).toEqual({ postgres: {}, mysql: {} });
    expect(c.ai).toEqual({
      enabled: true,
      ollamaHost: "http://127.0.0.1:11434",
      model: "llama3.2",
      timeoutMs: 20000,
      keepAlive: "5m",
      annotateErrors: false,
      maxConcurrency: 1,
      queueLength: 100,
    });
    expect(c.state.dir).toBe(path.join(dir, ".dba-gpt"));
    expect(c.redis.url).toBeNull();
    expect(c.admin.token).toBeNull();
    expect(c.logLevel).toBe("info");
    expect(c.drainTimeoutMs).toBe(10000);
    expect(c.configPath).toBeNull();
  });

  it("default policy applies transient retries and only suggests everything else", () => {
    const p = defaultPolicy();
    for (const t of [
      "DEADLOCK",
      "SERIALIZATION_FAILURE",
      "LOCK_WAIT_TIMEOUT",
      "CONNECTION_ERROR",
      "TOO_MANY_CONNECTIONS",
    ])
      expect(p[t as keyof typeof p]).toBe("apply");
    expect(p.TABLE_NOT_FOUND).toBe("suggest");
    expect(p.UNKNOWN).toBe("suggest");
    expect(p.default).toBe("suggest");
    expect(Object.keys(p).sort()).toEqual(["default", ...ERROR_TYPES].sort());
    expect(load().resolution.policy).toEqual(p);
  });
});

describe("precedence: flags > env > file > defaults", () => {
  const file = () =>
    yamlFile(`
listen: { postgres: 127.0.0.1:7001, mysql: "127.0.0.1:7002" }
upstream: { postgres: 10.0.0.5:5432 }
state: { dir: ./from-file }
redis: { url: "redis://file:6379" }
logLevel: warn
ai: { model: file-model }
`);

  it("the file beats defaults", () => {
    const f = file();
    const c = load(["--config", f]);
    expect(c.configPath).toBe(f);
    expect(c.listen.postgres).toEqual({ host: "127.0.0.1", port: 7001 });
    expect(c.listen.mysql.port).toBe(7002);
    expect(c.listen.admin.port).toBe(8511);
    expect(c.upstream.postgres).toEqual({ host: "10.0.0.5", port: 5432 });
    expect(c.state.dir).toBe(path.join(dir, "from-file"));
    expect(c.redis.url).toBe("redis://file:6379");
    expect(c.logLevel).toBe("warn");
    expect(c.ai.model).toBe("file-model");
  });

  it("env beats the file, and DBAGPT_CONFIG names the file", () => {
    const c = load([], {
      DBAGPT_CONFIG: file(),
      DBAGPT_PG_LISTEN: "127.0.0.1:7101",
      DBAGPT_STATE_DIR: "env-state",
      DBAGPT_LOG_LEVEL: "debug",
      DBAGPT_OLLAMA_MODEL: "env-model",
      DBAGPT_OLLAMA_HOST: "gpu-box:11434",
      DBAGPT_REDIS_URL: "redis://env:6379",
      DBAGPT_MYSQL_UPSTREAM: "[::1]:3306",
    });
    expect(c.listen.postgres.port).toBe(7101);
    expect(c.listen.mysql.port).toBe(7002);
    expect(c.state.dir).toBe(path.join(dir, "env-state"));
    expect(c.logLevel).toBe("debug");
    expect(c.ai.model).toBe("env-model");
    expect(c.ai.ollamaHost).toBe("http://gpu-box:11434");
    expect(c.redis.url).toBe("redis://env:6379");
    expect(c.upstream.mysql).toEqual({ host: "::1", port: 3306 });
  });

  it("flags beat env", () => {
    const c = load(
      ["--config", file(), "--pg-listen", "127.0.0.1:7201", "--log-level=error", "--state-dir", "/abs/state"],
      { DBAGPT_PG_LISTEN: "127.0.0.1:7101", DBAGPT_LOG_LEVEL: "debug" },
    );
    expect(c.listen.postgres.port).toBe(7201);
    expect(c.logLevel).toBe("error");
    expect(c.state.dir).toBe("/abs/state");
  });

  it("--config beats DBAGPT_CONFIG, and an empty env var counts as unset", () => {
    const c = load(["--config", file()], { DBAGPT_CONFIG: "/nowhere.yaml", DBAGPT_PG_LISTEN: "" });
    expect(c.listen.postgres.port).toBe(7001);
  });

  it("takes the admin token from DBAGPT_ADMIN_TOKEN", () => {
    expect(load([], { DBAGPT_ADMIN_TOKEN: "s3cret" }).admin.token).toBe("s3cret");
  });

  it("takes the Ollama timeout and keep_alive from the environment, naming the variable when bad", () => {
    const c = load([], { DBAGPT_OLLAMA_TIMEOUT_MS: "1500", DBAGPT_OLLAMA_KEEP_ALIVE: "10m" });
    expect(c.ai.timeoutMs).toBe(1500);
    expect(c.ai.keepAlive).toBe("10m");
    expect(() => load([], { DBAGPT_OLLAMA_TIMEOUT_MS: "soon" })).toThrow(
      /ai\.timeoutMs: .*DBAGPT_OLLAMA_TIMEOUT_MS/,
    );
  });
});

describe("the config file", () => {
  it("replaces $-brace variables from the environment, with :- fallbacks and $$ escapes", () => {
    const f = yamlFile(`
auth:
  mode: credentials
  users:
    - { user: app, password: "\${APP_DB_PASSWORD}" }
resolution:
  retry: { maxAttempts: "\${RETRIES}" }
admin: { token: "\${TOKEN:-}" }
ai: { model: "\${MODEL:-llama3.2:1b}" }
state: { dir: "/var/lib/$\${HOME}" }
`);
    const c = load(["--config", f], { APP_DB_PASSWORD: "pw$1", RETRIES: "5", HOME: "/root" });
    expect(c.auth.users).toEqual([{ user: "app", password: "pw$1" }]);
    expect(c.resolution.retry.maxAttempts).toBe(5);
    expect(c.admin.token).toBeNull();
    expect(c.ai.model).toBe("llama3.2:1b");
    expect(c.state.dir).toBe(`/var/lib/$\{HOME}`);
    expect(load(["--config", f], { APP_DB_PASSWORD: "x", RETRIES: "5", TOKEN: "t" }).admin.token).toBe("t");
  });

  it("an unset variable names the key that references it", () => {
    const f = yamlFile(`auth:\n  users:\n    - { user: app, password: "\${APP_DB_PASSWORD}" }\n`);
    const e = errorOf(() => load(["--config", f]));
    expect(e.key).toBe("auth.users[0].password");
    expect(e.message).toContain(`$\{APP_DB_PASSWORD}`);
    expect(e.message).toContain("not set");
  });

  it("loads the PRODUCT.md example as written", () => {
    const f = yamlFile(`
listen:   { postgres: 127.0.0.1:6432, mysql: 127.0.0.1:6033, admin: 127.0.0.1:8511 }
upstream: { postgres: 127.0.0.1:5432, mysql: 127.0.0.1:3306 }
auth:
  mode: passthrough
  users:
    - { user: app, password: "\${APP_DB_PASSWORD}" }
resolution:
  thresholds: { preventive: 2, selfHealing: 3 }
  retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 200, budgetPerSecond: 50 }
  policy: { default: suggest, DEADLOCK: apply, TABLE_NOT_FOUND: suggest }
  schemaTemplates:
    postgres: { orders: "CREATE TABLE orders (id serial PRIMARY KEY, note text)" }
    mysql:    { orders: "CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, note text)" }
ai:       { enabled: true, ollamaHost: "http://127.0.0.1:11434", model: llama3.2, timeoutMs: 20000, annotateErrors: false }
state:    { dir: ./.dba-gpt }
redis:    { url: "redis://127.0.0.1:6379" }
admin:    { token: "\${DBAGPT_ADMIN_TOKEN}" }
`);
    const c = load(["--config", f], { APP_DB_PASSWORD: "pw", DBAGPT_ADMIN_TOKEN: "tok" });
    expect(c.upstream.mysql).toEqual({ host: "127.0.0.1", port: 3306 });
    expect(c.resolution.schemaTemplates.postgres.orders).toMatch(/^CREATE TABLE orders/);
    expect(c.resolution.policy.DEADLOCK).toBe("apply");
    expect(c.resolution.policy.SERIALIZATION_FAILURE).toBe("apply");
    expect(c.admin.token).toBe("tok");
  });

  it("loads config/dba-gpt.example.yaml", () => {
    const example = fileURLToPath(new URL("../../config/dba-gpt.example.yaml", import.meta.url));
    const c = load(["--config", example], { APP_DB_PASSWORD: "pw" });
    expect(c.configPath).toBe(example);
    expect(c.listen.postgres.port).toBe(6432);
  });

  it("named policy modes win, `default` covers the types nobody named, retries keep apply", () => {
    const f = yamlFile(
      "resolution:\n  policy: { default: observe, DEADLOCK: off, TABLE_NOT_FOUND: apply }\n",
    );
    const p = load(["--config", f]).resolution.policy;
    expect(p.default).toBe("observe");
    expect(p.DEADLOCK).toBe("off");
    expect(p.TABLE_NOT_FOUND).toBe("apply");
    expect(p.DUPLICATE_KEY).toBe("observe");
    expect(p.SERIALIZATION_FAILURE).toBe("apply");
  });

  it("accepts sizes, durations and text booleans", () => {
    const f = yamlFile(
      'resolution: { replay: { maxBytes: "512KiB" } }\nai: { keepAlive: 300, enabled: "off", annotateErrors: yes }\n',
    );
    const c = load(["--config", f]);
    expect(c.resolution.replay.maxBytes).toBe(512 * 1024);
    expect(c.ai.keepAlive).toBe("300s");
    expect(c.ai.enabled).toBe(false);
    expect(c.ai.annotateErrors).toBe(true);
  });

  it("an empty file is fine", () => {
    expect(load(["--config", yamlFile("# nothing here\n")]).listen.postgres.port).toBe(6432);
  });
});

describe("bad values name their key", () => {
  const bad = (yaml: string, env: NodeJS.ProcessEnv = {}) =>
    errorOf(() => load(["--config", yamlFile(yaml)], env));

  it("a non-integer count", () => {
    const e = bad('resolution:\n  retry: { maxAttempts: "abc" }\n');
    expect(e.key).toBe("resolution.retry.maxAttempts");
    expect(e.message).toMatch(/^resolution\.retry\.maxAttempts: must be an integer ≥ 1, got "abc"/);
    expect(bad("resolution: { retry: { maxAttempts: 0 } }").key).toBe("resolution.retry.maxAttempts");
    expect(bad("resolution: { retry: { baseDelayMs: 1.5 } }").key).toBe("resolution.retry.baseDelayMs");
  });

  it("an address that is not host:port, from file, env or flag", () => {
    expect(bad("listen: { postgres: nope }").message).toMatch(
      /^listen\.postgres: expected host:port, got "nope"/,
    );
    const fromEnv = errorOf(() => load([], { DBAGPT_MYSQL_LISTEN: "127.0.0.1:99999" }));
    expect(fromEnv.key).toBe("listen.mysql");
    expect(fromEnv.message).toContain("DBAGPT_MYSQL_LISTEN");
    const fromFlag = errorOf(() => load(["--pg-upstream", "::1:5432"]));
    expect(fromFlag.key).toBe("upstream.postgres");
    expect(fromFlag.message).toContain("brackets");
    expect(fromFlag.message).toContain("--pg-upstream");
    expect(errorOf(() => load(["--pg-upstream", "db:0"])).key).toBe("upstream.postgres");
  });

  it("an unknown policy error type or mode", () => {
    const e = bad("resolution:\n  policy: { DEADLOK: apply }\n");
    expect(e.key).toBe("resolution.policy.DEADLOK");
    expect(e.message).toMatch(/^resolution\.policy\.DEADLOK: unknown error type \(did you mean DEADLOCK\?\)/);
    const m = bad("resolution:\n  policy: { DEADLOCK: always }\n");
    expect(m.key).toBe("resolution.policy.DEADLOCK");
    expect(m.message).toContain("must be one of off, observe, suggest, apply");
  });

  it("unknown keys, top-level and nested", () => {
    const top = bad("listen: {}\nupstreams: {}\n");
    expect(top.key).toBe("upstreams");
    expect(top.message).toContain("unknown top-level key (did you mean upstream?)");
    const nested = bad("resolution: { retry: { maxAttemps: 3 } }");
    expect(nested.key).toBe("resolution.retry.maxAttemps");
    expect(nested.message).toContain("did you mean maxAttempts?");
  });

  it("a TLS certificate without its key names tls.key", () => {
    const cert = yamlFile("not really a cert");
    expect(bad(`tls: { cert: ${cert} }`).key).toBe("tls.key");
    expect(bad(`tls: { key: ${cert} }`).key).toBe("tls.cert");
    expect(bad(`tls: { cert: ${cert}, key: missing.key }`).message).toMatch(
      /^tls\.key: cannot read .*missing\.key/,
    );
    expect(bad("tls: { upstream: maybe }").key).toBe("tls.upstream");
  });

  it("thresholds out of order, delays out of order", () => {
    expect(bad("resolution: { thresholds: { preventive: 3 } }").key).toBe("resolution.thresholds.preventive");
    expect(bad("resolution: { retry: { baseDelayMs: 500 } }").key).toBe("resolution.retry.maxDelayMs");
  });

  it("enums, urls, templates, types of mappings", () => {
    expect(bad("logLevel: loud").message).toMatch(/^logLevel: must be one of trace, debug, info/);
    expect(errorOf(() => load(["--log-level", "loud"])).message).toContain("--log-level");
    expect(bad("redis: { url: 'http://x' }").key).toBe("redis.url");
    expect(bad("ai: { ollamaHost: 'ftp://x' }").key).toBe("ai.ollamaHost");
    expect(bad("ai: { keepAlive: soon }").key).toBe("ai.keepAlive");
    expect(bad("ai: { enabled: maybe }").message).toMatch(/^ai\.enabled: must be true or false, got "maybe"/);
    expect(bad("resolution: { schemaTemplates: { postgres: { orders: 'DROP TABLE orders' } } }").key).toBe(
      "resolution.schemaTemplates.postgres.orders",
    );
    expect(bad("listen: 6432").message).toMatch(/^listen: expected a mapping, got 6432/);
    expect(bad("auth: { mode: credentials }").key).toBe("auth.users");
    expect(bad("auth: { users: [ { user: a, password: x }, { user: a, password: y } ] }").key).toBe(
      "auth.users[1].user",
    );
  });

  it("never echoes a password or token", () => {
    const e = bad("auth: { users: [ { user: a, password: [ hunter2 ] } ] }");
    expect(e.key).toBe("auth.users[0].password");
    expect(e.message).not.toContain("hunter2");
  });

  it("the admin API beyond loopback needs a token", () => {
    const e = errorOf(() => load(["--admin-listen", "0.0.0.0:8511"]));
    expect(e.key).toBe("admin.token");
    expect(load(["--admin-listen", "0.0.0.0:8511"], { DBAGPT_ADMIN_TOKEN: "t" }).listen.admin.host).toBe(
      "0.0.0.0",
    );
  });

  it("two listeners on one address", () => {
    expect(errorOf(() => load(["--mysql-listen", "127.0.0.1:6432"])).key).toBe("listen.mysql");
  });

  it("a missing, unreadable or broken file names `config`", () => {
    const missing = errorOf(() => load(["--config", "nope.yaml"]));
    expect(missing.key).toBe("config");
    expect(missing.message).toBe(`config: file not found: ${path.join(dir, "nope.yaml")}`);
    expect(errorOf(() => load(["--config", dir])).key).toBe("config");
    const broken = bad("listen: { postgres: [\n");
    expect(broken.key).toBe("config");
    expect(broken.message).toContain("not valid YAML at line");
    expect(bad("- a\n- b\n").message).toContain("must hold a YAML mapping");
  });

  it("an unknown flag or a flag without its value names the flag", () => {
    const e = errorOf(() => load(["--pg-listn", "x"]));
    expect(e.key).toBe("--pg-listn");
    expect(e.message).toContain("unknown option");
    expect(errorOf(() => load(["--pg-listen"])).key).toBe("--pg-listen");
    expect(errorOf(() => load(["stray"])).key).toBe("argv");
  });
});

describe("parseHostPort", () => {
  it("parses the forms operators write", () => {
    expect(parseHostPort("k", "db.internal:5432")).toEqual({ host: "db.internal", port: 5432 });
    expect(parseHostPort("k", "[::1]:5432")).toEqual({ host: "::1", port: 5432 });
    expect(parseHostPort("k", ":5432")).toEqual({ host: "127.0.0.1", port: 5432 });
    expect(parseHostPort("k", "5432")).toEqual({ host: "127.0.0.1", port: 5432 });
    expect(parseHostPort("k", 5432)).toEqual({ host: "127.0.0.1", port: 5432 });
    expect(parseHostPort("k", "0.0.0.0:0", { allowZeroPort: true })).toEqual({ host: "0.0.0.0", port: 0 });
  });

  it("refuses the rest with the key in the message", () => {
    for (const v of ["nope", "host:", "host:abc", "[::1]", "[]:1", "a b:1", "h:65536", "h:0", "", null])
      expect(() => parseHostPort("upstream.mysql", v)).toThrow(/^upstream\.mysql: /);
  });
});

describe("parsePolicy (for PUT /api/policy)", () => {
  it("fills and validates", () => {
    expect(parsePolicy({ TABLE_NOT_FOUND: "apply" }).TABLE_NOT_FOUND).toBe("apply");
    expect(parsePolicy({}).DEADLOCK).toBe("apply");
    const e = errorOf(() => parsePolicy({ DEADLOCK: "yes" }, "policy"));
    expect(e.key).toBe("policy.DEADLOCK");
  });
});

describe("reload", () => {
  it("re-reads the file with the same flags and env, and says what changed", () => {
    const f = path.join(dir, "reload.yaml");
    writeFileSync(f, "ai: { model: one }\n");
    const first = loadConfig({ argv: ["--config", f, "--pg-listen", "7301"], env: {}, cwd: dir });
    writeFileSync(f, "ai: { model: two }\nresolution: { policy: { DEADLOCK: observe } }\n");
    const second = reloadConfig(first);
    expect(second.ai.model).toBe("two");
    expect(second.listen.postgres.port).toBe(7301);
    expect(changedKeys(first, second).sort()).toEqual(["ai.model", "resolution.policy.DEADLOCK"]);
    writeFileSync(f, "ai: { model: '' , timeoutMs: -1 }\n");
    expect(errorOf(() => reloadConfig(second)).key).toBe("ai.timeoutMs");
  });
});
