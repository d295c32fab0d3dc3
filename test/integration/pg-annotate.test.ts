import net from "node:net";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { encodeQuery, encodeStartup } from "../../protocol/postgres/encode.js";
import { startTestProxy, type TestProxy } from "../support/proxy.js";
import { pgEndpoint } from "../support/servers.js";

let proxy: TestProxy | null = null;

afterEach(async () => {
  await proxy?.stop();
  proxy = null;
});

const READY_IDLE = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);

/** Log in over a raw socket, send one Query, and return the exact bytes of its answer. */
async function rawAnswer(port: number, sql: string): Promise<Buffer> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  let got = Buffer.alloc(0);
  let waiter: (() => void) | null = null;
  socket.on("data", (d: Buffer) => {
    got = Buffer.concat([got, d]);
    if (got.includes(READY_IDLE)) waiter?.();
  });
  const ready = () =>
    new Promise<void>((resolve) => {
      waiter = resolve;
      if (got.includes(READY_IDLE)) resolve();
    });
  await new Promise<void>((r) => socket.once("connect", () => r()));
  socket.write(encodeStartup({ user: "postgres", database: "test" }));
  await ready();
  got = Buffer.alloc(0);
  socket.write(encodeQuery(sql));
  await ready();
  socket.destroy();
  return got;
}

describe("ai.annotateErrors (PostgreSQL)", () => {
  it("on: the ErrorResponse gains a HINT with the one-line fix, and pg still parses the error", async () => {
    proxy = await startTestProxy((c) => {
      c.ai.annotateErrors = true;
    });
    const c = new pg.Client({ connectionString: proxy.pgUrl() });
    await c.connect();
    try {
      const err = await c.query("SELECT * FROM annotate_missing_orders").then(
        () => null,
        (e: { code?: string; message: string; hint?: string }) => e,
      );
      expect(err?.code).toBe("42P01");
      expect(err?.message).toBe('relation "annotate_missing_orders" does not exist');
      expect(err?.hint).toMatch(/^DBA-GPT: /);
      expect(err?.hint?.length).toBeGreaterThan(20);
      // the connection is in a good state after the rewritten frame
      expect((await c.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    } finally {
      await c.end();
    }
  });

  it("off (the default): the client receives exactly the server's bytes", async () => {
    proxy = await startTestProxy();
    const up = pgEndpoint();
    const sql = "SELECT * FROM annotate_missing_items";
    const direct = await rawAnswer(up.port, sql);
    const proxied = await rawAnswer(proxy.pgPort, sql);
    expect(direct[0]).toBe(0x45);
    expect(proxied.equals(direct)).toBe(true);
  });
});
