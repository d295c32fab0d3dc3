/**
 * AI_POWERED analyses: the LLM when it is ready, the knowledge base otherwise (or when the
 * model is slow or answers badly), one analysis per new signature on a bounded queue off the
 * hot path, cached and persisted with the pattern.
 */
import { LRUCache } from "lru-cache";
import type { Metrics } from "../admin/metrics.js";
import type { Config } from "../config/types.js";
import { statementDigest } from "../errors/digest.js";
import { errorSignature, messageTemplate } from "../errors/fingerprint.js";
import type { ErrorPipeline } from "../errors/pipeline.js";
import type { ErrorEvent } from "../errors/types.js";
import type { Logger } from "../log.js";
import type { PatternStore } from "../patterns/store.js";
import { type ExplainInput, type Explanation, explainError } from "./explain.js";
import { buildPrompt, LlmError, type LlmFailure, ollamaAnalyze, type PromptFacts } from "./ollama.js";
import type { AiStatus, AiStatusProbe } from "./status.js";

/** Why the knowledge base answered instead of the model. */
export type FallbackReason =
  | "disabled"
  | "unreachable"
  | "timeout"
  | "bad-answer"
  | "http"
  | "busy"
  | "aborted";

/** An Explanation plus where it came from; persisted as `pattern.analysis`. */
export interface Analysis extends Explanation {
  signature: string;
  /** the model that wrote it (source "llm") */
  model?: string;
  analyzedAt: string;
  /** source "knowledge-base": why the model did not answer */
  fallback?: FallbackReason;
}

export interface AnalyzeInput extends ExplainInput {
  /** the message template, when the pipeline already computed it */
  template?: string | undefined;
  /** the statement digest, when only that is known (events never carry raw SQL) */
  statementDigest?: string | null | undefined;
}

// ---------------------------------------------------------------- queue

export type PushResult = "queued" | "duplicate" | "overflow";

/**
 * Bounded work queue: at most `concurrency` tasks run, at most `maxLength` wait, a key
 * already waiting or running is not queued twice, and tasks start on a later turn of the
 * event loop so the caller (the error path) never waits for them.
 */
export class AnalysisQueue {
  private readonly waiting: { key: string; task: () => Promise<void> }[] = [];
  private readonly keys = new Set<string>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly opts: {
      concurrency: () => number;
      maxLength: () => number;
      onOverflow?: (key: string) => void;
      onError?: (key: string, e: unknown) => void;
    },
  ) {}

  push(key: string, task: () => Promise<void>): PushResult {
    if (this.keys.has(key)) return "duplicate";
    if (this.stopped || this.waiting.length >= this.opts.maxLength()) {
      this.opts.onOverflow?.(key);
      return "overflow";
    }
    this.keys.add(key);
    this.waiting.push({ key, task });
    setImmediate(() => this.pump());
    return "queued";
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** tasks waiting to start */
  get length(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.active;
  }

  private pump(): void {
    while (this.active < Math.max(1, this.opts.concurrency()) && this.waiting.length > 0) {
      const item = this.waiting.shift() as { key: string; task: () => Promise<void> };
      this.active += 1;
      let p: Promise<void>;
      try {
        p = item.task();
      } catch (e) {
        p = Promise.reject(e);
      }
      p.catch((e: unknown) => this.opts.onError?.(item.key, e)).finally(() => {
        this.active -= 1;
        this.keys.delete(item.key);
        this.pump();
      });
    }
    if (this.active === 0 && this.waiting.length === 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }

  /** Resolves once nothing waits or runs. */
  onIdle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drop what waits, refuse new work; running tasks finish (or are aborted by their owner). */
  stop(): void {
    this.stopped = true;
    for (const w of this.waiting) this.keys.delete(w.key);
    this.waiting.length = 0;
    this.pump();
  }
}

// ---------------------------------------------------------------- limiter

/** A counting semaphore whose waits end when a signal aborts. */
class Limiter {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly max: () => number) {}

  async acquire(signal: AbortSignal): Promise<() => void> {
    while (this.active >= Math.max(1, this.max())) {
      if (signal.aborted) throw signal.reason;
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        this.waiters.push(wake);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      if (signal.aborted) {
        // woken and timed out in the same turn: hand the slot to the next waiter
        this.waiters.shift()?.();
        throw signal.reason;
      }
    }
    this.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      this.waiters.shift()?.();
    };
  }
}

// ---------------------------------------------------------------- analyzer

export interface AnalyzerOptions {
  /** read on every analysis, so a reload (SIGHUP) takes effect at once */
  config: () => Config["ai"];
  probe: AiStatusProbe;
  log: Logger;
  metrics?: Metrics | null;
  /** where analyses persist with their pattern; attach() uses the pipeline's store when absent */
  store?: PatternStore | null;
}

const FALLBACKS: Record<LlmFailure, FallbackReason> = {
  timeout: "timeout",
  unreachable: "unreachable",
  "bad-answer": "bad-answer",
  http: "http",
  aborted: "aborted",
};

export class Analyzer {
  readonly queue: AnalysisQueue;
  private readonly limiter: Limiter;
  private readonly cache = new LRUCache<string, Analysis>({ max: 1000 });
  /** signatures whose knowledge-base analysis was already retried with the model once */
  private readonly upgraded = new LRUCache<string, true>({ max: 10_000 });
  private readonly shutdown = new AbortController();
  private store: PatternStore | null;
  private detach: (() => void) | null = null;

  constructor(private readonly opts: AnalyzerOptions) {
    this.store = opts.store ?? null;
    this.limiter = new Limiter(() => opts.config().maxConcurrency);
    this.queue = new AnalysisQueue({
      concurrency: () => opts.config().maxConcurrency,
      maxLength: () => opts.config().queueLength,
      onOverflow: () => opts.metrics?.aiQueueOverflow.inc(),
      onError: (signature, e) =>
        opts.log.warn({ signature, error: e instanceof Error ? e.message : String(e) }, "analysis failed"),
    });
  }

  get status(): AiStatus {
    return this.opts.probe.status;
  }

  get model(): string {
    return this.opts.config().model;
  }

  /** The signature the pipeline gives this error (same inputs, same hash). */
  private signatureOf(kb: Explanation, template: string): string {
    return errorSignature(kb.protocol, kb.code, kb.errorType, template);
  }

  /**
   * Explain one error: a cached LLM analysis, else the model when ready (bounded by
   * ai.timeoutMs, waiting for a free slot included), else the knowledge base.
   */
  async analyze(input: AnalyzeInput, opts: { signature?: string } = {}): Promise<Analysis> {
    const cfg = this.opts.config();
    const { protocol } = input;
    const digest =
      input.statementDigest !== undefined
        ? input.statementDigest
        : input.statement
          ? statementDigest(input.statement, protocol)
          : null;
    const template = input.template ?? messageTemplate(protocol, input.message);
    // The knowledge base sees the local message (names for its SQL); the model never does.
    const kb = explainError({ ...input, statement: input.statement ?? digest ?? undefined });
    const signature = opts.signature ?? this.signatureOf(kb, template);
    const cached = this.cached(signature);
    if (cached) return cached;

    const fallback = (reason: FallbackReason): Analysis => ({
      ...kb,
      source: "knowledge-base",
      signature,
      analyzedAt: new Date().toISOString(),
      fallback: reason,
    });
    if (!cfg.enabled) return fallback("disabled");
    const status = await this.opts.probe.settled();
    if (status !== "ready") return fallback(status === "disabled" ? "disabled" : "unreachable");

    const facts = promptFacts(kb, template, digest);
    const ctrl = new AbortController();
    const deadline = Date.now() + cfg.timeoutMs;
    const timer = setTimeout(
      () => ctrl.abort(new LlmError("timeout", `no analysis from ${cfg.model} within ${cfg.timeoutMs} ms`)),
      cfg.timeoutMs,
    );
    const onShutdown = () => ctrl.abort(new LlmError("aborted", "analyzer stopped"));
    this.shutdown.signal.addEventListener("abort", onShutdown, { once: true });
    if (this.shutdown.signal.aborted) onShutdown();
    let release: (() => void) | null = null;
    try {
      try {
        release = await this.limiter.acquire(ctrl.signal);
      } catch {
        return fallback(this.shutdown.signal.aborted ? "aborted" : "busy");
      }
      // a slot freed just before the deadline: a call that cannot finish is not worth starting
      if (deadline - Date.now() < Math.min(1000, cfg.timeoutMs / 4)) return fallback("busy");
      const answer = await ollamaAnalyze(
        {
          host: cfg.ollamaHost,
          model: cfg.model,
          timeoutMs: cfg.timeoutMs,
          keepAlive: cfg.keepAlive,
          signal: ctrl.signal,
        },
        buildPrompt(facts),
      );
      const analysis: Analysis = {
        ...kb,
        source: "llm",
        title: answer.title ?? kb.title,
        rootCause: answer.rootCause,
        immediateSolution: answer.immediateSolution,
        prevention: answer.prevention,
        signature,
        model: cfg.model,
        analyzedAt: new Date().toISOString(),
      };
      this.cache.set(signature, analysis);
      return analysis;
    } catch (e) {
      const err =
        e instanceof LlmError ? e : new LlmError("unreachable", e instanceof Error ? e.message : String(e));
      if (err.kind === "unreachable") this.opts.probe.markUnreachable(err.message);
      this.opts.log.info(
        { signature, reason: err.kind, error: err.message },
        "the model gave no usable analysis; the knowledge base answers",
      );
      return fallback(FALLBACKS[err.kind]);
    } finally {
      release?.();
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener("abort", onShutdown);
    }
  }

  private cached(signature: string): Analysis | undefined {
    const hit = this.cache.get(signature);
    if (hit) return hit;
    const stored = this.store?.get(signature)?.analysis as Analysis | null | undefined;
    if (stored && stored.source === "llm") {
      this.cache.set(signature, stored);
      return stored;
    }
    return undefined;
  }

  /** Analyze each new signature the pipeline records (off the hot path) and persist it with the pattern. */
  attach(pipeline: ErrorPipeline): void {
    this.store ??= pipeline.store;
    const onEvent = (event: ErrorEvent) => this.onEvent(event);
    pipeline.on("event", onEvent);
    this.detach = () => pipeline.off("event", onEvent);
  }

  /** Queue an analysis when the pattern has none yet (or only a knowledge-base one made while the model was away). */
  private onEvent(event: ErrorEvent): void {
    const store = this.store;
    if (!store) return;
    const pattern = store.get(event.signature);
    if (!pattern) return;
    const current = pattern.analysis as Analysis | null;
    if (current !== null) {
      const retryWithModel =
        current.source === "knowledge-base" &&
        current.fallback === "unreachable" &&
        this.status === "ready" &&
        !this.upgraded.has(event.signature);
      if (!retryWithModel) return;
      this.upgraded.set(event.signature, true);
    }
    const input: AnalyzeInput = {
      protocol: event.protocol,
      code: event.code,
      sqlstate: event.sqlstate ?? undefined,
      message: event.message,
      template: pattern.template,
      statementDigest: event.statementDigest,
    };
    this.queue.push(event.signature, async () => {
      const analysis = await this.analyze(input, { signature: event.signature });
      // a knowledge-base answer never replaces a model's one written meanwhile
      const now = store.get(event.signature)?.analysis as Analysis | null | undefined;
      if (now && now.source === "llm" && analysis.source !== "llm") return;
      store.setAnalysis(event.signature, analysis);
    });
  }

  /** Resolves when the background queue is empty (tests, drain). */
  idle(): Promise<void> {
    return this.queue.onIdle();
  }

  /** Stop taking work, abort calls in flight (they fall back to the knowledge base). */
  async stop(): Promise<void> {
    this.detach?.();
    this.detach = null;
    this.queue.stop();
    this.shutdown.abort();
    await this.queue.onIdle();
  }
}

/** Names only: what the model may learn about the schema. */
function promptFacts(kb: Explanation, template: string, digest: string | null): PromptFacts {
  const ids = kb.identifiers;
  const facts: PromptFacts = {
    protocol: kb.protocol,
    code: kb.code,
    name: kb.name,
    errorType: kb.errorType,
    template,
    statementDigest: digest,
    schema: { tables: ids.table ? [ids.table] : [], columns: ids.column ? [ids.column] : [] },
    knownAs: kb.title,
  };
  if (ids.constraint) facts.schema.constraint = ids.constraint;
  if (ids.database) facts.schema.database = ids.database;
  if (ids.schema) facts.schema.schema = ids.schema;
  return facts;
}
