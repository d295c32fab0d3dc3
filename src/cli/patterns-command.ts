/**
 * `dba-gpt patterns`: the learned patterns of a running proxy, read from its admin API
 * (GET /api/patterns) and printed as an aligned table.
 */
import { parseArgs } from "node:util";
import { ERROR_TYPES, isErrorType } from "../errors/types.js";

export interface PatternsIo {
  stdout: NodeJS.WritableStream & { columns?: number; isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/** The fields of a pattern this command shows (the API sends more). */
export interface PatternRow {
  signature: string;
  protocol: string;
  errorType: string;
  code: string;
  template: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  strategy: string;
}

export const PATTERNS_USAGE = `usage: dba-gpt patterns [--admin URL] [--protocol postgres|mysql] [--error-type TYPE] [--limit N] [--json]

Lists the error patterns a running proxy has learned, most frequent first.
  --admin URL         the proxy's admin API (default: http://<DBAGPT_ADMIN_LISTEN or 127.0.0.1:8511>)
  --protocol P        only postgres or only mysql patterns
  --error-type TYPE   only this errorType (e.g. DEADLOCK, TABLE_NOT_FOUND)
  --limit N           at most N patterns (default: the API's, 100)
  --json              print the API's JSON instead of a table
Sends DBAGPT_ADMIN_TOKEN as a Bearer token when it is set.
`;

const TEMPLATE_WIDTH_NO_TTY = 60;
const REQUEST_TIMEOUT_MS = 10_000;

/** "http://host:port" from a URL or host:port; wildcard hosts become loopback. */
export function adminBaseUrl(arg: string | undefined, env: NodeJS.ProcessEnv): string {
  const given = arg ?? (env.DBAGPT_ADMIN_LISTEN || "127.0.0.1:8511");
  let text = given.trim();
  if (/^\d+$/.test(text) || text.startsWith(":")) text = `127.0.0.1:${text.replace(/^:/, "")}`;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `http://${text}`;
  const url = new URL(text); // throws TypeError on nonsense; the caller reports it
  if (url.hostname === "0.0.0.0") url.hostname = "127.0.0.1";
  if (url.hostname === "[::]") url.hostname = "[::1]";
  return url.toString().replace(/\/+$/, "");
}

/** `2025-11-24T19:44:05.123Z` → `2025-11-24 19:44:05Z`; anything else as is. */
function shortTime(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]}Z` : iso;
}

function truncate(s: string, width: number): string {
  const flat = s.replace(/\s+/g, " ");
  if (flat.length <= width) return flat;
  return width <= 1 ? flat.slice(0, width) : `${flat.slice(0, width - 1)}…`;
}

/**
 * The table, one line per pattern, columns padded to their widest cell. The TEMPLATE column
 * gets what is left of `width` (the terminal's), or 60 characters when there is no terminal.
 */
export function formatPatternTable(patterns: readonly PatternRow[], width?: number): string {
  const head = ["SIGNATURE", "PROTOCOL", "TYPE", "CODE", "COUNT", "STRATEGY", "LAST SEEN"];
  const rows = patterns.map((p) => [
    String(p.signature),
    String(p.protocol),
    String(p.errorType),
    String(p.code),
    String(p.count),
    String(p.strategy ?? ""),
    shortTime(String(p.lastSeen)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const used = widths.reduce((a, b) => a + b + 2, 0);
  const templateWidth = width === undefined ? TEMPLATE_WIDTH_NO_TTY : Math.max(20, width - used);
  const line = (cells: string[], template: string) =>
    cells
      .map((c, i) => (i === 4 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .concat("  ", template)
      .trimEnd();
  const out = [line(head, "TEMPLATE")];
  patterns.forEach((p, i) => {
    out.push(line(rows[i] ?? [], truncate(String(p.template ?? ""), templateWidth)));
  });
  return `${out.join("\n")}\n`;
}

function fail(io: PatternsIo, line: string, code: number): number {
  io.stderr.write(`dba-gpt: ${line}\n`);
  return code;
}

function reasonOf(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError")
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
  const cause = e?.cause;
  if (cause?.code)
    return cause.code === "ECONNREFUSED" ? "connection refused (is the proxy running?)" : cause.code;
  return cause?.message ?? e?.message ?? String(err);
}

export async function runPatterns(args: string[], env: NodeJS.ProcessEnv, io: PatternsIo): Promise<number> {
  let values: {
    admin?: string;
    protocol?: string;
    "error-type"?: string;
    limit?: string;
    json?: boolean;
    help?: boolean;
  };
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        admin: { type: "string" },
        protocol: { type: "string" },
        "error-type": { type: "string" },
        limit: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    return fail(io, `patterns: ${(err as Error).message.split("\n")[0]}`, 2);
  }
  if (values.help) {
    io.stdout.write(PATTERNS_USAGE);
    return 0;
  }
  const query = new URLSearchParams();
  if (values.protocol !== undefined) {
    if (values.protocol !== "postgres" && values.protocol !== "mysql")
      return fail(io, `patterns: --protocol must be postgres or mysql, got "${values.protocol}"`, 2);
    query.set("protocol", values.protocol);
  }
  const errorType = values["error-type"];
  if (errorType !== undefined) {
    const upper = errorType.toUpperCase();
    if (!isErrorType(upper))
      return fail(
        io,
        `patterns: --error-type must be one of ${ERROR_TYPES.join(", ")}, got "${errorType}"`,
        2,
      );
    query.set("errorType", upper);
  }
  if (values.limit !== undefined) {
    if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1)
      return fail(io, `patterns: --limit must be an integer ≥ 1, got "${values.limit}"`, 2);
    query.set("limit", values.limit);
  }

  let base: string;
  try {
    base = adminBaseUrl(values.admin, env);
  } catch {
    return fail(
      io,
      `patterns: --admin must be a URL or host:port, got "${values.admin ?? env.DBAGPT_ADMIN_LISTEN}"`,
      2,
    );
  }
  const qs = query.toString();
  const url = `${base}/api/patterns${qs ? `?${qs}` : ""}`;
  const headers: Record<string, string> = { accept: "application/json" };
  if (env.DBAGPT_ADMIN_TOKEN) headers.authorization = `Bearer ${env.DBAGPT_ADMIN_TOKEN}`;

  let res: Response;
  let body: string;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    body = await res.text();
  } catch (err) {
    return fail(io, `cannot reach the admin API at ${base}: ${reasonOf(err)}`, 1);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return fail(io, `the admin API at ${base} answered ${res.status} with something that is not JSON`, 1);
  }
  if (!res.ok) {
    const msg = (json as { error?: unknown })?.error;
    const hint =
      res.status === 401 || res.status === 403
        ? env.DBAGPT_ADMIN_TOKEN
          ? " (is DBAGPT_ADMIN_TOKEN the proxy's token?)"
          : " (set DBAGPT_ADMIN_TOKEN)"
        : "";
    return fail(
      io,
      `the admin API at ${base} refused: ${res.status} ${typeof msg === "string" ? msg : ""}${hint}`.trim(),
      1,
    );
  }
  const patterns = (json as { patterns?: unknown })?.patterns;
  if (!Array.isArray(patterns)) return fail(io, `the admin API at ${base} sent no "patterns" list`, 1);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return 0;
  }
  if (patterns.length === 0) {
    io.stdout.write("no patterns learned yet\n");
    return 0;
  }
  const width = io.stdout.isTTY && io.stdout.columns ? io.stdout.columns : undefined;
  io.stdout.write(formatPatternTable(patterns as PatternRow[], width));
  return 0;
}
