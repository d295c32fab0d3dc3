import { readFileSync } from "node:fs";
import { PgFramer, type PgFramerOptions } from "../../protocol/postgres/index.js";

/** A frame as a test sees it: type byte and a copy of the body. */
export interface SeenFrame {
  type: number;
  body: string; // hex, so toEqual diffs are readable
}

/** Bytes of a real pg-client session with the local server (see test/fixtures/pg/capture.mjs). */
export function fixture(name: "session-frontend" | "session-backend"): Buffer {
  const url = new URL(`../fixtures/pg/${name}.hex`, import.meta.url);
  return Buffer.from(readFileSync(url, "utf8").trim(), "hex");
}

/** Typed frame built by hand: type char, int32 length, body. */
export function frame(type: string, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const b = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const h = Buffer.alloc(5);
  h[0] = type.charCodeAt(0);
  h.writeInt32BE(b.length + 4, 1);
  return Buffer.concat([h, b]);
}

/** C string */
export function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, "utf8"), Buffer.from([0])]);
}

export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

export function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

/** Pushes the chunks through a fresh framer and returns every reported frame. */
export function frameAll(opts: PgFramerOptions, chunks: Buffer[]): SeenFrame[] {
  const f = new PgFramer(opts);
  const seen: SeenFrame[] = [];
  for (const c of chunks) {
    f.push(c, (type, buf, start, end) => {
      seen.push({ type, body: buf.toString("hex", start, end) });
    });
  }
  return seen;
}

/** Cuts buf at the given sorted offsets. */
export function cutAt(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

export function bytesOf(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1));
  return out;
}
