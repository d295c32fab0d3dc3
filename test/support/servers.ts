import { execFileSync, spawn } from "node:child_process";

/** The real PostgreSQL the tests use: PG_URL, else the local server on 127.0.0.1:5432. */
export const PG_URL = process.env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** The real MariaDB/MySQL the tests use: MYSQL_URL, else the local server on 127.0.0.1:3306. */
export const MYSQL_URL = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

export function pgEndpoint(): { host: string; port: number } {
  const u = new URL(PG_URL);
  return { host: u.hostname, port: Number(u.port || 5432) };
}

export function mysqlEndpoint(): { host: string; port: number } {
  const u = new URL(MYSQL_URL);
  return { host: u.hostname, port: Number(u.port || 3306) };
}

/** Run SQL as the PostgreSQL superuser with psql, directly (not through the proxy). */
export function psqlDirect(sql: string): string {
  return execFileSync("psql", [PG_URL, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    encoding: "utf8",
  }).trim();
}

/**
 * Run a command without blocking the event loop (the proxy under test runs in this process, so a
 * synchronous child would deadlock against it). Resolves with status, stdout and stderr.
 */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (status) =>
      resolve({
        status,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.end(opts.input ?? "");
  });
}
