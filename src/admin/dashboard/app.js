// DBA-GPT dashboard: reads the admin API (PRODUCT.md section 6), follows /api/events (SSE) for live
// errors and resolutions, and polls every few seconds for what has no event (proposals, stats).
// Plain DOM, no framework; every server string is put in the page as text, never as HTML.

const POLL_MS = 5000;
const TOP_SERIES = 5;
const WINDOW_MIN = 60;
const COLORS = ["#4f46e5", "#dc2626", "#16a34a", "#d97706", "#0891b2", "#9333ea"];

const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem("dbagpt-token") || "";
let events = null;
let live = false;
let started = false;

/** Error timestamps per signature for the trend chart: signature → ms[] (last hour). */
const seen = new Map();
const seenKeys = new Set();
/** signature → errorType, for legends */
const typeOf = new Map();
let chart = null;
let chartKey = "";

// ---------------------------------------------------------------- DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function setText(id, text) {
  const el = $(id);
  if (el) el.textContent = text;
}

function badge(text, cls) {
  return h("span", { class: `badge ${cls || ""}`, text });
}

function typeBadge(t) {
  return badge(t || "UNKNOWN", `t-${String(t || "unknown").toLowerCase()}`);
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const now = new Date();
  const time = d.toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
  return d.toDateString() === now.toDateString()
    ? time
    : `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

function fmtDuration(s) {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function rateHealth(rate) {
  if (rate > 100) return "critical";
  if (rate > 10) return "warning";
  return "healthy";
}

// ---------------------------------------------------------------- API

class Unavailable extends Error {}
class Unauthorized extends Error {}

async function api(path, init = {}) {
  const headers = { accept: "application/json", ...(init.headers || {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    ...init,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (res.status === 401) throw new Unauthorized("admin token required");
  if (res.status === 404 && (init.method || "GET") === "GET") throw new Unavailable("not available");
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new Error(data?.error || `HTTP ${res.status}`);
  return data;
}

/** Run a section loader; a 404 shows "not available" in the section instead of breaking the page. */
async function section(load, fail) {
  try {
    await load();
    return true;
  } catch (e) {
    if (e instanceof Unauthorized) throw e;
    fail(e instanceof Unavailable ? "not available on this proxy" : `could not load: ${e.message}`);
    return false;
  }
}

function showUnavailable(bodyId, emptyId, message) {
  const body = $(bodyId);
  if (body) body.replaceChildren();
  const empty = $(emptyId);
  if (empty) {
    empty.classList.remove("hidden");
    empty.textContent = message;
    empty.classList.add("unavailable");
  }
}

// ---------------------------------------------------------------- status + analytics

function renderStats(s) {
  const dbs = s.databases || [];
  const conns = dbs.reduce((n, d) => n + (d.connections || 0), 0);
  setText("db-summary", `${dbs.length} database${dbs.length === 1 ? "" : "s"}`);
  setText("db-connections", `${conns} client connection${conns === 1 ? "" : "s"} through the proxy`);
  $("db-list").replaceChildren(
    ...dbs.map((d) =>
      h(
        "li",
        { title: d.reason || "answering" },
        h("span", { class: `dot small ${d.healthy ? "healthy" : "critical"}` }),
        h("strong", { text: d.protocol === "postgres" ? "PostgreSQL" : "MySQL" }),
        h("span", { class: "mono", text: `${d.listen} → ${d.upstream}${d.embedded ? " (embedded)" : ""}` }),
      ),
    ),
  );
  const protoSelect = $("chat-protocol");
  const have = new Set(dbs.map((d) => d.protocol));
  for (const opt of protoSelect.options) opt.disabled = have.size > 0 && !have.has(opt.value);
  if (protoSelect.selectedOptions[0]?.disabled) {
    const first = [...protoSelect.options].find((o) => !o.disabled);
    if (first) protoSelect.value = first.value;
  }

  const ai = s.ai || {};
  const aiEl = $("ai-status");
  const aiWord =
    { ready: "✓ Ready", unreachable: "Unreachable", disabled: "Disabled" }[ai.status] || ai.status || "?";
  aiEl.textContent = aiWord;
  aiEl.className = `card-value ${ai.status === "ready" ? "ok-text" : ai.status === "unreachable" ? "warn-text" : "muted"}`;
  setText(
    "ai-model",
    ai.status === "ready"
      ? `Ollama · ${ai.model}`
      : `${ai.model ? `${ai.model} · ` : ""}knowledge base answers${ai.status === "unreachable" ? " until Ollama answers" : ""}`,
  );

  const mon = s.monitoring || {};
  const monEl = $("monitoring");
  monEl.textContent = mon.active ? "✓ Active" : "Inactive";
  monEl.className = `card-value ${mon.active ? "ok-text" : "muted"}`;
  setText(
    "monitoring-note",
    `${mon.errorsSeen ?? 0} errors seen · up ${fmtDuration(mon.uptimeSeconds ?? 0)}`,
  );

  const ar = s.autoResolution || {};
  const arEl = $("autores");
  arEl.textContent = ar.active ? "✓ Active" : "Suggest only";
  arEl.className = `card-value ${ar.active ? "ok-text" : "warn-text"}`;
  const policy = ar.policy || {};
  const applied = Object.entries(policy).filter(([k, v]) => k !== "default" && v === "apply").length;
  setText(
    "autores-note",
    `${applied} error type${applied === 1 ? "" : "s"} resolved inline · default ${policy.default || "?"}`,
  );

  setText("stat-patterns", String(s.patterns ?? 0));
  setText("stat-resolutions", String(s.totalResolutions ?? 0));
  const rate = s.errorRatePerHour ?? 0;
  const rh = rateHealth(rate);
  setText("stat-rate", String(rate));
  setText("rate-word", `(${rh})`);
  $("rate-dot").className = `dot ${rh}`;
  $("stat-rate-box").className = `stat ${rh}`;
  const health = s.health || "healthy";
  setText("stat-health", health.charAt(0).toUpperCase() + health.slice(1));
  $("health-dot").className = `dot ${health}`;
  $("stat-health-box").className = `stat ${health}`;
  const pill = $("health-pill");
  pill.className = `pill pill-${health}`;
  pill.textContent = health;

  renderStrategyRates(ar.byStrategy || {});
}

function renderStrategyRates(byStrategy) {
  const rows = Object.entries(byStrategy).sort((a, b) => b[1].attempted - a[1].attempted);
  $("strategy-rates").replaceChildren(
    ...rows.map(([name, r]) => {
      const pct =
        r.successRate === null || r.successRate === undefined ? null : Math.round(r.successRate * 100);
      const cls = pct === null ? "" : pct >= 80 ? "" : pct >= 50 ? "mid" : "low";
      return h(
        "div",
        { class: "rate-row" },
        h("span", { class: "badge", text: name }),
        h("div", { class: `rate-bar ${cls}` }, h("span", { style: `width:${pct ?? 0}%` })),
        h("span", { class: "rate-num", text: pct === null ? "–" : `${pct}% of ${r.attempted}` }),
      );
    }),
  );
}

// ---------------------------------------------------------------- errors, patterns, resolutions

let lastErrors = [];

function renderErrors(list, freshAt) {
  lastErrors = list.slice(0, 10);
  $("errors-empty").classList.toggle("hidden", lastErrors.length > 0);
  $("errors-empty").classList.remove("unavailable");
  $("errors-empty").textContent = "No errors yet.";
  $("errors-body").replaceChildren(
    ...lastErrors.map((e) =>
      h(
        "tr",
        { class: freshAt && e.at === freshAt ? "fresh" : "", "data-signature": e.signature },
        h("td", { class: "time", text: fmtTime(e.at) }),
        h(
          "td",
          null,
          typeBadge(e.errorType),
          e.simulated ? h("div", { class: "muted", text: "simulated" }) : null,
        ),
        h(
          "td",
          { class: "msg" },
          h("span", { class: "badge proto", text: e.protocol === "postgres" ? "pg" : "my" }),
          " ",
          e.message,
        ),
        h("td", { class: "sig", text: e.signature }),
      ),
    ),
  );
}

function renderPatterns(list) {
  $("patterns-empty").classList.toggle("hidden", list.length > 0);
  $("patterns-empty").classList.remove("unavailable");
  $("patterns-empty").textContent = "No patterns learned yet.";
  for (const p of list) typeOf.set(p.signature, p.errorType);
  $("patterns-body").replaceChildren(
    ...list
      .slice(0, 15)
      .map((p) =>
        h(
          "tr",
          { "data-signature": p.signature, title: p.template || p.message || "" },
          h("td", { class: "sig", text: p.signature }),
          h("td", null, typeBadge(p.errorType)),
          h("td", { class: "num", text: String(p.count) }),
          h("td", null, badge(p.strategy || "–")),
          h("td", { class: "time hide-phone", text: fmtTime(p.lastSeen) }),
        ),
      ),
  );
}

function renderResolutions(list) {
  $("resolutions-empty").classList.toggle("hidden", list.length > 0);
  $("resolutions-empty").classList.remove("unavailable");
  $("resolutions-empty").textContent = "No resolutions yet.";
  $("resolutions-body").replaceChildren(
    ...list
      .slice(0, 12)
      .map((r) =>
        h(
          "tr",
          { title: r.reason || "" },
          h("td", { class: "time", text: fmtTime(r.at) }),
          h("td", null, badge(r.strategy || "–")),
          h("td", { class: "msg" }, typeBadge(r.errorType), " ", r.action || ""),
          h("td", null, badge(r.outcome || "?", `o-${r.outcome}`)),
        ),
      ),
  );
}

// ---------------------------------------------------------------- proposals

function renderProposals(list) {
  $("proposals-empty").classList.toggle("hidden", list.length > 0);
  $("proposals-empty").classList.remove("unavailable");
  $("proposals-empty").textContent = "No proposals.";
  const order = { pending: 0, failed: 1, applied: 2, rejected: 3 };
  const sorted = [...list].sort((a, b) => (order[a.status] ?? 9) - (order[b.status] ?? 9)).slice(0, 12);
  $("proposals-list").replaceChildren(
    ...sorted.map((p) => {
      const actions =
        p.status === "pending"
          ? h(
              "div",
              { class: "proposal-actions" },
              h(
                "button",
                {
                  class: "btn btn-ok",
                  type: "button",
                  "data-action": "approve",
                  onclick: () => decide(p.id, "approve"),
                },
                "Approve",
              ),
              h(
                "button",
                {
                  class: "btn btn-bad",
                  type: "button",
                  "data-action": "reject",
                  onclick: () => decide(p.id, "reject"),
                },
                "Reject",
              ),
            )
          : null;
      const result =
        p.result !== null && p.result !== undefined && p.result !== ""
          ? h("div", {
              class: `proposal-result ${p.status === "applied" ? "ok" : p.status === "failed" ? "bad" : ""}`,
              text: `Result: ${p.result}`,
            })
          : null;
      return h(
        "li",
        { class: "proposal", "data-id": p.id, "data-status": p.status },
        h(
          "div",
          { class: "proposal-head" },
          h("span", { class: "proposal-title", text: p.title }),
          badge(p.status, `s-${p.status}`),
        ),
        h(
          "div",
          { class: "meta muted" },
          typeBadge(p.errorType),
          " ",
          badge(p.protocol, "proto"),
          " ",
          h("span", { class: "sig", text: p.signature }),
          ` · ${fmtTime(p.createdAt)}`,
        ),
        h("pre", { text: p.sql }),
        actions,
        result,
      );
    }),
  );
}

async function decide(id, action) {
  const li = document.querySelector(`.proposal[data-id="${CSS.escape(id)}"]`);
  for (const b of li ? li.querySelectorAll("button") : []) b.disabled = true;
  try {
    await api(`/api/proposals/${encodeURIComponent(id)}/${action}`, { method: "POST", body: {} });
  } catch (e) {
    if (e instanceof Unauthorized) return askToken();
    if (li) li.append(h("div", { class: "proposal-result bad", text: `Could not ${action}: ${e.message}` }));
  }
  await loadProposals();
  void loadStatsAndHistory();
}

// ---------------------------------------------------------------- trend chart

function noteError(e) {
  const key = `${e.at}|${e.signature}|${e.message}`;
  if (seenKeys.has(key)) return;
  seenKeys.add(key);
  const t = Date.parse(e.at);
  if (Number.isNaN(t)) return;
  typeOf.set(e.signature, e.errorType);
  let list = seen.get(e.signature);
  if (!list) {
    list = [];
    seen.set(e.signature, list);
  }
  list.push(t);
}

function chartData() {
  const now = Date.now();
  const end = Math.floor(now / 60000) * 60000;
  const hourAgo = end - (WINDOW_MIN - 1) * 60000;
  const totals = [];
  let earliest = end;
  for (const [sig, times] of seen) {
    const recent = times.filter((t) => t >= hourAgo);
    for (const t of recent) earliest = Math.min(earliest, t);
    seen.set(sig, recent);
    if (recent.length === 0) {
      seen.delete(sig);
      continue;
    }
    totals.push([sig, recent]);
  }
  // from a few minutes before the first error of the hour, at least 15 minutes wide
  const start = Math.max(
    hourAgo,
    Math.min(Math.floor(earliest / 60000) * 60000 - 5 * 60000, end - 14 * 60000),
  );
  const xs = [];
  for (let t = start; t <= end; t += 60000) xs.push(t / 1000);
  totals.sort((a, b) => b[1].length - a[1].length);
  const top = totals.slice(0, TOP_SERIES);
  const series = top.map(([, times]) => {
    const buckets = new Array(xs.length).fill(0);
    for (const t of times) {
      const i = Math.floor((t - start) / 60000);
      if (i >= 0 && i < buckets.length) buckets[i] += 1;
    }
    return buckets;
  });
  return { xs, sigs: top.map(([s]) => s), series };
}

function drawChart() {
  const box = $("trend-chart");
  const { xs, sigs, series } = chartData();
  $("trend-empty").classList.toggle("hidden", sigs.length > 0);
  box.classList.toggle("hidden", sigs.length === 0);
  if (sigs.length === 0 || typeof uPlot === "undefined") {
    if (chart) {
      chart.destroy();
      chart = null;
      chartKey = "";
    }
    return;
  }
  const key = sigs.join(",");
  const data = [xs, ...series];
  const width = Math.max(280, box.clientWidth);
  const height = window.innerWidth < 600 ? 200 : 240;
  if (chart && key === chartKey) {
    chart.setData(data);
    return;
  }
  if (chart) chart.destroy();
  chartKey = key;
  // uPlot is the global its own script tag defines
  chart = new uPlot(
    {
      width,
      height,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        { stroke: "#64748b", grid: { stroke: "#f1f5f9" } },
        { stroke: "#64748b", grid: { stroke: "#f1f5f9" }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
      ],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      series: [
        {},
        ...sigs.map((s, i) => ({
          label: `${typeOf.get(s) || "?"} ${s}`,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          fill: `${COLORS[i % COLORS.length]}14`,
          points: { show: true, size: 4 },
        })),
      ],
    },
    data,
    box,
  );
}

new ResizeObserver(() => {
  if (chart)
    chart.setSize({
      width: Math.max(280, $("trend-chart").clientWidth),
      height: window.innerWidth < 600 ? 200 : 240,
    });
}).observe($("trend-chart"));

// ---------------------------------------------------------------- loading

async function loadStatsAndHistory() {
  await Promise.all([
    section(
      async () => renderStats(await api("/api/stats")),
      (m) => setText("db-summary", m),
    ),
    section(
      async () => renderResolutions((await api("/api/resolutions?limit=50")).resolutions || []),
      (m) => showUnavailable("resolutions-body", "resolutions-empty", `Resolution history ${m}.`),
    ),
  ]);
}

async function loadPatterns() {
  await section(
    async () => renderPatterns((await api("/api/patterns?limit=50")).patterns || []),
    (m) => showUnavailable("patterns-body", "patterns-empty", `Patterns ${m}.`),
  );
}

let errorsLoaded = false;

async function loadErrors() {
  await section(
    async () => {
      // the whole ring once (the last hour feeds the trend chart), then only the newest
      const list = (await api(`/api/errors?limit=${errorsLoaded ? 50 : 1000}`)).errors || [];
      errorsLoaded = true;
      for (const e of list) noteError(e);
      renderErrors(list);
      drawChart();
    },
    (m) => showUnavailable("errors-body", "errors-empty", `Recent errors ${m}.`),
  );
}

async function loadProposals() {
  await section(
    async () => renderProposals((await api("/api/proposals?limit=50")).proposals || []),
    (m) => showUnavailable("proposals-list", "proposals-empty", `Proposals ${m}.`),
  );
}

async function refreshAll() {
  await Promise.all([loadStatsAndHistory(), loadPatterns(), loadErrors(), loadProposals()]);
}

let pending = null;
function soon(fn) {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    fn().catch(onFailure);
  }, 250);
}

function onFailure(e) {
  if (e instanceof Unauthorized) askToken();
}

// ---------------------------------------------------------------- live stream

function setLive(state) {
  const el = $("live");
  el.className = `live live-${state}`;
  el.textContent = state === "on" ? "live" : state === "poll" ? "polling" : "offline";
}

function connectEvents() {
  if (events || typeof EventSource === "undefined") return;
  const url = token ? `/api/events?token=${encodeURIComponent(token)}` : "/api/events";
  events = new EventSource(url);
  events.addEventListener("open", () => {
    live = true;
    setLive("on");
  });
  events.addEventListener("error", () => {
    live = false;
    setLive("poll");
  });
  events.addEventListener("error-event", (m) => {
    const e = JSON.parse(m.data);
    noteError(e);
    renderErrors([e, ...lastErrors.filter((x) => !(x.at === e.at && x.signature === e.signature))], e.at);
    drawChart();
    soon(async () => {
      await Promise.all([loadPatterns(), loadStatsAndHistory(), loadProposals()]);
    });
  });
  events.addEventListener("resolution", () => {
    soon(async () => {
      await Promise.all([loadPatterns(), loadStatsAndHistory(), loadProposals()]);
    });
  });
}

// ---------------------------------------------------------------- token

function askToken(refused = false) {
  const dlg = $("token-dialog");
  $("token-error").classList.toggle("hidden", !refused);
  if (!dlg.open) dlg.showModal();
  $("token-input").focus();
}

$("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  token = $("token-input").value.trim();
  sessionStorage.setItem("dbagpt-token", token);
  $("token-dialog").close();
  if (events) {
    events.close();
    events = null;
  }
  void start();
});

$("token-button").addEventListener("click", () => askToken());

// ---------------------------------------------------------------- simulate

for (const chip of $("sim-presets").querySelectorAll(".chip")) {
  chip.addEventListener("click", () => {
    $("sim-protocol").value = chip.dataset.p;
    $("sim-code").value = chip.dataset.c;
    $("sim-message").value = chip.dataset.m;
  });
}

$("simulate-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = $("simulate-result");
  const body = {
    protocol: $("sim-protocol").value,
    code: $("sim-code").value.trim(),
    message: $("sim-message").value.trim(),
  };
  const st = $("sim-statement").value.trim();
  if (st) body.statement = st;
  out.classList.remove("hidden");
  try {
    const r = await api("/api/simulate", { method: "POST", body });
    const res = r.resolution || {};
    out.replaceChildren(
      h(
        "dl",
        null,
        h("dt", { text: "Error type" }),
        h("dd", null, typeBadge(r.event?.errorType)),
        h("dt", { text: "Signature" }),
        h("dd", { class: "sig", text: r.event?.signature || "" }),
        h("dt", { text: "Seen" }),
        h("dd", { text: `${r.pattern?.count ?? 1} time${r.pattern?.count === 1 ? "" : "s"}` }),
        h("dt", { text: "Strategy" }),
        h("dd", null, badge(r.event?.strategy || res.strategy || "–")),
        h("dt", { text: "Would do" }),
        h("dd", { text: res.action || "–" }),
        h("dt", { text: "Outcome" }),
        h("dd", null, badge(res.outcome || "?", `o-${res.outcome}`), ` ${res.reason || ""}`),
      ),
    );
  } catch (e) {
    if (e instanceof Unauthorized) return askToken();
    out.replaceChildren(h("div", { class: "error-text", text: e.message }));
  }
});

// ---------------------------------------------------------------- chat

let chatMode = "database";

for (const seg of document.querySelectorAll(".seg")) {
  seg.addEventListener("click", () => {
    chatMode = seg.dataset.mode;
    for (const s of document.querySelectorAll(".seg")) {
      s.classList.toggle("active", s === seg);
      s.setAttribute("aria-pressed", String(s === seg));
    }
    $("chat-protocol").classList.toggle("hidden", chatMode !== "database");
    $("chat-input").placeholder =
      chatMode === "database"
        ? "Ask about your database…"
        : "Ask about a database concept or paste an error…";
  });
}

for (const chip of document.querySelectorAll("#chat-hint .chip")) {
  chip.addEventListener("click", () => {
    $("chat-input").value = chip.dataset.q;
    $("chat-form").requestSubmit();
  });
}

function resultTable(columns, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table result-table" },
      h("thead", null, h("tr", null, ...columns.map((c) => h("th", { text: c })))),
      h(
        "tbody",
        null,
        ...rows.map((r) =>
          h(
            "tr",
            null,
            ...r.map((v) =>
              h("td", { text: v === null ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v) }),
            ),
          ),
        ),
      ),
    ),
  );
}

function chatReply(r) {
  const sourceWord =
    { llm: "LLM", intent: "built-in intent", "knowledge-base": "knowledge base" }[r.source] || r.source;
  return h(
    "div",
    {
      class: `chat-msg bot${r.refused ? " refused" : ""}`,
      "data-source": r.source,
      "data-refused": r.refused ? "true" : "false",
    },
    h(
      "div",
      { class: "meta" },
      badge(sourceWord),
      r.protocol && r.mode === "database"
        ? badge(r.protocol === "postgres" ? "PostgreSQL" : "MySQL", "proto")
        : null,
      r.refused ? badge("refused", "o-failed") : null,
      r.durationMs !== undefined ? h("span", { text: `${r.durationMs} ms` }) : null,
    ),
    h("div", { class: "answer", text: r.answer }),
    r.sql ? h("pre", { class: "sql", text: r.sql }) : null,
    r.columns && r.rows ? resultTable(r.columns, r.rows) : null,
  );
}

$("chat-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("chat-input");
  const message = input.value.trim();
  if (!message) return;
  const log = $("chat-log");
  log.append(h("div", { class: "chat-msg user", text: message }));
  input.value = "";
  const send = $("chat-send");
  send.disabled = true;
  const waiting = h("div", { class: "chat-msg bot muted", text: "…" });
  log.append(waiting);
  log.scrollTop = log.scrollHeight;
  try {
    const body = { mode: chatMode, message };
    if (chatMode === "database") body.protocol = $("chat-protocol").value;
    const r = await api("/api/chat", { method: "POST", body });
    waiting.replaceWith(chatReply(r));
  } catch (e) {
    if (e instanceof Unauthorized) {
      waiting.remove();
      return askToken();
    }
    waiting.replaceWith(
      h("div", {
        class: "chat-msg bot refused",
        text: e instanceof Unavailable ? "Chat is not available on this proxy." : e.message,
      }),
    );
  } finally {
    send.disabled = false;
    log.scrollTop = log.scrollHeight;
  }
});

// ---------------------------------------------------------------- start

async function start() {
  try {
    await refreshAll();
  } catch (e) {
    if (e instanceof Unauthorized) {
      askToken(token !== "");
      return;
    }
    throw e;
  }
  $("token-button").classList.toggle("hidden", token === "");
  connectEvents();
  if (!live) setLive("poll");
  if (!started) {
    started = true;
    setInterval(() => {
      refreshAll().catch(onFailure);
      drawChart();
    }, POLL_MS);
  }
}

void start();
