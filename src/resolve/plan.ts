import type { PolicyMode } from "../config/types.js";
import type { ErrorType, ResolutionSummary, Strategy } from "../errors/types.js";

/** What the strategy would do for this errorType, in words an operator reads on the dashboard. */
export function actionFor(errorType: ErrorType, strategy: Strategy): string {
  switch (strategy) {
    case "IMMEDIATE_FIX":
      switch (errorType) {
        case "CONNECTION_ERROR":
          return "reconnect upstream and restore session state (credentials mode), never replaying a write in flight";
        case "TOO_MANY_CONNECTIONS":
          return "hold the client's connect and retry the upstream with backoff";
        default:
          return "retry the statement transparently (autocommit), or replay the transaction when results match";
      }
    case "SELF_HEALING":
      if (errorType === "TABLE_NOT_FOUND")
        return "create the table from its schema template, then re-run the statement";
      return "apply the pattern's recorded fix";
    case "PREVENTIVE":
      return "propose preventive monitoring for this pattern";
    case "AI_POWERED":
      return "explain with the local LLM, or the knowledge base when it is unreachable";
  }
}

/** A dry run of the resolution: what would happen under the policy in force, without doing it. */
export function dryResolution(errorType: ErrorType, strategy: Strategy, mode: PolicyMode): ResolutionSummary {
  const action = actionFor(errorType, strategy);
  switch (mode) {
    case "off":
      return { strategy, action, outcome: "skipped", reason: `policy for ${errorType} is off` };
    case "observe":
      return { strategy, action, outcome: "observed", reason: "policy is observe: counted, not acted on" };
    case "suggest":
      return { strategy, action, outcome: "proposed", reason: "policy is suggest: an operator approves it" };
    case "apply":
      return { strategy, action, outcome: "pending", reason: "policy is apply: would be applied (dry run)" };
  }
}
