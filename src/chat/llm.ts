/**
 * The chat's use of the LLM (Ollama): read-only SQL for a database question, and a plain answer for a
 * general one. Every call is bounded by a timeout; any failure returns null and the caller falls back
 * to the built-in intents or the knowledge base. The SQL it writes still goes through the read-only check.
 * Only the question and (for SQL) the list of table names go to the model, never row data.
 */
import { Ollama } from "ollama";
import type { Protocol } from "../errors/types.js";

export interface ChatLlm {
  /** read-only SQL answering `question` in `protocol`'s dialect, or null */
  sql(question: string, protocol: Protocol, tables: string[]): Promise<string | null>;
  /** a short answer to a general database question, or null */
  answer(question: string): Promise<string | null>;
}

export interface OllamaChatOptions {
  host: string;
  model: string;
  timeoutMs: number;
  keepAlive?: string;
}

const SQL_SCHEMA = {
  type: "object",
  properties: { sql: { type: "string" }, explanation: { type: "string" } },
  required: ["sql", "explanation"],
} as const;

export class OllamaChatLlm implements ChatLlm {
  private readonly client: Ollama;

  constructor(private readonly opts: OllamaChatOptions) {
    this.client = new Ollama({
      host: opts.host,
      // the client has no timeout of its own for non-streaming calls
      fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(opts.timeoutMs) }),
    });
  }

  async sql(question: string, protocol: Protocol, tables: string[]): Promise<string | null> {
    const dialect = protocol === "postgres" ? "PostgreSQL" : "MySQL/MariaDB";
    try {
      const res = await this.client.chat({
        model: this.opts.model,
        stream: false,
        format: SQL_SCHEMA,
        keep_alive: this.opts.keepAlive,
        options: { temperature: 0 },
        messages: [
          {
            role: "system",
            content: `You write one read-only ${dialect} statement (SELECT, SHOW or EXPLAIN only, no semicolon) that answers the operator's question about their database. Use the system catalogs (information_schema, ${protocol === "postgres" ? "pg_catalog, pg_stat_*" : "performance_schema"}) for metadata questions. Known tables: ${tables.slice(0, 200).join(", ") || "unknown"}. Answer as JSON {"sql": ..., "explanation": ...}.`,
          },
          { role: "user", content: question },
        ],
      });
      const parsed = JSON.parse(res.message.content) as { sql?: unknown };
      return typeof parsed.sql === "string" && parsed.sql.trim() !== "" ? parsed.sql.trim() : null;
    } catch {
      return null;
    }
  }

  async answer(question: string): Promise<string | null> {
    try {
      const res = await this.client.chat({
        model: this.opts.model,
        stream: false,
        keep_alive: this.opts.keepAlive,
        messages: [
          {
            role: "system",
            content:
              "You are a senior DBA for PostgreSQL and MySQL/MariaDB. Answer database questions concisely and accurately, with short SQL examples where they help.",
          },
          { role: "user", content: question },
        ],
      });
      const text = res.message.content.trim();
      return text === "" ? null : text;
    } catch {
      return null;
    }
  }
}
