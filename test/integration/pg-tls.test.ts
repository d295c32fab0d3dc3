import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestProxy, type TestProxy } from "../support/proxy.js";
import { runCommand } from "../support/servers.js";

let proxy: TestProxy;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dba-gpt-tls-"));
  // a self-signed certificate for the proxy (openssl does not talk through the proxy: sync is fine)
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      join(dir, "server.key"),
      "-out",
      join(dir, "server.crt"),
    ],
    { stdio: "ignore" },
  );
  proxy = await startTestProxy((c) => {
    c.tls.cert = join(dir, "server.crt");
    c.tls.key = join(dir, "server.key");
  });
});

afterAll(async () => {
  await proxy.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("TLS termination with a configured certificate (PostgreSQL)", () => {
  it("pg with ssl talks to the proxy over TLS, and errors are still seen and recorded", async () => {
    const c = new pg.Client({ connectionString: proxy.pgUrl(), ssl: { rejectUnauthorized: false } });
    await c.connect();
    try {
      const stream = (c as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream;
      expect(stream.encrypted).toBe(true);
      expect((await c.query("SELECT 6 * 7 AS answer")).rows[0].answer).toBe(42);
      const err = await c.query("SELECT * FROM tls_missing_table").then(
        () => null,
        (e: { code?: string }) => e,
      );
      expect(err?.code).toBe("42P01");
    } finally {
      await c.end();
    }
    const { errors } = await proxy.get("/api/errors");
    expect(errors[0].code).toBe("42P01");
  });

  it("psql with sslmode=require connects through it", async () => {
    const r = await runCommand("psql", [
      `${proxy.pgUrl()}?sslmode=require`,
      "-X",
      "-A",
      "-t",
      "-c",
      "SELECT 'over tls'",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("over tls");
  });

  it("plain-text clients still work (sslmode=disable)", async () => {
    const c = new pg.Client({ connectionString: proxy.pgUrl() });
    await c.connect();
    expect((await c.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    await c.end();
  });
});
