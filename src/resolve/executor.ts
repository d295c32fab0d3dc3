import mysql from "mysql2/promise";
import pg from "pg";
import type { Config } from "../config/types.js";
import type { Protocol } from "../errors/types.js";
import type { Endpoint } from "../util/host-port.js";

export interface ExecResult {
  ok: boolean;
  /** what the server answered: command tags / affected rows, or the error */
  result: string;
  durationMs: number;
}

/** Statements of an action are separated by a semicolon at the end of a line. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.trim().replace(/;$/, ""))
    .filter((s) => s.length > 0);
}

/**
 * Runs the SQL of an approved or applied action on the upstream, on a connection of its own, inside a
 * transaction where the dialect allows, so a failing statement changes nothing. Credentials: the first
 * configured user (credentials mode), else the server's superuser name (trust setups).
 */
export class SqlExecutor {
  constructor(
    private readonly config: () => Config,
    private readonly upstreams: () => { postgres: Endpoint | null; mysql: Endpoint | null },
  ) {}

  private credentials(protocol: Protocol): { user: string; password: string | undefined } {
    const u = this.config().auth.users[0];
    if (u) return { user: u.user, password: u.password };
    return { user: protocol === "postgres" ? "postgres" : "root", password: undefined };
  }

  async run(protocol: Protocol, sql: string, database: string | null): Promise<ExecResult> {
    const started = Date.now();
    try {
      const result =
        protocol === "postgres" ? await this.runPg(sql, database) : await this.runMysql(sql, database);
      return { ok: true, result, durationMs: Date.now() - started };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return {
        ok: false,
        result: `${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}`,
        durationMs: Date.now() - started,
      };
    }
  }

  private async runPg(sql: string, database: string | null): Promise<string> {
    const up = this.upstreams().postgres;
    if (!up) throw new Error("no PostgreSQL upstream configured");
    const { user, password } = this.credentials("postgres");
    const c = new pg.Client({
      host: up.host,
      port: up.port,
      user,
      password,
      database: database ?? "postgres",
      connectionTimeoutMillis: 5000,
    });
    await c.connect();
    try {
      await c.query("BEGIN");
      const res = await c.query(sql);
      await c.query("COMMIT");
      const list = Array.isArray(res) ? res : [res];
      return list
        .map((r: pg.QueryResult) => `${r.command}${r.rowCount !== null ? ` ${r.rowCount}` : ""}`)
        .join("; ");
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      await c.end().catch(() => {});
    }
  }

  private async runMysql(sql: string, database: string | null): Promise<string> {
    const up = this.upstreams().mysql;
    if (!up) throw new Error("no MySQL upstream configured");
    const { user, password } = this.credentials("mysql");
    const c = await mysql.createConnection({
      host: up.host,
      port: up.port,
      user,
      password,
      database: database ?? undefined,
      connectTimeout: 5000,
      multipleStatements: false,
    });
    try {
      // MySQL DDL commits implicitly; a transaction still keeps DML all-or-nothing.
      await c.query("START TRANSACTION");
      const out: string[] = [];
      for (const statement of splitStatements(sql)) {
        const [res] = await c.query(statement);
        const r = res as { affectedRows?: number; length?: number };
        out.push(Array.isArray(res) ? `${res.length} row(s)` : `OK, ${r.affectedRows ?? 0} row(s) affected`);
      }
      await c.query("COMMIT");
      return out.join("; ");
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      await c.end().catch(() => {});
    }
  }
}
