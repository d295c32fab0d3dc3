import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * PostgreSQL password authentication for credentials mode: SCRAM-SHA-256 (RFC 5802 / 7677, as
 * PostgreSQL speaks it) and md5, both as the server (towards clients) and as the client (towards
 * the upstream). Pure functions and small state objects; the session moves the bytes.
 */

const ITERATIONS = 4096;

function hmac(key: Buffer, text: string): Buffer {
  return createHmac("sha256", key).update(text).digest();
}

function sha256(b: Buffer): Buffer {
  return createHash("sha256").update(b).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** Parse "k=v,k=v" attributes (values may contain '='). */
function attributes(msg: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of msg.split(",")) {
    const i = part.indexOf("=");
    if (i > 0) m.set(part.slice(0, i), part.slice(i + 1));
  }
  return m;
}

export class AuthFailure extends Error {}

/** Per-user server-side SCRAM secrets, derived once (PBKDF2 is slow on purpose). */
export interface ScramSecret {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function scramSecret(password: string, salt = randomBytes(16), iterations = ITERATIONS): ScramSecret {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  return {
    salt,
    iterations,
    storedKey: sha256(hmac(salted, "Client Key")),
    serverKey: hmac(salted, "Server Key"),
  };
}

/** The server side of one SCRAM-SHA-256 exchange. */
export class ScramServer {
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";
  private gs2 = "";

  constructor(private readonly secret: ScramSecret) {}

  /** client-first-message → server-first-message */
  first(clientFirst: string): string {
    const m = /^([ny]),([^,]*),(.*)$/.exec(clientFirst);
    if (!m) throw new AuthFailure("malformed SCRAM client-first-message (channel binding is not offered)");
    this.gs2 = `${m[1]},${m[2]},`;
    this.clientFirstBare = m[3] as string;
    const cnonce = attributes(this.clientFirstBare).get("r");
    if (!cnonce) throw new AuthFailure("SCRAM client-first-message without a nonce");
    this.nonce = cnonce + randomBytes(18).toString("base64");
    this.serverFirst = `r=${this.nonce},s=${this.secret.salt.toString("base64")},i=${this.secret.iterations}`;
    return this.serverFirst;
  }

  /** client-final-message → server-final-message, or AuthFailure when the proof is wrong */
  final(clientFinal: string): string {
    const a = attributes(clientFinal);
    const proof = a.get("p");
    if (a.get("r") !== this.nonce || !proof) throw new AuthFailure("SCRAM nonce mismatch");
    if (a.get("c") !== Buffer.from(this.gs2).toString("base64"))
      throw new AuthFailure("SCRAM channel binding mismatch");
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(",p="));
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.secret.storedKey, authMessage);
    const proofBytes = Buffer.from(proof, "base64");
    if (proofBytes.length !== clientSignature.length)
      throw new AuthFailure("SCRAM proof has the wrong length");
    const clientKey = xor(proofBytes, clientSignature);
    if (!timingSafeEqual(sha256(clientKey), this.secret.storedKey))
      throw new AuthFailure("password authentication failed");
    return `v=${hmac(this.secret.serverKey, authMessage).toString("base64")}`;
  }
}

/** The client side of SCRAM-SHA-256 towards the upstream. */
export class ScramClient {
  private readonly cnonce = randomBytes(18).toString("base64");
  private clientFirstBare = "";
  private expectedServerSignature: Buffer | null = null;

  constructor(private readonly password: string) {}

  first(): string {
    this.clientFirstBare = `n=*,r=${this.cnonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  final(serverFirst: string): string {
    const a = attributes(serverFirst);
    const nonce = a.get("r");
    const salt = a.get("s");
    const iterations = Number(a.get("i"));
    if (!nonce?.startsWith(this.cnonce) || !salt || !Number.isInteger(iterations) || iterations < 1) {
      throw new AuthFailure("malformed SCRAM server-first-message from the upstream");
    }
    const salted = pbkdf2Sync(
      this.password.normalize("NFKC"),
      Buffer.from(salt, "base64"),
      iterations,
      32,
      "sha256",
    );
    const clientKey = hmac(salted, "Client Key");
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.expectedServerSignature = hmac(hmac(salted, "Server Key"), authMessage);
    return `${withoutProof},p=${proof.toString("base64")}`;
  }

  verify(serverFinal: string): void {
    const v = attributes(serverFinal).get("v");
    if (
      !v ||
      !this.expectedServerSignature ||
      !timingSafeEqual(Buffer.from(v, "base64"), this.expectedServerSignature)
    ) {
      throw new AuthFailure("the upstream's SCRAM server signature does not match");
    }
  }
}

function md5hex(s: string | Buffer): string {
  return createHash("md5").update(s).digest("hex");
}

/** The md5 password response: "md5" + md5(md5(password + user) + salt). */
export function md5Response(user: string, password: string, salt: Buffer): string {
  return `md5${md5hex(Buffer.concat([Buffer.from(md5hex(password + user)), salt]))}`;
}

export function md5Matches(user: string, password: string, salt: Buffer, given: string): boolean {
  const want = Buffer.from(md5Response(user, password, salt));
  const got = Buffer.from(given);
  return want.length === got.length && timingSafeEqual(want, got);
}

// ---- Authentication* messages the proxy writes as a server ------------------------------------------

function authMessage(code: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b[0] = 0x52; // 'R'
  b.writeInt32BE(8 + payload.length, 1);
  b.writeInt32BE(code, 5);
  payload.copy(b, 9);
  return b;
}

export const encodeAuthOk = (): Buffer => authMessage(0);
export const encodeAuthMd5 = (salt: Buffer): Buffer => authMessage(5, salt);
export const encodeAuthSasl = (mechanisms: string[]): Buffer =>
  authMessage(10, Buffer.from(`${mechanisms.join("\0")}\0\0`));
export const encodeAuthSaslContinue = (data: string): Buffer => authMessage(11, Buffer.from(data));
export const encodeAuthSaslFinal = (data: string): Buffer => authMessage(12, Buffer.from(data));

/** A PasswordMessage-family frame from the client ('p'): SASLInitialResponse body → mechanism and data. */
export function decodeSaslInitial(
  buf: Buffer,
  start: number,
  end: number,
): { mechanism: string; data: string } {
  const nul = buf.indexOf(0, start);
  if (nul < 0 || nul + 5 > end) throw new AuthFailure("malformed SASLInitialResponse");
  const mechanism = buf.toString("utf8", start, nul);
  const len = buf.readInt32BE(nul + 1);
  const dataStart = nul + 5;
  if (len < 0 || dataStart + len > end) throw new AuthFailure("malformed SASLInitialResponse");
  return { mechanism, data: buf.toString("utf8", dataStart, dataStart + len) };
}

/** Frontend 'p' frames the proxy writes towards the upstream. */
export function encodePasswordFrame(body: Buffer): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b[0] = 0x70; // 'p'
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

export function encodeSaslInitialResponse(mechanism: string, data: string): Buffer {
  const mech = Buffer.from(`${mechanism}\0`);
  const d = Buffer.from(data);
  const len = Buffer.alloc(4);
  len.writeInt32BE(d.length, 0);
  return encodePasswordFrame(Buffer.concat([mech, len, d]));
}
