/**
 * An Ollama-compatible HTTP server on loopback for tests: GET /api/tags and POST /api/chat
 * (non-streaming), with a per-test behaviour. Records every chat request so tests can check
 * what the prompt carried, and lets a test hold an answer ("slow") and release it later.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FakeBehaviour =
  /** a valid structured answer (the default) */
  | { kind: "valid"; answer?: unknown }
  /** message.content that is not JSON */
  | { kind: "invalid-json" }
  /** JSON content that does not match the schema */
  | { kind: "off-schema" }
  /** hold the request until release() or close() */
  | { kind: "slow" }
  /** answer with an HTTP error */
  | { kind: "http-error"; status: number };

export interface ChatRequestSeen {
  model: string;
  format: unknown;
  keep_alive: unknown;
  stream: unknown;
  messages: { role: string; content: string }[];
  /** the request body as received */
  raw: string;
}

export const VALID_ANSWER = {
  title: "Missing table",
  rootCause: "The application queries a table that was never created in this database.",
  immediateSolution: [
    { step: "Create the table from the migration that defines it", sql: "CREATE TABLE orders (id int)" },
  ],
  prevention: ["Run migrations before deploying the application"],
};

export class FakeOllama {
  behaviour: FakeBehaviour = { kind: "valid" };
  readonly chats: ChatRequestSeen[] = [];
  tagsRequests = 0;
  private readonly server: Server;
  private held: ServerResponse[] = [];
  private chatWaiters: ((c: ChatRequestSeen) => void)[] = [];

  private constructor(readonly model: string) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async start(model = "llama3.2"): Promise<FakeOllama> {
    const f = new FakeOllama(model);
    await new Promise<void>((resolve) => f.server.listen(0, "127.0.0.1", resolve));
    return f;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves with the next chat request received (or one already received after `after`). */
  nextChat(after = this.chats.length): Promise<ChatRequestSeen> {
    const seen = this.chats[after];
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.chatWaiters.push(resolve));
  }

  /** Answer every held ("slow") request with a valid answer. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const res of held) this.answer(res, JSON.stringify(VALID_ANSWER));
  }

  get heldCount(): number {
    return this.held.length;
  }

  private answer(res: ServerResponse, content: string): void {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        model: this.model,
        created_at: new Date().toISOString(),
        message: { role: "assistant", content },
        done: true,
        done_reason: "stop",
      }),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    if (req.method === "GET" && req.url === "/api/tags") {
      this.tagsRequests += 1;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ models: [{ name: `${this.model}:latest`, model: `${this.model}:latest` }] }));
      return;
    }
    if (req.method !== "POST" || req.url !== "/api/chat") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "not found" }));
      return;
    }
    const parsed = JSON.parse(body) as Omit<ChatRequestSeen, "raw">;
    const seen: ChatRequestSeen = { ...parsed, raw: body };
    this.chats.push(seen);
    const waiters = this.chatWaiters;
    this.chatWaiters = [];
    for (const w of waiters) w(seen);

    const b = this.behaviour;
    switch (b.kind) {
      case "valid":
        this.answer(res, JSON.stringify(b.answer ?? VALID_ANSWER));
        return;
      case "invalid-json":
        this.answer(res, "Sure! The root cause is {probably} a missing table");
        return;
      case "off-schema":
        this.answer(res, JSON.stringify({ cause: "missing table", steps: "create it" }));
        return;
      case "slow":
        this.held.push(res);
        return;
      case "http-error":
        res.writeHead(b.status, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `model "${parsed.model}" not found, try pulling it first` }));
        return;
    }
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.held = [];
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback port nothing listens on (connection refused). */
export async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
