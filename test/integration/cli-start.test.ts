import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgEndpoint } from "../support/servers.js";

const CLI = join(process.cwd(), "dist/src/cli.js");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Started {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  pgPort: number;
  adminPort: number;
}

async function startCli(args: string[]): Promise<Started> {
  const pgPort = await freePort();
  const adminPort = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, "start", "--pg-listen", `127.0.0.1:${pgPort}`, "--admin-listen", `127.0.0.1:${adminPort}`, ...args],
    { env: { ...process.env, DBAGPT_OLLAMA_HOST: "http://127.0.0.1:9" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: string[] = [];
  let buf = "";
  child.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    lines.push(...parts.filter(Boolean));
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const until = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${adminPort}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > until || child.exitCode !== null)
      throw new Error(`proxy did not start: ${lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, lines, exited, pgPort, adminPort };
}

const dirs: string[] = [];
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), "dba-gpt-cli-"));
  dirs.push(d);
  return d;
}

beforeAll(() => {
  if (!existsSync(CLI)) execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("dba-gpt start", () => {
  it("with no --pg-upstream runs an embedded PostgreSQL, says so in its first log line, and serves clients", async () => {
    const s = await startCli(["--state-dir", stateDir()]);
    try {
      const first = JSON.parse(s.lines[0] as string);
      expect(first.msg).toMatch(/embedded PostgreSQL/);
      const c = new pg.Client({ host: "127.0.0.1", port: s.pgPort, user: "postgres", database: "postgres" });
      await c.connect();
      const r = await c.query("SELECT 20 + 22 AS answer");
      expect(r.rows[0].answer).toBe(42);
      await c.query("SELECT * FROM embedded_missing_table").catch(() => {});
      await c.end();
      const patterns = await (await fetch(`http://127.0.0.1:${s.adminPort}/api/patterns`)).json();
      expect(patterns.patterns[0].errorType).toBe("TABLE_NOT_FOUND");
    } finally {
      s.child.kill("SIGTERM");
      expect(await s.exited).toBe(0);
    }
  });

  it("drains on SIGTERM: the statement in flight finishes, then the process exits 0", async () => {
    const up = pgEndpoint();
    const s = await startCli(["--pg-upstream", `${up.host}:${up.port}`, "--state-dir", stateDir()]);
    const c = new pg.Client({ host: "127.0.0.1", port: s.pgPort, user: "postgres", database: "test" });
    c.on("error", () => {});
    await c.connect();
    const inFlight = c.query("SELECT pg_sleep(0.7), 'finished' AS status");
    await new Promise((r) => setTimeout(r, 150));
    s.child.kill("SIGTERM");
    const r = await inFlight;
    expect(r.rows[0].status).toBe("finished");
    expect(await s.exited).toBe(0);
    // new connections are refused once it stopped
    const late = new pg.Client({ host: "127.0.0.1", port: s.pgPort, user: "postgres", database: "test" });
    await expect(late.connect()).rejects.toThrow();
  });

  it("refuses a bad configuration with one line naming the key and exit code 2", async () => {
    const child = spawn(process.execPath, [CLI, "start", "--pg-upstream", "nope"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(2);
    const lines = err.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/upstream\.postgres/);
  });
});
