import { createServer, type Server, type Socket } from "node:net";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { decodeErrorFields, type PgErrorFields } from "../../protocol/postgres/backend.js";
import {
  encodeAuthenticationOk,
  encodeErrorResponse,
  encodeReadyForQuery,
  encodeStartup,
  encodeQuery,
} from "../../protocol/postgres/encode.js";
import {
  CLIENT_LONG_PASSWORD,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PROTOCOL_41,
  CLIENT_SECURE_CONNECTION,
  CLIENT_TRANSACTIONS,
  encodeErr,
  encodeHandshakeV10,
  encodePacket,
} from "../../protocol/mysql/index.js";
import {
  annotateMysqlErrMessage,
  annotatePgError,
  MAX_FIX_LENGTH,
  oneLineFix,
} from "../../src/ai/annotate.js";
import { MYSQL_URL, pgEndpoint } from "../support/servers.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

async function listen(s: Server): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const addr = s.address();
  if (addr === null || typeof addr === "string") throw new Error("no port");
  return addr.port;
}

/** The raw ErrorResponse frame the real PostgreSQL sends for a missing table. */
async function realPgErrorFrame(): Promise<Buffer> {
  const { host, port } = pgEndpoint();
  const net = await import("node:net");
  const sock = net.connect(port, host);
  sock.write(encodeStartup({ user: "postgres", database: "test" }));
  let buf = Buffer.alloc(0);
  let sentQuery = false;
  try {
    for await (const chunk of sock) {
      buf = Buffer.concat([buf, chunk as Buffer]);
      for (;;) {
        if (buf.length < 5) break;
        const len = buf.readUInt32BE(1);
        if (buf.length < 1 + len) break;
        const frame = buf.subarray(0, 1 + len);
        buf = buf.subarray(1 + len);
        const type = String.fromCharCode(frame[0] as number);
        if (type === "Z" && !sentQuery) {
          sentQuery = true;
          sock.write(encodeQuery("SELECT * FROM annotate_no_such_table"));
        } else if (type === "E") {
          if (!sentQuery) throw new Error("login failed");
          return Buffer.from(frame);
        }
      }
    }
  } finally {
    sock.destroy();
  }
  throw new Error("no ErrorResponse");
}

function fieldsOf(frame: Buffer): PgErrorFields {
  return decodeErrorFields(frame, 5, frame.length);
}

/** A stand-in PostgreSQL that logs anyone in and answers every query with the given ErrorResponse. */
async function pgServerAnswering(errorFrame: Buffer): Promise<number> {
  const s = createServer((sock: Socket) => {
    let started = false;
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (!started) {
          if (buf.length < 4) return;
          const len = buf.readUInt32BE(0);
          if (buf.length < len) return;
          buf = buf.subarray(len);
          started = true;
          sock.write(Buffer.concat([encodeAuthenticationOk(), encodeReadyForQuery("I")]));
          continue;
        }
        if (buf.length < 5) return;
        const len = buf.readUInt32BE(1);
        if (buf.length < 1 + len) return;
        const type = buf[0];
        buf = buf.subarray(1 + len);
        if (type === 0x51) sock.write(Buffer.concat([errorFrame, encodeReadyForQuery("I")]));
        if (type === 0x58) sock.end();
      }
    });
    sock.on("error", () => {});
  });
  return listen(s);
}

/** A stand-in MySQL server: greets with mysql_native_password, accepts the login, answers queries with ERR. */
async function mysqlServerAnswering(err: {
  code: number;
  sqlstate: string;
  message: string;
}): Promise<number> {
  const caps =
    CLIENT_LONG_PASSWORD |
    CLIENT_PROTOCOL_41 |
    CLIENT_SECURE_CONNECTION |
    CLIENT_PLUGIN_AUTH |
    CLIENT_TRANSACTIONS;
  const s = createServer((sock: Socket) => {
    sock.write(
      encodePacket(
        encodeHandshakeV10({
          protocolVersion: 10,
          serverVersion: "5.5.5-10.11.0-MariaDB-fake",
          connectionId: 7,
          authPluginData: Buffer.alloc(20, 0x41),
          capabilities: caps,
          charset: 45,
          statusFlags: 2,
          authPluginName: "mysql_native_password",
          authPluginDataLength: 21,
        }),
        0,
      ),
    );
    let loggedIn = false;
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const len = buf.readUIntLE(0, 3);
        if (buf.length < 4 + len) return;
        const seq = buf[3] as number;
        const cmd = buf[4];
        buf = buf.subarray(4 + len);
        if (!loggedIn) {
          loggedIn = true;
          sock.write(encodePacket(Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]), seq + 1));
        } else if (cmd === 0x01) {
          sock.end();
        } else {
          sock.write(encodeErr(err, 1));
        }
      }
    });
    sock.on("error", () => {});
  });
  return listen(s);
}

describe("oneLineFix", () => {
  it("gives the first immediate step from the knowledge base, with its SQL when complete and short", () => {
    expect(oneLineFix("mysql", "1146", "Table 'test.orders' doesn't exist")).toBe(
      "Check available tables with a similar name: SHOW TABLES LIKE '%orders%';",
    );
    expect(oneLineFix("postgres", "40P01", "deadlock detected")).toMatch(/^Retry the whole transaction/);
  });

  it("leaves out SQL that still has <placeholders>", () => {
    const fix = oneLineFix("mysql", "1062", "Duplicate entry 'a@b' for key 'uk_email'");
    expect(fix).toMatch(/^Find the existing row/);
    expect(fix).not.toMatch(/</);
    expect(fix).not.toContain("a@b");
  });

  it("is null when the knowledge base knows nothing specific, and never longer than the bound", () => {
    expect(oneLineFix("postgres", "XX999", "weird")).toBeNull();
    for (const [p, c, m] of [
      [
        "postgres",
        "42P01",
        'relation "a_really_long_table_name_for_testing_the_bound_of_the_fix" does not exist',
      ],
      ["postgres", "23505", 'duplicate key value violates unique constraint "users_email_key"'],
      ["mysql", "1213", "Deadlock found when trying to get lock; try restarting transaction"],
    ] as const) {
      const fix = oneLineFix(p, c, m);
      expect(fix).not.toBeNull();
      expect(fix?.length).toBeLessThanOrEqual(MAX_FIX_LENGTH);
      expect(fix).not.toContain("\n");
    }
  });
});

describe("annotatePgError", () => {
  it("off: the fields (and so the bytes) stay exactly as the server sent them", async () => {
    const frame = await realPgErrorFrame();
    const fields = fieldsOf(frame);
    expect(annotatePgError(fields, null)).toBe(fields);
    expect(encodeErrorResponse(fields).equals(frame)).toBe(true);
  });

  it("on: a real PostgreSQL error gains a HINT that node-postgres reads, everything else unchanged", async () => {
    const frame = await realPgErrorFrame();
    const fields = fieldsOf(frame);
    const annotated = annotatePgError(fields);
    expect(annotated.hint).toMatch(/^DBA-GPT: /);
    const port = await pgServerAnswering(encodeErrorResponse(annotated));
    const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "test" });
    await client.connect();
    try {
      const err = (await client.query("SELECT 1").catch((e: unknown) => e)) as pg.DatabaseError;
      expect(err).toBeInstanceOf(pg.DatabaseError);
      expect(err.code).toBe("42P01");
      expect(err.message).toBe(fields.message);
      expect(err.hint).toBe(annotated.hint);
      expect(err.position).toBe(fields.position);
      expect(err.routine).toBe(fields.routine);
    } finally {
      await client.end();
    }
  });

  it("keeps the server's own hint first", () => {
    const f: PgErrorFields = {
      severity: "ERROR",
      code: "42703",
      message: 'column "nme" does not exist',
      hint: 'Perhaps you meant to reference the column "users.name".',
    };
    const a = annotatePgError(f, "List the columns the table really has");
    expect(a.hint).toBe(`${f.hint}\nDBA-GPT: List the columns the table really has`);
    expect(f.hint).toBe('Perhaps you meant to reference the column "users.name".');
  });
});

describe("annotateMysqlErrMessage", () => {
  it("off: no fix, the message is unchanged and the ERR packet bytes equal", () => {
    const msg = "Table 'test.orders' doesn't exist";
    expect(annotateMysqlErrMessage(msg, null)).toBe(msg);
    expect(
      encodeErr({ code: 1146, sqlstate: "42S02", message: annotateMysqlErrMessage(msg, null) }, 1).equals(
        encodeErr({ code: 1146, sqlstate: "42S02", message: msg }, 1),
      ),
    ).toBe(true);
  });

  it("on: a real MariaDB error keeps code and SQLSTATE and gains the suffix mysql2 reports", async () => {
    const direct = await mysql.createConnection(MYSQL_URL);
    const real = (await direct.query("SELECT * FROM annotate_no_such_table").catch((e: unknown) => e)) as {
      errno: number;
      sqlState: string;
      sqlMessage: string;
    };
    await direct.end();
    expect(real.errno).toBe(1146);
    const fix = oneLineFix("mysql", String(real.errno), real.sqlMessage);
    const message = annotateMysqlErrMessage(real.sqlMessage, fix);
    expect(message.startsWith(`${real.sqlMessage} [DBA-GPT: `)).toBe(true);
    const port = await mysqlServerAnswering({ code: real.errno, sqlstate: real.sqlState, message });
    const conn = await mysql.createConnection({ host: "127.0.0.1", port, user: "root" });
    try {
      const err = (await conn.query("SELECT * FROM annotate_no_such_table").catch((e: unknown) => e)) as {
        errno: number;
        code: string;
        sqlState: string;
        sqlMessage: string;
      };
      expect(err.errno).toBe(1146);
      expect(err.code).toBe("ER_NO_SUCH_TABLE");
      expect(err.sqlState).toBe("42S02");
      expect(err.sqlMessage).toBe(message);
      expect(err.sqlMessage).toContain("SHOW TABLES LIKE '%annotate\\\\_no\\\\_such\\\\_table%'");
    } finally {
      conn.destroy();
    }
  });
});
