import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { Protocol } from "../errors/types.js";

/** Plain numbers the relay path bumps; /metrics reads them at scrape time. */
export interface ProtocolCounters {
  connectionsActive: number;
  connectionsTotal: number;
  queries: number;
  bytesFromClients: number;
  bytesFromServers: number;
  upstreamConnectFailures: number;
  /** fixed-bucket relay latency histogram, filled on the hot path without allocation */
  latencyBuckets: Float64Array;
  latencySum: number;
  latencyCount: number;
}

/** seconds: time from a client's request reaching the proxy to the first byte of the server's answer */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5,
];

function newCounters(): ProtocolCounters {
  return {
    connectionsActive: 0,
    connectionsTotal: 0,
    queries: 0,
    bytesFromClients: 0,
    bytesFromServers: 0,
    upstreamConnectFailures: 0,
    latencyBuckets: new Float64Array(LATENCY_BUCKETS.length),
    latencySum: 0,
    latencyCount: 0,
  };
}

/** Record one latency sample (seconds) without allocating. */
export function observeLatency(c: ProtocolCounters, seconds: number): void {
  c.latencySum += seconds;
  c.latencyCount += 1;
  const b = c.latencyBuckets;
  for (let i = 0; i < b.length; i++) {
    if (seconds <= (LATENCY_BUCKETS[i] as number)) {
      b[i] = (b[i] as number) + 1;
      return;
    }
  }
}

export class Metrics {
  readonly registry = new Registry();
  readonly proto: Record<Protocol, ProtocolCounters> = { postgres: newCounters(), mysql: newCounters() };
  readonly errors: Counter<"protocol" | "error_type">;
  readonly resolutions: Counter<"strategy" | "outcome" | "error_type">;
  readonly protocolErrors: Counter<"protocol" | "reason">;
  readonly retryBudget: Gauge;
  readonly aiQueueOverflow: Counter;
  /** set by the resolver: tokens in the retry budget now, and retries refused for lack of them */
  retryTokens: () => number = () => 0;
  retryExhausted: () => number = () => 0;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "dbagpt_process_" });
    const r = this.registry;
    const protos: Protocol[] = ["postgres", "mysql"];
    const proto = this.proto;

    new Gauge({
      name: "dbagpt_client_connections",
      help: "Client connections open now",
      labelNames: ["protocol"],
      registers: [r],
      collect() {
        for (const p of protos) this.set({ protocol: p }, proto[p].connectionsActive);
      },
    });
    const totals: [string, string, keyof ProtocolCounters][] = [
      ["dbagpt_client_connections_total", "Client connections accepted", "connectionsTotal"],
      ["dbagpt_queries_total", "Statements relayed (Query, Sync, COM_QUERY, COM_STMT_EXECUTE)", "queries"],
      ["dbagpt_client_bytes_total", "Bytes received from clients", "bytesFromClients"],
      ["dbagpt_server_bytes_total", "Bytes received from servers", "bytesFromServers"],
      [
        "dbagpt_upstream_connect_failures_total",
        "Upstream connections that failed",
        "upstreamConnectFailures",
      ],
    ];
    for (const [name, help, key] of totals) {
      // counters read from plain numbers at scrape time: a Gauge-backed collect keeps the hot path free
      new Counter({
        name,
        help,
        labelNames: ["protocol"],
        registers: [r],
        collect() {
          this.reset();
          for (const p of protos) this.inc({ protocol: p }, proto[p][key] as number);
        },
      });
    }
    // The relay path fills plain-number buckets; this metric formats them at scrape time.
    const latencyName = "dbagpt_relay_latency_seconds";
    const latencyHelp =
      "Time from a client request reaching the proxy to the first byte of the server's answer";
    const latency = {
      name: latencyName,
      help: latencyHelp,
      type: "histogram",
      aggregator: "sum",
      reset() {},
      get: async () => {
        const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
        for (const p of protos) {
          const c = proto[p];
          let cumulative = 0;
          LATENCY_BUCKETS.forEach((le, i) => {
            cumulative += c.latencyBuckets[i] as number;
            values.push({
              value: cumulative,
              labels: { protocol: p, le },
              metricName: `${latencyName}_bucket`,
            });
          });
          values.push({
            value: c.latencyCount,
            labels: { protocol: p, le: "+Inf" },
            metricName: `${latencyName}_bucket`,
          });
          values.push({ value: c.latencySum, labels: { protocol: p }, metricName: `${latencyName}_sum` });
          values.push({ value: c.latencyCount, labels: { protocol: p }, metricName: `${latencyName}_count` });
        }
        return { name: latencyName, help: latencyHelp, type: "histogram", aggregator: "sum", values };
      },
    };
    r.registerMetric(latency as unknown as Parameters<Registry["registerMetric"]>[0]);

    this.errors = new Counter({
      name: "dbagpt_errors_total",
      help: "Error events by protocol and errorType",
      labelNames: ["protocol", "error_type"],
      registers: [r],
    });
    this.resolutions = new Counter({
      name: "dbagpt_resolutions_total",
      help: "Resolutions by strategy and outcome",
      labelNames: ["strategy", "outcome", "error_type"],
      registers: [r],
    });
    this.protocolErrors = new Counter({
      name: "dbagpt_protocol_errors_total",
      help: "Client or server connections closed because their bytes broke the protocol",
      labelNames: ["protocol", "reason"],
      registers: [r],
    });
    const self = this;
    this.retryBudget = new Gauge({
      name: "dbagpt_retry_budget_tokens",
      help: "Retry budget tokens available now (token bucket)",
      registers: [r],
      collect() {
        this.set(self.retryTokens());
      },
    });
    new Counter({
      name: "dbagpt_retry_budget_exhausted_total",
      help: "Retries not made because the retry budget was spent (the error passed through)",
      registers: [r],
      collect() {
        this.reset();
        this.inc(self.retryExhausted());
      },
    });
    this.aiQueueOverflow = new Counter({
      name: "dbagpt_ai_queue_overflow_total",
      help: "Analyses dropped because the analysis queue was full",
      registers: [r],
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
