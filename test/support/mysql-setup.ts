import mysql from "mysql2/promise";
import { MYSQL_URL } from "./servers.js";

/** Test users on the MariaDB/MySQL server (created idempotently, directly, not through the proxy). */
export const NATIVE_USER = { user: "dbagpt_native", password: "native-secret-1" };
export const ED25519_USER = { user: "dbagpt_ed25519", password: "ed25519-secret-2" };
/** A user with no privileges on the test tables (for 1142). */
export const LIMITED_USER = { user: "dbagpt_limited", password: "limited-secret-3" };

/** A connection straight to the server as the admin user of MYSQL_URL. */
export async function directConnection(
  opts: Partial<mysql.ConnectionOptions> = {},
): Promise<mysql.Connection> {
  const u = new URL(MYSQL_URL);
  return mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || "root"),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1) || "test",
    ...opts,
  });
}

/** Whether the server is MariaDB (ed25519 and progress reports are MariaDB's). */
export async function isMariaDb(c: mysql.Connection): Promise<boolean> {
  const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT VERSION() AS v");
  return String(rows[0]?.v).includes("MariaDB");
}

/**
 * Users for the authentication tests: a mysql_native_password user, an ed25519 user (MariaDB: the
 * auth_ed25519 plugin is installed when missing; if it cannot be loaded this throws, saying so), and
 * a user without table privileges. Idempotent. The ed25519 user only on request: drop it after
 * use (dropEd25519User).
 */
export async function setupMysqlUsers(opts: { ed25519?: boolean } = {}): Promise<void> {
  const c = await directConnection({ multipleStatements: true });
  try {
    const mariadb = await isMariaDb(c);
    for (const u of [NATIVE_USER, LIMITED_USER]) {
      await c.query(`CREATE USER IF NOT EXISTS '${u.user}'@'%'`);
      await c.query(
        mariadb
          ? `ALTER USER '${u.user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('${u.password}')`
          : `ALTER USER '${u.user}'@'%' IDENTIFIED WITH mysql_native_password BY '${u.password}'`,
      );
    }
    await c.query(`GRANT ALL ON test.* TO '${NATIVE_USER.user}'@'%'`);
    await c.query(`GRANT USAGE ON *.* TO '${LIMITED_USER.user}'@'%'`);
    if (!opts.ed25519) return;
    if (!mariadb) {
      throw new Error("the ed25519 test user needs MariaDB (MySQL has no auth_ed25519 plugin)");
    }
    const [plugins] = await c.query<mysql.RowDataPacket[]>(
      "SELECT PLUGIN_STATUS AS s FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'",
    );
    if (plugins.length === 0) {
      try {
        await c.query("INSTALL SONAME 'auth_ed25519'");
      } catch (e) {
        throw new Error(
          `MariaDB could not load the auth_ed25519 plugin (INSTALL SONAME 'auth_ed25519' failed: ${String(
            e,
          )}); the ed25519 authentication test cannot run without it`,
        );
      }
    }
    await c.query(`CREATE USER IF NOT EXISTS '${ED25519_USER.user}'@'%'`);
    await c.query(
      `ALTER USER '${ED25519_USER.user}'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('${ED25519_USER.password}')`,
    );
    await c.query(`GRANT ALL ON test.* TO '${ED25519_USER.user}'@'%'`);
  } finally {
    await c.end();
  }
}

/**
 * Drop the ed25519 user again. While an ed25519 account exists, MariaDB answers a login as an
 * unknown user with 1698 instead of 1045 (it fakes the unknown account with a plugin taken from
 * existing ones), which other tests rely on.
 */
export async function dropEd25519User(): Promise<void> {
  const c = await directConnection();
  try {
    await c.query(`DROP USER IF EXISTS '${ED25519_USER.user}'@'%'`);
  } finally {
    await c.end();
  }
}

/** A mysql_native_password user allowed one connection at a time (MAX_USER_CONNECTIONS 1). */
export const ONE_CONN_USER = { user: "dbagpt_oneconn", password: "oneconn-secret-4" };
/** A second schema the credentials tests switch to (USE) before a reconnect. */
export const OTHER_DB = "dbagpt_other";

/** ONE_CONN_USER and OTHER_DB (idempotent); NATIVE_USER may use OTHER_DB. */
export async function setupCredentialsFixtures(): Promise<void> {
  await setupMysqlUsers();
  const c = await directConnection();
  try {
    const mariadb = await isMariaDb(c);
    const u = ONE_CONN_USER;
    await c.query(`CREATE USER IF NOT EXISTS '${u.user}'@'%'`);
    await c.query(
      mariadb
        ? `ALTER USER '${u.user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('${u.password}') WITH MAX_USER_CONNECTIONS 1`
        : `ALTER USER '${u.user}'@'%' IDENTIFIED WITH mysql_native_password BY '${u.password}' WITH MAX_USER_CONNECTIONS 1`,
    );
    await c.query(`GRANT ALL ON test.* TO '${u.user}'@'%'`);
    await c.query(`CREATE DATABASE IF NOT EXISTS ${OTHER_DB}`);
    await c.query(`GRANT ALL ON ${OTHER_DB}.* TO '${NATIVE_USER.user}'@'%'`);
  } finally {
    await c.end();
  }
}

/**
 * Drop ONE_CONN_USER again: while an account with a resource limit exists, MariaDB answers a login as
 * an unknown user with 1698 instead of 1045 (like the ed25519 account), which other tests check.
 */
export async function dropCredentialsFixtures(): Promise<void> {
  const c = await directConnection();
  try {
    await c.query(`DROP USER IF EXISTS '${ONE_CONN_USER.user}'@'%'`);
    await c.query(`DROP DATABASE IF EXISTS ${OTHER_DB}`);
  } finally {
    await c.end();
  }
}
