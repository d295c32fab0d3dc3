import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** The scramble a server sends: 20 printable-ish bytes without NUL (clients stop at a NUL). */
export function newScramble(): Buffer {
  const b = randomBytes(20);
  for (let i = 0; i < b.length; i++) b[i] = 0x21 + ((b[i] as number) % 0x5e); // '!'..'~'
  return b;
}

const sha1 = (...parts: Buffer[]): Buffer => {
  const h = createHash("sha1");
  for (const p of parts) h.update(p);
  return h.digest();
};

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i % b.length] as number);
  return out;
}

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); empty for an empty password. */
export function nativePasswordResponse(password: string, scramble: Buffer): Buffer {
  if (password === "") return Buffer.alloc(0);
  const s1 = sha1(Buffer.from(password, "utf8"));
  return xor(s1, sha1(scramble.subarray(0, 20), sha1(s1)));
}

/** caching_sha2_password fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble). */
export function cachingSha2Response(password: string, scramble: Buffer): Buffer {
  if (password === "") return Buffer.alloc(0);
  const s1 = sha256(Buffer.from(password, "utf8"));
  return xor(s1, sha256(sha256(s1), scramble.subarray(0, 20)));
}

/** Does the client's answer prove it knows `password` (for the plugin it used)? Constant time. */
export function passwordMatches(
  plugin: "mysql_native_password" | "caching_sha2_password",
  password: string,
  scramble: Buffer,
  given: Buffer,
): boolean {
  const want =
    plugin === "mysql_native_password"
      ? nativePasswordResponse(password, scramble)
      : cachingSha2Response(password, scramble);
  return want.length === given.length && (want.length === 0 || timingSafeEqual(want, given));
}
