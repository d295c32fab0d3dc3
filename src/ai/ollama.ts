/**
 * The Ollama side of an analysis: the prompt (error template, statement digest and schema
 * names only — never row data or literals), a call through the `ollama` package with
 * `format` set to a JSON schema, a hard per-request deadline, and zod validation of the answer.
 *
 * The `ollama` client has no timeout for non-streaming calls and does not read OLLAMA_HOST,
 * so each call gets its own client whose `fetch` carries an AbortSignal, and the host comes
 * from our configuration.
 */
import { Ollama } from "ollama";
import { z } from "zod";
import type { ErrorType, Protocol } from "../errors/types.js";

/** What the model must answer; `format` sends this schema so Ollama constrains the output. */
export const ANALYSIS_JSON_SCHEMA = {
  type: "object",
  properties: {
    title: { type: "string" },
    rootCause: { type: "string" },
    immediateSolution: {
      type: "array",
      items: {
        type: "object",
        properties: { step: { type: "string" }, sql: { type: "string" } },
        required: ["step"],
      },
    },
    prevention: { type: "array", items: { type: "string" } },
  },
  required: ["rootCause", "immediateSolution", "prevention"],
} as const;

const text = (max: number) => z.string().trim().min(1).max(max);

/** The same shape checked on our side: a model may ignore `format` or answer off-schema. */
export const llmAnswerSchema = z.object({
  title: z.string().trim().max(300).optional(),
  rootCause: text(4000),
  immediateSolution: z
    .array(
      z.object({
        step: text(2000),
        sql: z.string().trim().max(8000).nullish(),
      }),
    )
    .min(1)
    .max(12),
  prevention: z.array(text(2000)).max(12),
});

export interface LlmAnswer {
  title?: string;
  rootCause: string;
  immediateSolution: { step: string; sql?: string }[];
  prevention: string[];
}

export type LlmFailure = "timeout" | "unreachable" | "bad-answer" | "http" | "aborted";

/** Why a call to the model gave nothing usable; `kind` decides the fallback reason and status. */
export class LlmError extends Error {
  constructor(
    readonly kind: LlmFailure,
    message: string,
  ) {
    super(message);
    this.name = "LlmError";
  }
}

/** Schema facts and the error's shape: all a prompt may carry. */
export interface PromptFacts {
  protocol: Protocol;
  code: string;
  name: string;
  errorType: ErrorType;
  /** the message template (values masked), never the raw message */
  template: string;
  /** the statement digest (literals replaced), never the raw statement */
  statementDigest: string | null;
  /** names only: tables, columns, constraint, database / schema */
  schema: { tables: string[]; columns: string[]; constraint?: string; database?: string; schema?: string };
  /** the knowledge base's title for the code, as context */
  knownAs?: string;
}

const SYSTEM_PROMPT =
  "You are a senior database administrator. Explain one database error for the application team: " +
  "its root cause, the immediate solution as ordered steps (with SQL in the server's dialect where a " +
  "statement helps), and prevention measures. Answer only with JSON matching the given schema. " +
  "Use the table and column names given; do not invent data values.";

export function buildPrompt(f: PromptFacts): { system: string; user: string } {
  const dialect = f.protocol === "postgres" ? "PostgreSQL" : "MySQL/MariaDB";
  const lines = [
    `Server: ${dialect}`,
    `Error code: ${f.code === "" ? "(none)" : f.code}${f.name ? ` (${f.name})` : ""}`,
    `Error class: ${f.errorType}`,
  ];
  if (f.knownAs) lines.push(`Known as: ${f.knownAs}`);
  lines.push(`Message template (values masked as ?): ${f.template}`);
  if (f.statementDigest) lines.push(`Statement digest (literals masked as ?): ${f.statementDigest}`);
  const s = f.schema;
  if (s.database) lines.push(`Database: ${s.database}`);
  if (s.schema) lines.push(`Schema: ${s.schema}`);
  if (s.tables.length > 0) lines.push(`Tables: ${s.tables.join(", ")}`);
  if (s.columns.length > 0) lines.push(`Columns: ${s.columns.join(", ")}`);
  if (s.constraint) lines.push(`Constraint: ${s.constraint}`);
  return { system: SYSTEM_PROMPT, user: lines.join("\n") };
}

/** Parse and validate the model's content; throws LlmError("bad-answer"). */
export function parseLlmAnswer(content: string): LlmAnswer {
  let raw: unknown;
  try {
    raw = JSON.parse(content);
  } catch {
    throw new LlmError("bad-answer", "the model's answer is not JSON");
  }
  const r = llmAnswerSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first ? `${first.path.join(".") || "(root)"}: ${first.message}` : "invalid";
    throw new LlmError("bad-answer", `the model's answer does not match the schema (${where})`);
  }
  const a = r.data;
  const out: LlmAnswer = {
    rootCause: a.rootCause,
    immediateSolution: a.immediateSolution.map((s) =>
      s.sql !== undefined && s.sql !== null && s.sql !== "" ? { step: s.step, sql: s.sql } : { step: s.step },
    ),
    prevention: a.prevention,
  };
  if (a.title !== undefined && a.title !== "") out.title = a.title;
  return out;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function networkCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur !== null && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface OllamaCallOptions {
  host: string;
  model: string;
  timeoutMs: number;
  keepAlive: string;
  /** aborts the call early (server shutdown, or a deadline the caller already runs) */
  signal?: AbortSignal;
}

/**
 * One structured chat call with a hard deadline. Resolves with a validated answer or rejects
 * with LlmError — never hangs past timeoutMs, whatever the server does.
 */
export async function ollamaAnalyze(
  opts: OllamaCallOptions,
  prompt: { system: string; user: string },
): Promise<LlmAnswer> {
  const ctrl = new AbortController();
  const timeout = new LlmError("timeout", `no answer from ${opts.model} within ${opts.timeoutMs} ms`);
  const timer = setTimeout(() => ctrl.abort(timeout), opts.timeoutMs);
  // the caller's own deadline keeps its meaning (a timeout stays a timeout)
  const onOuterAbort = () =>
    ctrl.abort(
      opts.signal?.reason instanceof LlmError
        ? opts.signal.reason
        : new LlmError("aborted", "analysis cancelled"),
    );
  if (opts.signal?.aborted) onOuterAbort();
  else opts.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const deadline = new Promise<never>((_, reject) => {
    const fail = () => reject(ctrl.signal.reason);
    if (ctrl.signal.aborted) fail();
    else ctrl.signal.addEventListener("abort", fail, { once: true });
  });
  deadline.catch(() => {}); // observed through the race below
  const client = new Ollama({
    host: opts.host,
    fetch: (input, init) => fetch(input, { ...init, signal: ctrl.signal }),
  });
  try {
    const res = await Promise.race([
      client.chat({
        model: opts.model,
        messages: [
          { role: "system", content: prompt.system },
          { role: "user", content: prompt.user },
        ],
        format: ANALYSIS_JSON_SCHEMA,
        stream: false,
        keep_alive: opts.keepAlive,
        options: { temperature: 0 },
      }),
      deadline,
    ]);
    const content = res?.message?.content;
    if (typeof content !== "string") throw new LlmError("bad-answer", "the answer has no message content");
    return parseLlmAnswer(content);
  } catch (e) {
    if (e instanceof LlmError) throw e;
    if (ctrl.signal.aborted && ctrl.signal.reason instanceof LlmError) throw ctrl.signal.reason;
    const net = networkCode(e);
    if (net !== undefined)
      throw new LlmError("unreachable", `Ollama at ${opts.host} is unreachable (${net})`);
    const status = (e as { status_code?: unknown }).status_code;
    if (typeof status === "number")
      throw new LlmError("http", `Ollama answered HTTP ${status}: ${(e as Error).message}`);
    if (e instanceof SyntaxError) throw new LlmError("bad-answer", "the response body is not JSON");
    throw new LlmError("unreachable", e instanceof Error ? e.message : String(e));
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onOuterAbort);
  }
}
