/**
 * `dba-gpt explain "<error text or code>"` — offline explanation from the knowledge base.
 *
 *   dba-gpt explain "ERROR 1146 (42S02): Table 'shop.orders' doesn't exist"
 *   dba-gpt explain 40P01
 *   dba-gpt explain --protocol postgres 23505
 *   dba-gpt explain --json ER_LOCK_DEADLOCK
 *   dba-gpt explain --coverage
 *
 * Exit codes: 0 explained, 2 bad usage or unrecognised input. No network access.
 */
import type { Protocol } from "../errors/types.js";
import { tryParseErrorLine } from "./error-line.js";
import { explainError, renderExplanation } from "./explain.js";
import { coverage } from "./knowledge-base.js";

const USAGE = `usage: dba-gpt explain [--protocol postgres|mysql] [--json] [--statement SQL] "<error text or code>"
       dba-gpt explain --coverage [--json]

Explains a PostgreSQL or MySQL/MariaDB error offline: a psql or mysql error line, a driver
error, a SQLSTATE (40P01), a MySQL error number (1213) or a condition / ER_ name.
`;

function write(out: NodeJS.WritableStream, text: string): void {
  out.write(text.endsWith("\n") ? text : `${text}\n`);
}

export async function runExplain(args: string[], out: NodeJS.WritableStream): Promise<number> {
  let json = false;
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
  const explanation = explainError({
    protocol: parsed.protocol,
    code: parsed.code,
    sqlstate: parsed.sqlstate,
    message: parsed.message,
    statement,
  });
  write(out, json ? JSON.stringify(explanation, null, 2) : renderExplanation(explanation));
  return 0;
}
