#!/usr/bin/env node
// Regenerates src/errors/data/postgres-sqlstates.json and src/errors/data/mysql-errors.json
// from sources installed on this machine (facts from the servers' and registry packages'
// own lists, kept in the repo so nothing is parsed at run time):
//
//   PostgreSQL  /usr/share/postgresql/<ver>/errcodes.txt           (postgresql server package)
//   MariaDB     /usr/share/mysql/errmsg-utf8.txt                     (mariadb-server: names, SQLSTATEs, English texts)
//               /usr/include/mariadb/mysqld_error.h                  (libmariadb-dev: ER_* numbers, cross-check)
//   MySQL 8     node_modules/mysql2/lib/constants/errors.js          (mysql2: numbers and names)
//
// Usage: node scripts/gen-error-lists.mjs [--pg errcodes.txt] [--errmsg errmsg-utf8.txt]
//        [--header mysqld_error.h] [--mysql2 errors.js]
// Missing sources are an error: the script never writes a partial list.

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "src/errors/data");

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function findPgErrcodes() {
  const base = "/usr/share/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  // Prefer 15 (the server this project is tested against), else the newest installed.
  const ordered = versions.includes("15") ? ["15", ...versions.filter((v) => v !== "15")] : versions;
  for (const v of ordered) {
    const p = join(base, v, "errcodes.txt");
    if (existsSync(p)) return p;
  }
  return undefined;
}

function need(path, what, hint) {
  if (!path || !existsSync(path)) {
    console.error(`gen-error-lists: ${what} not found (${path ?? "no path"}). ${hint}`);
    process.exit(1);
  }
  return path;
}

// ---------------------------------------------------------------- PostgreSQL
function parsePostgres(text) {
  const byCode = new Map();
  const classNames = new Map();
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (line === "" || line.startsWith("#")) continue;
    const sec = /^Section: Class (\w\w) - (.*)$/.exec(line);
    if (sec) {
      classNames.set(sec[1], sec[2].replace(/\s*\(.*\)\s*$/, ""));
      continue;
    }
    const f = line.split(/\s+/);
    // sqlstate  E/W/S  ERRCODE_MACRO  [spec_name]
    if (f.length < 3 || !/^[0-9A-Z]{5}$/.test(f[0])) continue;
    const [code, , macro, condition] = f;
    const prev = byCode.get(code);
    // A code listed twice (an alias macro without spec name): keep the named entry.
    if (prev && !condition) continue;
    byCode.set(code, {
      code,
      condition: condition ?? macro.replace(/^ERRCODE_/, "").toLowerCase(),
      class: code.slice(0, 2),
      className: "",
    });
  }
  // Some aliases sit in another class's section (34000 appears under class 42): the
  // class is always the first two characters of the code.
  for (const e of byCode.values()) {
    const name = classNames.get(e.class);
    if (name === undefined) throw new Error(`errcodes.txt: ${e.code} has no class section`);
    e.className = name;
  }
  return [...byCode.values()];
}

// ---------------------------------------------------------------- MariaDB
function parseErrmsg(text) {
  const out = [];
  let next = -1;
  let cur;
  for (const line of text.split("\n")) {
    let m = /^(?:start|skip-to)-error-number\s+(\d+)/.exec(line);
    if (m) {
      next = Number(m[1]);
      continue;
    }
    m = /^((?:ER|WARN)_\w+)(?:\s+(\w{5}))?/.exec(line);
    if (m) {
      if (next < 0) throw new Error("errmsg-utf8.txt: entry before start-error-number");
      cur = { code: next++, name: m[1], sqlstate: m[2], message: undefined };
      out.push(cur);
      continue;
    }
    m = /^\s+eng\s+"(.*)"\s*$/.exec(line);
    if (m && cur && cur.message === undefined) cur.message = m[1].replace(/\\"/g, '"');
  }
  return out;
}

function parseHeader(text) {
  const byName = new Map();
  for (const m of text.matchAll(/^#define\s+((?:ER|WARN)_\w+)\s+(\d+)\s*$/gm)) {
    if (m[1] === "ER_ERROR_FIRST" || m[1] === "ER_ERROR_LAST") continue;
    byName.set(m[1], Number(m[2]));
  }
  return byName;
}

// ---------------------------------------------------------------- MySQL 8 (mysql2)
function parseMysql2(path) {
  const mod = createRequire(import.meta.url)(path);
  const byCode = new Map();
  for (const [k, v] of Object.entries(mod)) {
    if (typeof v !== "number" || !/^[A-Z]/.test(k)) continue;
    // mysql2 also keeps a reverse map number -> name; the reverse map names the canonical entry.
    const canonical = mod[v];
    if (typeof canonical === "string" && canonical !== k) continue;
    byCode.set(v, k);
  }
  return byCode;
}

// ---------------------------------------------------------------- main
const pgPath = need(arg("--pg") ?? findPgErrcodes(), "PostgreSQL errcodes.txt", "Install postgresql.");
const errmsgPath = need(
  arg("--errmsg") ?? "/usr/share/mysql/errmsg-utf8.txt",
  "MariaDB errmsg-utf8.txt",
  "Install mariadb-server.",
);
const headerPath = need(
  arg("--header") ?? "/usr/include/mariadb/mysqld_error.h",
  "MariaDB mysqld_error.h",
  "Run: apt-get install -y libmariadb-dev",
);
const mysql2Path = need(
  arg("--mysql2") ?? join(root, "node_modules/mysql2/lib/constants/errors.js"),
  "mysql2 errors.js",
  "Run: npm ci",
);

const pg = parsePostgres(readFileSync(pgPath, "utf8"));

const maria = parseErrmsg(readFileSync(errmsgPath, "utf8"));
const header = parseHeader(readFileSync(headerPath, "utf8"));
let mismatches = 0;
for (const e of maria) {
  const h = header.get(e.name);
  if (h !== undefined && h !== e.code) {
    console.error(`MariaDB ${e.name}: errmsg says ${e.code}, mysqld_error.h says ${h}`);
    mismatches++;
  }
}
const mariaNames = new Set(maria.map((e) => e.name));
for (const [name, code] of header) {
  if (!mariaNames.has(name)) {
    // Present in the header only: keep it (number and name are still facts).
    maria.push({ code, name, sqlstate: undefined, message: undefined });
  }
}
if (mismatches > 0) {
  console.error(`gen-error-lists: ${mismatches} numbering mismatches between errmsg-utf8.txt and the header`);
  process.exit(1);
}

const mysql = parseMysql2(mysql2Path);

// Merge: one entry per (code, name); an entry known to both servers lists both flavors.
const merged = new Map();
for (const e of maria) {
  const key = `${e.code}\0${e.name}`;
  merged.set(key, {
    code: e.code,
    name: e.name,
    sqlstate: e.sqlstate,
    flavors: ["mariadb"],
    message: e.message,
  });
}
for (const [code, name] of mysql) {
  const key = `${code}\0${name}`;
  const m = merged.get(key);
  if (m) m.flavors = ["mysql", "mariadb"];
  else merged.set(key, { code, name, sqlstate: undefined, flavors: ["mysql"], message: undefined });
}
const mysqlList = [...merged.values()].sort((a, b) => a.code - b.code || a.name.localeCompare(b.name));

// One object per line keeps the files diffable; objects too wide for the formatter's
// lineWidth (110) are written one property a line, as Biome would print them.
function entries(o) {
  const parts = [];
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    const val = Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(", ")}]` : JSON.stringify(v);
    parts.push(`${JSON.stringify(k)}: ${val}`);
  }
  return parts;
}

function write(file, rows) {
  const out = rows.map((r, i) => {
    const comma = i === rows.length - 1 ? "" : ",";
    const parts = entries(r);
    const flat = `  { ${parts.join(", ")} }${comma}`;
    if (flat.length <= 110) return flat;
    return `  {\n${parts.map((p) => `    ${p}`).join(",\n")}\n  }${comma}`;
  });
  writeFileSync(join(outDir, file), `[\n${out.join("\n")}\n]\n`);
  console.log(`wrote src/errors/data/${file}: ${rows.length} entries`);
}

write("postgres-sqlstates.json", pg);
write(
  "mysql-errors.json",
  mysqlList.map(({ code, name, sqlstate, flavors }) => ({ code, name, sqlstate, flavors })),
);
// English message formats (printf-style) from MariaDB, separate so the code list stays compact.
write(
  "mariadb-messages.json",
  mysqlList
    .filter((e) => e.message !== undefined && e.flavors.includes("mariadb"))
    .map(({ code, message }) => ({ code, message })),
);
