/** The chunk with byte ranges [from, to) replaced by other bytes (annotated error frames), in order. */
export function spliceChunk(chunk: Buffer, replacements: readonly [number, number, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const [from, to, bytes] of replacements) {
    parts.push(chunk.subarray(at, from), bytes);
    at = to;
  }
  parts.push(chunk.subarray(at));
  return Buffer.concat(parts);
}
