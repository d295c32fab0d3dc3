/**
 * The two-mode chat behind POST /api/chat (PRODUCT.md sections 6-7).
 * Database mode: a question becomes SQL (LLM when ready, else the built-in intents; SQL typed by the
 * operator is taken as is), the SQL must pass the read-only check, then runs on the upstream in a
 * read-only session and comes back as columns and rows. General mode: the LLM when ready, else the
 * knowledge base (when the question names an error) or the built-in concept list.
 */
import type { Protocol } from "../errors/types.js";
import { conceptAnswer, errorAnswer } from "./concepts.js";
import { INTENT_EXAMPLES, matchIntent } from "./intents.js";
import type { ChatLlm } from "./llm.js";
import { checkReadOnly, parses, type ReadOnlyKind } from "./read-only.js";
import { type ChatTarget, type QueryResult, type RunOptions, runReadOnly } from "./runner.js";

export type ChatMode = "database" | "general";
export type ChatSource = "llm" | "intent" | "knowledge-base";

export interface ChatRequest {
  mode: ChatMode;
  protocol?: Protocol;
  message: string;
}

export interface ChatResponse {
  mode: ChatMode;
  protocol: Protocol | null;
  sql?: string;
  columns?: string[];
  rows?: unknown[][];
  truncated?: boolean;
  durationMs?: number;
  answer: string;
  source: ChatSource;
  refused?: boolean;
  /** the statement passed the check but the server answered with an error */
  error?: string;
}

export interface ChatDeps {
  /** where and as whom database mode connects; null when that protocol has no upstream */
  target: (protocol: Protocol) => ChatTarget | null;
  /** the protocols with an upstream, first = default */
  protocols: () => Protocol[];
  /** the LLM when AI status is "ready", else null */
  llm: () => ChatLlm | null;
  run?: (target: ChatTarget, sql: string, kind: ReadOnlyKind, opts?: RunOptions) => Promise<QueryResult>;
  runOptions?: RunOptions;
}

/** Statement keywords: a message starting with one of these is SQL typed by the operator. */
const SQL_START =
  /^\s*(select|with|show|describe|desc|explain|table|values|insert|update|delete|replace|merge|upsert|drop|create|alter|truncate|rename|grant|revoke|set|reset|call|do|exec|execute|lock|unlock|copy|load|handler|kill|flush|purge|install|uninstall|prepare|deallocate|begin|start|commit|rollback|savepoint|release|use|cluster|reindex|refresh|listen|notify|discard|checkpoint|comment|security|import)\b/i;
/** ANALYZE / VACUUM are SQL only in their short forms ("analyze users"), not "analyze the performance ...". */
const SHORT_MAINTENANCE =
  /^\s*(analyze|analyse|vacuum|optimize|repair|check)(\s+(verbose|full|table))*(\s+[\w.`"]+)?\s*;?\s*$/i;
/** Words that mark a question in English rather than a statement ("show me all tables", "explain how ..."). */
const NATURAL_LANGUAGE =
  /\b(me|my|our|us|please|how|what|which|why|is there|are there|the (performance|size|biggest|largest))\b|\?\s*$/i;
/** Natural-language requests to change something. */
const WRITE_REQUEST =
  /^\s*(please\s+|can you\s+|could you\s+)?(drop|delete|remove|truncate|insert|add|update|change|modify|alter|create|rename|kill|terminate|grant|revoke|reset|empty|wipe|purge|erase)\b/i;

/** Keywords that read; text starting with one that does not parse may still be a question ("show indexes on users"). */
const READ_START = /^\s*(select|with|show|describe|desc|explain|table|values)\b/i;

/**
 * Whether the operator typed SQL (taken as is) rather than a question: the parser reads it, or it
 * starts like a statement and reads like no sentence. `"maybe"`: it starts with a reading keyword but
 * does not parse — a question if an intent matches it, else SQL (refused with the parser's reason).
 */
export function looksLikeSql(message: string, protocol: Protocol): boolean | "maybe" {
  if (SHORT_MAINTENANCE.test(message)) return true;
  if (!SQL_START.test(message)) return false;
  // PostgreSQL reads any "SHOW <word>" as a setting: "show locks" is a question when an intent knows it
  if (protocol === "postgres" && /^\s*show\s+\w+\s*;?\s*$/i.test(message)) return "maybe";
  if (parses(protocol, message)) return true;
  if (NATURAL_LANGUAGE.test(message)) return false;
  return READ_START.test(message) ? "maybe" : true;
}

function refusal(
  protocol: Protocol,
  sql: string | undefined,
  reason: string,
  source: ChatSource,
): ChatResponse {
  return {
    mode: "database",
    protocol,
    ...(sql !== undefined ? { sql } : {}),
    answer: `Refused: database mode runs read-only statements only, and nothing was run. ${reason}`,
    source,
    refused: true,
  };
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export class ChatService {
  constructor(private readonly deps: ChatDeps) {}

  async handle(req: ChatRequest): Promise<ChatResponse> {
    return req.mode === "database" ? this.database(req) : this.general(req);
  }

  private async general(req: ChatRequest): Promise<ChatResponse> {
    const protocol = req.protocol ?? null;
    const fromKb = errorAnswer(req.message, req.protocol);
    const llm = this.deps.llm();
    if (llm) {
      const text = await llm.answer(req.message);
      if (text) return { mode: "general", protocol, answer: text, source: "llm" };
    }
    if (fromKb) return { mode: "general", protocol, answer: fromKb, source: "knowledge-base" };
    const concept = conceptAnswer(req.message);
    if (concept) {
      return {
        mode: "general",
        protocol,
        answer: `${concept.topic}\n\n${concept.answer}`,
        source: "knowledge-base",
      };
    }
    return {
      mode: "general",
      protocol,
      answer:
        "The built-in knowledge base has no answer for that (the LLM is not available). Ask about a concept — indexes, deadlocks, VACUUM, isolation levels, connection pooling, normalization, transactions, locks, replication, backups, keys, SQL injection — or paste an error (e.g. 40P01, MySQL 1213, or the error line).",
      source: "knowledge-base",
    };
  }

  private async database(req: ChatRequest): Promise<ChatResponse> {
    const available = this.deps.protocols();
    const protocol = req.protocol ?? available[0] ?? "postgres";
    const target = this.deps.target(protocol);
    const text = req.message.trim();

    let sql: string;
    let source: ChatSource;
    let answer: string;
    const typed = looksLikeSql(text, protocol);
    const typedIntent =
      typed === "maybe" ? matchIntent(text, protocol, { database: target?.database ?? null }) : null;
    if (typed === true || (typed === "maybe" && !typedIntent)) {
      sql = text;
      source = "intent";
      answer = "Your statement, run read-only.";
    } else if (WRITE_REQUEST.test(text)) {
      return refusal(
        protocol,
        undefined,
        "That asks to change the database; use a SQL client with the right privileges for changes.",
        "intent",
      );
    } else {
      const llm = target && !typedIntent ? this.deps.llm() : null;
      const fromLlm = llm ? await llm.sql(text, protocol, []) : null;
      if (fromLlm) {
        sql = fromLlm;
        source = "llm";
        answer = "SQL written by the LLM, checked as read-only and run.";
      } else {
        const intent = matchIntent(text, protocol, { database: target?.database ?? null });
        if (!intent) {
          return {
            mode: "database",
            protocol,
            answer: `I could not turn that into a query (the LLM is not available). Try: ${INTENT_EXAMPLES.map((e) => `"${e}"`).join(", ")} — or type a SELECT.`,
            source: "intent",
          };
        }
        sql = intent.sql;
        source = "intent";
        answer = intent.answer;
      }
    }

    const verdict = checkReadOnly(protocol, sql);
    if (!verdict.ok) return refusal(protocol, verdict.sql, `${capitalize(verdict.reason)}.`, source);
    if (!target) {
      return {
        mode: "database",
        protocol,
        sql: verdict.sql,
        answer: `No ${protocol === "postgres" ? "PostgreSQL" : "MySQL"} upstream is configured on this proxy, so the query was not run.`,
        source,
        error: `no ${protocol} upstream`,
      };
    }
    const run = this.deps.run ?? runReadOnly;
    try {
      const r = await run(target, verdict.sql, verdict.kind, this.deps.runOptions);
      const count = `${r.rows.length}${r.truncated ? "+" : ""} row${r.rows.length === 1 ? "" : "s"}`;
      return {
        mode: "database",
        protocol,
        sql: verdict.sql,
        columns: r.columns,
        rows: r.rows,
        truncated: r.truncated,
        durationMs: r.durationMs,
        answer: `${answer} ${count}${r.truncated ? " (only the first are shown)" : ""}.`,
        source,
      };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      const why = `${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}`;
      const readOnlyViolation = err.code === "25006" || /READ ONLY transaction/i.test(why);
      return {
        mode: "database",
        protocol,
        sql: verdict.sql,
        answer: readOnlyViolation
          ? `Refused by the server's read-only transaction: ${why}`
          : `The server answered with an error: ${why}`,
        source,
        error: why,
        ...(readOnlyViolation ? { refused: true } : {}),
      };
    }
  }
}
