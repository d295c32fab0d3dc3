/**
 * `dba-gpt explain "<error text or code>"` — explanation from the LLM when an Ollama answers
 * (DBAGPT_OLLAMA_HOST, default http://127.0.0.1:11434; DBAGPT_OLLAMA_MODEL), else offline from
 * the knowledge base. `--offline` never touches the network.
 *
 *   dba-gpt explain "ERROR 1146 (42S02): Table 'shop.orders' doesn't exist"
 *   dba-gpt explain 40P01
 *   dba-gpt explain --protocol postgres 23505
 *   dba-gpt explain --json ER_LOCK_DEADLOCK
 *   dba-gpt explain --coverage
 *
 *   dba-gpt explain --offline 1146
 *
 * Exit codes: 0 explained, 2 bad usage or unrecognised input.
 */
import type { Protocol } from "../errors/types.js";
import { tryParseErrorLine } from "./error-line.js";
import { silentLogger } from "../log.js";
import { type Analysis, Analyzer } from "./analyzer.js";
import { explainError, renderExplanation } from "./explain.js";
import { coverage } from "./knowledge-base.js";
import { AiStatusProbe } from "./status.js";

const USAGE = `usage: dba-gpt explain [--protocol postgres|mysql] [--json] [--statement SQL] [--offline]
                      [--ollama-host URL] [--model NAME] [--timeout-ms N] "<error text or code>"
       dba-gpt explain --coverage [--json]

Explains a PostgreSQL or MySQL/MariaDB error: a psql or mysql error line, a driver error, a
SQLSTATE (40P01), a MySQL error number (1213) or a condition / ER_ name. Asks the LLM when an
Ollama answers (DBAGPT_OLLAMA_HOST, DBAGPT_OLLAMA_MODEL), else explains offline from the
knowledge base; --offline never uses the network. Only the error template and the statement
digest go to the model.
`;

const DEFAULT_HOST = "http://127.0.0.1:11434";

function normaliseHost(v: string): string | null {
  const s = v.trim();
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
  } catch {
    return null;
  }
}

interface LlmOptions {
  host: string;
  model: string;
  timeoutMs: number;
}

/** The LLM when it answers the probe, else the knowledge base (the Analysis says which and why). */
async function analyzeWithLlm(input: Parameters<Analyzer["analyze"]>[0], o: LlmOptions): Promise<Analysis> {
  const probe = new AiStatusProbe(
    { enabled: true, host: o.host, model: o.model, intervalMs: 3_600_000 },
    silentLogger,
  );
  probe.start();
  const analyzer = new Analyzer({
    config: () => ({
      enabled: true,
      ollamaHost: o.host,
      model: o.model,
      timeoutMs: o.timeoutMs,
      keepAlive: "5m",
      annotateErrors: false,
      maxConcurrency: 1,
      queueLength: 0,
    }),
    probe,
    log: silentLogger,
  });
  try {
    return await analyzer.analyze(input);
  } finally {
    probe.stop();
    await analyzer.stop();
  }
}

function write(out: NodeJS.WritableStream, text: string): void {
  out.write(text.endsWith("\n") ? text : `${text}\n`);
}

export async function runExplain(
  args: string[],
  out: NodeJS.WritableStream,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let json = false;
  let offline = false;
  let host = env.DBAGPT_OLLAMA_HOST?.trim() || DEFAULT_HOST;
  let model = env.DBAGPT_OLLAMA_MODEL?.trim() || "llama3.2";
  let timeoutMs = 20_000;
  let wantCoverage = false;
  let protocol: Protocol | undefined;
  let statement: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const [flag, inline] =
      a.startsWith("--") && a.includes("=")
        ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
        : [a, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    switch (flag) {
      case "--json":
        json = true;
        break;
      case "--coverage":
        wantCoverage = true;
        break;
      case "--protocol": {
        const v = value()?.toLowerCase();
        if (v === "postgres" || v === "postgresql" || v === "pg") protocol = "postgres";
        else if (v === "mysql" || v === "mariadb") protocol = "mysql";
        else {
          write(out, `dba-gpt explain: --protocol must be postgres or mysql, got ${JSON.stringify(v ?? "")}`);
          return 2;
        }
        break;
      }
      case "--statement":
        statement = value();
        break;
      case "--offline":
        offline = true;
        break;
      case "--ollama-host":
        host = value() ?? "";
        break;
      case "--model":
        model = value()?.trim() ?? "";
        if (model === "") {
          write(out, "dba-gpt explain: --model needs a name");
          return 2;
        }
        break;
      case "--timeout-ms": {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) {
          write(
            out,
            `dba-gpt explain: --timeout-ms must be a positive integer, got ${JSON.stringify(v ?? "")}`,
          );
          return 2;
        }
        timeoutMs = n;
        break;
      }
      case "-h":
      case "--help":
        write(out, USAGE);
        return 0;
      case "--":
        rest.push(...args.slice(i + 1));
        i = args.length;
        break;
      default:
        if (a.startsWith("--")) {
          write(out, `dba-gpt explain: unknown option ${a}\n\n${USAGE}`);
          return 2;
        }
        rest.push(a);
    }
  }

  if (wantCoverage) {
    const c = coverage();
    if (json) write(out, JSON.stringify(c, null, 2));
    else
      for (const p of c)
        write(out, `${p.protocol}: ${p.known}/${p.listed} codes known, ${p.handWritten} hand-written`);
    return 0;
  }

  const text = rest.join(" ").trim();
  if (text === "") {
    write(out, `dba-gpt explain: give an error line or code\n\n${USAGE}`);
    return 2;
  }
  const parsed = tryParseErrorLine(text, protocol);
  if (parsed === null) {
    write(
      out,
      `dba-gpt explain: cannot recognise an error in ${JSON.stringify(text)}; give a SQLSTATE (40P01), a MySQL error number (1213), a condition or ER_ name, or the error line itself`,
    );
    return 2;
  }
  const input = {
    protocol: parsed.protocol,
    code: parsed.code,
    sqlstate: parsed.sqlstate,
    message: parsed.message,
    statement,
  };
  if (offline) {
    const explanation = explainError(input);
    write(out, json ? JSON.stringify(explanation, null, 2) : renderExplanation(explanation));
    return 0;
  }
  const normalised = normaliseHost(host);
  if (normalised === null) {
    write(out, `dba-gpt explain: the Ollama host must be an http(s) URL, got ${JSON.stringify(host)}`);
    return 2;
  }
  const analysis = await analyzeWithLlm(input, { host: normalised, model, timeoutMs });
  write(out, json ? JSON.stringify(analysis, null, 2) : renderExplanation(analysis));
  return 0;
}
