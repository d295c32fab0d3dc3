import { ConfigError, type HostPort, showValue } from "./types.js";

export interface HostPortOptions {
  /** host used for "5432" and ":5432"; default 127.0.0.1 (loopback, never all interfaces by accident) */
  defaultHost?: string;
  /** allow port 0 (the OS picks a free port) — fine for listeners, not for upstreams */
  allowZeroPort?: boolean;
}

const HOST_CHARS = /^[A-Za-z0-9._%-]+$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.%A-Za-z0-9-]+$/;

/**
 * Parses "host:port", "[::1]:5432", ":5432" or "5432" (also a bare number from YAML).
 * Returns the reason it is not an address, or the address.
 */
export function hostPortOrReason(value: unknown, opts: HostPortOptions = {}): HostPort | string {
  const defaultHost = opts.defaultHost ?? "127.0.0.1";
  let text: string;
  if (typeof value === "number" && Number.isInteger(value)) text = String(value);
  else if (typeof value === "string") text = value.trim();
  else return "expected host:port";

  let host: string;
  let portText: string;
  if (/^\d+$/.test(text)) {
    host = defaultHost;
    portText = text;
  } else if (text.startsWith("[")) {
    const m = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
    if (!m) return "expected [ipv6]:port";
    host = m[1] ?? "";
    portText = m[2] ?? "";
    if (!host.includes(":") || !IPV6_CHARS.test(host)) return "expected an IPv6 address inside [ ]";
  } else {
    const i = text.lastIndexOf(":");
    if (i < 0) return "expected host:port";
    host = text.slice(0, i);
    portText = text.slice(i + 1);
    if (host.includes(":")) return "an IPv6 address needs brackets, e.g. [::1]:5432";
    if (host === "") host = defaultHost;
    else if (!HOST_CHARS.test(host)) return "expected host:port";
  }
  const min = opts.allowZeroPort ? 0 : 1;
  if (!/^\d{1,5}$/.test(portText)) return `expected host:port with a port ${min}-65535`;
  const port = Number(portText);
  if (port < min || port > 65535) return `port must be ${min}-65535`;
  return { host, port };
}

/** Parses an address for config key `key`; throws ConfigError("<key>: expected host:port, got ..."). */
export function parseHostPort(key: string, value: unknown, opts: HostPortOptions = {}): HostPort {
  const r = hostPortOrReason(value, opts);
  if (typeof r === "string") throw new ConfigError(key, `${key}: ${r}, got ${showValue(value, key)}`);
  return r;
}
