import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";

const dir = mkdtempSync(join(tmpdir(), "dba-gpt-chat-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(yaml: string) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ argv: ["--config", file], env: {}, cwd: dir });
}

describe("chat config section", () => {
  it("defaults to postgres@postgres and root with no database", () => {
    const c = loadConfig({ argv: [], env: {}, cwd: dir });
    expect(c.chat).toEqual({
      postgres: { user: "postgres", password: "", database: "postgres" },
      mysql: { user: "root", password: "", database: "" },
    });
  });

  it("takes user, password and database from the file, keeping the other defaults", () => {
    const c = load(
      "chat:\n  postgres:\n    user: reader\n    password: s3cret\n    database: shop\n  mysql:\n    database: shop\n",
    );
    expect(c.chat.postgres).toEqual({ user: "reader", password: "s3cret", database: "shop" });
    expect(c.chat.mysql).toEqual({ user: "root", password: "", database: "shop" });
  });

  it("names an unknown key with a suggestion and never echoes a password", () => {
    expect(() => load("chat:\n  mysql:\n    databse: shop\n")).toThrow(
      /chat\.mysql\.databse: unknown key \(did you mean database\?\)/,
    );
    expect(() => load("chat:\n  postgres:\n    password: [1, 2]\n")).toThrow(
      /chat\.postgres\.password: .*<hidden>/,
    );
  });
});
