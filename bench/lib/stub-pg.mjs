// A PostgreSQL stand-in for the memory bench: answers every startup the way PostgreSQL 15 does
// under trust auth (AuthenticationOk, the usual ParameterStatus set, BackendKeyData,
// ReadyForQuery) and then keeps the connection idle. It needs no server slot per client, so
// 1,000 real logins through the proxy fit on a machine whose PostgreSQL allows 100.
import net from "node:net";

function msg(type, body) {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0, "latin1");
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

function cstrings(...parts) {
  return Buffer.from(`${parts.join("\0")}\0`, "utf8");
}

const PARAMS = {
  application_name: "",
  client_encoding: "UTF8",
  DateStyle: "ISO, MDY",
  default_transaction_read_only: "off",
  in_hot_standby: "off",
  integer_datetimes: "on",
  IntervalStyle: "postgres",
  is_superuser: "on",
  server_encoding: "UTF8",
  server_version: "15.20 (stub)",
  session_authorization: "postgres",
  standard_conforming_strings: "on",
  TimeZone: "Etc/UTC",
};

function startupReply(pid) {
  const auth = Buffer.alloc(4); // AuthenticationOk
  const key = Buffer.alloc(8);
  key.writeInt32BE(pid, 0);
  key.writeInt32BE(0x5eed, 4);
  return Buffer.concat([
    msg("R", auth),
    ...Object.entries(PARAMS).map(([k, v]) => msg("S", cstrings(k, v))),
    msg("K", key),
    msg("Z", Buffer.from("I")),
  ]);
}

/** Starts the stand-in on a loopback port. Returns { port, open(): number, close() }. */
export async function startStubPg() {
  let nextPid = 1000;
  const sockets = new Set();
  const server = net.createServer({ noDelay: true }, (sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => sock.destroy());
    let buf = Buffer.alloc(0);
    let started = false;
    sock.on("data", (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (!started) {
          if (buf.length < 8) return;
          const len = buf.readInt32BE(0);
          if (buf.length < len) return;
          const code = buf.readInt32BE(4);
          buf = buf.subarray(len);
          if (code === 80877103 || code === 80877104) {
            sock.write("N"); // SSLRequest / GSSENCRequest: no
          } else if (code === 80877102) {
            sock.destroy(); // CancelRequest: nothing to cancel
            return;
          } else {
            started = true;
            sock.write(startupReply(nextPid++));
          }
          continue;
        }
        if (buf.length < 5) return;
        const len = buf.readInt32BE(1);
        if (buf.length < 1 + len) return;
        const type = String.fromCharCode(buf[0]);
        buf = buf.subarray(1 + len);
        if (type === "X") {
          sock.end();
          return;
        }
        if (type === "Q") sock.write(Buffer.concat([msg("I", Buffer.alloc(0)), msg("Z", Buffer.from("I"))]));
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = /** @type {net.AddressInfo} */ (server.address());
  return {
    port,
    open: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
