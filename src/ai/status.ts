import type { Logger } from "../log.js";

export type AiStatus = "ready" | "unreachable" | "disabled";

/** Knows whether the Ollama host answers; re-probed in the background, never on a request path. */
export class AiStatusProbe {
  status: AiStatus;
  lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private first: Promise<AiStatus> | null = null;

  constructor(
    private readonly opts: {
      enabled: boolean;
      /** a getter follows configuration reloads */
      host: string | (() => string);
      model: string;
      intervalMs?: number;
    },
    private readonly log: Logger,
  ) {
    this.status = opts.enabled ? "unreachable" : "disabled";
  }

  get host(): string {
    return typeof this.opts.host === "function" ? this.opts.host() : this.opts.host;
  }

  get model(): string {
    return this.opts.model;
  }

  start(): void {
    if (!this.opts.enabled) return;
    this.first = this.probe();
    this.timer = setInterval(() => void this.probe(), this.opts.intervalMs ?? 30_000);
    this.timer.unref();
  }

  async probe(): Promise<AiStatus> {
    if (!this.opts.enabled) return "disabled";
    const before = this.status;
    try {
      const res = await fetch(new URL("/api/tags", this.host), { signal: AbortSignal.timeout(2000) });
      this.status = res.ok ? "ready" : "unreachable";
      this.lastError = res.ok ? null : `HTTP ${res.status}`;
    } catch (e) {
      this.status = "unreachable";
      this.lastError = e instanceof Error ? e.message : String(e);
    }
    if (before !== this.status) this.log.info({ ai: this.status, host: this.host }, `AI is ${this.status}`);
    return this.status;
  }

  /** The status once the first probe has answered (at once when disabled or never started). */
  async settled(): Promise<AiStatus> {
    if (this.first) await this.first;
    return this.status;
  }

  /** A call to the model could not connect: say so now rather than at the next probe. */
  markUnreachable(reason: string): void {
    if (!this.opts.enabled || this.status === "unreachable") return;
    this.status = "unreachable";
    this.lastError = reason;
    this.log.info({ ai: this.status, host: this.host }, "AI is unreachable");
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
