import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";

export interface AuditEntry {
  at: string;
  signature: string;
  errorType: string;
  protocol: string;
  policy: string;
  action: string;
  /** the exact SQL run, or the statement replayed */
  sql?: string;
  /** frames replayed, base64, when the action re-sent protocol frames */
  frames?: string;
  outcome: string;
  detail?: string;
}

/**
 * Append-only JSON lines under the state dir: every action the proxy applied, with the exact SQL or
 * frames, the pattern, the policy that allowed it and the outcome. Written through a stream, never
 * on the relay path.
 */
export class AuditLog {
  private readonly stream: WriteStream | null;
  readonly file: string | null;

  constructor(stateDir: string | null) {
    if (!stateDir) {
      this.stream = null;
      this.file = null;
      return;
    }
    mkdirSync(stateDir, { recursive: true });
    this.file = join(stateDir, "audit.log");
    this.stream = createWriteStream(this.file, { flags: "a" });
  }

  append(entry: AuditEntry): void {
    this.stream?.write(`${JSON.stringify(entry)}\n`);
  }

  close(): Promise<void> {
    const s = this.stream;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.end(() => resolve()));
  }
}
