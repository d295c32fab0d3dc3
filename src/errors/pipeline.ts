import { EventEmitter } from "node:events";
import type { Metrics } from "../admin/metrics.js";
import type { Pattern, PatternStore } from "../patterns/store.js";
import { classify } from "./classify.js";
import { statementDigest } from "./digest.js";
import { errorSignature, messageTemplate } from "./fingerprint.js";
import { pickStrategy, type Thresholds } from "./strategy.js";
import type { ErrorEvent, RawError, ResolutionSummary } from "./types.js";

const RECENT_LIMIT = 1000;

export interface RecordedError {
  event: ErrorEvent;
  pattern: Pattern;
}

/**
 * One pipeline for every protocol: classify → fingerprint → pattern store → strategy, plus the
 * recent-errors ring and metrics. Runs on the error path only (never per relayed frame).
 * Emits "event" (ErrorEvent) after each record and "resolution" after each resolution update.
 */
export class ErrorPipeline extends EventEmitter {
  private readonly recent: ErrorEvent[] = [];
  private totalErrors = 0;
  private readonly startedAt = Date.now();
  /** timestamps (ms) of recent errors, for the per-hour rate */
  private readonly lastHour: number[] = [];

  constructor(
    readonly store: PatternStore,
    private readonly metrics: Metrics,
    private thresholds: Thresholds,
  ) {
    super();
  }

  setThresholds(t: Thresholds): void {
    this.thresholds = t;
  }

  record(raw: RawError, opts: { simulated?: boolean } = {}): RecordedError {
    const errorType = classify(raw.protocol, raw.code, raw.sqlstate);
    const template = messageTemplate(raw.protocol, raw.message, raw.detail);
    const signature = errorSignature(raw.protocol, raw.code, errorType, template);
    const digest = raw.statement ? statementDigest(raw.statement) : null;
    const at = new Date().toISOString();
    const pattern = this.store.observe(
      {
        signature,
        protocol: raw.protocol,
        errorType,
        code: raw.code,
        template,
        message: raw.message,
        statementDigest: digest,
        database: raw.database ?? null,
        application: raw.application ?? null,
        at,
      },
      (count) => pickStrategy(errorType, count, this.thresholds),
    );
    const event: ErrorEvent & { simulated?: boolean } = {
      at,
      protocol: raw.protocol,
      code: raw.code,
      sqlstate: raw.sqlstate ?? null,
      errorType,
      message: raw.message,
      signature,
      database: raw.database ?? null,
      user: raw.user ?? null,
      application: raw.application ?? null,
      statementDigest: digest,
      inTransaction: raw.inTransaction,
      strategy: pattern.strategy,
      resolution: null,
    };
    if (opts.simulated) event.simulated = true;
    this.recent.push(event);
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
    this.totalErrors += 1;
    const now = Date.now();
    this.lastHour.push(now);
    this.trimHour(now);
    this.metrics.errors.inc({ protocol: raw.protocol, error_type: errorType });
    this.emit("event", event);
    return { event, pattern };
  }

  /** Attach the outcome of a resolution to an event and its pattern, and count it. */
  resolve(event: ErrorEvent, r: ResolutionSummary): void {
    event.resolution = r;
    this.resolvePattern(event.signature, event.errorType, r);
    this.emit("resolution", event);
  }

  /** Count a resolution of a pattern that no single event carries (an approved proposal). */
  resolvePattern(signature: string, errorType: string, r: ResolutionSummary): void {
    this.store.recordResolution(signature, r, new Date().toISOString());
    this.metrics.resolutions.inc({ strategy: r.strategy, outcome: r.outcome, error_type: errorType });
  }

  recentErrors(limit = 100): ErrorEvent[] {
    const out: ErrorEvent[] = [];
    for (let i = this.recent.length - 1; i >= 0 && out.length < limit; i--)
      out.push(this.recent[i] as ErrorEvent);
    return out;
  }

  private trimHour(now: number): void {
    const cutoff = now - 3_600_000;
    let drop = 0;
    while (drop < this.lastHour.length && (this.lastHour[drop] as number) < cutoff) drop++;
    if (drop > 0) this.lastHour.splice(0, drop);
  }

  /** Errors seen in the last 60 minutes. */
  errorRatePerHour(): number {
    const now = Date.now();
    this.trimHour(now);
    return this.lastHour.length;
  }

  get total(): number {
    return this.totalErrors;
  }

  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }
}
