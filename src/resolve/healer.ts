import { extractIdentifiers, quoteIdent, quoteLiteral } from "../ai/explain.js";
import type { Config } from "../config/types.js";
import type { ErrorPipeline } from "../errors/pipeline.js";
import type { ErrorEvent, Protocol, Strategy } from "../errors/types.js";
import type { Logger } from "../log.js";
import type { PatternStore } from "../patterns/store.js";
import type { SqlExecutor } from "./executor.js";
import type { Proposal, ProposalStore } from "./proposals.js";
import { HEAL_ACTION, type Resolver } from "./resolver.js";

export interface HealPlan {
  kind: string;
  title: string;
  sql: string;
  strategy: Strategy;
}

function tableOf(ev: ErrorEvent): string | null {
  const ids = extractIdentifiers(ev.protocol, ev.message);
  return ids.table ?? null;
}

/** The schema template configured for a missing table (matched by its unqualified name). */
export function templateFor(config: Config, protocol: Protocol, table: string): string | null {
  const templates = config.resolution.schemaTemplates[protocol];
  const bare = table.includes(".") ? (table.split(".").pop() as string) : table;
  return templates[table] ?? templates[bare] ?? null;
}

/** SELF_HEALING fixes (PRODUCT.md section 4, issue 5), in the error's own dialect. */
export function selfHealingPlan(config: Config, ev: ErrorEvent): HealPlan | null {
  const p = ev.protocol;
  switch (ev.errorType) {
    case "TABLE_NOT_FOUND": {
      const table = tableOf(ev);
      if (!table) return null;
      const template = templateFor(config, p, table);
      const q = quoteIdent(p, table.split(".").pop() as string);
      const sql =
        template ??
        (p === "postgres"
          ? `CREATE TABLE IF NOT EXISTS ${q} (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())`
          : `CREATE TABLE IF NOT EXISTS ${q} (id BIGINT AUTO_INCREMENT PRIMARY KEY, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB`);
      return {
        kind: template ? "create-table-from-template" : "create-table-skeleton",
        title: template
          ? `Create missing table ${table} from its schema template`
          : `Create missing table ${table} (no schema template configured: a skeleton to review)`,
        sql,
        strategy: "SELF_HEALING",
      };
    }
    case "TOO_MANY_CONNECTIONS":
      return {
        kind: "terminate-idle-in-transaction",
        title: "Terminate sessions idle in a transaction for more than 5 minutes",
        sql:
          p === "postgres"
            ? "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND state_change < now() - interval '5 minutes' AND pid <> pg_backend_pid()"
            : "SELECT id, user, host, db, time FROM information_schema.processlist WHERE command = 'Sleep' AND time > 300 ORDER BY time DESC",
        strategy: "SELF_HEALING",
      };
    case "DEADLOCK":
    case "LOCK_WAIT_TIMEOUT": {
      const db = ev.database;
      return {
        kind: "lock-timeout",
        title: "Bound lock waits so a deadlock-prone workload fails fast and retries",
        sql:
          p === "postgres"
            ? `ALTER DATABASE ${quoteIdent(p, db ?? "postgres")} SET lock_timeout = '5s'`
            : "SET GLOBAL innodb_lock_wait_timeout = 10",
        strategy: "SELF_HEALING",
      };
    }
    default:
      return null;
  }
}

/** PREVENTIVE measures: monitoring in the right dialect (MySQL EVENTs as in the seed; PostgreSQL checks). */
export function preventivePlan(ev: ErrorEvent): HealPlan {
  const t = ev.errorType.toLowerCase();
  if (ev.protocol === "mysql") {
    const table = ev.errorType === "TABLE_NOT_FOUND" ? tableOf(ev) : null;
    const check = table
      ? `(SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ${quoteLiteral("mysql", table.split(".").pop() as string)})`
      : "(SELECT COUNT(*) FROM information_schema.processlist WHERE command <> 'Sleep')";
    return {
      kind: "preventive-monitoring",
      title: `Monitor ${ev.errorType} with a MySQL EVENT every 15 minutes`,
      sql: [
        "CREATE TABLE IF NOT EXISTS dbagpt_prevention_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, error_type VARCHAR(64) NOT NULL, check_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP, observed BIGINT, signature CHAR(12))",
        `CREATE EVENT IF NOT EXISTS dbagpt_monitor_${t} ON SCHEDULE EVERY 15 MINUTE DO INSERT INTO dbagpt_prevention_log (error_type, observed, signature) VALUES (${quoteLiteral("mysql", ev.errorType)}, ${check}, ${quoteLiteral("mysql", ev.signature)})`,
      ].join(";\n"),
      strategy: "PREVENTIVE",
    };
  }
  let sql: string;
  switch (ev.errorType) {
    case "TABLE_NOT_FOUND": {
      const table = tableOf(ev) ?? "missing_table";
      sql = `SELECT ${quoteLiteral("postgres", table)} AS table_name, to_regclass(${quoteLiteral("postgres", table)}) IS NOT NULL AS present`;
      break;
    }
    case "DEADLOCK":
    case "LOCK_WAIT_TIMEOUT":
      sql =
        "SELECT datname, deadlocks, conflicts, xact_rollback FROM pg_stat_database WHERE datname = current_database()";
      break;
    case "TOO_MANY_CONNECTIONS":
      sql =
        "SELECT count(*) AS connections, current_setting('max_connections')::int AS max_connections, count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction FROM pg_stat_activity";
      break;
    default:
      sql =
        "SELECT datname, xact_commit, xact_rollback, deadlocks, temp_files FROM pg_stat_database WHERE datname = current_database()";
  }
  return {
    kind: "preventive-check",
    title: `Check for the conditions behind ${ev.errorType} (PostgreSQL monitoring query)`,
    sql,
    strategy: "PREVENTIVE",
  };
}

/**
 * Turns recurring patterns into self-healing actions and preventive proposals, per the policy:
 * off → nothing, observe → counted, suggest → a proposal, apply → run now (audited). A missing table
 * with a schema template under apply is healed inline by the session, which re-runs the statement.
 */
export class Healer {
  constructor(
    private readonly config: () => Config,
    private readonly store: PatternStore,
    private readonly resolver: Resolver,
    private readonly proposals: ProposalStore,
    private readonly executor: SqlExecutor,
    private readonly log: Logger,
  ) {}

  attach(pipeline: ErrorPipeline): void {
    pipeline.on("event", (ev: ErrorEvent & { simulated?: boolean }) => {
      if (ev.simulated) return;
      this.onEvent(ev).catch((e: unknown) => this.log.error({ err: e }, "healer failed"));
    });
  }

  /** The DDL a session may run inline before re-running a statement that hit a missing table, or null. */
  inlineTableHeal(ev: ErrorEvent): string | null {
    if (ev.errorType !== "TABLE_NOT_FOUND" || this.resolver.mode(ev.errorType) !== "apply") return null;
    const count = this.store.get(ev.signature)?.count ?? 0;
    if (count < this.config().resolution.thresholds.selfHealing) return null;
    const table = tableOf(ev);
    return table ? templateFor(this.config(), ev.protocol, table) : null;
  }

  /**
   * A session's inline heal of a missing table: run the template now, audit it, and record a failure on
   * the event. Resolves true when the session may re-run the failed statement.
   */
  async healInline(ev: ErrorEvent, ddl: string, database: string | null): Promise<boolean> {
    const res = await this.executor.run(ev.protocol, ddl, database);
    this.resolver.audit({
      signature: ev.signature,
      errorType: ev.errorType,
      protocol: ev.protocol,
      policy: "apply",
      action: "create the missing table from its schema template",
      sql: ddl,
      outcome: res.ok ? "succeeded" : "failed",
      detail: res.result,
    });
    if (!res.ok) {
      // the client gets the original error, unchanged
      this.resolver.record(ev, {
        strategy: "SELF_HEALING",
        action: HEAL_ACTION,
        outcome: "failed",
        reason: `the template failed: ${res.result}`,
      });
    }
    return res.ok;
  }

  private async onEvent(ev: ErrorEvent): Promise<void> {
    const t = this.config().resolution.thresholds;
    const count = this.store.get(ev.signature)?.count ?? 0;
    let plan: HealPlan | null = null;
    if (count >= t.selfHealing) plan = selfHealingPlan(this.config(), ev);
    else if (count === t.preventive) plan = preventivePlan(ev);
    if (!plan) return;
    const mode = this.resolver.mode(ev.errorType);
    if (mode === "off") return;
    if (plan.kind === "create-table-from-template" && mode === "apply") return; // the session heals inline
    if (mode === "observe") {
      this.resolver.record(ev, {
        strategy: plan.strategy,
        action: plan.title,
        outcome: "observed",
        reason: "policy is observe",
      });
      return;
    }
    // Killing sessions and changing settings stay proposals even where the errorType's inline retry is
    // `apply` (PRODUCT.md section 4: anything that changes schema or data defaults to suggest).
    const needsOperator =
      mode === "suggest" || plan.strategy === "PREVENTIVE" || plan.kind !== "create-table-from-template";
    if (needsOperator) {
      const { created } = this.proposals.add({
        signature: ev.signature,
        errorType: ev.errorType,
        protocol: ev.protocol,
        strategy: plan.strategy,
        kind: plan.kind,
        title: plan.title,
        sql: plan.sql,
        database: ev.database,
      });
      if (created) {
        this.resolver.record(ev, {
          strategy: plan.strategy,
          action: plan.title,
          outcome: "proposed",
          reason:
            mode === "suggest" ? "policy is suggest: an operator approves it" : "proposals need an operator",
        });
      }
      return;
    }
    const res = await this.executor.run(ev.protocol, plan.sql, ev.database);
    this.resolver.audit({
      signature: ev.signature,
      errorType: ev.errorType,
      protocol: ev.protocol,
      policy: mode,
      action: plan.title,
      sql: plan.sql,
      outcome: res.ok ? "succeeded" : "failed",
      detail: res.result,
    });
    this.resolver.record(ev, {
      strategy: plan.strategy,
      action: plan.title,
      outcome: res.ok ? "succeeded" : "failed",
      reason: res.result,
    });
  }

  /** Run an approved proposal once; its result is kept on the proposal and audited. */
  async approve(p: Proposal): Promise<Proposal> {
    const res = await this.executor.run(p.protocol, p.sql, p.database);
    this.proposals.decide(p, res.ok ? "applied" : "failed", res.result);
    this.resolver.recordForPattern(p, {
      strategy: p.strategy,
      action: `approved: ${p.title}`,
      outcome: res.ok ? "succeeded" : "failed",
      reason: res.result,
    });
    this.resolver.audit({
      signature: p.signature,
      errorType: p.errorType,
      protocol: p.protocol,
      policy: "approved",
      action: p.title,
      sql: p.sql,
      outcome: res.ok ? "succeeded" : "failed",
      detail: res.result,
    });
    return p;
  }
}
