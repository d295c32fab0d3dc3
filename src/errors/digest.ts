/**
 * Statement digest: the statement with its literals replaced by `?`, so the same query
 * shape hit with different values gives the same text (PRODUCT.md section 3).
 *
 * One hand-written pass over the text, no regular expressions, output written into a
 * reused code-unit buffer. The form:
 *
 * - literals → `?`: numbers (12, 1.5, .5, 1e-3, 0x1F, 0b101, a unary minus before them),
 *   'strings' ('' and backslash escapes), E'..', N'..', B'..', X'..', U&'..', _charset'..',
 *   $$dollar$$ and $tag$..$tag$ bodies; TRUE, FALSE, NULL stay as words;
 * - `IN (?, ?, ?)` → `IN (...)` (a list of literals and placeholders only);
 * - `VALUES (?, ?), (?, ?), ...` → `VALUES (?, ?)`: the first row stands for every row of
 *   literals and placeholders (DEFAULT, NULL, TRUE, FALSE count as literals here);
 * - comments removed (`-- ...`, `/* ... *\/` nested as PostgreSQL does; `# ...` in MySQL);
 * - whitespace collapsed to one space; no space after `(` or before `)` and `,`; one after `,`;
 *   trailing `;` removed;
 * - identifiers kept as written, "quoted" and `backticked` included; keyword case kept;
 * - placeholders `$1`, `?`, `:name`, `@var` kept as they are;
 * - the result is at most 1024 characters, then "…".
 *
 * `dialect` (optional) refines two things: "postgres" reads backslashes in plain '..'
 * strings literally (standard_conforming_strings) and "mysql" treats "double quoted" text as
 * a string literal and `#` as a comment. Without it: backslash escapes, "..." identifiers.
 */
import type { Protocol } from "./types.js";

export const DIGEST_MAX_LENGTH = 1024;
/** Input beyond this is not read (the digest is long past its bound by then). */
const MAX_SCAN = 1 << 20;

let buf = new Uint16Array(4096);
/** a Buffer over the same memory, to decode the result without a copy per character */
let bufView = Buffer.from(buf.buffer);
let out = 0;
// Scanner state, module-level so the helpers below need no closure per call.
let depth = 0;
/** frames that can still collapse (IN / VALUES rows with only literals so far) */
let openSimple = 0;
let pendingSpace = false;
let lastWord = 0;

enum Ch {
  Tab = 9,
  Nl = 10,
  Cr = 13,
  Space = 32,
  Bang = 33,
  DQuote = 34,
  Hash = 35,
  Dollar = 36,
  Percent = 37,
  Amp = 38,
  Quote = 39,
  LParen = 40,
  RParen = 41,
  Star = 42,
  Plus = 43,
  Comma = 44,
  Minus = 45,
  Dot = 46,
  Slash = 47,
  D0 = 48,
  D1 = 49,
  D9 = 57,
  Semi = 59,
  Lt = 60,
  Eq = 61,
  Gt = 62,
  Question = 63,
  Backslash = 92,
  Caret = 94,
  Underscore = 95,
  Backtick = 96,
  Pipe = 124,
}

function isDigit(c: number): boolean {
  return c >= Ch.D0 && c <= Ch.D9;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === Ch.Underscore || c > 127;
}
function isIdent(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === Ch.Dollar;
}
function isSpace(c: number): boolean {
  return c === Ch.Space || c === Ch.Tab || c === Ch.Nl || c === Ch.Cr || c === 11 || c === 12;
}
/** After these (or at the start) a `-` before a number is a sign, not a subtraction. */
function isOperatorBefore(c: number): boolean {
  return (
    c === Ch.LParen ||
    c === Ch.Comma ||
    c === Ch.Eq ||
    c === Ch.Lt ||
    c === Ch.Gt ||
    c === Ch.Plus ||
    c === Ch.Minus ||
    c === Ch.Star ||
    c === Ch.Slash ||
    c === Ch.Percent ||
    c === Ch.Bang ||
    c === Ch.Pipe ||
    c === Ch.Amp ||
    c === Ch.Caret
  );
}

/** Case-insensitive comparison of sql[start, start+len) with a lowercase ASCII word. */
function wordIs(sql: string, start: number, len: number, word: string): boolean {
  if (len !== word.length) return false;
  for (let k = 0; k < len; k++) {
    if ((sql.charCodeAt(start + k) | 0x20) !== word.charCodeAt(k)) return false;
  }
  return true;
}

function put(c: number): void {
  buf[out++] = c;
}

// Paren frames: where the "(" was written, whether only literals appeared inside, and kind.
const KIND_NONE = 0;
const KIND_IN = 1;
const KIND_VALUES_FIRST = 2;
const KIND_VALUES_NEXT = 3;
let framePos = new Int32Array(64);
let frameSimple = new Uint8Array(64);
let frameKind = new Uint8Array(64);

const WORD_OTHER = 0;
const WORD_IN = 1;
const WORD_VALUES = 2;

export function statementDigest(sql: string, dialect?: Protocol): string {
  const n = Math.min(sql.length, MAX_SCAN);
  const need = 2 * n + 16;
  if (buf.length < need) {
    buf = new Uint16Array(need);
    bufView = Buffer.from(buf.buffer);
  }
  out = 0;
  const backslashInPlain = dialect !== "postgres";
  const dquoteIsString = dialect === "mysql";
  const hashComment = dialect === "mysql";

  depth = 0;
  openSimple = 0;
  pendingSpace = false;
  lastWord = WORD_OTHER;
  /** output position right after the first VALUES row of literals, -1 when none */
  let valuesRowEnd = -1;

  let i = 0;
  while (i < n) {
    if (out > DIGEST_MAX_LENGTH && openSimple === 0) break;
    const c = sql.charCodeAt(i);

    if (isSpace(c)) {
      pendingSpace = true;
      i++;
      continue;
    }

    // Comments
    if (c === Ch.Minus && sql.charCodeAt(i + 1) === Ch.Minus) {
      i += 2;
      while (i < n && sql.charCodeAt(i) !== Ch.Nl) i++;
      pendingSpace = true;
      continue;
    }
    if (c === Ch.Hash && hashComment) {
      i++;
      while (i < n && sql.charCodeAt(i) !== Ch.Nl) i++;
      pendingSpace = true;
      continue;
    }
    if (c === Ch.Slash && sql.charCodeAt(i + 1) === Ch.Star) {
      let nest = 1;
      i += 2;
      while (i < n && nest > 0) {
        const d = sql.charCodeAt(i);
        if (d === Ch.Star && sql.charCodeAt(i + 1) === Ch.Slash) {
          nest--;
          i += 2;
        } else if (d === Ch.Slash && sql.charCodeAt(i + 1) === Ch.Star) {
          nest++;
          i += 2;
        } else i++;
      }
      pendingSpace = true;
      continue;
    }

    // String literals
    if (c === Ch.Quote || (c === Ch.DQuote && dquoteIsString)) {
      i = skipQuoted(sql, i + 1, n, c, backslashInPlain);
      literal();
      continue;
    }

    // Quoted identifiers: copied as written
    if (c === Ch.DQuote || c === Ch.Backtick) {
      notSimple();
      sep(c);
      put(c);
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        put(d);
        i++;
        if (d === c) {
          if (sql.charCodeAt(i) === c) {
            put(c);
            i++;
            continue;
          }
          break;
        }
      }
      lastWord = WORD_OTHER;
      valuesRowEnd = -1;
      continue;
    }

    // Numbers (and a sign that belongs to them)
    let numStart = -1;
    if (isDigit(c) || (c === Ch.Dot && isDigit(sql.charCodeAt(i + 1)))) {
      const p = i > 0 ? sql.charCodeAt(i - 1) : Ch.Space;
      if (!isIdent(p) && !(c === Ch.Dot && (p === Ch.DQuote || p === Ch.Backtick || p === Ch.RParen)))
        numStart = i;
    } else if (
      c === Ch.Minus &&
      (isDigit(sql.charCodeAt(i + 1)) ||
        (sql.charCodeAt(i + 1) === Ch.Dot && isDigit(sql.charCodeAt(i + 2)))) &&
      (out === 0 || isOperatorBefore(buf[out - 1]!))
    ) {
      numStart = i + 1;
    }
    if (numStart >= 0) {
      const end = scanNumber(sql, numStart, n);
      if (end > 0) {
        i = end;
        literal();
        continue;
      }
      // "1abc" and the like: an identifier that starts with digits (MySQL allows them).
    }

    // Words: identifiers, keywords, prefixed strings
    if (isIdentStart(c) || isDigit(c)) {
      let j = i + 1;
      while (j < n && isIdent(sql.charCodeAt(j))) j++;
      const next = sql.charCodeAt(j);
      const len = j - i;
      if (next === Ch.Quote) {
        const lc = c | 0x20;
        // E'..' N'..' B'..' X'..' and MySQL's _charset'..' introducer
        if (len === 1 && (lc === 101 || lc === 110 || lc === 98 || lc === 120)) {
          i = skipQuoted(sql, j + 1, n, Ch.Quote, lc === 101 || backslashInPlain);
          literal();
          continue;
        }
        if (c === Ch.Underscore) {
          i = skipQuoted(sql, j + 1, n, Ch.Quote, backslashInPlain);
          literal();
          continue;
        }
      }
      if (len === 1 && (c | 0x20) === 117 && next === Ch.Amp && sql.charCodeAt(j + 1) === Ch.Quote) {
        i = skipQuoted(sql, j + 2, n, Ch.Quote, false); // U&'..'
        literal();
        continue;
      }
      // Only a few short words matter here: NULL TRUE FALSE DEFAULT (literals in lists), IN, VALUE(S).
      let isNullish = false;
      let word = WORD_OTHER;
      if (len <= 7) {
        const lc = c | 0x20;
        if (lc === 110) isNullish = wordIs(sql, i, len, "null");
        else if (lc === 116) isNullish = wordIs(sql, i, len, "true");
        else if (lc === 102) isNullish = wordIs(sql, i, len, "false");
        else if (lc === 100) isNullish = wordIs(sql, i, len, "default");
        else if (lc === 105) word = wordIs(sql, i, len, "in") ? WORD_IN : WORD_OTHER;
        else if (lc === 118 && (wordIs(sql, i, len, "values") || wordIs(sql, i, len, "value")))
          word = WORD_VALUES;
      }
      if (!isNullish) notSimple();
      sep(c);
      for (let k = i; k < j; k++) put(sql.charCodeAt(k));
      lastWord = word;
      valuesRowEnd = -1;
      i = j;
      continue;
    }

    // Dollar: $1 placeholder, $$..$$ / $tag$..$tag$ literal, else itself
    if (c === Ch.Dollar) {
      const d = sql.charCodeAt(i + 1);
      if (isDigit(d)) {
        let j = i + 1;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        sep(c);
        for (let k = i; k < j; k++) put(sql.charCodeAt(k));
        lastWord = WORD_OTHER;
        i = j;
        continue;
      }
      let j = i + 1;
      if (isIdentStart(d)) {
        j++;
        while (j < n && isIdent(sql.charCodeAt(j)) && sql.charCodeAt(j) !== Ch.Dollar) j++;
      }
      if (sql.charCodeAt(j) === Ch.Dollar) {
        const tag = sql.slice(i, j + 1);
        const close = sql.indexOf(tag, j + 1);
        i = close < 0 || close >= n ? n : close + tag.length;
        literal();
        continue;
      }
    }

    // Placeholder
    if (c === Ch.Question) {
      sep(c);
      put(c);
      lastWord = WORD_OTHER;
      i++;
      continue;
    }

    if (c === Ch.LParen) {
      let kind = KIND_NONE;
      if (lastWord === WORD_IN) kind = KIND_IN;
      else if (lastWord === WORD_VALUES) kind = KIND_VALUES_FIRST;
      else if (valuesRowEnd >= 0 && out === valuesRowEnd + 1 && buf[valuesRowEnd] === Ch.Comma) {
        kind = KIND_VALUES_NEXT;
      }
      notSimple();
      sep(c);
      if (depth === framePos.length) growFrames();
      // A continuation row remembers where the first row ended: it is cut back to there.
      framePos[depth] = kind === KIND_VALUES_NEXT ? valuesRowEnd : out;
      frameKind[depth] = kind;
      frameSimple[depth] = kind === KIND_NONE ? 0 : 1;
      if (kind !== KIND_NONE) openSimple++;
      depth++;
      put(c);
      lastWord = WORD_OTHER;
      i++;
      continue;
    }

    if (c === Ch.RParen) {
      sep(c);
      lastWord = WORD_OTHER;
      i++;
      if (depth > 0) {
        depth--;
        if (frameSimple[depth] === 1) {
          openSimple--;
          const kind = frameKind[depth];
          if (kind === KIND_IN) {
            out = framePos[depth]!;
            put(Ch.LParen);
            put(Ch.Dot);
            put(Ch.Dot);
            put(Ch.Dot);
            put(Ch.RParen);
            continue;
          }
          if (kind === KIND_VALUES_NEXT) {
            out = framePos[depth]!;
            valuesRowEnd = out;
            continue;
          }
          put(c);
          valuesRowEnd = out; // KIND_VALUES_FIRST
          continue;
        }
      }
      put(c);
      valuesRowEnd = -1;
      continue;
    }

    // Any other character: operators and punctuation, copied.
    if (c !== Ch.Comma) notSimple();
    sep(c);
    put(c);
    if (c !== Ch.Comma) valuesRowEnd = -1;
    lastWord = WORD_OTHER;
    i++;
  }

  while (out > 0 && (buf[out - 1] === Ch.Space || buf[out - 1] === Ch.Semi)) out--;
  let truncated = false;
  if (out > DIGEST_MAX_LENGTH) {
    out = DIGEST_MAX_LENGTH;
    const last = buf[out - 1]!;
    if (last >= 0xd800 && last <= 0xdbff) out--; // never split a surrogate pair
    truncated = true;
  }
  const text = bufView.toString("utf16le", 0, out * 2);
  return truncated ? `${text}…` : text;
}

/** Emits the separator before a token whose first character is `first`. */
function sep(first: number): void {
  if (out === 0) {
    pendingSpace = false;
    return;
  }
  const prev = buf[out - 1]!;
  if (first === Ch.RParen || first === Ch.Comma) {
    pendingSpace = false;
    return;
  }
  if ((pendingSpace && prev !== Ch.LParen) || prev === Ch.Comma) put(Ch.Space);
  pendingSpace = false;
}

/** A token that is not a literal makes the innermost frame non-collapsible. */
function notSimple(): void {
  if (depth > 0 && frameSimple[depth - 1] === 1) {
    frameSimple[depth - 1] = 0;
    openSimple--;
  }
}

function literal(): void {
  sep(Ch.Question);
  put(Ch.Question);
  lastWord = WORD_OTHER;
}

function growFrames(): void {
  const size = framePos.length * 2;
  const p = new Int32Array(size);
  p.set(framePos);
  framePos = p;
  const s = new Uint8Array(size);
  s.set(frameSimple);
  frameSimple = s;
  const k = new Uint8Array(size);
  k.set(frameKind);
  frameKind = k;
}

/** Index after the closing quote (doubled quotes and, if asked, backslashes escape). */
function skipQuoted(sql: string, i: number, n: number, q: number, backslash: boolean): number {
  while (i < n) {
    const d = sql.charCodeAt(i);
    if (backslash && d === Ch.Backslash) {
      i += 2;
      continue;
    }
    i++;
    if (d === q) {
      if (sql.charCodeAt(i) === q) {
        i++;
        continue;
      }
      return i;
    }
  }
  return n;
}

/** End index of a numeric literal starting at i, or -1 when the token is an identifier. */
function scanNumber(sql: string, i: number, n: number): number {
  let j = i;
  const c0 = sql.charCodeAt(j);
  const c1 = sql.charCodeAt(j + 1) | 0x20;
  if (c0 === Ch.D0 && c1 === 120 && isHex(sql.charCodeAt(j + 2))) {
    j += 2;
    while (j < n && isHex(sql.charCodeAt(j))) j++;
  } else if (
    c0 === Ch.D0 &&
    c1 === 98 &&
    (sql.charCodeAt(j + 2) === Ch.D0 || sql.charCodeAt(j + 2) === Ch.D1)
  ) {
    j += 2;
    while (j < n && (sql.charCodeAt(j) === Ch.D0 || sql.charCodeAt(j) === Ch.D1)) j++;
  } else {
    while (j < n && isDigit(sql.charCodeAt(j))) j++;
    if (sql.charCodeAt(j) === Ch.Dot && !isIdentStart(sql.charCodeAt(j + 1))) {
      j++;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
    }
    if ((sql.charCodeAt(j) | 0x20) === 101) {
      let k = j + 1;
      const s = sql.charCodeAt(k);
      if (s === Ch.Plus || s === Ch.Minus) k++;
      if (isDigit(sql.charCodeAt(k))) {
        j = k;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
      }
    }
  }
  if (j < n && isIdent(sql.charCodeAt(j))) return -1;
  return j;
}
