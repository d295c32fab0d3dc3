/**
 * Message templates and signatures (PRODUCT.md section 3): values masked, identifiers kept,
 * so the same error hit with other values is one pattern and the same error on another
 * table is another.
 *
 * General rule, both protocols: standalone numbers → `?` (digits inside words such as t2 or
 * orders_2024 stay; 10.0.0.5 is one number), `backticked` names kept.
 *
 * PostgreSQL quotes identifiers with double quotes and keeps them; a double-quoted text is a
 * value only after `near ` (syntax error at or near "SELEC"), after `: ` (invalid input
 * syntax for type integer: "abc") or after `value ` (value "9999" is out of range): masked.
 * 'Single-quoted' text is always a value. DETAIL is appended as "\nDETAIL: ..." with its own
 * shapes: `Key (id)=(42) already exists.` → `Key (id)=(?) already exists.`,
 * `Failing row contains (...)` → `Failing row contains (?)`, `Process 123: <query>` → `Process ?: ?`.
 *
 * MySQL puts identifiers and values alike in single quotes, so the shape decides:
 * - masked: `Duplicate entry '..'`, `value: '..'` (Incorrect integer value, Truncated
 *   incorrect DOUBLE value), `near '..' at line N` (syntax errors: the quoted statement text),
 *   the host in `'user'@'host'` (hosts vary per client; the user is kept: it is a name, and
 *   "bob is denied" and "etl is denied" are different problems), text that is only a number;
 * - kept: every other quoted text that looks like a name (letters, digits, _ $ . ` space -,
 *   at most 64 characters): 'shop.orders', 'x', 'field list', 'PRIMARY', 'bob';
 * - masked: any other quoted text (it is not a name).
 */
import { createHash } from "node:crypto";
import type { ErrorType, Protocol } from "./types.js";

const SQ = 39; // '
const DQ = 34; // "
const BT = 96; // `

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isWordChar(c: number): boolean {
  return (
    (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c > 127
  );
}

/** Does s[0, i) end with `tail`? (ASCII, case-sensitive) */
function endsAt(s: string, i: number, tail: string): boolean {
  const start = i - tail.length;
  if (start < 0) return false;
  for (let k = 0; k < tail.length; k++) if (s.charCodeAt(start + k) !== tail.charCodeAt(k)) return false;
  return true;
}

/** Index of the closing quote q for a quote opened at `open` ("" / '' doubled = escaped), or -1. */
function closeQuote(s: string, open: number, q: number): number {
  let i = open + 1;
  const n = s.length;
  while (i < n) {
    if (s.charCodeAt(i) === q) {
      if (s.charCodeAt(i + 1) === q) {
        i += 2;
        continue;
      }
      return i;
    }
    i++;
  }
  return -1;
}

/** Index of the ")" matching the "(" at `open`, or -1. */
function closeParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 40) depth++;
    else if (c === 41 && --depth === 0) return i;
  }
  return -1;
}

/** Looks like a name: letters, digits, _ $ . ` space -; not only digits; at most 64 chars. */
function looksLikeName(s: string, from: number, to: number): boolean {
  const len = to - from;
  if (len === 0 || len > 64) return false;
  let letters = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127) letters = true;
    else if (!(isDigit(c) || c === 36 || c === 46 || c === BT || c === 32 || c === 45)) return false;
  }
  return letters;
}

/**
 * Where a MySQL single-quoted text opened at `open` ends, and whether to mask it.
 * Returns the index of the closing quote; `maskOut[0]` tells whether it is a value.
 */
function mysqlQuoted(s: string, open: number, maskOut: [boolean]): number {
  if (endsAt(s, open, "near ")) {
    // The statement text may itself contain quotes: it ends at the last "' at line".
    const end = s.lastIndexOf("' at line ");
    maskOut[0] = true;
    if (end > open) return end;
    const last = s.lastIndexOf("'");
    return last > open ? last : s.length - 1;
  }
  if (endsAt(s, open, "entry ")) {
    // Duplicate entry '<value, may contain quotes>' for key '<name>'
    const end = s.lastIndexOf("' for key");
    maskOut[0] = true;
    if (end > open) return end;
  }
  if (endsAt(s, open, "value: ") || endsAt(s, open, "value ")) {
    const end = s.lastIndexOf("' for ");
    maskOut[0] = true;
    if (end > open) return end;
    const last = s.lastIndexOf("'");
    return last > open ? last : s.length - 1;
  }
  const close = closeQuote(s, open, SQ);
  const end = close < 0 ? s.length - 1 : close;
  maskOut[0] = endsAt(s, open, "@") || !looksLikeName(s, open + 1, close < 0 ? s.length : close);
  return end;
}

const maskFlag: [boolean] = [false];

/** The general scan: numbers masked, quoted text kept or masked by protocol rules. */
function templateText(protocol: Protocol, s: string): string {
  let out = "";
  let last = 0;
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isDigit(c)) {
      const prev = i > 0 ? s.charCodeAt(i - 1) : 32;
      let j = i + 1;
      while (j < n && (isDigit(s.charCodeAt(j)) || (s.charCodeAt(j) === 46 && isDigit(s.charCodeAt(j + 1)))))
        j++;
      if (isWordChar(prev) || (j < n && isWordChar(s.charCodeAt(j)))) {
        // part of a word (t2, 2nd, 0x1F): skip the whole word
        while (j < n && isWordChar(s.charCodeAt(j))) j++;
        i = j;
        continue;
      }
      out += s.slice(last, i);
      out += "?";
      last = i = j;
      continue;
    }
    if (isWordChar(c)) {
      i++;
      while (i < n && isWordChar(s.charCodeAt(i))) i++;
      continue;
    }
    if (c === BT) {
      const close = closeQuote(s, i, BT);
      i = close < 0 ? n : close + 1;
      continue;
    }
    if (c === SQ || c === DQ) {
      let end: number;
      let mask: boolean;
      if (protocol === "mysql") {
        end = mysqlQuoted(s, i, maskFlag);
        mask = maskFlag[0];
      } else {
        const close = closeQuote(s, i, c);
        end = close < 0 ? n - 1 : close;
        mask = c === SQ || endsAt(s, i, "near ") || endsAt(s, i, ": ") || endsAt(s, i, "value ");
      }
      if (mask) {
        out += s.slice(last, i);
        out += "?";
        last = end + 1;
      }
      i = end + 1;
      continue;
    }
    i++;
  }
  if (last === 0) return s;
  return out + s.slice(last);
}

/** PostgreSQL DETAIL shapes that carry values outside quotes, then the general scan. */
function detailTemplate(detail: string): string {
  let d = detail;
  // Key (a, b)=(1, x) already exists. / ... is not present in table "t".
  const key = d.indexOf(")=(");
  if (key >= 0) {
    const end = closeParen(d, key + 2);
    if (end > 0) d = `${d.slice(0, key + 3)}?${d.slice(end)}`;
  }
  const row = d.indexOf("Failing row contains (");
  if (row >= 0) {
    const open = row + 21;
    const end = closeParen(d, open);
    d = `${d.slice(0, open + 1)}?${end > 0 ? d.slice(end) : ")"}`;
  }
  if (d.includes("Process ") && d.includes(": ")) {
    // deadlock details may name each process's query: "Process 123: UPDATE ..."
    d = d
      .split("\n")
      .map((line) => {
        if (!line.startsWith("Process ")) return line;
        const colon = line.indexOf(": ");
        let k = 8;
        while (k < line.length && isDigit(line.charCodeAt(k))) k++;
        return colon === k && k > 8 ? `${line.slice(0, colon)}: ?` : line;
      })
      .join("\n");
  }
  return templateText("postgres", d);
}

export function messageTemplate(protocol: Protocol, message: string, detail?: string): string {
  const t = templateText(protocol, message);
  if (detail === undefined || detail === "") return t;
  return `${t}\nDETAIL: ${protocol === "postgres" ? detailTemplate(detail) : templateText(protocol, detail)}`;
}

/** First 12 hex characters of SHA-1 over "protocol\0code\0errorType\0template". */
export function errorSignature(
  protocol: Protocol,
  code: string,
  errorType: ErrorType,
  template: string,
): string {
  return createHash("sha1")
    .update(`${protocol}\0${code}\0${errorType}\0${template}`)
    .digest("hex")
    .slice(0, 12);
}
