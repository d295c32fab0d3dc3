import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { type Browser, type ConsoleMessage, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestProxy, type TestProxy } from "../support/proxy.js";
import { MYSQL_URL, psqlDirect, runCommand } from "../support/servers.js";

/**
 * The dashboard in a real browser (Debian chromium driven by playwright-core) against an in-process
 * proxy in front of the real PostgreSQL and MariaDB.
 */

const ARTIFACTS = join(process.cwd(), "test-artifacts");
const MISSING = `dbagpt_dash_missing_${process.pid}`;
const HEAL = `dbagpt_dash_heal_${process.pid}`;
const PROBE = "dbagpt_dash_probe";
const USERS = "users";

let proxy: TestProxy;
let browser: Browser;
let page: Page;
let my: mysql.Connection;
const consoleErrors: string[] = [];
const createdUsers = { pg: false, my: false };

async function pgQuery(sql: string): Promise<{ code?: string }> {
  const c = new pg.Client({ connectionString: proxy.pgUrl() });
  await c.connect();
  try {
    await c.query(sql);
    return {};
  } catch (e) {
    return { code: (e as { code?: string }).code };
  } finally {
    await c.end();
  }
}

function watchConsole(p: Page): void {
  p.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  p.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
}

beforeAll(async () => {
  // CI builds before testing; a bare checkout gets the page built here
  if (!existsSync(join(process.cwd(), "dist/dashboard/index.html"))) {
    const r = await runCommand(process.execPath, ["scripts/build-dashboard.mjs"]);
    if (r.status !== 0) throw new Error(`dashboard build failed: ${r.stderr}`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  psqlDirect(`DROP TABLE IF EXISTS ${MISSING}; DROP TABLE IF EXISTS ${HEAL}`);
  psqlDirect(`DROP TABLE IF EXISTS ${PROBE}; CREATE TABLE ${PROBE} (id int)`);
  createdUsers.pg = psqlDirect("SELECT to_regclass('public.users') IS NULL") === "t";
  if (createdUsers.pg) psqlDirect(`CREATE TABLE ${USERS} (id int PRIMARY KEY, name text)`);
  my = await mysql.createConnection(MYSQL_URL);
  await my.query(`DROP TABLE IF EXISTS ${PROBE}`);
  await my.query(`CREATE TABLE ${PROBE} (id INT)`);
  const [rows] = await my.query(
    "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'test' AND table_name = 'users'",
  );
  createdUsers.my = (rows as { n: number }[])[0]?.n === 0;
  if (createdUsers.my) await my.query(`CREATE TABLE ${USERS} (id INT PRIMARY KEY, name VARCHAR(20))`);

  proxy = await startTestProxy(
    (c) => {
      c.chat.postgres.database = "test";
      c.chat.mysql.database = "test";
      c.resolution.policy.TABLE_NOT_FOUND = "suggest";
      c.resolution.schemaTemplates.postgres = {
        [HEAL]: `CREATE TABLE ${HEAL} (id serial PRIMARY KEY, note text)`,
      };
    },
    { mysql: true },
  );
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watchConsole(page);
});

afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  psqlDirect(`DROP TABLE IF EXISTS ${MISSING}; DROP TABLE IF EXISTS ${HEAL}; DROP TABLE IF EXISTS ${PROBE}`);
  if (createdUsers.pg) psqlDirect(`DROP TABLE IF EXISTS ${USERS}`);
  await my?.query(`DROP TABLE IF EXISTS ${PROBE}`);
  if (createdUsers.my) await my?.query(`DROP TABLE IF EXISTS ${USERS}`);
  await my?.end();
});

describe("dashboard", () => {
  it("loads with its status, analytics and live stream, and no console errors", async () => {
    await page.goto(`${proxy.admin}/`);
    await page.locator("#live.live-on").waitFor();
    await page.waitForFunction(() =>
      /^\d+$/.test(document.getElementById("stat-patterns")?.textContent ?? ""),
    );
    expect(await page.locator("#db-summary").textContent()).toBe("2 databases");
    expect(await page.locator("#db-list li").count()).toBe(2);
    expect(await page.locator("#ai-status").textContent()).toBe("Disabled");
    expect(await page.locator("#monitoring").textContent()).toMatch(/Active/);
    expect(await page.locator("#health-pill").textContent()).toBe("healthy");
    expect(await page.locator("#rate-dot").getAttribute("class")).toContain("healthy");
    expect(consoleErrors).toEqual([]);
  });

  it("shows a real client error in recent errors and the pattern list without a reload", async () => {
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    expect((await pgQuery(`SELECT * FROM ${MISSING}`)).code).toBe("42P01");
    const row = page.locator("#errors-body tr", { hasText: MISSING });
    await row.waitFor();
    expect(await row.locator(".badge", { hasText: "TABLE_NOT_FOUND" }).count()).toBe(1);
    const signature = await row.getAttribute("data-signature");
    expect(signature).toMatch(/^[0-9a-f]{12}$/);
    expect(await row.locator(".sig").textContent()).toBe(signature);
    const pattern = page.locator(`#patterns-body tr[data-signature="${signature}"]`);
    await pattern.waitFor();
    expect(await pattern.locator("td.num").textContent()).toBe("1");
    // the trend chart draws the new pattern
    await page.locator("#trend-chart canvas").waitFor();
    expect(await page.locator("#trend-chart .u-legend").textContent()).toContain(signature);
    // a second occurrence raises the count in place
    expect((await pgQuery(`SELECT id FROM ${MISSING}`)).code).toBe("42P01");
    await page.waitForFunction(
      (sig) =>
        document.querySelector(`#patterns-body tr[data-signature="${sig}"] td.num`)?.textContent === "2",
      signature,
    );
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42);
    expect(consoleErrors).toEqual([]);
  });

  it("approves a proposal from the page, runs it and shows its result", async () => {
    // the third occurrence of a missing table with a schema template and policy suggest → a proposal
    for (let i = 0; i < 3; i++)
      expect((await pgQuery(`SELECT * FROM ${HEAL} WHERE id > ${i}`)).code).toBe("42P01");
    const card = page.locator(".proposal[data-status=pending]", { hasText: `Create missing table ${HEAL}` });
    await card.waitFor({ timeout: 15_000 });
    expect(await card.locator("pre").textContent()).toContain(`CREATE TABLE ${HEAL}`);
    expect(psqlDirect(`SELECT to_regclass('public.${HEAL}') IS NULL`)).toBe("t");
    const id = await card.getAttribute("data-id");
    await card.locator("button[data-action=approve]").click();
    const done = page.locator(`.proposal[data-id="${id}"][data-status=applied]`);
    await done.waitFor();
    expect(await done.locator(".proposal-result").textContent()).toMatch(/^Result: CREATE/);
    expect(await done.locator("button").count()).toBe(0);
    expect(psqlDirect(`SELECT to_regclass('public.${HEAL}') IS NOT NULL`)).toBe("t");
    expect(consoleErrors).toEqual([]);
  });

  it("simulates an error from the form and shows its classification", async () => {
    await page.locator("#sim-presets .chip", { hasText: "MySQL deadlock" }).click();
    await page.locator("#simulate-form button[type=submit]").click();
    const result = page.locator("#simulate-result");
    await result.locator("dd .badge", { hasText: "DEADLOCK" }).waitFor();
    expect(await result.textContent()).toContain("IMMEDIATE_FIX");
    await page.locator("#errors-body tr", { hasText: "Deadlock found" }).waitFor();
  });

  it("chat lists the real tables of PostgreSQL and MariaDB, and refuses 'drop table users'", async () => {
    const ask = async (protocol: string | null, q: string) => {
      if (protocol) await page.selectOption("#chat-protocol", protocol);
      const before = await page.locator("#chat-log .chat-msg.bot").count();
      await page.fill("#chat-input", q);
      await page.click("#chat-send");
      await page.waitForFunction((n) => {
        const bots = document.querySelectorAll("#chat-log .chat-msg.bot[data-source]");
        return bots.length > n;
      }, before);
      return page.locator("#chat-log .chat-msg.bot[data-source]").last();
    };
    const pgReply = await ask("postgres", "show me all tables in my database");
    expect(await pgReply.locator("pre.sql").textContent()).toContain("information_schema.tables");
    const pgTables = await pgReply.locator("table.result-table tbody tr").allTextContents();
    const pgDirect = psqlDirect(
      "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = 'public'",
    ).split(",");
    for (const t of pgDirect)
      expect(
        pgTables.some((r) => r.includes(t)),
        t,
      ).toBe(true);
    expect(pgTables.some((r) => r.includes(PROBE))).toBe(true);

    const myReply = await ask("mysql", "show me all tables in my database");
    const myTables = await myReply.locator("table.result-table tbody tr").allTextContents();
    const [rows] = await my.query(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'test'",
    );
    for (const { t } of rows as { t: string }[])
      expect(
        myTables.some((r) => r.includes(t)),
        t,
      ).toBe(true);

    for (const protocol of ["postgres", "mysql"]) {
      const refused = await ask(protocol, "drop table users");
      expect(await refused.getAttribute("data-refused")).toBe("true");
      expect(await refused.locator(".answer").textContent()).toMatch(/Refused: database mode runs read-only/);
      expect(await refused.locator("table").count()).toBe(0);
    }
    expect(psqlDirect("SELECT to_regclass('public.users') IS NOT NULL")).toBe("t");
    const [still] = await my.query(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'test' AND table_name = 'users'",
    );
    expect((still as { n: number }[])[0]?.n).toBe(1);

    // general mode answers from the built-in concepts
    await page.locator(".seg[data-mode=general]").click();
    expect(await page.locator("#chat-protocol").isHidden()).toBe(true);
    const general = await ask(null, "what is connection pooling?");
    expect(await general.getAttribute("data-source")).toBe("knowledge-base");
    expect(await general.locator(".answer").textContent()).toMatch(/^Connection pooling/);
    expect(consoleErrors).toEqual([]);
  });

  it("saves screenshots at desktop and phone width", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-desktop.png"), fullPage: true });
    const phone = await browser.newPage({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
    });
    watchConsole(phone);
    await phone.goto(`${proxy.admin}/`);
    await phone.locator("#errors-body tr").first().waitFor();
    await phone.locator("#trend-chart canvas").waitFor();
    // nothing wider than the phone: the page does not scroll sideways
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
    await phone.close();
    expect(existsSync(join(ARTIFACTS, "dashboard-desktop.png"))).toBe(true);
    expect(existsSync(join(ARTIFACTS, "dashboard-phone.png"))).toBe(true);
    expect(consoleErrors).toEqual([]);
  });
});

describe("dashboard behind an admin token", () => {
  it("asks for the token, refuses a wrong one, then loads and streams with the right one", async () => {
    const guarded = await startTestProxy((c) => {
      c.admin.token = "dash-secret-7";
    });
    const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await p.goto(`${guarded.admin}/`);
      const dialog = p.locator("#token-dialog[open]");
      await dialog.waitFor();
      await p.fill("#token-input", "wrong");
      await p.click("#token-form button[type=submit]");
      await p.locator("#token-error:not(.hidden)").waitFor();
      await p.fill("#token-input", "dash-secret-7");
      await p.click("#token-form button[type=submit]");
      await p.locator("#live.live-on").waitFor();
      expect(await p.locator("#token-dialog").getAttribute("open")).toBeNull();
      expect(await p.locator("#db-summary").textContent()).toBe("1 database");
      // the live stream carries the token as ?token=: a simulated error arrives without a reload
      const r = await fetch(`${guarded.admin}/api/simulate`, {
        method: "POST",
        headers: { authorization: "Bearer dash-secret-7", "content-type": "application/json" },
        body: JSON.stringify({ protocol: "postgres", code: "40001", message: "could not serialize access" }),
      });
      expect(r.status).toBe(200);
      await p.locator("#errors-body tr", { hasText: "could not serialize access" }).waitFor();
    } finally {
      await p.close();
      await guarded.stop();
    }
  });
});
