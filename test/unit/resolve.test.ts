import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/admin/metrics.js";
import { defaultConfig } from "../../src/config/defaults.js";
import { ErrorPipeline } from "../../src/errors/pipeline.js";
import { PatternStore } from "../../src/patterns/store.js";
import { Resolver } from "../../src/resolve/resolver.js";
import { RetryBudget } from "../../src/resolve/retry-budget.js";

describe("retry budget (token bucket)", () => {
  it("allows a burst up to the rate, then refills at the rate per second", () => {
    let now = 0;
    const b = new RetryBudget(3, () => now);
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
    expect(b.exhausted).toBe(1);
    now += 500; // half a second: 1.5 tokens
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    now += 10_000; // never more than the burst
    expect(Math.round(b.tokens)).toBe(3);
  });

  it("a rate of zero never retries", () => {
    const b = new RetryBudget(0, () => 0);
    expect(b.tryTake()).toBe(false);
  });
});

describe("backoff", () => {
  const config = defaultConfig(process.cwd());
  const metrics = new Metrics();
  const resolver = new Resolver(
    () => config,
    new ErrorPipeline(new PatternStore({ stateDir: null }), metrics, config.resolution.thresholds),
    metrics,
    null,
  );

  it("stays between baseDelayMs and maxDelayMs, growing with attempts", () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      for (let i = 0; i < 50; i++) {
        const d = resolver.backoffMs(attempt, "LOCK_WAIT_TIMEOUT");
        expect(d).toBeGreaterThanOrEqual(config.resolution.retry.baseDelayMs);
        expect(d).toBeLessThanOrEqual(config.resolution.retry.maxDelayMs);
      }
    }
    const first = Math.max(...Array.from({ length: 200 }, () => resolver.backoffMs(1, "LOCK_WAIT_TIMEOUT")));
    expect(first).toBeLessThanOrEqual(2 * config.resolution.retry.baseDelayMs);
  });

  it("gives a deadlock victim time for the winner to take its locks first", () => {
    for (let i = 0; i < 100; i++) {
      const d = resolver.backoffMs(1, "DEADLOCK");
      expect(d).toBeGreaterThanOrEqual(20);
      expect(d).toBeLessThanOrEqual(40);
    }
  });
});

describe("isReadOnlyStatement", () => {
  it("re-runs only statements that cannot write, in either dialect", async () => {
    const { isReadOnlyStatement } = await import("../../src/proxy/pg-credentials.js");
    for (const ok of [
      "SELECT 1",
      "select * from t where id = 3;",
      "SHOW search_path",
      "VALUES (1)",
      "SELECT SLEEP(1), 7",
    ]) {
      expect(isReadOnlyStatement(ok), ok).toBe(true);
    }
    for (const no of [
      "UPDATE t SET v = 1",
      "SELECT * FROM t FOR UPDATE",
      "SELECT nextval('s')",
      "SELECT * FROM t LOCK IN SHARE MODE",
      "SELECT GET_LOCK('x', 10)",
      "SELECT * INTO OUTFILE '/tmp/x' FROM t",
      "SELECT 1; DELETE FROM t",
      "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
      undefined,
    ]) {
      expect(isReadOnlyStatement(no), String(no)).toBe(false);
    }
  });
});
