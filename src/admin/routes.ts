import type { AiStatusProbe } from "../ai/status.js";
import { parsePolicy } from "../config/load.js";
import { type Config, ConfigError } from "../config/types.js";
import type { Healer } from "../resolve/healer.js";
import type { ProposalStore } from "../resolve/proposals.js";
import type { Resolver } from "../resolve/resolver.js";
import type { ErrorPipeline } from "../errors/pipeline.js";
import { ERROR_TYPES, type ErrorType, isErrorType, type Protocol } from "../errors/types.js";
import type { PatternStore } from "../patterns/store.js";
import { dryResolution } from "../resolve/plan.js";
import { type Endpoint, formatEndpoint } from "../util/host-port.js";
import { HttpError, limitParam, Router, sendJson } from "./http.js";
import type { Metrics } from "./metrics.js";
import { probeUpstream } from "./probe.js";

export interface DatabaseInfo {
  protocol: Protocol;
  listen: Endpoint;
  upstream: Endpoint;
  embedded: boolean;
  connections: () => number;
}

export interface AdminContext {
  config: () => Config;
  metrics: Metrics;
  pipeline: ErrorPipeline;
  store: PatternStore;
  ai: AiStatusProbe;
  databases: () => DatabaseInfo[];
  resolver: Resolver;
  proposals: ProposalStore;
  healer: Healer;
  /** replace the configuration in force (PUT /api/policy) */
  setConfig: (next: Config) => void;
}

function positiveInt(o: Record<string, unknown>, key: string, path: string, min = 1): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new HttpError(400, `${path}.${key}: must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkKeys(o: Record<string, unknown>, allowed: string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k))
      throw new HttpError(400, `${path}.${k}: unknown key (expected one of ${allowed.join(", ")})`);
  }
}

const PROTOCOLS = new Set(["postgres", "mysql"]);

/** Health colour from the error rate and upstream health (seed: 🟢 healthy / 🟡 warning / 🔴 critical). */
export function healthOf(
  errorRatePerHour: number,
  upstreamsHealthy: boolean,
): "healthy" | "warning" | "critical" {
  if (!upstreamsHealthy || errorRatePerHour > 100) return "critical";
  if (errorRatePerHour > 10) return "warning";
  return "healthy";
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, "request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function requireString(o: Record<string, unknown>, key: string, max = 10_000): string {
  const v = o[key];
  if (typeof v !== "string" || v.length === 0) throw new HttpError(400, `${key} must be a non-empty string`);
  if (v.length > max) throw new HttpError(400, `${key} is longer than ${max} characters`);
  return v;
}

function optionalString(o: Record<string, unknown>, key: string, max = 100_000): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new HttpError(400, `${key} must be a string`);
  if (v.length > max) throw new HttpError(400, `${key} is longer than ${max} characters`);
  return v;
}

export function requireProtocol(o: Record<string, unknown>): Protocol {
  const p = o.protocol;
  if (typeof p !== "string" || !PROTOCOLS.has(p))
    throw new HttpError(400, 'protocol must be "postgres" or "mysql"');
  return p as Protocol;
}

/** Routes of PRODUCT.md section 6 that read the pipeline and store. Later features add theirs to the router. */
export function buildRoutes(ctx: AdminContext): Router {
  const router = new Router();
  let lastHealth: Record<string, string | null> = {};

  async function checkUpstreams(): Promise<Record<string, string | null>> {
    const dbs = ctx.databases();
    const results = await Promise.all(dbs.map((d) => probeUpstream(d.protocol, d.upstream)));
    const out: Record<string, string | null> = {};
    dbs.forEach((d, i) => {
      out[d.protocol] = results[i] ?? null;
    });
    lastHealth = out;
    return out;
  }

  router.add("GET", "/healthz", () => ({ status: "ok" }));

  router.add("GET", "/readyz", async (_req, res) => {
    const health = await checkUpstreams();
    const failing = Object.entries(health).filter(([, reason]) => reason !== null);
    const upstreams = Object.fromEntries(
      ctx.databases().map((d) => [
        d.protocol,
        {
          upstream: formatEndpoint(d.upstream),
          ok: health[d.protocol] === null,
          reason: health[d.protocol],
        },
      ]),
    );
    if (failing.length > 0) {
      sendJson(res, 503, {
        status: "unavailable",
        error: `upstream not answering: ${failing.map(([p, r]) => `${p} (${r})`).join(", ")}`,
        upstreams,
      });
      return undefined;
    }
    return { status: "ready", upstreams };
  });

  router.add("GET", "/metrics", async (_req, res) => {
    const text = await ctx.metrics.text();
    res.writeHead(200, { "content-type": ctx.metrics.registry.contentType });
    res.end(text);
    return undefined;
  });

  router.add("GET", "/api/stats", async () => {
    const cfg = ctx.config();
    const health = Object.keys(lastHealth).length === 0 ? await checkUpstreams() : lastHealth;
    void checkUpstreams(); // refresh in the background for the next call
    const databases = ctx.databases().map((d) => ({
      protocol: d.protocol,
      listen: formatEndpoint(d.listen),
      upstream: formatEndpoint(d.upstream),
      embedded: d.embedded,
      connections: d.connections(),
      healthy: health[d.protocol] === null,
      reason: health[d.protocol] ?? null,
    }));
    const patterns = ctx.store.list();
    let totalResolutions = 0;
    const byStrategy: Record<
      string,
      { attempted: number; succeeded: number; failed: number; successRate: number | null }
    > = {};
    for (const p of patterns) {
      totalResolutions += p.resolutions.succeeded + p.resolutions.failed;
      for (const h of p.history) {
        if (h.outcome !== "succeeded" && h.outcome !== "failed") continue;
        let s = byStrategy[h.strategy];
        if (!s) {
          s = { attempted: 0, succeeded: 0, failed: 0, successRate: null };
          byStrategy[h.strategy] = s;
        }
        s.attempted += 1;
        s[h.outcome] += 1;
        s.successRate = s.succeeded / s.attempted;
      }
    }
    const rate = ctx.pipeline.errorRatePerHour();
    const policy = cfg.resolution.policy;
    return {
      databases,
      ai: { status: ctx.ai.status, model: ctx.ai.model, host: cfg.ai.ollamaHost },
      monitoring: {
        active: true,
        errorsSeen: ctx.pipeline.total,
        uptimeSeconds: Math.round(ctx.pipeline.uptimeMs / 1000),
      },
      autoResolution: {
        active: ERROR_TYPES.some((t) => policy[t] === "apply"),
        policy,
        byStrategy,
      },
      patterns: patterns.length,
      totalResolutions,
      errorRatePerHour: rate,
      health: healthOf(
        rate,
        databases.every((d) => d.healthy),
      ),
    };
  });

  router.add("GET", "/api/patterns", (req) => {
    const protocol = req.query.get("protocol") ?? undefined;
    const errorType = req.query.get("errorType") ?? undefined;
    if (protocol !== undefined && !PROTOCOLS.has(protocol))
      throw new HttpError(400, 'protocol must be "postgres" or "mysql"');
    if (errorType !== undefined && !isErrorType(errorType))
      throw new HttpError(400, `unknown errorType "${errorType}"`);
    const limit = limitParam(req.query, 100, 10_000);
    const patterns = ctx.store.list({ protocol, errorType, limit }).map(({ history: _h, ...rest }) => rest);
    return { patterns };
  });

  router.add("GET", "/api/patterns/:signature", (req) => {
    const p = ctx.store.get(req.params.signature as string);
    if (!p) throw new HttpError(404, `no pattern with signature "${req.params.signature}"`);
    return { pattern: p };
  });

  router.add("GET", "/api/errors", (req) => ({
    errors: ctx.pipeline.recentErrors(limitParam(req.query, 100)),
  }));

  router.add("POST", "/api/simulate", (req) => {
    const o = asObject(req.body);
    const protocol = requireProtocol(o);
    const code = requireString(o, "code", 64);
    const message = requireString(o, "message");
    const statement = optionalString(o, "statement");
    const { event, pattern } = ctx.pipeline.record(
      { protocol, code, message, statement, inTransaction: false, application: "dba-gpt-simulate" },
      { simulated: true },
    );
    const policy = ctx.config().resolution.policy;
    const mode = policy[event.errorType as ErrorType] ?? policy.default;
    const resolution = {
      ...dryResolution(event.errorType, event.strategy, mode),
      dryRun: true,
      policy: mode,
    };
    return { event, pattern, resolution };
  });

  router.add("GET", "/api/resolutions", (req) => ({
    resolutions: ctx.resolver.resolutions(limitParam(req.query, 100)),
  }));

  const policyView = () => {
    const c = ctx.config();
    return { policy: c.resolution.policy, thresholds: c.resolution.thresholds, retry: c.resolution.retry };
  };
  router.add("GET", "/api/policy", () => policyView());

  router.add("GET", "/api/proposals", (req) => {
    const status = req.query.get("status") ?? undefined;
    if (status !== undefined && !["pending", "rejected", "applied", "failed"].includes(status)) {
      throw new HttpError(400, `status must be pending, rejected, applied or failed, got "${status}"`);
    }
    return { proposals: ctx.proposals.list(status).slice(0, limitParam(req.query, 100)) };
  });
  const pendingProposal = (id: string) => {
    const p = ctx.proposals.get(id);
    if (!p) throw new HttpError(404, `no proposal with id "${id}"`);
    if (p.status !== "pending") throw new HttpError(409, `proposal ${id} is already ${p.status}`);
    return p;
  };
  router.add("POST", "/api/proposals/:id/approve", async (req) => ({
    proposal: await ctx.healer.approve(pendingProposal(req.params.id as string)),
  }));
  router.add("POST", "/api/proposals/:id/reject", (req) => {
    const p = pendingProposal(req.params.id as string);
    ctx.proposals.decide(p, "rejected", null);
    return { proposal: p };
  });

  // PUT merges: the keys named change, the others stay. Anything invalid → 400 naming it, nothing changes.
  router.add("PUT", "/api/policy", (req) => {
    const body = asObject(req.body);
    const structured = ["policy", "thresholds", "retry"].some((k) => k in body);
    const o: Record<string, unknown> = structured ? body : { policy: body };
    checkKeys(o, ["policy", "thresholds", "retry"], "body");
    const current = ctx.config();
    const next: Config = structuredClone(current);
    if (o.policy !== undefined) {
      const p = asObject(o.policy);
      try {
        next.resolution.policy = parsePolicy({ ...current.resolution.policy, ...p }, "policy");
      } catch (e) {
        if (e instanceof ConfigError) throw new HttpError(400, e.message);
        throw e;
      }
    }
    if (o.thresholds !== undefined) {
      const t = asObject(o.thresholds);
      checkKeys(t, ["preventive", "selfHealing"], "thresholds");
      next.resolution.thresholds = {
        preventive: positiveInt(t, "preventive", "thresholds") ?? current.resolution.thresholds.preventive,
        selfHealing: positiveInt(t, "selfHealing", "thresholds") ?? current.resolution.thresholds.selfHealing,
      };
      if (next.resolution.thresholds.preventive >= next.resolution.thresholds.selfHealing) {
        throw new HttpError(400, "thresholds.preventive: must be lower than thresholds.selfHealing");
      }
    }
    if (o.retry !== undefined) {
      const r = asObject(o.retry);
      checkKeys(r, ["maxAttempts", "baseDelayMs", "maxDelayMs", "budgetPerSecond"], "retry");
      const cur = current.resolution.retry;
      next.resolution.retry = {
        maxAttempts: positiveInt(r, "maxAttempts", "retry", 0) ?? cur.maxAttempts,
        baseDelayMs: positiveInt(r, "baseDelayMs", "retry", 0) ?? cur.baseDelayMs,
        maxDelayMs: positiveInt(r, "maxDelayMs", "retry", 0) ?? cur.maxDelayMs,
        budgetPerSecond: positiveInt(r, "budgetPerSecond", "retry", 0) ?? cur.budgetPerSecond,
      };
      if (next.resolution.retry.maxDelayMs < next.resolution.retry.baseDelayMs) {
        throw new HttpError(400, "retry.maxDelayMs: must be at least retry.baseDelayMs");
      }
    }
    ctx.setConfig(next);
    return policyView();
  });

  return router;
}
