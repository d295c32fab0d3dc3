import { randomBytes } from "node:crypto";
import type net from "node:net";
import { decodeErrorFields } from "../../protocol/postgres/backend.js";
import { BackendMessage } from "../../protocol/postgres/constants.js";
import { encodeQuery, encodeSync } from "../../protocol/postgres/encode.js";
import { PgFramer } from "../../protocol/postgres/framer.js";
import {
  AuthFailure,
  decodeSaslInitial,
  encodeAuthMd5,
  encodeAuthSasl,
  encodeAuthSaslContinue,
  md5Matches,
  ScramServer,
  type ScramSecret,
  scramSecret,
} from "./pg-auth.js";

export interface ConfiguredUser {
  user: string;
  password: string;
}

const secrets = new Map<string, ScramSecret>();

/** SCRAM secrets per user, derived once per process (PBKDF2 is deliberately slow). */
function secretFor(user: string, password: string): ScramSecret {
  const key = `${user}\0${password}`;
  let s = secrets.get(key);
  if (!s) {
    s = scramSecret(password);
    secrets.set(key, s);
  }
  return s;
}

// An unknown user still goes through the whole exchange and fails at the end, like PostgreSQL.
const NOBODY = scramSecret(randomBytes(16).toString("hex"));

/**
 * The proxy's side of a client login in credentials mode. `start` gives the first Authentication
 * request; each PasswordMessage-family frame gives the next reply, until `done` (the password was
 * right: the caller opens the upstream, then sends `finalMessage` + AuthenticationOk) or an AuthFailure.
 */
export class ClientLogin {
  private scram: ScramServer | null = null;
  private readonly salt = randomBytes(4);
  private stage: "initial" | "continue" | "md5" | "done" = "initial";
  /** SCRAM server-final-message to send before AuthenticationOk */
  finalMessage: string | null = null;

  constructor(
    private readonly method: "scram-sha-256" | "md5",
    private readonly user: string,
    private readonly account: ConfiguredUser | undefined,
  ) {}

  get done(): boolean {
    return this.stage === "done";
  }

  start(): Buffer {
    if (this.method === "md5") {
      this.stage = "md5";
      return encodeAuthMd5(this.salt);
    }
    this.scram = new ScramServer(this.account ? secretFor(this.account.user, this.account.password) : NOBODY);
    return encodeAuthSasl(["SCRAM-SHA-256"]);
  }

  /** One 'p' frame from the client → the reply to send (or null when done). Throws AuthFailure. */
  next(buf: Buffer, start: number, end: number): Buffer | null {
    switch (this.stage) {
      case "md5": {
        const nul = buf.indexOf(0, start);
        const given = buf.toString("utf8", start, nul < 0 || nul > end ? end : nul);
        if (!this.account || !md5Matches(this.user, this.account.password, this.salt, given)) {
          throw new AuthFailure(`password authentication failed for user "${this.user}"`);
        }
        this.stage = "done";
        return null;
      }
      case "initial": {
        const { mechanism, data } = decodeSaslInitial(buf, start, end);
        if (mechanism !== "SCRAM-SHA-256") throw new AuthFailure(`unsupported SASL mechanism "${mechanism}"`);
        this.stage = "continue";
        return encodeAuthSaslContinue((this.scram as ScramServer).first(data));
      }
      case "continue": {
        try {
          this.finalMessage = (this.scram as ScramServer).final(buf.toString("utf8", start, end));
        } catch {
          throw new AuthFailure(`password authentication failed for user "${this.user}"`);
        }
        if (!this.account) throw new AuthFailure(`password authentication failed for user "${this.user}"`);
        this.stage = "done";
        return null;
      }
      default:
        throw new AuthFailure("unexpected password message");
    }
  }
}

const SET_RE =
  /^\s*set\s+(?:session\s+)?(?!local\b|transaction\b|session\s+characteristics\b)(time\s+zone|[a-z_][a-z0-9_.]*)/i;
const RESET_RE = /^\s*reset\s+(all|[a-z_][a-z0-9_.]*)\s*;?\s*$/i;
const PREPARE_RE = /^\s*prepare\s+([a-z_][a-z0-9_]*)/i;
const DEALLOCATE_RE = /^\s*deallocate\s+(?:prepare\s+)?(all|[a-z_][a-z0-9_]*)\s*;?\s*$/i;
const DISCARD_ALL_RE = /^\s*discard\s+all\s*;?\s*$/i;

/**
 * What a client changed in its session and a new upstream connection must get back before the
 * client's next statement: SET variables (search_path included), SQL-level PREPAREd statements and
 * protocol-level named prepared statements (their Parse frames). The current database is part of the
 * startup parameters.
 */
export class SessionState {
  private readonly settings = new Map<string, string>();
  private readonly sqlPrepared = new Map<string, string>();
  private readonly parses = new Map<string, Buffer>();

  /** A simple Query the client sent (single statements only; multi-statement strings are left alone). */
  onQuery(sql: string): void {
    const body = sql.trim().replace(/;\s*$/, "");
    if (body.includes(";")) return;
    let m = SET_RE.exec(body);
    if (m) {
      this.settings.set((m[1] as string).toLowerCase().replace(/\s+/g, " "), body);
      return;
    }
    m = RESET_RE.exec(body);
    if (m) {
      const name = (m[1] as string).toLowerCase();
      if (name === "all") this.settings.clear();
      else this.settings.delete(name);
      return;
    }
    m = PREPARE_RE.exec(body);
    if (m) {
      this.sqlPrepared.set((m[1] as string).toLowerCase(), body);
      return;
    }
    m = DEALLOCATE_RE.exec(body);
    if (m) {
      const name = (m[1] as string).toLowerCase();
      if (name === "all") this.sqlPrepared.clear();
      else this.sqlPrepared.delete(name);
      return;
    }
    if (DISCARD_ALL_RE.test(body)) {
      this.settings.clear();
      this.sqlPrepared.clear();
      this.parses.clear();
    }
  }

  /** A named Parse (the whole frame, copied) */
  onParse(name: string, frame: Buffer): void {
    if (name !== "") this.parses.set(name, frame);
  }

  onCloseStatement(name: string): void {
    this.parses.delete(name);
  }

  get empty(): boolean {
    return this.settings.size === 0 && this.sqlPrepared.size === 0 && this.parses.size === 0;
  }

  describe(): string {
    return `${this.settings.size} setting(s), ${this.sqlPrepared.size + this.parses.size} prepared statement(s)`;
  }

  /** The frames that rebuild this state on a fresh connection, and how many ReadyForQuery they answer. */
  restoreFrames(): { bytes: Buffer; readyCount: number } {
    const frames: Buffer[] = [];
    let readyCount = 0;
    for (const sql of [...this.settings.values(), ...this.sqlPrepared.values()]) {
      frames.push(encodeQuery(sql));
      readyCount++;
    }
    if (this.parses.size > 0) {
      frames.push(...this.parses.values(), encodeSync());
      readyCount++;
    }
    return { bytes: Buffer.concat(frames), readyCount };
  }
}

/**
 * Send the restore frames on a fresh (paused) upstream socket and swallow the answers. Resolves with
 * the errors the server reported (restoring goes on past them), leaves the socket paused.
 */
export function restoreOn(socket: net.Socket, state: SessionState, timeoutMs: number): Promise<string[]> {
  const { bytes, readyCount } = state.restoreFrames();
  if (readyCount === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const framer = new PgFramer({
      side: "backend",
      interest: [BackendMessage.ReadyForQuery, BackendMessage.ErrorResponse],
    });
    const errors: string[] = [];
    let seen = 0;
    const timer = setTimeout(
      () => finish(new Error(`restoring the session timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(errors);
    };
    const onClose = () => finish(new Error("the upstream closed while the session was being restored"));
    const onData = (chunk: Buffer) => {
      framer.push(chunk, (type, buf, start, end) => {
        if (type === BackendMessage.ErrorResponse) {
          const f = decodeErrorFields(buf, start, end);
          errors.push(`${f.code}: ${f.message}`);
        } else if (++seen === readyCount) finish();
      });
    };
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.resume();
    socket.write(bytes);
  });
}

/**
 * A statement that cannot write, so re-running it after a lost connection is safe. Conservative and
 * shared by both protocols: row locks, sequence bumps, session-affecting and side-effect functions of
 * PostgreSQL and MySQL (GET_LOCK, SLEEP, LOAD_FILE, ...) all count as writes.
 */
export function isReadOnlyStatement(sql: string | undefined): boolean {
  if (!sql) return false;
  const s = sql.trim().replace(/;\s*$/, "").toLowerCase();
  if (s.includes(";")) return false;
  if (!/^(select|show|values|table)\b/.test(s)) return false;
  // row locks, sequence bumps and functions with side effects are writes
  return !/\b(for\s+(update|share|no\s+key|key)|lock\s+in\s+share\s+mode|nextval|setval|pg_terminate_backend|pg_cancel_backend|set_config|lo_\w+|dblink\w*|pg_advisory\w*|pg_notify|into|get_lock|release_lock|release_all_locks|load_file|master_pos_wait|last_insert_id)\b/.test(
    s,
  );
}
