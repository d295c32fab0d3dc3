import { mkdirSync, readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LRUCache } from "lru-cache";
import type { ErrorType, Protocol, ResolutionSummary, Strategy } from "../errors/types.js";

export interface ResolutionCounts {
  attempted: number;
  succeeded: number;
  failed: number;
  skipped: number;
  observed: number;
  proposed: number;
}

export interface PatternHistoryEntry extends ResolutionSummary {
  at: string;
}

/** PRODUCT.md section 3: what a learned pattern holds. */
export interface Pattern {
  signature: string;
  protocol: Protocol;
  errorType: ErrorType;
  code: string;
  template: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  lastMessage: string;
  statementDigest: string | null;
  databases: string[];
  applications: string[];
  strategy: Strategy;
  resolutions: ResolutionCounts;
  /** the last resolutions of this pattern, newest last (bounded) */
  history: PatternHistoryEntry[];
  analysis: unknown | null;
}

export interface PatternObservation {
  signature: string;
  protocol: Protocol;
  errorType: ErrorType;
  code: string;
  template: string;
  message: string;
  statementDigest: string | null;
  database: string | null;
  application: string | null;
  at: string;
}

const HISTORY_LIMIT = 50;
const SET_LIMIT = 20;
const FILE_VERSION = 1;

export function emptyCounts(): ResolutionCounts {
  return { attempted: 0, succeeded: 0, failed: 0, skipped: 0, observed: 0, proposed: 0 };
}

function addBounded(list: string[], value: string | null): void {
  if (value === null || value === "" || list.includes(value)) return;
  list.push(value);
  if (list.length > SET_LIMIT) list.shift();
}

/**
 * The learned patterns: bounded (LRU by last use), persisted as one JSON file under the state dir.
 * Writes are debounced and done off the hot path (atomic rename), and flushed on close.
 */
export class PatternStore {
  private readonly cache: LRUCache<string, Pattern>;
  private readonly file: string | null;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;

  constructor(opts: { stateDir: string | null; max?: number; flushDelayMs?: number }) {
    this.cache = new LRUCache<string, Pattern>({ max: opts.max ?? 10_000 });
    this.flushDelayMs = opts.flushDelayMs ?? 1000;
    if (opts.stateDir) {
      mkdirSync(opts.stateDir, { recursive: true });
      this.file = join(opts.stateDir, "patterns.json");
      this.load();
    } else {
      this.file = null;
    }
  }

  private readonly flushDelayMs: number;

  private load(): void {
    if (!this.file) return;
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch {
      return; // first start: nothing learned yet
    }
    const data = JSON.parse(text) as { version: number; patterns: Pattern[] };
    if (data.version !== FILE_VERSION || !Array.isArray(data.patterns)) {
      throw new Error(`${this.file}: unsupported patterns file version ${String(data.version)}`);
    }
    // oldest first so the most recently seen end up most recently used
    const sorted = [...data.patterns].sort((a, b) => a.lastSeen.localeCompare(b.lastSeen));
    for (const p of sorted) {
      p.resolutions = { ...emptyCounts(), ...p.resolutions };
      p.history ??= [];
      p.applications ??= [];
      this.cache.set(p.signature, p);
    }
  }

  /** Count one occurrence; returns the pattern (count already includes this one). */
  observe(o: PatternObservation, strategyFor: (count: number) => Strategy): Pattern {
    let p = this.cache.get(o.signature);
    if (!p) {
      p = {
        signature: o.signature,
        protocol: o.protocol,
        errorType: o.errorType,
        code: o.code,
        template: o.template,
        count: 0,
        firstSeen: o.at,
        lastSeen: o.at,
        lastMessage: o.message,
        statementDigest: o.statementDigest,
        databases: [],
        applications: [],
        strategy: "AI_POWERED",
        resolutions: emptyCounts(),
        history: [],
        analysis: null,
      };
      this.cache.set(o.signature, p);
    }
    p.count += 1;
    p.lastSeen = o.at;
    p.lastMessage = o.message;
    if (o.statementDigest !== null) p.statementDigest = o.statementDigest;
    addBounded(p.databases, o.database);
    addBounded(p.applications, o.application);
    p.strategy = strategyFor(p.count);
    this.markDirty();
    return p;
  }

  /** Record a resolution outcome on the pattern. */
  recordResolution(signature: string, r: ResolutionSummary, at: string): void {
    const p = this.cache.get(signature);
    if (!p) return;
    const key = r.outcome === "pending" ? null : r.outcome;
    if (key) p.resolutions[key] += 1;
    if (r.outcome === "succeeded" || r.outcome === "failed") p.resolutions.attempted += 1;
    p.history.push({ ...r, at });
    if (p.history.length > HISTORY_LIMIT) p.history.shift();
    this.markDirty();
  }

  setAnalysis(signature: string, analysis: unknown): void {
    const p = this.cache.get(signature);
    if (!p) return;
    p.analysis = analysis;
    this.markDirty();
  }

  get(signature: string): Pattern | undefined {
    return this.cache.peek(signature);
  }

  get size(): number {
    return this.cache.size;
  }

  /** All patterns, most frequent first. */
  list(filter: { protocol?: string; errorType?: string; limit?: number } = {}): Pattern[] {
    const out: Pattern[] = [];
    for (const p of this.cache.values()) {
      if (filter.protocol && p.protocol !== filter.protocol) continue;
      if (filter.errorType && p.errorType !== filter.errorType) continue;
      out.push(p);
    }
    out.sort((a, b) => b.count - a.count || b.lastSeen.localeCompare(a.lastSeen));
    return filter.limit !== undefined ? out.slice(0, filter.limit) : out;
  }

  private markDirty(): void {
    this.dirty = true;
    if (this.file && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.flushDelayMs);
      this.timer.unref();
    }
  }

  /** Write the store to disk now (atomic: temp file then rename). */
  async flush(): Promise<void> {
    if (!this.file) return;
    if (this.writing) await this.writing;
    if (!this.dirty) return;
    this.dirty = false;
    const body = JSON.stringify({ version: FILE_VERSION, patterns: [...this.cache.values()] });
    const tmp = `${this.file}.tmp`;
    const file = this.file;
    this.writing = writeFile(tmp, body)
      .then(() => rename(tmp, file))
      .finally(() => {
        this.writing = null;
      });
    await this.writing;
  }

  async close(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.flush();
  }
}
