/**
 * POST /api/chat (PRODUCT.md section 6): `{mode: "database"|"general", protocol?, message}` →
 * `{mode, protocol, sql?, columns?, rows?, answer, source, refused?}`.
 * Database mode connects to the proxy's own upstreams as the `chat` config section says
 * (DBAGPT_CHAT_PG_URL / DBAGPT_CHAT_MYSQL_URL override it as URLs).
 */
import type { AiStatus } from "../ai/status.js";
import type { ChatLlm } from "../chat/llm.js";
import { OllamaChatLlm } from "../chat/llm.js";
import type { ChatTarget, RunOptions } from "../chat/runner.js";
import { type ChatMode, ChatService } from "../chat/service.js";
import type { Config } from "../config/types.js";
import type { Protocol } from "../errors/types.js";
import type { Endpoint } from "../util/host-port.js";
import { HttpError, type Router } from "./http.js";

export interface ChatRouteDeps {
  config: () => Config;
  /** the upstreams the proxy relays to (PostgreSQL: the embedded one when none is configured) */
  upstreams: () => { postgres: Endpoint | null; mysql: Endpoint | null };
  aiStatus: () => AiStatus;
  env?: NodeJS.ProcessEnv;
  /** replaces the Ollama client (tests) */
  llm?: ChatLlm | null;
  runOptions?: RunOptions;
}

const MAX_MESSAGE = 4000;

function fromUrl(protocol: Protocol, raw: string, fallback: Endpoint | null): ChatTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    const name = protocol === "postgres" ? "DBAGPT_CHAT_PG_URL" : "DBAGPT_CHAT_MYSQL_URL";
    throw new HttpError(
      400,
      `${name} is not a URL (expected ${protocol}://user:password@host:port/database)`,
    );
  }
  return {
    protocol,
    host: u.hostname || fallback?.host || "127.0.0.1",
    port: Number(u.port) || fallback?.port || (protocol === "postgres" ? 5432 : 3306),
    user: decodeURIComponent(u.username) || (protocol === "postgres" ? "postgres" : "root"),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")),
  };
}

/** Where database-mode chat connects for `protocol`, or null when the proxy has no such upstream. */
export function chatTarget(
  protocol: Protocol,
  config: Config,
  upstream: Endpoint | null,
  env: NodeJS.ProcessEnv,
): ChatTarget | null {
  const url = protocol === "postgres" ? env.DBAGPT_CHAT_PG_URL : env.DBAGPT_CHAT_MYSQL_URL;
  if (url) return fromUrl(protocol, url, upstream);
  if (!upstream) return null;
  const c = config.chat[protocol];
  // credentials mode: a configured user's password when the chat user is one of them
  const password = c.password || config.auth.users.find((u) => u.user === c.user)?.password || "";
  return { protocol, host: upstream.host, port: upstream.port, user: c.user, password, database: c.database };
}

export function addChatRoutes(router: Router, deps: ChatRouteDeps): ChatService {
  const env = deps.env ?? process.env;
  let ollama: { key: string; llm: ChatLlm } | null = null;
  const llm = (): ChatLlm | null => {
    if (deps.llm !== undefined) return deps.llm;
    if (deps.aiStatus() !== "ready") return null;
    const ai = deps.config().ai;
    const key = `${ai.ollamaHost}|${ai.model}|${ai.timeoutMs}|${ai.keepAlive}`;
    if (ollama?.key !== key) {
      ollama = {
        key,
        llm: new OllamaChatLlm({
          host: ai.ollamaHost,
          model: ai.model,
          timeoutMs: ai.timeoutMs,
          keepAlive: ai.keepAlive,
        }),
      };
    }
    return ollama.llm;
  };
  const service = new ChatService({
    target: (p) => chatTarget(p, deps.config(), deps.upstreams()[p], env),
    protocols: () => {
      const up = deps.upstreams();
      return (["postgres", "mysql"] as const).filter(
        (p) => up[p] !== null || (p === "postgres" ? env.DBAGPT_CHAT_PG_URL : env.DBAGPT_CHAT_MYSQL_URL),
      );
    },
    llm,
    runOptions: deps.runOptions,
  });

  router.add("POST", "/api/chat", async (req) => {
    const b = req.body;
    if (b === null || typeof b !== "object" || Array.isArray(b)) {
      throw new HttpError(400, "request body must be a JSON object {mode, protocol?, message}");
    }
    const o = b as Record<string, unknown>;
    const mode = o.mode ?? "database";
    if (mode !== "database" && mode !== "general")
      throw new HttpError(400, 'mode must be "database" or "general"');
    const protocol = o.protocol ?? undefined;
    if (protocol !== undefined && protocol !== null && protocol !== "postgres" && protocol !== "mysql") {
      throw new HttpError(400, 'protocol must be "postgres" or "mysql"');
    }
    const message = o.message;
    if (typeof message !== "string" || message.trim() === "")
      throw new HttpError(400, "message must be a non-empty string");
    if (message.length > MAX_MESSAGE)
      throw new HttpError(400, `message is longer than ${MAX_MESSAGE} characters`);
    return service.handle({
      mode: mode as ChatMode,
      protocol: (protocol ?? undefined) as Protocol | undefined,
      message,
    });
  });
  return service;
}
