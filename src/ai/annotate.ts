/**
 * Opt-in error annotation (`ai.annotateErrors`): the one-line fix from the knowledge base
 * rides along in the error the client receives — a HINT on a PostgreSQL ErrorResponse, a
 * short suffix on a MySQL ERR message — so application developers see it in their own logs.
 * Pure functions; when annotation is off the sessions do not call them at all.
 */
import type { PgErrorFields } from "../../protocol/postgres/backend.js";
import type { Protocol } from "../errors/types.js";
import { explainError } from "./explain.js";

/** Longest fix we add (characters); MySQL clients keep messages around 512 bytes. */
export const MAX_FIX_LENGTH = 160;
const PREFIX = "DBA-GPT: ";

function clip(s: string, max: number): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length <= max ? one : `${one.slice(0, max - 1).trimEnd()}…`;
}

/**
 * The first immediate step for this error from the knowledge base, on one line (with its SQL
 * when that is one short statement), or null when the knowledge base has nothing specific.
 */
export function oneLineFix(protocol: Protocol, code: string, message: string): string | null {
  const e = explainError({ protocol, code: code === "" ? undefined : code, message });
  if (!e.handWritten && e.errorType === "UNKNOWN") return null;
  const first = e.immediateSolution[0];
  if (!first) return null;
  let fix = first.step.replace(/\s+/g, " ").trim().replace(/[.:]$/, "");
  const sql = first.sql?.trim();
  // only a complete statement: one line, short, no <placeholder> left unfilled
  const complete = sql !== undefined && sql !== "" && !sql.includes("\n") && !/<[a-z][a-z ]*>/.test(sql);
  if (complete && fix.length + sql.length + 2 <= MAX_FIX_LENGTH) fix = `${fix}: ${sql}`;
  return fix === "" ? null : clip(fix, MAX_FIX_LENGTH);
}

/** The ErrorResponse fields with our fix as HINT (after the server's own hint, if any). */
export function annotatePgError(fields: PgErrorFields, fix?: string | null): PgErrorFields {
  const line = fix === undefined ? oneLineFix("postgres", fields.code, fields.message) : fix;
  if (line === null || line === "") return fields;
  const ours = `${PREFIX}${clip(line, MAX_FIX_LENGTH)}`;
  const hint = fields.hint !== undefined && fields.hint !== "" ? `${fields.hint}\n${ours}` : ours;
  return { ...fields, hint };
}

/** The ERR message with a short " [DBA-GPT: fix]" suffix; unchanged when there is no fix. */
export function annotateMysqlErrMessage(message: string, fix: string | null): string {
  if (fix === null || fix === "") return message;
  return `${message} [${PREFIX}${clip(fix, MAX_FIX_LENGTH)}]`;
}
