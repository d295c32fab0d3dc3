/**
 * The only error a codec may throw. A ProtocolError means the bytes from one peer
 * cannot be a valid stream: the session that owns them closes that one connection
 * (and counts it); the proxy and every other session go on.
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  constructor(
    message: string,
    /** short machine-readable reason, used as a metrics label */
    readonly reason: string = "malformed",
  ) {
    super(message);
  }
}
