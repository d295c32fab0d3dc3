import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ErrorType, Protocol, Strategy } from "../errors/types.js";

export type ProposalStatus = "pending" | "rejected" | "applied" | "failed";

export interface Proposal {
  id: string;
  createdAt: string;
  signature: string;
  errorType: ErrorType;
  protocol: Protocol;
  strategy: Strategy;
  kind: string;
  title: string;
  /** what approving runs, once, on the upstream */
  sql: string;
  database: string | null;
  status: ProposalStatus;
  decidedAt: string | null;
  /** the server's answer when it ran (or the error) */
  result: string | null;
}

const LIMIT = 1000;

/** Suggested actions waiting for an operator, persisted under the state dir. */
export class ProposalStore {
  private readonly items: Proposal[] = [];
  private readonly file: string | null;
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string | null) {
    this.file = stateDir ? join(stateDir, "proposals.json") : null;
    if (stateDir) mkdirSync(stateDir, { recursive: true });
    if (this.file) {
      try {
        const data = JSON.parse(readFileSync(this.file, "utf8")) as { proposals: Proposal[] };
        this.items.push(...data.proposals);
      } catch {
        // none yet
      }
    }
  }

  /** Add a proposal unless the same kind is already pending for this pattern; returns the pending one. */
  add(p: Omit<Proposal, "id" | "createdAt" | "status" | "decidedAt" | "result">): {
    proposal: Proposal;
    created: boolean;
  } {
    const existing = this.items.find(
      (x) => x.status === "pending" && x.signature === p.signature && x.kind === p.kind,
    );
    if (existing) return { proposal: existing, created: false };
    const proposal: Proposal = {
      ...p,
      id: randomUUID().slice(0, 8),
      createdAt: new Date().toISOString(),
      status: "pending",
      decidedAt: null,
      result: null,
    };
    this.items.push(proposal);
    if (this.items.length > LIMIT) this.items.splice(0, this.items.length - LIMIT);
    this.persist();
    return { proposal, created: true };
  }

  get(id: string): Proposal | undefined {
    return this.items.find((p) => p.id === id);
  }

  list(status?: string): Proposal[] {
    const out = status ? this.items.filter((p) => p.status === status) : [...this.items];
    return out.reverse();
  }

  decide(p: Proposal, status: ProposalStatus, result: string | null): void {
    p.status = status;
    p.result = result;
    p.decidedAt = new Date().toISOString();
    this.persist();
  }

  private persist(): void {
    const file = this.file;
    if (!file) return;
    const body = JSON.stringify({ proposals: this.items });
    this.writing = this.writing.then(async () => {
      await writeFile(`${file}.tmp`, body);
      await rename(`${file}.tmp`, file);
    });
  }

  flush(): Promise<void> {
    return this.writing;
  }
}
