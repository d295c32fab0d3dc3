import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestProxy, type TestProxy } from "../support/proxy.js";
import { FakeOllama, refusedUrl, VALID_ANSWER } from "../support/fake-ollama.js";

let fake: FakeOllama;
let proxy: TestProxy;

beforeAll(async () => {
  fake = await FakeOllama.start();
  proxy = await startTestProxy((c) => {
    c.ai.enabled = true;
    c.ai.ollamaHost = fake.url;
    c.ai.timeoutMs = 400;
  });
});

afterAll(async () => {
  await proxy.stop();
  await fake.close();
});

afterEach(() => {
  fake.release();
  fake.behaviour = { kind: "valid" };
});

describe("POST /api/analyze", () => {
  it("answers with the model's structured analysis, marked source llm with the model", async () => {
    const res = await proxy.post("/api/analyze", {
      protocol: "postgres",
      code: "42P01",
      message: 'relation "invoices" does not exist',
      statement: "SELECT * FROM invoices WHERE total > 100",
    });
    expect(res.status).toBe(200);
    expect(res.body.analysis).toMatchObject({
      source: "llm",
      model: "llama3.2",
      code: "42P01",
      errorType: "TABLE_NOT_FOUND",
      rootCause: VALID_ANSWER.rootCause,
      immediateSolution: VALID_ANSWER.immediateSolution,
    });
    const stats = await proxy.get("/api/stats");
    expect(stats.ai.status).toBe("ready");
  });

  it("answers from the knowledge base when the model's answer is not JSON", async () => {
    fake.behaviour = { kind: "invalid-json" };
    const res = await proxy.post("/api/analyze", {
      protocol: "mysql",
      message: "Table 'shop.carts' doesn't exist",
    });
    expect(res.status).toBe(200);
    expect(res.body.analysis).toMatchObject({
      source: "knowledge-base",
      fallback: "bad-answer",
      code: "1146",
    });
    expect(res.body.analysis.model).toBeUndefined();
    expect(JSON.stringify(res.body.analysis.immediateSolution)).toContain("carts");
  });

  it("answers from the knowledge base when the model is slower than ai.timeoutMs", async () => {
    fake.behaviour = { kind: "slow" };
    const res = await proxy.post("/api/analyze", {
      protocol: "postgres",
      code: "40P01",
      message: "deadlock detected",
    });
    expect(res.status).toBe(200);
    expect(res.body.analysis).toMatchObject({
      source: "knowledge-base",
      fallback: "timeout",
      errorType: "DEADLOCK",
    });
    expect(fake.heldCount).toBe(1);
  });

  it("refuses bad input with 400 and a message", async () => {
    const cases: [unknown, RegExp][] = [
      [{ code: "42P01", message: "x" }, /protocol/],
      [{ protocol: "oracle", message: "x" }, /protocol/],
      [{ protocol: "postgres", message: "" }, /message/],
      [{ protocol: "postgres" }, /message/],
      [{ protocol: "postgres", message: "x", code: 42 }, /code/],
      ["[1,2]", /JSON object/],
    ];
    for (const [body, re] of cases) {
      const res = await proxy.post("/api/analyze", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatch(re);
    }
    const notJson = await fetch(`${proxy.admin}/api/analyze`, { method: "POST", body: "{nope" });
    expect(notJson.status).toBe(400);
  });
});

describe("analysis of new signatures through the proxy", () => {
  it("the client's error arrives while the model is still thinking; the analysis lands on the pattern later", async () => {
    fake.behaviour = { kind: "slow" };
    const seen = fake.chats.length;
    const client = new pg.Client({ connectionString: proxy.pgUrl() });
    await client.connect();
    try {
      const err = (await client
        .query("SELECT * FROM ai_slow_missing_table WHERE id = 98765")
        .catch((e: unknown) => e)) as pg.DatabaseError;
      expect(err.code).toBe("42P01");
      // the client has its error, and the model has not answered anything yet
      const chat = await fake.nextChat(seen);
      expect(fake.heldCount).toBe(1);
      expect(chat.raw).toContain("ai_slow_missing_table");
      expect(chat.raw).toContain("id = ?");
      expect(chat.raw).not.toContain("98765");
      const errors = await proxy.get("/api/errors?limit=5");
      const event = errors.errors.find((e: { message: string }) =>
        e.message.includes("ai_slow_missing_table"),
      );
      expect(event).toBeDefined();
      // the model's slowness costs the client nothing: the same connection works at once
      expect((await client.query("SELECT 1 AS one")).rows[0].one).toBe(1);
      const pattern = await proxy.get(`/api/patterns/${event.signature}`);
      expect((pattern.pattern ?? pattern).analysis).toBeNull();
      fake.release();
    } finally {
      await client.end();
    }
  });

  it("persists one analysis per new signature with the pattern (source llm)", async () => {
    const seen = fake.chats.length;
    const client = new pg.Client({ connectionString: proxy.pgUrl() });
    await client.connect();
    try {
      for (let i = 0; i < 3; i++) await client.query("SELECT * FROM ai_persist_missing").catch(() => {});
    } finally {
      await client.end();
    }
    const errors = await proxy.get("/api/errors?limit=5");
    const sig = errors.errors.find((e: { message: string }) =>
      e.message.includes("ai_persist_missing"),
    ).signature;
    const analysis = await eventually(async () => {
      const p = await proxy.get(`/api/patterns/${sig}`);
      return (p.pattern ?? p).analysis;
    }, "the analysis on the pattern");
    expect(analysis).toMatchObject({ source: "llm", model: "llama3.2", signature: sig });
    await proxy.server.analyzer.idle();
    expect(fake.chats.length - seen).toBe(1);
  });
});

describe("ai.status", () => {
  it("is unreachable when nothing listens at the Ollama host, and analyses come from the knowledge base", async () => {
    const url = await refusedUrl();
    const down = await startTestProxy((c) => {
      c.ai.enabled = true;
      c.ai.ollamaHost = url;
    });
    try {
      await eventually(
        async () => (await down.get("/api/stats")).ai.status === "unreachable",
        "status unreachable",
      );
      const res = await down.post("/api/analyze", {
        protocol: "postgres",
        code: "23505",
        message: "duplicate key",
      });
      expect(res.body.analysis).toMatchObject({ source: "knowledge-base", fallback: "unreachable" });
    } finally {
      await down.stop();
    }
  });

  it("is disabled with ai.enabled false, and nothing is sent", async () => {
    const off = await startTestProxy();
    const seen = fake.chats.length;
    try {
      expect((await off.get("/api/stats")).ai.status).toBe("disabled");
      const res = await off.post("/api/analyze", {
        protocol: "mysql",
        code: "1213",
        message: "Deadlock found",
      });
      expect(res.body.analysis).toMatchObject({ source: "knowledge-base", fallback: "disabled" });
      expect(fake.chats.length).toBe(seen);
    } finally {
      await off.stop();
    }
  });
});
