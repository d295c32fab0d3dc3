import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Metrics } from "../../src/admin/metrics.js";
import { type Analysis, AnalysisQueue, Analyzer } from "../../src/ai/analyzer.js";
import { AiStatusProbe } from "../../src/ai/status.js";
import { defaultConfig } from "../../src/config/defaults.js";
import type { Config } from "../../src/config/types.js";
import { ErrorPipeline } from "../../src/errors/pipeline.js";
import { silentLogger } from "../../src/log.js";
import { PatternStore } from "../../src/patterns/store.js";
import { FakeOllama, refusedUrl, VALID_ANSWER } from "../support/fake-ollama.js";

let fake: FakeOllama;
beforeAll(async () => {
  fake = await FakeOllama.start();
});
afterAll(async () => {
  await fake.close();
});

interface Rig {
  analyzer: Analyzer;
  probe: AiStatusProbe;
  ai: Config["ai"];
  metrics: Metrics;
  store: PatternStore;
  pipeline: ErrorPipeline;
}
const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.analyzer.stop();
    r.probe.stop();
  }
  fake.release();
  fake.behaviour = { kind: "valid" };
});

function rig(edit: (ai: Config["ai"]) => void = () => {}): Rig {
  const ai = { ...defaultConfig(process.cwd()).ai, ollamaHost: fake.url, timeoutMs: 5000 };
  edit(ai);
  const probe = new AiStatusProbe(
    { enabled: ai.enabled, host: () => ai.ollamaHost, model: ai.model },
    silentLogger,
  );
  probe.start();
  const metrics = new Metrics();
  const store = new PatternStore({ stateDir: null });
  const pipeline = new ErrorPipeline(store, metrics, { preventive: 2, selfHealing: 3 });
  const analyzer = new Analyzer({ config: () => ai, probe, log: silentLogger, metrics });
  const r = { analyzer, probe, ai, metrics, store, pipeline };
  rigs.push(r);
  return r;
}

const missingTable = {
  protocol: "postgres" as const,
  code: "42P01",
  message: 'relation "orders" does not exist',
  statement: "SELECT * FROM orders WHERE customer = 'alice@example.com'",
};

async function overflowCount(m: Metrics): Promise<number> {
  return (await m.aiQueueOverflow.get()).values[0]?.value ?? 0;
}

describe("Analyzer.analyze", () => {
  it("uses a valid model answer: source llm, the model's name, the KB's code and retry advice", async () => {
    const { analyzer } = rig();
    const a = await analyzer.analyze(missingTable);
    expect(a.source).toBe("llm");
    expect(a.model).toBe("llama3.2");
    expect(a.rootCause).toBe(VALID_ANSWER.rootCause);
    expect(a.immediateSolution).toEqual(VALID_ANSWER.immediateSolution);
    expect(a.code).toBe("42P01");
    expect(a.errorType).toBe("TABLE_NOT_FOUND");
    expect(a.retry.safe).toBe(false);
    expect(analyzer.status).toBe("ready");
  });

  it("sends the template, the digest and names, never the literal from the statement", async () => {
    const { analyzer } = rig();
    const n = fake.chats.length;
    await analyzer.analyze({ ...missingTable, message: 'relation "orders_x" does not exist' });
    const req = fake.chats[n];
    expect(req?.raw).toContain("orders_x");
    expect(req?.raw).toContain("customer = ?");
    expect(req?.raw).not.toContain("alice@example.com");
  });

  it("never sends MySQL's quoted values (duplicate entry) to the model", async () => {
    const { analyzer } = rig();
    const n = fake.chats.length;
    const a = await analyzer.analyze({
      protocol: "mysql",
      code: "1062",
      message: "Duplicate entry 'bob@example.com' for key 'users.uk_email'",
      statement: "INSERT INTO users (email, name) VALUES ('bob@example.com', 'Bob')",
    });
    expect(a.source).toBe("llm");
    const raw = fake.chats[n]?.raw ?? "";
    expect(raw).toContain("uk_email");
    expect(raw).toContain("users");
    expect(raw).not.toContain("bob@example.com");
    expect(raw).not.toContain("Bob");
  });

  it("falls back to the knowledge base when the answer is not JSON", async () => {
    const { analyzer } = rig();
    fake.behaviour = { kind: "invalid-json" };
    const a = await analyzer.analyze(missingTable);
    expect(a.source).toBe("knowledge-base");
    expect(a.fallback).toBe("bad-answer");
    expect(a.rootCause).toMatch(/orders/);
    expect(a.model).toBeUndefined();
  });

  it("falls back to the knowledge base when the model is slower than ai.timeoutMs", async () => {
    const { analyzer } = rig((ai) => {
      ai.timeoutMs = 150;
    });
    fake.behaviour = { kind: "slow" };
    const a = await analyzer.analyze(missingTable);
    expect(a.source).toBe("knowledge-base");
    expect(a.fallback).toBe("timeout");
    expect(fake.heldCount).toBeGreaterThan(0);
  });

  it("reports unreachable and answers from the knowledge base when the connection is refused", async () => {
    const url = await refusedUrl();
    const { analyzer, probe } = rig((ai) => {
      ai.ollamaHost = url;
    });
    const a = await analyzer.analyze(missingTable);
    expect(probe.status).toBe("unreachable");
    expect(a.source).toBe("knowledge-base");
    expect(a.fallback).toBe("unreachable");
  });

  it("answers from the knowledge base without any request when AI is disabled", async () => {
    const { analyzer } = rig((ai) => {
      ai.enabled = false;
    });
    const n = fake.chats.length;
    const a = await analyzer.analyze(missingTable);
    expect(analyzer.status).toBe("disabled");
    expect(a.source).toBe("knowledge-base");
    expect(a.fallback).toBe("disabled");
    expect(fake.chats.length).toBe(n);
  });

  it("caches a model answer per signature: the same error twice makes one request", async () => {
    const { analyzer } = rig();
    const n = fake.chats.length;
    const first = await analyzer.analyze({ ...missingTable, message: 'relation "cached_t" does not exist' });
    const second = await analyzer.analyze({ ...missingTable, message: 'relation "cached_t" does not exist' });
    expect(second).toBe(first);
    expect(fake.chats.length).toBe(n + 1);
  });

  it("bounds model calls by ai.maxConcurrency: a second caller waits, then falls back as busy at the deadline", async () => {
    const { analyzer } = rig((ai) => {
      ai.timeoutMs = 300;
      ai.maxConcurrency = 1;
    });
    fake.behaviour = { kind: "slow" };
    const n = fake.chats.length;
    const [a, b] = await Promise.all([
      analyzer.analyze({ ...missingTable, message: 'relation "one" does not exist' }),
      analyzer.analyze({ ...missingTable, message: 'relation "two" does not exist' }),
    ]);
    expect(fake.chats.length).toBe(n + 1);
    expect([a.fallback, b.fallback].sort()).toEqual(["busy", "timeout"]);
  });
});

describe("Analyzer.attach", () => {
  it("analyzes each new signature once, off the error path, and persists it with the pattern", async () => {
    const { analyzer, pipeline, store } = rig();
    analyzer.attach(pipeline);
    const n = fake.chats.length;
    const raw = {
      protocol: "postgres" as const,
      code: "42P01",
      message: 'relation "attached" does not exist',
      statement: "SELECT 1 FROM attached",
      inTransaction: false,
    };
    const { event } = pipeline.record(raw);
    // recorded synchronously: no analysis yet and no request made on the error path
    expect(store.get(event.signature)?.analysis).toBeNull();
    expect(fake.chats.length).toBe(n);
    pipeline.record(raw);
    pipeline.record(raw);
    await analyzer.idle();
    const analysis = store.get(event.signature)?.analysis as Analysis | undefined;
    expect(analysis?.source).toBe("llm");
    expect(analysis?.signature).toBe(event.signature);
    expect(fake.chats.length).toBe(n + 1);
    pipeline.record(raw);
    await analyzer.idle();
    expect(fake.chats.length).toBe(n + 1);
  });

  it("stores a knowledge-base analysis when the model is away, and asks the model once it is back", async () => {
    const url = await refusedUrl();
    const { analyzer, pipeline, store, probe, ai } = rig((c) => {
      c.ollamaHost = url;
    });
    analyzer.attach(pipeline);
    const raw = {
      protocol: "mysql" as const,
      code: "1146",
      message: "Table 'shop.later' doesn't exist",
      inTransaction: false,
    };
    const { event } = pipeline.record(raw);
    await analyzer.idle();
    expect((store.get(event.signature)?.analysis as Analysis | undefined)?.source).toBe("knowledge-base");
    // the model comes back
    ai.ollamaHost = fake.url;
    expect(await probe.probe()).toBe("ready");
    pipeline.record(raw);
    await analyzer.idle();
    expect((store.get(event.signature)?.analysis as Analysis | undefined)?.source).toBe("llm");
  });
});

describe("AnalysisQueue", () => {
  it("runs at most `concurrency` tasks, dedups keys and counts overflow", async () => {
    let overflow = 0;
    const q = new AnalysisQueue({ concurrency: () => 2, maxLength: () => 3, onOverflow: () => overflow++ });
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const task = () =>
      new Promise<void>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        gates.push(() => {
          running--;
          resolve();
        });
      });
    expect(q.push("a", task)).toBe("queued");
    expect(q.push("a", task)).toBe("duplicate");
    expect(q.push("b", task)).toBe("queued");
    expect(q.push("c", task)).toBe("queued");
    expect(q.push("d", overflowTask)).toBe("overflow");
    expect(overflow).toBe(1);
    const idle = q.onIdle();
    while (gates.length > 0 || q.length > 0 || q.running > 0) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    await idle;
    expect(peak).toBe(2);
    function overflowTask() {
      return Promise.resolve();
    }
  });

  it("counts overflow on the metric when the analyzer's queue is full", async () => {
    const { analyzer, pipeline, metrics } = rig((ai) => {
      ai.queueLength = 1;
      ai.maxConcurrency = 1;
      ai.timeoutMs = 2000;
    });
    fake.behaviour = { kind: "slow" };
    analyzer.attach(pipeline);
    const n = fake.chats.length;
    const rec = (t: string) =>
      pipeline.record({
        protocol: "postgres",
        code: "42P01",
        message: `relation "${t}" does not exist`,
        inTransaction: false,
      });
    rec("q1");
    await fake.nextChat(n); // q1 is running
    rec("q2"); // waits
    rec("q3"); // queue full
    rec("q4"); // queue full
    expect(await overflowCount(metrics)).toBe(2);
    fake.release();
    await analyzer.idle();
  });
});
