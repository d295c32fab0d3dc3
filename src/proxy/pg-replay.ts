import { decodeParse } from "../../protocol/postgres/frontend.js";
import { BackendMessage, FrontendMessage } from "../../protocol/postgres/constants.js";
import { PgFramer } from "../../protocol/postgres/framer.js";

export interface ReplayPlan {
  /** the frames to send again */
  bytes: Buffer;
  /** named Parse frames left out because the failed attempt already created them */
  skippedParses: number;
}

/**
 * What to re-send for a failed request unit (a simple Query, or an extended-protocol batch up to its
 * Sync). Named prepared statements the failed attempt already parsed (its response carried their
 * ParseComplete before the error) survive the error, so parsing them again would fail with 42P05: they
 * are left out, and the session answers ParseComplete for them itself. Runs on the error path only.
 */
export function replayPlan(unit: Buffer[], start: number, end: number, failedResponse: Buffer[]): ReplayPlan {
  const pieces: Buffer[] = [];
  unit.forEach((chunk, i) => {
    const from = i === 0 ? start : 0;
    const to = i === unit.length - 1 ? end : chunk.length;
    pieces.push(chunk.subarray(from, to));
  });
  const bytes = Buffer.concat(pieces);

  // How many Parse frames completed before the error?
  let parsed = 0;
  let errored = false;
  const resp = new PgFramer({
    side: "backend",
    interest: [BackendMessage.ParseComplete, BackendMessage.ErrorResponse],
  });
  for (const chunk of failedResponse) {
    resp.push(chunk, (type) => {
      if (errored) return;
      if (type === BackendMessage.ErrorResponse) errored = true;
      else parsed++;
    });
  }
  if (parsed === 0) return { bytes, skippedParses: 0 };

  const keep: Buffer[] = [];
  let seenParses = 0;
  let skipped = 0;
  let frameStart = 0;
  const framer = new PgFramer({ side: "backend", interest: "all" });
  framer.push(bytes, (type, buf, s, e) => {
    const frameEnd = framer.frameEnd;
    let drop = false;
    if (type === FrontendMessage.Parse) {
      seenParses++;
      if (seenParses <= parsed && decodeParse(buf, s, e).name !== "") drop = true;
    }
    if (drop) skipped++;
    else keep.push(bytes.subarray(frameStart, frameEnd));
    frameStart = frameEnd;
  });
  return { bytes: skipped > 0 ? Buffer.concat(keep) : bytes, skippedParses: skipped };
}
