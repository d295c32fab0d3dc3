import { pino } from "pino";

export type Logger = pino.Logger;

/** JSON lines on stdout. Passwords and query literals are never passed to the logger at info level. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "dba-gpt" }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** For tests and library use: a logger that writes nothing. */
export const silentLogger: Logger = pino({ level: "silent" });
