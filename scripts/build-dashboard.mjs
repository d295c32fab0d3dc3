#!/usr/bin/env node
// Builds the dashboard into dist/dashboard: the page (index.html, app.js, styles.css from
// src/admin/dashboard) and the chart library (uPlot) from node_modules, so the proxy serves
// files only — nothing is built at runtime. Comments and indentation are stripped from the
// CSS; the JS is copied as written (it is small and readable in the browser's tools).
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src/admin/dashboard");
const out = join(root, process.argv[2] ?? "dist/dashboard");
const require = createRequire(join(root, "package.json"));
const uplotDir = dirname(require.resolve("uplot/package.json"));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const minifyCss = (css) =>
  css
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\s*\n\s*/g, "\n")
    .replace(/\s*([{};,>])\s*/g, "$1")
    .replace(/\n+/g, " ")
    .trim();

writeFileSync(join(out, "styles.css"), minifyCss(readFileSync(join(src, "styles.css"), "utf8")));
copyFileSync(join(src, "index.html"), join(out, "index.html"));
copyFileSync(join(src, "app.js"), join(out, "app.js"));
copyFileSync(join(uplotDir, "dist/uPlot.iife.min.js"), join(out, "uplot.min.js"));
copyFileSync(join(uplotDir, "dist/uPlot.min.css"), join(out, "uplot.min.css"));
copyFileSync(join(uplotDir, "LICENSE"), join(out, "uplot.LICENSE.txt"));

console.log(`dashboard built into ${out}`);
