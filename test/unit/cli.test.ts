import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { formatPatternTable, type PatternRow } from "../../src/cli/patterns-command.js";
import { runCli } from "../../src/cli.js";
import { START_FLAGS } from "../../src/config/index.js";

class Capture extends Writable {
  text = "";
  columns?: number;
  isTTY?: boolean;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}, tty?: number) {
  const stdout = new Capture();
  const stderr = new Capture();
  if (tty) {
    stdout.isTTY = true;
    stdout.columns = tty;
  }
  const code = await runCli(argv, env, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A stand-in admin API answering every request with `status` and `body`; records the requests. */
async function adminApi(status: number, body: unknown) {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, requests };
}

const longTemplate = `relation "orders" does not exist ${"x".repeat(100)}`;
const PATTERNS: PatternRow[] = [
  {
    signature: "a1b2c3d4e5f6",
    protocol: "postgres",
    errorType: "TABLE_NOT_FOUND",
    code: "42P01",
    template: longTemplate,
    count: 12,
    firstSeen: "2025-11-24T10:00:00.000Z",
    lastSeen: "2025-11-24T19:44:05.123Z",
    strategy: "SELF_HEALING",
  },
  {
    signature: "0f0f0f0f0f0f",
    protocol: "mysql",
    errorType: "DEADLOCK",
    code: "1213",
    template: "Deadlock found when trying to get lock; try restarting transaction",
    count: 3,
    firstSeen: "2025-11-24T11:00:00.000Z",
    lastSeen: "2025-11-24T12:00:00.000Z",
    strategy: "IMMEDIATE_FIX",
  },
];

describe("dba-gpt --help / --version / unknown commands", () => {
  it("--help lists the commands and every start flag, exit 0", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/^usage: dba-gpt <command>/);
    for (const word of [
      "start",
      "explain",
      "patterns",
      "--pg-listen",
      "--pg-upstream",
      "--mysql-upstream",
      "--config",
    ])
      expect(r.out).toContain(word);
    for (const f of START_FLAGS) {
      expect(r.out).toContain(f.flag);
      expect(r.out).toContain(f.env);
    }
    expect((await cli(["start", "--help"])).out).toBe(r.out);
  });

  it("--version prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const r = await cli(["--version"]);
    expect(r).toEqual({ code: 0, out: `${pkg.version}\n`, err: "" });
  });

  it("an unknown command prints the usage and exits 2", async () => {
    const r = await cli(["serve"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^dba-gpt: unknown command "serve"\nusage: dba-gpt/);
    expect((await cli([])).code).toBe(2);
  });
});

describe("dba-gpt start with a bad configuration", () => {
  it("a bad flag: one line naming it, exit 2", async () => {
    const r = await cli(["start", "--pg-lisen", "127.0.0.1:6432"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^dba-gpt: invalid configuration: --pg-lisen: unknown option[^\n]*\n$/);
  });

  it("a bad value: one line naming the key, exit 2, no stack", async () => {
    const r = await cli(["start"], { DBAGPT_PG_UPSTREAM: "nope" });
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'dba-gpt: invalid configuration: upstream.postgres: expected host:port, got "nope" (from DBAGPT_PG_UPSTREAM)\n',
    );
  });

  it("a missing config file: one line naming config, exit 2", async () => {
    const r = await cli(["start", "--config", "/nonexistent/dba-gpt.yaml"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("dba-gpt: invalid configuration: config: file not found: /nonexistent/dba-gpt.yaml\n");
  });
});

describe("dba-gpt patterns", () => {
  it("prints the admin API's patterns as an aligned table, sending filters and the token", async () => {
    const api = await adminApi(200, { patterns: PATTERNS });
    const r = await cli(
      [
        "patterns",
        "--admin",
        api.url,
        "--protocol",
        "postgres",
        "--error-type",
        "table_not_found",
        "--limit",
        "5",
      ],
      {
        DBAGPT_ADMIN_TOKEN: "t0ken",
      },
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const req = api.requests[0];
    expect(req?.url).toBe("/api/patterns?protocol=postgres&errorType=TABLE_NOT_FOUND&limit=5");
    expect(req?.headers.authorization).toBe("Bearer t0ken");

    const lines = r.out.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    const header = lines[0] ?? "";
    expect(header.split(/\s{2,}/)).toEqual([
      "SIGNATURE",
      "PROTOCOL",
      "TYPE",
      "CODE",
      "COUNT",
      "STRATEGY",
      "LAST SEEN",
      "TEMPLATE",
    ]);
    // every column starts at the same offset on every line
    for (const col of ["PROTOCOL", "TYPE", "CODE", "STRATEGY", "LAST SEEN", "TEMPLATE"]) {
      const at = header.indexOf(col);
      expect(lines[1]?.[at - 1]).toBe(" ");
      expect(lines[1]?.[at]).not.toBe(" ");
      expect(lines[2]?.[at]).not.toBe(" ");
    }
    expect(lines[1]).toContain("a1b2c3d4e5f6");
    expect(lines[1]).toContain("TABLE_NOT_FOUND");
    expect(lines[1]).toContain("2025-11-24 19:44:05Z");
    expect(lines[2]).toContain("IMMEDIATE_FIX");
    // no terminal: the template is cut to 60 characters
    const template = lines[1]?.slice(header.indexOf("TEMPLATE")) ?? "";
    expect(template).toHaveLength(60);
    expect(template.endsWith("…")).toBe(true);
    expect(template.startsWith('relation "orders" does not exist')).toBe(true);
  });

  it("fits the template to the terminal width", async () => {
    const api = await adminApi(200, { patterns: PATTERNS });
    const r = await cli(["patterns", "--admin", api.url], {}, 150);
    for (const line of r.out.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(150);
    expect(r.out.split("\n")[1]).toHaveLength(150);
  });

  it("finds the admin API from DBAGPT_ADMIN_LISTEN", async () => {
    const api = await adminApi(200, { patterns: [] });
    const r = await cli(["patterns"], { DBAGPT_ADMIN_LISTEN: `0.0.0.0:${api.port}` });
    expect(r).toEqual({ code: 0, out: "no patterns learned yet\n", err: "" });
    expect(api.requests[0]?.url).toBe("/api/patterns");
    expect(api.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("--json prints the API's answer", async () => {
    const api = await adminApi(200, { patterns: PATTERNS });
    const r = await cli(["patterns", "--admin", api.url, "--json"]);
    expect(JSON.parse(r.out)).toEqual({ patterns: PATTERNS });
  });

  it("a proxy that is not running: one clear line, exit 1", async () => {
    const api = await adminApi(200, {});
    const closed = api.url;
    await new Promise((r) => servers.pop()?.close(r));
    const r = await cli(["patterns", "--admin", closed]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(
      new RegExp(`^dba-gpt: cannot reach the admin API at ${closed}: connection refused[^\\n]*\\n$`),
    );
  });

  it("a refused token: says so, exit 1", async () => {
    const api = await adminApi(401, { error: "admin token required" });
    const r = await cli(["patterns", "--admin", api.url]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `dba-gpt: the admin API at ${api.url} refused: 401 admin token required (set DBAGPT_ADMIN_TOKEN)\n`,
    );
  });

  it("bad filters: exit 2 before any request", async () => {
    expect((await cli(["patterns", "--protocol", "oracle"])).code).toBe(2);
    expect((await cli(["patterns", "--error-type", "OOPS"])).code).toBe(2);
    expect((await cli(["patterns", "--limit", "0"])).code).toBe(2);
    expect((await cli(["patterns", "--bogus"])).code).toBe(2);
  });

  it("formatPatternTable right-aligns counts", () => {
    const table = formatPatternTable([
      { ...(PATTERNS[0] as PatternRow), count: 1234 },
      { ...(PATTERNS[1] as PatternRow), count: 7 },
    ]);
    const [head, a, b] = table.split("\n");
    const end = (head ?? "").indexOf("COUNT") + "COUNT".length;
    expect(a?.slice(end - 4, end)).toBe("1234");
    expect(b?.slice(end - 1, end)).toBe("7");
  });
});
