import { performance } from "node:perf_hooks";
import type { Metrics } from "../admin/metrics.js";
import type { Config, PolicyMode } from "../config/types.js";
import type { ErrorPipeline } from "../errors/pipeline.js";
import type { ErrorEvent, ErrorType, Protocol, ResolutionSummary } from "../errors/types.js";
import { type AuditEntry, AuditLog } from "./audit-log.js";
import { RetryBudget } from "./retry-budget.js";

export interface ResolutionRecord extends ResolutionSummary {
  at: string;
  protocol: Protocol;
  signature: string;
  errorType: ErrorType;
  code: string;
  attempts?: number;
  durationMs?: number;
}

const HISTORY_LIMIT = 1000;
const DEADLOCK_FLOOR_MS = 20;
/** what a self-healing re-run does, in the resolution history and the audit log */
export const HEAL_ACTION = "create the table from its schema template, then re-run the statement";

/** SQLSTATEs the server rolled back as a whole statement, so an autocommit statement may be re-run. */
export const PG_RETRYABLE = new Set(["40P01", "40001", "55P03"]);

/**
 * The policy in force and the shared machinery of inline resolution: retry budget, backoff,
 * resolution history (GET /api/resolutions) and the audit log.
 */
export class Resolver {
  readonly budget: RetryBudget;
  readonly auditLog: AuditLog;
  private readonly history: ResolutionRecord[] = [];

  constructor(
    private readonly config: () => Config,
    private readonly pipeline: ErrorPipeline,
    metrics: Metrics,
    stateDir: string | null,
  ) {
    this.budget = new RetryBudget(config().resolution.retry.budgetPerSecond);
    this.auditLog = new AuditLog(stateDir);
    metrics.retryTokens = () => this.budget.tokens;
    metrics.retryExhausted = () => this.budget.exhausted;
  }

  /** Apply changed retry settings (SIGHUP or PUT /api/policy). */
  configChanged(): void {
    this.budget.setRate(this.config().resolution.retry.budgetPerSecond);
  }

  mode(errorType: ErrorType): PolicyMode {
    const p = this.config().resolution.policy;
    return p[errorType] ?? p.default;
  }

  get retry(): Config["resolution"]["retry"] {
    return this.config().resolution.retry;
  }

  /**
   * Jittered exponential backoff for attempt n (1-based), between baseDelayMs and maxDelayMs. A deadlock
   * victim waits at least DEADLOCK_FLOOR_MS: retried sooner it can take its first lock back before the
   * statement it lost to, just woken, has taken it — and deadlock again (seen in bench/resolution).
   */
  backoffMs(attempt: number, errorType?: ErrorType): number {
    const { maxDelayMs } = this.retry;
    let base = this.retry.baseDelayMs;
    if (errorType === "DEADLOCK" || errorType === "SERIALIZATION_FAILURE")
      base = Math.max(base, DEADLOCK_FLOOR_MS);
    const ceiling = Math.min(Math.max(maxDelayMs, base), base * 2 ** attempt);
    return Math.round(base + Math.random() * (ceiling - base));
  }

  /**
   * May this error be retried now (PRODUCT.md section 5)? Shared by both protocols' sessions. `blocker`
   * is the session's reason why it cannot (transaction, response already sent, pipelining...), and
   * `attemptsMade` is null for a first error or the attempts so far for a retry that failed again.
   * Outcomes that end here (observed, skipped) are recorded here; `{ stop }` tells the caller to end a
   * retry in progress with that reason (the client then gets the last real error).
   */
  decideRetry(
    event: ErrorEvent,
    blocker: string | null,
    attemptsMade: number | null,
  ): "retry" | "no" | { stop: string } {
    const mode = this.mode(event.errorType);
    const note = (outcome: "skipped" | "observed", reason: string) =>
      this.record(event, { strategy: "IMMEDIATE_FIX", action: "retry", outcome, reason });
    if (mode === "off") return "no";
    if (mode !== "apply") {
      if (mode === "observe")
        note("observed", blocker ? `would not retry: ${blocker}` : "would have retried the statement");
      else note("skipped", "policy is suggest: an inline retry needs apply");
      return "no";
    }
    const inRetry = attemptsMade !== null;
    if (blocker) {
      if (inRetry) return { stop: blocker };
      note("skipped", blocker);
      return "no";
    }
    if (inRetry && attemptsMade >= this.retry.maxAttempts)
      return { stop: `no attempts left (${attemptsMade} made)` };
    if (!this.budget.tryTake()) {
      if (inRetry) return { stop: "retry budget exhausted" };
      note("skipped", "retry budget exhausted");
      return "no";
    }
    return "retry";
  }

  /** Attach a resolution outcome to its event and its pattern, count it, keep it in the history. */
  record(
    event: ErrorEvent,
    r: ResolutionSummary,
    extra: { attempts?: number; durationMs?: number } = {},
  ): void {
    this.pipeline.resolve(event, r);
    this.history.push({
      ...r,
      ...extra,
      at: new Date().toISOString(),
      protocol: event.protocol,
      signature: event.signature,
      errorType: event.errorType,
      code: event.code,
    });
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
  }

  /** A resolution of a whole pattern, not of one event (an operator approved or rejected a proposal). */
  recordForPattern(
    p: { signature: string; errorType: ErrorType; protocol: Protocol; code?: string },
    r: ResolutionSummary,
  ): void {
    this.pipeline.resolvePattern(p.signature, p.errorType, r);
    this.history.push({
      ...r,
      at: new Date().toISOString(),
      protocol: p.protocol,
      signature: p.signature,
      errorType: p.errorType,
      code: p.code ?? "",
    });
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
  }

  /**
   * The end of an inline re-run — a retry, or the re-run after a missing table was healed — recorded
   * on the pattern and history, counted, and audited. Shared by both protocols' sessions.
   */
  reRunEnded(
    event: ErrorEvent,
    outcome: "succeeded" | "failed",
    run: { attempts: number; startedAt: number; sql: string | undefined; reason?: string },
  ): void {
    const durationMs = Math.round(performance.now() - run.startedAt);
    const healed = event.errorType === "TABLE_NOT_FOUND";
    const action = healed ? HEAL_ACTION : "retry";
    this.record(
      event,
      {
        strategy: healed ? "SELF_HEALING" : "IMMEDIATE_FIX",
        action,
        outcome,
        reason:
          outcome === "succeeded"
            ? `statement re-run ${run.attempts} time(s); the client saw no error`
            : `${run.reason}; the client got the last real error`,
      },
      { attempts: run.attempts, durationMs },
    );
    this.audit({
      signature: event.signature,
      errorType: event.errorType,
      protocol: event.protocol,
      policy: "apply",
      action,
      sql: run.sql,
      outcome,
      detail: outcome === "succeeded" ? `${run.attempts} attempt(s), ${durationMs} ms` : run.reason,
    });
  }

  audit(entry: Omit<AuditEntry, "at">): void {
    this.auditLog.append({ at: new Date().toISOString(), ...entry });
  }

  resolutions(limit = 100): ResolutionRecord[] {
    const out: ResolutionRecord[] = [];
    for (let i = this.history.length - 1; i >= 0 && out.length < limit; i--)
      out.push(this.history[i] as ResolutionRecord);
    return out;
  }

  close(): Promise<void> {
    return this.auditLog.close();
  }
}
