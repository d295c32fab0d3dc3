import type { ErrorType, Strategy } from "./types.js";

/** errorTypes resolved inline at once (PRODUCT.md section 4, rule 1) */
export const IMMEDIATE_TYPES: ReadonlySet<ErrorType> = new Set<ErrorType>([
  "CONNECTION_ERROR",
  "TOO_MANY_CONNECTIONS",
  "DEADLOCK",
  "SERIALIZATION_FAILURE",
  "LOCK_WAIT_TIMEOUT",
]);

export interface Thresholds {
  preventive: number;
  selfHealing: number;
}

/** PRODUCT.md section 4: the strategy for an occurrence, given how often its pattern has now been seen. */
export function pickStrategy(errorType: ErrorType, count: number, t: Thresholds): Strategy {
  if (IMMEDIATE_TYPES.has(errorType)) return "IMMEDIATE_FIX";
  if (count >= t.selfHealing) return "SELF_HEALING";
  if (count >= t.preventive) return "PREVENTIVE";
  return "AI_POWERED";
}
