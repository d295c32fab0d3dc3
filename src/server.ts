import { mkdirSync } from "node:fs";
import { addChatRoutes } from "./admin/chat-routes.js";
import { addDashboardRoutes } from "./admin/dashboard-routes.js";
import { buildRoutes, type DatabaseInfo } from "./admin/routes.js";
import { Metrics } from "./admin/metrics.js";
import { AdminServer } from "./admin/server.js";
import { addAiRoutes } from "./admin/ai-routes.js";
import { Analyzer } from "./ai/analyzer.js";
import { AiStatusProbe } from "./ai/status.js";
import type { Config } from "./config/types.js";
import { ErrorPipeline } from "./errors/pipeline.js";
import { createLogger, type Logger } from "./log.js";
import { PatternStore } from "./patterns/store.js";
import { SqlExecutor } from "./resolve/executor.js";
import { Healer } from "./resolve/healer.js";
import { ProposalStore } from "./resolve/proposals.js";
import { Resolver } from "./resolve/resolver.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./proxy/embedded-pg.js";
import { Listener } from "./proxy/listener.js";
import { MysqlSession } from "./proxy/mysql-session.js";
import { PgSession } from "./proxy/pg-session.js";
import { type Endpoint, formatEndpoint, isLoopback } from "./util/host-port.js";

export interface RunningServer {
  /** where each side actually listens (ports resolved when 0 was asked for) */
  postgres: Endpoint;
  mysql: Endpoint | null;
  admin: Endpoint;
  pgUpstream: Endpoint;
  embedded: boolean;
  metrics: Metrics;
  pipeline: ErrorPipeline;
  store: PatternStore;
  resolver: Resolver;
  healer: Healer;
  proposals: ProposalStore;
  /** AI_POWERED analyses (LLM or knowledge base), one per new signature */
  analyzer: Analyzer;
  log: Logger;
  config(): Config;
  /** apply a new configuration (SIGHUP): policy, thresholds, AI and admin token take effect at once */
  reload(next: Config): void;
  /** SIGTERM path: stop accepting, let statements in flight finish (bounded), flush state */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** install SIGTERM/SIGINT (drain and exit) and SIGHUP (reload via `reload`) handlers */
  handleSignals?: boolean;
  /** re-read the configuration for SIGHUP; throws ConfigError when the new file is bad */
  reloadConfig?: () => Config;
}

export async function startServer(initial: Config, opts: StartOptions = {}): Promise<RunningServer> {
  let config = initial;
  if (config.admin.token === null && !isLoopback(config.listen.admin.host)) {
    throw new Error(
      `admin.token: the admin API listens on ${formatEndpoint(config.listen.admin)}, beyond loopback, so a token is required (DBAGPT_ADMIN_TOKEN)`,
    );
  }
  if (config.tls.upstream === "require") {
    // refuse rather than silently send plain text where TLS was demanded
    throw new Error(
      "tls.upstream: require is not supported yet (the upstream leg is plain text); use off or prefer",
    );
  }
  mkdirSync(config.state.dir, { recursive: true });
  const log = opts.logger ?? createLogger(config.logLevel);

  let embedded: EmbeddedPostgres | null = null;
  let pgUpstream: Endpoint;
  if (config.upstream.postgres) {
    pgUpstream = config.upstream.postgres;
  } else {
    embedded = await startEmbeddedPostgres(config.state.dir);
    pgUpstream = embedded.endpoint;
  }
  // The first log line says which PostgreSQL the proxy fronts, so a newcomer knows what they talk to.
  if (embedded) {
    log.info(
      { upstream: formatEndpoint(pgUpstream), dataDir: embedded.dataDir },
      `embedded PostgreSQL (PGlite) is the upstream: no --pg-upstream given; connect with psql -h ${config.listen.postgres.host} -p ${config.listen.postgres.port} -U postgres`,
    );
  } else {
    log.info({ upstream: formatEndpoint(pgUpstream) }, `PostgreSQL upstream ${formatEndpoint(pgUpstream)}`);
  }

  if (config.redis.url) {
    log.warn(
      { redis: "configured" },
      "redis.url is set, but fleet-wide patterns and locks are not implemented yet: this sidecar learns alone",
    );
  }
  const metrics = new Metrics();
  const store = new PatternStore({ stateDir: config.state.dir });
  const pipeline = new ErrorPipeline(store, metrics, config.resolution.thresholds);
  const resolver = new Resolver(() => config, pipeline, metrics, config.state.dir);
  const proposals = new ProposalStore(config.state.dir);
  const executor = new SqlExecutor(
    () => config,
    () => ({ postgres: config.upstream.postgres ?? pgUpstream, mysql: config.upstream.mysql }),
  );
  const healer = new Healer(() => config, store, resolver, proposals, executor, log);
  healer.attach(pipeline);
  const ai = new AiStatusProbe(
    { enabled: config.ai.enabled, host: () => config.ai.ollamaHost, model: config.ai.model },
    log,
  );
  ai.start();
  const analyzer = new Analyzer({ config: () => config.ai, probe: ai, log, metrics, store });
  analyzer.attach(pipeline);

  const pgListener = new Listener({
    name: "postgres",
    listen: config.listen.postgres,
    upstream: () => config.upstream.postgres ?? pgUpstream,
    metrics,
    pipeline,
    log,
    resolver,
    healer,
    config: () => config,
    createSession: (socket, host) => new PgSession(socket, host),
  });
  const pgAddr = await pgListener.listen();
  log.info({ listen: formatEndpoint(pgAddr) }, `PostgreSQL clients: ${formatEndpoint(pgAddr)}`);

  let mysqlListener: Listener | null = null;
  let mysqlAddr: Endpoint | null = null;
  const mysqlUpstream = config.upstream.mysql;
  if (mysqlUpstream) {
    mysqlListener = new Listener({
      name: "mysql",
      listen: config.listen.mysql,
      upstream: () => config.upstream.mysql ?? mysqlUpstream,
      metrics,
      pipeline,
      log,
      resolver,
      healer,
      config: () => config,
      createSession: (socket, host) => new MysqlSession(socket, host),
    });
    mysqlAddr = await mysqlListener.listen();
    log.info(
      { listen: formatEndpoint(mysqlAddr), upstream: formatEndpoint(mysqlUpstream) },
      `MySQL clients: ${formatEndpoint(mysqlAddr)} → ${formatEndpoint(mysqlUpstream)}`,
    );
  }

  const databases = (): DatabaseInfo[] => {
    const out: DatabaseInfo[] = [
      {
        protocol: "postgres",
        listen: pgAddr,
        upstream: pgUpstream,
        embedded: embedded !== null,
        connections: () => pgListener.sessionCount,
      },
    ];
    if (mysqlListener && mysqlAddr && mysqlUpstream) {
      const l = mysqlListener;
      out.push({
        protocol: "mysql",
        listen: mysqlAddr,
        upstream: mysqlUpstream,
        embedded: false,
        connections: () => l.sessionCount,
      });
    }
    return out;
  };

  const router = buildRoutes({
    config: () => config,
    metrics,
    pipeline,
    store,
    ai,
    databases,
    resolver,
    proposals,
    healer,
    setConfig: (next) => running.reload(next),
  });
  addAiRoutes(router, { analyzer });
  addDashboardRoutes(router, { pipeline });
  addChatRoutes(router, {
    config: () => config,
    upstreams: () => ({ postgres: config.upstream.postgres ?? pgUpstream, mysql: config.upstream.mysql }),
    aiStatus: () => ai.status,
  });
  const admin = new AdminServer({
    listen: config.listen.admin,
    router,
    token: () => config.admin.token,
    log,
  });
  const adminAddr = await admin.listen();
  log.info(
    { listen: formatEndpoint(adminAddr) },
    `admin API and dashboard: http://${formatEndpoint(adminAddr)}/`,
  );

  let closing: Promise<void> | null = null;
  const running: RunningServer = {
    postgres: pgAddr,
    mysql: mysqlAddr,
    admin: adminAddr,
    pgUpstream,
    embedded: embedded !== null,
    metrics,
    pipeline,
    store,
    resolver,
    healer,
    proposals,
    analyzer,
    log,
    config: () => config,
    reload(next: Config) {
      const restartNeeded =
        JSON.stringify(next.listen) !== JSON.stringify(config.listen) || next.state.dir !== config.state.dir;
      config = next;
      pipeline.setThresholds(next.resolution.thresholds);
      resolver.configChanged();
      log.level = next.logLevel;
      log.info(
        { restartNeeded },
        restartNeeded
          ? "configuration reloaded; listen addresses and state dir change only at restart"
          : "configuration reloaded",
      );
    },
    close() {
      closing ??= (async () => {
        log.info(
          { drainTimeoutMs: config.drainTimeoutMs },
          "draining: no new connections, finishing statements in flight",
        );
        await Promise.all([
          pgListener.drain(config.drainTimeoutMs),
          mysqlListener?.drain(config.drainTimeoutMs),
        ]);
        ai.stop();
        await analyzer.stop();
        await admin.close();
        await store.close();
        await resolver.close();
        await proposals.flush();
        if (embedded) await embedded.stop();
        log.info("stopped");
      })();
      return closing;
    },
  };

  if (opts.handleSignals) {
    const stop = () => {
      running.close().then(
        () => process.exit(0),
        (e: unknown) => {
          log.error({ err: e }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    process.on("SIGHUP", () => {
      if (!opts.reloadConfig) {
        log.warn("SIGHUP: no configuration file to reload");
        return;
      }
      try {
        running.reload(opts.reloadConfig());
      } catch (e) {
        log.error(
          { error: e instanceof Error ? e.message : String(e) },
          "SIGHUP: new configuration refused; the old one stays",
        );
      }
    });
  }
  return running;
}
