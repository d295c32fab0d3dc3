// Process plumbing for the benches: everything started here is registered and stopped at the
// end, on failure, on Ctrl-C and on SIGTERM. Loopback only; every wait is bounded.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** @type {Set<{name: string, child: import("node:child_process").ChildProcess}>} */
const running = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();

export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `dbagpt-bench-${prefix}-`));
  // PgBouncer drops to user postgres and must still read its files.
  chmodSync(dir, 0o755);
  tempDirs.add(dir);
  return dir;
}

/**
 * Starts a long-running process (proxy, pgbouncer, haproxy). Its stdout+stderr go to `logFile`
 * when given (read by `tail()` on failure). Returns { name, child, pid, exited, tail() }.
 */
export function startDaemon(name, cmd, args, { logFile, env, cwd } = {}) {
  const child = spawn(cmd, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
    cwd,
  });
  const entry = { name, child };
  running.add(entry);
  let out = "";
  const keep = (b) => {
    out += b.toString();
    if (out.length > 64 * 1024) out = out.slice(-32 * 1024);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(entry);
      resolve({ code, signal });
    });
    child.once("error", (err) => {
      running.delete(entry);
      out += `\nspawn failed: ${err.message}`;
      resolve({ code: -1, signal: null, error: err });
    });
  });
  return {
    name,
    child,
    get pid() {
      return child.pid;
    },
    exited,
    tail(lines = 15) {
      return out.trimEnd().split("\n").slice(-lines).join("\n");
    },
    output() {
      return out;
    },
    logFile,
    stop: () => stopOne(entry),
  };
}

async function stopOne(entry, graceMs = 5000) {
  const { child } = entry;
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(entry);
    return;
  }
  const done = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await done;
  clearTimeout(timer);
  running.delete(entry);
}

/** Stops every process this bench started (SIGTERM, then SIGKILL after a grace period) and removes temp dirs. */
export async function stopAll() {
  await Promise.all([...running].map((e) => stopOne(e)));
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

let hooked = false;
/** Makes sure nothing outlives the bench: signals and the exit path stop what was started. */
export function installCleanupHooks() {
  if (hooked) return;
  hooked = true;
  const onSignal = (sig) => {
    process.stderr.write(`\n${sig}: stopping everything the bench started\n`);
    stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("exit", () => {
    for (const { child } of running) child.kill("SIGKILL");
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  });
}

/**
 * Runs a command to completion with a hard time limit. Resolves { code, stdout, stderr, timedOut, ms }.
 */
export function run(cmd, args, { timeoutMs = 60_000, env, input } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    const entry = { name: cmd, child };
    running.add(entry);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (b) => {
      stdout += b;
    });
    child.stderr.on("data", (b) => {
      stderr += b;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      running.delete(entry);
      resolve({
        code: -1,
        stdout,
        stderr: `${stderr}\n${err.message}`,
        timedOut,
        ms: performance.now() - started,
      });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      running.delete(entry);
      resolve({ code, stdout, stderr, timedOut, ms: performance.now() - started });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** A loopback port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

export function canConnect(port, host = "127.0.0.1", timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/**
 * Polls `check` (async → truthy when ready) every `everyMs` until it holds, the daemon exits, or
 * `timeoutMs` passes. Readiness of another process has no event we can await, hence the poll.
 */
export async function waitUntil(what, check, { timeoutMs = 20_000, everyMs = 100, daemon } = {}) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  daemon?.exited.then((e) => {
    exited = e;
  });
  for (;;) {
    if (exited) {
      throw new Error(
        `${what}: ${daemon.name} exited (code ${exited.code}${exited.signal ? `, ${exited.signal}` : ""}) before it was ready:\n${daemon.tail()}`,
      );
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${timeoutMs} ms${daemon ? `:\n${daemon.tail()}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const CLK_TCK = 100; // Linux USER_HZ; `getconf CLK_TCK` says 100 on every x86-64/arm64 kernel we run on

/** utime+stime of one process in µs (from /proc/<pid>/stat), or null when it is gone. */
export function cpuMicros(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: fields count from after the last ")".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return ((utime + stime) * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}

/** pid and all its descendants (cluster workers count towards the proxy's CPU). */
export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i];
    try {
      for (const task of readdirTasks(p)) {
        const kids = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").trim();
        if (kids) for (const k of kids.split(/\s+/)) out.push(Number(k));
      }
    } catch {
      // process gone
    }
  }
  return out;
}

function readdirTasks(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** CPU µs of a process and its descendants, as a map pid → µs (so children that come and go are handled). */
export function treeCpu(pid) {
  const m = new Map();
  for (const p of processTree(pid)) {
    const c = cpuMicros(p);
    if (c !== null) m.set(p, c);
  }
  return m;
}

/** CPU µs spent between two treeCpu snapshots (processes present in `after`). */
export function cpuDelta(before, after) {
  let sum = 0;
  for (const [p, c] of after) sum += c - (before.get(p) ?? 0);
  return sum;
}

/** VmRSS of a process in kB, or null. */
export function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** RSS summed over the process tree, kB. */
export function treeRssKb(pid) {
  let sum = 0;
  for (const p of processTree(pid)) sum += rssKb(p) ?? 0;
  return sum;
}
