#!/usr/bin/env node
/**
 * The `dba-gpt` command. Commands are loaded on demand so `--help` and `--version` answer
 * without loading the proxy.
 */
import { readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface CliIo {
  stdout: NodeJS.WritableStream & { columns?: number; isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

export const USAGE = `usage: dba-gpt <command> [options]

A sidecar proxy for PostgreSQL and MySQL/MariaDB that learns error patterns, resolves the
safe ones inline and explains the rest offline.

Commands:
  start [flags]                    run the proxy
  explain "<error text or code>"   explain an error offline [--protocol postgres|mysql] [--coverage]
  patterns                         learned patterns of a running proxy (dba-gpt patterns --help)
  --help, -h                       this text
  --version, -v                    the version

start flags (flags beat env, env beats the config file, the file beats defaults):
  --pg-listen HOST:PORT     DBAGPT_PG_LISTEN        default 127.0.0.1:6432
  --pg-upstream HOST:PORT   DBAGPT_PG_UPSTREAM      default none: embedded PostgreSQL (PGlite)
  --mysql-listen HOST:PORT  DBAGPT_MYSQL_LISTEN     default 127.0.0.1:6033
  --mysql-upstream H:PORT   DBAGPT_MYSQL_UPSTREAM   default none: MySQL side off
  --admin-listen HOST:PORT  DBAGPT_ADMIN_LISTEN     default 127.0.0.1:8511
  --state-dir DIR           DBAGPT_STATE_DIR        default ./.dba-gpt
  --config FILE             DBAGPT_CONFIG           YAML file with every setting
  --redis-url URL           DBAGPT_REDIS_URL        share patterns and locks across a fleet
  --log-level LEVEL         DBAGPT_LOG_LEVEL        trace|debug|info|warn|error|fatal|silent (info)
  env only: DBAGPT_ADMIN_TOKEN, DBAGPT_OLLAMA_HOST, DBAGPT_OLLAMA_MODEL

Exit codes: 0 ok, 1 failure at run time, 2 bad usage or invalid configuration.
`;

/** package.json's version, found by walking up from this file (works from src/ and dist/src/). */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "dba-gpt" && pkg.version) return pkg.version;
    } catch {
      // not here; go up
    }
    const up = path.dirname(dir);
    if (up === dir) return "unknown";
    dir = up;
  }
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? msg;
}

async function runStart(args: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout.write(USAGE);
    return 0;
  }
  const { loadConfig, reloadConfig } = await import("./config/load.js");
  const { ConfigError } = await import("./config/types.js");
  let config: import("./config/types.js").Config;
  try {
    config = loadConfig({ argv: args, env });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`dba-gpt: invalid configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    const { startServer } = await import("./server.js");
    const initial = config;
    // The server installs SIGTERM/SIGINT (drain, exit) and SIGHUP (reload) handlers; the
    // running server keeps the process alive, so returning here does not end it.
    await startServer(config, { handleSignals: true, reloadConfig: () => reloadConfig(initial) });
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`dba-gpt: invalid configuration: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`dba-gpt: cannot start: ${oneLine(err)}\n`);
    return 1;
  }
}

type ExplainModule = { runExplain?: (args: string[], out: NodeJS.WritableStream) => Promise<number> };
/** typed as string so tsc does not need the module to exist yet */
const EXPLAIN_MODULE: string = "./ai/explain-command.js";

async function runExplainCommand(args: string[], io: CliIo): Promise<number> {
  let mod: ExplainModule;
  try {
    mod = (await import(EXPLAIN_MODULE)) as ExplainModule;
  } catch (err) {
    io.stderr.write(`dba-gpt: explain is not available: ${oneLine(err)}\n`);
    return 1;
  }
  if (typeof mod.runExplain !== "function") {
    io.stderr.write("dba-gpt: explain is not available in this build\n");
    return 1;
  }
  return mod.runExplain(args, io.stdout);
}

/**
 * Runs one command. Returns the exit code; for `start` it returns once the proxy serves (the
 * open listeners keep the process running until a signal).
 */
export async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "--help":
    case "-h":
    case "help":
      io.stdout.write(USAGE);
      return 0;
    case "--version":
    case "-v":
    case "version":
      io.stdout.write(`${packageVersion()}\n`);
      return 0;
    case "start":
      return runStart(rest, env, io);
    case "explain":
      return runExplainCommand(rest, io);
    case "patterns": {
      const { runPatterns } = await import("./cli/patterns-command.js");
      return runPatterns(rest, env, io);
    }
    default:
      io.stderr.write(
        command === undefined ? "dba-gpt: a command is needed\n" : `dba-gpt: unknown command "${command}"\n`,
      );
      io.stderr.write(USAGE);
      return 2;
  }
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`dba-gpt: ${oneLine(err)}\n`);
      if (process.env.DBAGPT_LOG_LEVEL === "debug" || process.env.DBAGPT_LOG_LEVEL === "trace")
        process.stderr.write(`${err instanceof Error ? err.stack : ""}\n`);
      process.exitCode = 1;
    },
  );
}
