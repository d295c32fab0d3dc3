import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MysqlFramer } from "../../protocol/mysql/framer.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "mysql");

/** The chunks of one recorded direction, as they were read off the socket. */
export function loadChunks(session: string, side: "client" | "server"): Buffer[] {
  return readFileSync(join(dir, `${session}.${side}.hex`), "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => Buffer.from(l, "hex"));
}

export interface Packet {
  seq: number;
  payload: Buffer;
}

/** All packets of a stream, copied out of the framer. */
export function framePackets(chunks: Buffer[], framer = new MysqlFramer()): Packet[] {
  const out: Packet[] = [];
  for (const c of chunks) {
    framer.push(c, (seq, buf, start, end) =>
      out.push({ seq, payload: Buffer.from(buf.subarray(start, end)) }),
    );
  }
  return out;
}

/** A whole packet (header + payload) built by hand. */
export function packet(seq: number, payload: Buffer | number[]): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const h = Buffer.alloc(4);
  h.writeUIntLE(p.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, p]);
}
