import type { SecureContext } from "node:tls";
import type { Metrics } from "../admin/metrics.js";
import type { Config } from "../config/types.js";
import type { ErrorPipeline } from "../errors/pipeline.js";
import type { Logger } from "../log.js";
import type { Healer } from "../resolve/healer.js";
import type { Resolver } from "../resolve/resolver.js";
import type { Endpoint } from "../util/host-port.js";

/** A client session as its listener sees it. */
export interface Session {
  readonly idle: boolean;
  drain(): void;
  destroy(): void;
}

/** What a session needs from the process around it. */
export interface SessionHost {
  readonly metrics: Metrics;
  readonly pipeline: ErrorPipeline;
  readonly log: Logger;
  readonly resolver: Resolver;
  readonly healer: Healer;
  /** the upstream to dial now (read per connection, so a SIGHUP reload applies to new sessions) */
  upstream(): Endpoint;
  sessionClosed(s: Session): void;
  /** the TLS context for client connections when tls.cert/tls.key are configured, else null */
  tlsContext(): SecureContext | null;
  /** the configuration in force (read per use, so reloads apply) */
  config(): Config;
  /** credentials mode: the proxy hands clients its own cancel keys and maps them to sessions */
  registerCancel(processId: number, secretKey: number, s: CancelTarget): void;
  unregisterCancel(processId: number, secretKey: number): void;
  cancelTarget(processId: number, secretKey: number): CancelTarget | undefined;
}

export interface CancelTarget {
  /** send a CancelRequest for the upstream connection the session uses now */
  cancelUpstream(): void;
}
