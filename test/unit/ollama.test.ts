import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ANALYSIS_JSON_SCHEMA,
  buildPrompt,
  LlmError,
  llmAnswerSchema,
  ollamaAnalyze,
  parseLlmAnswer,
} from "../../src/ai/ollama.js";
import { FakeOllama, refusedUrl, VALID_ANSWER } from "../support/fake-ollama.js";

let fake: FakeOllama;

beforeAll(async () => {
  fake = await FakeOllama.start();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.behaviour = { kind: "valid" };
});

const prompt = buildPrompt({
  protocol: "postgres",
  code: "42P01",
  name: "undefined_table",
  errorType: "TABLE_NOT_FOUND",
  template: 'relation "orders" does not exist',
  statementDigest: "SELECT * FROM orders WHERE id = ?",
  schema: { tables: ["orders"], columns: [] },
  knownAs: "Undefined table",
});

function call(timeoutMs = 5000, host = fake.url) {
  return ollamaAnalyze({ host, model: "llama3.2", timeoutMs, keepAlive: "10m" }, prompt);
}

async function failure(p: Promise<unknown>): Promise<LlmError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LlmError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

describe("ollamaAnalyze", () => {
  it("sends the model, keep_alive, non-streaming and the JSON schema as format, and returns the validated answer", async () => {
    const before = fake.chats.length;
    const answer = await call();
    expect(answer).toEqual(VALID_ANSWER);
    const req = fake.chats[before];
    expect(req?.model).toBe("llama3.2");
    expect(req?.keep_alive).toBe("10m");
    expect(req?.stream).toBe(false);
    expect(req?.format).toEqual(ANALYSIS_JSON_SCHEMA);
    expect(req?.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(req?.messages[1]?.content).toContain("SELECT * FROM orders WHERE id = ?");
  });

  it("rejects content that is not JSON as a bad answer", async () => {
    fake.behaviour = { kind: "invalid-json" };
    const e = await failure(call());
    expect(e.kind).toBe("bad-answer");
    expect(e.message).toMatch(/not JSON/);
  });

  it("rejects JSON that does not match the schema as a bad answer, naming the field", async () => {
    fake.behaviour = { kind: "off-schema" };
    const e = await failure(call());
    expect(e.kind).toBe("bad-answer");
    expect(e.message).toMatch(/rootCause/);
  });

  it("gives up on a slow model at the timeout, with the request still unanswered", async () => {
    fake.behaviour = { kind: "slow" };
    const e = await failure(call(150));
    expect(e.kind).toBe("timeout");
    expect(e.message).toMatch(/150 ms/);
    expect(fake.heldCount).toBeGreaterThan(0);
    fake.release();
  });

  it("reports connection refused as unreachable", async () => {
    const e = await failure(call(5000, await refusedUrl()));
    expect(e.kind).toBe("unreachable");
    expect(e.message).toMatch(/ECONNREFUSED/);
  });

  it("reports an HTTP error status (model not pulled) as http", async () => {
    fake.behaviour = { kind: "http-error", status: 404 };
    const e = await failure(call());
    expect(e.kind).toBe("http");
    expect(e.message).toMatch(/404/);
  });

  it("stops when the caller's signal aborts", async () => {
    fake.behaviour = { kind: "slow" };
    const ctrl = new AbortController();
    const seen = fake.chats.length;
    const p = ollamaAnalyze(
      { host: fake.url, model: "m", timeoutMs: 10_000, keepAlive: "5m", signal: ctrl.signal },
      prompt,
    );
    await fake.nextChat(seen);
    ctrl.abort();
    expect((await failure(p)).kind).toBe("aborted");
    fake.release();
  });
});

describe("parseLlmAnswer", () => {
  it("drops empty SQL and keeps steps in order", () => {
    const a = parseLlmAnswer(
      JSON.stringify({
        rootCause: "x",
        immediateSolution: [
          { step: "one", sql: "" },
          { step: "two", sql: "SELECT 1" },
        ],
        prevention: [],
      }),
    );
    expect(a.immediateSolution).toEqual([{ step: "one" }, { step: "two", sql: "SELECT 1" }]);
  });

  it("refuses an answer without any immediate step or with an empty root cause", () => {
    expect(() =>
      parseLlmAnswer(JSON.stringify({ rootCause: "x", immediateSolution: [], prevention: [] })),
    ).toThrow(LlmError);
    expect(() =>
      parseLlmAnswer(JSON.stringify({ rootCause: "  ", immediateSolution: [{ step: "s" }], prevention: [] })),
    ).toThrow(/rootCause/);
  });

  it("accepts what the JSON schema requires (schema and zod agree on required keys)", () => {
    expect([...ANALYSIS_JSON_SCHEMA.required].sort()).toEqual(
      Object.entries(llmAnswerSchema.shape)
        .filter(([, s]) => !s.safeParse(undefined).success)
        .map(([k]) => k)
        .sort(),
    );
  });
});

describe("buildPrompt", () => {
  it("carries the template, digest and names, not the raw message or statement", () => {
    const p = buildPrompt({
      protocol: "mysql",
      code: "1062",
      name: "ER_DUP_ENTRY",
      errorType: "DUPLICATE_KEY",
      template: "Duplicate entry ? for key ?",
      statementDigest: "INSERT INTO users (email) VALUES (?)",
      schema: { tables: ["users"], columns: ["email"], constraint: "uk_email", database: "shop" },
    });
    expect(p.user).toContain("MySQL/MariaDB");
    expect(p.user).toContain("Duplicate entry ? for key ?");
    expect(p.user).toContain("INSERT INTO users (email) VALUES (?)");
    expect(p.user).toContain("Tables: users");
    expect(p.user).toContain("Columns: email");
    expect(p.user).toContain("Constraint: uk_email");
    expect(p.system).toMatch(/JSON/);
  });
});
