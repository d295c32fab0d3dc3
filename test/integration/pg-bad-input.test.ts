import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeStartup } from "../../protocol/postgres/encode.js";
import { startTestProxy, type TestProxy } from "../support/proxy.js";

let proxy: TestProxy;
let bystander: pg.Client;

beforeAll(async () => {
  proxy = await startTestProxy();
  bystander = new pg.Client({ connectionString: proxy.pgUrl() });
  await bystander.connect();
});

afterAll(async () => {
  await bystander.end();
  await proxy.stop();
});

/** Log in over a raw socket (trust auth) and wait for the first ReadyForQuery. */
async function rawSession(): Promise<{ socket: net.Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = net.connect(proxy.pgPort, "127.0.0.1");
  const chunks: Buffer[] = [];
  let ready: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  socket.on("data", (d) => {
    chunks.push(d);
    const all = Buffer.concat(chunks);
    // ReadyForQuery: 'Z' 0 0 0 5 'I'
    if (all.includes(Buffer.from([0x5a, 0, 0, 0, 5, 0x49]))) ready();
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("error", () => {});
  await new Promise<void>((r) => socket.once("connect", () => r()));
  socket.write(encodeStartup({ user: "postgres", database: "test" }));
  await isReady;
  chunks.length = 0;
  return { socket, received: () => Buffer.concat(chunks), closed };
}

async function protocolErrorCount(): Promise<number> {
  const res = await fetch(`${proxy.admin}/metrics`);
  const text = await res.text();
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("dbagpt_protocol_errors_total{") && line.includes('protocol="postgres"')) {
      n += Number(line.split(" ").pop());
    }
  }
  return n;
}

async function bystanderStillWorks(): Promise<void> {
  const r = await bystander.query("SELECT 7 * 6 AS answer");
  expect(r.rows[0].answer).toBe(42);
}

describe("hostile bytes from one PostgreSQL client", () => {
  it("garbage after startup closes only that client, with a protocol error, counted", async () => {
    const before = await protocolErrorCount();
    const s = await rawSession();
    s.socket.write(Buffer.from("this is not the postgres protocol at all, just text\n"));
    await s.closed;
    // the client was told why: an ErrorResponse with SQLSTATE 08P01
    expect(s.received()[0]).toBe(0x45);
    expect(s.received().toString("latin1")).toContain("08P01");
    expect(await protocolErrorCount()).toBe(before + 1);
    await bystanderStillWorks();
  });

  it("a frame length of 2^31 closes only that client, counted", async () => {
    const before = await protocolErrorCount();
    const s = await rawSession();
    s.socket.write(Buffer.from([0x51, 0x80, 0x00, 0x00, 0x00]));
    await s.closed;
    expect(s.received().toString("latin1")).toContain("08P01");
    expect(await protocolErrorCount()).toBe(before + 1);
    await bystanderStillWorks();
  });

  it("a truncated frame then close is counted and harms no one", async () => {
    const before = await protocolErrorCount();
    const s = await rawSession();
    // a Query frame announcing 100 bytes, of which 10 arrive, then the client goes away
    const frame = Buffer.alloc(15);
    frame[0] = 0x51;
    frame.writeInt32BE(100, 1);
    frame.write("SELECT 1; ", 5, "latin1");
    s.socket.end(frame);
    await s.closed;
    await expect.poll(protocolErrorCount, { timeout: 5000 }).toBe(before + 1);
    await bystanderStillWorks();
  });

  it("a bad startup length closes only that client", async () => {
    const before = await protocolErrorCount();
    const socket = net.connect(proxy.pgPort, "127.0.0.1");
    socket.on("error", () => {});
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.resume(); // read the ErrorResponse so the close is seen
    socket.write(Buffer.from([0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00]));
    await closed;
    expect(await protocolErrorCount()).toBe(before + 1);
    await bystanderStillWorks();
  });
});
