import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runExplain } from "../../src/ai/explain-command.js";
import { FakeOllama, refusedUrl, VALID_ANSWER } from "../support/fake-ollama.js";

let fake: FakeOllama;
beforeAll(async () => {
  fake = await FakeOllama.start("qwen2.5");
});
afterAll(async () => {
  await fake.close();
});

function sink(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString("utf8") };
}

const line = "ERROR 1146 (42S02): Table 'shop.orders' doesn't exist";

describe("dba-gpt explain with an LLM", () => {
  it("uses the model when the Ollama host answers (DBAGPT_OLLAMA_HOST / DBAGPT_OLLAMA_MODEL)", async () => {
    const s = sink();
    const n = fake.chats.length;
    const code = await runExplain(["--json", line], s.out, {
      DBAGPT_OLLAMA_HOST: fake.url.replace("http://", ""),
      DBAGPT_OLLAMA_MODEL: "qwen2.5",
    });
    expect(code).toBe(0);
    const a = JSON.parse(s.text());
    expect(a).toMatchObject({
      source: "llm",
      model: "qwen2.5",
      code: "1146",
      rootCause: VALID_ANSWER.rootCause,
    });
    expect(fake.chats[n]?.model).toBe("qwen2.5");
  });

  it("renders the model's answer in the text form, marked source: llm", async () => {
    const s = sink();
    expect(await runExplain(["--ollama-host", fake.url, line], s.out, {})).toBe(0);
    expect(s.text()).toContain("source: llm");
    expect(s.text()).toContain(VALID_ANSWER.rootCause);
  });

  it("--offline never asks the model", async () => {
    const s = sink();
    const n = fake.chats.length;
    expect(await runExplain(["--offline", "--json", line], s.out, { DBAGPT_OLLAMA_HOST: fake.url })).toBe(0);
    expect(JSON.parse(s.text()).source).toBe("knowledge-base");
    expect(fake.chats.length).toBe(n);
  });

  it("falls back to the knowledge base when nothing answers at the host", async () => {
    const s = sink();
    expect(await runExplain(["--json", line], s.out, { DBAGPT_OLLAMA_HOST: await refusedUrl() })).toBe(0);
    const a = JSON.parse(s.text());
    expect(a).toMatchObject({ source: "knowledge-base", fallback: "unreachable", code: "1146" });
    expect(a.rootCause).toMatch(/orders/);
  });

  it("falls back to the knowledge base when the model is slower than --timeout-ms", async () => {
    fake.behaviour = { kind: "slow" };
    try {
      const s = sink();
      expect(
        await runExplain(["--json", "--timeout-ms", "150", "--ollama-host", fake.url, line], s.out, {}),
      ).toBe(0);
      expect(JSON.parse(s.text())).toMatchObject({ source: "knowledge-base", fallback: "timeout" });
    } finally {
      fake.behaviour = { kind: "valid" };
      fake.release();
    }
  });

  it("refuses a bad host or timeout with exit 2", async () => {
    expect(await runExplain(["--ollama-host", "ftp://x", line], sink().out, {})).toBe(2);
    expect(await runExplain(["--timeout-ms", "soon", line], sink().out, {})).toBe(2);
  });
});
