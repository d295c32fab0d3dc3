import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OllamaChatLlm } from "../../src/chat/llm.js";
import type { ChatTarget } from "../../src/chat/runner.js";
import { ChatService } from "../../src/chat/service.js";

/** The LLM path of chat against a stand-in Ollama: its SQL still passes the read-only gate. */

let reply: { content: string; delayMs?: number } = { content: "{}" };
const requests: { messages: { role: string; content: string }[]; format?: unknown }[] = [];
let server: http.Server;
let host: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      requests.push(JSON.parse(body));
      const send = () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ model: "m", message: { role: "assistant", content: reply.content }, done: true }),
        );
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const target: ChatTarget = {
  protocol: "postgres",
  host: "127.0.0.1",
  port: 1,
  user: "u",
  password: "",
  database: "d",
};

function service(timeoutMs = 2000) {
  const ran: string[] = [];
  const llm = new OllamaChatLlm({ host, model: "m", timeoutMs });
  const svc = new ChatService({
    target: () => target,
    protocols: () => ["postgres"],
    llm: () => llm,
    run: async (_t, sql) => {
      ran.push(sql);
      return { columns: ["n"], rows: [[1]], truncated: false, durationMs: 1 };
    },
  });
  return { svc, ran };
}

describe("chat with an LLM", () => {
  it("runs the SQL the model writes when it is read-only, marked as from the LLM", async () => {
    reply = {
      content: JSON.stringify({ sql: "SELECT count(*) AS n FROM pg_stat_activity", explanation: "x" }),
    };
    const { svc, ran } = service();
    const r = await svc.handle({
      mode: "database",
      protocol: "postgres",
      message: "how busy is the server right now",
    });
    expect(r).toMatchObject({
      source: "llm",
      sql: "SELECT count(*) AS n FROM pg_stat_activity",
      rows: [[1]],
    });
    expect(ran).toEqual(["SELECT count(*) AS n FROM pg_stat_activity"]);
    const last = requests[requests.length - 1];
    expect(last?.format).toMatchObject({ required: ["sql", "explanation"] });
    expect(last?.messages.at(-1)?.content).toBe("how busy is the server right now");
  });

  it("refuses what the model writes when it is not read-only, and runs nothing", async () => {
    reply = { content: JSON.stringify({ sql: "DELETE FROM sessions", explanation: "cleans up" }) };
    const { svc, ran } = service();
    const r = await svc.handle({
      mode: "database",
      protocol: "postgres",
      message: "tidy up old sessions for me",
    });
    expect(r).toMatchObject({ source: "llm", refused: true, sql: "DELETE FROM sessions" });
    expect(ran).toEqual([]);
  });

  it("falls back to the built-in intents when the model is too slow or answers nonsense", async () => {
    reply = { content: JSON.stringify({ sql: "SELECT 1", explanation: "" }), delayMs: 1500 };
    const slow = service(150);
    const r = await slow.svc.handle({
      mode: "database",
      protocol: "postgres",
      message: "show me all tables in my database",
    });
    expect(r).toMatchObject({ source: "intent" });
    expect(r.sql).toMatch(/information_schema\.tables/);
    reply = { content: "not json" };
    const bad = service();
    const r2 = await bad.svc.handle({
      mode: "database",
      protocol: "postgres",
      message: "show me all tables in my database",
    });
    expect(r2.source).toBe("intent");
  });

  it("answers general questions with the model's text", async () => {
    reply = { content: "Use a B-tree index on the filtered column." };
    const { svc } = service();
    const r = await svc.handle({ mode: "general", message: "how do I speed up lookups by email?" });
    expect(r).toMatchObject({
      mode: "general",
      source: "llm",
      answer: "Use a B-tree index on the filtered column.",
    });
  });
});
